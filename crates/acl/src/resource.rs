//! The topics and groups a request touches, and the permission each needs (RocketMQ's
//! `PlainAccessResource.parse`). Groups are named by their retry topic, `%RETRY%<group>`.
//!
//! RocketMQ 4.9 checks only the signature of SEND_BATCH_MESSAGE, LITE_PULL_MESSAGE and
//! QUERY_CONSUMER_OFFSET, so an account denied a topic could still batch-send to it; here they are
//! checked like SEND_MESSAGE_V2, PULL_MESSAGE and UPDATE_CONSUMER_OFFSET.

use ferrocket_protocol::body::heartbeat::HeartbeatData;
use ferrocket_protocol::code::request as rq;
use ferrocket_protocol::RemotingCommand;

use crate::permission::{PUB, SUB};
use crate::AclError;

/// `MixAll.RETRY_GROUP_TOPIC_PREFIX`.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// `TopicValidator.RMQ_SYS_TRACE_TOPIC`: trace data may always be published.
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// Needed permissions, in the order found (a resource named twice keeps its first need, as
/// the Java map does when the same key is put again with the same value).
pub type NeededResources = Vec<(String, u8)>;

fn retry(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

fn add(needed: &mut NeededResources, resource: Option<&str>, perm: u8) {
    if let Some(r) = resource {
        match needed.iter_mut().find(|(n, _)| n == r) {
            Some(slot) => slot.1 = perm,
            None => needed.push((r.to_string(), perm)),
        }
    }
}

/// The resources `request` needs; an undecodable HEART_BEAT body is an error.
pub fn needed_resources(request: &RemotingCommand) -> Result<NeededResources, AclError> {
    let ext = &request.ext_fields;
    let field = |name: &str| ext.get(name);
    let group_of = |name: &str| field(name).map(retry);
    let mut needed = NeededResources::new();
    match request.code {
        rq::SEND_MESSAGE | rq::SEND_MESSAGE_V2 | rq::SEND_BATCH_MESSAGE => {
            let (topic, group) = if request.code == rq::SEND_MESSAGE {
                (field("topic"), "group")
            } else {
                (field("b"), "a")
            };
            if topic.is_some_and(|t| t.starts_with(RETRY_GROUP_TOPIC_PREFIX)) {
                add(&mut needed, group_of(group).as_deref(), SUB);
            } else {
                add(&mut needed, topic, PUB);
            }
        }
        rq::CONSUMER_SEND_MSG_BACK => {
            add(&mut needed, group_of("group").as_deref(), SUB);
            add(&mut needed, field("originTopic"), PUB);
        }
        rq::PULL_MESSAGE
        | rq::LITE_PULL_MESSAGE
        | rq::POP_MESSAGE
        | rq::PEEK_MESSAGE
        | rq::NOTIFICATION
        | rq::POLLING_INFO => {
            add(&mut needed, field("topic"), SUB);
            add(&mut needed, group_of("consumerGroup").as_deref(), SUB);
        }
        rq::ACK_MESSAGE | rq::CHANGE_MESSAGE_INVISIBLETIME => {
            // a retried message is acked on the group's pop retry topic: the group covers it
            let topic = field("topic").filter(|t| !t.starts_with(RETRY_GROUP_TOPIC_PREFIX));
            add(&mut needed, topic, SUB);
            add(&mut needed, group_of("consumerGroup").as_deref(), SUB);
        }
        rq::QUERY_MESSAGE => add(&mut needed, field("topic"), SUB),
        // withdrawing a message is publishing to its topic
        rq::RECALL_MESSAGE => add(&mut needed, field("topic"), PUB),
        rq::HEART_BEAT => {
            let data: HeartbeatData = ferrocket_protocol::json::from_slice(&request.body)
                .map_err(|e| AclError::Request(format!("undecodable heartbeat body: {e}")))?;
            for consumer in &data.consumer_data_set {
                add(&mut needed, Some(&retry(&consumer.group_name)), SUB);
                for sub in &consumer.subscription_data_set {
                    add(&mut needed, Some(&sub.topic), SUB);
                }
            }
        }
        rq::UNREGISTER_CLIENT | rq::GET_CONSUMER_LIST_BY_GROUP => {
            add(&mut needed, group_of("consumerGroup").as_deref(), SUB);
        }
        rq::UPDATE_CONSUMER_OFFSET | rq::QUERY_CONSUMER_OFFSET => {
            add(&mut needed, group_of("consumerGroup").as_deref(), SUB);
            add(&mut needed, field("topic"), SUB);
        }
        _ => {}
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(code: i32, fields: &[(&'static str, &str)]) -> RemotingCommand {
        let mut r = RemotingCommand::request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        r
    }

    #[test]
    fn per_code_resources() {
        let n = |r| needed_resources(&r).unwrap();
        assert_eq!(
            n(req(10, &[("topic", "T"), ("group", "G")])),
            [("T".into(), PUB)]
        );
        assert_eq!(
            n(req(310, &[("b", "%RETRY%G"), ("a", "G")])),
            [("%RETRY%G".into(), SUB)]
        );
        assert_eq!(
            n(req(11, &[("topic", "T"), ("consumerGroup", "G")])),
            [("T".into(), SUB), ("%RETRY%G".into(), SUB)]
        );
        assert_eq!(
            n(req(36, &[("group", "G"), ("originTopic", "T")])),
            [("%RETRY%G".into(), SUB), ("T".into(), PUB)]
        );
        assert_eq!(
            n(req(15, &[("consumerGroup", "G"), ("topic", "T")])),
            [("%RETRY%G".into(), SUB), ("T".into(), SUB)]
        );
        assert!(n(req(17, &[("topic", "T")])).is_empty());
        // checked although RocketMQ 4.9 checks only their signature
        assert_eq!(n(req(320, &[("b", "T"), ("a", "P")])), [("T".into(), PUB)]);
        assert_eq!(
            n(req(370, &[("topic", "T"), ("recallHandle", "h")])),
            [("T".into(), PUB)]
        );
        assert_eq!(
            n(req(361, &[("topic", "T"), ("consumerGroup", "G")])),
            [("T".into(), SUB), ("%RETRY%G".into(), SUB)]
        );
        assert_eq!(
            n(req(14, &[("consumerGroup", "G"), ("topic", "T")])),
            [("%RETRY%G".into(), SUB), ("T".into(), SUB)]
        );
    }

    #[test]
    fn heartbeat_names_groups_and_subscribed_topics() {
        let body = br#"{"clientID":"c","consumerDataSet":[{"groupName":"G","subscriptionDataSet":[{"topic":"T","subString":"*"},{"topic":"%RETRY%G","subString":"*"}]}],"producerDataSet":[]}"#;
        let r = RemotingCommand::request(34).with_body(&body[..]);
        assert_eq!(
            needed_resources(&r).unwrap(),
            [("%RETRY%G".into(), SUB), ("T".into(), SUB)]
        );
        let bad = RemotingCommand::request(34).with_body(&b"{"[..]);
        assert!(needed_resources(&bad).is_err());
    }
}
