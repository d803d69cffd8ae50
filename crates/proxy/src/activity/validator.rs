//! `GrpcValidator`: the checks Apache's proxy makes on names and message fields before anything
//! reaches the broker, with its v2 codes.

use ferrocket_broker::topic::topic_validator;
use ferrocket_protocol::message::property;

use crate::status::{ProxyError, ProxyResult};
use crate::v2::{Code, Resource};
use crate::view::ProxyBrokerView;

/// Longest message group, bytes (`maxMessageGroupSize`).
pub const MAX_MESSAGE_GROUP_BYTES: usize = 64;
/// Most user properties on one message (`userPropertyMaxNum`).
pub const MAX_USER_PROPERTIES: usize = 128;
/// Largest total of property keys and values, tag and keys, bytes (`maxUserPropertySize`).
pub const MAX_USER_PROPERTY_BYTES: usize = 16 * 1024;
/// Longest message id, bytes: the v5 ids have 34 characters; anything far longer is not one.
pub const MAX_MESSAGE_ID_BYTES: usize = 128;

/// Property names the broker and the clients give a meaning; a user property may not use them.
pub(crate) const SYSTEM_PROPERTY_KEYS: &[&str] = &[
    property::KEYS,
    property::TAGS,
    property::WAIT,
    property::DELAY,
    property::RETRY_TOPIC,
    property::REAL_TOPIC,
    property::REAL_QID,
    property::TRAN_MSG,
    property::PGROUP,
    property::MIN_OFFSET,
    property::MAX_OFFSET,
    property::BUYER_ID,
    property::ORIGIN_MESSAGE_ID,
    property::TRANSFER_FLAG,
    property::CORRECTION_FLAG,
    property::MQ2_FLAG,
    property::RECONSUME_TIME,
    property::MSG_REGION,
    property::TRACE_ON,
    property::UNIQ_KEY,
    property::EXTEND_UNIQ_INFO,
    property::MAX_RECONSUME_TIMES,
    property::CONSUME_START_TIME,
    property::INNER_NUM,
    property::INNER_BASE,
    property::DUP_INFO,
    property::CHECK_IMMUNITY_TIME_IN_SECONDS,
    property::TRAN_PREPARED_QUEUE_OFFSET,
    property::TRANSACTION_ID,
    property::TRANSACTION_CHECK_TIMES,
    property::INSTANCE_ID,
    property::CORRELATION_ID,
    property::REPLY_TO_CLIENT,
    property::TTL,
    property::ARRIVE_TIME,
    property::PUSH_REPLY_TIME,
    property::MSG_TYPE,
    property::CLUSTER,
    property::POP_CK,
    property::POP_CK_OFFSET,
    property::FIRST_POP_TIME,
    property::SHARDING_KEY,
    property::FORWARD_QUEUE_ID,
    property::REDIRECT,
    property::INNER_MULTI_DISPATCH,
    property::INNER_MULTI_QUEUE_OFFSET,
    property::TRACE_CONTEXT,
    property::TIMER_DELAY_SEC,
    property::TIMER_DELIVER_MS,
    property::TIMER_DELAY_MS,
    property::TIMER_ENQUEUE_MS,
    property::TIMER_DEQUEUE_MS,
    property::TIMER_ROLL_TIMES,
    property::TIMER_OUT_MS,
    property::TIMER_DEL_UNIQKEY,
    property::TIMER_DELAY_LEVEL,
    property::BORN_HOST,
    property::BORN_TIMESTAMP,
    property::CRC32,
    property::DLQ_ORIGIN_TOPIC,
    property::DLQ_ORIGIN_MESSAGE_ID,
    property::START_DELIVER_TIME,
];

/// Whether `key` is a property the broker or the clients give a meaning (Apache's
/// `MessageConst.STRING_HASH_SET`): never a user property.
pub fn is_system_property(key: &str) -> bool {
    SYSTEM_PROPERTY_KEYS.contains(&key)
}

