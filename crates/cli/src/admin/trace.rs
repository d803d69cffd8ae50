//! queryMsgTraceById: a message's trace records, read from the trace topic.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ferrocket_client::admin::{MQAdminExt, MessageTrace};
use ferrocket_protocol::trace::{TraceType, TraceView, RMQ_SYS_TRACE_TOPIC};
use serde_json::{json, Value};

use super::output::{human_seconds, line, Report};

/// `queryMsgTraceById` options.
#[derive(clap::Args)]
pub struct QueryMsgTraceByIdArgs {
    /// Message id (the msgId a producer's send result reports).
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// The trace topic.
    #[arg(short = 't', long = "traceTopic", default_value = RMQ_SYS_TRACE_TOPIC)]
    trace_topic: String,
    /// Begin timestamp (ms).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin: i64,
    /// End timestamp (ms).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end: i64,
    /// Most trace messages returned by the query.
    #[arg(short = 'c', long = "maxNum", default_value_t = 64)]
    max_num: i32,
}

pub(super) async fn query_msg_trace_by_id(
    admin: &MQAdminExt,
    a: QueryMsgTraceByIdArgs,
) -> anyhow::Result<Report> {
    let (topic, msg_id) = (a.trace_topic.trim(), a.msg_id.trim());
    let trace = admin
        .query_msg_trace_by_id(topic, msg_id, a.max_num, a.begin, a.end)
        .await?;
    if trace.trace_messages == 0 {
        anyhow::bail!("no trace of message {msg_id} in trace topic {topic}");
    }
    Ok(Report::new(
        print_trace(&trace),
        trace_json(msg_id, topic, &trace),
    ))
}

/// mqadmin's table (`QueryMsgTraceByIdSubCommand.printMessageTrace`): the Pub records, then the
/// SubAfter records of each consumer group.
fn print_trace(trace: &MessageTrace) -> String {
    let mut text = String::new();
    let mut consumers: BTreeMap<&str, Vec<&TraceView>> = BTreeMap::new();
    for v in &trace.views {
        match v.record.trace_type {
            TraceType::Pub => {
                row(
                    &mut text,
                    [
                        "#Type",
                        "#ProducerGroup",
                        "#ClientHost",
                        "#SendTime",
                        "#CostTimes",
                        "#Status",
                    ],
                );
                row_of(&mut text, "Pub", v);
                text.push('\n');
            }
            TraceType::SubAfter => consumers.entry(&v.record.group_name).or_default().push(v),
            _ => {}
        }
    }
    for views in consumers.values() {
        row(
            &mut text,
            [
                "#Type",
                "#ConsumerGroup",
                "#ClientHost",
                "#ConsumerTime",
                "#CostTimes",
                "#Status",
            ],
        );
        for v in views {
            row_of(&mut text, "Sub", v);
        }
        text.push('\n');
    }
    if trace.malformed > 0 {
        line!(
            text,
            "({} trace messages could not be decoded)",
            trace.malformed
        );
    }
    text
}

fn row(text: &mut String, c: [&str; 6]) {
    line!(
        text,
        "{:<10} {:<20} {:<20} {:<20} {:<10} {:<10}",
        c[0],
        c[1],
        c[2],
        c[3],
        c[4],
        c[5]
    );
}

fn row_of(text: &mut String, kind: &str, v: &TraceView) {
    let r = &v.record;
    let cost = format!("{}ms", r.cost_time);
    let at = human_seconds(r.timestamp);
    row(
        text,
        [kind, &r.group_name, &v.client_host, &at, &cost, v.status()],
    );
}

fn trace_json(msg_id: &str, topic: &str, trace: &MessageTrace) -> Value {
    json!({
        "msgId": msg_id,
        "traceTopic": topic,
        "traceMessages": trace.trace_messages,
        "malformedTraceMessages": trace.malformed,
        "traces": trace.views.iter().map(view_json).collect::<Vec<_>>(),
    })
}

/// One record as JSON, with `TraceView`'s names.
pub fn view_json(v: &TraceView) -> Value {
    let r = &v.record;
    json!({
        "msgType": r.trace_type.name(),
        "msgId": r.msg_id,
        "topic": r.topic,
        "tags": r.tags,
        "keys": r.keys,
        "groupName": r.group_name,
        "clientHost": v.client_host,
        "storeHost": r.store_host,
        "timeStamp": r.timestamp,
        "costTime": r.cost_time,
        "status": v.status(),
        "offSetMsgId": r.offset_msg_id,
        "requestId": r.request_id,
        "retryTimes": r.retry_times,
        "bodyLength": r.body_length,
        "messageType": r.msg_type_name(),
        "regionId": r.region_id,
        "transactionId": r.transaction_id,
        "transactionState": r.transaction_state,
        "fromTransactionCheck": r.from_transaction_check,
    })
}
