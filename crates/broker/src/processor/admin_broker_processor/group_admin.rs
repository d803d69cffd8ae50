//! Subscription group administration: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG, DELETE_SUBSCRIPTIONGROUP.

use ferrocket_protocol::code::response;
use ferrocket_protocol::header::admin::DeleteSubscriptionGroupRequestHeader;
use ferrocket_protocol::RemotingCommand;

use super::{error, ok, ok_json};
use crate::processor::{decode_body, decode_header};
use crate::service::AdminService;
use crate::subscription::SubscriptionGroupConfig;
use crate::topic::topic_validator;

pub(super) fn update_and_create_subscription_group(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let config = decode_body!(request, SubscriptionGroupConfig);
    if let Err(remark) = topic_validator::validate_group(&config.group_name) {
        return error(&request, response::INVALID_PARAMETER, remark);
    }
    tracing::info!(group = %config.group_name, "subscription group created or updated");
    ctx.groups.update_subscription_group_config(config);
    ok(&request)
}

pub(super) fn get_all_subscription_group(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    ok_json(&request, &ctx.groups.snapshot())
}

pub(super) fn delete_subscription_group(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, DeleteSubscriptionGroupRequestHeader);
    ctx.groups.delete_subscription_group_config(&h.group_name);
    if h.clean_offset {
        ctx.offsets.remove_offset(&h.group_name);
    }
    tracing::info!(group = %h.group_name, clean_offset = h.clean_offset, "subscription group deleted");
    ok(&request)
}
