//! Ordered-consumption queue locks: LOCK_BATCH_MQ, UNLOCK_BATCH_MQ.

use ferrocket_protocol::body::queue::{LockBatchRequestBody, LockBatchResponseBody};
use ferrocket_protocol::RemotingCommand;

use super::{ok, ok_json};
use crate::processor::decode_body;
use crate::service::AdminService;

pub(super) fn lock_batch_mq(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, LockBatchRequestBody);
    let locked = ctx
        .locks
        .try_lock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    ok_json(
        &request,
        &LockBatchResponseBody {
            lock_ok_mq_set: locked,
        },
    )
}

pub(super) fn unlock_batch_mq(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, LockBatchRequestBody);
    ctx.locks
        .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    ok(&request)
}
