//! Topics: list (filtered and paginated on the server), create/update, delete, status, route.

use std::sync::Arc;

use crate::broker_view::BrokerView;
use ferrocket_broker::mix_all::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use ferrocket_broker::topic::topic_validator;
use ferrocket_protocol::body::topic::{perm, TopicConfig, TopicFilterType};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{matches, page_params, paginate, Page};
use crate::http::{Request, Response};
use crate::server::ConsoleContext;

/// What kind of topic a name is.
pub fn topic_kind(broker: &BrokerView, topic: &str) -> &'static str {
    if topic.starts_with(RETRY_GROUP_TOPIC_PREFIX) {
        "retry"
    } else if topic.starts_with(DLQ_GROUP_TOPIC_PREFIX) {
        "dlq"
    } else if broker.topics.is_system_topic(topic) {
        "system"
    } else {
        "normal"
    }
}

/// One row of the topic list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicRow {
    topic: String,
    kind: &'static str,
    read_queue_nums: i32,
    write_queue_nums: i32,
    perm: i32,
    order: bool,
    /// Messages currently held (sum of max - min over the queues).
    messages: i64,
}

/// GET /api/topics?q=&kind=&page=&size=
pub fn list(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let (page, size) = match page_params(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let q = req.param("q").unwrap_or("").trim();
    let kind = req.param("kind").unwrap_or("all");
    let b = &ctx.broker;
    let names: Vec<String> = b
        .topics
        .topic_names()
        .into_iter()
        .filter(|t| matches(t, q) && (kind == "all" || topic_kind(b, t) == kind))
        .collect();
    let (total, names) = paginate(&names, page, size);
    let store = &b.store;
    let items = names
        .into_iter()
        .filter_map(|t| {
            let c = b.topics.select_topic_config(&t)?;
            let messages = (0..c.read_queue_nums.max(c.write_queue_nums))
                .map(|q| {
                    (store.get_max_offset_in_queue(&t, q) - store.get_min_offset_in_queue(&t, q))
                        .max(0)
                })
                .sum();
            Some(TopicRow {
                kind: topic_kind(b, &t),
                read_queue_nums: c.read_queue_nums,
                write_queue_nums: c.write_queue_nums,
                perm: c.perm,
                order: c.order,
                messages,
                topic: t,
            })
        })
        .collect();
    Response::json(&Page {
        total,
        page,
        size,
        items,
    })
}

/// The body of POST /api/topic.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicForm {
    topic: String,
    #[serde(default = "default_queues")]
    read_queue_nums: i32,
    #[serde(default = "default_queues")]
    write_queue_nums: i32,
    #[serde(default = "default_perm")]
    perm: i32,
    #[serde(default)]
    order: bool,
}

fn default_queues() -> i32 {
    8
}

fn default_perm() -> i32 {
    perm::READ_WRITE
}

/// POST /api/topic: creates or updates a topic (RocketMQ UPDATE_AND_CREATE_TOPIC rules).
pub fn upsert(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let form: TopicForm = match req.json() {
        Ok(f) => f,
        Err(r) => return r,
    };
    let topic = form.topic.trim().to_string();
    if let Err(remark) = topic_validator::validate_topic(&topic) {
        return Response::error(400, remark);
    }
    let b = &ctx.broker;
    if b.topics.is_system_topic(&topic) {
        return Response::error(
            400,
            format!("The topic[{topic}] is conflict with system topic."),
        );
    }
    if !(1..=1024).contains(&form.read_queue_nums) || !(1..=1024).contains(&form.write_queue_nums) {
        return Response::error(400, "queue numbers must be between 1 and 1024");
    }
    if !(0..=7).contains(&form.perm) {
        return Response::error(400, "perm must be 0..7 (READ 4 | WRITE 2 | INHERIT 1)");
    }
    let existed = b.topics.select_topic_config(&topic);
    let config = TopicConfig {
        topic_name: topic.clone(),
        read_queue_nums: form.read_queue_nums,
        write_queue_nums: form.write_queue_nums,
        perm: form.perm,
        topic_filter_type: existed
            .as_ref()
            .map(|c| c.topic_filter_type)
            .unwrap_or(TopicFilterType::SingleTag),
        topic_sys_flag: existed.as_ref().map(|c| c.topic_sys_flag).unwrap_or(0),
        order: form.order,
        attributes: existed.map(|c| c.attributes).unwrap_or_default(),
    };
    b.topics.update_topic_config(config);
    tracing::info!(topic = %topic, read = form.read_queue_nums, write = form.write_queue_nums, perm = form.perm, "topic created or updated from the console");
    Response::json(&json!({ "topic": topic }))
}

