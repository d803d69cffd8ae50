//! Stored records as the console shows them: a summary row and a full view with body and
//! properties.

use crate::broker_view::BrokerView;
use bytes::Bytes;
use ferrocket_protocol::message::{decode_message_with, parse_record, property, DecodeOptions};
use ferrocket_protocol::util::create_message_id;
use serde::Serialize;
use serde_json::{json, Value};

/// Entries read per store call while scanning a queue.
pub const SCAN_BATCH: i32 = 32;

/// A row of a message list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageSummary {
    /// Offset message id (store host and CommitLog offset).
    pub msg_id: String,
    /// UNIQ_KEY, the id producers print.
    pub uniq_key: Option<String>,
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// Queue offset.
    pub queue_offset: i64,
    /// CommitLog offset.
    pub commit_log_offset: i64,
    /// TAGS.
    pub tags: Option<String>,
    /// KEYS.
    pub keys: Option<String>,
    /// Producer time, ms.
    pub born_timestamp: i64,
    /// Store time, ms.
    pub store_timestamp: i64,
    /// Stored body bytes.
    pub body_size: usize,
    /// Delivery attempts.
    pub reconsume_times: i32,
}

/// The summary of a stored record, `None` if it does not parse.
pub fn summarize(record: &[u8]) -> Option<MessageSummary> {
    let v = parse_record(record).ok()?;
    let props = v.properties_lossy();
    let find =
        |name: &str| ferrocket_protocol::message::find_property(&props, name).map(String::from);
    Some(MessageSummary {
        msg_id: create_message_id(v.store_host, v.physical_offset),
        uniq_key: find(property::UNIQ_KEY),
        topic: v.topic_lossy().into_owned(),
        queue_id: v.queue_id,
        queue_offset: v.queue_offset,
        commit_log_offset: v.physical_offset,
        tags: find(property::TAGS),
        keys: find(property::KEYS),
        born_timestamp: v.born_timestamp,
        store_timestamp: v.store_timestamp,
        body_size: v.body.len(),
        reconsume_times: v.reconsume_times,
    })
}

/// Everything about a stored record: summary fields, hosts, flags, every property and the
/// body (decompressed; as text when it is UTF-8, else base16).
pub fn detail(record: &Bytes) -> Option<Value> {
    let summary = summarize(record)?;
    let (m, _) = decode_message_with(record, &DecodeOptions::decompressing()).ok()?;
    let properties: serde_json::Map<String, Value> = m
        .message
        .properties
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    let (body, encoding) = match std::str::from_utf8(&m.message.body) {
        Ok(text) => (text.to_string(), "utf8"),
        Err(_) => (ferrocket_protocol::util::to_hex(&m.message.body), "hex"),
    };
    Some(json!({
        "summary": summary,
        "bornHost": m.born_host.to_string(),
        "storeHost": m.store_host.to_string(),
        "sysFlag": m.sys_flag,
        "flag": m.message.flag,
        "bodyCrc": m.body_crc,
        "storeSize": m.store_size,
        "properties": properties,
        "body": body,
        "bodyEncoding": encoding,
    }))
}

/// The record at a CommitLog offset, if it is a real message.
pub fn record_at(b: &BrokerView, commit_log_offset: i64) -> Option<Bytes> {
    let r = b.store.look_message_by_offset(commit_log_offset)?;
    parse_record(&r).ok()?;
    Some(r)
}

/// Scans queue offsets `[from, to)` of one queue, handing each record to `visit` until it
/// returns false. Returns the number of entries scanned.
pub fn scan_queue(
    b: &BrokerView,
    topic: &str,
    queue_id: i32,
    from: i64,
    to: i64,
    visit: &mut dyn FnMut(Bytes) -> bool,
) -> i64 {
    let store = &b.store;
    let mut offset = from;
    while offset < to {
        let want = ((to - offset).min(SCAN_BATCH as i64)) as i32;
        let result = store.get_message("", topic, queue_id, offset, want, i32::MAX, None);
        if result.next_begin_offset <= offset {
            break;
        }
        offset = result.next_begin_offset.min(to);
        for (record, queue_offset) in result
            .messages
            .into_iter()
            .zip(result.message_queue_offsets)
        {
            if queue_offset >= to {
                break;
            }
            if !visit(record) {
                return offset - from;
            }
        }
    }
    offset - from
}
