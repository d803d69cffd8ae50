//! The console's message trace (`GET /api/message/trace`) against a real `ferrocket standalone`:
//! the records tracing clients write to the trace topic, found by the traced message's id, with
//! the broker's `msgTraceTopicName` as the default trace topic.

mod common;

use std::time::Duration;

use common::{get_json, http, wait_until, Standalone};
use ferrocket_client::{Message, Producer, ProducerConfig};
use ferrocket_protocol::trace::{encode_trace_data, TraceRecord, TraceType};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// A trace message holding one record of each of `types` about `msg_id`, by `group`.
fn trace_message(topic: &str, msg_id: &str, group: &str, types: &[TraceType]) -> Message {
    let records: Vec<TraceRecord> = types
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut r = TraceRecord::new(*t);
            r.msg_id = msg_id.into();
            r.group_name = group.into();
            r.timestamp = 1_700_000_000_000 + i as i64 * 1000;
            r.cost_time = 5 + i as i32;
            r.store_host = "127.0.0.1:10911".into();
            r.request_id = "req-1".into();
            r
        })
        .collect();
    let mut m = Message::new(topic, encode_trace_data(&records));
    m.set_keys([msg_id]);
    m
}

fn types(trace: &Value) -> Vec<String> {
    trace["traces"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["msgType"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn message_view_shows_the_trace_of_a_message() {
    let server = Standalone::start("traceTopicEnable=true\nmsgTraceTopicName=ConsoleTrace");
    let url = server.url().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer = rt
        .block_on(Producer::start(ProducerConfig::new(
            "ConsoleTraced",
            &server.namesrv,
        )))
        .unwrap();
    let (msg_id, offset_id) = rt.block_on(async {
        let sent = producer
            .send(&Message::new("ConsoleTracedTopic", "traced"))
            .await
            .unwrap();
        let (pubs, subs) = (
            [TraceType::Pub],
            [TraceType::SubBefore, TraceType::SubAfter],
        );
        for m in [
            trace_message("ConsoleTrace", &sent.msg_id, "console_producer", &pubs),
            trace_message("ConsoleTrace", &sent.msg_id, "console_consumer", &subs),
            trace_message("RMQ_SYS_TRACE_TOPIC", &sent.msg_id, "other_consumer", &subs),
        ] {
            producer.send(&m).await.unwrap();
        }
        let batch = [
            Message::new("ConsoleTracedTopic", "b1"),
            Message::new("ConsoleTracedTopic", "b2"),
        ];
        producer.send_batch(&batch).await.unwrap();
        (sent.msg_id, sent.offset_msg_id)
    });
    rt.block_on(producer.shutdown());

    // the broker stores its region and trace switch in the message, as RocketMQ does: the
    // 5.x clients' consume trace hook needs MSG_REGION
    let detail = get_json(&format!("{url}/api/message?id={offset_id}"));
    assert_eq!(
        detail["properties"]["MSG_REGION"], "DefaultRegion",
        "{detail}"
    );
    assert_eq!(detail["properties"]["TRACE_ON"], "true", "{detail}");
    // ... in every message of a batch too
    let listed = get_json(&format!(
        "{url}/api/messages/by-time?topic=ConsoleTracedTopic"
    ));
    assert_eq!(listed["total"], 3, "{listed}");
    for m in listed["items"].as_array().unwrap() {
        let offset = m["commitLogOffset"].as_i64().unwrap();
        let d = get_json(&format!("{url}/api/message?offset={offset}"));
        assert_eq!(d["properties"]["MSG_REGION"], "DefaultRegion", "{d}");
        assert_eq!(d["properties"]["TRACE_ON"], "true", "{d}");
    }

    // default: the broker's msgTraceTopicName, which traceTopicEnable created at start
    let trace_url = format!("{url}/api/message/trace?msgId={msg_id}");
    let mut trace = Value::Null;
    assert!(
        wait_until(WAIT, || {
            trace = get_json(&trace_url);
            trace["traceMessages"] == 2
        }),
        "{trace}"
    );
    assert_eq!(trace["traceTopic"], "ConsoleTrace");
    assert_eq!(types(&trace), ["Pub", "SubBefore", "SubAfter"]);
    let pubr = &trace["traces"][0];
    assert_eq!(pubr["groupName"], "console_producer");
    assert_eq!(pubr["clientHost"], "127.0.0.1");
    assert_eq!(pubr["storeHost"], "127.0.0.1:10911");
    assert_eq!(pubr["status"], "success");
    assert_eq!(trace["traces"][2]["groupName"], "console_consumer");
    assert_eq!(trace["traces"][2]["costTime"], 6);

    // another trace topic, chosen in the view
    let other = format!("{trace_url}&traceTopic=RMQ_SYS_TRACE_TOPIC");
    assert!(wait_until(WAIT, || get_json(&other)["traceMessages"] == 1));
    assert_eq!(types(&get_json(&other)), ["SubBefore", "SubAfter"]);

    // a message nobody traced, a trace topic that does not exist, no id
    let none = get_json(&format!(
        "{url}/api/message/trace?msgId=7F00000100000000AAAABBBBCCCC0000"
    ));
    assert_eq!(
        (none["traceMessages"].as_i64(), types(&none).len()),
        (Some(0), 0)
    );
    let (status, body) = http(
        "GET",
        &format!("{trace_url}&traceTopic=NoSuchTraceTopic"),
        None,
    );
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("NoSuchTraceTopic"), "{body}");
    let (status, body) = http("GET", &format!("{url}/api/message/trace"), None);
    assert_eq!(status, 400, "{body}");
}
