//! `ChangeInvisibleTimeProcessor`: CHANGE_MESSAGE_INVISIBLETIME (200053).
//!
//! The message gets a checkpoint of its own (start offset = its offset, pop time = now) and the
//! old checkpoint's copy is acknowledged, in the same revive queue; the client builds the new
//! handle from the answer. A consumer that fails a message uses this to have it back later.

use ferrocket_protocol::body::pop::PopCheckPoint;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{
    ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use ferrocket_protocol::util::now_millis;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::ack_message_processor::{ack_of, check_handle, AckMessageContext};
use super::{decode_header, error, success_with};

/// Handles CHANGE_MESSAGE_INVISIBLETIME.
pub async fn process(
    ctx: &AckMessageContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, ChangeInvisibleTimeRequestHeader);
    let extra = match check_handle(ctx, &h.extra_info, &h.topic, h.queue_id, h.offset, false) {
        Ok(extra) => extra,
        Err((code, remark)) => return error(&request, code, remark),
    };
    let pop_time = now_millis();
    let ck = PopCheckPoint {
        start_offset: h.offset,
        pop_time,
        invisible_time: h.invisible_time,
        num: 1,
        queue_id: h.queue_id,
        topic: h.topic.clone(),
        cid: h.consumer_group.clone(),
        queue_offset_diff: vec![0],
        broker_name: Some(extra.broker_name.clone()),
        ..Default::default()
    };
    // the new checkpoint first: if the ack of the old one is lost, the message comes back twice
    // rather than never
    if let Err(e) = ctx.revive_log.append_ck(&ck, extra.revive_qid).await {
        return error(&request, response::SYSTEM_ERROR, e.to_string());
    }
    let ack = ack_of(&extra, h.consumer_group, h.topic, h.queue_id, h.offset);
    if let Err(e) = ctx.revive_log.append_ack(&ack, extra.revive_qid).await {
        tracing::warn!(error = %e, "ack of the old checkpoint not stored");
    }
    let answer = ChangeInvisibleTimeResponseHeader {
        pop_time,
        invisible_time: h.invisible_time,
        revive_qid: extra.revive_qid,
    };
    Some(success_with(&request, &answer))
}
