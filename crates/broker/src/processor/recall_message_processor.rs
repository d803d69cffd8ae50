//! `RecallMessageProcessor`: RECALL_MESSAGE (370, RocketMQ 5.3.2+) withdraws a timer message
//! before it is due, through the send path's [`SendService::recall_message`].

use ferrocket_protocol::header::transaction::{
    RecallMessageRequestHeader, RecallMessageResponseHeader,
};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{decode_header, error, success_with};
use crate::service::SendService;

/// Handles RECALL_MESSAGE; the response carries the recalled message's UNIQ_KEY.
pub async fn process(
    send: &SendService,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, RecallMessageRequestHeader);
    let group = h.producer_group.as_deref().unwrap_or_default();
    match send
        .recall_message(group, &h.topic, &h.recall_handle, channel.remote_addr())
        .await
    {
        Ok(msg_id) => Some(success_with(
            &request,
            &RecallMessageResponseHeader { msg_id },
        )),
        Err(e) => error(&request, e.code, e.remark),
    }
}
