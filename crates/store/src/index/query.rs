//! QUERY_MESSAGE at the store (RocketMQ `DefaultMessageStore.queryMessage`): offsets from the
//! index, records from the CommitLog.

use bytes::Bytes;
use ferrocket_protocol::message::{find_property, parse_record, property};

use super::index_service::IndexService;
use crate::commit_log::CommitLog;

/// Records found for a key, and how far the index reaches.
#[derive(Debug, Clone, Default)]
pub struct QueryMessageResult {
    /// Whole stored records, oldest first.
    pub messages: Vec<Bytes>,
    /// Store time of the newest indexed record.
    pub index_last_update_timestamp: i64,
    /// CommitLog offset of the newest indexed record.
    pub index_last_update_phyoffset: i64,
}

impl QueryMessageResult {
    /// Bytes of all records.
    pub fn buffer_total_size(&self) -> usize {
        self.messages.iter().map(Bytes::len).sum()
    }
}

/// Whether a stored record really carries `key` in `topic` (the index matches hashes only).
fn record_has_key(record: &[u8], topic: &str, key: &str) -> bool {
    let Ok(view) = parse_record(record) else {
        return false;
    };
    if view.topic != topic.as_bytes() {
        return false;
    }
    let props = String::from_utf8_lossy(view.properties);
    find_property(&props, property::UNIQ_KEY) == Some(key)
        || find_property(&props, property::KEYS)
            .is_some_and(|keys| keys.split(property::KEY_SEPARATOR).any(|k| k == key))
}

/// Up to `max_num` records of `topic` with `key` (a key of KEYS or the UNIQ_KEY) stored within
/// `[begin, end]`. Like RocketMQ it retries up to three times, moving `end` back to the oldest
/// hit, when the offsets found lead to nothing readable; records of other keys that share the
/// hash are left out here rather than by the client.
pub(crate) fn query_message(
    index: &IndexService,
    commit_log: &CommitLog,
    topic: &str,
    key: &str,
    max_num: usize,
    begin: i64,
    end: i64,
) -> QueryMessageResult {
    let mut result = QueryMessageResult::default();
    let mut last_query_msg_time = end;
    for _ in 0..3 {
        let mut found = index.query_offset(topic, key, max_num, begin, last_query_msg_time);
        result.index_last_update_timestamp = found.index_last_update_timestamp;
        result.index_last_update_phyoffset = found.index_last_update_phyoffset;
        if found.phy_offsets.is_empty() {
            break;
        }
        found.phy_offsets.sort_unstable();
        found.phy_offsets.dedup();
        for (m, &offset) in found.phy_offsets.iter().enumerate() {
            let Some(record) = commit_log.look_message_by_offset(offset) else {
                continue;
            };
            if m == 0 {
                if let Ok(view) = parse_record(&record) {
                    last_query_msg_time = view.store_timestamp;
                }
            }
            if record_has_key(&record, topic, key) {
                result.messages.push(record);
            }
        }
        if !result.messages.is_empty() || last_query_msg_time < begin {
            break;
        }
    }
    result
}
