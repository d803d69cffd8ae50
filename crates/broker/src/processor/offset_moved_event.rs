//! OFFSET_MOVED_EVENT: when a pull is answered PULL_OFFSET_MOVED, the broker records an
//! `OffsetMovedEvent` in the system topic `OFFSET_MOVED_EVENT` (queue 0, tag and key = the
//! consumer group), as RocketMQ's `PullMessageProcessor.generateOffsetMovedEvent` does, so
//! operators can see which groups lost messages to retention.

use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_protocol::message::{property, Properties};
use ferrocket_store::{DefaultMessageStore, MessageExtBrokerInner, PutMessageStatus};
use serde::Serialize;

use crate::topic::topic_validator::RMQ_SYS_OFFSET_MOVED_EVENT;

/// `OffsetMovedEvent`, fields in fastjson's (alphabetical) order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OffsetMovedEvent {
    /// The group whose offset moved.
    pub consumer_group: String,
    /// The queue.
    pub message_queue: EventQueue,
    /// Where the consumer is told to go.
    pub offset_new: i64,
    /// The offset the consumer asked for.
    pub offset_request: i64,
}

/// `MessageQueue` as fastjson writes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventQueue {
    /// Broker name.
    pub broker_name: String,
    /// Queue id.
    pub queue_id: i32,
    /// Topic.
    pub topic: String,
}

/// The message RocketMQ stores for `event`.
pub fn event_message(event: &OffsetMovedEvent, store_host: SocketAddr) -> MessageExtBrokerInner {
    let mut properties = Properties::new();
    properties.insert(property::TAGS, event.consumer_group.as_str());
    properties.insert(property::KEYS, event.consumer_group.as_str());
    let body = serde_json::to_vec(event).expect("the event always serializes");
    let mut msg = MessageExtBrokerInner::new(RMQ_SYS_OFFSET_MOVED_EVENT, 0, body);
    msg.born_host = store_host;
    msg.store_host = store_host;
    msg.set_properties(&properties);
    msg
}

/// Stores the event in the background; like RocketMQ, a failure is only logged.
pub fn generate_offset_moved_event(
    store: &Arc<DefaultMessageStore>,
    store_host: SocketAddr,
    event: OffsetMovedEvent,
) {
    tracing::warn!(
        topic = %event.message_queue.topic,
        group = %event.consumer_group,
        request_offset = event.offset_request,
        new_offset = event.offset_new,
        "PULL_OFFSET_MOVED: correction offset"
    );
    let msg = event_message(&event, store_host);
    let store = store.clone();
    tokio::spawn(async move {
        let r = store.put_message(msg).await;
        if r.status != PutMessageStatus::PutOk {
            tracing::warn!(status = %r.status, ?event, "cannot store the OffsetMovedEvent");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_is_rocketmq_json_tagged_with_the_group() {
        let e = OffsetMovedEvent {
            consumer_group: "g".into(),
            message_queue: EventQueue {
                broker_name: "broker-a".into(),
                queue_id: 2,
                topic: "T".into(),
            },
            offset_new: 224,
            offset_request: 10,
        };
        let m = event_message(&e, "127.0.0.1:10911".parse().unwrap());
        assert_eq!(m.topic, "OFFSET_MOVED_EVENT");
        assert_eq!(m.queue_id, 0);
        assert_eq!(
            std::str::from_utf8(&m.body).unwrap(),
            r#"{"consumerGroup":"g","messageQueue":{"brokerName":"broker-a","queueId":2,"topic":"T"},"offsetNew":224,"offsetRequest":10}"#
        );
        assert_eq!(m.property(property::TAGS), Some("g"));
        assert_eq!(m.property(property::KEYS), Some("g"));
        assert_eq!(m.tags_code, ferrocket_protocol::util::tags_code(Some("g")));
    }
}
