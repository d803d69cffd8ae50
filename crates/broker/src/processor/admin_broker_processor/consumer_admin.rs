//! Requests an admin tool addresses to one consumer through the broker:
//! GET_CONSUMER_RUNNING_INFO (307) and CONSUME_MESSAGE_DIRECTLY (309).
//!
//! The broker finds the member by group and client id and passes the request on: as the same
//! remoting request on the member's connection, or to the transport serving it (a gRPC client's
//! Telemetry stream). The consumer's answer is relayed as the response. A member that is not
//! connected answers SYSTEM_ERROR, one that does not answer in time CONSUME_MSG_TIMEOUT.

use std::time::Duration;

use ferrocket_protocol::body::consumer_running_info::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo,
};
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::admin::{
    ConsumeMessageDirectlyResultRequestHeader, GetConsumerRunningInfoRequestHeader,
};
use ferrocket_protocol::message::decode_message;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingError;
use serde::Serialize;

use super::{error, ok_json};
use crate::client::{ConsumerAnswer, ConsumerChannel, ConsumerClientError};
use crate::processor::decode_header;
use crate::service::AdminService;

/// How long the broker waits for the consumer's answer; Apache's broker waits as long.
pub(super) const CALL_CONSUMER_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn get_consumer_running_info(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetConsumerRunningInfoRequestHeader);
    match ctx.consumers.find_channel(&h.consumer_group, &h.client_id) {
        None => not_online(&request, &h.consumer_group, &h.client_id),
        Some(ConsumerChannel::Remoting(info)) => {
            forward(&request, &info.channel, &h.consumer_group, &h.client_id).await
        }
        Some(ConsumerChannel::Client(client)) => {
            let answer = client.consumer_running_info(h.jstack_enable);
            relay::<ConsumerRunningInfo>(&request, answer, &h.consumer_group, &h.client_id).await
        }
    }
}

pub(super) async fn consume_message_directly(
    ctx: &AdminService,
    mut request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, ConsumeMessageDirectlyResultRequestHeader);
    let client_id = h.client_id.clone().unwrap_or_default();
    let Some(channel) = ctx.consumers.find_channel(&h.consumer_group, &client_id) else {
        return not_online(&request, &h.consumer_group, &client_id);
    };
    // the consumer gets the stored message as body, and learns which broker holds it
    let broker_name = ctx.config.get().broker_name.clone();
    request.ext_fields.insert("brokerName", broker_name);
    let record = h
        .msg_id
        .as_deref()
        .and_then(ferrocket_protocol::util::decode_message_id)
        .and_then(|(_, offset)| ctx.store.look_message_by_offset(offset));
    let Some(record) = record else {
        return error(
            &request,
            response::SYSTEM_ERROR,
            format!("no message with id {}", h.msg_id.unwrap_or_default()),
        );
    };
    match channel {
        ConsumerChannel::Remoting(info) => {
            request.body = record;
            forward(&request, &info.channel, &h.consumer_group, &client_id).await
        }
        ConsumerChannel::Client(client) => {
            let message = match decode_message(&record) {
                Ok((message, _)) => message,
                Err(e) => {
                    let remark = format!("stored message unreadable: {e}");
                    return error(&request, response::SYSTEM_ERROR, remark);
                }
            };
            let answer = client.consume_message_directly(message);
            relay::<ConsumeMessageDirectlyResult>(&request, answer, &h.consumer_group, &client_id)
                .await
        }
    }
}

/// The answer for a member that is not connected.
fn not_online(request: &RemotingCommand, group: &str, client_id: &str) -> Option<RemotingCommand> {
    error(
        request,
        response::SYSTEM_ERROR,
        format!("The Consumer <{group}> <{client_id}> not online"),
    )
}

/// Sends the admin request on to a remoting consumer and relays its response.
async fn forward(
    request: &RemotingCommand,
    channel: &ferrocket_remoting::Channel,
    group: &str,
    client_id: &str,
) -> Option<RemotingCommand> {
    let mut call = RemotingCommand::request(request.code);
    call.ext_fields = request.ext_fields.clone();
    call.body = request.body.clone();
    match channel.invoke(call, CALL_CONSUMER_TIMEOUT).await {
        Ok(answer) => {
            let mut r = RemotingCommand::response_to(request, answer.code);
            r.remark = answer.remark;
            r.ext_fields = answer.ext_fields;
            r.body = answer.body;
            Some(r)
        }
        Err(e @ RemotingError::Timeout { .. }) => error(
            request,
            response::CONSUME_MSG_TIMEOUT,
            format!("consumer <{group}> <{client_id}> Timeout: {e}"),
        ),
        Err(e) => error(
            request,
            response::SYSTEM_ERROR,
            format!("invoke consumer <{group}> <{client_id}> Exception: {e}"),
        ),
    }
}

/// Waits for a consumer of another transport and answers its result as the JSON body.
async fn relay<T: Serialize>(
    request: &RemotingCommand,
    answer: Result<ConsumerAnswer<T>, ConsumerClientError>,
    group: &str,
    client_id: &str,
) -> Option<RemotingCommand> {
    let outcome = match answer {
        Ok(receiver) => match tokio::time::timeout(CALL_CONSUMER_TIMEOUT, receiver).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ConsumerClientError {
                code: response::SYSTEM_ERROR,
                remark: format!("invoke consumer <{group}> <{client_id}> Exception: disconnected"),
            }),
            Err(_) => Err(ConsumerClientError {
                code: response::CONSUME_MSG_TIMEOUT,
                remark: format!(
                    "consumer <{group}> <{client_id}> Timeout: no answer in {} ms",
                    CALL_CONSUMER_TIMEOUT.as_millis()
                ),
            }),
        },
        Err(e) => Err(e),
    };
    match outcome {
        Ok(body) => ok_json(request, &body),
        Err(e) => error(request, e.code, e.remark),
    }
}