/// POST /api/topic/delete?topic=
pub fn delete(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let topic = match req.required("topic") {
        Ok(t) => t.to_string(),
        Err(r) => return r,
    };
    let b = &ctx.broker;
    if b.topics.is_system_topic(&topic) {
        return Response::error(
            400,
            format!("The topic[{topic}] is conflict with system topic."),
        );
    }
    if b.topics.delete_topic_config(&topic).is_none() {
        return Response::error(404, format!("topic[{topic}] not exist"));
    }
    b.offsets.clean_offset_by_topic(&topic);
    b.store.delete_topics(std::slice::from_ref(&topic));
    tracing::info!(topic = %topic, "topic deleted from the console");
    Response::json(&json!({ "topic": topic, "deleted": true }))
}

/// GET /api/topic/status?topic=: per-queue offsets and the groups consuming it.
pub fn status(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let topic = match req.required("topic") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let b = &ctx.broker;
    let Some(config) = b.topics.select_topic_config(topic) else {
        return Response::error(404, format!("topic[{topic}] not exist"));
    };
    let store = &b.store;
    let queues: Vec<_> = (0..config.read_queue_nums.max(config.write_queue_nums))
        .map(|q| {
            let max = store.get_max_offset_in_queue(topic, q);
            let last = if max > 0 {
                store.get_message_store_timestamp(topic, q, max - 1).max(0)
            } else {
                0
            };
            json!({
                "queueId": q,
                "minOffset": store.get_min_offset_in_queue(topic, q),
                "maxOffset": max,
                "lastUpdateTimestamp": last,
            })
        })
        .collect();
    let mut groups: Vec<String> = b.offsets.which_group_by_topic(topic).into_iter().collect();
    for g in b.consumers.query_topic_consume_by_who(topic) {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    groups.sort();
    Response::json(&json!({
        "topic": topic,
        "kind": topic_kind(b, topic),
        "config": config,
        "queues": queues,
        "groups": groups,
    }))
}

/// GET /api/topic/route?topic=: the route this broker publishes for the topic.
pub fn route(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let topic = match req.required("topic") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let b = &ctx.broker;
    let Some(config) = b.topics.select_topic_config(topic) else {
        return Response::error(404, format!("topic[{topic}] not exist"));
    };
    let c = b.broker_config();
    // as registered with the name servers: a broker that is not read-write narrows every topic
    let mut queue_perm = config.perm;
    if !perm::is_writeable(c.broker_permission) || !perm::is_readable(c.broker_permission) {
        queue_perm &= c.broker_permission;
    }
    Response::json(&json!({
        "brokerDatas": [{
            "cluster": c.broker_cluster_name,
            "brokerName": c.broker_name,
            "brokerAddrs": { c.broker_id.to_string(): b.broker_addr() },
        }],
        "queueDatas": [{
            "brokerName": c.broker_name,
            "readQueueNums": config.read_queue_nums,
            "writeQueueNums": config.write_queue_nums,
            "perm": queue_perm,
            "topicSysFlag": config.topic_sys_flag,
        }],
        "namesrvAddr": c.namesrv_addr,
    }))
}
