//! `ChangeInvisibleTimeProcessor`: CHANGE_MESSAGE_INVISIBLETIME (200053), a codec over
//! [`PopService::change_invisible_time`]. The client builds the new handle from the answer; a
//! consumer that fails a message uses this to have it back later.

use ferrocket_protocol::header::pop::{
    ChangeInvisibleTimeRequestHeader, ChangeInvisibleTimeResponseHeader,
};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{decode_header, error, success_with};
use crate::service::pop_service::{AckRequest, ChangeInvisibleTimeRequest, PopService};

/// Handles CHANGE_MESSAGE_INVISIBLETIME.
pub async fn process(
    service: &PopService,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, ChangeInvisibleTimeRequestHeader);
    let change = ChangeInvisibleTimeRequest {
        ack: AckRequest {
            consumer_group: h.consumer_group,
            topic: h.topic,
            queue_id: h.queue_id,
            offset: h.offset,
            extra_info: h.extra_info,
        },
        invisible_time_millis: h.invisible_time,
    };
    match service.change_invisible_time(change).await {
        Ok(changed) => {
            let answer = ChangeInvisibleTimeResponseHeader {
                pop_time: changed.handle.pop_time,
                invisible_time: changed.handle.invisible_time,
                revive_qid: changed.handle.revive_qid,
            };
            Some(success_with(&request, &answer))
        }
        Err(refusal) => error(&request, refusal.code, refusal.remark),
    }
}
