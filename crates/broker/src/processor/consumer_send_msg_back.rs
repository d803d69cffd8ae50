//! CONSUMER_SEND_MSG_BACK (36), part of RocketMQ's `SendMessageProcessor`: a codec over
//! [`SendBackService`].

use ferrocket_protocol::code::response;
use ferrocket_protocol::header::consumer_send_msg_back::ConsumerSendMsgBackRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{decode_header, error};
use crate::service::send_back_service::{SendBackRequest, SendBackService};

/// Handles a send-back.
pub async fn process(
    service: &SendBackService,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, ConsumerSendMsgBackRequestHeader);
    let send_back = SendBackRequest {
        offset: h.offset,
        group: h.group,
        delay_level: h.delay_level,
        unit_mode: h.unit_mode,
        max_reconsume_times: h.max_reconsume_times,
        client_version: request.version,
    };
    match service.send_back(&send_back).await {
        Ok(()) => Some(RemotingCommand::response_to(&request, response::SUCCESS)),
        Err(refusal) => error(&request, refusal.code, refusal.remark),
    }
}
