//! updateSubGroup, deleteSubGroup, consumerProgress, consumerConnection, producerConnection.

use std::fmt::Write as _;

use clap::ArgAction;
use ferrocket_client::admin::body::SubscriptionGroupConfig;
use ferrocket_client::admin::MQAdminExt;
use ferrocket_protocol::body::heartbeat::ConsumeType;
use ferrocket_protocol::mix_all;
use serde::Serialize;
use serde_json::json;

use super::cluster::targets;
use super::output::{front, human_seconds, java_map, line, version_desc, Report};

/// `updateSubGroup` options.
#[derive(clap::Args)]
pub struct UpdateSubGroupArgs {
    /// Create the group on this broker.
    #[arg(short = 'b', long = "brokerAddr", conflicts_with = "cluster")]
    broker: Option<String>,
    /// Create the group on every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Consumer group name.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Consumption allowed.
    #[arg(short = 's', long = "consumeEnable", action = ArgAction::Set)]
    consume_enable: Option<bool>,
    /// New members start from the min offset.
    #[arg(short = 'm', long = "consumeFromMinEnable", action = ArgAction::Set)]
    consume_from_min_enable: Option<bool>,
    /// Broadcast consumption allowed.
    #[arg(short = 'd', long = "consumeBroadcastEnable", action = ArgAction::Set)]
    consume_broadcast_enable: Option<bool>,
    /// Ordered consumption.
    #[arg(short = 'o', long = "consumeMessageOrderly", action = ArgAction::Set)]
    consume_message_orderly: Option<bool>,
    /// Retry queues.
    #[arg(short = 'q', long = "retryQueueNums")]
    retry_queue_nums: Option<i32>,
    /// Redeliveries before the dead-letter queue.
    #[arg(short = 'r', long = "retryMaxTimes")]
    retry_max_times: Option<i32>,
    /// Broker id to consume from.
    #[arg(short = 'i', long = "brokerId")]
    broker_id: Option<i64>,
    /// Broker id to consume from when consumption is slow.
    #[arg(short = 'w', long = "whichBrokerWhenConsumeSlowly")]
    which_broker_when_consume_slowly: Option<i64>,
    /// Tell members when the group changes.
    #[arg(short = 'a', long = "notifyConsumerIdsChanged", action = ArgAction::Set)]
    notify_consumer_ids_changed: Option<bool>,
    /// Attributes, `+a=b,+c=d`.
    #[arg(long = "attributes")]
    attributes: Option<String>,
}

/// `SubscriptionGroupConfig.toString()`-like rendering.
fn group_config_string(c: &SubscriptionGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, consumeMessageOrderly={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}, attributes={}]",
        c.group_name,
        c.consume_enable,
        c.consume_from_min_enable,
        c.consume_broadcast_enable,
        c.consume_message_orderly,
        c.retry_queue_nums,
        c.retry_max_times,
        c.broker_id,
        c.which_broker_when_consume_slowly,
        c.notify_consumer_ids_changed_enable,
        java_map(&c.attributes)
    )
}

pub(super) async fn update_sub_group(
    admin: &MQAdminExt,
    a: UpdateSubGroupArgs,
) -> anyhow::Result<Report> {
    let mut c = SubscriptionGroupConfig {
        group_name: a.group.trim().to_string(),
        ..SubscriptionGroupConfig::default()
    };
    if let Some(v) = a.consume_enable {
        c.consume_enable = v;
    }
    if let Some(v) = a.consume_from_min_enable {
        c.consume_from_min_enable = v;
    }
    if let Some(v) = a.consume_broadcast_enable {
        c.consume_broadcast_enable = v;
    }
    if let Some(v) = a.consume_message_orderly {
        c.consume_message_orderly = v;
    }
    if let Some(v) = a.retry_queue_nums {
        c.retry_queue_nums = v;
    }
    if let Some(v) = a.retry_max_times {
        c.retry_max_times = v;
    }
    if let Some(v) = a.broker_id {
        c.broker_id = v;
    }
    if let Some(v) = a.which_broker_when_consume_slowly {
        c.which_broker_when_consume_slowly = v;
    }
    if let Some(v) = a.notify_consumer_ids_changed {
        c.notify_consumer_ids_changed_enable = v;
    }
    for part in a
        .attributes
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
    {
        if let Some((k, v)) = part.strip_prefix('+').and_then(|kv| kv.split_once('=')) {
            c.attributes.insert(k.to_string(), v.to_string());
        } else if !part.is_empty() {
            anyhow::bail!("attribute '{part}' must look like +key=value");
        }
    }
    let addrs = targets(admin, a.broker.as_deref(), a.cluster.as_deref()).await?;
    let mut text = String::new();
    for addr in &addrs {
        admin
            .create_and_update_subscription_group_config(addr, &c)
            .await?;
        line!(text, "create subscription group to {addr} success.");
    }
    text.push_str(&group_config_string(&c));
    Ok(Report::new(
        text,
        json!({"brokers": addrs, "subscriptionGroupConfig": c}),
    ))
}

