//! `PeekMessageProcessor`: PEEK_MESSAGE (200052), what a pop of the group would return, read
//! from the group's committed offsets (the queue's first message when it has none) without a
//! checkpoint, an invisible time or an offset change. As in RocketMQ, the group's pop retry topic
//! is read first one time in five, otherwise after the topic when the batch is not full; the
//! answer is SUCCESS with the stored records, or PULL_NOT_FOUND, and `restNum` counts what is left
//! behind the read offsets.

use std::sync::Arc;

use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{
    pop_retry_topic, PeekMessageRequestHeader, PopMessageResponseHeader,
};
use ferrocket_protocol::util::now_millis;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::{DefaultMessageStore, GetMessageResult, GetMessageStatus};

use super::{decode_header, error};
use crate::broker_config::SharedBrokerConfig;
use crate::offset::ConsumerOffsetManager;
use crate::pop::MAX_POP_MSG_NUMS;
use crate::service::pop_service::topic_and_queue;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// What PEEK_MESSAGE uses.
pub struct PeekMessageContext {
    pub config: SharedBrokerConfig,
    pub store: Arc<DefaultMessageStore>,
    pub topics: Arc<TopicConfigManager>,
    pub groups: Arc<SubscriptionGroupManager>,
    pub offsets: Arc<ConsumerOffsetManager>,
}

/// The messages read so far.
#[derive(Default)]
struct Peeked {
    records: Vec<bytes::Bytes>,
    rest_num: i64,
}

/// Handles PEEK_MESSAGE.
pub async fn process(
    ctx: &PeekMessageContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, PeekMessageRequestHeader);
    if let Err((code, remark)) = validate(ctx, &h) {
        return error(&request, code, remark);
    }
    let max = h.max_msg_nums.clamp(1, MAX_POP_MSG_NUMS) as usize;
    let retry = pop_retry_topic(&h.topic, &h.consumer_group);
    let random = now_millis().rem_euclid(100) as usize;
    let retry_first = random.is_multiple_of(5);
    let mut queues: Vec<(String, i32)> = Vec::new();
    let retry_queues = read_queues(ctx, &retry, -1, random);
    if retry_first {
        queues.extend(retry_queues.iter().cloned());
    }
    queues.extend(read_queues(ctx, &h.topic, h.queue_id, random));
    if !retry_first {
        queues.extend(retry_queues);
    }
    let (store, offsets, group) = (
        ctx.store.clone(),
        ctx.offsets.clone(),
        h.consumer_group.clone(),
    );
    // the records may not be resident: read them on the blocking pool
    let read = ferrocket_store::blocking::run_blocking(move || {
        let mut peeked = Peeked::default();
        for (topic, queue_id) in queues {
            peek_queue(&store, &offsets, &group, &topic, queue_id, max, &mut peeked);
        }
        peeked
    });
    let peeked = match read.await {
        Ok(p) => p,
        Err(e) => {
            return error(
                &request,
                response::SYSTEM_ERROR,
                format!("peek failed: {e}"),
            )
        }
    };
    Some(answer(&request, peeked))
}

/// RocketMQ's checks, in its order and with its remarks.
fn validate(ctx: &PeekMessageContext, h: &PeekMessageRequestHeader) -> Result<(), (i32, String)> {
    let config = ctx.config.get();
    if !perm::is_readable(config.broker_permission) {
        return Err((
            response::NO_PERMISSION,
            format!(
                "the broker[{}] peeking message is forbidden",
                config.broker_ip1
            ),
        ));
    }
    let topic = topic_and_queue(&ctx.topics, &h.topic, h.queue_id)?;
    if !perm::is_readable(topic.perm) {
        return Err((
            response::NO_PERMISSION,
            format!("the topic[{}] peeking message is forbidden", h.topic),
        ));
    }
    match ctx.groups.find_subscription_group_config(&h.consumer_group) {
        None => Err((
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{}] does not exist", h.consumer_group),
        )),
        Some(g) if !g.consume_enable => Err((
            response::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        )),
        Some(_) => Ok(()),
    }
}

/// `(topic, queue)` pairs to read: `queue_id`, or every readable queue from `start` round.
fn read_queues(
    ctx: &PeekMessageContext,
    topic: &str,
    queue_id: i32,
    start: usize,
) -> Vec<(String, i32)> {
    let Some(config) = ctx.topics.select_topic_config(topic) else {
        return Vec::new();
    };
    if queue_id >= 0 {
        return vec![(topic.to_string(), queue_id)];
    }
    let n = config.read_queue_nums.max(0) as usize;
    (0..n)
        .map(|i| (topic.to_string(), ((start + i) % n) as i32))
        .collect()
}

/// Adds what `queue_id` holds from the group's offset, up to `max` messages in all.
fn peek_queue(
    store: &DefaultMessageStore,
    offsets: &ConsumerOffsetManager,
    group: &str,
    topic: &str,
    queue_id: i32,
    max: usize,
    peeked: &mut Peeked,
) {
    let mut offset = offsets.query_offset(group, topic, queue_id);
    if offset < 0 {
        offset = store.get_min_offset_in_queue(topic, queue_id);
    }
    peeked.rest_num += (store.get_max_offset_in_queue(topic, queue_id) - offset).max(0);
    if peeked.records.len() >= max {
        return;
    }
    let nums = (max - peeked.records.len()) as i32;
    let mut result = store.get_message(group, topic, queue_id, offset, nums, i32::MAX, None);
    // a committed offset the queue no longer (or not yet) holds: start where it does
    if matches!(
        result.status,
        GetMessageStatus::OffsetTooSmall | GetMessageStatus::OffsetOverflowBadly
    ) {
        let next = result.next_begin_offset;
        result = store.get_message(group, topic, queue_id, next, nums, i32::MAX, None);
    }
    take(result, peeked);
}

fn take(result: GetMessageResult, peeked: &mut Peeked) {
    result.touch_pages();
    peeked.records.extend(result.messages);
}

/// SUCCESS with the records, or PULL_NOT_FOUND; `restNum` on both.
fn answer(request: &RemotingCommand, peeked: Peeked) -> RemotingCommand {
    let found = !peeked.records.is_empty();
    let code = if found {
        response::SUCCESS
    } else {
        response::PULL_NOT_FOUND
    };
    let header = PopMessageResponseHeader {
        pop_time: 0,
        invisible_time: 0,
        revive_qid: 0,
        rest_num: peeked.rest_num,
        start_offset_info: None,
        msg_offset_info: None,
        order_count_info: None,
    };
    let mut reply = super::pop_message_processor::reply_with(request, code, &header, found);
    // the stored records go out as slices of the mapping, as a pull's do
    reply.body_tail = peeked.records;
    reply
}
