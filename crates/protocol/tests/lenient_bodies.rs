//! Every JSON body decodes from the loosely typed forms fastjson accepts: enums by ordinal (as a
//! number or a numeric string), numbers as strings, strings as numbers, booleans as `1`/`0` or
//! text, unknown fields anywhere.
//!
//! Each case takes a filled body, writes it as standard JSON, rewrites the text the way other
//! clients write it (choices driven by proptest), and checks that it reads back equal.

use ferrocket_protocol::body::connection::{Connection, ConsumerConnection, GroupList};
use ferrocket_protocol::body::consume_stats::{ConsumeStats, OffsetWrapper};
use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    SubscriptionData,
};
use ferrocket_protocol::body::queue::{LockBatchRequestBody, MessageQueue};
use ferrocket_protocol::body::route::{BrokerData, QueueData, TopicRouteData};
use ferrocket_protocol::body::subscription_group_config::SubscriptionGroupConfig;
use ferrocket_protocol::body::topic::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType,
};
use ferrocket_protocol::body::{decode, encode};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// Java ordinals of every enum constant a body carries.
const ORDINALS: &[(&str, u64)] = &[
    ("CONSUME_ACTIVELY", 0),
    ("CONSUME_PASSIVELY", 1),
    ("CONSUME_POP", 2),
    ("BROADCASTING", 0),
    ("CLUSTERING", 1),
    ("CONSUME_FROM_LAST_OFFSET", 0),
    ("CONSUME_FROM_LAST_OFFSET_AND_FROM_MIN_WHEN_BOOT_FIRST", 1),
    ("CONSUME_FROM_MIN_OFFSET", 2),
    ("CONSUME_FROM_MAX_OFFSET", 3),
    ("CONSUME_FROM_FIRST_OFFSET", 4),
    ("CONSUME_FROM_TIMESTAMP", 5),
    ("SINGLE_TAG", 0),
    ("MULTI_TAG", 1),
];

/// Keys whose values are maps (user keys, so no unknown field may be added) or free-form JSON
/// kept as it is (so nothing inside may change).
const MAP_KEYS: &[&str] = &[
    "attributes",
    "brokerAddrs",
    "topicConfigTable",
    "offsetTable",
    "subscriptionTable",
    "filterServerTable",
];
const OPAQUE_KEYS: &[&str] = &["groupRetryPolicy", "subscriptionDataSet"];

/// Rewrites `v` as a loosely typing client would, drawing one choice per leaf from `tape`.
fn loosen(v: Value, tape: &mut impl Iterator<Item = u8>, is_map: bool) -> Value {
    let mut pick = || tape.next().unwrap_or(0);
    match v {
        Value::Number(n) => match pick() % 3 {
            0 => Value::String(n.to_string()),
            1 => Value::String(format!(" {n} ")),
            _ => Value::Number(n),
        },
        Value::Bool(b) => match pick() % 4 {
            0 => Value::String(b.to_string()),
            1 => json!(u8::from(b)),
            2 => Value::String(if b { "TRUE" } else { "False" }.into()),
            _ => Value::Bool(b),
        },
        Value::String(s) => {
            let ordinal = ORDINALS
                .iter()
                .find(|(name, _)| *name == s)
                .map(|(_, o)| *o);
            match (ordinal, pick() % 3) {
                (Some(o), 0) => json!(o),
                (Some(o), 1) => Value::String(o.to_string()),
                (None, 0) if s.parse::<i64>().is_ok_and(|n| n.to_string() == s) => {
                    json!(s.parse::<i64>().unwrap_or_default())
                }
                _ => Value::String(s),
            }
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|i| loosen(i, tape, false)).collect())
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let v = if OPAQUE_KEYS.contains(&k.as_str()) {
                    v
                } else {
                    loosen(v, tape, MAP_KEYS.contains(&k.as_str()))
                };
                out.insert(k, v);
            }
            if !is_map && tape.next().unwrap_or(0).is_multiple_of(2) {
                out.insert(
                    "fieldFromANewerVersion".into(),
                    json!({"nested": [1, "two", null], "flag": true}),
                );
            }
            Value::Object(out)
        }
        Value::Null => Value::Null,
    }
}

