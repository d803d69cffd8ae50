//! POP consumption over the remoting protocol: pop, ack, change of invisible time, revive through the
//! pop retry topic, long polling and the request mode.

mod common;

use std::time::{Duration, Instant};

use common::{broker_config, call, send_ok, TestBroker};
use ferrocket_protocol::body::pop::{
    QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::pop::ExtraInfo;
use ferrocket_protocol::message::{decode_messages, property, MessageExt};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

const GROUP: &str = "pop_group";

async fn broker() -> TestBroker {
    TestBroker::start_with(ferrocket_broker::BrokerConfig {
        revive_interval: 100,
        ..broker_config()
    })
    .await
}

fn pop_request(topic: &str, invisible_millis: i64, poll_millis: i64) -> RemotingCommand {
    pop_request_with(topic, ("TAG", "*"), invisible_millis, poll_millis)
}

/// A pop with the filter `(expType, exp)`.
fn pop_request_with(
    topic: &str,
    (exp_type, exp): (&str, &str),
    invisible_millis: i64,
    poll_millis: i64,
) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::POP_MESSAGE);
    for (k, v) in [
        ("consumerGroup", GROUP.to_string()),
        ("topic", topic.to_string()),
        ("queueId", "-1".into()),
        ("maxMsgNums", "32".into()),
        ("invisibleTime", invisible_millis.to_string()),
        ("pollTime", poll_millis.to_string()),
        (
            "bornTime",
            ferrocket_protocol::util::now_millis().to_string(),
        ),
        ("initMode", "0".into()),
        ("expType", exp_type.into()),
        ("exp", exp.into()),
    ] {
        cmd.ext_fields.insert(k, v);
    }
    cmd
}

/// Pops and returns the response code and the messages.
async fn pop(
    client: &RemotingClient,
    b: &TestBroker,
    topic: &str,
    invisible: i64,
    poll: i64,
) -> (i32, Vec<MessageExt>) {
    let r = call(client, &b.addr, pop_request(topic, invisible, poll)).await;
    for key in ["popTime", "invisibleTime", "reviveQid", "restNum"] {
        assert!(r.ext(key).is_some(), "{key} missing: {r:?}");
    }
    let messages = if r.code == response::SUCCESS {
        decode_messages(&r.body).expect("stored-format messages")
    } else {
        Vec::new()
    };
    (r.code, messages)
}

/// Acks `m` the way the 5.x client does: the real topic follows from the handle's retry flag.
fn ack_request(topic: &str, m: &MessageExt) -> RemotingCommand {
    let handle = m.message.property(property::POP_CK).expect("POP_CK");
    let extra = ExtraInfo::parse(handle).unwrap();
    let mut cmd = RemotingCommand::request(request::ACK_MESSAGE);
    for (k, v) in [
        ("consumerGroup", GROUP.to_string()),
        ("topic", extra.real_topic(topic, GROUP)),
        ("queueId", extra.queue_id.to_string()),
        ("extraInfo", handle.to_string()),
        ("offset", extra.queue_offset.unwrap().to_string()),
    ] {
        cmd.ext_fields.insert(k, v);
    }
    cmd
}

/// Sends m0, m1, m2 to queue 0 of `topic`.
async fn send_three(client: &RemotingClient, b: &TestBroker, topic: &str, tag: Option<&str>) {
    for i in 0..3 {
        send_ok(client, &b.addr, topic, 0, tag, format!("m{i}").as_bytes()).await;
    }
}

fn body(m: &MessageExt) -> String {
    String::from_utf8_lossy(&m.message.body).into_owned()
}

