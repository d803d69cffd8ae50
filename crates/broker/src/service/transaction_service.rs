//! `TransactionService`: the end of a transaction (commit or rollback of a half message), shared
//! by END_TRANSACTION on the remoting port and EndTransaction on the gRPC port.
//!
//! The request names the half message by its commit-log and half-queue offsets and its
//! producer group; once those match the stored half message, a commit stores the message under
//! its real topic (honouring its delay level or timer) and both outcomes append the op message
//! that marks the half message resolved.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::transaction::EndTransactionRequestHeader;
use ferrocket_protocol::message::{find_property, parse_record, property, sys_flag, RecordView};
use ferrocket_store::DefaultMessageStore;

use crate::schedule::ScheduleMessageService;
use crate::stats::broker_stats_manager::BrokerStatsManager;
use crate::timer::TimerMessageStore;
use crate::topic::topic_validator::RMQ_SYS_TRANS_HALF_TOPIC;
use crate::transaction::transactional_message_bridge::{build_op_message, end_message_transaction};

/// What a producer decided about its transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionResolution {
    /// Deliver the message.
    Commit,
    /// Drop the message.
    Rollback,
    /// Not decided yet: the half message stays and is checked back later.
    Unknown,
}

impl TransactionResolution {
    /// The resolution a remoting `commitOrRollback` value means.
    pub fn from_commit_or_rollback(value: i32) -> Self {
        match value {
            sys_flag::TRANSACTION_COMMIT => TransactionResolution::Commit,
            sys_flag::TRANSACTION_ROLLBACK => TransactionResolution::Rollback,
            _ => TransactionResolution::Unknown,
        }
    }
}

/// An end of transaction the broker refused: the remoting response code and remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("end of transaction refused ({code}): {remark}")]
pub struct TransactionError {
    /// Remoting response code (SYSTEM_ERROR, ILLEGAL_OPERATION).
    pub code: i32,
    /// Why.
    pub remark: String,
}

fn refuse<T>(code: i32, remark: impl Into<String>) -> Result<T, TransactionError> {
    Err(TransactionError {
        code,
        remark: remark.into(),
    })
}

/// Ends transactions for every transport.
pub struct TransactionService {
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

impl TransactionService {
    /// Commits or rolls back the half message `h` names. An unknown resolution changes
    /// nothing (the check-back will ask again).
    pub async fn end_transaction(
        &self,
        h: &EndTransactionRequestHeader,
    ) -> Result<TransactionResolution, TransactionError> {
        let resolution = TransactionResolution::from_commit_or_rollback(h.commit_or_rollback);
        if resolution == TransactionResolution::Unknown {
            return Ok(resolution);
        }
        let record = self.read_half_message(h)?;
        let Ok(view) = parse_record(&record) else {
            return refuse(
                response::SYSTEM_ERROR,
                "Find prepared transaction message failed",
            );
        };
        if resolution == TransactionResolution::Commit {
            if let Err(remark) = self.commit_half_message(&view, &record).await {
                return refuse(response::SYSTEM_ERROR, remark);
            }
        }
        let op = build_op_message(view.queue_offset, self.store_host);
        let result = self.store.put_message(op).await;
        if !result.is_ok() {
            tracing::warn!(half_offset = view.queue_offset, status = %result.status, "marking a half message done failed; it will be checked again");
        }
        Ok(resolution)
    }

    /// The half message the request names, once it matches the request (producer group, queue
    /// and commit log offsets, check immunity).
    fn read_half_message(
        &self,
        h: &EndTransactionRequestHeader,
    ) -> Result<Bytes, TransactionError> {
        const NOT_FOUND: &str = "Find prepared transaction message failed";
        let Some(record) = self.store.look_message_by_offset(h.commit_log_offset) else {
            return refuse(response::SYSTEM_ERROR, NOT_FOUND);
        };
        let Ok(view) = parse_record(&record) else {
            return refuse(response::SYSTEM_ERROR, NOT_FOUND);
        };
        let properties = view.properties_lossy();
        if view.topic != RMQ_SYS_TRANS_HALF_TOPIC.as_bytes() {
            return refuse(
                response::SYSTEM_ERROR,
                "the offset does not point at a half message",
            );
        }
        if find_property(&properties, property::PGROUP) != Some(h.producer_group.as_str()) {
            return refuse(response::SYSTEM_ERROR, "The producer group wrong");
        }
        if view.queue_offset != h.tran_state_table_offset {
            return refuse(
                response::SYSTEM_ERROR,
                "The transaction state table offset wrong",
            );
        }
        if view.physical_offset != h.commit_log_offset {
            return refuse(response::SYSTEM_ERROR, "The commit log offset wrong");
        }
        if !h.from_transaction_check {
            let immunity = find_property(&properties, property::CHECK_IMMUNITY_TIME_IN_SECONDS)
                .and_then(|v| v.trim().parse::<i64>().ok());
            if let Some(secs) = immunity {
                if ferrocket_protocol::util::now_millis() - view.born_timestamp > secs * 1000 {
                    return refuse(
                        response::ILLEGAL_OPERATION,
                        "the transaction is being checked",
                    );
                }
            }
        }
        Ok(record)
    }

    /// Stores the committed message under its real topic; an error is the reply's remark.
    async fn commit_half_message(
        &self,
        view: &RecordView<'_>,
        record: &Bytes,
    ) -> Result<(), String> {
        let Some(mut msg) = end_message_transaction(view, record) else {
            return Err("the half message has no REAL_TOPIC".into());
        };
        // a committed message honours its delay level or timer, as RocketMQ's put hooks do
        if let Err(status) = self.timer.transform_timer_message(&mut msg) {
            tracing::warn!(half_offset = view.queue_offset, status = %status, "the committed message's timer was refused; delivering it now");
        }
        self.schedule.transform_delay_level_message(&mut msg);
        let result = self.store.put_message(msg).await;
        if !result.is_ok() {
            return Err(result.status.as_str().to_string());
        }
        self.stats.inc_put(1);
        Ok(())
    }
}
