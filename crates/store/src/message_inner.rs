//! The message the broker hands to the store (RocketMQ `MessageExtBrokerInner`).

use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use ferrocket_protocol::message::{
    find_property, properties_to_string, property, Message, Properties, RecordView,
};
use ferrocket_protocol::util::{now_millis, tags_code};

/// A message ready to be stored: properties already encoded, tags code computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExtBrokerInner {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// User flag.
    pub flag: i32,
    /// Body, stored as given.
    pub body: Bytes,
    /// Encoded properties (`name\u{1}value\u{2}`...).
    pub properties_string: String,
    /// Consume-queue tags code (Java hash of TAGS; delivery time for schedule topics).
    pub tags_code: i64,
    /// System flag.
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker address stored in the record and the offset message id.
    pub store_host: SocketAddr,
    /// Delivery attempts so far.
    pub reconsume_times: i32,
    /// Commit-log offset of the half message (transaction commit/rollback).
    pub prepared_transaction_offset: i64,
}

impl Default for MessageExtBrokerInner {
    fn default() -> Self {
        let unspecified = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0);
        MessageExtBrokerInner {
            topic: String::new(),
            queue_id: 0,
            flag: 0,
            body: Bytes::new(),
            properties_string: String::new(),
            tags_code: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

impl MessageExtBrokerInner {
    /// A message of `topic`/`queue_id` with `body`, born now, no properties.
    pub fn new(topic: impl Into<String>, queue_id: i32, body: impl Into<Bytes>) -> Self {
        MessageExtBrokerInner {
            topic: topic.into(),
            queue_id,
            body: body.into(),
            born_timestamp: now_millis(),
            ..MessageExtBrokerInner::default()
        }
    }

    /// A copy of the stored record `view` (read from `record`) for `topic`/`queue_id` with
    /// `properties`: body, flags, hosts, times, reconsume count and prepared-transaction offset
    /// as stored. The broker's own re-puts (delay levels, timers, transactions, retries, resends)
    /// start from this and change what their RocketMQ counterpart changes.
    pub fn from_stored(
        view: &RecordView<'_>,
        record: &Bytes,
        topic: impl Into<String>,
        queue_id: i32,
        properties: &Properties,
    ) -> Self {
        let mut msg = MessageExtBrokerInner {
            topic: topic.into(),
            queue_id,
            flag: view.flag,
            body: record.slice_ref(view.body),
            sys_flag: view.sys_flag,
            born_timestamp: view.born_timestamp,
            born_host: view.born_host,
            store_host: view.store_host,
            reconsume_times: view.reconsume_times,
            prepared_transaction_offset: view.prepared_transaction_offset,
            ..Default::default()
        };
        msg.set_properties(properties);
        msg
    }

    /// The store form of a producer message.
    pub fn from_message(
        msg: &Message,
        queue_id: i32,
        born_host: SocketAddr,
        store_host: SocketAddr,
    ) -> Self {
        let mut inner = MessageExtBrokerInner {
            topic: msg.topic.clone(),
            queue_id,
            flag: msg.flag,
            body: msg.body.clone(),
            born_timestamp: now_millis(),
            born_host,
            store_host,
            ..MessageExtBrokerInner::default()
        };
        inner.set_properties(&msg.properties);
        inner
    }

    /// Replaces the properties and recomputes the tags code from TAGS.
    pub fn set_properties(&mut self, properties: &Properties) {
        self.properties_string = properties_to_string(properties);
        self.tags_code = tags_code(properties.get(property::TAGS));
    }

    /// Replaces the encoded properties and recomputes the tags code from TAGS.
    pub fn set_properties_string(&mut self, properties: impl Into<String>) {
        self.properties_string = properties.into();
        self.tags_code = tags_code(self.property(property::TAGS));
    }

    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        find_property(&self.properties_string, name)
    }

    /// Whether the producer waits for the flush (WAIT is anything but "false").
    pub fn wait_store_msg_ok(&self) -> bool {
        self.property(property::WAIT) != Some("false")
    }

    /// The DELAY level, 0 when absent or malformed.
    pub fn delay_time_level(&self) -> i32 {
        self.property(property::DELAY)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_message_encodes_properties_and_tags_code() {
        let mut m = Message::new("T", Bytes::from_static(b"x"));
        m.set_tags("TagA");
        m.set_wait_store_msg_ok(false);
        m.flag = 3;
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let inner = MessageExtBrokerInner::from_message(&m, 2, host, host);
        assert_eq!(inner.tags_code, 2598919);
        assert_eq!(inner.flag, 3);
        assert_eq!(inner.queue_id, 2);
        assert!(!inner.wait_store_msg_ok());
        assert_eq!(inner.property("TAGS"), Some("TagA"));
        let mut other = MessageExtBrokerInner::new("T", 0, Bytes::new());
        assert!(other.wait_store_msg_ok());
        other.set_properties_string("DELAY\u{1}3\u{2}TAGS\u{1}TagB\u{2}");
        assert_eq!(other.delay_time_level(), 3);
        assert_eq!(other.tags_code, 2598920);
    }
}