/// Pops until something comes or `within` passes.
async fn pop_until_found(
    client: &RemotingClient,
    b: &TestBroker,
    topic: &str,
    within: Duration,
) -> Vec<MessageExt> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let (_, found) = pop(client, b, topic, 60_000, 1_000).await;
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_messages_come_back_through_the_retry_topic() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_three(&client, &b, "PopT", Some("A")).await;
    let (code, first) = pop(&client, &b, "PopT", 1_000, 0).await;
    assert_eq!(code, response::SUCCESS);
    assert_eq!(first.len(), 3);
    for m in &first {
        let extra = ExtraInfo::parse(m.message.property(property::POP_CK).unwrap()).unwrap();
        assert!(!extra.retry);
        assert_eq!(m.reconsume_times, 0);
    }
    for m in first.iter().filter(|m| body(m) != "m1") {
        let r = call(&client, &b.addr, ack_request("PopT", m)).await;
        assert_eq!(r.code, response::SUCCESS, "{r:?}");
    }
    let (code, none) = pop(&client, &b, "PopT", 1_000, 0).await;
    assert_eq!((code, none.len()), (response::POLLING_TIMEOUT, 0));

    let again = pop_until_found(&client, &b, "PopT", Duration::from_secs(10)).await;
    assert_eq!(again.iter().map(body).collect::<Vec<_>>(), vec!["m1"]);
    let m = &again[0];
    assert_eq!(
        m.message.topic, "PopT",
        "retried messages carry the subscribed topic"
    );
    assert_eq!(m.reconsume_times, 1);
    let extra = ExtraInfo::parse(m.message.property(property::POP_CK).unwrap()).unwrap();
    assert!(extra.retry, "popped from %RETRY%{GROUP}_PopT");
    let r = call(&client, &b.addr, ack_request("PopT", m)).await;
    assert_eq!(r.code, response::SUCCESS, "{r:?}");

    // everything acknowledged: nothing comes back
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (_, nothing) = pop(&client, &b, "PopT", 60_000, 1_500).await;
    assert!(
        nothing.is_empty(),
        "{:?}",
        nothing.iter().map(body).collect::<Vec<_>>()
    );
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_invisible_time_brings_the_message_back_then() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "PopCit", 0, None, b"later").await;
    let (_, popped) = pop(&client, &b, "PopCit", 60_000, 0).await;
    let m = &popped[0];
    let handle = m.message.property(property::POP_CK).unwrap();
    let extra = ExtraInfo::parse(handle).unwrap();
    let mut cmd = RemotingCommand::request(request::CHANGE_MESSAGE_INVISIBLETIME);
    for (k, v) in [
        ("consumerGroup", GROUP.to_string()),
        ("topic", "PopCit".to_string()),
        ("queueId", extra.queue_id.to_string()),
        ("extraInfo", handle.to_string()),
        ("offset", m.queue_offset.to_string()),
        ("invisibleTime", "1000".to_string()),
    ] {
        cmd.ext_fields.insert(k, v);
    }
    let r = call(&client, &b.addr, cmd).await;
    assert_eq!(r.code, response::SUCCESS, "{r:?}");
    assert_eq!(r.ext("invisibleTime"), Some("1000"));
    assert_eq!(
        r.ext("reviveQid"),
        Some(extra.revive_qid.to_string().as_str())
    );
    let again = pop_until_found(&client, &b, "PopCit", Duration::from_secs(10)).await;
    assert_eq!(again.iter().map(body).collect::<Vec<_>>(), vec!["later"]);
    assert_eq!(again[0].reconsume_times, 1);
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_pop_answers_when_a_message_arrives() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "PopPoll", 0, None, b"first").await;
    let (_, first) = pop(&client, &b, "PopPoll", 60_000, 0).await;
    assert_eq!(first.len(), 1);
    let addr = b.addr.clone();
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        send_ok(&RemotingClient::new(), &addr, "PopPoll", 0, None, b"second").await;
    });
    let started = Instant::now();
    let (code, second) = pop(&client, &b, "PopPoll", 60_000, 10_000).await;
    assert_eq!(code, response::SUCCESS);
    assert_eq!(second.iter().map(body).collect::<Vec<_>>(), vec!["second"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    sender.await.unwrap();
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_assignment_follows_the_request_mode() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "PopMode", 0, None, b"x").await;
    let query = || {
        let mut cmd = RemotingCommand::request(request::QUERY_ASSIGNMENT);
        cmd.body = br#"{"topic":"PopMode","consumerGroup":"pop_group","clientId":"c1","strategyName":"AVG","messageModel":"CLUSTERING"}"#.to_vec().into();
        cmd
    };
    let r = call(&client, &b.addr, query()).await;
    assert_eq!(r.code, response::SUCCESS, "{r:?}");
    let pull: QueryAssignmentResponseBody = ferrocket_protocol::body::decode(&r.body).unwrap();
    // the only client of the group (no heartbeat yet) pulls every queue
    let assigned: Vec<(String, i32)> = pull
        .message_queue_assignments
        .iter()
        .map(|a| (a.mode.clone(), a.message_queue.queue_id))
        .collect();
    let all: Vec<(String, i32)> = (0..4).map(|q| ("PULL".to_string(), q)).collect();
    assert_eq!(assigned, all);

    let mut set = RemotingCommand::request(request::SET_MESSAGE_REQUEST_MODE);
    set.body = ferrocket_protocol::body::encode(&SetMessageRequestModeRequestBody {
        topic: "PopMode".into(),
        consumer_group: GROUP.into(),
        mode: "POP".into(),
        pop_share_queue_num: 0,
    });
    assert_eq!(call(&client, &b.addr, set).await.code, response::SUCCESS);
    let r = call(&client, &b.addr, query()).await;
    let popped: QueryAssignmentResponseBody = ferrocket_protocol::body::decode(&r.body).unwrap();
    let assigned: Vec<(String, i32)> = popped
        .message_queue_assignments
        .iter()
        .map(|a| (a.mode.clone(), a.message_queue.queue_id))
        .collect();
    assert_eq!(assigned, vec![("POP".to_string(), -1)]);
    let saved =
        std::fs::read_to_string(b.dir.path().join("config/messageRequestMode.json")).unwrap();
    assert!(saved.contains("\"POP\""), "{saved}");
    b.broker.shutdown().await;
}

