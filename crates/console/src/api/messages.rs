//! Message search (by topic and time range, by key, by id), message detail and sending.

use std::sync::Arc;

use ferrocket_broker::service::{SendError, SendMessageRequest, SendResult};
use ferrocket_broker::topic::topic_validator;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::send_message::{DEFAULT_TOPIC, DEFAULT_TOPIC_QUEUE_NUMS};
use ferrocket_protocol::message::{find_property, parse_record, property, Properties};
use ferrocket_protocol::util::{decode_message_id, now_millis};
use serde::Deserialize;
use serde_json::json;

use super::message_view::{detail, record_at, scan_queue, summarize, MessageSummary};
use crate::http::{Request, Response};
use crate::server::ConsoleContext;

/// Default and largest number of messages one search answers.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 2000;
/// Queue entries a key search reads at most, over all queues.
const MAX_SCANNED: i64 = 200_000;

fn queue_count(ctx: &ConsoleContext, topic: &str) -> Option<i32> {
    ctx.broker
        .topics
        .with_topic(topic, |t| t.read_queue_nums.max(t.write_queue_nums))
}

/// Newest-first messages of `topic` stored within `[begin, end]`, at most `limit`, plus the
/// number of messages in the range.
pub fn messages_in_range(
    ctx: &ConsoleContext,
    topic: &str,
    begin: i64,
    end: i64,
    limit: usize,
) -> Option<(i64, Vec<MessageSummary>)> {
    let queues = queue_count(ctx, topic)?;
    let store = &ctx.broker.store;
    let mut total = 0;
    let mut items = Vec::new();
    for q in 0..queues {
        let max = store.get_max_offset_in_queue(topic, q);
        if max <= 0 {
            continue;
        }
        let lo = store.get_offset_in_queue_by_time(topic, q, begin, false);
        let hi = (store.get_offset_in_queue_by_time(topic, q, end, true) + 1).min(max);
        if hi <= lo {
            continue;
        }
        // the boundary search lands on the closest entries; check the edges by store time
        let from = lo.max(hi - limit as i64);
        scan_queue(&ctx.broker, topic, q, from, hi, &mut |r| {
            if let Some(s) = summarize(&r) {
                if s.store_timestamp >= begin && s.store_timestamp <= end {
                    items.push(s);
                }
            }
            true
        });
        total += hi - lo;
    }
    items.sort_by(|a, b| {
        b.store_timestamp
            .cmp(&a.store_timestamp)
            .then(b.commit_log_offset.cmp(&a.commit_log_offset))
    });
    items.truncate(limit);
    Some((total, items))
}

fn limit(req: &Request) -> Result<usize, Response> {
    Ok(req.number("limit", DEFAULT_LIMIT)?.clamp(1, MAX_LIMIT))
}

