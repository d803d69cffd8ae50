//! `ReplyMessageProcessor`: SEND_REPLY_MESSAGE (324) and SEND_REPLY_MESSAGE_V2 (325).
//!
//! The replying side of request-reply (`producer.request`) sends its reply here; the broker pushes
//! it at once (PUSH_REPLY_MESSAGE_TO_CLIENT, 326) to the requester's connection, found by the
//! reply's REPLY_TO_CLIENT property among the producer connections, and with
//! `storeReplyMessageEnable` also stores it in `<cluster>_REPLY_TOPIC`. The answer is SUCCESS only
//! when the push succeeded, as in Apache: a requester that has gone away is a SYSTEM_ERROR naming it.
//! Checks and the store go through the [`SendService`], as a send does.

use std::time::Duration;

use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::send_message::{
    SendMessageRequestHeader, SendMessageResponseHeader,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::{properties_to_string, property, Properties};
use ferrocket_protocol::util::now_millis;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::MessageExtBrokerInner;

use super::header_error;
use super::send_message_processor::{to_send_request, with_region};
use crate::client::producer_manager::ProducerManager;
use crate::service::send_service::{SendMessageRequest, SendService};

/// How long the broker waits for the requester to acknowledge a pushed reply (Apache's
/// `callClient` timeout).
const PUSH_REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// Handles 324 and 325.
pub async fn process(
    send: &SendService,
    producers: &ProducerManager,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let config = send.broker_config();
    let h = match SendMessageRequestHeader::decode_for_code(&request) {
        Ok(h) => h,
        Err(e) => return Some(with_region(&config, header_error(&request, e))),
    };
    let unit_mode = h.unit_mode.unwrap_or(false);
    let producer_group = h.producer_group.clone();
    let mut req = to_send_request(&request, channel, h);
    let queue_id = match send.check_reply(&req) {
        Ok(q) => q,
        Err(e) => {
            let refused = RemotingCommand::error_to(&request, e.code, e.remark);
            return Some(with_region(&config, refused));
        }
    };
    crate::service::send_service::stamp_region_and_trace(&config, &mut req.properties);
    let target = PushTarget {
        producers,
        producer_group: &producer_group,
        unit_mode,
        store_host: send.store_host(),
    };
    let pushed = target.push(&request, &mut req).await;
    let mut answer = match pushed {
        // Apache answers msgId "0" when the reply is not stored, so that clients decode it
        Ok(()) => stored_answer(&request, "0".into(), queue_id, 0),
        Err(remark) => {
            tracing::warn!(topic = %req.topic, %remark, "reply not delivered");
            RemotingCommand::error_to(&request, response::SYSTEM_ERROR, remark)
        }
    };
    if config.store_reply_message_enable {
        let msg = reply_message(&req, queue_id, send.store_host());
        match send.store_reply(msg).await {
            Ok(r) if answer.code == response::SUCCESS => {
                answer = stored_answer(&request, r.msg_id, queue_id, r.queue_offset);
            }
            Ok(_) => {}
            // the requester has its reply, which is what the sender asked for
            Err(e) => tracing::warn!(topic = %req.topic, remark = %e.remark, "reply not stored"),
        }
    }
    Some(with_region(&config, answer))
}

fn stored_answer(
    request: &RemotingCommand,
    msg_id: String,
    queue_id: i32,
    queue_offset: i64,
) -> RemotingCommand {
    let mut r = RemotingCommand::response_to(request, response::SUCCESS);
    SendMessageResponseHeader {
        msg_id,
        queue_id,
        queue_offset,
        transaction_id: None,
        batch_uniq_id: None,
        recall_handle: None,
    }
    .write_to(&mut r);
    r
}

fn reply_message(
    req: &SendMessageRequest,
    queue_id: i32,
    store_host: std::net::SocketAddr,
) -> MessageExtBrokerInner {
    let mut msg = MessageExtBrokerInner {
        topic: req.topic.clone(),
        queue_id,
        flag: req.flag,
        sys_flag: req.sys_flag,
        body: req.body.clone(),
        born_timestamp: req.born_timestamp,
        born_host: req.born_host,
        store_host,
        reconsume_times: req.reconsume_times,
        ..Default::default()
    };
    msg.set_properties(&req.properties);
    msg
}

/// Where and how a reply is pushed.
struct PushTarget<'a> {
    producers: &'a ProducerManager,
    producer_group: &'a str,
    unit_mode: bool,
    store_host: std::net::SocketAddr,
}

impl PushTarget<'_> {
    /// Pushes the reply to the requester's connection; the error is the remark to answer with.
    async fn push(
        &self,
        request: &RemotingCommand,
        req: &mut SendMessageRequest,
    ) -> Result<(), String> {
        let Some(requester) = req
            .properties
            .get(property::REPLY_TO_CLIENT)
            .map(str::to_string)
        else {
            return Err(format!(
                "reply message properties[{}] is null",
                property::REPLY_TO_CLIENT
            ));
        };
        let Some(channel) = self.producers.find_channel(&requester) else {
            return Err(format!(
                "push reply message fail, channel of <{requester}> not found."
            ));
        };
        req.properties
            .insert(property::PUSH_REPLY_TIME, now_millis().to_string());
        let mut push = self.command(req, &req.properties);
        push.body = request.body.clone();
        match channel.invoke(push, PUSH_REPLY_TIMEOUT).await {
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

    /// PUSH_REPLY_MESSAGE_TO_CLIENT with `ReplyMessageRequestHeader`.
    fn command(&self, req: &SendMessageRequest, properties: &Properties) -> RemotingCommand {
        RemotingCommand::request(rq::PUSH_REPLY_MESSAGE_TO_CLIENT)
            .with_ext("producerGroup", self.producer_group)
            .with_ext("topic", &req.topic)
            .with_ext("defaultTopic", &req.default_topic)
            .with_ext("defaultTopicQueueNums", req.default_topic_queue_nums)
            .with_ext("queueId", req.queue_id)
            .with_ext("sysFlag", req.sys_flag)
            .with_ext("bornTimestamp", req.born_timestamp)
            .with_ext("flag", req.flag)
            .with_ext("properties", properties_to_string(properties))
            .with_ext("reconsumeTimes", req.reconsume_times)
            .with_ext("unitMode", self.unit_mode)
            .with_ext("bornHost", req.born_host)
            .with_ext("storeHost", self.store_host)
            .with_ext("storeTimestamp", now_millis())
    }
}