fn check<T: Serialize + DeserializeOwned + PartialEq + Debug>(body: &T, tape: &[u8]) {
    check_with(body, tape, |_| {});
}

/// [`check`], with `settle` applied to the decoded body before comparing.
fn check_with<T: Serialize + DeserializeOwned + PartialEq + Debug>(
    body: &T,
    tape: &[u8],
    settle: impl FnOnce(&mut T),
) {
    let standard: Value = serde_json::from_slice(&encode(body)).unwrap();
    let loose = loosen(standard, &mut tape.iter().copied().cycle(), false);
    let text = serde_json::to_vec(&loose).unwrap();
    let mut back: T =
        decode(&text).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&text)));
    settle(&mut back);
    assert_eq!(&back, body, "{}", String::from_utf8_lossy(&text));
}

fn subscription() -> SubscriptionData {
    let mut s = SubscriptionData::tag("TopicTest", "TagA || TagB");
    s.sub_version = 1_700_000_000_123;
    s
}

fn heartbeat() -> HeartbeatData {
    HeartbeatData {
        client_id: "127.0.0.1@4242".into(),
        producer_data_set: vec![ProducerData {
            group_name: "pg".into(),
        }],
        consumer_data_set: vec![
            ConsumerData {
                group_name: "cg".into(),
                consume_type: ConsumeType::ConsumePassively,
                message_model: MessageModel::Clustering,
                consume_from_where: ConsumeFromWhere::ConsumeFromTimestamp,
                subscription_data_set: vec![subscription()],
                unit_mode: true,
            },
            ConsumerData {
                group_name: "cg2".into(),
                consume_type: ConsumeType::ConsumeActively,
                message_model: MessageModel::Broadcasting,
                consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
                subscription_data_set: vec![SubscriptionData::tag("T2", "*")],
                unit_mode: false,
            },
        ],
        heartbeat_fingerprint: -7,
        without_sub: true,
    }
}

fn topic_config() -> TopicConfig {
    let mut t = TopicConfig::new("TopicTest", 8);
    t.perm = 6;
    t.topic_sys_flag = 1;
    t.order = true;
    t.topic_filter_type = TopicFilterType::MultiTag;
    t.attributes.insert("+message.type".into(), "NORMAL".into());
    t
}

fn mq(queue_id: i32) -> MessageQueue {
    MessageQueue {
        topic: "TopicTest".into(),
        broker_name: "broker-a".into(),
        queue_id,
    }
}

