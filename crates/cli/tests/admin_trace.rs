//! `ferrocket admin queryMsgTraceById` against a real `ferrocket standalone`: trace messages as
//! the official clients write them (records keyed by the traced message ids) are found by a key
//! query on the trace topic and printed with mqadmin's columns, or as JSON.

mod common;

use std::time::{Duration, Instant};

use common::ferrocket;
use ferrocket_client::{Message, Producer, ProducerConfig};
use ferrocket_protocol::trace::{encode_trace_data, TraceRecord, TraceType};
use ferrocket_testkit::output_within;
use serde_json::Value;

const RUN: Duration = Duration::from_secs(60);
/// The index is built in the background: how long a trace may take to become findable.
const INDEXED: Duration = Duration::from_secs(20);

fn record(t: TraceType, msg_id: &str, group: &str, at: i64) -> TraceRecord {
    let mut r = TraceRecord::new(t);
    r.msg_id = msg_id.into();
    r.group_name = group.into();
    r.timestamp = at;
    r.topic = "TracedTopic".into();
    r.tags = "TagA".into();
    r.keys = "order-7".into();
    r.region_id = "DefaultRegion".into();
    r.request_id = format!("req-{group}");
    r.cost_time = 3;
    r
}

/// What a traced producer and a traced consumer write for `msg_id` (a second, unrelated message
/// shares the consumer's trace message, as the client batches records).
fn trace_messages(topic: &str, msg_id: &str, other: &str) -> Vec<Message> {
    let mut pubr = record(TraceType::Pub, msg_id, "trace_producer", 1_700_000_000_000);
    pubr.store_host = "127.0.0.1:10911".into();
    pubr.offset_msg_id = "7F00000100002A9F0000000000000000".into();
    let before = record(
        TraceType::SubBefore,
        msg_id,
        "trace_consumer",
        1_700_000_001_000,
    );
    let mut after = record(
        TraceType::SubAfter,
        msg_id,
        "trace_consumer",
        1_700_000_001_010,
    );
    after.success = false;
    let unrelated = record(
        TraceType::SubBefore,
        other,
        "trace_consumer",
        1_700_000_001_000,
    );
    let mut producer_side = Message::new(topic, encode_trace_data(&[pubr]));
    producer_side.set_keys([msg_id, "order-7"]);
    let mut consumer_side = Message::new(topic, encode_trace_data(&[unrelated, before, after]));
    consumer_side.set_keys([other, msg_id, "order-7"]);
    vec![producer_side, consumer_side]
}

#[test]
fn query_msg_trace_by_id_prints_pub_and_sub_records() {
    let server = common::standalone().start();
    let namesrv = server.namesrv.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer = rt
        .block_on(Producer::start(ProducerConfig::new(
            "TraceWriter",
            &namesrv,
        )))
        .unwrap();
    let traced = "7F000001000012345678AABBCCDD0001";
    let custom = "7F000001000012345678AABBCCDD0002";
    rt.block_on(async {
        for m in trace_messages("RMQ_SYS_TRACE_TOPIC", traced, "OTHER-ID")
            .into_iter()
            .chain(trace_messages("MyTraceTopic", custom, "OTHER-ID"))
        {
            producer.send(&m).await.unwrap();
        }
    });
    rt.block_on(producer.shutdown());

    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "queryMsgTraceById"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-n", &namesrv]);
        output_within(ferrocket(&all, server.dir()), RUN)
    };
    // default trace topic: wait until the index has both trace messages
    let deadline = Instant::now() + INDEXED;
    let json: Value = loop {
        let (ok, out, err) = admin(&["-i", traced, "--json"]);
        if ok {
            let v: Value = serde_json::from_str(&out).unwrap();
            if v["traceMessages"] == 2 {
                break v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "trace of {traced} not found: {out}{err}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let types: Vec<&str> = json["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["msgType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["Pub", "SubBefore", "SubAfter"], "{json}");
    let pubr = &json["traces"][0];
    assert_eq!(pubr["groupName"], "trace_producer");
    assert_eq!(pubr["status"], "success");
    assert_eq!(pubr["storeHost"], "127.0.0.1:10911");
    assert_eq!(pubr["clientHost"], "127.0.0.1");
    assert_eq!(json["traces"][2]["status"], "failed");
    assert_eq!(json["traces"][2]["costTime"], 3);

    // mqadmin's table: the Pub row, then the consumer group's Sub rows
    let (ok, out, err) = admin(&["-i", traced]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("#Type      #ProducerGroup       #ClientHost"),
        "{out}"
    );
    assert!(
        lines[0].contains("#SendTime") && lines[0].trim_end().ends_with("#Status"),
        "{out}"
    );
    assert!(
        lines[1].starts_with(
            "Pub        trace_producer       127.0.0.1            2023-11-14 22:13:20  3ms"
        ),
        "{out}"
    );
    assert!(lines[3].starts_with("#Type      #ConsumerGroup"), "{out}");
    assert!(
        lines[4].starts_with("Sub        trace_consumer") && lines[4].contains("failed"),
        "{out}"
    );
    assert_eq!(
        out.matches("Sub ").count(),
        1,
        "only SubAfter records are listed: {out}"
    );

    // a custom trace topic (-t), and time bounds that leave nothing
    let deadline = Instant::now() + INDEXED;
    loop {
        let (ok, out, _) = admin(&["-i", custom, "-t", "MyTraceTopic"]);
        if ok && out.contains("trace_consumer") {
            break;
        }
        assert!(Instant::now() < deadline, "custom trace topic: {out}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, _, err) = admin(&["-i", custom, "-t", "MyTraceTopic", "-e", "1"]);
    assert!(!ok && err.contains("no trace of message"), "{err}");

    // a message without trace, and a trace topic that does not exist
    let (ok, _, err) = admin(&["-i", "7F0000010000FFFFFFFFFFFFFFFF0000"]);
    assert!(
        !ok && err.contains("no trace of message 7F0000010000FFFFFFFFFFFFFFFF0000"),
        "{err}"
    );
    let (ok, _, err) = admin(&["-i", traced, "-t", "NoSuchTraceTopic"]);
    assert!(!ok && err.contains("NoSuchTraceTopic"), "{err}");
    server.stop();
}
