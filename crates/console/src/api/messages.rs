//! Message search (by topic and time range, by key, by id), message detail and sending.

use std::sync::Arc;

use ferrocket_broker::message_id::create_uniq_id;
use ferrocket_broker::topic::topic_validator;
use ferrocket_protocol::message::{find_property, parse_record, property, Properties};
use ferrocket_protocol::util::{decode_message_id, now_millis};
use ferrocket_store::MessageExtBrokerInner;
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
        .topic_config_manager()
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
    let store = ctx.broker.message_store();
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
    let store = ctx.broker.message_store();
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
    let Some(config) = b.topic_config_manager().select_topic_config(&form.topic) else {
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
    let uniq = create_uniq_id();
    properties.insert(property::UNIQ_KEY, uniq.as_str());
    properties.insert(
        property::CLUSTER,
        b.broker_config().broker_cluster_name.as_str(),
    );
    let queue_id = (rand_index() % config.write_queue_nums as u64) as i32;
    let mut msg = MessageExtBrokerInner::new(form.topic.clone(), queue_id, form.body.into_bytes());
    msg.born_host = b.store_host();
    msg.store_host = b.store_host();
    msg.set_properties(&properties);
    put(&ctx, msg, &uniq).await
}

/// Stores `msg` and answers with its ids.
pub async fn put(ctx: &ConsoleContext, msg: MessageExtBrokerInner, uniq: &str) -> Response {
    let b = &ctx.broker;
    let topic = msg.topic.clone();
    let queue_id = msg.queue_id;
    let result = b.message_store().put_message(msg).await;
    b.broker_stats_manager().on_put(&topic, &result);
    match (result.is_ok(), result.append) {
        (true, Some(a)) => {
            b.broker_stats_manager().inc_put(1);
            Response::json(&json!({
                "topic": topic,
                "queueId": queue_id,
                "queueOffset": a.logics_offset,
                "msgId": a.msg_id,
                "uniqKey": uniq,
                "status": result.status.as_str(),
            }))
        }
        _ => Response::error(
            503,
            format!("the store refused the message: {}", result.status.as_str()),
        ),
    }
}

/// A cheap random index (queue choice needs no cryptographic quality).
fn rand_index() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_millis());
    h.finish()
}
