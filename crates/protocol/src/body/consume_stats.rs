//! `ConsumeStats` (GET_CONSUME_STATS): a group's progress per queue.

use std::collections::BTreeMap;

use super::queue::MessageQueue;
use serde::{Deserialize, Serialize};

/// One queue's progress (`OffsetWrapper`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OffsetWrapper {
    /// Queue max offset.
    pub broker_offset: i64,
    /// Committed offset (0 when none).
    pub consumer_offset: i64,
    /// Where the latest pull continues.
    pub pull_offset: i64,
    /// Store time of the last consumed message, ms (0 when unknown).
    pub last_timestamp: i64,
}

/// `ConsumeStats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeStats {
    /// Progress per queue.
    #[serde(with = "super::message_queue_map")]
    pub offset_table: BTreeMap<MessageQueue, OffsetWrapper>,
    /// Messages consumed per second.
    pub consume_tps: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_keys_are_stringified_json() {
        let mut s = ConsumeStats::default();
        s.offset_table.insert(
            MessageQueue::new("T", "broker-a", 0),
            OffsetWrapper {
                broker_offset: 10,
                consumer_offset: 8,
                pull_offset: 9,
                last_timestamp: 1,
            },
        );
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains(r#""{\"topic\":\"T\",\"brokerName\":\"broker-a\",\"queueId\":0}":"#),
            "{text}"
        );
        let back: ConsumeStats = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
    }
}
