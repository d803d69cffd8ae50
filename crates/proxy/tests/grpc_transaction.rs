//! Transactions over gRPC against the real binary: a TRANSACTION message is stored as a half
//! message and delivered only once committed; a rollback drops it; an unresolved one is checked
//! back through the producer's Telemetry stream (RecoverOrphanedTransactionCommand) and the
//! producer's answer from SOURCE_SERVER_CHECK commits it. What was delivered is read back by a
//! remoting pull consumer.

mod common;

use std::time::Duration;

use common::*;
use ferrocket_proxy::v2::messaging_service_client::MessagingServiceClient;
use ferrocket_proxy::v2::*;
use tokio::sync::mpsc;
use tonic::transport::Channel;
use tonic::Streaming;

fn transaction_message(id: &str, body: &[u8]) -> Message {
    let mut m = message(id, body);
    if let Some(system) = m.system_properties.as_mut() {
        system.message_type = MessageType::Transaction as i32;
        system.tag = Some("TxTag".to_string());
    }
    m
}

/// Opens Telemetry as a producer of [`TOPIC`].
async fn open_producer_telemetry(
    client: &mut MessagingServiceClient<Channel>,
    client_id: &str,
) -> (mpsc::Sender<TelemetryCommand>, Streaming<TelemetryCommand>) {
    open_telemetry(client, client_id, producer_settings()).await
}

async fn send_transaction(
    client: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    id: &str,
) -> SendResultEntry {
    let sent = client
        .send_message(request(
            client_id,
            SendMessageRequest {
                messages: vec![transaction_message(id, id.as_bytes())],
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    let entry = sent.entries.into_iter().next().unwrap();
    assert!(!entry.transaction_id.is_empty(), "{entry:?}");
    entry
}

/// A producer commits.
const CLIENT_COMMIT: (TransactionResolution, TransactionSource) = (
    TransactionResolution::Commit,
    TransactionSource::SourceClient,
);
/// A producer rolls back.
const CLIENT_ROLLBACK: (TransactionResolution, TransactionSource) = (
    TransactionResolution::Rollback,
    TransactionSource::SourceClient,
);
/// A producer commits when the broker checks back.
const CHECKED_COMMIT: (TransactionResolution, TransactionSource) = (
    TransactionResolution::Commit,
    TransactionSource::SourceServerCheck,
);

async fn end(
    client: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    entry: &SendResultEntry,
    (resolution, source): (TransactionResolution, TransactionSource),
) -> EndTransactionResponse {
    client
        .end_transaction(request(
            client_id,
            EndTransactionRequest {
                topic: topic(TOPIC),
                message_id: entry.message_id.clone(),
                transaction_id: entry.transaction_id.clone(),
                resolution: resolution as i32,
                source: source as i32,
                trace_context: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

fn delivered_ids(messages: &[ferrocket_protocol::message::MessageExt]) -> Vec<String> {
    let mut ids: Vec<String> = messages.iter().map(|m| m.unique_id().to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_delivers_and_rollback_drops() {
    let server = start("");
    let mut client = plain_client(server.grpc_port).await;
    let id = "tx@1@1";
    let (_tx, _inbound) = open_producer_telemetry(&mut client, id).await;

    let committed = send_transaction(&mut client, id, "01TXCOMMIT").await;
    let rolled_back = send_transaction(&mut client, id, "01TXROLLBACK").await;
    assert!(
        stored_messages(&server).await.is_empty(),
        "a half message is not delivered"
    );

    let answer = end(&mut client, id, &committed, CLIENT_COMMIT).await;
    assert_eq!(code(&answer.status), Code::Ok, "{answer:?}");
    let answer = end(&mut client, id, &rolled_back, CLIENT_ROLLBACK).await;
    assert_eq!(code(&answer.status), Code::Ok, "{answer:?}");

    let delivered = stored_messages(&server).await;
    assert_eq!(delivered_ids(&delivered), ["01TXCOMMIT"]);
    let m = &delivered[0];
    assert_eq!(m.message.property("TAGS"), Some("TxTag"));
    assert_eq!(m.message.body.as_ref(), b"01TXCOMMIT");

    // a transaction ends once; an unknown id is refused
    let again = end(&mut client, id, &committed, CLIENT_COMMIT).await;
    assert_eq!(code(&again.status), Code::InvalidTransactionId, "{again:?}");
    let mut unknown = committed.clone();
    unknown.transaction_id = String::new();
    let empty = end(&mut client, id, &unknown, CLIENT_COMMIT).await;
    assert_eq!(code(&empty.status), Code::InvalidTransactionId, "{empty:?}");
    assert_eq!(stored_messages(&server).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphaned_transaction_is_checked_back_on_telemetry() {
    let server = start("transactionTimeOut=1000\ntransactionCheckInterval=1000\n");
    let mut client = plain_client(server.grpc_port).await;
    let id = "orphan@1@1";
    let (tx, mut inbound) = open_producer_telemetry(&mut client, id).await;
    let entry = send_transaction(&mut client, id, "01TXORPHAN").await;

    let command = tokio::time::timeout(Duration::from_secs(20), inbound.message())
        .await
        .expect("the broker checks the transaction back")
        .unwrap()
        .expect("a command");
    let Some(telemetry_command::Command::RecoverOrphanedTransactionCommand(recover)) =
        command.command
    else {
        panic!("expected a recover command, got {command:?}");
    };
    let message = recover.message.expect("the half message");
    let system = message.system_properties.clone().unwrap();
    assert_eq!(system.message_id, "01TXORPHAN");
    assert_eq!(system.message_type, MessageType::Transaction as i32);
    assert_eq!(message.topic.as_ref().unwrap().name, TOPIC);
    assert_eq!(message.body.as_ref(), b"01TXORPHAN");
    assert!(!recover.transaction_id.is_empty());
    assert!(stored_messages(&server).await.is_empty());

    let checked = SendResultEntry {
        transaction_id: recover.transaction_id.clone(),
        ..entry
    };
    let answer = end(&mut client, id, &checked, CHECKED_COMMIT).await;
    assert_eq!(code(&answer.status), Code::Ok, "{answer:?}");
    assert_eq!(
        delivered_ids(&stored_messages(&server).await),
        ["01TXORPHAN"]
    );
    drop(tx);
}
