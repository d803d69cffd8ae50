//! `ReplyMessageProcessor`: SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325).
//!
//! The replying side of request-reply (`producer.request`) sends its reply here; the broker pushes
//! it at once (PUSH_REPLY_MESSAGE_TO_CLIENT, 326) to the requester's connection, found by the
//! reply's REPLY_TO_CLIENT property among the producer connections, and with
//! `storeReplyMessageEnable` also stores it in `<cluster>_REPLY_TOPIC`. The answer is SUCCESS only
//! when the push succeeded, as in Apache: a requester that has gone away is a SYSTEM_ERROR naming it.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::send_message::{
    SendMessageRequestHeader, SendMessageResponseHeader,
};
use ferrocket_protocol::message::property;
use ferrocket_protocol::message::{properties_to_string, string_to_properties, Properties};
use ferrocket_protocol::util::now_millis;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::MessageExtBrokerInner;

use super::header_error;
use super::send_message_processor::{
    check_body, handle_put_message_result, msg_check, random_queue_id, with_region,
};
use crate::broker_controller::BrokerController;
use crate::processor::success_with;

/// How long the broker waits for the requester to acknowledge a pushed reply (Apache's
/// `callClient` timeout).
const PUSH_REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// Handles 324 and 325.
pub async fn process(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match SendMessageRequestHeader::decode_for_code(&request) {
        Ok(h) => h,
        Err(e) => return Some(with_region(broker, header_error(&request, e))),
    };
    let reply = match reply(broker, channel, &request, h).await {
        Ok(r) => r,
        Err(r) => *r,
    };
    Some(with_region(broker, reply))
}

async fn reply(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: &RemotingCommand,
    h: SendMessageRequestHeader,
) -> Result<RemotingCommand, Box<RemotingCommand>> {
    let topic_config = msg_check(broker, channel, request, &h)?;
    check_body(broker, request)?;
    let queue_id = if h.queue_id < 0 {
        random_queue_id(topic_config.write_queue_nums)
    } else {
        h.queue_id
    };
    let mut properties = string_to_properties(h.properties.as_deref().unwrap_or(""));
    let pushed = push_reply(broker, channel, request, &h, &mut properties).await;
    let mut msg = MessageExtBrokerInner {
        topic: h.topic.clone(),
        queue_id,
        flag: h.flag,
        sys_flag: h.sys_flag,
        body: request.body.clone(),
        born_timestamp: h.born_timestamp,
        born_host: channel.remote_addr(),
        store_host: broker.store_host(),
        reconsume_times: h.reconsume_times.unwrap_or(0),
        ..Default::default()
    };
    msg.set_properties(&properties);
    let response = match pushed {
        Ok(()) => success_with(
            request,
            &SendMessageResponseHeader {
                // Apache answers "0" when the reply is not stored, so that clients decode it
                msg_id: "0".into(),
                queue_id,
                queue_offset: 0,
                transaction_id: None,
                batch_uniq_id: None,
            },
        ),
        Err(remark) => {
            tracing::warn!(topic = %h.topic, %remark, "reply not delivered");
            RemotingCommand::error_to(request, response::SYSTEM_ERROR, remark)
        }
    };
    if !broker.broker_config().store_reply_message_enable {
        return Ok(response);
    }
    let result = broker.message_store().put_message(msg).await;
    broker.broker_stats_manager().on_put(&h.topic, &result);
    if response.code != response::SUCCESS {
        // the push failed: that is the answer, whether or not the reply was also stored
        return Ok(response);
    }
    match handle_put_message_result(broker, request, result, queue_id, None, None) {
        Ok(stored) => Ok(stored),
        // pushed but not stored: the requester has its reply, which is what the sender asked
        Err(_) => Ok(response),
    }
}

/// Pushes the reply to the requester's connection; the error is the remark to answer with.
async fn push_reply(
    broker: &BrokerController,
    channel: &Channel,
    request: &RemotingCommand,
    h: &SendMessageRequestHeader,
    properties: &mut Properties,
) -> Result<(), String> {
    let Some(requester) = properties
        .get(property::REPLY_TO_CLIENT)
        .map(str::to_string)
    else {
        return Err(format!(
            "reply message properties[{}] is null",
            property::REPLY_TO_CLIENT
        ));
    };
    let Some(target) = broker.producer_manager().find_channel(&requester) else {
        return Err(format!(
            "push reply message fail, channel of <{requester}> not found."
        ));
    };
    properties.insert(property::PUSH_REPLY_TIME, now_millis().to_string());
    let mut push = RemotingCommand::request(rq::PUSH_REPLY_MESSAGE_TO_CLIENT)
        .with_ext("producerGroup", &h.producer_group)
        .with_ext("topic", &h.topic)
        .with_ext("defaultTopic", &h.default_topic)
        .with_ext("defaultTopicQueueNums", h.default_topic_queue_nums)
        .with_ext("queueId", h.queue_id)
        .with_ext("sysFlag", h.sys_flag)
        .with_ext("bornTimestamp", h.born_timestamp)
        .with_ext("flag", h.flag)
        .with_ext("properties", properties_to_string(properties))
        .with_ext("reconsumeTimes", h.reconsume_times.unwrap_or(0))
        .with_ext("unitMode", h.unit_mode.unwrap_or(false))
        .with_ext("bornHost", channel.remote_addr())
        .with_ext("storeHost", broker.store_host())
        .with_ext("storeTimestamp", now_millis());
    push.body = request.body.clone();
    match target.invoke(push, PUSH_REPLY_TIMEOUT).await {
        Ok(r) if r.code == response::SUCCESS => Ok(()),
        Ok(r) => {
            tracing::warn!(%requester, remark = ?r.remark, "requester refused the reply");
            Err(format!("push reply message to {requester} fail."))
        }
        Err(e) => {
            tracing::warn!(%requester, error = %e, "pushing the reply failed");
            Err(format!("push reply message to {requester} fail."))
        }
    }
}