/// `deleteSubGroup` options.
#[derive(clap::Args)]
pub struct DeleteSubGroupArgs {
    /// Delete the group from this broker.
    #[arg(short = 'b', long = "brokerAddr", conflicts_with = "cluster")]
    broker: Option<String>,
    /// Delete the group from every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Group name.
    #[arg(short = 'g', long = "groupName")]
    group: String,
    /// Also remove the group's offsets (true|false).
    #[arg(short = 'r', long = "removeOffset", action = ArgAction::Set, default_value_t = false)]
    remove_offset: bool,
}

pub(super) async fn delete_sub_group(
    admin: &MQAdminExt,
    a: DeleteSubGroupArgs,
) -> anyhow::Result<Report> {
    let group = a.group.trim();
    let addrs = targets(admin, a.broker.as_deref(), a.cluster.as_deref()).await?;
    let mut text = String::new();
    for addr in &addrs {
        admin
            .delete_subscription_group(addr, group, a.remove_offset)
            .await?;
        match &a.cluster {
            Some(c) if a.broker.is_none() => line!(
                text,
                "delete subscription group [{group}] from broker [{addr}] in cluster [{c}] success."
            ),
            _ => line!(
                text,
                "delete subscription group [{group}] from broker [{addr}] success."
            ),
        }
    }
    Ok(Report::new(
        text,
        json!({"groupName": group, "brokers": addrs, "removeOffset": a.remove_offset}),
    ))
}

/// `consumerProgress` options.
#[derive(clap::Args)]
pub struct ConsumerProgressArgs {
    /// Consumer group name; without it every group is listed.
    #[arg(short = 'g', long = "groupName")]
    group: Option<String>,
    /// Only this topic.
    #[arg(short = 't', long = "topicName")]
    topic: Option<String>,
    /// Only the brokers of this cluster.
    #[arg(short = 'c', long = "cluster")]
    cluster: Option<String>,
}

pub(super) async fn consumer_progress(
    admin: &MQAdminExt,
    a: ConsumerProgressArgs,
) -> anyhow::Result<Report> {
    let Some(group) = a.group.as_deref().map(str::trim) else {
        return all_groups_progress(admin, a.cluster.as_deref()).await;
    };
    let stats = admin
        .examine_consume_stats(a.cluster.as_deref(), group, a.topic.as_deref())
        .await?;
    let mut text = String::new();
    line!(
        text,
        "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20}{}",
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Diff",
        "#Inflight",
        "#LastTime"
    );
    let (mut diff_total, mut inflight_total) = (0i64, 0i64);
    let mut rows = Vec::new();
    for (mq, o) in &stats.offset_table {
        let diff = o.broker_offset - o.consumer_offset;
        let inflight = o.pull_offset - o.consumer_offset;
        diff_total += diff;
        inflight_total += inflight;
        let last = if o.last_timestamp == 0 {
            "N/A".to_string()
        } else {
            human_seconds(o.last_timestamp)
        };
        line!(
            text,
            "{:<64}  {:<32}  {:<4}  {:<20}  {:<20}  {:<20} {:<20} {}",
            front(&mq.topic, 64),
            front(&mq.broker_name, 32),
            mq.queue_id,
            o.broker_offset,
            o.consumer_offset,
            diff,
            inflight,
            last
        );
        rows.push(json!({
            "topic": mq.topic,
            "brokerName": mq.broker_name,
            "queueId": mq.queue_id,
            "brokerOffset": o.broker_offset,
            "consumerOffset": o.consumer_offset,
            "diff": diff,
            "inflight": inflight,
            "lastTimestamp": o.last_timestamp,
        }));
    }
    line!(text, "");
    line!(text, "Consume TPS: {:.2}", stats.consume_tps);
    line!(text, "Consume Diff Total: {diff_total}");
    line!(text, "Consume Inflight Total: {inflight_total}");
    Ok(Report::new(
        text,
        json!({
            "group": group,
            "queues": rows,
            "consumeTps": stats.consume_tps,
            "diffTotal": diff_total,
            "inflightTotal": inflight_total,
        }),
    ))
}

