//! topicList, updateTopic, deleteTopic, topicRoute, topicStatus.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::ArgAction;
use ferrocket_client::admin::{master_addrs_of, MQAdminExt};
use ferrocket_protocol::body::topic::{TopicConfig, TopicFilterType};
use ferrocket_protocol::mix_all;
use serde_json::json;

use super::cluster::targets;
use super::output::{front, human_millis, java_map, line, perm_to_string, Report};

/// `topicList` options.
#[derive(clap::Args)]
pub struct TopicListArgs {
    /// Also print each topic's cluster and consumer groups.
    #[arg(short = 'c', long = "clusterModel")]
    cluster_model: bool,
}

pub(super) async fn topic_list(admin: &MQAdminExt, a: TopicListArgs) -> anyhow::Result<Report> {
    let topics = admin.fetch_all_topic_list().await?.topic_list;
    let mut text = String::new();
    if !a.cluster_model {
        for t in &topics {
            line!(text, "{t}");
        }
        return Ok(Report::new(text, json!(topics)));
    }
    let info = admin.examine_broker_cluster_info().await?;
    line!(
        text,
        "{:<20}  {:<48}  {:<48}",
        "#Cluster Name",
        "#Topic",
        "#Consumer Group"
    );
    let mut rows = Vec::new();
    for topic in topics
        .iter()
        .filter(|t| !mix_all::is_retry_topic(t) && !mix_all::is_dlq_topic(t))
    {
        let mut cluster = String::new();
        let mut groups = Vec::new();
        if let Ok(route) = admin.examine_topic_route_info(topic).await {
            if let Some(b) = route.broker_datas.first() {
                cluster = info
                    .cluster_addr_table
                    .iter()
                    .find(|(_, names)| names.contains(&b.broker_name))
                    .map(|(c, _)| c.clone())
                    .unwrap_or_default();
            }
            if let Ok(g) = admin.query_topic_consume_by_who(topic).await {
                groups = g.group_list.into_iter().collect();
            }
        }
        let shown = if groups.is_empty() {
            vec![String::new()]
        } else {
            groups.clone()
        };
        for g in &shown {
            line!(
                text,
                "{:<20}  {:<64}  {:<64}",
                front(&cluster, 20),
                front(topic, 64),
                front(g, 64)
            );
        }
        rows.push(json!({"clusterName": cluster, "topic": topic, "consumerGroups": groups}));
    }
    Ok(Report::new(text, json!(rows)))
}

/// `updateTopic` options.
#[derive(clap::Args)]
pub struct UpdateTopicArgs {
    /// Create the topic on this broker.
    #[arg(short = 'b', long = "brokerAddr", conflicts_with = "cluster")]
    broker: Option<String>,
    /// Create the topic on every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Read queues.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    read_queue_nums: i32,
    /// Write queues.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    write_queue_nums: i32,
    /// Permission: 2 (W), 4 (R) or 6 (RW).
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    perm: i32,
    /// Ordered topic (true|false).
    #[arg(short = 'o', long = "order", action = ArgAction::Set, default_value_t = false)]
    order: bool,
    /// Attributes, `+a=b,+c=d`.
    #[arg(short = 'a', long = "attributes")]
    attributes: Option<String>,
}

/// `TopicConfig.toString()`.
fn topic_config_string(t: &TopicConfig) -> String {
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}, attributes={}]",
        t.topic_name,
        t.read_queue_nums,
        t.write_queue_nums,
        perm_to_string(t.perm),
        t.topic_filter_type.as_str(),
        t.topic_sys_flag,
        t.order,
        java_map(&t.attributes)
    )
}

pub(super) async fn update_topic(admin: &MQAdminExt, a: UpdateTopicArgs) -> anyhow::Result<Report> {
    let mut attributes = BTreeMap::new();
    for part in a
        .attributes
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
    {
        if part.is_empty() {
            continue;
        }
        let (k, v) = part
            .strip_prefix('+')
            .and_then(|kv| kv.split_once('='))
            .ok_or_else(|| anyhow::anyhow!("attribute '{part}' must look like +key=value"))?;
        attributes.insert(k.to_string(), v.to_string());
    }
    let config = TopicConfig {
        topic_name: a.topic.trim().to_string(),
        read_queue_nums: a.read_queue_nums,
        write_queue_nums: a.write_queue_nums,
        perm: a.perm,
        topic_filter_type: TopicFilterType::SingleTag,
        topic_sys_flag: 0,
        order: a.order,
        attributes,
    };
    let addrs = targets(admin, a.broker.as_deref(), a.cluster.as_deref()).await?;
    let mut text = String::new();
    for addr in &addrs {
        admin.create_and_update_topic_config(addr, &config).await?;
        line!(text, "create topic to {addr} success.");
    }
    line!(text, "{}", topic_config_string(&config));
    Ok(Report::new(
        text,
        json!({"brokers": addrs, "topicConfig": config}),
    ))
}

