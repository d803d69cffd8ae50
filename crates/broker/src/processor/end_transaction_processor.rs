//! `EndTransactionProcessor`: END_TRANSACTION (37) commits or rolls back a half message.

use std::sync::Arc;

use ferrocket_protocol::code::response;
use ferrocket_protocol::header::transaction::EndTransactionRequestHeader;
use ferrocket_protocol::message::{find_property, parse_record, property, sys_flag};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::decode_header;
use super::error;
use crate::broker_controller::BrokerController;
use crate::topic::topic_validator::RMQ_SYS_TRANS_HALF_TOPIC;
use crate::transaction::transactional_message_bridge::{build_op_message, end_message_transaction};

/// Handles END_TRANSACTION. Java clients send it one-way, so the reply is usually dropped.
pub async fn process(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, EndTransactionRequestHeader);
    let commit = match h.commit_or_rollback {
        sys_flag::TRANSACTION_COMMIT => true,
        sys_flag::TRANSACTION_ROLLBACK => false,
        _ => {
            tracing::debug!(producer = %channel.remote_addr(), msg_id = %h.msg_id, "transaction still unknown");
            return None;
        }
    };
    let store = broker.message_store();
    let Some(record) = store.look_message_by_offset(h.commit_log_offset) else {
        return error(
            &request,
            response::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        );
    };
    let Ok(view) = parse_record(&record) else {
        return error(
            &request,
            response::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        );
    };
    let properties = view.properties_lossy();
    if view.topic != RMQ_SYS_TRANS_HALF_TOPIC.as_bytes() {
        return error(
            &request,
            response::SYSTEM_ERROR,
            "the offset does not point at a half message",
        );
    }
    if find_property(&properties, property::PGROUP) != Some(h.producer_group.as_str()) {
        return error(&request, response::SYSTEM_ERROR, "The producer group wrong");
    }
    if view.queue_offset != h.tran_state_table_offset {
        return error(
            &request,
            response::SYSTEM_ERROR,
            "The transaction state table offset wrong",
        );
    }
    if view.physical_offset != h.commit_log_offset {
        return error(
            &request,
            response::SYSTEM_ERROR,
            "The commit log offset wrong",
        );
    }
    if !h.from_transaction_check {
        let immunity = find_property(&properties, property::CHECK_IMMUNITY_TIME_IN_SECONDS)
            .and_then(|v| v.trim().parse::<i64>().ok());
        if let Some(secs) = immunity {
            if ferrocket_protocol::util::now_millis() - view.born_timestamp > secs * 1000 {
                return error(
                    &request,
                    response::ILLEGAL_OPERATION,
                    "the transaction is being checked",
                );
            }
        }
    }
    if commit {
        let Some(mut msg) = end_message_transaction(&view, &record) else {
            return error(
                &request,
                response::SYSTEM_ERROR,
                "the half message has no REAL_TOPIC",
            );
        };
        // a committed message honours its delay level or timer, as RocketMQ's put hooks do
        if let Err(status) = broker
            .timer_message_store()
            .transform_timer_message(&mut msg)
        {
            tracing::warn!(half_offset = view.queue_offset, status = %status, "the committed message's timer was refused; delivering it now");
        }
        broker
            .schedule_message_service()
            .transform_delay_level_message(&mut msg);
        let result = store.put_message(msg).await;
        if !result.is_ok() {
            return error(&request, response::SYSTEM_ERROR, result.status.as_str());
        }
        broker.broker_stats_manager().inc_put(1);
    }
    let op = build_op_message(view.queue_offset, broker.store_host());
    let result = store.put_message(op).await;
    if !result.is_ok() {
        tracing::warn!(half_offset = view.queue_offset, status = %result.status, "marking a half message done failed; it will be checked again");
    }
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}
