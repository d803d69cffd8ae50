//! Names RocketMQ fixes (`MixAll`); the group topic names are shared with clients and tools
//! through the protocol crate.

pub use ferrocket_protocol::mix_all::{
    dlq_topic, is_dlq_topic, is_retry_topic, retry_topic, DLQ_GROUP_TOPIC_PREFIX,
    RETRY_GROUP_TOPIC_PREFIX,
};
/// Suffix of the cluster's request-reply topic.
pub const REPLY_TOPIC_POSTFIX: &str = "REPLY_TOPIC";
/// Producer group every client uses internally.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// System group whose offsets track the transaction half and op queues.
pub const CID_SYS_RMQ_TRANS: &str = "CID_RMQ_SYS_TRANS";
