//! `AckMessageProcessor`: ACK_MESSAGE (200051) and BATCH_ACK_MESSAGE (200151), codecs over
//! [`PopService::ack`] and [`PopService::batch_ack`].

use ferrocket_protocol::body::pop::BatchAckMessageRequestBody;
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::pop::{pop_retry_topic, AckMessageRequestHeader};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};

use super::{decode_body, decode_header, error};
use crate::service::pop_service::{AckRequest, BatchAckEntry, PopService};

/// Handles ACK_MESSAGE and BATCH_ACK_MESSAGE.
pub async fn process(
    service: &PopService,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::ACK_MESSAGE => ack_message(service, request).await,
        rq::BATCH_ACK_MESSAGE => batch_ack_message(service, request).await,
        _ => Some(unsupported_request(&request)),
    }
}

async fn ack_message(service: &PopService, request: RemotingCommand) -> Option<RemotingCommand> {
    let h = decode_header!(request, AckMessageRequestHeader);
    let ack = AckRequest {
        consumer_group: h.consumer_group,
        topic: h.topic,
        queue_id: h.queue_id,
        offset: h.offset,
        extra_info: h.extra_info,
    };
    match service.ack(ack).await {
        Ok(()) => Some(RemotingCommand::response_to(&request, response::SUCCESS)),
        Err(refusal) => error(&request, refusal.code, refusal.remark),
    }
}

async fn batch_ack_message(
    service: &PopService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, BatchAckMessageRequestBody);
    if body.acks.is_empty() {
        return error(&request, response::NO_MESSAGE, "no ack in the request");
    }
    let mut entries = Vec::with_capacity(body.acks.len());
    for b in body.acks {
        let topic = if b.retry == "0" {
            b.topic.clone()
        } else {
            pop_retry_topic(&b.topic, &b.consumer_group)
        };
        let Some(offsets) = b.acked_offsets() else {
            return error(&request, response::MESSAGE_ILLEGAL, "malformed bit set");
        };
        entries.push(BatchAckEntry {
            consumer_group: b.consumer_group,
            topic,
            queue_id: b.queue_id,
            start_offset: b.start_offset,
            pop_time_millis: b.pop_time,
            revive_qid: b.revive_queue_id,
            offsets,
        });
    }
    service.batch_ack(entries).await;
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}