fn route() -> TopicRouteData {
    TopicRouteData {
        order_topic_conf: None,
        queue_datas: vec![QueueData {
            broker_name: "broker-a".into(),
            read_queue_nums: 4,
            write_queue_nums: 4,
            perm: 6,
            topic_sys_flag: 0,
        }],
        broker_datas: vec![BrokerData {
            cluster: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_addrs: BTreeMap::from([(0, "127.0.0.1:10911".to_string())]),
            enable_acting_master: true,
        }],
        filter_server_table: BTreeMap::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn heartbeat_reads_loosely_typed(tape in proptest::collection::vec(any::<u8>(), 1..64)) {
        check(&heartbeat(), &tape);
    }

    #[test]
    fn topic_bodies_read_loosely_typed(tape in proptest::collection::vec(any::<u8>(), 1..64)) {
        check(&topic_config(), &tape);
        let wrapper = TopicConfigSerializeWrapper {
            topic_config_table: BTreeMap::from([("TopicTest".to_string(), topic_config())]),
            data_version: DataVersion { state_version: 3, timestamp: 1_700_000_000_000, counter: 9 },
        };
        check(&RegisterBrokerBody {
            topic_config_serialize_wrapper: wrapper,
            filter_server_list: vec!["127.0.0.1:1".into()],
        }, &tape);
    }

    #[test]
    fn route_and_queue_bodies_read_loosely_typed(tape in proptest::collection::vec(any::<u8>(), 1..64)) {
        check(&route(), &tape);
        check(&LockBatchRequestBody {
            consumer_group: "cg".into(),
            client_id: "c".into(),
            only_this_broker: true,
            mq_set: [mq(0), mq(3)].into(),
        }, &tape);
    }

    #[test]
    fn admin_bodies_read_loosely_typed(tape in proptest::collection::vec(any::<u8>(), 1..64)) {
        let mut stats = ConsumeStats::default();
        stats.offset_table.insert(mq(1), OffsetWrapper {
            broker_offset: 10, consumer_offset: 7, pull_offset: 8, last_timestamp: 1_700_000_000_000,
        });
        stats.consume_tps = 2.5;
        check(&stats, &tape);
        let mut conn = ConsumerConnection {
            consume_type: ConsumeType::ConsumeActively,
            message_model: MessageModel::Broadcasting,
            consume_from_where: ConsumeFromWhere::ConsumeFromMaxOffset,
            ..Default::default()
        };
        conn.connection_set.insert(Connection {
            client_id: "c1".into(), client_addr: "127.0.0.1:5".into(), language: "CPP".into(), version: 317,
        });
        conn.subscription_table.insert("TopicTest".into(), subscription());
        check(&conn, &tape);
        check(&GroupList { group_list: ["g1".to_string(), "g2".to_string()].into() }, &tape);
        let mut group = SubscriptionGroupConfig::new("cg");
        group.retry_max_times = 3;
        group.consume_broadcast_enable = false;
        group.broker_id = 1;
        // Unknown keys of a group config are kept (written back on persist), not dropped.
        check_with(&group, &tape, |g| {
            g.extra.remove("fieldFromANewerVersion");
        });
    }
}

/// The heartbeat the C++ client (librocketmq 2.x, via PyPI `rocketmq`) sends, byte for byte in
/// shape: enums as ordinals, `subVersion` as a string.
#[test]
fn reads_the_cpp_client_heartbeat() {
    let text = br#"{"clientID":"127.0.0.1@31337#0#-1#1","consumerDataSet":[{"consumeFromWhere":0,"consumeType":1,"groupName":"cg","messageModel":1,"subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":"1700000000123","tagsSet":["TagA"],"topic":"TopicTest"}],"unitMode":false}],"producerDataSet":[]}"#;
    let h: HeartbeatData = decode(text).unwrap();
    let c = &h.consumer_data_set[0];
    assert_eq!(c.consume_type, ConsumeType::ConsumePassively);
    assert_eq!(c.message_model, MessageModel::Clustering);
    assert_eq!(
        c.consume_from_where,
        ConsumeFromWhere::ConsumeFromLastOffset
    );
    assert_eq!(c.subscription_data_set[0].sub_version, 1_700_000_000_123);
}

/// Out-of-range ordinals and text that is not a number are errors, not silent defaults.
#[test]
fn rejects_what_fastjson_rejects() {
    for bad in [
        &br#"{"consumerDataSet":[{"consumeType":7}]}"#[..],
        br#"{"consumerDataSet":[{"messageModel":"SIDEWAYS"}]}"#,
        br#"{"consumerDataSet":[{"subscriptionDataSet":[{"subVersion":"soon"}]}]}"#,
        br#"{"heartbeatFingerprint":99999999999}"#,
        br#"{"consumerDataSet":{"groupName":"not a list"}}"#,
    ] {
        let err = decode::<HeartbeatData>(bad).unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}

/// `null` for a field with a default reads as the default, as fastjson leaves the field alone.
#[test]
fn null_fields_take_their_defaults() {
    let t: TopicConfig = decode(
        br#"{"topicName":"T","perm":null,"order":null,"attributes":null,"readQueueNums":"8"}"#,
    )
    .unwrap();
    assert_eq!(t.perm, TopicConfig::new("T", 8).perm);
    assert_eq!(t.read_queue_nums, 8);
    assert!(!t.order);
}
