//! `TopicValidator`: topic and group name rules and the reserved system topics.

use crate::mix_all::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};

/// Template topic producers name for auto-creation.
pub const AUTO_CREATE_TOPIC_KEY_TOPIC: &str = "TBW102";
/// Delayed messages wait here.
pub const RMQ_SYS_SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";
/// Benchmark topic.
pub const RMQ_SYS_BENCHMARK_TOPIC: &str = "BenchmarkTest";
/// Half transactional messages.
pub const RMQ_SYS_TRANS_HALF_TOPIC: &str = "RMQ_SYS_TRANS_HALF_TOPIC";
/// Message trace topic.
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";
/// Transaction op records.
pub const RMQ_SYS_TRANS_OP_HALF_TOPIC: &str = "RMQ_SYS_TRANS_OP_HALF_TOPIC";
/// Transactions that exceeded their check count.
pub const RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC: &str = "TRANS_CHECK_MAX_TIME_TOPIC";
/// Self test topic.
pub const RMQ_SYS_SELF_TEST_TOPIC: &str = "SELF_TEST_TOPIC";
/// Offset moved events.
pub const RMQ_SYS_OFFSET_MOVED_EVENT: &str = "OFFSET_MOVED_EVENT";
/// RocksDB offset checkpoint topic.
pub const RMQ_SYS_ROCKSDB_OFFSET_TOPIC: &str = "CHECKPOINT_TOPIC";
/// Prefix of every system topic.
pub const SYSTEM_TOPIC_PREFIX: &str = "rmq_sys_";

/// Longest ordinary topic name.
pub const TOPIC_MAX_LENGTH: usize = 127;
/// Longest group name.
pub const GROUP_MAX_LENGTH: usize = 120;
/// Longest retry or DLQ topic name.
pub const RETRY_OR_DLQ_TOPIC_MAX_LENGTH: usize = 255;

/// The fixed system topics (the cluster and broker topics are added per broker).
pub const SYSTEM_TOPICS: &[&str] = &[
    AUTO_CREATE_TOPIC_KEY_TOPIC,
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_BENCHMARK_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRACE_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
    RMQ_SYS_ROCKSDB_OFFSET_TOPIC,
];

/// Topics clients may not send to.
pub const NOT_ALLOWED_SEND_TOPICS: &[&str] = &[
    RMQ_SYS_SCHEDULE_TOPIC,
    RMQ_SYS_TRANS_HALF_TOPIC,
    RMQ_SYS_TRANS_OP_HALF_TOPIC,
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC,
    RMQ_SYS_SELF_TEST_TOPIC,
    RMQ_SYS_OFFSET_MOVED_EVENT,
];

/// True when `s` has a character outside `[%|a-zA-Z0-9_-]`.
pub fn is_topic_or_group_illegal(s: &str) -> bool {
    !s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'%' | b'|' | b'_' | b'-'))
}

/// Checks a topic name; the error is the remark RocketMQ gives.
pub fn validate_topic(topic: &str) -> Result<(), String> {
    if topic.trim().is_empty() {
        return Err("The specified topic is blank.".into());
    }
    if is_topic_or_group_illegal(topic) {
        return Err(format!(
            "The specified topic: {topic}, contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    let len = topic.encode_utf16().count();
    if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) || topic.starts_with(DLQ_GROUP_TOPIC_PREFIX) {
        if len > RETRY_OR_DLQ_TOPIC_MAX_LENGTH {
            return Err(format!(
                "The specified topic is DLQ or Retry topic: {topic}, and it's longer than topic max length: {RETRY_OR_DLQ_TOPIC_MAX_LENGTH}"
            ));
        }
    } else if len > TOPIC_MAX_LENGTH {
        return Err(format!(
            "The specified topic: {topic}, is longer than topic max length: {TOPIC_MAX_LENGTH}"
        ));
    }
    Ok(())
}

/// Checks a group name; the error is the remark RocketMQ gives.
pub fn validate_group(group: &str) -> Result<(), String> {
    if group.trim().is_empty() {
        return Err("The specified group is blank.".into());
    }
    if is_topic_or_group_illegal(group) {
        return Err(format!(
            "The specified group: {group}, contains illegal characters, allowing only ^[%|a-zA-Z0-9_-]+$"
        ));
    }
    if group.len() > GROUP_MAX_LENGTH {
        return Err(format!(
            "The specified group: {group}, is longer than group max length: {GROUP_MAX_LENGTH}"
        ));
    }
    Ok(())
}

/// True for topics clients may not send to.
pub fn is_not_allowed_send_topic(topic: &str) -> bool {
    NOT_ALLOWED_SEND_TOPICS.contains(&topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules() {
        assert!(validate_topic("TopicTest").is_ok());
        assert!(validate_topic("%RETRY%g_1|x-y").is_ok());
        assert!(validate_topic("bad topic").is_err());
        assert!(validate_topic("").is_err());
        assert!(validate_topic("Topic\u{e9}").is_err());
        assert!(validate_topic(&"a".repeat(127)).is_ok());
        let long = "a".repeat(128);
        assert!(validate_topic(&long).unwrap_err().contains("127"));
        assert!(validate_topic(&format!("%RETRY%{}", "a".repeat(200))).is_ok());
    }

    #[test]
    fn reserved_topics() {
        assert!(is_not_allowed_send_topic("SCHEDULE_TOPIC_XXXX"));
        assert!(!is_not_allowed_send_topic("TBW102"));
    }

    #[test]
    fn group_rules() {
        assert!(validate_group("please_rename_unique_group_name_4").is_ok());
        assert!(validate_group("g g").is_err());
        assert!(validate_group(&"g".repeat(121)).is_err());
    }
}
