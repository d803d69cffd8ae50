//! Results of puts and gets, with RocketMQ's status names.

use bytes::Bytes;

/// Outcome of a put (RocketMQ `PutMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutMessageStatus {
    /// Stored (and flushed if SYNC_FLUSH).
    PutOk,
    /// Stored, but the flush did not finish within `syncFlushTimeout`.
    FlushDiskTimeout,
    /// Stored, but the slave did not acknowledge in time.
    FlushSlaveTimeout,
    /// Stored, but no slave is available.
    SlaveNotAvailable,
    /// The store is shut down or not writeable.
    ServiceNotAvailable,
    /// A new CommitLog segment could not be created (e.g. disk full).
    CreateMappedFileFailed,
    /// The message breaks a size or format rule.
    MessageIllegal,
    /// The properties exceed 32767 bytes.
    PropertiesSizeExceeded,
    /// The put lock is held too long.
    OsPageCacheBusy,
    /// Anything else.
    UnknownError,
    /// Too few in-sync replicas.
    InSyncReplicasNotEnough,
    /// Forwarding to a remote broker failed.
    PutToRemoteBrokerFail,
    /// Too many LMQ consume queues.
    LmqConsumeQueueNumExceeded,
    /// Timer wheel flow control.
    WheelTimerFlowControl,
    /// Illegal timer message.
    WheelTimerMsgIllegal,
    /// Timer wheel disabled.
    WheelTimerNotEnable,
}

impl PutMessageStatus {
    /// RocketMQ's name (`PUT_OK`, ...).
    pub fn as_str(self) -> &'static str {
        use PutMessageStatus::*;
        match self {
            PutOk => "PUT_OK",
            FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
            ServiceNotAvailable => "SERVICE_NOT_AVAILABLE",
            CreateMappedFileFailed => "CREATE_MAPPED_FILE_FAILED",
            MessageIllegal => "MESSAGE_ILLEGAL",
            PropertiesSizeExceeded => "PROPERTIES_SIZE_EXCEEDED",
            OsPageCacheBusy => "OS_PAGE_CACHE_BUSY",
            UnknownError => "UNKNOWN_ERROR",
            InSyncReplicasNotEnough => "IN_SYNC_REPLICAS_NOT_ENOUGH",
            PutToRemoteBrokerFail => "PUT_TO_REMOTE_BROKER_FAIL",
            LmqConsumeQueueNumExceeded => "LMQ_CONSUME_QUEUE_NUM_EXCEEDED",
            WheelTimerFlowControl => "WHEEL_TIMER_FLOW_CONTROL",
            WheelTimerMsgIllegal => "WHEEL_TIMER_MSG_ILLEGAL",
            WheelTimerNotEnable => "WHEEL_TIMER_NOT_ENABLE",
        }
    }

    /// Whether the message is stored (RocketMQ `PutMessageResult.isOk`).
    pub fn is_ok(self) -> bool {
        matches!(
            self,
            PutMessageStatus::PutOk
                | PutMessageStatus::FlushDiskTimeout
                | PutMessageStatus::FlushSlaveTimeout
                | PutMessageStatus::SlaveNotAvailable
        )
    }
}

impl std::fmt::Display for PutMessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a put landed (RocketMQ `AppendMessageResult`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessageResult {
    /// CommitLog offset of the first record.
    pub wrote_offset: i64,
    /// Bytes of all records written.
    pub wrote_bytes: i32,
    /// Offset message id(s), comma-joined for batches.
    pub msg_id: String,
    /// Store timestamp given to the record(s).
    pub store_timestamp: i64,
    /// Queue offset of the first record.
    pub logics_offset: i64,
    /// Number of records.
    pub msg_num: i32,
}

/// Result of a put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutMessageResult {
    /// Status.
    pub status: PutMessageStatus,
    /// Where it landed, when stored.
    pub append: Option<AppendMessageResult>,
}

impl PutMessageResult {
    /// A put that stored nothing.
    pub fn failure(status: PutMessageStatus) -> Self {
        PutMessageResult {
            status,
            append: None,
        }
    }

    /// Whether the message is stored.
    pub fn is_ok(&self) -> bool {
        self.status.is_ok()
    }
}

/// Outcome of a get (RocketMQ `GetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetMessageStatus {
    /// Messages returned.
    Found,
    /// Entries scanned, none matched the filter.
    NoMatchedMessage,
    /// A CommitLog segment being deleted.
    MessageWasRemoving,
    /// No entry at an offset inside the queue range.
    OffsetFoundNull,
    /// Offset beyond max + 1.
    OffsetOverflowBadly,
    /// Offset equals max.
    OffsetOverflowOne,
    /// Offset below min.
    OffsetTooSmall,
    /// The queue does not exist.
    NoMatchedLogicQueue,
    /// The queue is empty.
    NoMessageInQueue,
}

impl GetMessageStatus {
    /// RocketMQ's name (`FOUND`, ...).
    pub fn as_str(self) -> &'static str {
        use GetMessageStatus::*;
        match self {
            Found => "FOUND",
            NoMatchedMessage => "NO_MATCHED_MESSAGE",
            MessageWasRemoving => "MESSAGE_WAS_REMOVING",
            OffsetFoundNull => "OFFSET_FOUND_NULL",
            OffsetOverflowBadly => "OFFSET_OVERFLOW_BADLY",
            OffsetOverflowOne => "OFFSET_OVERFLOW_ONE",
            OffsetTooSmall => "OFFSET_TOO_SMALL",
            NoMatchedLogicQueue => "NO_MATCHED_LOGIC_QUEUE",
            NoMessageInQueue => "NO_MESSAGE_IN_QUEUE",
        }
    }
}

impl std::fmt::Display for GetMessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of a get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetMessageResult {
    /// Status.
    pub status: GetMessageStatus,
    /// The offset the consumer should ask for next.
    pub next_begin_offset: i64,
    /// Queue min offset.
    pub min_offset: i64,
    /// Queue max offset (exclusive).
    pub max_offset: i64,
    /// Whole stored records, zero-copy slices of the CommitLog.
    pub messages: Vec<Bytes>,
    /// Queue offset of each returned record.
    pub message_queue_offsets: Vec<i64>,
    /// Sum of the record sizes.
    pub total_size: usize,
}

impl GetMessageResult {
    /// Reads one byte of every page the records span, so that cold pages are faulted in here
    /// (call it on the blocking pool, next to the read) and not later on an async worker that
    /// decodes or sends the records.
    pub fn touch_pages(&self) {
        const PAGE: usize = 4096;
        let mut sum = 0u8;
        for m in &self.messages {
            for b in m.iter().step_by(PAGE) {
                sum = sum.wrapping_add(*b);
            }
        }
        std::hint::black_box(sum);
    }

    pub(crate) fn empty(status: GetMessageStatus, next: i64, min: i64, max: i64) -> Self {
        GetMessageResult {
            status,
            next_begin_offset: next,
            min_offset: min,
            max_offset: max,
            messages: Vec::new(),
            message_queue_offsets: Vec::new(),
            total_size: 0,
        }
    }

    /// Number of returned messages.
    pub fn message_count(&self) -> usize {
        self.messages.len()
    }
}
