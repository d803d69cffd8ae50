//! Queue offsets: GET_MAX_OFFSET, GET_MIN_OFFSET, SEARCH_OFFSET_BY_TIMESTAMP,
//! GET_EARLIEST_MSG_STORETIME.

use ferrocket_protocol::header::queue_offset::*;
use ferrocket_protocol::RemotingCommand;

use crate::processor::{decode_header, success_with};
use crate::service::AdminService;

pub(super) fn get_max_offset(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetMaxOffsetRequestHeader);
    let offset = ctx
        .store
        .get_max_offset_in_queue(&h.topic, h.queue_id)
        .max(0);
    Some(success_with(
        &request,
        &GetMaxOffsetResponseHeader { offset },
    ))
}

pub(super) fn get_min_offset(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetMinOffsetRequestHeader);
    let offset = ctx
        .store
        .get_min_offset_in_queue(&h.topic, h.queue_id)
        .max(0);
    Some(success_with(
        &request,
        &GetMinOffsetResponseHeader { offset },
    ))
}

pub(super) fn search_offset_by_timestamp(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, SearchOffsetRequestHeader);
    let boundary = BoundaryType::parse(h.boundary_type.as_deref());
    let offset = ctx.store.get_offset_in_queue_by_time(
        &h.topic,
        h.queue_id,
        h.timestamp,
        boundary == BoundaryType::Upper,
    );
    Some(success_with(
        &request,
        &SearchOffsetResponseHeader { offset },
    ))
}

pub(super) fn get_earliest_msg_storetime(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetEarliestMsgStoretimeRequestHeader);
    let timestamp = ctx.store.get_earliest_message_time(&h.topic, h.queue_id);
    Some(success_with(
        &request,
        &GetEarliestMsgStoretimeResponseHeader { timestamp },
    ))
}
