//! Consumers: the push consumer (rebalance + long polling + listener) and the lite pull consumer
//! (assign, seek, pull by offset), with their shared pieces.

pub mod allocate;
pub mod listener;
pub mod offset_store;
pub mod pull;
pub mod push;
pub mod rebalance;

use ferrocket_protocol::body::heartbeat::SubscriptionData;
use ferrocket_protocol::mix_all::is_retry_topic;

use crate::message::{property, MessageExt};

/// Default redeliveries before a message goes to the dead-letter queue.
pub const MAX_RECONSUME_TIMES: i32 = 16;

pub use ferrocket_protocol::mix_all::retry_topic;

/// A SQL92 subscription (`FilterAPI.build` with type `SQL92`): no tags, versioned by time.
pub fn sql92_subscription(topic: &str, expression: &str) -> SubscriptionData {
    SubscriptionData {
        topic: topic.to_string(),
        sub_string: expression.trim().to_string(),
        expression_type: "SQL92".into(),
        sub_version: ferrocket_protocol::util::now_millis(),
        ..Default::default()
    }
}

/// Client-side processing of pulled messages (`PullAPIWrapper.processPullResult` and
/// `resetRetryAndNamespace`): drops messages whose TAGS is not in the subscription (tag-hash
/// collisions pass the broker's filter), records queue bounds, and gives retried messages back
/// their original topic.
pub fn filter_and_decorate(
    msgs: Vec<MessageExt>,
    sub: &SubscriptionData,
    min_offset: i64,
    max_offset: i64,
) -> Vec<MessageExt> {
    let min = min_offset.to_string();
    let max = max_offset.to_string();
    let mut out = Vec::with_capacity(msgs.len());
    for mut m in msgs {
        // only tag subscriptions are re-checked here; the broker evaluated SQL92 ones
        if !sub.tags_set.is_empty() && !sub.class_filter_mode {
            match m.tags() {
                Some(t) if sub.tags_set.contains(t) => {}
                _ => continue,
            }
        }
        m.message
            .properties
            .insert(property::MIN_OFFSET.to_string(), min.clone());
        m.message
            .properties
            .insert(property::MAX_OFFSET.to_string(), max.clone());
        if is_retry_topic(&m.message.topic) {
            if let Some(original) = m.message.property(property::RETRY_TOPIC) {
                m.message.topic = original.to_string();
            }
        }
        out.push(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{decode_messages_bytes, DecodeOptions, Message};
    use bytes::{Bytes, BytesMut};
    use ferrocket_protocol::message::encode_message_ext;

    fn record(topic: &str, offset: i64, body: &str, props: &[(&str, &str)]) -> Vec<u8> {
        let mut message = Message::new(topic, body.to_string());
        for (k, v) in props {
            message.set_property(*k, *v);
        }
        let m = MessageExt {
            message,
            queue_offset: offset,
            commit_log_offset: offset * 100,
            born_host: "127.0.0.1:5000".parse().unwrap(),
            store_host: "127.0.0.1:10911".parse().unwrap(),
            ..Default::default()
        };
        encode_message_ext(&m).unwrap()
    }

    #[test]
    fn tag_filter_keeps_only_subscribed_tags_and_restores_retry_topics() {
        let mut body = BytesMut::new();
        body.extend_from_slice(&record("T", 0, "a", &[("TAGS", "TagA")]));
        body.extend_from_slice(&record("T", 1, "b", &[("TAGS", "TagB")]));
        body.extend_from_slice(&record("T", 2, "c", &[]));
        body.extend_from_slice(&record(
            "%RETRY%g",
            3,
            "d",
            &[("TAGS", "TagA"), ("RETRY_TOPIC", "T")],
        ));
        let body: Bytes = body.freeze();
        let msgs = decode_messages_bytes(&body, &DecodeOptions::decompressing()).unwrap();
        let sub = SubscriptionData::tag("T", "TagA || TagC");
        let kept = filter_and_decorate(msgs.clone(), &sub, 0, 4);
        let bodies: Vec<&[u8]> = kept.iter().map(|m| m.body.as_ref()).collect();
        assert_eq!(bodies, [b"a", b"d"]);
        assert_eq!(kept[1].topic, "T");
        assert_eq!(kept[0].property("MAX_OFFSET"), Some("4"));
        assert_eq!(kept[0].property("MIN_OFFSET"), Some("0"));
        let all = filter_and_decorate(msgs.clone(), &SubscriptionData::tag("T", "*"), 0, 4);
        assert_eq!(all.len(), 4);
        // the broker already evaluated a SQL92 subscription: nothing is dropped here
        let sql = sql92_subscription("T", "TAGS = 'TagB'");
        assert_eq!(sql.expression_type, "SQL92");
        assert!(sql.tags_set.is_empty() && sql.code_set.is_empty());
        assert_eq!(filter_and_decorate(msgs, &sql, 0, 4).len(), 4);
    }
}
