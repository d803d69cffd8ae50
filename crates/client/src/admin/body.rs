//! The JSON bodies admin calls read and write, with fastjson's field names.

pub use ferrocket_protocol::body::connection::{
    Connection, ConsumerConnection, GroupList, ProducerConnection,
};
pub use ferrocket_protocol::body::consume_stats::{ConsumeStats, OffsetWrapper};
pub use ferrocket_protocol::body::consumer_running_info::{
    CMResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo,
};
pub use ferrocket_protocol::body::message_queue_map;
pub use ferrocket_protocol::body::reset_offset::ResetOffsetBody;
pub use ferrocket_protocol::body::subscription_group_config::SubscriptionGroupConfig;
pub use ferrocket_protocol::body::topic_stats::{TopicOffset, TopicStatsTable};

/// Decodes a body written by fastjson, whose maps keyed by `MessageQueue` have bare object keys
/// (`{{"brokerName":"b","queueId":0,"topic":"T"}:5}`); [`message_queue_map`] reads them.
pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    ferrocket_protocol::body::decode(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::body::queue::MessageQueue;

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
