//! The JSON bodies admin calls read and write, with fastjson's field names.

use std::collections::{BTreeMap, BTreeSet};

use ferrocket_protocol::body::heartbeat::SubscriptionData;
use ferrocket_protocol::body::queue::MessageQueue;
use serde::{Deserialize, Serialize};

/// Decodes a body written by fastjson, whose maps keyed by `MessageQueue` have bare object keys
/// (`{{"brokerName":"b","queueId":0,"topic":"T"}:5}`); [`message_queue_map`] reads them.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    ferrocket_protocol::body::decode(body)
}

/// Maps keyed by `MessageQueue`: JSON keys hold the queue object as text (fastjson's bare
/// object keys are turned into such strings by the protocol crate's reader).
pub mod message_queue_map {
    use std::collections::BTreeMap;

    use ferrocket_protocol::body::queue::MessageQueue;
    use serde::de::Error as _;
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes each key as the queue's JSON text.
    pub fn serialize<S: Serializer, V: Serialize>(
        map: &BTreeMap<MessageQueue, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            let key = serde_json::to_string(k).map_err(serde::ser::Error::custom)?;
            m.serialize_entry(&key, v)?;
        }
        m.end()
    }

    /// Reads keys holding a queue's JSON text.
    pub fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
        d: D,
    ) -> Result<BTreeMap<MessageQueue, V>, D::Error> {
        BTreeMap::<String, V>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_str::<MessageQueue>(&k)
                    .map(|mq| (mq, v))
                    .map_err(D::Error::custom)
            })
            .collect()
    }
}

/// One queue's offsets (`TopicOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// First stored offset.
    pub min_offset: i64,
    /// Next offset to be written.
    pub max_offset: i64,
    /// Store time of the last message, ms.
    pub last_update_timestamp: i64,
}

/// `TopicStatsTable` (GET_TOPIC_STATS_INFO).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    /// Offsets per queue.
    #[serde(with = "message_queue_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    /// Messages written per second.
    pub topic_put_tps: f64,
}

/// One queue's consume progress (`OffsetWrapper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// Queue max offset.
    pub broker_offset: i64,
    /// Committed offset.
    pub consumer_offset: i64,
    /// Where the latest pull continues.
    pub pull_offset: i64,
    /// Store time of the last consumed message, ms.
    pub last_timestamp: i64,
}

/// `ConsumeStats` (GET_CONSUME_STATS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    /// Progress per queue.
    #[serde(with = "message_queue_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
    /// Messages consumed per second.
    pub consume_tps: f64,
}

/// One client connection (`Connection`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// Client id.
    pub client_id: String,
    /// `ip:port` of the client.
    pub client_addr: String,
    /// Language name.
    pub language: String,
    /// Client version ordinal (`MQVersion.Version`).
    pub version: i32,
}

/// `ConsumerConnection` (GET_CONSUMER_CONNECTION_LIST).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    /// Members.
    pub connection_set: BTreeSet<Connection>,
    /// Subscriptions by topic.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    /// `CONSUME_ACTIVELY` / `CONSUME_PASSIVELY` / `CONSUME_POP`.
    pub consume_type: serde_json::Value,
    /// `CLUSTERING` / `BROADCASTING`.
    pub message_model: serde_json::Value,
    /// Where new members start.
    pub consume_from_where: serde_json::Value,
}

/// `ProducerConnection` (GET_PRODUCER_CONNECTION_LIST).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    /// Connections.
    pub connection_set: BTreeSet<Connection>,
}

/// `GroupList` (QUERY_TOPIC_CONSUME_BY_WHO).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    /// Group names.
    pub group_list: BTreeSet<String>,
}

/// `ResetOffsetBody` (INVOKE_BROKER_TO_RESET_OFFSET's answer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    /// The offset each queue was reset to.
    #[serde(with = "message_queue_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}

/// `SubscriptionGroupConfig` as mqadmin's updateSubGroup sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    /// Group name.
    pub group_name: String,
    /// Consumption allowed.
    pub consume_enable: bool,
    /// New members start from the queue's min offset.
    pub consume_from_min_enable: bool,
    /// Broadcast consumption allowed.
    pub consume_broadcast_enable: bool,
    /// Ordered consumption.
    pub consume_message_orderly: bool,
    /// Retry queues.
    pub retry_queue_nums: i32,
    /// Redeliveries before the dead-letter queue.
    pub retry_max_times: i32,
    /// Broker id to consume from.
    pub broker_id: i64,
    /// Broker id to consume from when consumption is slow.
    pub which_broker_when_consume_slowly: i64,
    /// Tell members when the group changes.
    pub notify_consumer_ids_changed_enable: bool,
    /// Group attributes.
    pub attributes: BTreeMap<String, String>,
}

impl Default for SubscriptionGroupConfig {
    /// RocketMQ's defaults.
    fn default() -> Self {
        SubscriptionGroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            attributes: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_stats_read_fastjson_bare_keys() {
        let text = br#"{"consumeTps":1.5,"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"brokerOffset":9,"consumerOffset":4,"lastTimestamp":0,"pullOffset":5}}}"#;
        let s: ConsumeStats = decode(text).unwrap();
        let w = s.offset_table[&MessageQueue::new("T", "b", 1)];
        assert_eq!(
            (w.broker_offset, w.consumer_offset, w.pull_offset),
            (9, 4, 5)
        );
        assert_eq!(s.consume_tps, 1.5);
    }

    #[test]
    fn reset_offset_body_round_trips() {
        let mut b = ResetOffsetBody::default();
        b.offset_table.insert(MessageQueue::new("T", "b", 0), 7);
        let back: ResetOffsetBody = decode(&ferrocket_protocol::body::encode(&b)).unwrap();
        assert_eq!(back, b);
    }
}
