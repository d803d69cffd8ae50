//! Client management: heartbeats, consumer lists, membership notifications, expiry, connections, locks.
//!
//! A real `BrokerController` on a temporary store and a free loopback port, driven over TCP.

mod common;

use common::*;
use std::time::{Duration, Instant};

use ferrocket_protocol::body::heartbeat::{ConsumerIdList, MessageModel};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_notify_the_other_consumers() {
    let b = TestBroker::start().await;
    let (a, mut a_notes) = notifying_client();
    let (c, _c_notes) = notifying_client();

    let r = consumer_ids(&a, &b.addr, "cg").await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some("no consumer for this group, cg"));

    let r = call(
        &a,
        &b.addr,
        heartbeat("cg", "10.0.0.1@a", MessageModel::Clustering, &["NT"]),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(r.version, 479);
    assert_eq!(r.ext("IS_SUPPORT_HEART_BEAT_V2"), Some("true"));
    assert_eq!(r.ext("IS_SUB_CHANGE"), Some("true"));
    assert!(b
        .broker
        .topic_config_manager()
        .select_topic_config("%RETRY%cg")
        .is_some());
    assert!(b.broker.subscription_group_manager().get("cg").is_some());

    call(
        &c,
        &b.addr,
        heartbeat("cg", "10.0.0.2@c", MessageModel::Clustering, &["NT"]),
    )
    .await;
    let joined = tokio::time::timeout(PROMPT, a_notes.recv())
        .await
        .expect("notified of the join")
        .unwrap();
    assert_eq!(joined.code, request::NOTIFY_CONSUMER_IDS_CHANGED);
    assert_eq!(joined.ext("consumerGroup"), Some("cg"));
    assert!(joined.is_oneway());

    let r = consumer_ids(&a, &b.addr, "cg").await;
    let ids: ConsumerIdList = ferrocket_protocol::body::decode(&r.body).unwrap();
    let mut ids = ids.consumer_id_list;
    ids.sort();
    assert_eq!(ids, ["10.0.0.1@a", "10.0.0.2@c"]);

    // a second heartbeat of a known member changes nothing
    call(
        &c,
        &b.addr,
        heartbeat("cg", "10.0.0.2@c", MessageModel::Clustering, &["NT"]),
    )
    .await;
    // the second member leaves by closing its connection
    c.close_all().await;
    let left = tokio::time::timeout(PROMPT, a_notes.recv())
        .await
        .expect("notified of the leave")
        .unwrap();
    assert_eq!(left.code, request::NOTIFY_CONSUMER_IDS_CHANGED);
    let deadline = Instant::now() + PROMPT;
    loop {
        let r = consumer_ids(&a, &b.addr, "cg").await;
        let ids: ConsumerIdList = ferrocket_protocol::body::decode(&r.body).unwrap();
        if ids.consumer_id_list == ["10.0.0.1@a"] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "member still listed: {:?}",
            ids.consumer_id_list
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregister_client_notifies_and_removes() {
    let b = TestBroker::start().await;
    let (a, mut a_notes) = notifying_client();
    let (c, _c_notes) = notifying_client();
    call(
        &a,
        &b.addr,
        heartbeat("ug", "a", MessageModel::Clustering, &["UT"]),
    )
    .await;
    call(
        &c,
        &b.addr,
        heartbeat("ug", "c", MessageModel::Clustering, &["UT"]),
    )
    .await;
    tokio::time::timeout(PROMPT, a_notes.recv()).await.unwrap();
    let unregister = RemotingCommand::request(request::UNREGISTER_CLIENT)
        .with_ext("clientID", "c")
        .with_ext("consumerGroup", "ug")
        .with_ext("producerGroup", "CLIENT_INNER_PRODUCER");
    assert_eq!(call(&c, &b.addr, unregister).await.code, response::SUCCESS);
    let note = tokio::time::timeout(PROMPT, a_notes.recv())
        .await
        .expect("notified")
        .unwrap();
    assert_eq!(note.ext("consumerGroup"), Some("ug"));
    let r = consumer_ids(&a, &b.addr, "ug").await;
    let ids: ConsumerIdList = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(ids.consumer_id_list, ["a"]);
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_members_expire_and_the_rest_is_told() {
    let b = TestBroker::start().await;
    let (a, mut a_notes) = notifying_client();
    let (c, _c_notes) = notifying_client();
    call(
        &a,
        &b.addr,
        heartbeat("eg", "a", MessageModel::Clustering, &["ET"]),
    )
    .await;
    call(
        &c,
        &b.addr,
        heartbeat("eg", "c", MessageModel::Clustering, &["ET"]),
    )
    .await;
    tokio::time::timeout(PROMPT, a_notes.recv()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    // a heartbeat refreshes a; c stays silent past a 30 ms expiry
    call(
        &a,
        &b.addr,
        heartbeat("eg", "a", MessageModel::Clustering, &["ET"]),
    )
    .await;
    b.broker.consumer_manager().scan_not_active_channel(30);
    let note = tokio::time::timeout(PROMPT, a_notes.recv())
        .await
        .expect("notified")
        .unwrap();
    assert_eq!(note.code, request::NOTIFY_CONSUMER_IDS_CHANGED);
    assert_eq!(b.broker.consumer_manager().client_ids("eg"), ["a"]);
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_consume_stats_and_queue_locks() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "StatTopic", 0, None, b"x").await;
    send_ok(&client, &b.addr, "StatTopic", 0, None, b"y").await;
    call(
        &client,
        &b.addr,
        heartbeat("sg", "s-1", MessageModel::Clustering, &["StatTopic"]),
    )
    .await;
    let update = offset_request(request::UPDATE_CONSUMER_OFFSET, "sg", "StatTopic", 0)
        .with_ext("commitOffset", 1);
    call(&client, &b.addr, update).await;

    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_CONSUME_STATS).with_ext("consumerGroup", "sg"),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
    let stats: ferrocket_protocol::body::consume_stats::ConsumeStats =
        ferrocket_protocol::body::decode(&r.body).unwrap();
    let q0 = stats
        .offset_table
        .iter()
        .find(|(mq, _)| mq.topic == "StatTopic" && mq.queue_id == 0)
        .map(|(_, w)| *w)
        .unwrap();
    assert_eq!((q0.broker_offset, q0.consumer_offset), (2, 1));
    assert!(q0.last_timestamp > 0);

    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_CONSUMER_CONNECTION_LIST)
            .with_ext("consumerGroup", "sg"),
    )
    .await;
    let conn: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(conn["connectionSet"][0]["clientId"], "s-1");
    assert_eq!(conn["messageModel"], "CLUSTERING");
    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_CONSUMER_CONNECTION_LIST)
            .with_ext("consumerGroup", "nobody"),
    )
    .await;
    assert_eq!(r.code, response::CONSUMER_NOT_ONLINE);
    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_PRODUCER_CONNECTION_LIST)
            .with_ext("producerGroup", "CLIENT_INNER_PRODUCER"),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);

    let lock = |client_id: &str| {
        let body = serde_json::json!({
            "consumerGroup": "sg", "clientId": client_id, "onlyThisBroker": false,
            "mqSet": [{"topic": "StatTopic", "brokerName": "broker-a", "queueId": 0}]
        });
        RemotingCommand::request(request::LOCK_BATCH_MQ)
            .with_body(serde_json::to_vec(&body).unwrap())
    };
    let r = call(&client, &b.addr, lock("s-1")).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["lockOKMQSet"].as_array().unwrap().len(), 1);
    let r = call(&client, &b.addr, lock("s-2")).await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        v["lockOKMQSet"].as_array().unwrap().is_empty(),
        "held by s-1"
    );

    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::SEARCH_OFFSET_BY_TIMESTAMP)
            .with_ext("topic", "StatTopic")
            .with_ext("queueId", 0)
            .with_ext("timestamp", 0),
    )
    .await;
    assert_eq!((r.code, r.ext("offset")), (response::SUCCESS, Some("0")));
    let r = call(
        &client,
        &b.addr,
        offset_request(request::GET_EARLIEST_MSG_STORETIME, "sg", "StatTopic", 0),
    )
    .await;
    assert!(r.ext("timestamp").unwrap().parse::<i64>().unwrap() > 0);
    b.broker.shutdown().await;
}
