//! Server-side renewal of push consumers' messages against the real binary, with shortened
//! timings: a message received with `auto_renew` stays invisible past its invisible time and
//! the handle the client got acknowledges it after renewals; a consumer that terminates or
//! closes its Telemetry stream hands its messages back to the group; a message renewed for
//! `renewMaxTimeMillis` is handed back after its group's retry delay; a change of its invisible
//! time with the first handle ends the renewal.

mod common;

use std::time::{Duration, Instant};

use common::member::{props, Member};
use common::*;
use ferrocket_proxy::v2::*;

/// Received messages are invisible for 2 s, renewed 1 s ahead, scanned for every 200 ms.
const RENEW_CONF: &str = "reviveInterval=100\ndefaultInvisibleTimeMills=2000\n\
                          renewAheadTimeMillis=1000\nrenewSchedulePeriodMillis=200\n";

const PUSH: ClientType = ClientType::PushConsumer;
const SIMPLE: ClientType = ClientType::SimpleConsumer;

/// Sends messages with the ids `ids` to [`TOPIC`].
async fn send(port: u16, ids: &[&str]) {
    let mut client = plain_client(port).await;
    let id = "renew-sender@1@1";
    let (_answer, _telemetry) = exchange_settings(&mut client, id, producer_settings()).await;
    for message_id in ids {
        let m = message(message_id, message_id.as_bytes());
        let request = SendMessageRequest { messages: vec![m] };
        let sent = client.send_message(common::request(id, request)).await;
        let sent = sent.unwrap().into_inner();
        assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    }
}

/// A push consumer of `group` and the first message it receives.
async fn push_receives(port: u16, group: &str) -> (Member, Message) {
    let mut push = Member::join(port, group, "push", PUSH).await;
    let within = Duration::from_secs(10);
    let m = push.first_message(true, within).await;
    (push, m.expect("the message is received"))
}

/// A server with [`RENEW_CONF`] and message `id`, received by a push consumer of `group`.
async fn renewing(id: &str, group: &str) -> (Server, Member, Message) {
    let server = start(RENEW_CONF);
    send(server.grpc_port, &[id]).await;
    let (push, m) = push_receives(server.grpc_port, group).await;
    (server, push, m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_message_stays_invisible_and_its_first_handle_acknowledges_it() {
    let (server, mut push, m) = renewing("01RENEWED", "renew_g").await;
    let port = server.grpc_port;
    let received_at = Instant::now();
    assert_eq!(props(&m).invisible_duration, millis(2_000));
    let original = props(&m).receipt_handle.clone().expect("a receipt handle");

    // three times its invisible time later, another member still does not get it
    let mut other = Member::join(port, "renew_g", "other", SIMPLE).await;
    while received_at.elapsed() < Duration::from_secs(6) {
        let (_, got) = other.receive_one(false, 1_000).await;
        assert!(got.is_empty(), "delivered again while renewed: {got:?}");
    }

    // the handle the client got expired long ago; the server acknowledges with the newest one
    let acked = push.ack(&m, &original).await;
    assert_eq!(code(&acked.status), Code::Ok, "{acked:?}");
    assert_eq!(code(&acked.entries[0].status), Code::Ok, "{acked:?}");
    let again = other.first_message(false, Duration::from_secs(3)).await;
    assert!(
        again.is_none(),
        "an acknowledged message came back: {again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_message_given_up_with_its_first_handle_comes_back_once() {
    let (server, mut push, m) = renewing("01NACKED", "renew_nack").await;
    let port = server.grpc_port;
    tokio::time::sleep(Duration::from_secs(3)).await;

    // what a push consumer does when its listener fails: back in a second, with the handle it got
    let original = props(&m).receipt_handle.clone().expect("a receipt handle");
    let changed = push.change_invisible(&m, &original, 1_000).await;
    assert_eq!(code(&changed.status), Code::Ok, "{changed:?}");
    let mut other = Member::join(port, "renew_nack", "other", SIMPLE).await;
    let back_within = Duration::from_secs(8);
    other.expect_delivery(back_within, "01NACKED", 2).await;
    // no longer renewed: the push consumer's stale handle is not mapped again
    let stale = push.ack(&m, &original).await;
    assert_eq!(code(&stale.status), Code::InvalidReceiptHandle, "{stale:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_goes_away_hands_its_messages_back() {
    let server = start(RENEW_CONF);
    send(server.grpc_port, &["01LEAVER1", "01LEAVER2"]).await;
    let port = server.grpc_port;
    let mut terminating = Member::join(port, "renew_away", "terminating", PUSH).await;
    let mut closing = Member::join(port, "renew_away", "closing", PUSH).await;
    let within = Duration::from_secs(10);
    let first = terminating
        .first_message(true, within)
        .await
        .expect("a message");
    let second = closing
        .first_message(true, within)
        .await
        .expect("the other message");
    let mut held = vec![
        props(&first).message_id.clone(),
        props(&second).message_id.clone(),
    ];
    held.sort();
    assert_eq!(held, ["01LEAVER1", "01LEAVER2"]);

    // renewed past their invisible time while their consumers are there
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut other = Member::join(port, "renew_away", "other", SIMPLE).await;
    let (_, early) = other.receive_one(false, 1_000).await;
    assert!(early.is_empty(), "delivered again while renewed: {early:?}");

    let terminated = terminating.terminate().await;
    assert_eq!(code(&terminated.status), Code::Ok, "{terminated:?}");
    closing.telemetry = None;
    let mut back = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while back.len() < 2 && Instant::now() < deadline {
        if let Some(m) = other.first_message(false, Duration::from_secs(1)).await {
            assert_eq!(props(&m).delivery_attempt, Some(2), "{m:?}");
            back.push(props(&m).message_id.clone());
        }
    }
    back.sort();
    assert_eq!(back, held, "the messages of the consumers that left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_renewed_for_too_long_is_handed_back_after_the_retry_delay() {
    let groups = serde_json::json!({"subscriptionGroupTable": {
        "renew_max": {
            "groupName": "renew_max",
            "groupRetryPolicy": {"type": "CUSTOMIZED", "customizedRetryPolicy": {"next": [1000, 1000, 1000]}}
        }
    }});
    // invisible for 10 s, due for renewal after 1 s, when it has been renewed for too long
    let conf = "reviveInterval=100\ndefaultInvisibleTimeMills=10000\nrenewAheadTimeMillis=9000\n\
                renewSchedulePeriodMillis=200\nrenewMaxTimeMillis=500\n";
    let server = start_with_groups(conf, Some(groups));
    send(server.grpc_port, &["01TOOLONG"]).await;
    let port = server.grpc_port;
    let (_push, m) = push_receives(port, "renew_max").await;
    let received_at = Instant::now();
    let mut other = Member::join(port, "renew_max", "other", SIMPLE).await;
    // handed back before its 10 s invisible time
    let id = &props(&m).message_id;
    other.expect_delivery(Duration::from_secs(7), id, 2).await;
    assert!(
        received_at.elapsed() < Duration::from_secs(9),
        "{:?}",
        received_at.elapsed()
    );
}
