//! Consumer groups (lag per queue, connections, offset reset) and producers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::broker_view::BrokerView;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{matches, page_params, paginate, Page};
use crate::http::{Request, Response};
use crate::server::ConsoleContext;

/// Every group the broker knows: configured, online, or with committed offsets.
pub fn all_group_names(b: &BrokerView) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = b
        .groups
        .snapshot()
        .subscription_group_table
        .into_keys()
        .collect();
    names.extend(b.consumers.group_names());
    names.extend(b.offsets.topic_group_pairs().into_iter().map(|(_, g)| g));
    names
}

/// One queue's consumption state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueLag {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// Next offset the broker will write.
    pub broker_offset: i64,
    /// The group's committed offset (-1: none yet).
    pub consumer_offset: i64,
    /// Messages not consumed yet.
    pub lag: i64,
    /// Store time of the last consumed message (0 when none).
    pub last_timestamp: i64,
}

/// Topics a group consumes: those with committed offsets and those its members subscribe to.
fn group_topics(b: &BrokerView, group: &str, offsets: Option<&[(String, String)]>) -> Vec<String> {
    let mut topics: BTreeSet<String> = match offsets {
        Some(pairs) => pairs
            .iter()
            .filter(|(_, g)| g == group)
            .map(|(t, _)| t.clone())
            .collect(),
        None => b.offsets.which_topic_by_consumer(group),
    };
    if let Some(info) = b.consumers.get_consumer_group_info(group) {
        topics.extend(info.subscription_table.into_keys());
    }
    topics.into_iter().collect()
}

/// Per-queue lag of `group` over its topics.
pub fn queue_lags(b: &BrokerView, group: &str, topics: &[String]) -> Vec<QueueLag> {
    let store = &b.store;
    let offsets = &b.offsets;
    let mut out = Vec::new();
    for topic in topics {
        let Some(config) = b.topics.select_topic_config(topic) else {
            continue;
        };
        for queue_id in 0..config.read_queue_nums.max(config.write_queue_nums) {
            let broker_offset = store.get_max_offset_in_queue(topic, queue_id).max(0);
            let consumer_offset = offsets.query_offset(group, topic, queue_id);
            let last_timestamp = if consumer_offset > 0 {
                store
                    .get_message_store_timestamp(topic, queue_id, consumer_offset - 1)
                    .max(0)
            } else {
                0
            };
            out.push(QueueLag {
                topic: topic.clone(),
                queue_id,
                broker_offset,
                consumer_offset,
                lag: (broker_offset - consumer_offset.max(0)).max(0),
                last_timestamp,
            });
        }
    }
    out
}

/// Total lag of every group with committed offsets, for the metrics endpoint.
pub fn lag_by_group(b: &BrokerView) -> BTreeMap<String, i64> {
    let pairs = b.offsets.topic_group_pairs();
    let mut by_group: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, g) in pairs {
        by_group.entry(g).or_default().push(t);
    }
    by_group
        .into_iter()
        .map(|(g, topics)| {
            let lag = queue_lags(b, &g, &topics).iter().map(|q| q.lag).sum();
            (g, lag)
        })
        .collect()
}

/// One row of the group list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupRow {
    group: String,
    online: bool,
    client_count: usize,
    message_model: Option<String>,
    consume_type: Option<String>,
    topics: Vec<String>,
    lag: i64,
}

fn enum_name<T: Serialize>(v: &T) -> Option<String> {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
}

