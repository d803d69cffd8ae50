//! `AckMessageProcessor`: ACK_MESSAGE (200051) and BATCH_ACK_MESSAGE (200151).
//!
//! An ack is an `ack` (or `bAck`) record in the revive queue of the message's checkpoint; the
//! revive scan pairs it with the checkpoint so the message is not delivered again. Orderly POP is
//! not served, so its handles (revive queue 999) are refused.

use std::sync::Arc;

use ferrocket_protocol::body::pop::{AckMsg, BatchAckMessageRequestBody};
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::pop::{pop_retry_topic, AckMessageRequestHeader, ExtraInfo};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};
use ferrocket_store::DefaultMessageStore;

use super::{decode_body, decode_header, error};
use crate::broker_config::SharedBrokerConfig;
use crate::pop::ReviveLog;
use crate::topic::TopicConfigManager;

/// What acks and invisible-time changes use.
pub struct AckMessageContext {
    /// `brokerName`.
    pub config: SharedBrokerConfig,
    /// Queue bounds of the acknowledged offsets.
    pub store: Arc<DefaultMessageStore>,
    /// The acknowledged topic must exist.
    pub topics: Arc<TopicConfigManager>,
    /// Where acks and checkpoints are written.
    pub revive_log: Arc<ReviveLog>,
}

/// Handles ACK_MESSAGE and BATCH_ACK_MESSAGE.
pub async fn process(
    ctx: &AckMessageContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::ACK_MESSAGE => ack_message(ctx, request).await,
        rq::BATCH_ACK_MESSAGE => batch_ack_message(ctx, request).await,
        _ => Some(unsupported_request(&request)),
    }
}

async fn ack_message(ctx: &AckMessageContext, request: RemotingCommand) -> Option<RemotingCommand> {
    let h = decode_header!(request, AckMessageRequestHeader);
    let extra = match check_handle(ctx, &h.extra_info, &h.topic, h.queue_id, h.offset, true) {
        Ok(extra) => extra,
        Err((code, remark)) => return error(&request, code, remark),
    };
    let ack = ack_of(&extra, h.consumer_group, h.topic, h.queue_id, h.offset);
    // as in RocketMQ the client is answered SUCCESS even when the record was not stored; the
    // message then simply comes back after its invisible time
    if let Err(e) = ctx.revive_log.append_ack(&ack, extra.revive_qid).await {
        tracing::warn!(error = %e, "ack not stored");
    }
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}

async fn batch_ack_message(
    ctx: &AckMessageContext,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, BatchAckMessageRequestBody);
    if body.acks.is_empty() {
        return error(&request, response::NO_MESSAGE, "no ack in the request");
    }
    let broker_name = ctx.config.get().broker_name.clone();
    for b in body.acks {
        let topic = if b.retry == "0" {
            b.topic.clone()
        } else {
            pop_retry_topic(&b.topic, &b.consumer_group)
        };
        let Some(offsets) = b.acked_offsets() else {
            return error(&request, response::MESSAGE_ILLEGAL, "malformed bit set");
        };
        let offsets: Vec<i64> = offsets
            .into_iter()
            .filter(|&o| check_queue(ctx, &topic, b.queue_id, o, true).is_ok())
            .collect();
        if offsets.is_empty() {
            continue;
        }
        let ack = AckMsg {
            ack_offset: -1,
            start_offset: b.start_offset,
            consumer_group: b.consumer_group,
            topic,
            queue_id: b.queue_id,
            pop_time: b.pop_time,
            broker_name: Some(broker_name.clone()),
            ack_offset_list: Some(offsets),
        };
        if let Err(e) = ctx.revive_log.append_ack(&ack, b.revive_queue_id).await {
            tracing::warn!(error = %e, "batch ack not stored");
        }
    }
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}

/// Reads the handle and checks the message's queue and offset ([`check_queue`]); orderly
/// handles are refused, as orderly POP is not served.
pub(crate) fn check_handle(
    ctx: &AckMessageContext,
    extra_info: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    max_inclusive: bool,
) -> Result<ExtraInfo, (i32, String)> {
    let extra =
        ExtraInfo::parse(extra_info).map_err(|e| (response::MESSAGE_ILLEGAL, e.to_string()))?;
    check_queue(ctx, topic, queue_id, offset, max_inclusive)?;
    if extra.is_order() {
        return Err((
            response::MESSAGE_ILLEGAL,
            "orderly POP is not supported by this broker".into(),
        ));
    }
    Ok(extra)
}

/// The ack record of the message at `offset` popped with the handle `extra`.
pub(crate) fn ack_of(
    extra: &ExtraInfo,
    consumer_group: String,
    topic: String,
    queue_id: i32,
    offset: i64,
) -> AckMsg {
    AckMsg {
        ack_offset: offset,
        start_offset: extra.ck_queue_offset,
        consumer_group,
        topic,
        queue_id,
        pop_time: extra.pop_time,
        broker_name: Some(extra.broker_name.clone()),
        ack_offset_list: None,
    }
}

/// The topic exists, the queue is one of its read queues and the offset lies in the queue
/// (`max` included for acks, excluded for invisible-time changes, as in RocketMQ).
pub(crate) fn check_queue(
    ctx: &AckMessageContext,
    topic: &str,
    queue_id: i32,
    offset: i64,
    max_inclusive: bool,
) -> Result<(), (i32, String)> {
    let Some(config) = ctx.topics.select_topic_config(topic) else {
        return Err((
            response::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if queue_id < 0 || queue_id >= config.read_queue_nums {
        return Err((
            response::MESSAGE_ILLEGAL,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                config.read_queue_nums
            ),
        ));
    }
    let min = ctx.store.get_min_offset_in_queue(topic, queue_id);
    let max = ctx.store.get_max_offset_in_queue(topic, queue_id);
    let above = if max_inclusive {
        offset > max
    } else {
        offset >= max
    };
    if offset < min || above {
        return Err((
            response::NO_MESSAGE,
            format!(
                "offset is illegal, key:{topic}@{queue_id}, commit:{offset}, store:{min},{max}"
            ),
        ));
    }
    Ok(())
}
