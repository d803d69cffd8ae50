//! `QueryMessageProcessor`: VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12).
//!
//! The store keeps no key index, so QUERY_MESSAGE scans the topic's queues over the requested
//! time range (located by binary search on store time), bounded per request.

use std::sync::Arc;

use bytes::Bytes;
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::query_message::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::{find_property, parse_record, property};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};

use super::decode_header;
use crate::broker_controller::BrokerController;

/// Queue entries one QUERY_MESSAGE may read, over all queues.
const MAX_SCANNED_PER_QUERY: usize = 200_000;
/// `defaultQueryMaxNum`: the cap of a unique-key query.
const DEFAULT_QUERY_MAX_NUM: i32 = 32;
/// Entries read per store call while scanning.
const SCAN_BATCH: i32 = 32;

/// Handles the query codes.
pub async fn process(
    broker: &Arc<BrokerController>,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::VIEW_MESSAGE_BY_ID => view_message_by_id(broker, request),
        rq::QUERY_MESSAGE => {
            let broker = broker.clone();
            // the scan reads mapped files; keep it off the reactor threads
            tokio::task::spawn_blocking(move || query_message(&broker, request))
                .await
                .unwrap_or(None)
        }
        _ => Some(unsupported_request(&request)),
    }
}

fn view_message_by_id(
    broker: &Arc<BrokerController>,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, ViewMessageRequestHeader);
    match broker.message_store().look_message_by_offset(h.offset) {
        Some(record) => {
            let mut r = RemotingCommand::response_to(&request, response::SUCCESS);
            r.body_tail = vec![record];
            Some(r)
        }
        None => Some(RemotingCommand::error_to(
            &request,
            response::SYSTEM_ERROR,
            format!("can not find message by the offset, {}", h.offset),
        )),
    }
}

fn matches_key(properties: &str, key: &str, unique: bool) -> bool {
    if unique {
        return find_property(properties, property::UNIQ_KEY) == Some(key);
    }
    find_property(properties, property::KEYS)
        .is_some_and(|keys| keys.split(property::KEY_SEPARATOR).any(|k| k == key))
        || find_property(properties, property::UNIQ_KEY) == Some(key)
}

fn query_message(
    broker: &Arc<BrokerController>,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, QueryMessageRequestHeader);
    let unique = request.ext_bool(UNIQUE_KEY_QUERY).unwrap_or(false);
    let max_num = if unique {
        DEFAULT_QUERY_MAX_NUM
    } else {
        h.max_num
    }
    .max(1) as usize;
    let queues = broker
        .topic_config_manager()
        .with_topic(&h.topic, |t| t.read_queue_nums.max(t.write_queue_nums))
        .unwrap_or(0);
    let store = broker.message_store();
    let mut found: Vec<Bytes> = Vec::new();
    let mut scanned = 0usize;
    'queues: for queue_id in 0..queues {
        let max = store.get_max_offset_in_queue(&h.topic, queue_id);
        if max <= 0 {
            continue;
        }
        let mut offset =
            store.get_offset_in_queue_by_time(&h.topic, queue_id, h.begin_timestamp, false);
        let end = (store.get_offset_in_queue_by_time(&h.topic, queue_id, h.end_timestamp, true)
            + 1)
        .min(max);
        while offset < end {
            let result =
                store.get_message("", &h.topic, queue_id, offset, SCAN_BATCH, i32::MAX, None);
            if result.next_begin_offset <= offset {
                break;
            }
            scanned += (result.next_begin_offset - offset) as usize;
            offset = result.next_begin_offset;
            for record in result.messages {
                let Ok(view) = parse_record(&record) else {
                    continue;
                };
                if view.store_timestamp < h.begin_timestamp
                    || view.store_timestamp > h.end_timestamp
                {
                    continue;
                }
                if matches_key(&view.properties_lossy(), &h.key, unique) {
                    found.push(record.clone());
                    if found.len() >= max_num {
                        break 'queues;
                    }
                }
            }
            if scanned >= MAX_SCANNED_PER_QUERY {
                break 'queues;
            }
        }
    }
    if found.is_empty() {
        return Some(RemotingCommand::error_to(
            &request,
            response::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        ));
    }
    let mut r = RemotingCommand::response_to(&request, response::SUCCESS);
    QueryMessageResponseHeader {
        index_last_update_timestamp: ferrocket_protocol::util::now_millis(),
        index_last_update_phyoffset: store.get_max_phy_offset(),
    }
    .write_to(&mut r);
    r.body_tail = found;
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_matching() {
        let props = "KEYS\u{1}order-1 order-2\u{2}UNIQ_KEY\u{1}ABC\u{2}";
        assert!(matches_key(props, "order-2", false));
        assert!(matches_key(props, "ABC", false));
        assert!(!matches_key(props, "order", false));
        assert!(matches_key(props, "ABC", true));
        assert!(!matches_key(props, "order-1", true));
    }
}
