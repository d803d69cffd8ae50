//! `SendMessageProcessor`: SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).
//!
//! A thin adapter: decodes the header into a [`SendMessageRequest`], lets the [`SendService`]
//! check and store it, and encodes the result as RocketMQ's send response.

use ferrocket_protocol::code::request as rq;
use ferrocket_protocol::header::send_message::{
    SendMessageRequestHeader, SendMessageResponseHeader, MSG_REGION, TRACE_ON,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::string_to_properties;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::header_error;
use crate::broker_config::BrokerConfig;
use crate::service::send_service::{SendMessageRequest, SendResult, SendService};

/// Version from which the client's `maxReconsumeTimes` header is honoured (`V3_4_9`).
const V3_4_9: i32 = 121;

/// Handles a send.
pub async fn process(
    send: &SendService,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let config = send.broker_config();
    let header = match SendMessageRequestHeader::decode_for_code(&request) {
        Ok(h) => h,
        Err(e) => return Some(with_region(&config, header_error(&request, e))),
    };
    let reply = match send
        .send_message(to_send_request(&request, channel, header))
        .await
    {
        Ok(result) => send_response(&request, result),
        Err(e) => RemotingCommand::error_to(&request, e.code, e.remark),
    };
    Some(with_region(&config, reply))
}

/// The transport-neutral form of a remoting send.
pub(crate) fn to_send_request(
    request: &RemotingCommand,
    channel: &Channel,
    h: SendMessageRequestHeader,
) -> SendMessageRequest {
    SendMessageRequest {
        properties: string_to_properties(h.properties.as_deref().unwrap_or("")),
        topic: h.topic,
        default_topic: h.default_topic,
        default_topic_queue_nums: h.default_topic_queue_nums,
        queue_id: h.queue_id,
        sys_flag: h.sys_flag,
        born_timestamp: h.born_timestamp,
        flag: h.flag,
        reconsume_times: h.reconsume_times.unwrap_or(0),
        max_reconsume_times: h.max_reconsume_times.filter(|_| request.version >= V3_4_9),
        // Apache decides by the header's batch flag; the code alone covers clients that leave it out
        batch: request.code == rq::SEND_BATCH_MESSAGE || h.batch == Some(true),
        body: request.body.clone(),
        born_host: channel.remote_addr(),
    }
}

fn send_response(request: &RemotingCommand, result: SendResult) -> RemotingCommand {
    let header = SendMessageResponseHeader {
        msg_id: result.msg_id,
        queue_id: result.queue_id,
        queue_offset: result.queue_offset,
        transaction_id: result.transaction_id,
        batch_uniq_id: result.batch_uniq_id,
        recall_handle: result.recall_handle,
    };
    let mut r = RemotingCommand::response_to(request, result.code);
    header.write_to(&mut r);
    r
}

/// The Java broker adds MSG_REGION and TRACE_ON to every send response.
pub(crate) fn with_region(config: &BrokerConfig, r: RemotingCommand) -> RemotingCommand {
    r.with_ext(MSG_REGION, &config.region_id)
        .with_ext(TRACE_ON, config.trace_on)
}