fn has_control_character(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// The topic a request names: present, a legal name, not a system topic (ILLEGAL_TOPIC).
pub fn validate_topic(topic: Option<&Resource>, broker: &ProxyBrokerView) -> ProxyResult<String> {
    let name = topic.map(|t| t.name.as_str()).unwrap_or("");
    if name.trim().is_empty() {
        return Err(ProxyError::new(
            Code::IllegalTopic,
            "topic name cannot be empty",
        ));
    }
    if let Err(remark) = topic_validator::validate_topic(name) {
        return Err(ProxyError::new(Code::IllegalTopic, remark));
    }
    if broker.topics.is_system_topic(name) || topic_validator::is_not_allowed_send_topic(name) {
        return Err(ProxyError::new(
            Code::IllegalTopic,
            format!("cannot access system topic: {name}"),
        ));
    }
    Ok(name.to_string())
}

/// A message's tag: not blank, no `|`, no control character (ILLEGAL_MESSAGE_TAG).
pub fn validate_tag(tag: &str) -> ProxyResult<()> {
    let reason = if tag.trim().is_empty() {
        "tag cannot be blank"
    } else if tag.contains('|') {
        "tag cannot contain '|'"
    } else if has_control_character(tag) {
        "tag cannot contain control characters"
    } else {
        return Ok(());
    };
    Err(ProxyError::new(Code::IllegalMessageTag, reason))
}

/// A message's keys: none blank, no control character (ILLEGAL_MESSAGE_KEY).
pub fn validate_keys(keys: &[String]) -> ProxyResult<()> {
    for key in keys {
        let reason = if key.trim().is_empty() {
            "a message key cannot be blank"
        } else if has_control_character(key) {
            "a message key cannot contain control characters"
        } else {
            continue;
        };
        return Err(ProxyError::new(Code::IllegalMessageKey, reason));
    }
    Ok(())
}

/// A FIFO message's group: not blank, shorter than 64 bytes, no control character
/// (ILLEGAL_MESSAGE_GROUP).
pub fn validate_message_group(group: &str) -> ProxyResult<()> {
    let reason = if group.trim().is_empty() {
        "message group cannot be blank".to_string()
    } else if group.len() >= MAX_MESSAGE_GROUP_BYTES {
        format!("message group must be shorter than {MAX_MESSAGE_GROUP_BYTES} bytes")
    } else if has_control_character(group) {
        "message group cannot contain control characters".to_string()
    } else {
        return Ok(());
    };
    Err(ProxyError::new(Code::IllegalMessageGroup, reason))
}

/// The client-generated message id, stored as UNIQ_KEY (ILLEGAL_MESSAGE_ID).
pub fn validate_message_id(id: &str) -> ProxyResult<()> {
    let reason = if id.trim().is_empty() {
        "message id cannot be empty"
    } else if id.len() > MAX_MESSAGE_ID_BYTES || has_control_character(id) {
        "message id is not a valid message id"
    } else {
        return Ok(());
    };
    Err(ProxyError::new(Code::IllegalMessageId, reason))
}

/// User properties: at most 128, no system property name, no control character
/// (MESSAGE_PROPERTIES_TOO_LARGE / ILLEGAL_MESSAGE_PROPERTY_KEY). `extra_bytes` is the tag and
/// keys, counted in the same 16 KiB budget.
pub fn validate_user_properties<'a>(
    properties: impl ExactSizeIterator<Item = (&'a String, &'a String)>,
    extra_bytes: usize,
) -> ProxyResult<()> {
    if properties.len() > MAX_USER_PROPERTIES {
        return Err(ProxyError::new(
            Code::MessagePropertiesTooLarge,
            format!("a message may have at most {MAX_USER_PROPERTIES} user properties"),
        ));
    }
    let mut total = extra_bytes;
    for (key, value) in properties {
        total += key.len() + value.len();
        if key.is_empty() || SYSTEM_PROPERTY_KEYS.contains(&key.as_str()) {
            return Err(ProxyError::new(
                Code::IllegalMessagePropertyKey,
                format!("property key '{key}' is reserved"),
            ));
        }
        if has_control_character(key) || has_control_character(value) {
            return Err(ProxyError::new(
                Code::IllegalMessagePropertyKey,
                format!(
                    "property '{}' contains control characters",
                    key.escape_debug()
                ),
            ));
        }
    }
    if total > MAX_USER_PROPERTY_BYTES {
        return Err(ProxyError::new(
            Code::MessagePropertiesTooLarge,
            format!(
                "user properties, tag and keys take {total} bytes, more than {MAX_USER_PROPERTY_BYTES}"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keys_groups_and_ids() {
        assert!(validate_tag("TagA").is_ok());
        assert_eq!(validate_tag(" ").unwrap_err().code, Code::IllegalMessageTag);
        assert_eq!(
            validate_tag("a|b").unwrap_err().code,
            Code::IllegalMessageTag
        );
        assert_eq!(
            validate_tag("a\u{1}").unwrap_err().code,
            Code::IllegalMessageTag
        );
        assert!(validate_keys(&["k1".into(), "k2".into()]).is_ok());
        assert_eq!(
            validate_keys(&["".into()]).unwrap_err().code,
            Code::IllegalMessageKey
        );
        assert!(validate_message_group("g").is_ok());
        assert_eq!(
            validate_message_group(&"g".repeat(64)).unwrap_err().code,
            Code::IllegalMessageGroup
        );
        assert_eq!(
            validate_message_id("").unwrap_err().code,
            Code::IllegalMessageId
        );
    }

    #[test]
    fn user_properties() {
        let ok = [("color".to_string(), "red".to_string())];
        assert!(validate_user_properties(ok.iter().map(|(k, v)| (k, v)), 0).is_ok());
        let reserved = [("UNIQ_KEY".to_string(), "x".to_string())];
        assert_eq!(
            validate_user_properties(reserved.iter().map(|(k, v)| (k, v)), 0)
                .unwrap_err()
                .code,
            Code::IllegalMessagePropertyKey
        );
        let big = [("k".to_string(), "v".repeat(MAX_USER_PROPERTY_BYTES))];
        assert_eq!(
            validate_user_properties(big.iter().map(|(k, v)| (k, v)), 0)
                .unwrap_err()
                .code,
            Code::MessagePropertiesTooLarge
        );
    }
}