/// `maxPopPollingSize` bounds the parked pops (each counts once, whatever its queues); one more
/// is answered POLLING_FULL at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_pops_beyond_max_pop_polling_size_are_answered_polling_full() {
    let b = TestBroker::start_with(ferrocket_broker::BrokerConfig {
        max_pop_polling_size: 2,
        ..broker_config()
    })
    .await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "PopFull", 0, None, b"x").await;
    let (_, first) = pop(&client, &b, "PopFull", 60_000, 0).await;
    assert_eq!(first.len(), 1);
    // two pops of every queue park on the now empty topic, within the bound
    let mut parked = Vec::new();
    for _ in 0..2 {
        let addr = b.addr.clone();
        parked.push(tokio::spawn(async move {
            let r = call(
                &RemotingClient::new(),
                &addr,
                pop_request("PopFull", 60_000, 3_000),
            )
            .await;
            r.code
        }));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let started = Instant::now();
    let r = call(&client, &b.addr, pop_request("PopFull", 60_000, 3_000)).await;
    assert_eq!(r.code, response::POLLING_FULL, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for p in parked {
        assert_eq!(p.await.unwrap(), response::POLLING_TIMEOUT);
    }
    b.broker.shutdown().await;
}

/// QUERY_ASSIGNMENT asked of one broker covers every broker of the topic, as the name server
/// routes it: a consumer of a two-master cluster reads both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_assignment_covers_every_broker_of_the_topic() {
    let ns = ferrocket_namesrv::NamesrvController::start(ferrocket_namesrv::NamesrvConfig {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let member = |name: &str| ferrocket_broker::BrokerConfig {
        broker_name: name.into(),
        namesrv_addr: Some(ns.local_addr().to_string()),
        ..broker_config()
    };
    let (a, b) = (
        TestBroker::start_with(member("broker-a")).await,
        TestBroker::start_with(member("broker-b")).await,
    );
    let client = RemotingClient::new();
    // the sends auto-create the topic on both, registered with the name server before the answer
    send_ok(&client, &a.addr, "TwoMasters", 0, None, b"x").await;
    send_ok(&client, &b.addr, "TwoMasters", 0, None, b"y").await;
    let query = || {
        let mut cmd = RemotingCommand::request(request::QUERY_ASSIGNMENT);
        cmd.body = br#"{"topic":"TwoMasters","consumerGroup":"pop_group","clientId":"c1","strategyName":"AVG","messageModel":"CLUSTERING"}"#.to_vec().into();
        cmd
    };
    let assigned = |r: RemotingCommand| -> Vec<(String, String, i32)> {
        assert_eq!(r.code, response::SUCCESS, "{r:?}");
        let body: QueryAssignmentResponseBody = ferrocket_protocol::body::decode(&r.body).unwrap();
        let mut v: Vec<_> = body
            .message_queue_assignments
            .into_iter()
            .map(|a| {
                (
                    a.mode,
                    a.message_queue.broker_name,
                    a.message_queue.queue_id,
                )
            })
            .collect();
        v.sort();
        v
    };
    // PULL: the lone client gets the 4 queues of each broker
    let pull = assigned(call(&client, &a.addr, query()).await);
    let want: Vec<_> = ["broker-a", "broker-b"]
        .iter()
        .flat_map(|b| (0..4).map(move |q| ("PULL".to_string(), b.to_string(), q)))
        .collect();
    assert_eq!(pull, want);
    // POP: queue -1 of each broker
    let mut set = RemotingCommand::request(request::SET_MESSAGE_REQUEST_MODE);
    set.body = ferrocket_protocol::body::encode(&SetMessageRequestModeRequestBody {
        topic: "TwoMasters".into(),
        consumer_group: GROUP.into(),
        mode: "POP".into(),
        pop_share_queue_num: 0,
    });
    assert_eq!(call(&client, &a.addr, set).await.code, response::SUCCESS);
    let popped = assigned(call(&client, &a.addr, query()).await);
    assert_eq!(
        popped,
        vec![
            ("POP".to_string(), "broker-a".to_string(), -1),
            ("POP".to_string(), "broker-b".to_string(), -1)
        ]
    );
    a.broker.shutdown().await;
    b.broker.shutdown().await;
    ns.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_popped_message_comes_back_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = ferrocket_broker::BrokerConfig {
        revive_interval: 100,
        ..broker_config()
    };
    let start = |config: ferrocket_broker::BrokerConfig| {
        let store = common::store_config(dir.path());
        async move {
            ferrocket_broker::BrokerController::start(config, store)
                .await
                .expect("broker starts")
        }
    };
    let broker = start(config.clone()).await;
    let addr = broker.local_addr().to_string();
    let client = RemotingClient::new();
    send_ok(&client, &addr, "PopRestart", 0, None, b"kept").await;
    let r = call(&client, &addr, pop_request("PopRestart", 3_000, 0)).await;
    assert_eq!(decode_messages(&r.body).unwrap().len(), 1);
    // the group's offset is now past the message: only the checkpoint can bring it back
    broker.shutdown().await;
    drop(broker);

    let broker = start(config).await;
    let addr = broker.local_addr().to_string();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut back = Vec::new();
    while back.is_empty() && Instant::now() < deadline {
        let r = call(&client, &addr, pop_request("PopRestart", 60_000, 1_000)).await;
        if r.code == response::SUCCESS {
            back = decode_messages(&r.body).unwrap();
        }
    }
    assert_eq!(back.iter().map(body).collect::<Vec<_>>(), vec!["kept"]);
    assert_eq!(back[0].reconsume_times, 1);
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pops_filter_by_tag_and_by_sql92() {
    let b = TestBroker::start_with(ferrocket_broker::BrokerConfig {
        enable_property_filter: true,
        ..broker_config()
    })
    .await;
    let client = RemotingClient::new();
    for (tag, text) in [("A", "a1"), ("B", "b1"), ("A", "a2")] {
        send_ok(&client, &b.addr, "PopTags", 0, Some(tag), text.as_bytes()).await;
    }
    let r = call(
        &client,
        &b.addr,
        pop_request_with("PopTags", ("TAG", "A"), 60_000, 0),
    )
    .await;
    let found: Vec<String> = decode_messages(&r.body).unwrap().iter().map(body).collect();
    assert_eq!(found, vec!["a1", "a2"]);
    // the filtered-out message does not hold the group's offset back
    let r = call(&client, &b.addr, pop_request("PopTags", 60_000, 0)).await;
    assert_eq!(r.code, response::POLLING_TIMEOUT, "{r:?}");

    let mut sql = pop_request_with("PopTags", ("SQL92", "TAGS = 'B'"), 60_000, 0);
    sql.ext_fields.insert("consumerGroup", "pop_sql_group");
    let r = call(&client, &b.addr, sql).await;
    let found: Vec<String> = decode_messages(&r.body).unwrap().iter().map(body).collect();
    assert_eq!(found, vec!["b1"]);
    let mut bad = pop_request_with("PopTags", ("SQL92", "TAGS = "), 60_000, 0);
    bad.ext_fields.insert("consumerGroup", "pop_bad_group");
    let r = call(&client, &b.addr, bad).await;
    assert_eq!(r.code, response::SUBSCRIPTION_PARSE_FAILED, "{r:?}");
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_out_of_retries_goes_to_the_dead_letter_queue() {
    let b = broker().await;
    let mut group =
        ferrocket_protocol::body::subscription_group_config::SubscriptionGroupConfig::new(GROUP);
    group.retry_max_times = 1;
    b.broker
        .subscription_group_manager()
        .update_subscription_group_config(group);
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "PopDlq", 0, None, b"doomed").await;
    let (_, first) = pop(&client, &b, "PopDlq", 1_000, 0).await;
    assert_eq!(first.len(), 1);
    // never acknowledged: back once from the retry topic, then dead-lettered
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut retried = Vec::new();
    while retried.is_empty() && Instant::now() < deadline {
        retried = pop(&client, &b, "PopDlq", 1_000, 1_000).await.1;
    }
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].reconsume_times, 1);
    let dlq = format!("%DLQ%{GROUP}");
    let store = b.broker.message_store().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.get_max_offset_in_queue(&dlq, 0) < 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        store.get_max_offset_in_queue(&dlq, 0),
        1,
        "dead-lettered once"
    );
    let (_, after) = pop(&client, &b, "PopDlq", 1_000, 0).await;
    assert!(after.is_empty());
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_ack_acknowledges_the_offsets_of_its_bit_set() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_three(&client, &b, "PopBatch", None).await;
    let (_, popped) = pop(&client, &b, "PopBatch", 1_000, 0).await;
    assert_eq!(popped.len(), 3);
    let extra = ExtraInfo::parse(popped[0].message.property(property::POP_CK).unwrap()).unwrap();
    // BitSet.toByteArray() of {0, 2} is [0b101]: base64 "BQ=="
    let body_json = format!(
        r#"{{"brokerName":"{}","acks":[{{"c":"{GROUP}","t":"PopBatch","r":"0","so":{},"q":0,"rq":{},"pt":{},"it":1000,"b":"BQ=="}}]}}"#,
        extra.broker_name, extra.ck_queue_offset, extra.revive_qid, extra.pop_time
    );
    let mut cmd = RemotingCommand::request(request::BATCH_ACK_MESSAGE);
    cmd.body = body_json.into_bytes().into();
    let r = call(&client, &b.addr, cmd).await;
    assert_eq!(r.code, response::SUCCESS, "{r:?}");
    let back = pop_until_found(&client, &b, "PopBatch", Duration::from_secs(10)).await;
    assert_eq!(back.iter().map(body).collect::<Vec<_>>(), vec!["m1"]);
    b.broker.shutdown().await;
}

