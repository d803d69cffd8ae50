//! Ordered-consumption queue locks: LOCK_BATCH_MQ, UNLOCK_BATCH_MQ.

use std::sync::Arc;

use ferrocket_protocol::body::queue::{LockBatchRequestBody, LockBatchResponseBody};
use ferrocket_protocol::RemotingCommand;

use super::{ok, ok_json};
use crate::broker_controller::BrokerController;
use crate::processor::decode_body;

pub(super) fn lock_batch_mq(
    broker: &Arc<BrokerController>,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, LockBatchRequestBody);
    let locked = broker.rebalance_lock_manager().try_lock_batch(
        &body.consumer_group,
        &body.mq_set,
        &body.client_id,
    );
    ok_json(
        &request,
        &LockBatchResponseBody {
            lock_ok_mq_set: locked,
        },
    )
}

pub(super) fn unlock_batch_mq(
    broker: &Arc<BrokerController>,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, LockBatchRequestBody);
    broker.rebalance_lock_manager().unlock_batch(
        &body.consumer_group,
        &body.mq_set,
        &body.client_id,
    );
    ok(&request)
}
