//! Client-side checks before a send (`Validators`).

use crate::error::{ClientError, Result};
use crate::message::Message;

/// Longest topic name.
pub const TOPIC_MAX_LENGTH: usize = 127;

/// Topics a producer may never write (`TopicValidator.NOT_ALLOWED_SEND_TOPIC_SET`).
const NOT_ALLOWED_SEND_TOPICS: [&str; 6] = [
    "SCHEDULE_TOPIC_XXXX",
    "RMQ_SYS_TRANS_HALF_TOPIC",
    "RMQ_SYS_TRANS_OP_HALF_TOPIC",
    "TRANS_CHECK_MAX_TIME_TOPIC",
    "SELF_TEST_TOPIC",
    "OFFSET_MOVED_EVENT",
];

/// Checks a topic name: `[%|a-zA-Z0-9_-]`, at most 127 bytes, not a system topic.
pub fn check_topic(topic: &str) -> Result<()> {
    if topic.trim().is_empty() {
        return Err(ClientError::IllegalMessage("the topic is empty".into()));
    }
    if topic.len() > TOPIC_MAX_LENGTH {
        return Err(ClientError::IllegalMessage(format!(
            "the topic is longer than {TOPIC_MAX_LENGTH} characters"
        )));
    }
    if !topic
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'%' | b'|' | b'_' | b'-'))
    {
        return Err(ClientError::IllegalMessage(format!(
            "the topic {topic} contains characters outside [%|a-zA-Z0-9_-]"
        )));
    }
    if NOT_ALLOWED_SEND_TOPICS.contains(&topic) {
        return Err(ClientError::IllegalMessage(format!(
            "sending to topic {topic} is forbidden"
        )));
    }
    Ok(())
}

/// Checks a message body: present and not larger than `max_size`.
pub fn check_message(msg: &Message, max_size: usize) -> Result<()> {
    if msg.body.is_empty() {
        return Err(ClientError::IllegalMessage(
            "the message body is empty".into(),
        ));
    }
    if msg.body.len() > max_size {
        return Err(ClientError::IllegalMessage(format!(
            "the message body is {} bytes, more than the maximum of {max_size}",
            msg.body.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_rules_match_java() {
        assert!(check_topic("TopicTest").is_ok());
        assert!(check_topic("%RETRY%group_1-x").is_ok());
        assert!(check_topic("").is_err());
        assert!(check_topic("a b").is_err());
        assert!(check_topic(&"x".repeat(128)).is_err());
        assert!(check_topic("SCHEDULE_TOPIC_XXXX").is_err());
    }

    #[test]
    fn bodies_must_be_present_and_bounded() {
        assert!(check_message(&Message::new("T", "x"), 4).is_ok());
        assert!(check_message(&Message::new("T", ""), 4).is_err());
        assert!(check_message(&Message::new("T", "xxxxx"), 4).is_err());
    }
}