/// consumerProgress without -g: one line per group that has a retry topic.
async fn all_groups_progress(admin: &MQAdminExt, cluster: Option<&str>) -> anyhow::Result<Report> {
    let mut text = String::new();
    line!(
        text,
        "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
        "#Group",
        "#Count",
        "#Version",
        "#Type",
        "#Model",
        "#TPS",
        "#Diff Total"
    );
    let mut rows = Vec::new();
    for topic in admin.fetch_all_topic_list().await?.topic_list {
        let Some(group) = topic.strip_prefix(mix_all::RETRY_GROUP_TOPIC_PREFIX) else {
            continue;
        };
        let (tps, diff) = match admin.examine_consume_stats(cluster, group, None).await {
            Ok(s) => (
                s.consume_tps as i64,
                s.offset_table
                    .values()
                    .map(|o| o.broker_offset - o.consumer_offset)
                    .sum::<i64>(),
            ),
            Err(_) => (0, 0),
        };
        let cc = admin
            .examine_consumer_connection_info(group, None)
            .await
            .ok();
        let count = cc.as_ref().map_or(0, |c| c.connection_set.len());
        let (version, kind, model) = match &cc {
            Some(c) if count > 0 => {
                let min = c
                    .connection_set
                    .iter()
                    .map(|x| x.version)
                    .min()
                    .unwrap_or(0);
                let push = c.consume_type == ConsumeType::ConsumePassively;
                (
                    version_desc(min).to_string(),
                    if push { "PUSH" } else { "PULL" }.to_string(),
                    if push {
                        wire_name(&c.message_model)
                    } else {
                        String::new()
                    },
                )
            }
            _ => ("OFFLINE".to_string(), String::new(), String::new()),
        };
        line!(
            text,
            "{:<64}  {:<6}  {:<24} {:<5}  {:<14}  {:<7}  {}",
            front(group, 64),
            count,
            version,
            kind,
            model,
            tps,
            diff
        );
        rows.push(json!({
            "group": group,
            "count": count,
            "version": version,
            "type": kind,
            "model": model,
            "tps": tps,
            "diffTotal": diff,
        }));
    }
    Ok(Report::new(text, json!(rows)))
}

/// `consumerConnection` options.
#[derive(clap::Args)]
pub struct ConsumerConnectionArgs {
    /// Consumer group name.
    #[arg(short = 'g', long = "consumerGroup")]
    group: String,
    /// Ask this broker only.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
}

pub(super) async fn consumer_connection(
    admin: &MQAdminExt,
    a: ConsumerConnectionArgs,
) -> anyhow::Result<Report> {
    let cc = admin
        .examine_consumer_connection_info(a.group.trim(), a.broker.as_deref())
        .await?;
    let mut text = String::new();
    line!(
        text,
        "{:<36} {:<22} {:<10} {}",
        "#ClientId",
        "#ClientAddr",
        "#Language",
        "#Version"
    );
    for c in &cc.connection_set {
        line!(
            text,
            "{:<36} {:<22} {:<10} {}",
            c.client_id,
            c.client_addr,
            c.language,
            version_desc(c.version)
        );
    }
    line!(text, "\nBelow is subscription:");
    line!(text, "{:<20} {}", "#Topic", "#SubExpression");
    for (topic, sub) in &cc.subscription_table {
        line!(text, "{:<20} {}", topic, sub.sub_string);
    }
    line!(text, "");
    line!(text, "ConsumeType: {}", wire_name(&cc.consume_type));
    line!(text, "MessageModel: {}", wire_name(&cc.message_model));
    line!(
        text,
        "ConsumeFromWhere: {}",
        wire_name(&cc.consume_from_where)
    );
    Ok(Report::new(text, serde_json::to_value(&cc)?))
}

/// `producerConnection` options.
#[derive(clap::Args)]
pub struct ProducerConnectionArgs {
    /// Producer group name.
    #[arg(short = 'g', long = "producerGroup")]
    group: String,
    /// A topic the group sends to (selects the brokers to ask).
    #[arg(short = 't', long = "topic")]
    topic: String,
}

pub(super) async fn producer_connection(
    admin: &MQAdminExt,
    a: ProducerConnectionArgs,
) -> anyhow::Result<Report> {
    let pc = admin
        .examine_producer_connection_info(a.group.trim(), a.topic.trim())
        .await?;
    let mut text = String::new();
    for (i, c) in pc.connection_set.iter().enumerate() {
        line!(
            text,
            "{:04}  {:<32} {:<22} {:<8} {}",
            i + 1,
            c.client_id,
            c.client_addr,
            c.language,
            version_desc(c.version)
        );
    }
    Ok(Report::new(text, serde_json::to_value(&pc)?))
}

/// An enum's name as RocketMQ writes it (`CONSUME_PASSIVELY`, `CLUSTERING`).
fn wire_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