/// GET /api/groups?q=&page=&size=
pub fn list(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let (page, size) = match page_params(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let q = req.param("q").unwrap_or("").trim();
    let b = &ctx.broker;
    let names: Vec<String> = all_group_names(b)
        .into_iter()
        .filter(|g| matches(g, q))
        .collect();
    let (total, names) = paginate(&names, page, size);
    let pairs = b.offsets.topic_group_pairs();
    let items: Vec<GroupRow> = names
        .into_iter()
        .map(|g| {
            let info = b.consumers.get_consumer_group_info(&g);
            let topics = group_topics(b, &g, Some(&pairs));
            let lag = queue_lags(b, &g, &topics).iter().map(|q| q.lag).sum();
            GroupRow {
                online: info
                    .as_ref()
                    .is_some_and(|i| !i.channel_info_table.is_empty()),
                client_count: info.as_ref().map_or(0, |i| i.channel_info_table.len()),
                message_model: info.as_ref().and_then(|i| enum_name(&i.message_model)),
                consume_type: info.as_ref().and_then(|i| enum_name(&i.consume_type)),
                topics,
                lag,
                group: g,
            }
        })
        .collect();
    Response::json(&Page {
        total,
        page,
        size,
        items,
    })
}

/// GET /api/group?group=: settings, connections, subscriptions and per-queue lag.
pub fn detail(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let group = match req.required("group") {
        Ok(g) => g,
        Err(r) => return r,
    };
    let b = &ctx.broker;
    if !all_group_names(b).contains(group) {
        return Response::error(404, format!("consumer group [{group}] not exist"));
    }
    let info = b.consumers.get_consumer_group_info(group);
    let connections: Vec<_> = info
        .as_ref()
        .map(|i| {
            i.channel_info_table
                .values()
                .map(|c| {
                    json!({
                        "clientId": c.client_id,
                        "clientAddr": c.channel.remote_addr().to_string(),
                        "language": c.language.to_string(),
                        "version": c.version,
                        "lastUpdateTimestamp": c.last_update_timestamp,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let subscriptions: Vec<_> = info
        .as_ref()
        .map(|i| i.subscription_table.values().cloned().collect())
        .unwrap_or_default();
    let topics = group_topics(b, group, None);
    let queues = queue_lags(b, group, &topics);
    let lag: i64 = queues.iter().map(|q| q.lag).sum();
    Response::json(&json!({
        "group": group,
        "config": b.groups.get(group),
        "online": !connections.is_empty(),
        "messageModel": info.as_ref().and_then(|i| enum_name(&i.message_model)),
        "consumeType": info.as_ref().and_then(|i| enum_name(&i.consume_type)),
        "consumeFromWhere": info.as_ref().and_then(|i| enum_name(&i.consume_from_where)),
        "connections": connections,
        "subscriptions": subscriptions,
        "topics": topics,
        "lag": lag,
        "queues": queues,
    }))
}

/// The body of POST /api/group/reset-offset.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOffsetForm {
    group: String,
    /// One topic, or every topic the group consumes when absent.
    #[serde(default)]
    topic: Option<String>,
    /// Store time to rewind (or advance) to, ms; the first message at or after it is next.
    timestamp: i64,
}

/// POST /api/group/reset-offset: moves the group's committed offsets to a point in time.
///
/// Online push consumers keep their own offsets in memory and commit them again; they only
/// pick the new offsets up after a restart (RocketMQ tells them with RESET_CONSUMER_CLIENT_OFFSET,
/// which this console does not send), so the answer says how many are online.
pub fn reset_offset(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let form: ResetOffsetForm = match req.json() {
        Ok(f) => f,
        Err(r) => return r,
    };
    let b = &ctx.broker;
    let topics = match form.topic.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => vec![t.to_string()],
        _ => group_topics(b, &form.group, None),
    };
    if topics.is_empty() {
        return Response::error(
            404,
            format!("consumer group [{}] consumes no topic", form.group),
        );
    }
    let store = &b.store;
    let mut queues = Vec::new();
    for topic in &topics {
        let Some(config) = b.topics.select_topic_config(topic) else {
            return Response::error(404, format!("topic[{topic}] not exist"));
        };
        for queue_id in 0..config.read_queue_nums.max(config.write_queue_nums) {
            let offset = store.get_offset_in_queue_by_time(topic, queue_id, form.timestamp, false);
            let previous = b.offsets.query_offset(&form.group, topic, queue_id);
            b.offsets
                .commit_offset("console", &form.group, topic, queue_id, offset);
            queues.push(json!({
                "topic": topic,
                "queueId": queue_id,
                "previousOffset": previous,
                "offset": offset,
            }));
        }
    }
    let online = b.consumers.client_ids(&form.group).len();
    tracing::info!(group = %form.group, timestamp = form.timestamp, "consumer offsets reset from the console");
    Response::json(&json!({
        "group": form.group,
        "timestamp": form.timestamp,
        "queues": queues,
        "onlineConsumers": online,
        "note": if online > 0 {
            "the group has online consumers: they keep their in-memory offsets and commit them again; restart them to consume from the reset offsets"
        } else {
            "offsets reset; consumers starting now begin from them"
        },
    }))
}

/// GET /api/producers: producer groups with their connections.
pub fn producers(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let q = req.param("q").unwrap_or("").trim();
    let pm = &ctx.broker.producers;
    let mut groups = pm.group_names();
    groups.sort();
    let items: Vec<_> = groups
        .into_iter()
        .filter(|g| matches(g, q))
        .map(|g| {
            let connections: Vec<_> = pm
                .get_connections(&g)
                .into_iter()
                .map(|c| {
                    json!({
                        "clientId": c.client_id,
                        "clientAddr": c.channel.remote_addr().to_string(),
                        "language": c.language.to_string(),
                        "version": c.version,
                        "lastUpdateTimestamp": c.last_update_timestamp,
                    })
                })
                .collect();
            json!({ "group": g, "connections": connections })
        })
        .collect();
    Response::json(&json!({ "total": items.len(), "items": items }))
}
