//! `TransactionalMessageBridge`: how half messages, their "op" (done) marks and committed
//! messages are laid out in the store.
//!
//! A half message lives in `RMQ_SYS_TRANS_HALF_TOPIC` queue 0 with its real topic and queue in
//! `REAL_TOPIC`/`REAL_QID`; resolving it appends its half-queue offset (text, `,`-terminated,
//! tag `d`) to `RMQ_SYS_TRANS_OP_HALF_TOPIC` queue 0.

use std::net::SocketAddr;

use ferrocket_protocol::message::{
    property, string_to_properties, sys_flag, Properties, RecordView,
};
use ferrocket_store::MessageExtBrokerInner;

use crate::topic::topic_validator::{RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC};

/// Tag of op messages (`TransactionalMessageUtil.REMOVE_TAG`).
pub const REMOVE_TAG: &str = "d";
/// Terminates each offset in an op message body.
pub const OFFSET_SEPARATOR: char = ',';

/// Turns a prepared message into its half form (`parseHalfMessageInner`).
pub fn parse_half_message_inner(msg: &mut MessageExtBrokerInner, properties: &mut Properties) {
    if let Some(uniq) = properties.get(property::UNIQ_KEY).map(str::to_string) {
        properties.insert(property::TRANSACTION_ID, uniq);
    }
    properties.insert(property::REAL_TOPIC, msg.topic.as_str());
    properties.insert(property::REAL_QID, msg.queue_id.to_string());
    msg.sys_flag = sys_flag::reset_transaction_value(msg.sys_flag, sys_flag::TRANSACTION_NOT_TYPE);
    msg.topic = RMQ_SYS_TRANS_HALF_TOPIC.to_string();
    msg.queue_id = 0;
    msg.set_properties(properties);
}

/// The op message marking the half message at `half_queue_offset` as resolved.
pub fn build_op_message(half_queue_offset: i64, store_host: SocketAddr) -> MessageExtBrokerInner {
    let mut properties = Properties::new();
    properties.insert(property::TAGS, REMOVE_TAG);
    properties.insert(property::WAIT, "false");
    let mut msg = MessageExtBrokerInner::new(
        RMQ_SYS_TRANS_OP_HALF_TOPIC,
        0,
        format!("{half_queue_offset}{OFFSET_SEPARATOR}").into_bytes(),
    );
    msg.born_host = store_host;
    msg.store_host = store_host;
    msg.set_properties(&properties);
    msg
}

/// The half-queue offsets an op message body lists.
pub fn parse_op_body(body: &[u8]) -> Vec<i64> {
    String::from_utf8_lossy(body)
        .split(OFFSET_SEPARATOR)
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// The committed message for a half message (`endMessageTransaction`): real topic and queue,
/// COMMIT transaction type, the half's commit-log offset as prepared offset.
pub fn end_message_transaction(
    view: &RecordView<'_>,
    record: &bytes::Bytes,
) -> Option<MessageExtBrokerInner> {
    let mut properties = string_to_properties(&view.properties_lossy());
    let topic = properties.remove(property::REAL_TOPIC)?;
    let queue_id = properties
        .remove(property::REAL_QID)
        .and_then(|q| q.trim().parse().ok())
        .unwrap_or(0);
    properties.remove(property::TRAN_MSG);
    properties.insert(property::WAIT, "false");
    let mut msg = MessageExtBrokerInner::from_stored(view, record, topic, queue_id, &properties);
    msg.sys_flag = sys_flag::reset_transaction_value(view.sys_flag, sys_flag::TRANSACTION_COMMIT);
    msg.prepared_transaction_offset = view.physical_offset;
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_form_keeps_the_real_destination() {
        let mut msg = MessageExtBrokerInner::new("Orders", 3, &b"x"[..]);
        msg.sys_flag = sys_flag::TRANSACTION_PREPARED;
        let mut props: Properties = [("UNIQ_KEY", "U1"), ("TRAN_MSG", "true"), ("PGROUP", "pg")]
            .into_iter()
            .collect();
        parse_half_message_inner(&mut msg, &mut props);
        assert_eq!(
            (msg.topic.as_str(), msg.queue_id),
            (RMQ_SYS_TRANS_HALF_TOPIC, 0)
        );
        assert_eq!(
            sys_flag::transaction_value(msg.sys_flag),
            sys_flag::TRANSACTION_NOT_TYPE
        );
        assert_eq!(msg.property(property::REAL_TOPIC), Some("Orders"));
        assert_eq!(msg.property(property::REAL_QID), Some("3"));
        assert_eq!(msg.property(property::TRANSACTION_ID), Some("U1"));
    }

    #[test]
    fn op_bodies_round_trip() {
        let host = "127.0.0.1:10911".parse().unwrap();
        let op = build_op_message(42, host);
        assert_eq!(op.body.as_ref(), b"42,");
        assert_eq!(op.property(property::TAGS), Some("d"));
        assert_eq!(parse_op_body(b"12,13,17,"), [12, 13, 17]);
        assert!(parse_op_body(b"garbage").is_empty());
    }
}
