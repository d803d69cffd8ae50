//! `PollingInfoProcessor`: POLLING_INFO (200055), the number of pops and notifications parked on
//! `topic@group@queueId`.

use std::sync::Arc;

use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{PollingInfoRequestHeader, PollingInfoResponseHeader};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{decode_header, error, success_with};
use crate::pop::{lock_key, PopPollingCounter};
use crate::service::pop_service::topic_and_queue;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// What POLLING_INFO uses.
pub struct PollingInfoContext {
    pub topics: Arc<TopicConfigManager>,
    pub groups: Arc<SubscriptionGroupManager>,
    pub polling: Arc<PopPollingCounter>,
}

/// Handles POLLING_INFO.
pub fn process(
    ctx: &PollingInfoContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, PollingInfoRequestHeader);
    if let Err((code, remark)) = topic_and_queue(&ctx.topics, &h.topic, h.queue_id) {
        return error(&request, code, remark);
    }
    if !ctx.groups.contains(&h.consumer_group) {
        return error(
            &request,
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{}] does not exist", h.consumer_group),
        );
    }
    let key = lock_key(&h.topic, &h.consumer_group, h.queue_id);
    let polling_num = ctx.polling.polling_num(&key).min(i32::MAX as usize) as i32;
    Some(success_with(
        &request,
        &PollingInfoResponseHeader { polling_num },
    ))
}
