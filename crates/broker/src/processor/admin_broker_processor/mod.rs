//! `AdminBrokerProcessor`: topics, subscription groups, offsets, statistics, connections and
//! queue locks — every code no other processor claims. Unknown codes get
//! REQUEST_CODE_NOT_SUPPORTED.

mod broker_config_admin;
mod connection_admin;
mod consumer_admin;
mod fastjson_body;
mod group_admin;
mod ha_admin;
mod lock_admin;
mod offset_admin;
mod reset_offset_admin;
mod stats_admin;
mod topic_admin;

use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};
use serde::Serialize;

use crate::service::AdminService;

pub use ha_admin::ha_runtime_info;

/// Handles the admin codes.
pub async fn process(
    ctx: &AdminService,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::UPDATE_AND_CREATE_TOPIC => topic_admin::update_and_create_topic(ctx, request).await,
        rq::DELETE_TOPIC_IN_BROKER => topic_admin::delete_topic(ctx, request),
        rq::GET_ALL_TOPIC_CONFIG => topic_admin::get_all_topic_config(ctx, request),
        rq::GET_TOPIC_CONFIG => topic_admin::get_topic_config(ctx, request),
        rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => {
            group_admin::update_and_create_subscription_group(ctx, request)
        }
        rq::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
            group_admin::get_all_subscription_group(ctx, request)
        }
        rq::DELETE_SUBSCRIPTIONGROUP => group_admin::delete_subscription_group(ctx, request),
        rq::GET_BROKER_RUNTIME_INFO => ha_admin::get_broker_runtime_info(ctx, request).await,
        rq::UPDATE_BROKER_CONFIG => broker_config_admin::update_broker_config(ctx, request),
        rq::GET_BROKER_CONFIG => stats_admin::get_broker_config(ctx, request),
        rq::GET_TOPIC_STATS_INFO => stats_admin::get_topic_stats_info(ctx, request),
        rq::GET_CONSUME_STATS => stats_admin::get_consume_stats(ctx, request),
        rq::GET_CONSUMER_CONNECTION_LIST => {
            connection_admin::get_consumer_connection_list(ctx, request)
        }
        rq::GET_PRODUCER_CONNECTION_LIST => {
            connection_admin::get_producer_connection_list(ctx, request)
        }
        rq::QUERY_TOPIC_CONSUME_BY_WHO => {
            connection_admin::query_topic_consume_by_who(ctx, request)
        }
        rq::QUERY_TOPICS_BY_CONSUMER => connection_admin::query_topics_by_consumer(ctx, request),
        rq::GET_MAX_OFFSET => offset_admin::get_max_offset(ctx, request),
        rq::GET_MIN_OFFSET => offset_admin::get_min_offset(ctx, request),
        rq::SEARCH_OFFSET_BY_TIMESTAMP => offset_admin::search_offset_by_timestamp(ctx, request),
        rq::GET_EARLIEST_MSG_STORETIME => offset_admin::get_earliest_msg_storetime(ctx, request),
        rq::INVOKE_BROKER_TO_RESET_OFFSET => {
            reset_offset_admin::invoke_broker_to_reset_offset(ctx, request)
        }
        rq::GET_BROKER_HA_STATUS => ha_admin::get_broker_ha_status(ctx, request),
        rq::GET_ALL_CONSUMER_OFFSET => Some(
            RemotingCommand::response_to(&request, response::SUCCESS)
                .with_body(ctx.offsets.encode_all()),
        ),
        rq::GET_ALL_DELAY_OFFSET => Some(
            RemotingCommand::response_to(&request, response::SUCCESS)
                .with_body(ctx.schedule.encode_offsets()),
        ),
        rq::LOCK_BATCH_MQ => lock_admin::lock_batch_mq(ctx, request),
        rq::UNLOCK_BATCH_MQ => lock_admin::unlock_batch_mq(ctx, request),
        rq::GET_CONSUMER_RUNNING_INFO => {
            consumer_admin::get_consumer_running_info(ctx, request).await
        }
        rq::CONSUME_MESSAGE_DIRECTLY => {
            consumer_admin::consume_message_directly(ctx, request).await
        }
        _ => Some(unsupported_request(&request)),
    }
}

fn ok(request: &RemotingCommand) -> Option<RemotingCommand> {
    Some(RemotingCommand::response_to(request, response::SUCCESS))
}

fn ok_json<T: Serialize>(request: &RemotingCommand, body: &T) -> Option<RemotingCommand> {
    Some(
        RemotingCommand::response_to(request, response::SUCCESS)
            .with_body(ferrocket_protocol::body::encode(body)),
    )
}

fn error(
    request: &RemotingCommand,
    code: i32,
    remark: impl Into<String>,
) -> Option<RemotingCommand> {
    Some(RemotingCommand::error_to(request, code, remark))
}
