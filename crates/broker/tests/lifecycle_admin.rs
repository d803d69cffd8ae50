//! Broker lifecycle and administration: registration, auto-creation, restarts, admin codes.
//!
//! A real `BrokerController` on a temporary store and a free loopback port, driven over TCP.

mod common;

use common::*;
use ferrocket_broker::BrokerController;
use ferrocket_protocol::body::heartbeat::MessageModel;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::pull_message::pull_sys_flag;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_created_topic_is_registered_with_the_name_server() {
    let ns = RecordingNamesrv::start().await;
    let config = ferrocket_broker::BrokerConfig {
        namesrv_addr: Some(ns.addr()),
        ..broker_config()
    };
    let b = TestBroker::start_with(config).await;
    {
        // start() returns after the first registration
        let log = ns.log.lock();
        let (addr, topics) = log
            .registrations
            .first()
            .expect("registered before start returned");
        assert_eq!(addr, &b.broker.broker_addr());
        assert!(topics.iter().any(|t| t == "TBW102"));
        assert!(topics.iter().any(|t| t == "SELF_TEST_TOPIC"));
        assert!(topics.iter().any(|t| t == "DefaultCluster"));
        assert!(topics.iter().any(|t| t == "broker-a"));
    }
    assert!(b
        .broker
        .broker_addr()
        .ends_with(&format!(":{}", b.broker.local_addr().port())));
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "FreshTopic", 0, None, b"x").await;
    assert!(
        ns.wait_for_topic("FreshTopic").await,
        "re-registered after auto-create"
    );
    let topic = b
        .broker
        .topic_config_manager()
        .select_topic_config("FreshTopic")
        .unwrap();
    assert_eq!(
        (topic.read_queue_nums, topic.write_queue_nums, topic.perm),
        (4, 4, 6)
    );

    b.broker.shutdown().await;
    b.broker.shutdown().await;
    let unregs = ns.log.lock().unregistrations.clone();
    assert_eq!(
        unregs,
        vec![b.broker.broker_addr()],
        "one unregistration, shutdown is idempotent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_create_off_answers_topic_not_exist() {
    let config = ferrocket_broker::BrokerConfig {
        auto_create_topic_enable: false,
        ..broker_config()
    };
    let b = TestBroker::start_with(config).await;
    let client = RemotingClient::new();
    let r = call(&client, &b.addr, send_v2("NoSuchTopic", 0, None, b"x")).await;
    assert_eq!(r.code, response::TOPIC_NOT_EXIST);
    assert!(r.remark.unwrap().contains("NoSuchTopic"));
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_offsets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let client = RemotingClient::new();
    let first = BrokerController::start(broker_config(), store_config(dir.path()))
        .await
        .unwrap();
    let addr = first.local_addr().to_string();
    send_ok(&client, &addr, "OffsetTopic", 1, None, b"x").await;

    // unknown offset on a young queue: 0 (its first message is still there)
    let r = call(
        &client,
        &addr,
        offset_request(request::QUERY_CONSUMER_OFFSET, "og", "OffsetTopic", 1),
    )
    .await;
    assert_eq!((r.code, r.ext("offset")), (response::SUCCESS, Some("0")));
    // unknown offset on an empty queue: QUERY_NOT_FOUND
    let r = call(
        &client,
        &addr,
        offset_request(request::QUERY_CONSUMER_OFFSET, "og", "OffsetTopic", 2),
    )
    .await;
    assert_eq!(r.code, response::QUERY_NOT_FOUND);

    // heartbeat creates the group, then commit
    let hb = heartbeat("og", "client-1", MessageModel::Clustering, &["OffsetTopic"]);
    assert_eq!(call(&client, &addr, hb).await.code, response::SUCCESS);
    let update = offset_request(request::UPDATE_CONSUMER_OFFSET, "og", "OffsetTopic", 1)
        .with_ext("commitOffset", 1);
    assert_eq!(call(&client, &addr, update).await.code, response::SUCCESS);
    // and a commit riding on a pull
    let piggy = pull(
        "og",
        "OffsetTopic",
        0,
        0,
        pull_sys_flag::COMMIT_OFFSET | SUBSCRIBE,
        Some("*"),
        0,
    )
    .with_ext("commitOffset", 7);
    call(&client, &addr, piggy).await;
    first.shutdown().await;
    client.close_all().await;

    let second = BrokerController::start(broker_config(), store_config(dir.path()))
        .await
        .unwrap();
    let addr = second.local_addr().to_string();
    let client = RemotingClient::new();
    let r = call(
        &client,
        &addr,
        offset_request(request::QUERY_CONSUMER_OFFSET, "og", "OffsetTopic", 1),
    )
    .await;
    assert_eq!((r.code, r.ext("offset")), (response::SUCCESS, Some("1")));
    let r = call(
        &client,
        &addr,
        offset_request(request::QUERY_CONSUMER_OFFSET, "og", "OffsetTopic", 0),
    )
    .await;
    assert_eq!((r.code, r.ext("offset")), (response::SUCCESS, Some("7")));
    assert!(
        second
            .topic_config_manager()
            .select_topic_config("OffsetTopic")
            .is_some(),
        "topics persisted"
    );
    let max = call(
        &client,
        &addr,
        offset_request(request::GET_MAX_OFFSET, "og", "OffsetTopic", 1),
    )
    .await;
    assert_eq!(max.ext("offset"), Some("1"), "messages persisted");
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_topic_and_group_codes() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let create = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", "AdminTopic")
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", 2)
        .with_ext("writeQueueNums", 2)
        .with_ext("perm", 6)
        .with_ext("topicFilterType", "SINGLE_TAG")
        .with_ext("order", "false");
    assert_eq!(
        call(&client, &b.addr, create.clone()).await.code,
        response::SUCCESS
    );
    let conflict = create.clone().with_ext("topic", "TBW102");
    assert_eq!(
        call(&client, &b.addr, conflict).await.code,
        response::INVALID_PARAMETER
    );

    let get = RemotingCommand::request(request::GET_TOPIC_CONFIG).with_ext("topic", "AdminTopic");
    let r = call(&client, &b.addr, get.clone()).await;
    assert_eq!(r.code, response::SUCCESS);
    let t: ferrocket_protocol::body::topic::TopicConfig =
        ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(t.write_queue_nums, 2);

    let all = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_ALL_TOPIC_CONFIG),
    )
    .await;
    assert_eq!(all.code, response::SUCCESS);
    let v: serde_json::Value = serde_json::from_slice(&all.body).unwrap();
    assert!(v["topicConfigTable"]["AdminTopic"].is_object());

    send_ok(&client, &b.addr, "AdminTopic", 1, None, b"x").await;
    let stats = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_TOPIC_STATS_INFO).with_ext("topic", "AdminTopic"),
    )
    .await;
    assert_eq!(stats.code, response::SUCCESS);
    // queue keys are bare objects, as fastjson writes them
    let v: serde_json::Value = ferrocket_protocol::body::decode(&stats.body).unwrap();
    assert_eq!(v["offsetTable"].as_object().unwrap().len(), 2);

    let del =
        RemotingCommand::request(request::DELETE_TOPIC_IN_BROKER).with_ext("topic", "AdminTopic");
    assert_eq!(call(&client, &b.addr, del).await.code, response::SUCCESS);
    assert_eq!(
        call(&client, &b.addr, get).await.code,
        response::TOPIC_NOT_EXIST
    );

    let group = serde_json::json!({"groupName": "admin_group", "retryMaxTimes": 3});
    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(serde_json::to_vec(&group).unwrap()),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG),
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        v["subscriptionGroupTable"]["admin_group"]["retryMaxTimes"],
        3
    );
    let r = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::DELETE_SUBSCRIPTIONGROUP)
            .with_ext("groupName", "admin_group"),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
    assert!(b
        .broker
        .subscription_group_manager()
        .get("admin_group")
        .is_none());

    let info = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO),
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&info.body).unwrap();
    assert_eq!(v["table"]["brokerVersionDesc"], "V5_3_3");
    assert_eq!(v["table"]["msgPutTotalTodayNow"], "1");
    b.broker.shutdown().await;
}
