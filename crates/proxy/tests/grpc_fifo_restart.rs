//! Orderly consumption across a graceful restart of the real binary: the batch a FIFO group has
//! in flight (kept in `config/consumerOrderInfo.json`) still holds back the next messages of its
//! queue after the restart, and the handle given before the restart acknowledges it.

mod common;

use std::time::Duration;

use common::member::{props, Member};
use common::*;
use ferrocket_proxy::v2::*;

const GROUP: &str = "fifo_restart";

/// Sends FIFO messages of one message group, so they share a queue, in the order of `ids`.
async fn send_in_order(port: u16, ids: &[&str]) {
    let mut client = plain_client(port).await;
    let sender = "fifo-restart-sender@1@1";
    let (_answer, _telemetry) = exchange_settings(&mut client, sender, producer_settings()).await;
    for id in ids {
        let mut m = message(id, id.as_bytes());
        if let Some(s) = m.system_properties.as_mut() {
            s.message_type = MessageType::Fifo as i32;
            s.message_group = Some("restart-group".into());
        }
        let request = SendMessageRequest { messages: vec![m] };
        let sent = client.send_message(common::request(sender, request)).await;
        let sent = sent.unwrap().into_inner();
        assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    }
}

/// A FIFO consumer whose receives keep a message invisible for a minute.
async fn fifo_consumer(port: u16) -> Member {
    let mut member = Member::join(port, GROUP, "fifo", ClientType::SimpleConsumer).await;
    member.invisible_ms = 60_000;
    member
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orderly_batch_in_flight_still_blocks_its_queue_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let groups = serde_json::json!({"subscriptionGroupTable": {
        GROUP: {"groupName": GROUP, "consumeMessageOrderly": true}
    }});
    let server = start_in(Some(dir.path()), "", Some(groups.clone()));
    send_in_order(server.grpc_port, &["01RESTART0", "01RESTART1"]).await;
    let mut consumer = fifo_consumer(server.grpc_port).await;
    let first = consumer
        .expect_delivery(Duration::from_secs(10), "01RESTART0", 1)
        .await;
    let handle = props(&first).receipt_handle.clone().expect("a handle");
    drop(consumer);
    server.standalone.stop();

    let server = start_in(Some(dir.path()), "", Some(groups));
    let mut consumer = fifo_consumer(server.grpc_port).await;
    let (code_while_held, held) = consumer.receive_one(false, 3_000).await;
    assert!(
        held.is_empty(),
        "delivered while the batch is in flight: {held:?}"
    );
    assert_eq!(code_while_held, Code::MessageNotFound);

    let acked = consumer.ack(&first, &handle).await;
    assert_eq!(code(&acked.status), Code::Ok, "{acked:?}");
    let within = Duration::from_secs(10);
    consumer.expect_delivery(within, "01RESTART1", 1).await;
}