/// GET /api/messages/by-time?topic=&begin=&end=&limit=
pub fn by_time(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let topic = match req.required("topic") {
        Ok(t) => t,
        Err(r) => return r,
    };
    let (begin, end, limit) = match (
        req.number("begin", 0i64),
        req.number("end", now_millis()),
        limit(req),
    ) {
        (Ok(b), Ok(e), Ok(l)) => (b, e, l),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    match messages_in_range(ctx, topic, begin, end, limit) {
        Some((total, items)) => Response::json(&json!({ "total": total, "items": items })),
        None => Response::error(404, format!("topic[{topic}] not exist")),
    }
}

fn matches_key(properties: &str, key: &str) -> bool {
    find_property(properties, property::KEYS)
        .is_some_and(|keys| keys.split(property::KEY_SEPARATOR).any(|k| k == key))
        || find_property(properties, property::UNIQ_KEY) == Some(key)
}

/// Messages of `topic` whose KEYS or UNIQ_KEY is `key`, stored within `[begin, end]`.
///
/// Answered from the index files (as QUERY_MESSAGE is); with `messageIndexEnable=false` the time
/// range is scanned instead (bounded by [`MAX_SCANNED`]; a narrower range answers faster).
fn find_by_key(
    ctx: &ConsoleContext,
    topic: &str,
    key: &str,
    begin: i64,
    end: i64,
    limit: usize,
) -> Option<(Vec<MessageSummary>, bool)> {
    let queues = queue_count(ctx, topic)?;
    let store = &ctx.broker.store;
    if store.config().message_index_enable {
        let result = store.query_message(topic, key, limit, begin, end);
        let mut found: Vec<MessageSummary> = result
            .messages
            .iter()
            .filter_map(|r| summarize(r))
            .collect();
        found.sort_by_key(|m| std::cmp::Reverse(m.store_timestamp));
        return Some((found, false));
    }
    let mut found = Vec::new();
    let mut scanned = 0;
    for q in 0..queues {
        let max = store.get_max_offset_in_queue(topic, q);
        if max <= 0 {
            continue;
        }
        let lo = store.get_offset_in_queue_by_time(topic, q, begin, false);
        let hi = (store.get_offset_in_queue_by_time(topic, q, end, true) + 1).min(max);
        let budget = (MAX_SCANNED - scanned).max(0);
        scanned += scan_queue(&ctx.broker, topic, q, lo, hi.min(lo + budget), &mut |r| {
            let Ok(v) = parse_record(&r) else { return true };
            if v.store_timestamp >= begin
                && v.store_timestamp <= end
                && matches_key(&v.properties_lossy(), key)
            {
                found.extend(summarize(&r));
            }
            found.len() < limit
        });
        if found.len() >= limit || scanned >= MAX_SCANNED {
            break;
        }
    }
    found.sort_by_key(|m| std::cmp::Reverse(m.store_timestamp));
    Some((found, scanned >= MAX_SCANNED))
}

/// GET /api/messages/by-key?topic=&key=&begin=&end=&limit=
pub fn by_key(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let (topic, key) = match (req.required("topic"), req.required("key")) {
        (Ok(t), Ok(k)) => (t, k),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let (begin, end, limit) = match (
        req.number("begin", 0i64),
        req.number("end", now_millis()),
        limit(req),
    ) {
        (Ok(b), Ok(e), Ok(l)) => (b, e, l),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    match find_by_key(ctx, topic, key, begin, end, limit) {
        Some((items, truncated)) => Response::json(&json!({
            "total": items.len(),
            "items": items,
            "scanLimitReached": truncated,
        })),
        None => Response::error(404, format!("topic[{topic}] not exist")),
    }
}

/// GET /api/message?id=&topic= or ?offset=: one message with body and properties.
///
/// `id` is an offset message id (decoded to its CommitLog offset) or, with `topic`, a unique
/// key (UNIQ_KEY, the id producers report).
pub fn get(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let record = if let Some(offset) = req.param("offset").filter(|s| !s.is_empty()) {
        let Ok(offset) = offset.trim().parse::<i64>() else {
            return Response::error(400, "offset is not a number");
        };
        record_at(&ctx.broker, offset)
    } else {
        let id = match req.required("id") {
            Ok(i) => i,
            Err(r) => return r,
        };
        let by_offset = decode_message_id(id).and_then(|(_, off)| record_at(&ctx.broker, off));
        by_offset.or_else(|| {
            let topic = req.param("topic").filter(|t| !t.is_empty())?;
            let (found, _) = find_by_key(ctx, topic, id, 0, now_millis(), 1)?;
            let s = found
                .into_iter()
                .find(|s| s.uniq_key.as_deref() == Some(id))?;
            record_at(&ctx.broker, s.commit_log_offset)
        })
    };
    match record.as_ref().and_then(detail) {
        Some(d) => Response::json(&d),
        None => Response::error(
            404,
            "no message with this id (an offset id, or a unique key together with its topic)",
        ),
    }
}

/// The body of POST /api/message/send.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendForm {
    topic: String,
    #[serde(default)]
    tags: Option<String>,
    #[serde(default)]
    keys: Option<String>,
    #[serde(default)]
    body: String,
    #[serde(default)]
    properties: std::collections::BTreeMap<String, String>,
}

/// POST /api/message/send: stores a message on an existing topic, like a producer's send.
pub async fn send(ctx: Arc<ConsoleContext>, req: Request) -> Response {
    let form: SendForm = match req.json() {
        Ok(f) => f,
        Err(r) => return r,
    };
    let b = &ctx.broker;
    if topic_validator::is_not_allowed_send_topic(&form.topic) {
        return Response::error(
            400,
            format!("Sending message to topic[{}] is forbidden.", form.topic),
        );
    }
    if !ferrocket_protocol::body::topic::perm::is_writeable(b.broker_config().broker_permission) {
        return Response::error(
            403,
            format!(
                "the broker[{}] sending message is forbidden (brokerPermission)",
                b.broker_config().broker_ip1
            ),
        );
    }
    let Some(config) = b.topics.select_topic_config(&form.topic) else {
        return Response::error(
            404,
            format!("topic[{}] not exist, create it first", form.topic),
        );
    };
    if config.write_queue_nums <= 0
        || !ferrocket_protocol::body::topic::perm::is_writeable(config.perm)
    {
        return Response::error(400, format!("the topic[{}] is not writeable", form.topic));
    }
    let mut properties = Properties::new();
    for (k, v) in &form.properties {
        properties.insert(k.as_str(), v.as_str());
    }
    if let Some(t) = form.tags.as_deref().filter(|t| !t.is_empty()) {
        properties.insert(property::TAGS, t);
    }
    if let Some(k) = form.keys.as_deref().filter(|k| !k.is_empty()) {
        properties.insert(property::KEYS, k);
    }
    // the broker's own send path: delay levels, timers and transactions behave as over the wire
    let request = SendMessageRequest {
        topic: form.topic.clone(),
        default_topic: DEFAULT_TOPIC.to_string(),
        default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
        queue_id: -1,
        sys_flag: 0,
        born_timestamp: now_millis(),
        flag: 0,
        properties,
        reconsume_times: 0,
        max_reconsume_times: None,
        batch: false,
        body: form.body.into_bytes().into(),
        born_host: b.store_host,
    };
    let result = b.send.send_message(request).await;
    send_response(&form.topic, result)
}

/// Answers a console send or resend with the ids the message got.
pub fn send_response(topic: &str, result: Result<SendResult, SendError>) -> Response {
    match result {
        Ok(r) if r.code == response::SUCCESS => Response::json(&json!({
            "topic": topic,
            "queueId": r.queue_id,
            "queueOffset": r.queue_offset,
            "msgId": r.msg_id,
            "uniqKey": r.transaction_id,
            "status": r.status.as_str(),
        })),
        Ok(r) => Response::error(
            503,
            format!("the store refused the message: {}", r.status.as_str()),
        ),
        Err(e) => {
            let status = match e.code {
                response::TOPIC_NOT_EXIST | response::SUBSCRIPTION_GROUP_NOT_EXIST => 404,
                response::NO_PERMISSION => 403,
                response::MESSAGE_ILLEGAL | response::INVALID_PARAMETER => 400,
                _ => 503,
            };
            Response::error(status, e.remark)
        }
    }
}
