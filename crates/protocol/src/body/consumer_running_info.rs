//! What a consumer reports about itself to an admin tool, through the broker:
//! `ConsumerRunningInfo` (GET_CONSUMER_RUNNING_INFO) and `ConsumeMessageDirectlyResult`
//! (CONSUME_MESSAGE_DIRECTLY).
//!
//! The broker only relays these bodies; it builds them itself for consumers it serves over
//! gRPC, whose clients answer with a thread dump or a verification status instead.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::heartbeat::SubscriptionData;
use super::queue::MessageQueue;

/// Property naming how the consumer consumes (`CONSUME_ACTIVELY` / `CONSUME_PASSIVELY`).
pub const PROP_CONSUME_TYPE: &str = "PROP_CONSUME_TYPE";
/// Property holding the client's start time, ms.
pub const PROP_CONSUMER_START_TIMESTAMP: &str = "PROP_CONSUMER_START_TIMESTAMP";

/// `ConsumerRunningInfo`: a consumer's settings, subscriptions, queues and throughput.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerRunningInfo {
    /// Client settings and facts (`java.util.Properties`; values are text).
    pub properties: BTreeMap<String, serde_json::Value>,
    /// The consumer's subscriptions.
    pub subscription_set: BTreeSet<SubscriptionKey>,
    /// The queues the consumer holds and their local state.
    #[serde(with = "super::message_queue_map")]
    pub mq_table: BTreeMap<MessageQueue, ProcessQueueInfo>,
    /// Throughput per topic.
    pub status_table: BTreeMap<String, ConsumeStatus>,
    /// The client's thread dump, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jstack: Option<String>,
}

/// A subscription as an ordered set member (Java keeps them in a `TreeSet`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct SubscriptionKey(pub SubscriptionData);

impl PartialOrd for SubscriptionKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SubscriptionKey {
    /// By topic, then expression, as `SubscriptionData.compareTo` orders them.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.0.topic, &self.0.sub_string).cmp(&(&other.0.topic, &other.0.sub_string))
    }
}

/// `ProcessQueueInfo`: one held queue as the consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ProcessQueueInfo {
    pub commit_offset: i64,
    pub cached_msg_min_offset: i64,
    pub cached_msg_max_offset: i64,
    pub cached_msg_count: i32,
    pub cached_msg_size_in_mi_b: i32,
    pub transaction_msg_min_offset: i64,
    pub transaction_msg_max_offset: i64,
    pub transaction_msg_count: i32,
    pub locked: bool,
    pub try_unlock_times: i64,
    pub last_lock_timestamp: i64,
    /// Spelled as the Java field is.
    pub droped: bool,
    pub last_pull_timestamp: i64,
    pub last_consume_timestamp: i64,
}

/// `ConsumeStatus`: one topic's pull and consume rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ConsumeStatus {
    #[serde(rename = "pullRT")]
    pub pull_rt: f64,
    #[serde(rename = "pullTPS")]
    pub pull_tps: f64,
    #[serde(rename = "consumeRT")]
    pub consume_rt: f64,
    #[serde(rename = "consumeOKTPS")]
    pub consume_ok_tps: f64,
    #[serde(rename = "consumeFailedTPS")]
    pub consume_failed_tps: f64,
    #[serde(rename = "consumeFailedMsgs")]
    pub consume_failed_msgs: i64,
}

/// `CMResult`: how a directly consumed message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CMResult {
    #[default]
    CrSuccess,
    CrLater,
    CrRollback,
    CrCommit,
    CrThrowException,
    CrReturnNull,
}

/// `ConsumeMessageDirectlyResult`: the consumer's answer to CONSUME_MESSAGE_DIRECTLY.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumeMessageDirectlyResult {
    /// Whether the consumer consumes in order.
    pub order: bool,
    /// Orderly consumption's auto-commit setting.
    pub auto_commit: bool,
    /// The outcome; absent when the client reported none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consume_result: Option<CMResult>,
    /// Free text (a stack trace when the listener threw).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Time spent in the listener, ms (the Java field's spelling).
    pub spent_time_mills: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_java_running_info() {
        let body = br#"{"jstack":"main thread","mqTable":{{"brokerName":"b","queueId":1,"topic":"T"}:{"cachedMsgCount":2,"commitOffset":7,"droped":false,"locked":false}},"properties":{"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY","consumerGroup":"G"},"statusTable":{"T":{"consumeFailedMsgs":0,"consumeOKTPS":1.5,"consumeRT":0.0,"pullRT":2.0,"pullTPS":1.0}},"subscriptionSet":[{"classFilterMode":false,"codeSet":[],"expressionType":"TAG","subString":"*","subVersion":1,"tagsSet":[],"topic":"T"}]}"#;
        let info: ConsumerRunningInfo = crate::body::decode(body).unwrap();
        assert_eq!(info.jstack.as_deref(), Some("main thread"));
        let (mq, pq) = info.mq_table.iter().next().unwrap();
        assert_eq!(
            (mq.queue_id, pq.commit_offset, pq.cached_msg_count),
            (1, 7, 2)
        );
        assert_eq!(info.status_table["T"].consume_ok_tps, 1.5);
        assert_eq!(info.subscription_set.len(), 1);
        let again: ConsumerRunningInfo = crate::body::decode(&crate::body::encode(&info)).unwrap();
        assert_eq!(again, info);
    }

    #[test]
    fn direct_result_uses_java_names() {
        let r = ConsumeMessageDirectlyResult {
            consume_result: Some(CMResult::CrReturnNull),
            spent_time_mills: 3,
            ..Default::default()
        };
        let json = String::from_utf8(crate::body::encode(&r).to_vec()).unwrap();
        assert!(
            json.contains(r#""consumeResult":"CR_RETURN_NULL""#),
            "{json}"
        );
        assert!(json.contains(r#""spentTimeMills":3"#), "{json}");
    }
}
