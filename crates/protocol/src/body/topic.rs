//! Topic configuration and the broker registration body.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Permission bits (`PermName`).
pub mod perm {
    /// Auto-creation may inherit from this topic (TBW102).
    pub const INHERIT: i32 = 1;
    /// Producers may write.
    pub const WRITE: i32 = 2;
    /// Consumers may read.
    pub const READ: i32 = 4;
    /// Read and write: the default for user topics.
    pub const READ_WRITE: i32 = READ | WRITE;

    /// True when `perm` allows reading.
    pub fn is_readable(perm: i32) -> bool {
        perm & READ != 0
    }

    /// True when `perm` allows writing.
    pub fn is_writeable(perm: i32) -> bool {
        perm & WRITE != 0
    }

    /// True when `perm` allows inheriting (auto-create template).
    pub fn is_inherited(perm: i32) -> bool {
        perm & INHERIT != 0
    }
}

/// `TopicFilterType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TopicFilterType {
    #[default]
    #[serde(rename = "SINGLE_TAG")]
    SingleTag,
    #[serde(rename = "MULTI_TAG")]
    MultiTag,
}

impl TopicFilterType {
    /// The Java enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            TopicFilterType::SingleTag => "SINGLE_TAG",
            TopicFilterType::MultiTag => "MULTI_TAG",
        }
    }
}

/// A topic's configuration on one broker (`TopicConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfig {
    pub topic_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_filter_type: TopicFilterType,
    pub topic_sys_flag: i32,
    pub order: bool,
    pub attributes: BTreeMap<String, String>,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            topic_name: String::new(),
            read_queue_nums: 16,
            write_queue_nums: 16,
            perm: perm::READ_WRITE,
            topic_filter_type: TopicFilterType::SingleTag,
            topic_sys_flag: 0,
            order: false,
            attributes: BTreeMap::new(),
        }
    }
}

impl TopicConfig {
    /// A read-write topic with `queues` read and write queues.
    pub fn new(name: impl Into<String>, queues: i32) -> Self {
        TopicConfig {
            topic_name: name.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..Default::default()
        }
    }
}

/// `DataVersion`: bumped whenever a broker's topic table changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct DataVersion {
    pub state_version: i64,
    pub timestamp: i64,
    pub counter: i64,
}

impl DataVersion {
    /// Marks a change.
    pub fn next_version(&mut self) {
        self.timestamp = crate::util::now_millis();
        self.counter += 1;
    }
}

/// `TopicConfigSerializeWrapper`: a topic table with its version (also config/topics.json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicConfigSerializeWrapper {
    pub topic_config_table: BTreeMap<String, TopicConfig>,
    pub data_version: DataVersion,
}

/// REGISTER_BROKER's (uncompressed) body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct RegisterBrokerBody {
    pub topic_config_serialize_wrapper: TopicConfigSerializeWrapper,
    pub filter_server_list: Vec<String>,
}

/// `TopicList`: topic names, optionally with the broker address they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicList {
    pub topic_list: std::collections::BTreeSet<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_addr: Option<String>,
}

/// `KVTable`: string pairs (runtime info, KV config namespaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct KvTable {
    pub table: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_config_json_matches_fastjson_names() {
        let t = TopicConfig::new("T", 4);
        let v: serde_json::Value = serde_json::from_slice(&crate::body::encode(&t)).unwrap();
        for key in [
            "topicName",
            "readQueueNums",
            "writeQueueNums",
            "perm",
            "topicFilterType",
            "topicSysFlag",
            "order",
            "attributes",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        assert_eq!(v["topicFilterType"], "SINGLE_TAG");
        let back: TopicConfig = crate::body::decode(br#"{"topicName":"X","perm":7}"#).unwrap();
        assert_eq!(back.read_queue_nums, 16);
        assert_eq!(back.perm, 7);
    }
}
