//! `TopicStatsTable` (GET_TOPIC_STATS_INFO): a topic's offsets per queue.

use std::collections::BTreeMap;

use super::queue::MessageQueue;
use serde::{Deserialize, Serialize};

/// One queue's offsets (`TopicOffset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicOffset {
    /// First stored offset.
    pub min_offset: i64,
    /// Next offset to be written.
    pub max_offset: i64,
    /// Store time of the last message, ms (0 when empty).
    pub last_update_timestamp: i64,
}

/// `TopicStatsTable`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicStatsTable {
    /// Offsets per queue.
    #[serde(with = "super::message_queue_map")]
    pub offset_table: BTreeMap<MessageQueue, TopicOffset>,
    /// Messages written per second.
    pub topic_put_tps: f64,
}
