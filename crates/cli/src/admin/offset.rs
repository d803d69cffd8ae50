//! resetOffsetByTime, skipAccumulatedMessage.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::ArgAction;
use ferrocket_client::admin::body::OffsetWrapper;
use ferrocket_client::admin::MQAdminExt;
use ferrocket_client::api::CommunicationMode;
use ferrocket_client::{ClientError, MessageQueue};
use ferrocket_protocol::code::response;
use serde_json::json;

use super::output::{front, line, now_millis, parse_timestamp, Report};

/// `resetOffsetByTime` options.
#[derive(clap::Args)]
pub struct ResetOffsetByTimeArgs {
    /// Consumer group.
    #[arg(short = 'g', long = "group")]
    group: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Time: now, milliseconds, or yyyy-MM-dd#HH:mm:ss:SSS (UTC).
    #[arg(short = 's', long = "timestamp")]
    timestamp: String,
    /// Also move the group forward (true|false).
    #[arg(short = 'f', long = "force", action = ArgAction::Set, default_value_t = true)]
    force: bool,
    /// Broker address (with -q: reset one queue).
    #[arg(short = 'b', long = "broker")]
    broker: Option<String>,
    /// Queue id (with -b).
    #[arg(short = 'q', long = "queue")]
    queue: Option<i32>,
    /// The offset to reset to instead of searching by time (with -b and -q).
    #[arg(short = 'o', long = "offset")]
    offset: Option<i64>,
    /// Cluster name (accepted for compatibility; the topic's route selects the brokers).
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
}

pub(super) async fn reset_offset_by_time(
    admin: &MQAdminExt,
    a: ResetOffsetByTimeArgs,
) -> anyhow::Result<Report> {
    let _ = &a.cluster;
    let (group, topic) = (a.group.trim(), a.topic.trim());
    let timestamp = parse_timestamp(&a.timestamp, now_millis())?;
    let mut text = String::new();
    if let (Some(addr), Some(q)) = (a.broker.as_deref(), a.queue) {
        line!(
            text,
            "start reset consumer offset by specified, group[{group}], topic[{topic}], queueId[{q}], broker[{addr}], timestamp(string)[{}], timestamp(long)[{timestamp}]",
            a.timestamp.trim()
        );
        let route = admin.examine_topic_route_info(topic).await?;
        let broker_name = route
            .broker_datas
            .iter()
            .find(|b| b.broker_addrs.values().any(|v| v == addr))
            .map(|b| b.broker_name.clone())
            .unwrap_or_default();
        let mq = MessageQueue::new(topic, broker_name, q);
        let offset = match a.offset {
            Some(o) => o,
            None => {
                admin
                    .api()
                    .search_offset(addr, &mq, timestamp, admin.timeout())
                    .await?
            }
        };
        line!(text, "reset consumer offset to {offset}");
        if offset > 0 {
            admin
                .reset_offset_by_queue_id(addr, group, topic, q, offset)
                .await?;
        }
        return Ok(Report::new(
            text,
            json!({"group": group, "topic": topic, "queueId": q, "broker": addr, "offset": offset}),
        ));
    }
    reset(
        admin,
        group,
        topic,
        timestamp,
        a.force,
        a.timestamp.trim(),
        text,
    )
    .await
}

/// Resets by time through the brokers, or by rewriting the offsets when no member is online.
async fn reset(
    admin: &MQAdminExt,
    group: &str,
    topic: &str,
    timestamp: i64,
    force: bool,
    shown_time: &str,
    mut text: String,
) -> anyhow::Result<Report> {
    let table = match admin
        .reset_offset_by_timestamp(topic, group, timestamp, force)
        .await
    {
        Ok(t) => t,
        Err(e) if e.response_code() == Some(response::CONSUMER_NOT_ONLINE) => {
            return reset_offline(admin, group, topic, timestamp, force, text).await;
        }
        Err(e) => return Err(e.into()),
    };
    line!(
        text,
        "start reset consumer offset by specified, group[{group}], topic[{topic}], force[{force}], timestamp(string)[{shown_time}], timestamp(long)[{timestamp}]"
    );
    let rows = offset_rows(&mut text, &table);
    Ok(Report::new(
        text,
        json!({"group": group, "topic": topic, "timestamp": timestamp, "online": true, "offsets": rows}),
    ))
}

