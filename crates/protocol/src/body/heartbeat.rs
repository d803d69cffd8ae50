//! HEART_BEAT body and the consumer/producer descriptions it carries.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// `ConsumeType` (declaration order is Java's ordinal order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeType {
    /// Pull consumer.
    ConsumeActively,
    /// Push consumer.
    #[default]
    ConsumePassively,
    /// POP consumer.
    ConsumePop,
}

/// `MessageModel` (declaration order is Java's ordinal order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageModel {
    /// Every instance gets every message.
    Broadcasting,
    /// Instances of a group share the queues.
    #[default]
    Clustering,
}

/// `ConsumeFromWhere`, including the deprecated values old clients still send.
///
/// Declared in Java's order: clients that send enums as numbers (the C++ client) send these
/// ordinals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConsumeFromWhere {
    #[default]
    ConsumeFromLastOffset,
    ConsumeFromLastOffsetAndFromMinWhenBootFirst,
    ConsumeFromMinOffset,
    ConsumeFromMaxOffset,
    ConsumeFromFirstOffset,
    ConsumeFromTimestamp,
}

/// One topic subscription (`SubscriptionData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionData {
    pub class_filter_mode: bool,
    pub topic: String,
    pub sub_string: String,
    pub tags_set: BTreeSet<String>,
    #[serde(deserialize_with = "lenient_code_set")]
    pub code_set: BTreeSet<i32>,
    pub sub_version: i64,
    pub expression_type: String,
}

/// Reads `codeSet` as numbers or numeric strings (the Go client sends strings).
fn lenient_code_set<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeSet<i32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Code {
        Number(i64),
        Text(String),
    }
    let codes = Option::<Vec<Code>>::deserialize(d)?.unwrap_or_default();
    codes
        .into_iter()
        .map(|c| match c {
            Code::Number(n) => Ok(n as i32),
            Code::Text(t) => t.trim().parse::<i32>().map_err(serde::de::Error::custom),
        })
        .collect()
}

impl SubscriptionData {
    /// Builds a TAG subscription the way `FilterAPI.buildSubscriptionData` does.
    pub fn tag(topic: impl Into<String>, expression: &str) -> Self {
        let mut s = SubscriptionData {
            topic: topic.into(),
            sub_version: crate::util::now_millis(),
            expression_type: "TAG".into(),
            ..Default::default()
        };
        let expr = expression.trim();
        if expr.is_empty() || expr == "*" {
            s.sub_string = "*".into();
        } else {
            s.sub_string = expr.to_string();
            for tag in expr.split("||").map(str::trim).filter(|t| !t.is_empty()) {
                s.code_set.insert(crate::util::java_hash(tag));
                s.tags_set.insert(tag.to_string());
            }
        }
        s
    }

    /// True when every tag matches.
    pub fn is_all(&self) -> bool {
        self.sub_string.is_empty() || self.sub_string == "*"
    }
}

/// A consumer group as one client describes it (`ConsumerData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerData {
    pub group_name: String,
    pub consume_type: ConsumeType,
    pub message_model: MessageModel,
    pub consume_from_where: ConsumeFromWhere,
    pub subscription_data_set: Vec<SubscriptionData>,
    pub unit_mode: bool,
}

/// A producer group (`ProducerData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerData {
    pub group_name: String,
}

/// HEART_BEAT body (`HeartbeatData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct HeartbeatData {
    #[serde(rename = "clientID")]
    pub client_id: String,
    pub producer_data_set: Vec<ProducerData>,
    pub consumer_data_set: Vec<ConsumerData>,
    pub heartbeat_fingerprint: i32,
    pub without_sub: bool,
}

/// GET_CONSUMER_LIST_BY_GROUP response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerIdList {
    pub consumer_id_list: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_java_consumer_heartbeat() {
        let json = br#"{"clientID":"192.168.0.2@12345#1234567890","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"g4","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919,2598920],"expressionType":"TAG","subString":"TagA || TagB","subVersion":1700000000000,"tagsSet":["TagA","TagB"],"topic":"TopicTest"}],"unitMode":false}],"heartbeatFingerprint":0,"producerDataSet":[{"groupName":"CLIENT_INNER_PRODUCER"}],"withoutSub":false}"#;
        let h: HeartbeatData = crate::body::decode(json).unwrap();
        assert_eq!(h.client_id, "192.168.0.2@12345#1234567890");
        let c = &h.consumer_data_set[0];
        assert_eq!(
            c.consume_from_where,
            ConsumeFromWhere::ConsumeFromFirstOffset
        );
        assert_eq!(c.subscription_data_set[0].code_set.len(), 2);
        let built = SubscriptionData::tag("TopicTest", "TagA || TagB");
        assert_eq!(built.code_set, c.subscription_data_set[0].code_set);
    }

    #[test]
    fn reads_the_go_client_string_codes() {
        let json = br#"{"topic":"T","subString":"TagA","codeSet":["2598919"],"tagsSet":["TagA"],"expressionType":"TAG","subVersion":1}"#;
        let s: SubscriptionData = crate::body::decode(json).unwrap();
        assert_eq!(s.code_set.into_iter().collect::<Vec<_>>(), [2598919]);
        let s: SubscriptionData = crate::body::decode(br#"{"topic":"T","codeSet":null}"#).unwrap();
        assert!(s.code_set.is_empty());
    }
}
