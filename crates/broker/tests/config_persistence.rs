//! Config persistence off the request paths: topics auto-created by sends and groups created
//! by heartbeats are written by the config persist thread, coalesced, never by the handler;
//! UPDATE_AND_CREATE_TOPIC answers once its change is on disk; shutdown writes everything.
//!
//! A real `BrokerController` on a temporary store and a free loopback port, driven over TCP.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use common::*;
use ferrocket_broker::config_manager;
use ferrocket_broker::BrokerController;
use ferrocket_protocol::body::topic::TopicConfigSerializeWrapper;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

/// The topic names `config/topics.json` holds now.
fn topics_on_disk(store_root: &Path) -> BTreeSet<String> {
    config_manager::load::<TopicConfigSerializeWrapper>(&config_manager::topic_config_path(
        store_root,
    ))
    .unwrap()
    .map(|w| w.topic_config_table.into_keys().collect())
    .unwrap_or_default()
}

fn update_topic(topic: &str) -> RemotingCommand {
    RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", topic)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", "2")
        .with_ext("writeQueueNums", "2")
        .with_ext("perm", "6")
        .with_ext("topicFilterType", "SINGLE_TAG")
        .with_ext("topicSysFlag", "0")
        .with_ext("order", "false")
}

/// 200 sends that each auto-create a topic all succeed while every config write is held
/// back: no send waits for `topics.json`. Released, the 200 creations reach the file in a
/// couple of writes, not 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_auto_creations_do_not_wait_for_the_config_file() {
    let b = TestBroker::start().await;
    let persist = b.broker.config_persist_service().clone();
    let names: Vec<String> = (0..200).map(|i| format!("Auto{i}")).collect();
    let hold = persist.hold_writes();
    let writes_before = persist.writes();
    let client = RemotingClient::new();
    let sends = names
        .iter()
        .map(|t| call(&client, &b.addr, send_v2(t, 0, None, b"x")));
    let answers = tokio::time::timeout(CALL, futures::future::join_all(sends))
        .await
        .expect("a send waited for the config file");
    assert!(
        answers.iter().all(|r| r.code == response::SUCCESS),
        "{:?}",
        answers
            .iter()
            .filter(|r| r.code != response::SUCCESS)
            .map(|r| (r.code, r.remark.clone()))
            .collect::<Vec<_>>()
    );
    let on_disk = topics_on_disk(b.dir.path());
    assert!(
        names.iter().all(|t| !on_disk.contains(t)),
        "written while writes were held"
    );
    drop(hold);
    let deadline = Instant::now() + PROMPT;
    while !names
        .iter()
        .all(|t| topics_on_disk(b.dir.path()).contains(t))
    {
        assert!(Instant::now() < deadline, "creations not persisted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let writes = persist.writes() - writes_before;
    assert!(writes <= 3, "{writes} writes for 200 creations");
    b.broker.shutdown().await;
}

/// UPDATE_AND_CREATE_TOPIC answers once the topic is in `topics.json` (as Apache, which writes
/// the file before answering), though the write runs on the persist thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_topic_answers_once_the_topic_is_on_disk() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    for i in 0..20 {
        let topic = format!("Admin{i}");
        let r = call(&client, &b.addr, update_topic(&topic)).await;
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        assert!(topics_on_disk(b.dir.path()).contains(&topic));
    }
    b.broker.shutdown().await;
}

/// Changes still held back when the broker shuts down are written by the shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_persists_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let broker = BrokerController::start(broker_config(), store_config(dir.path()))
        .await
        .unwrap();
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::new();
    {
        let _hold = broker.config_persist_service().hold_writes();
        for i in 0..30 {
            send_ok(&client, &addr, &format!("Late{i}"), 0, None, b"x").await;
        }
        let hb = heartbeat(
            "late_group",
            "client-1",
            ferrocket_protocol::body::heartbeat::MessageModel::Clustering,
            &["Late0"],
        );
        assert_eq!(call(&client, &addr, hb).await.code, response::SUCCESS);
        assert!(!topics_on_disk(dir.path()).contains("Late0"));
        broker.shutdown().await;
    }
    client.close_all().await;
    let on_disk = topics_on_disk(dir.path());
    assert!((0..30).all(|i| on_disk.contains(&format!("Late{i}"))));
    let again = BrokerController::start(broker_config(), store_config(dir.path()))
        .await
        .unwrap();
    assert!(again
        .topic_config_manager()
        .select_topic_config("Late29")
        .is_some());
    assert!(again.subscription_group_manager().contains("late_group"));
    again.shutdown().await;
}
