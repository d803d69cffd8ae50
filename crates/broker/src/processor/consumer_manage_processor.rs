//! `ConsumerManageProcessor`: GET_CONSUMER_LIST_BY_GROUP (38), QUERY_CONSUMER_OFFSET (14),
//! UPDATE_CONSUMER_OFFSET (15).

use std::sync::Arc;

use ferrocket_protocol::body::heartbeat::ConsumerIdList;
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::client::GetConsumerListByGroupRequestHeader;
use ferrocket_protocol::header::consumer_offset::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};

use super::{decode_header, success_with};
use crate::client::ConsumerManager;
use crate::offset::ConsumerOffsetManager;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;
use ferrocket_store::DefaultMessageStore;

/// What the consumer management codes use.
pub struct ConsumerManageContext {
    /// Where a group without an offset starts (the queue's first message still in memory).
    pub store: Arc<DefaultMessageStore>,
    /// Offsets are committed only for existing topics.
    pub topics: Arc<TopicConfigManager>,
    /// ... and existing groups.
    pub groups: Arc<SubscriptionGroupManager>,
    /// Live consumer groups.
    pub consumers: Arc<ConsumerManager>,
    /// Committed consumer offsets.
    pub offsets: Arc<ConsumerOffsetManager>,
}

/// Handles the consumer management codes.
pub fn process(
    ctx: &ConsumerManageContext,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::GET_CONSUMER_LIST_BY_GROUP => get_consumer_list_by_group(ctx, request),
        rq::QUERY_CONSUMER_OFFSET => query_consumer_offset(ctx, request),
        rq::UPDATE_CONSUMER_OFFSET => update_consumer_offset(ctx, channel, request),
        _ => Some(unsupported_request(&request)),
    }
}

fn get_consumer_list_by_group(
    ctx: &ConsumerManageContext,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let header = decode_header!(request, GetConsumerListByGroupRequestHeader);
    let ids = ctx.consumers.client_ids(&header.consumer_group);
    if ids.is_empty() {
        return Some(RemotingCommand::error_to(
            &request,
            response::SYSTEM_ERROR,
            format!("no consumer for this group, {}", header.consumer_group),
        ));
    }
    let body = ConsumerIdList {
        consumer_id_list: ids,
    };
    Some(
        RemotingCommand::response_to(&request, response::SUCCESS)
            .with_body(ferrocket_protocol::body::encode(&body)),
    )
}

fn query_consumer_offset(
    ctx: &ConsumerManageContext,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, QueryConsumerOffsetRequestHeader);
    let offset = ctx
        .offsets
        .query_offset(&h.consumer_group, &h.topic, h.queue_id);
    if offset >= 0 {
        return Some(success_with(
            &request,
            &QueryConsumerOffsetResponseHeader { offset },
        ));
    }
    if h.set_zero_if_not_found == Some(false) {
        return Some(RemotingCommand::error_to(
            &request,
            response::QUERY_NOT_FOUND,
            "Not found, do not set to zero, maybe this group boot first",
        ));
    }
    // A group with no offset on a queue whose first message (offset 0) is still in memory starts
    // there: the client then reads everything, whatever its consumeFromWhere says. Otherwise
    // QUERY_NOT_FOUND lets the client apply CONSUME_FROM_LAST_OFFSET / TIMESTAMP / FIRST.
    let store = &ctx.store;
    let min = store.get_min_offset_in_queue(&h.topic, h.queue_id);
    if min <= 0 && store.check_in_mem_by_consume_offset(&h.topic, h.queue_id, 0) {
        return Some(success_with(
            &request,
            &QueryConsumerOffsetResponseHeader { offset: 0 },
        ));
    }
    Some(RemotingCommand::error_to(
        &request,
        response::QUERY_NOT_FOUND,
        "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
    ))
}

fn update_consumer_offset(
    ctx: &ConsumerManageContext,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, UpdateConsumerOffsetRequestHeader);
    if !ctx.groups.contains(&h.consumer_group) {
        return Some(RemotingCommand::error_to(
            &request,
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("Group {} not exist!", h.consumer_group),
        ));
    }
    if ctx.topics.select_topic_config(&h.topic).is_none() {
        return Some(RemotingCommand::error_to(
            &request,
            response::TOPIC_NOT_EXIST,
            format!("Topic {} not exist!", h.topic),
        ));
    }
    ctx.offsets.commit_offset(
        &channel.remote_addr().to_string(),
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        h.commit_offset,
    );
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}
