//! RecallMessage against the real binary: a DELAY message's send returns a recall handle
//! (RocketMQ 5.3.2's format); recalling it before it is due keeps it from ever being
//! delivered, while a delay message not recalled is delivered.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::*;
use ferrocket_proxy::v2::*;

fn delay_message(id: &str, deliver_at_ms: i64) -> Message {
    let mut m = message(id, id.as_bytes());
    if let Some(system) = m.system_properties.as_mut() {
        system.message_type = MessageType::Delay as i32;
        system.delivery_timestamp = Some(prost_types::Timestamp {
            seconds: deliver_at_ms / 1000,
            nanos: ((deliver_at_ms % 1000) * 1_000_000) as i32,
        });
    }
    m
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recalled_delay_message_is_never_delivered() {
    let server = start("");
    let mut client = plain_client(server.grpc_port).await;
    let id = "recall@1@1";
    let deliver_at = now_ms() + 3_000;
    let sent = client
        .send_message(request(
            id,
            SendMessageRequest {
                messages: vec![
                    delay_message("01RECALLED", deliver_at),
                    delay_message("01KEPT", deliver_at),
                ],
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    let handle = sent.entries[0].recall_handle.clone();
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(&handle)
        .expect("a URL-safe base64 handle");
    let raw = String::from_utf8(raw).unwrap();
    let fields: Vec<&str> = raw.split(' ').collect();
    assert_eq!(fields[0], "v1", "{raw}");
    assert_eq!(fields[1], TOPIC);
    assert_eq!(fields[2], broker_name());
    assert_eq!(fields[4], "01RECALLED");

    let bad = client
        .recall_message(request(
            id,
            RecallMessageRequest {
                topic: topic(TOPIC),
                recall_handle: "not a handle".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&bad.status), Code::InternalServerError, "{bad:?}");

    let recalled = client
        .recall_message(request(
            id,
            RecallMessageRequest {
                topic: topic(TOPIC),
                recall_handle: handle,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&recalled.status), Code::Ok, "{recalled:?}");
    assert_eq!(recalled.message_id, "01RECALLED");

    tokio::time::sleep(Duration::from_millis((deliver_at - now_ms()).max(0) as u64)).await;
    let mut delivered = Vec::new();
    for _ in 0..100 {
        delivered = stored_messages(&server)
            .await
            .iter()
            .map(|m| m.unique_id().to_string())
            .collect();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // the recalled message fell due together with the kept one
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again: Vec<String> = stored_messages(&server)
        .await
        .iter()
        .map(|m| m.unique_id().to_string())
        .collect();
    assert_eq!(delivered, ["01KEPT"]);
    assert_eq!(again, ["01KEPT"]);
}