fn notification_request(topic: &str, poll_millis: i64) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::NOTIFICATION);
    for (k, v) in [
        ("consumerGroup", GROUP.to_string()),
        ("topic", topic.to_string()),
        ("queueId", "-1".into()),
        ("pollTime", poll_millis.to_string()),
        (
            "bornTime",
            ferrocket_protocol::util::now_millis().to_string(),
        ),
    ] {
        cmd.ext_fields.insert(k, v);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notification_and_polling_info_follow_the_parked_requests() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_ok(&client, &b.addr, "PopNotify", 0, None, b"one").await;
    let r = call(&client, &b.addr, notification_request("PopNotify", 0)).await;
    assert_eq!((r.code, r.ext("hasMsg")), (response::SUCCESS, Some("true")));
    let (_, popped) = pop(&client, &b, "PopNotify", 60_000, 0).await;
    assert_eq!(popped.len(), 1);
    let r = call(&client, &b.addr, notification_request("PopNotify", 0)).await;
    assert_eq!(r.ext("hasMsg"), Some("false"));

    // a parked pop is counted by POLLING_INFO until a message arrives for it
    let addr = b.addr.clone();
    let parked = tokio::spawn(async move {
        let r = call(
            &RemotingClient::new(),
            &addr,
            pop_request("PopNotify", 60_000, 10_000),
        )
        .await;
        decode_messages(&r.body).unwrap().len()
    });
    let info = || {
        let mut cmd = RemotingCommand::request(request::POLLING_INFO);
        for (k, v) in [
            ("consumerGroup", GROUP),
            ("topic", "PopNotify"),
            ("queueId", "-1"),
        ] {
            cmd.ext_fields.insert(k, v);
        }
        cmd
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut polling = String::new();
    while Instant::now() < deadline {
        polling = call(&client, &b.addr, info())
            .await
            .ext("pollingNum")
            .unwrap()
            .to_string();
        if polling == "1" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(polling, "1");
    let addr = b.addr.clone();
    let waiting = tokio::spawn(async move {
        call(
            &RemotingClient::new(),
            &addr,
            notification_request("PopNotify", 10_000),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    send_ok(&client, &b.addr, "PopNotify", 1, None, b"two").await;
    assert_eq!(parked.await.unwrap(), 1);
    let notified = waiting.await.unwrap();
    assert_eq!(notified.code, response::SUCCESS);
    assert!(notified.ext("hasMsg").is_some());
    let after = call(&client, &b.addr, info()).await;
    assert_eq!(after.ext("pollingNum"), Some("0"));
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orderly_pop_blocks_the_queue_until_its_batch_is_acknowledged() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_three(&client, &b, "PopOrderT", None).await;
    let orderly = |invisible: i64| {
        let mut cmd = pop_request("PopOrderT", invisible, 0);
        cmd.ext_fields.insert("order", "true".to_string());
        cmd.ext_fields.insert("maxMsgNums", "2".to_string());
        cmd
    };
    let r = call(&client, &b.addr, orderly(60_000)).await;
    assert_eq!(r.code, response::SUCCESS, "{r:?}");
    let first = decode_messages(&r.body).unwrap();
    assert_eq!(first.iter().map(body).collect::<Vec<_>>(), vec!["m0", "m1"]);
    let extra = ExtraInfo::parse(first[0].message.property(property::POP_CK).unwrap()).unwrap();
    assert!(extra.is_order(), "an orderly handle: revive queue 999");

    // m2 waits while m0 and m1 are in flight, also after m0 alone is acknowledged
    let r = call(&client, &b.addr, orderly(60_000)).await;
    assert_eq!(r.code, response::POLLING_TIMEOUT, "{r:?}");
    let acked = call(&client, &b.addr, ack_request("PopOrderT", &first[0])).await;
    assert_eq!(acked.code, response::SUCCESS, "{acked:?}");
    let r = call(&client, &b.addr, orderly(60_000)).await;
    assert_eq!(r.code, response::POLLING_TIMEOUT, "{r:?}");
    let acked = call(&client, &b.addr, ack_request("PopOrderT", &first[1])).await;
    assert_eq!(acked.code, response::SUCCESS, "{acked:?}");

    // m2, unacknowledged, comes back in place once its invisible time is over
    let r = call(&client, &b.addr, orderly(500)).await;
    let next = decode_messages(&r.body).unwrap();
    assert_eq!(next.iter().map(body).collect::<Vec<_>>(), vec!["m2"]);
    assert_eq!(next[0].reconsume_times, 0);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = call(&client, &b.addr, orderly(60_000)).await;
    let again = decode_messages(&r.body).unwrap();
    assert_eq!(again.iter().map(body).collect::<Vec<_>>(), vec!["m2"]);
    assert_eq!(again[0].reconsume_times, 1);
    b.broker.shutdown().await;
}

fn peek_request(topic: &str, max: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::PEEK_MESSAGE);
    for (k, v) in [
        ("consumerGroup", GROUP.to_string()),
        ("topic", topic.to_string()),
        ("queueId", "-1".into()),
        ("maxMsgNums", max.to_string()),
    ] {
        cmd.ext_fields.insert(k, v);
    }
    cmd
}

/// PEEK_MESSAGE shows what a pop would return without taking it: the same messages come again
/// on the next peek and a pop still gets them; once popped and acknowledged past the group's
/// offset, a peek finds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peek_reads_without_popping() {
    let b = broker().await;
    let client = RemotingClient::new();
    send_three(&client, &b, "PeekT", None).await;
    for _ in 0..2 {
        let r = call(&client, &b.addr, peek_request("PeekT", 2)).await;
        assert_eq!(r.code, response::SUCCESS, "{r:?}");
        let peeked = decode_messages(&r.body).unwrap();
        let bodies: Vec<_> = peeked.iter().map(body).collect();
        assert_eq!(bodies, ["m0", "m1"]);
        assert_eq!(r.ext("restNum"), Some("3"));
        assert!(peeked
            .iter()
            .all(|m| m.message.property(property::POP_CK).is_none()));
    }
    let popped = pop_until_found(&client, &b, "PeekT", Duration::from_secs(10)).await;
    assert_eq!(
        popped.iter().map(body).collect::<Vec<_>>(),
        ["m0", "m1", "m2"]
    );
    for m in &popped {
        let r = call(&client, &b.addr, ack_request("PeekT", m)).await;
        assert_eq!(r.code, response::SUCCESS, "{r:?}");
    }
    let r = call(&client, &b.addr, peek_request("PeekT", 32)).await;
    assert_eq!(r.code, response::PULL_NOT_FOUND, "{r:?}");
    assert_eq!(r.ext("restNum"), Some("0"));
    let mut unknown = peek_request("NoSuchTopic", 1);
    unknown.ext_fields.insert("queueId", "0".to_string());
    let r = call(&client, &b.addr, unknown).await;
    assert_eq!(r.code, response::TOPIC_NOT_EXIST, "{r:?}");
}
