//! Topic configs survive a SIGKILL of the real binary: a topic created by UPDATE_AND_CREATE_TOPIC
//! is in `config/topics.json` when the answer arrives, and topics auto-created by sends are
//! there once the persist bound (100 ms of gathering plus the write) has passed; the restarted
//! broker serves them all.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use ferrocket_client::admin::MQAdminExt;
use ferrocket_client::{Message, Producer, ProducerConfig};
use ferrocket_protocol::body::topic::TopicConfig;

/// What the test allows for the persist bound on a busy machine.
const PERSIST_BOUND: Duration = Duration::from_secs(2);

fn topics_on_disk(store: &Path) -> BTreeSet<String> {
    let text = std::fs::read(store.join("config").join("topics.json")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    v["topicConfigTable"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn start(dir: &Path, n: usize) -> ferrocket_testkit::Standalone {
    common::standalone()
        .dir(dir)
        .store(dir.join("store"))
        .conf_name(&format!("broker-{n}.conf"))
        .commit_log_size(Some(4 * 1024 * 1024))
        .conf("mappedFileSizeConsumeQueue=60000\n")
        .start()
}

fn kill(mut b: ferrocket_testkit::Standalone) {
    b.process.signal("KILL");
    let status = b.process.wait_exit(Duration::from_secs(30));
    assert!(!status.success());
}

#[test]
fn topic_configs_survive_sigkill_within_the_persist_bound() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rt = tokio::runtime::Runtime::new().unwrap();

    // created by updateTopic, then killed at once: every acknowledged topic is on disk
    let b = start(dir.path(), 0);
    let admin = MQAdminExt::new(&b.namesrv, Duration::from_secs(10)).unwrap();
    let admin_topics: Vec<String> = (0..10).map(|i| format!("AdminTopic{i}")).collect();
    rt.block_on(async {
        for t in &admin_topics {
            admin
                .create_and_update_topic_config(&b.broker, &TopicConfig::new(t, 4))
                .await
                .unwrap();
        }
    });
    kill(b);
    let on_disk = topics_on_disk(&store);
    assert!(
        admin_topics.iter().all(|t| on_disk.contains(t)),
        "{on_disk:?}"
    );

    // auto-created by sends, killed once the bound has passed: nothing lost
    let b = start(dir.path(), 1);
    let sent: Vec<String> = (0..20).map(|i| format!("SentTopic{i}")).collect();
    rt.block_on(async {
        let producer = Producer::start(ProducerConfig::new("config-crash", b.namesrv.clone()))
            .await
            .unwrap();
        for t in &sent {
            producer.send(&Message::new(t, "x")).await.unwrap();
        }
        tokio::time::sleep(PERSIST_BOUND).await;
        producer.shutdown().await;
    });
    kill(b);
    let on_disk = topics_on_disk(&store);
    assert!(sent.iter().all(|t| on_disk.contains(t)), "{on_disk:?}");
    assert!(admin_topics.iter().all(|t| on_disk.contains(t)));

    // and the restarted broker serves them
    let b = start(dir.path(), 2);
    let admin = MQAdminExt::new(&b.namesrv, Duration::from_secs(10)).unwrap();
    rt.block_on(async {
        for t in sent.iter().chain(&admin_topics) {
            let route = admin.examine_topic_route_info(t).await.unwrap();
            assert!(!route.queue_datas.is_empty(), "{t}");
        }
    });
    b.stop();
}
