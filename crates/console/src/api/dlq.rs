//! Dead-letter queues: `%DLQ%<group>` topics, their messages, and resending them.

use std::sync::Arc;

use ferrocket_broker::mix_all::{self, DLQ_GROUP_TOPIC_PREFIX};
use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::message::{parse_record, property, string_to_properties};
use ferrocket_protocol::util::now_millis;
use ferrocket_store::MessageExtBrokerInner;
use serde::Deserialize;
use serde_json::json;

use super::message_view::record_at;
use super::messages::{messages_in_range, send_response};
use crate::http::{Request, Response};
use crate::server::ConsoleContext;

/// GET /api/dlq/groups: every group with a dead-letter topic, and how many messages it holds.
pub fn groups(ctx: &Arc<ConsoleContext>, _req: &Request) -> Response {
    let b = &ctx.broker;
    let store = &b.store;
    let items: Vec<_> = b
        .topics
        .topic_names()
        .into_iter()
        .filter_map(|t| {
            let group = t.strip_prefix(DLQ_GROUP_TOPIC_PREFIX)?.to_string();
            let queues = b
                .topics
                .with_topic(&t, |c| c.read_queue_nums.max(c.write_queue_nums))
                .unwrap_or(0);
            let messages: i64 = (0..queues)
                .map(|q| {
                    (store.get_max_offset_in_queue(&t, q) - store.get_min_offset_in_queue(&t, q))
                        .max(0)
                })
                .sum();
            Some(json!({ "group": group, "topic": t, "messages": messages }))
        })
        .collect();
    Response::json(&json!({ "total": items.len(), "items": items }))
}

/// GET /api/dlq?group=&begin=&end=&limit=: the group's dead letters, newest first.
pub fn list(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let group = match req.required("group") {
        Ok(g) => g,
        Err(r) => return r,
    };
    let topic = mix_all::dlq_topic(group);
    let (begin, end, limit) = match (
        req.number("begin", 0i64),
        req.number("end", now_millis()),
        req.number("limit", 100usize),
    ) {
        (Ok(b), Ok(e), Ok(l)) => (b, e, l.clamp(1, 2000)),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    match messages_in_range(ctx, &topic, begin, end, limit) {
        Some((total, items)) => {
            Response::json(&json!({ "topic": topic, "total": total, "items": items }))
        }
        None => Response::json(&json!({ "topic": topic, "total": 0, "items": [] })),
    }
}

/// The body of POST /api/dlq/resend.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResendForm {
    group: String,
    /// CommitLog offset of the dead letter.
    commit_log_offset: i64,
    /// `"topic"` (default): back to the original topic (RETRY_TOPIC), for every subscriber;
    /// `"group"`: to `%RETRY%<group>`, so only the group that gave up consumes it again.
    #[serde(default)]
    target: Option<String>,
}

/// POST /api/dlq/resend: stores a copy of a dead letter where it can be consumed again.
pub async fn resend(ctx: Arc<ConsoleContext>, req: Request) -> Response {
    let form: ResendForm = match req.json() {
        Ok(f) => f,
        Err(r) => return r,
    };
    let b = &ctx.broker;
    let dlq = mix_all::dlq_topic(&form.group);
    let Some(record) = record_at(b, form.commit_log_offset) else {
        return Response::error(
            404,
            format!("no message at CommitLog offset {}", form.commit_log_offset),
        );
    };
    let Ok(view) = parse_record(&record) else {
        return Response::error(500, "the dead letter cannot be decoded");
    };
    if view.topic_lossy() != dlq {
        return Response::error(
            400,
            format!(
                "the message at offset {} is not in {dlq}",
                form.commit_log_offset
            ),
        );
    }
    let mut properties = string_to_properties(&view.properties_lossy());
    // RETRY_TOPIC holds the topic the message was first consumed from
    let Some(origin) = properties.get(property::RETRY_TOPIC).map(String::from) else {
        return Response::error(
            400,
            "the dead letter has no RETRY_TOPIC property naming its original topic",
        );
    };
    let to_group = match form.target.as_deref() {
        None | Some("topic") => false,
        Some("group") => true,
        Some(other) => {
            return Response::error(
                400,
                format!("target must be \"topic\" or \"group\", not \"{other}\""),
            )
        }
    };
    if !perm::is_writeable(b.broker_config().broker_permission) {
        return Response::error(403, "the broker's brokerPermission forbids writes");
    }
    let (topic, queues) = if to_group {
        let config = b.groups.find_subscription_group_config(&form.group);
        let queues = config.map(|c| c.retry_queue_nums).unwrap_or(1).max(1);
        let retry = mix_all::retry_topic(&form.group);
        b.topics
            .create_topic_in_send_message_back_method(&retry, queues, perm::READ_WRITE, 0);
        (retry, queues)
    } else {
        match b.topics.select_topic_config(&origin) {
            Some(c) if c.write_queue_nums > 0 => (origin.clone(), c.write_queue_nums),
            _ => {
                return Response::error(
                    404,
                    format!("the original topic[{origin}] does not exist any more"),
                )
            }
        }
    };
    for p in [
        property::DELAY,
        property::REAL_TOPIC,
        property::REAL_QID,
        property::WAIT,
    ] {
        properties.remove(p);
    }
    if !to_group {
        properties.remove(property::RETRY_TOPIC);
    }
    let queue_id = (view.queue_offset.unsigned_abs() % queues as u64) as i32;
    let mut msg = MessageExtBrokerInner::from_stored(&view, &record, topic, queue_id, &properties);
    msg.store_host = b.store_host;
    msg.reconsume_times = 0;
    msg.prepared_transaction_offset = 0;
    tracing::info!(group = %form.group, to = %msg.topic, offset = form.commit_log_offset, "dead letter resent from the console");
    let topic = msg.topic.clone();
    send_response(&topic, b.send.put_message(msg).await)
}
