//! `PopMessageProcessor`: POP_MESSAGE (200050), a codec over [`PopService`]: the header becomes
//! a [`PopRequest`], the [`PopResult`] the response header and the concatenated records.

use bytes::Bytes;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{PopMessageRequestHeader, PopMessageResponseHeader};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::encode_message_ext_into;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{decode_header, error};
use crate::service::pop_service::{PopRequest, PopResult, PopService, PopStatus};

/// Handles a pop; a request that waits for messages gives its worker back to its queue.
pub async fn process(
    service: &PopService,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, PopMessageRequestHeader);
    let pop = PopRequest {
        consumer_group: h.consumer_group,
        topic: h.topic,
        queue_id: h.queue_id,
        max_msg_nums: h.max_msg_nums,
        invisible_time_millis: h.invisible_time,
        poll_time_millis: h.poll_time,
        born_time_millis: h.born_time,
        init_mode: h.init_mode,
        expression_type: h.exp_type,
        expression: h.exp,
        order: h.order,
    };
    // parked: the worker serves the next request of the queue meanwhile
    match service
        .pop(&pop, crate::processor::request_queue::release_worker)
        .await
    {
        Ok(result) => Some(answer(&request, result)),
        Err(refusal) => error(&request, refusal.code, refusal.remark),
    }
}

/// The response: the header on every answer, the messages on SUCCESS.
fn answer(request: &RemotingCommand, result: PopResult) -> RemotingCommand {
    let found = !result.messages.is_empty();
    let code = match result.status {
        PopStatus::Found => response::SUCCESS,
        PopStatus::NoNewMessage => response::POLLING_TIMEOUT,
        PopStatus::PollingFull => response::POLLING_FULL,
    };
    let header = PopMessageResponseHeader {
        pop_time: result.pop_time_millis,
        invisible_time: result.invisible_time_millis,
        revive_qid: result.revive_qid,
        rest_num: result.rest_num,
        start_offset_info: found.then(|| result.start_offset_info.join(";")),
        msg_offset_info: found.then(|| result.msg_offset_info.join(";")),
        order_count_info: None,
    };
    let mut reply = reply_with(request, code, &header, found);
    if found {
        // one buffer for the batch: each body is copied once, straight from the stored record
        let mut body = Vec::with_capacity(
            result
                .messages
                .iter()
                .map(|m| m.message.body.len() + 256)
                .sum(),
        );
        for m in &result.messages {
            if let Err(e) = encode_message_ext_into(m, &mut body) {
                tracing::warn!(error = %e, "a popped message cannot be re-encoded");
            }
        }
        reply.body = Bytes::from(body);
    }
    reply
}

/// A response of the POP family (pop, peek): `header` on every answer, the store's status as the
/// remark.
pub(super) fn reply_with(
    request: &RemotingCommand,
    code: i32,
    header: &PopMessageResponseHeader,
    found: bool,
) -> RemotingCommand {
    let mut reply = RemotingCommand::response_to(request, code);
    header.write_to(&mut reply);
    let remark = if found {
        "FOUND"
    } else {
        "NO_MESSAGE_IN_QUEUE"
    };
    reply.remark = Some(remark.to_string());
    reply
}
