//! CONSUMER_SEND_MSG_BACK: delay level 3 + reconsumeTimes, and which limit decides the DLQ — the
//! request's `maxReconsumeTimes` from client version V3_4_9 on, the group's `retryMaxTimes` before.

mod common;

use common::*;
use ferrocket_protocol::body::heartbeat::MessageModel;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

/// `MQVersion.Version.V3_4_9.ordinal()`.
const V3_4_9: i32 = 121;
/// ScheduleMessageService's topic; delay level L is its queue L - 1.
const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

async fn max_offset(client: &RemotingClient, addr: &str, topic: &str, queue_id: i32) -> i64 {
    let r = call(
        client,
        addr,
        offset_request(request::GET_MAX_OFFSET, "g", topic, queue_id),
    )
    .await;
    r.ext("offset").map_or(0, |o| o.parse().unwrap())
}

fn send_back(offset: i64, version: i32, max_reconsume_times: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK)
        .with_ext("offset", offset)
        .with_ext("group", "sbg")
        .with_ext("delayLevel", 0)
        .with_ext("maxReconsumeTimes", max_reconsume_times);
    cmd.version = version;
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_reconsume_times_comes_from_the_request_only_for_v3_4_9_and_later() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let r = call(&client, &b.addr, send_v2("SbTopic", 0, None, b"payload")).await;
    let (_, offset) = ferrocket_protocol::util::decode_message_id(r.ext("msgId").unwrap()).unwrap();
    call(
        &client,
        &b.addr,
        heartbeat("sbg", "c", MessageModel::Clustering, &["SbTopic"]),
    )
    .await;

    // An old client: its maxReconsumeTimes (0) is ignored, the group's retryMaxTimes (16) applies,
    // so the first failure is retried at delay level 3 + 0.
    let r = call(&client, &b.addr, send_back(offset, V3_4_9 - 1, 0)).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(max_offset(&client, &b.addr, SCHEDULE_TOPIC, 2).await, 1);
    assert_eq!(max_offset(&client, &b.addr, "%DLQ%sbg", 0).await, 0);

    // A current client: reconsumeTimes 0 >= maxReconsumeTimes 0 sends it to the DLQ.
    let r = call(&client, &b.addr, send_back(offset, V3_4_9, 0)).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(max_offset(&client, &b.addr, "%DLQ%sbg", 0).await, 1);
    assert_eq!(max_offset(&client, &b.addr, SCHEDULE_TOPIC, 2).await, 1);
    let r = pull_until_found(&client, &b.addr, "%DLQ%sbg", 0, 0).await;
    let msgs = ferrocket_protocol::message::decode_messages(&r.body).unwrap();
    let dead = &msgs[0];
    assert_eq!(dead.message.body.as_ref(), b"payload");
    assert_eq!(dead.reconsume_times, 1);
    assert_eq!(dead.message.property("RETRY_TOPIC"), Some("SbTopic"));
    assert_eq!(
        dead.message.property("DELAY"),
        Some("0"),
        "dead letters carry level 0"
    );
    assert!(dead.message.property("ORIGIN_MESSAGE_ID").is_some());
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_retry_topic_refuses_the_send_back() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let r = call(&client, &b.addr, send_v2("SbTopic", 0, None, b"payload")).await;
    let (_, offset) = ferrocket_protocol::util::decode_message_id(r.ext("msgId").unwrap()).unwrap();
    call(
        &client,
        &b.addr,
        heartbeat("sbg", "c", MessageModel::Clustering, &["SbTopic"]),
    )
    .await;
    let read_only = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", "%RETRY%sbg")
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", 1)
        .with_ext("writeQueueNums", 1)
        .with_ext("perm", 4)
        .with_ext("topicFilterType", "SINGLE_TAG")
        .with_ext("order", "false");
    assert_eq!(
        call(&client, &b.addr, read_only).await.code,
        response::SUCCESS
    );

    // Even a message bound for the DLQ is refused while the retry topic is not writable.
    let r = call(&client, &b.addr, send_back(offset, V3_4_9, 0)).await;
    assert_eq!(r.code, response::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("the topic[%RETRY%sbg] sending message is forbidden")
    );
    assert_eq!(max_offset(&client, &b.addr, "%DLQ%sbg", 0).await, 0);
    b.broker.shutdown().await;
}
