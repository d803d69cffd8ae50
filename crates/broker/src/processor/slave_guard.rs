//! Requests a slave refuses, with the codes and remarks of RocketMQ 4.9 (whose slave refuses
//! writes with an explanation; 5.x answers SYSTEM_BUSY for sends and accepts topic and group
//! changes, which then diverge from the master's and are overwritten by SlaveSynchronize).
//! Sends are refused by `SendService` itself, so that every transport refuses them.

use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::RemotingCommand;

/// The refusal of `request` when this broker is a slave (`slave`), or `None` to process it.
pub(crate) fn refuse_on_slave(slave: bool, request: &RemotingCommand) -> Option<RemotingCommand> {
    if !slave {
        return None;
    }
    let (code, remark): (i32, String) = match request.code {
        // the store status name, as RocketMQ's send-back path answers
        rq::CONSUMER_SEND_MSG_BACK => (response::SYSTEM_ERROR, "SERVICE_NOT_AVAILABLE".into()),
        rq::END_TRANSACTION => (
            response::SLAVE_NOT_AVAILABLE,
            "this broker is a slave: end transactions on the master".into(),
        ),
        rq::UPDATE_AND_CREATE_TOPIC
        | rq::DELETE_TOPIC_IN_BROKER
        | rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
        | rq::DELETE_SUBSCRIPTIONGROUP => (
            response::SYSTEM_ERROR,
            "Can't modify topic or subscription group from slave broker, please execute it from \
             master broker."
                .into(),
        ),
        // a pop writes checkpoints and an ack writes ack records: only the master keeps them
        rq::POP_MESSAGE
        | rq::ACK_MESSAGE
        | rq::BATCH_ACK_MESSAGE
        | rq::CHANGE_MESSAGE_INVISIBLETIME
        | rq::SET_MESSAGE_REQUEST_MODE => (
            response::SLAVE_NOT_AVAILABLE,
            "this broker is a slave: pop and acknowledge on the master".into(),
        ),
        rq::INVOKE_BROKER_TO_RESET_OFFSET => (
            response::SYSTEM_ERROR,
            "Can not reset offset in slave broker".into(),
        ),
        _ => return None,
    };
    Some(RemotingCommand::error_to(request, code, remark))
}