/// `deleteTopic` options.
#[derive(clap::Args)]
pub struct DeleteTopicArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Delete the topic from every broker of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: String,
}

pub(super) async fn delete_topic(admin: &MQAdminExt, a: DeleteTopicArgs) -> anyhow::Result<Report> {
    let (topic, cluster) = (a.topic.trim(), a.cluster.trim());
    let info = admin.examine_broker_cluster_info().await?;
    if !info.cluster_addr_table.contains_key(cluster) {
        anyhow::bail!("cluster [{cluster}] not found in the name server");
    }
    let addrs = master_addrs_of(&info, Some(cluster));
    for addr in &addrs {
        admin.delete_topic_in_broker(addr, topic).await?;
    }
    let mut text = String::new();
    line!(
        text,
        "delete topic [{topic}] from cluster [{cluster}] success."
    );
    admin.delete_topic_in_namesrv(topic, Some(cluster)).await?;
    line!(text, "delete topic [{topic}] from NameServer success.");
    Ok(Report::new(
        text,
        json!({"topic": topic, "clusterName": cluster, "brokers": addrs}),
    ))
}

/// `topicRoute` options.
#[derive(clap::Args)]
pub struct TopicRouteArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Print a table instead of JSON.
    #[arg(short = 'l', long = "list")]
    list: bool,
}

pub(super) async fn topic_route(admin: &MQAdminExt, a: TopicRouteArgs) -> anyhow::Result<Report> {
    let route = admin.examine_topic_route_info(a.topic.trim()).await?;
    let value = serde_json::to_value(&route)?;
    let mut text = String::new();
    if !a.list {
        line!(text, "{}", serde_json::to_string_pretty(&value)?);
        return Ok(Report::new(text, value));
    }
    let row = |text: &mut String, c: &str, b: &str, addrs: &str, r: &str, w: &str, p: &str| {
        line!(
            text,
            "{:<45} {:<32} {:<50} {:<10} {:<11} {:<5}",
            c,
            b,
            addrs,
            r,
            w,
            p
        );
    };
    row(
        &mut text,
        "#ClusterName",
        "#BrokerName",
        "#BrokerAddrs",
        "#ReadQueue",
        "#WriteQueue",
        "#Perm",
    );
    let (mut total_read, mut total_write) = (0, 0);
    for b in &route.broker_datas {
        let Some(q) = route
            .queue_datas
            .iter()
            .find(|q| q.broker_name == b.broker_name)
        else {
            continue;
        };
        total_read += q.read_queue_nums;
        total_write += q.write_queue_nums;
        let addrs = java_map(
            b.broker_addrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Vec<_>>()
                .iter()
                .map(|(k, v)| (k, v)),
        );
        row(
            &mut text,
            &b.cluster,
            &b.broker_name,
            &addrs,
            &q.read_queue_nums.to_string(),
            &q.write_queue_nums.to_string(),
            &q.perm.to_string(),
        );
    }
    line!(text, "");
    row(
        &mut text,
        "Total:",
        &route.broker_datas.len().to_string(),
        "",
        &total_read.to_string(),
        &total_write.to_string(),
        "",
    );
    Ok(Report::new(text, value))
}

/// `topicStatus` options.
#[derive(clap::Args)]
pub struct TopicStatusArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
}

pub(super) async fn topic_status(admin: &MQAdminExt, a: TopicStatusArgs) -> anyhow::Result<Report> {
    let stats = admin.examine_topic_stats(a.topic.trim()).await?;
    let mut text = String::new();
    line!(
        text,
        "{:<32}  {:<4}  {:<20}  {:<20}    {}",
        "#Broker Name",
        "#QID",
        "#Min Offset",
        "#Max Offset",
        "#Last Updated"
    );
    let mut rows = Vec::new();
    for (mq, o) in &stats.offset_table {
        let last = if o.last_update_timestamp > 0 {
            human_millis(o.last_update_timestamp)
        } else {
            String::new()
        };
        line!(
            text,
            "{:<32}  {:<4}  {:<20}  {:<20}    {}",
            front(&mq.broker_name, 32),
            mq.queue_id,
            o.min_offset,
            o.max_offset,
            last
        );
        rows.push(json!({
            "brokerName": mq.broker_name,
            "queueId": mq.queue_id,
            "minOffset": o.min_offset,
            "maxOffset": o.max_offset,
            "lastUpdateTimestamp": o.last_update_timestamp,
        }));
    }
    line!(text, "");
    line!(text, "Topic Put TPS: {:?}", stats.topic_put_tps);
    Ok(Report::new(
        text,
        json!({"topic": a.topic.trim(), "queues": rows, "topicPutTps": stats.topic_put_tps}),
    ))
}
