//! Connection listings: GET_CONSUMER_CONNECTION_LIST, GET_PRODUCER_CONNECTION_LIST, group lists.

use std::collections::{BTreeMap, BTreeSet};

use super::heartbeat::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use serde::{Deserialize, Serialize};

/// One client connection (`Connection`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// Client id.
    pub client_id: String,
    /// `ip:port` of the client's socket.
    pub client_addr: String,
    /// Language name (`JAVA`, `GO`, …).
    pub language: String,
    /// Client version ordinal.
    pub version: i32,
}

/// A consumer group's members and subscriptions (`ConsumerConnection`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    /// Members.
    pub connection_set: BTreeSet<Connection>,
    /// Subscriptions by topic.
    pub subscription_table: BTreeMap<String, SubscriptionData>,
    /// Push or pull.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where new members start.
    pub consume_from_where: ConsumeFromWhere,
}

/// A producer group's connections (`ProducerConnection`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    /// Connections.
    pub connection_set: BTreeSet<Connection>,
}

/// `GroupList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupList {
    /// Group names.
    pub group_list: BTreeSet<String>,
}
