//! Recall of timer messages (RocketMQ 5.3.2+): a timer message's send answers a recall handle;
//! RECALL_MESSAGE (remoting) or RecallMessage (gRPC) with that handle withdraws the message
//! before it is due.
//!
//! The handle is URL-safe base64 (padded) of `v1 TOPIC BROKER_NAME TIMESTAMP UNIQ_KEY`, space
//! separated, where TIMESTAMP is the message's `TIMER_OUT_MS` + 1. A recall stores a marker in
//! the timer queue: a message of the same topic with `TIMER_DEL_UNIQKEY` = the UNIQ_KEY and
//! `TIMER_DELIVER_MS` = TIMESTAMP; the timer store then drops the message when it falls due.

use base64::engine::general_purpose::URL_SAFE;
use base64::Engine;
use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::response;
use ferrocket_protocol::message::{property, Properties};
use ferrocket_protocol::mix_all::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_protocol::util::now_millis;
use ferrocket_store::MessageExtBrokerInner;

use super::send_service::{SendError, SendService};
use crate::timer::TIMER_TOPIC;

/// The handle's version tag.
const VERSION_1: &str = "v1";
/// Separates the handle's fields.
const SEPARATOR: char = ' ';
/// Tag of the marker message a recall stores.
pub const RECALL_MESSAGE_TAG: &str = "_RECALL_TAG_";

/// A decoded recall handle (version 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecallHandle {
    /// The topic the message was sent to.
    pub topic: String,
    /// The broker that stored it.
    pub broker_name: String,
    /// Its timer slot (`TIMER_OUT_MS` + 1), as the decimal text it was encoded with.
    pub timestamp: String,
    /// Its UNIQ_KEY.
    pub message_id: String,
}

impl RecallHandle {
    /// The handle's text.
    pub fn encode(&self) -> String {
        let raw = [
            VERSION_1,
            &self.topic,
            &self.broker_name,
            &self.timestamp,
            &self.message_id,
        ]
        .join(&SEPARATOR.to_string());
        URL_SAFE.encode(raw)
    }

    /// Reads a handle; `None` when it is not a version 1 handle.
    pub fn decode(handle: &str) -> Option<RecallHandle> {
        let raw = URL_SAFE.decode(handle.trim()).ok()?;
        let raw = String::from_utf8(raw).ok()?;
        let items: Vec<&str> = raw.split(SEPARATOR).collect();
        match items.as_slice() {
            [VERSION_1, topic, broker_name, timestamp, message_id, ..] => Some(RecallHandle {
                topic: topic.to_string(),
                broker_name: broker_name.to_string(),
                timestamp: timestamp.to_string(),
                message_id: message_id.to_string(),
            }),
            _ => None,
        }
    }

    /// The handle of a message the timer store accepted (`msg` after its timer transform),
    /// unless it is no timer message or a retry.
    pub fn of_timer_message(msg: &MessageExtBrokerInner, broker_name: &str) -> Option<String> {
        if msg.topic != TIMER_TOPIC {
            return None;
        }
        let real_topic = msg.property(property::REAL_TOPIC)?;
        if real_topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
            return None;
        }
        let slot: i64 = msg.property(property::TIMER_OUT_MS)?.trim().parse().ok()?;
        let handle = RecallHandle {
            topic: real_topic.to_string(),
            broker_name: broker_name.to_string(),
            timestamp: (slot + 1).to_string(),
            message_id: msg.property(property::UNIQ_KEY)?.to_string(),
        };
        Some(handle.encode())
    }
}

fn refuse<T>(code: i32, remark: &str) -> Result<T, SendError> {
    Err(SendError {
        code,
        remark: remark.to_string(),
    })
}

impl SendService {
    /// Recalls the timer message `handle` names in `topic`; returns its UNIQ_KEY. Refusals carry
    /// the response codes RocketMQ's RecallMessageProcessor answers.
    pub async fn recall_message(
        &self,
        producer_group: &str,
        topic: &str,
        handle: &str,
        born_host: std::net::SocketAddr,
    ) -> Result<String, SendError> {
        const UNAVAILABLE: &str = "recall failed, broker service not available";
        let config = self.config.get();
        if self.slave {
            return refuse(response::SLAVE_NOT_AVAILABLE, UNAVAILABLE);
        }
        if !perm::is_writeable(config.broker_permission) {
            return refuse(response::SERVICE_NOT_AVAILABLE, UNAVAILABLE);
        }
        if self.topics.select_topic_config(topic).is_none() {
            return refuse(
                response::TOPIC_NOT_EXIST,
                &format!("recall failed, the topic[{topic}] not exist"),
            );
        }
        let Some(handle) = RecallHandle::decode(handle) else {
            return refuse(response::ILLEGAL_OPERATION, "recall handle is invalid");
        };
        if handle.topic != topic {
            return refuse(
                response::ILLEGAL_OPERATION,
                "recall failed, topic not match",
            );
        }
        if handle.broker_name != config.broker_name {
            return refuse(response::ILLEGAL_OPERATION, UNAVAILABLE);
        }
        let time_left = handle.timestamp.trim().parse::<i64>().unwrap_or(-1) - now_millis();
        if time_left <= 0 || time_left >= self.timer.max_delay_ms() {
            return refuse(
                response::ILLEGAL_OPERATION,
                "recall failed, timestamp invalid",
            );
        }
        let marker = self.recall_marker(producer_group, &handle, born_host);
        match self.put_message(marker).await {
            Ok(_) => Ok(handle.message_id),
            Err(_) => refuse(response::SYSTEM_ERROR, "recall failed, execute error"),
        }
    }

    /// The marker a recall stores: it waits in the timer queue at the message's slot.
    fn recall_marker(
        &self,
        producer_group: &str,
        handle: &RecallHandle,
        born_host: std::net::SocketAddr,
    ) -> MessageExtBrokerInner {
        let now = now_millis();
        let mut properties = Properties::new();
        properties.insert(property::TAGS, RECALL_MESSAGE_TAG);
        properties.insert(property::TIMER_DEL_UNIQKEY, handle.message_id.as_str());
        properties.insert(property::UNIQ_KEY, handle.message_id.as_str());
        properties.insert(property::TIMER_DELIVER_MS, handle.timestamp.as_str());
        properties.insert(property::BORN_TIMESTAMP, now.to_string());
        properties.insert(property::TRACE_CONTEXT, "");
        properties.insert(property::PGROUP, producer_group);
        let mut msg = MessageExtBrokerInner::new(handle.topic.as_str(), 0, &b"0"[..]);
        msg.born_timestamp = now;
        msg.born_host = born_host;
        msg.store_host = self.store_host;
        msg.set_properties(&properties);
        msg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_as_url_safe_base64() {
        let handle = RecallHandle {
            topic: "Orders".into(),
            broker_name: "broker-a".into(),
            timestamp: "1700000001001".into(),
            message_id: "7F0000010001ABCD".into(),
        };
        let text = handle.encode();
        assert_eq!(
            URL_SAFE.decode(&text).unwrap(),
            b"v1 Orders broker-a 1700000001001 7F0000010001ABCD"
        );
        assert_eq!(RecallHandle::decode(&text), Some(handle));
        assert_eq!(RecallHandle::decode("v1 a b c d"), None);
        assert_eq!(RecallHandle::decode(&URL_SAFE.encode("v2 a b c d")), None);
        assert_eq!(RecallHandle::decode(&URL_SAFE.encode("v1 a b c")), None);
    }
}
