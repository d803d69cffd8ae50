//! `EndTransactionProcessor`: END_TRANSACTION (37) commits or rolls back a half message.

use std::sync::Arc;

use bytes::Bytes;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::transaction::EndTransactionRequestHeader;
use ferrocket_protocol::message::{find_property, parse_record, property, sys_flag, RecordView};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::decode_header;
use super::error;
use crate::schedule::ScheduleMessageService;
use crate::stats::broker_stats_manager::BrokerStatsManager;
use crate::timer::TimerMessageStore;
use crate::topic::topic_validator::RMQ_SYS_TRANS_HALF_TOPIC;
use crate::transaction::transactional_message_bridge::{build_op_message, end_message_transaction};
use ferrocket_store::DefaultMessageStore;
use std::net::SocketAddr;

/// What END_TRANSACTION uses.
pub struct EndTransactionContext {
    /// The half message is read and the committed one stored.
    pub store: Arc<DefaultMessageStore>,
    /// A committed message honours its timer ...
    pub timer: Arc<TimerMessageStore>,
    /// ... and its delay level.
    pub schedule: Arc<ScheduleMessageService>,
    /// Message counters.
    pub stats: Arc<BrokerStatsManager>,
    /// The store host written into op messages.
    pub store_host: SocketAddr,
}

/// Handles END_TRANSACTION. Java clients send it one-way, so the reply is usually dropped.
/// Validate the half message against the request, store the committed message (a commit),
/// then mark the half message done.
pub async fn process(
    ctx: &EndTransactionContext,
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
    let record = match read_half_message(ctx, &h) {
        Ok(record) => record,
        Err((code, remark)) => return error(&request, code, remark),
    };
    let Ok(view) = parse_record(&record) else {
        return error(
            &request,
            response::SYSTEM_ERROR,
            "Find prepared transaction message failed",
        );
    };
    if commit {
        if let Err(remark) = commit_half_message(ctx, &view, &record).await {
            return error(&request, response::SYSTEM_ERROR, remark);
        }
    }
    let op = build_op_message(view.queue_offset, ctx.store_host);
    let result = ctx.store.put_message(op).await;
    if !result.is_ok() {
        tracing::warn!(half_offset = view.queue_offset, status = %result.status, "marking a half message done failed; it will be checked again");
    }
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}

/// The half message the request names, once it matches the request (producer group, queue
/// and commit log offsets, check immunity).
fn read_half_message(
    ctx: &EndTransactionContext,
    h: &EndTransactionRequestHeader,
) -> Result<Bytes, (i32, &'static str)> {
    const NOT_FOUND: (i32, &str) = (
        response::SYSTEM_ERROR,
        "Find prepared transaction message failed",
    );
    let record = ctx
        .store
        .look_message_by_offset(h.commit_log_offset)
        .ok_or(NOT_FOUND)?;
    let view = parse_record(&record).map_err(|_| NOT_FOUND)?;
    let properties = view.properties_lossy();
    if view.topic != RMQ_SYS_TRANS_HALF_TOPIC.as_bytes() {
        return Err((
            response::SYSTEM_ERROR,
            "the offset does not point at a half message",
        ));
    }
    if find_property(&properties, property::PGROUP) != Some(h.producer_group.as_str()) {
        return Err((response::SYSTEM_ERROR, "The producer group wrong"));
    }
    if view.queue_offset != h.tran_state_table_offset {
        return Err((
            response::SYSTEM_ERROR,
            "The transaction state table offset wrong",
        ));
    }
    if view.physical_offset != h.commit_log_offset {
        return Err((response::SYSTEM_ERROR, "The commit log offset wrong"));
    }
    if !h.from_transaction_check {
        let immunity = find_property(&properties, property::CHECK_IMMUNITY_TIME_IN_SECONDS)
            .and_then(|v| v.trim().parse::<i64>().ok());
        if let Some(secs) = immunity {
            if ferrocket_protocol::util::now_millis() - view.born_timestamp > secs * 1000 {
                return Err((
                    response::ILLEGAL_OPERATION,
                    "the transaction is being checked",
                ));
            }
        }
    }
    Ok(record)
}

/// Stores the committed message under its real topic; an error is the reply's remark.
async fn commit_half_message(
    ctx: &EndTransactionContext,
    view: &RecordView<'_>,
    record: &Bytes,
) -> Result<(), String> {
    let Some(mut msg) = end_message_transaction(view, record) else {
        return Err("the half message has no REAL_TOPIC".into());
    };
    // a committed message honours its delay level or timer, as RocketMQ's put hooks do
    if let Err(status) = ctx.timer.transform_timer_message(&mut msg) {
        tracing::warn!(half_offset = view.queue_offset, status = %status, "the committed message's timer was refused; delivering it now");
    }
    ctx.schedule.transform_delay_level_message(&mut msg);
    let result = ctx.store.put_message(msg).await;
    if !result.is_ok() {
        return Err(result.status.as_str().to_string());
    }
    ctx.stats.inc_put(1);
    Ok(())
}
