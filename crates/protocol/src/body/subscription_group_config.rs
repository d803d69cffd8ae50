//! `SubscriptionGroupConfig`: one consumer group's settings, in fastjson's field names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A consumer group's settings (`SubscriptionGroupConfig`), with RocketMQ's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupConfig {
    /// Group name.
    pub group_name: String,
    /// Members may pull.
    pub consume_enable: bool,
    /// Start from the queue's min offset when the group has none.
    pub consume_from_min_enable: bool,
    /// Broadcast consumption allowed.
    pub consume_broadcast_enable: bool,
    /// Ordered consumption.
    pub consume_message_orderly: bool,
    /// Queues of `%RETRY%<group>`.
    pub retry_queue_nums: i32,
    /// Deliveries before a message goes to the DLQ.
    pub retry_max_times: i32,
    /// Retry policy, kept as written.
    pub group_retry_policy: serde_json::Value,
    /// Broker id consumers should read from.
    pub broker_id: i64,
    /// Broker id to read from when consumption lags.
    pub which_broker_when_consume_slowly: i64,
    /// Tell members when membership changes.
    pub notify_consumer_ids_changed_enable: bool,
    /// Group sysFlag.
    pub group_sys_flag: i32,
    /// Consume timeout, minutes.
    pub consume_timeout_minute: i32,
    /// Static subscriptions (5.x), kept as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_data_set: Option<serde_json::Value>,
    /// Extra attributes.
    pub attributes: BTreeMap<String, String>,
    /// Fields this version does not know, preserved on rewrite.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Default for SubscriptionGroupConfig {
    fn default() -> Self {
        SubscriptionGroupConfig {
            group_name: String::new(),
            consume_enable: true,
            consume_from_min_enable: true,
            consume_broadcast_enable: true,
            consume_message_orderly: false,
            retry_queue_nums: 1,
            retry_max_times: 16,
            group_retry_policy: serde_json::json!({"type": "CUSTOMIZED"}),
            broker_id: 0,
            which_broker_when_consume_slowly: 1,
            notify_consumer_ids_changed_enable: true,
            group_sys_flag: 0,
            consume_timeout_minute: 15,
            subscription_data_set: None,
            attributes: BTreeMap::new(),
            extra: BTreeMap::new(),
        }
    }
}

impl SubscriptionGroupConfig {
    /// A group with the default settings.
    pub fn new(group_name: impl Into<String>) -> Self {
        SubscriptionGroupConfig {
            group_name: group_name.into(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mqadmin_body_and_keeps_unknown_fields() {
        let json = br#"{"groupName":"g","consumeEnable":false,"retryMaxTimes":3,"brokerId":0,"futureField":{"a":1}}"#;
        let g: SubscriptionGroupConfig = crate::json::from_slice(json).unwrap();
        assert!(!g.consume_enable);
        assert_eq!(g.retry_max_times, 3);
        assert_eq!(g.retry_queue_nums, 1);
        let back = serde_json::to_value(&g).unwrap();
        assert_eq!(back["futureField"]["a"], 1);
        assert_eq!(back["groupRetryPolicy"]["type"], "CUSTOMIZED");
        assert!(back.get("subscriptionDataSet").is_none());
    }
}
