//! QUERY_CONSUMER_OFFSET for a group with no committed offset: offset 0 while the queue's first
//! message is in memory (`accessMessageInMemoryMaxRatio`), QUERY_NOT_FOUND otherwise, so that the
//! client applies its consumeFromWhere.

mod common;

use common::*;
use ferrocket_broker::BrokerController;
use ferrocket_protocol::code::{request, response};
use ferrocket_remoting::RemotingClient;
use ferrocket_store::MessageStoreConfig;

async fn query(client: &RemotingClient, addr: &str, queue_id: i32) -> (i32, Option<String>) {
    let r = call(
        client,
        addr,
        offset_request(
            request::QUERY_CONSUMER_OFFSET,
            "new_group",
            "CfwTopic",
            queue_id,
        ),
    )
    .await;
    (r.code, r.ext("offset").map(str::to_string))
}

async fn broker_with(store: MessageStoreConfig) -> std::sync::Arc<BrokerController> {
    BrokerController::start(broker_config(), store)
        .await
        .expect("broker starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_group_starts_at_zero_only_while_the_first_message_is_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let client = RemotingClient::new();

    let broker = broker_with(store_config(dir.path())).await;
    let addr = broker.local_addr().to_string();
    for _ in 0..3 {
        send_ok(&client, &addr, "CfwTopic", 0, None, b"message").await;
    }
    assert_eq!(
        query(&client, &addr, 0).await,
        (response::SUCCESS, Some("0".into()))
    );
    assert_eq!(
        query(&client, &addr, 1).await.0,
        response::QUERY_NOT_FOUND,
        "empty queue"
    );
    broker.shutdown().await;
    client.close_all().await;

    // Same store, ratio 0: nothing behind the CommitLog's end counts as in memory.
    let broker = broker_with(MessageStoreConfig {
        access_message_in_memory_max_ratio: 0,
        ..store_config(dir.path())
    })
    .await;
    let addr = broker.local_addr().to_string();
    assert_eq!(query(&client, &addr, 0).await.0, response::QUERY_NOT_FOUND);
    broker.shutdown().await;
}
