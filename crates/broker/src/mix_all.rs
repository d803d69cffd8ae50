//! Names RocketMQ fixes (`MixAll`).

/// Prefix of a consumer group's retry topic.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a consumer group's dead-letter topic.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";
/// Suffix of the cluster's request-reply topic.
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";
/// Producer group every client uses internally.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// `%RETRY%<group>`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// True for `%RETRY%…` topics.
pub fn is_retry_topic(topic: &str) -> bool {
    topic.starts_with(RETRY_GROUP_TOPIC_PREFIX)
}

/// `%DLQ%<group>`.
pub fn dlq_topic(group: &str) -> String {
    format!("{DLQ_GROUP_TOPIC_PREFIX}{group}")
}

/// System group whose offsets track the transaction half and op queues.
pub const CID_SYS_RMQ_TRANS: &str = "CID_RMQ_SYS_TRANS";

/// `brokerId` of a master; slaves have ids above it.
pub const MASTER_ID: i64 = 0;
