//! `NotificationProcessor`: NOTIFICATION (200054) — would a pop of this group find a message on
//! the queue (or on any queue with -1, or in the group's pop retry topic)? Without one the request
//! parks like a pop until a message arrives or `pollTime` ends, then answers `hasMsg`.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::body::topic::TopicConfig;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{
    pop_retry_topic, NotificationRequestHeader, NotificationResponseHeader,
};
use ferrocket_protocol::util::now_millis;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::DefaultMessageStore;
use tokio::sync::watch;

use super::{decode_header, error, success_with};
use crate::broker_config::SharedBrokerConfig;
use crate::longpolling::PullRequestHoldService;
use crate::offset::ConsumerOffsetManager;
use crate::pop::{lock_key, PopPollingCounter};
use crate::service::pop_service::{park_on, queue_ids, topic_and_queue, wait_for_arrival};
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// What a notification uses.
pub struct NotificationContext {
    pub config: SharedBrokerConfig,
    pub store: Arc<DefaultMessageStore>,
    pub topics: Arc<TopicConfigManager>,
    pub groups: Arc<SubscriptionGroupManager>,
    pub offsets: Arc<ConsumerOffsetManager>,
    pub hold: Arc<PullRequestHoldService>,
    pub polling: Arc<PopPollingCounter>,
    pub shutdown: watch::Receiver<bool>,
}

/// Handles NOTIFICATION.
pub async fn process(
    ctx: &NotificationContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, NotificationRequestHeader);
    let topic_config = match validate(ctx, &h) {
        Ok(t) => t,
        Err((code, remark)) => return error(&request, code, remark),
    };
    let retry_topic = pop_retry_topic(&h.topic, &h.consumer_group);
    let answer = |has_msg, polling_full| {
        let header = NotificationResponseHeader {
            has_msg,
            polling_full,
        };
        Some(success_with(&request, &header))
    };
    let born_time = if h.born_time <= 0 {
        now_millis()
    } else {
        h.born_time
    };
    let deadline = born_time + h.poll_time.max(0);
    if h.poll_time > 0 && ctx.polling.total() >= ctx.config.get().max_pop_polling_size {
        return answer(has_msg(ctx, &h, &topic_config, &retry_topic), true);
    }
    let queues = queue_ids(h.queue_id, &topic_config, 0);
    let tickets = park_on(&ctx.hold, &h.topic, queues, &retry_topic, None);
    if has_msg(ctx, &h, &topic_config, &retry_topic) {
        return answer(true, false);
    }
    let wait = Duration::from_millis((deadline - now_millis()).max(0) as u64);
    if !wait.is_zero() {
        crate::processor::request_queue::release_worker();
        let _counted = ctx
            .polling
            .enter(lock_key(&h.topic, &h.consumer_group, h.queue_id));
        wait_for_arrival(&tickets, wait, &ctx.shutdown).await;
    }
    answer(has_msg(ctx, &h, &topic_config, &retry_topic), false)
}

fn validate(
    ctx: &NotificationContext,
    h: &NotificationRequestHeader,
) -> Result<TopicConfig, (i32, String)> {
    let topic_config = topic_and_queue(&ctx.topics, &h.topic, h.queue_id)?;
    if ctx
        .groups
        .find_subscription_group_config(&h.consumer_group)
        .is_none()
    {
        return Err((
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{}] does not exist", h.consumer_group),
        ));
    }
    Ok(topic_config)
}

/// True when a queue the group pops (or its retry topic) holds messages past the group's offset.
fn has_msg(
    ctx: &NotificationContext,
    h: &NotificationRequestHeader,
    topic_config: &TopicConfig,
    retry_topic: &str,
) -> bool {
    let behind = |topic: &str, queue_id: i32| {
        let committed = ctx.offsets.query_offset(&h.consumer_group, topic, queue_id);
        let offset = if committed >= 0 {
            committed
        } else {
            ctx.store.get_min_offset_in_queue(topic, queue_id)
        };
        ctx.store.get_max_offset_in_queue(topic, queue_id) > offset
    };
    queue_ids(h.queue_id, topic_config, 0)
        .into_iter()
        .any(|q| behind(&h.topic, q))
        || (ctx.topics.select_topic_config(retry_topic).is_some() && behind(retry_topic, 0))
}
