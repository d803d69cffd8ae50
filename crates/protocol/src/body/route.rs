//! Topic routes and cluster info (`TopicRouteData`, `QueueData`, `BrokerData`, `ClusterInfo`).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One broker's share of a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct QueueData {
    pub broker_name: String,
    pub read_queue_nums: i32,
    pub write_queue_nums: i32,
    pub perm: i32,
    pub topic_sys_flag: i32,
}

/// A broker group: its name, cluster and the address of each broker id (0 = master).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct BrokerData {
    pub cluster: String,
    pub broker_name: String,
    /// Broker id -> `ip:port`; written with quoted keys, read in either style.
    #[serde(with = "long_keys")]
    pub broker_addrs: BTreeMap<i64, String>,
    pub enable_acting_master: bool,
}

impl BrokerData {
    /// The master's address, if registered.
    pub fn master_addr(&self) -> Option<&str> {
        self.broker_addrs.get(&0).map(String::as_str)
    }
}

/// The answer to GET_ROUTEINFO_BY_TOPIC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct TopicRouteData {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_topic_conf: Option<String>,
    pub queue_datas: Vec<QueueData>,
    pub broker_datas: Vec<BrokerData>,
    pub filter_server_table: BTreeMap<String, Vec<String>>,
}

/// The answer to GET_BROKER_CLUSTER_INFO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterInfo {
    pub broker_addr_table: BTreeMap<String, BrokerData>,
    pub cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
}

/// Serde adapter for maps keyed by Java `Long`: JSON object keys are strings.
mod long_keys {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(m: &BTreeMap<i64, String>, s: S) -> Result<S::Ok, S::Error> {
        let as_str: BTreeMap<String, &String> = m.iter().map(|(k, v)| (k.to_string(), v)).collect();
        as_str.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<i64, String>, D::Error> {
        let raw: BTreeMap<String, String> = BTreeMap::deserialize(d)?;
        raw.into_iter()
            .map(|(k, v)| {
                k.trim()
                    .parse::<i64>()
                    .map(|k| (k, v))
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fastjson_route_with_bare_keys_and_writes_quoted_ones() {
        let fastjson = br#"{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster","enableActingMaster":false}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#;
        let r: TopicRouteData = crate::body::decode(fastjson).unwrap();
        assert_eq!(r.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
        assert_eq!(r.queue_datas[0].write_queue_nums, 4);
        let out = String::from_utf8(crate::body::encode(&r).to_vec()).unwrap();
        assert!(
            out.contains(r#""brokerAddrs":{"0":"10.0.0.1:10911"}"#),
            "{out}"
        );
        assert!(!out.contains("orderTopicConf"));
    }
}
