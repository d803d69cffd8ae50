//! Timer messages (TIMER_DELIVER_MS / TIMER_DELAY_SEC): held in `rmq_sys_wheel_timer` until due, then
//! put to their topic, also across a broker restart on the same store.
//!
//! A real `BrokerController` on a temporary store and a free loopback port, driven over TCP.

mod common;

use common::*;
use std::time::Duration;

use ferrocket_broker::broker_controller::BrokerController;
use ferrocket_protocol::code::response;
use ferrocket_protocol::message::decode_messages;
use ferrocket_protocol::util::now_millis;
use ferrocket_remoting::RemotingClient;

/// A SEND_MESSAGE_V2 with one extra property.
fn timer_send(
    topic: &str,
    body: &[u8],
    key: &str,
    value: &str,
) -> ferrocket_protocol::RemotingCommand {
    let mut cmd = send_v2(topic, 0, None, body);
    let props = cmd.ext("i").unwrap_or_default().to_string() + &format!("{key}\u{1}{value}\u{2}");
    cmd.ext_fields.insert("i", props);
    cmd
}

/// Pulls `topic` queue 0 from `offset` until a message shows up or `limit` passes.
async fn pull_within(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    offset: i64,
    limit: Duration,
) -> ferrocket_protocol::RemotingCommand {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let r = call(
            client,
            addr,
            pull("tg", topic, 0, offset, SUBSCRIBE, Some("*"), 0),
        )
        .await;
        if r.code == response::SUCCESS || tokio::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timer_message_is_held_until_its_delivery_time() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let at = now_millis() + 1500;
    let r = call(
        &client,
        &b.addr,
        timer_send("TimerT", b"later", "TIMER_DELIVER_MS", &at.to_string()),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    let early = call(
        &client,
        &b.addr,
        pull("tg", "TimerT", 0, 0, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_ne!(
        early.code,
        response::SUCCESS,
        "visible before its delivery time"
    );
    let wheel = call(
        &client,
        &b.addr,
        pull("tg", "rmq_sys_wheel_timer", 0, 0, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(
        wheel.code,
        response::SUCCESS,
        "the message waits in rmq_sys_wheel_timer"
    );
    let held = decode_messages(&wheel.body).unwrap();
    assert_eq!(held[0].message.property("REAL_TOPIC"), Some("TimerT"));
    // rounded down to timerPrecisionMs; an exact multiple goes to the slot before, as in RocketMQ
    let slot = if at % 1000 == 0 {
        at - 1000
    } else {
        at / 1000 * 1000
    };
    assert_eq!(
        held[0].message.property("TIMER_OUT_MS"),
        Some(slot.to_string().as_str())
    );

    let r = pull_within(&client, &b.addr, "TimerT", 0, PROMPT).await;
    assert_eq!(r.code, response::SUCCESS, "never delivered");
    let msgs = decode_messages(&r.body).unwrap();
    assert_eq!(msgs[0].message.body.as_ref(), b"later");
    assert!(
        msgs[0].store_timestamp >= at,
        "stored at {} before {at}",
        msgs[0].store_timestamp
    );
    assert_eq!(msgs[0].message.property("REAL_TOPIC"), None);
    assert!(msgs[0].message.property("TIMER_DEQUEUE_MS").is_some());

    // beyond timerMaxDelaySec
    let too_far = (now_millis() + 4 * 24 * 3600 * 1000).to_string();
    let r = call(
        &client,
        &b.addr,
        timer_send("TimerT", b"x", "TIMER_DELIVER_MS", &too_far),
    )
    .await;
    assert_eq!(r.code, response::MESSAGE_ILLEGAL, "{:?}", r.remark);
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_timers_survive_a_restart_and_delivered_ones_stay_delivered() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let r = call(
        &client,
        &b.addr,
        timer_send("TimerR", b"first", "TIMER_DELAY_MS", "200"),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let r = pull_within(&client, &b.addr, "TimerR", 0, PROMPT).await;
    assert_eq!(r.code, response::SUCCESS, "first timer never delivered");

    let at = now_millis() + 2500;
    let r = call(
        &client,
        &b.addr,
        timer_send("TimerR", b"second", "TIMER_DELIVER_MS", &at.to_string()),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    b.broker.shutdown().await;
    assert!(b.dir.path().join("config").join("timercheck").exists());

    let broker = BrokerController::start(broker_config(), store_config(b.dir.path()))
        .await
        .expect("broker restarts");
    let addr = broker.local_addr().to_string();
    let r = pull_within(&client, &addr, "TimerR", 1, PROMPT).await;
    assert_eq!(
        r.code,
        response::SUCCESS,
        "the pending timer was lost in the restart"
    );
    let msgs = decode_messages(&r.body).unwrap();
    assert_eq!(msgs[0].message.body.as_ref(), b"second");
    assert!(
        msgs[0].store_timestamp >= at,
        "stored at {} before {at}",
        msgs[0].store_timestamp
    );
    // the first timer, delivered before the restart, is not delivered again
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = call(
        &client,
        &addr,
        pull("tg", "TimerR", 0, 2, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_ne!(r.code, response::SUCCESS, "a timer was delivered twice");
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_message_withdraws_a_timer_message_before_it_is_due() {
    use ferrocket_protocol::code::request;
    use ferrocket_protocol::header::send_message::SendMessageResponseHeader;
    use ferrocket_protocol::header::transaction::{
        RecallMessageRequestHeader, RecallMessageResponseHeader,
    };
    use ferrocket_protocol::header::CommandCustomHeader;
    use ferrocket_protocol::RemotingCommand;

    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let at = (now_millis() + 1500).to_string();
    let recalled = call(
        &client,
        &b.addr,
        timer_send("RecallT", b"recalled", "TIMER_DELIVER_MS", &at),
    )
    .await;
    assert_eq!(recalled.code, response::SUCCESS, "{:?}", recalled.remark);
    let header = SendMessageResponseHeader::decode(&recalled).unwrap();
    let handle = header
        .recall_handle
        .expect("a timer message has a recall handle");
    let kept = call(
        &client,
        &b.addr,
        timer_send("RecallT", b"kept", "TIMER_DELIVER_MS", &at),
    )
    .await;
    assert_eq!(kept.code, response::SUCCESS, "{:?}", kept.remark);

    let recall = |topic: &str, handle: &str| {
        let mut cmd = RemotingCommand::request(request::RECALL_MESSAGE);
        RecallMessageRequestHeader {
            producer_group: Some("pg".into()),
            topic: topic.into(),
            recall_handle: handle.into(),
            broker_name: None,
        }
        .write_to(&mut cmd);
        cmd
    };
    let wrong_topic = call(&client, &b.addr, recall("OtherT", &handle)).await;
    assert_ne!(wrong_topic.code, response::SUCCESS);
    let bad = call(&client, &b.addr, recall("RecallT", "bm90IGEgaGFuZGxl")).await;
    assert_eq!(bad.code, response::ILLEGAL_OPERATION, "{:?}", bad.remark);
    let r = call(&client, &b.addr, recall("RecallT", &handle)).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let answer = RecallMessageResponseHeader::decode(&r).unwrap();
    assert_eq!(Some(answer.msg_id.as_str()), recalled.ext("transactionId"));

    let r = pull_within(&client, &b.addr, "RecallT", 0, PROMPT).await;
    assert_eq!(
        r.code,
        response::SUCCESS,
        "the kept message was never delivered"
    );
    // both fell due in the same slot; give a late delivery of the recalled one time to show
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = pull_within(&client, &b.addr, "RecallT", 0, PROMPT).await;
    let bodies: Vec<Vec<u8>> = decode_messages(&r.body)
        .unwrap()
        .into_iter()
        .map(|m| m.message.body.to_vec())
        .collect();
    assert_eq!(bodies, [b"kept".to_vec()]);
    b.broker.shutdown().await;
}
