//! Sending and pulling: tag filtering, batches, delays, retries, transactions, long polling.
//!
//! A real `BrokerController` on a temporary store and a free loopback port, driven over TCP.

mod common;

use common::*;
use ferrocket_store::MessageStoreConfig;
use std::time::{Duration, Instant};

use ferrocket_protocol::body::heartbeat::{
    HeartbeatData, MessageModel, ProducerData, SubscriptionData,
};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_then_pull_filters_by_tag() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    for i in 0..4 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let offset = send_ok(
            &client,
            &b.addr,
            "TopicTest",
            0,
            Some(tag),
            format!("hello {i}").as_bytes(),
        )
        .await;
        assert_eq!(offset, i);
    }

    let all = call(
        &client,
        &b.addr,
        pull("g", "TopicTest", 0, 0, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(all.code, response::SUCCESS, "{:?}", all.remark);
    for key in [
        "suggestWhichBrokerId",
        "nextBeginOffset",
        "minOffset",
        "maxOffset",
    ] {
        assert!(all.ext(key).is_some(), "missing {key}");
    }
    assert_eq!(all.ext("nextBeginOffset"), Some("4"));
    let records = decode_records(&all.body);
    assert_eq!(records.len(), 4);
    assert_eq!(records[1].2, b"hello 1");

    let only_a = call(
        &client,
        &b.addr,
        pull("g", "TopicTest", 0, 0, SUBSCRIBE, Some("TagA"), 0),
    )
    .await;
    assert_eq!(only_a.code, response::SUCCESS);
    let tags: Vec<_> = decode_records(&only_a.body)
        .into_iter()
        .map(|(topic, tag, _)| {
            assert_eq!(topic, "TopicTest");
            tag.unwrap()
        })
        .collect();
    assert_eq!(tags, ["TagA", "TagA"]);

    // the stored records decode with the codec clients use
    let msgs = ferrocket_protocol::message::decode_messages(&only_a.body).unwrap();
    assert_eq!(msgs[1].message.body.as_ref(), b"hello 2");
    assert_eq!(msgs[0].message.property("CLUSTER"), Some("DefaultCluster"));
    assert!(msgs[0].message.property("UNIQ_KEY").is_some());

    let caught_up = call(
        &client,
        &b.addr,
        pull("g", "TopicTest", 0, 4, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(caught_up.code, response::PULL_NOT_FOUND);
    assert_eq!(caught_up.ext("nextBeginOffset"), Some("4"));
    assert_eq!(caught_up.ext("maxOffset"), Some("4"));
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_beyond_the_resident_tail_are_read_on_the_blocking_pool() {
    // a ratio of 0 puts every message outside the memory-resident tail: each pull takes the
    // cold path, which reads and touches the pages on the blocking pool
    let b = TestBroker::start_with_store(broker_config(), |s| MessageStoreConfig {
        access_message_in_memory_max_ratio: 0,
        ..s
    })
    .await;
    let client = RemotingClient::new();
    for i in 0..3 {
        send_ok(
            &client,
            &b.addr,
            "ColdTopic",
            0,
            None,
            format!("cold {i}").as_bytes(),
        )
        .await;
    }
    let store = b.broker.message_store();
    assert!(!store.check_in_mem_by_consume_offset("ColdTopic", 0, 0));
    let r = call(
        &client,
        &b.addr,
        pull("g", "ColdTopic", 0, 0, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let records = decode_records(&r.body);
    assert_eq!(records.len(), 3);
    assert_eq!(records[2].2, b"cold 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_response_carries_ids_region_and_trace() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let r = call(&client, &b.addr, send_v2("IdTopic", -1, Some("T"), b"x")).await;
    assert_eq!(r.code, response::SUCCESS);
    let msg_id = r.ext("msgId").unwrap();
    let (host, offset) = ferrocket_protocol::util::decode_message_id(msg_id).unwrap();
    assert_eq!(host, b.broker.store_host());
    assert!(offset >= 0);
    let queue_id: i32 = r.ext("queueId").unwrap().parse().unwrap();
    assert!(
        (0..4).contains(&queue_id),
        "random queue among the 4 auto-created"
    );
    assert_eq!(r.ext("queueOffset"), Some("0"));
    assert_eq!(r.ext("transactionId").map(str::len), Some(32));
    assert_eq!(r.ext("MSG_REGION"), Some("DefaultRegion"));
    assert_eq!(r.ext("TRACE_ON"), Some("true"));
    assert_eq!(r.version, 479);

    let view = call(
        &client,
        &b.addr,
        RemotingCommand::request(request::VIEW_MESSAGE_BY_ID).with_ext("offset", offset),
    )
    .await;
    assert_eq!(view.code, response::SUCCESS);
    assert_eq!(decode_records(&view.body)[0].2, b"x");
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_send_stores_every_message() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let msgs: Vec<_> = (0..3)
        .map(|i| {
            let mut m = ferrocket_protocol::message::Message::new(
                "BatchTopic",
                format!("m{i}").into_bytes(),
            );
            m.set_tags("TagA");
            m
        })
        .collect();
    let body = ferrocket_protocol::message::encode_batch_body(&msgs).unwrap();
    let mut cmd = send_v2("BatchTopic", 0, None, &body);
    cmd.code = request::SEND_BATCH_MESSAGE;
    let r = call(&client, &b.addr, cmd).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.ext("msgId").unwrap().split(',').count(), 3);
    assert_eq!(r.ext("queueOffset"), Some("0"));
    let p = call(
        &client,
        &b.addr,
        pull("bg", "BatchTopic", 0, 0, SUBSCRIBE, Some("TagA"), 0),
    )
    .await;
    let bodies: Vec<_> = decode_records(&p.body).into_iter().map(|r| r.2).collect();
    assert_eq!(bodies, [b"m0".to_vec(), b"m1".to_vec(), b"m2".to_vec()]);
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_uses_the_heartbeat_subscription() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "HbTopic", 0, Some("TagA"), b"a").await;
    send_ok(&client, &b.addr, "HbTopic", 0, Some("TagB"), b"b").await;
    // no subscription flag and no heartbeat: 24
    let r = call(&client, &b.addr, pull("hg", "HbTopic", 0, 0, 0, None, 0)).await;
    assert_eq!(r.code, response::SUBSCRIPTION_NOT_EXIST);

    let mut hb = heartbeat("hg", "h", MessageModel::Clustering, &[]);
    let mut data: HeartbeatData = ferrocket_protocol::body::decode(&hb.body).unwrap();
    data.consumer_data_set[0]
        .subscription_data_set
        .push(SubscriptionData::tag("HbTopic", "TagB"));
    hb.body = ferrocket_protocol::body::encode(&data);
    call(&client, &b.addr, hb).await;
    let r = call(&client, &b.addr, pull("hg", "HbTopic", 0, 0, 0, None, 0)).await;
    assert_eq!(r.code, response::SUCCESS);
    let records = decode_records(&r.body);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1.as_deref(), Some("TagB"));
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_answers_when_a_message_arrives() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "PollTopic", 0, Some("TagA"), b"first").await;

    let puller = client.clone();
    let addr = b.addr.clone();
    let started = Instant::now();
    let held = tokio::spawn(async move {
        let r = call(
            &puller,
            &addr,
            pull(
                "pg",
                "PollTopic",
                0,
                1,
                SUSPEND_AND_SUBSCRIBE,
                Some("TagA"),
                20_000,
            ),
        )
        .await;
        (r, started.elapsed())
    });
    // let the pull park, then send a message it does not want, then one it does
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!held.is_finished(), "the pull is held");
    send_ok(&client, &b.addr, "PollTopic", 0, Some("TagB"), b"ignored").await;
    send_ok(&client, &b.addr, "PollTopic", 0, Some("TagA"), b"wanted").await;
    let (r, elapsed) = held.await.unwrap();
    assert!(
        elapsed < Duration::from_secs(10),
        "answered after {elapsed:?}, not at the 20 s timeout"
    );
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let records = decode_records(&r.body);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].2, b"wanted");
    assert_eq!(r.ext("nextBeginOffset"), Some("3"));
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_times_out_with_pull_not_found() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let started = Instant::now();
    let r = call(
        &client,
        &b.addr,
        pull(
            "pg",
            "EmptyPoll",
            0,
            0,
            SUSPEND_AND_SUBSCRIBE,
            Some("*"),
            1_000,
        ),
    )
    .await;
    let elapsed = started.elapsed();
    // the topic does not exist: 17 at once
    assert_eq!(r.code, response::TOPIC_NOT_EXIST);
    assert!(elapsed < Duration::from_secs(5));

    send_ok(&client, &b.addr, "EmptyPoll", 0, None, b"x").await;
    let started = Instant::now();
    let r = call(
        &client,
        &b.addr,
        pull(
            "pg",
            "EmptyPoll",
            0,
            1,
            SUSPEND_AND_SUBSCRIBE,
            Some("*"),
            1_000,
        ),
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(r.code, response::PULL_NOT_FOUND);
    assert!(
        elapsed >= Duration::from_millis(900),
        "held for the suspend time, got {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(10));
    for key in [
        "suggestWhichBrokerId",
        "nextBeginOffset",
        "minOffset",
        "maxOffset",
    ] {
        assert!(r.ext(key).is_some(), "missing {key}");
    }
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delayed_message_is_delivered_after_its_level() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "DelayTopic", 0, None, b"now").await;
    let mut delayed = send_v2("DelayTopic", 0, None, b"later");
    let props = delayed.ext("i").unwrap().to_string() + "DELAY\u{1}1\u{2}";
    delayed.ext_fields.insert("i", props);
    let sent_at = Instant::now();
    let r = call(&client, &b.addr, delayed).await;
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(r.ext("queueId"), Some("0"), "the real queue is reported");

    let r = call(
        &client,
        &b.addr,
        pull("dg", "DelayTopic", 0, 1, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(
        r.code,
        response::PULL_NOT_FOUND,
        "not visible before its delay"
    );
    let r = pull_until_found(&client, &b.addr, "DelayTopic", 0, 1).await;
    assert_eq!(r.code, response::SUCCESS);
    assert!(
        sent_at.elapsed() >= Duration::from_millis(900),
        "delivered after {:?}",
        sent_at.elapsed()
    );
    let msgs = ferrocket_protocol::message::decode_messages(&r.body).unwrap();
    assert_eq!(msgs[0].message.body.as_ref(), b"later");
    assert_eq!(msgs[0].message.property("REAL_TOPIC"), Some("DelayTopic"));
    assert_eq!(msgs[0].message.property("DELAY"), None);
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_back_goes_to_retry_then_dlq() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let r = call(
        &client,
        &b.addr,
        send_v2("FailTopic", 0, Some("TagA"), b"payload"),
    )
    .await;
    let (_, offset) = ferrocket_protocol::util::decode_message_id(r.ext("msgId").unwrap()).unwrap();
    call(
        &client,
        &b.addr,
        heartbeat("fg", "f", MessageModel::Clustering, &["FailTopic"]),
    )
    .await;

    let back = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK)
        .with_ext("offset", offset)
        .with_ext("group", "fg")
        .with_ext("delayLevel", 1)
        .with_ext("maxReconsumeTimes", 16);
    assert_eq!(
        call(&client, &b.addr, back.clone()).await.code,
        response::SUCCESS
    );
    let r = pull_until_found(&client, &b.addr, "%RETRY%fg", 0, 0).await;
    assert_eq!(r.code, response::SUCCESS);
    let msgs = ferrocket_protocol::message::decode_messages(&r.body).unwrap();
    assert_eq!(msgs[0].message.body.as_ref(), b"payload");
    assert_eq!(msgs[0].reconsume_times, 1);
    assert_eq!(msgs[0].message.property("RETRY_TOPIC"), Some("FailTopic"));
    assert_eq!(msgs[0].message.tags(), Some("TagA"));

    let to_dlq = back.with_ext("delayLevel", -1);
    assert_eq!(call(&client, &b.addr, to_dlq).await.code, response::SUCCESS);
    let r = pull_until_found(&client, &b.addr, "%DLQ%fg", 0, 0).await;
    assert_eq!(r.code, response::SUCCESS);

    let missing = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK)
        .with_ext("offset", 1i64 << 40)
        .with_ext("group", "fg")
        .with_ext("delayLevel", 0);
    assert_eq!(
        call(&client, &b.addr, missing).await.code,
        response::SYSTEM_ERROR
    );
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_messages_wait_for_their_transaction() {
    let config = ferrocket_broker::BrokerConfig {
        transaction_check_interval: 200,
        transaction_time_out: 100,
        ..broker_config()
    };
    let b = TestBroker::start_with(config).await;
    let (producer, mut checks) = notifying_client();
    let hb = HeartbeatData {
        client_id: "tx-producer".into(),
        producer_data_set: vec![ProducerData {
            group_name: "txg".into(),
        }],
        ..Default::default()
    };
    let hb = RemotingCommand::request(request::HEART_BEAT)
        .with_body(ferrocket_protocol::body::encode(&hb));
    assert_eq!(call(&producer, &b.addr, hb).await.code, response::SUCCESS);
    send_ok(&producer, &b.addr, "TxTopic", 0, None, b"plain").await;

    let committed = call(
        &producer,
        &b.addr,
        half_message("TxTopic", "txg", b"commit-me"),
    )
    .await;
    assert_eq!(committed.code, response::SUCCESS);
    let rolled_back = call(
        &producer,
        &b.addr,
        half_message("TxTopic", "txg", b"roll-me-back"),
    )
    .await;
    let r = call(
        &producer,
        &b.addr,
        pull("tg", "TxTopic", 0, 1, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(
        r.code,
        response::PULL_NOT_FOUND,
        "half messages are invisible"
    );

    assert_eq!(
        call(&producer, &b.addr, end_transaction("txg", &committed, true))
            .await
            .code,
        response::SUCCESS
    );
    assert_eq!(
        call(
            &producer,
            &b.addr,
            end_transaction("txg", &rolled_back, false)
        )
        .await
        .code,
        response::SUCCESS
    );
    let wrong_group = end_transaction("other", &committed, true);
    assert_eq!(
        call(&producer, &b.addr, wrong_group).await.code,
        response::SYSTEM_ERROR
    );
    let r = pull_until_found(&producer, &b.addr, "TxTopic", 0, 1).await;
    let msgs = ferrocket_protocol::message::decode_messages(&r.body).unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].message.body.as_ref(), b"commit-me");
    assert_eq!(msgs[0].message.property("TRAN_MSG"), None);

    // nobody resolves this one: the broker asks the producer group
    let pending = call(
        &producer,
        &b.addr,
        half_message("TxTopic", "txg", b"checked"),
    )
    .await;
    assert_eq!(pending.code, response::SUCCESS);
    // (on a slow machine an earlier half may be checked too before its END_TRANSACTION landed)
    let check = loop {
        let check = tokio::time::timeout(PROMPT, checks.recv())
            .await
            .expect("check-back sent")
            .unwrap();
        assert_eq!(check.code, request::CHECK_TRANSACTION_STATE);
        if check.ext("msgId") == pending.ext("transactionId") {
            break check;
        }
    };
    let checked = ferrocket_protocol::message::decode_messages(&check.body).unwrap();
    assert_eq!(checked[0].message.topic, "TxTopic");
    let answer = RemotingCommand::request(request::END_TRANSACTION)
        .with_ext("producerGroup", "txg")
        .with_ext(
            "tranStateTableOffset",
            check.ext("tranStateTableOffset").unwrap(),
        )
        .with_ext("commitLogOffset", check.ext("commitLogOffset").unwrap())
        .with_ext("commitOrRollback", 8)
        .with_ext("fromTransactionCheck", "true")
        .with_ext("msgId", check.ext("msgId").unwrap());
    assert_eq!(
        call(&producer, &b.addr, answer).await.code,
        response::SUCCESS
    );
    let r = pull_until_found(&producer, &b.addr, "TxTopic", 0, 2).await;
    let msgs = ferrocket_protocol::message::decode_messages(&r.body).unwrap();
    assert_eq!(msgs[0].message.body.as_ref(), b"checked");
    b.broker.shutdown().await;
}