/// `resetOffsetByTimestampOld`: no member is online, so the committed offsets are rewritten.
async fn reset_offline(
    admin: &MQAdminExt,
    group: &str,
    topic: &str,
    timestamp: i64,
    force: bool,
    mut text: String,
) -> anyhow::Result<Report> {
    let stats = admin
        .examine_consume_stats(None, group, Some(topic))
        .await?;
    if stats.offset_table.is_empty() {
        anyhow::bail!(
            "consumer group [{group}] has no offsets for topic [{topic}] and no member online"
        );
    }
    let route = admin.examine_topic_route_info(topic).await?;
    let addrs: BTreeMap<&str, &str> = route
        .broker_datas
        .iter()
        .filter_map(|b| b.master_addr().map(|a| (b.broker_name.as_str(), a)))
        .collect();
    line!(
        text,
        "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
        "#brokerName",
        "#queueId",
        "#brokerOffset",
        "#consumerOffset",
        "#timestampOffset",
        "#resetOffset"
    );
    let mut rows = Vec::new();
    for (mq, o) in &stats.offset_table {
        let Some(addr) = addrs.get(mq.broker_name.as_str()) else {
            continue;
        };
        let (by_time, reset_to) =
            reset_queue_offline(admin, addr, group, mq, o, timestamp, force).await?;
        line!(
            text,
            "{:<20}  {:<20}  {:<20}  {:<20}  {:<20}  {:<20}",
            mq.broker_name,
            mq.queue_id,
            o.broker_offset,
            o.consumer_offset,
            by_time,
            reset_to
        );
        rows.push(json!({
            "brokerName": mq.broker_name,
            "queueId": mq.queue_id,
            "brokerOffset": o.broker_offset,
            "consumerOffset": o.consumer_offset,
            "timestampOffset": by_time,
            "offset": reset_to,
        }));
    }
    Ok(Report::new(
        text,
        json!({"group": group, "topic": topic, "timestamp": timestamp, "online": false, "offsets": rows}),
    ))
}

/// Rewrites one queue's committed offset to the one stored at `timestamp` (-1: the queue's
/// end); without `force` only backwards. Returns the offset found by time and the one set.
async fn reset_queue_offline(
    admin: &MQAdminExt,
    addr: &str,
    group: &str,
    mq: &MessageQueue,
    o: &OffsetWrapper,
    timestamp: i64,
    force: bool,
) -> anyhow::Result<(i64, i64)> {
    let by_time = if timestamp == -1 {
        o.broker_offset
    } else {
        admin
            .api()
            .search_offset(addr, mq, timestamp, admin.timeout())
            .await?
    };
    let reset_to = if force || by_time < o.consumer_offset {
        by_time
    } else {
        o.consumer_offset
    };
    admin
        .api()
        .update_consumer_offset(
            addr,
            group,
            mq,
            reset_to,
            CommunicationMode::Sync,
            admin.timeout(),
        )
        .await
        .map_err(|e: ClientError| anyhow::anyhow!("updating the offset of {mq} failed: {e}"))?;
    Ok((by_time, reset_to))
}

/// `skipAccumulatedMessage` options.
#[derive(clap::Args)]
pub struct SkipAccumulatedMessageArgs {
    /// Consumer group.
    #[arg(short = 'g', long = "group")]
    group: String,
    /// Topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Force (true|false).
    #[arg(short = 'f', long = "force", action = ArgAction::Set, default_value_t = true)]
    force: bool,
    /// Cluster name (accepted for compatibility; the topic's route selects the brokers).
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
}

pub(super) async fn skip_accumulated_message(
    admin: &MQAdminExt,
    a: SkipAccumulatedMessageArgs,
) -> anyhow::Result<Report> {
    let _ = &a.cluster;
    let (group, topic) = (a.group.trim(), a.topic.trim());
    let table = match admin
        .reset_offset_by_timestamp(topic, group, -1, a.force)
        .await
    {
        Ok(t) => t,
        Err(e) if e.response_code() == Some(response::CONSUMER_NOT_ONLINE) => {
            return reset_offline(admin, group, topic, -1, a.force, String::new()).await;
        }
        Err(e) => return Err(e.into()),
    };
    let mut text = String::new();
    let rows = offset_rows(&mut text, &table);
    Ok(Report::new(
        text,
        json!({"group": group, "topic": topic, "online": true, "offsets": rows}),
    ))
}

/// mqadmin's `#brokerName #queueId #offset` table of the offsets a reset applied, appended to
/// `text`; returns the same rows for `--json`.
fn offset_rows(text: &mut String, table: &BTreeMap<MessageQueue, i64>) -> Vec<serde_json::Value> {
    line!(
        text,
        "{:<40}  {:<40}  {:<40}",
        "#brokerName",
        "#queueId",
        "#offset"
    );
    let mut rows = Vec::new();
    for (mq, offset) in table {
        line!(
            text,
            "{:<40}  {:<40}  {:<40}",
            front(&mq.broker_name, 32),
            mq.queue_id,
            offset
        );
        rows.push(json!({"brokerName": mq.broker_name, "queueId": mq.queue_id, "offset": offset}));
    }
    rows
}
