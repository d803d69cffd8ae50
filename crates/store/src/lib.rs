//! Ferrocket's message store, on RocketMQ's on-disk layout: a CommitLog of fixed-size
//! memory-mapped segments holding every record, one ConsumeQueue of 20-byte entries per topic
//! queue, a checkpoint, flush services (async or group commit) and crash recovery.
//!
//! ```text
//! {root}/commitlog/{20-digit offset}         records (store.md §1)
//! {root}/consumequeue/{topic}/{queueId}/...   entries (store.md §2)
//! {root}/index/{yyyyMMddHHmmssSSS}          key index (index/mod.rs)
//! {root}/checkpoint, {root}/abort, {root}/lock
//! ```

mod allocate;
pub mod blocking;
mod checkpoint;
mod clean;
mod commit_log;
mod commit_log_writer;
mod config;
pub mod config_file;
mod consume_queue;
mod consume_queue_table;
mod default_message_store;
mod disk;
mod disk_fault_injection;
mod error;
mod flush;
mod group_commit;
mod index;
mod latency_histogram;
mod mapped_file;
mod mapped_file_queue;
mod memory_residency;
mod message_filter;
mod message_inner;
mod recovery;
mod replica;
mod reput;
mod result;
mod services;
mod warm;

pub use allocate::{MappedFileAllocator, ALLOCATE_WAIT_TIMEOUT};
pub use checkpoint::StoreCheckpoint;
pub use commit_log::{CommitLog, RecordCheck};
pub use config::{BrokerRole, FlushDiskType, MessageStoreConfig};
pub use consume_queue::{ConsumeQueue, CqUnit, CQ_STORE_UNIT_SIZE};
pub use default_message_store::{DefaultMessageStore, MessageArrivingListener};
pub use disk::{disk_partition_space_used_percent, filesystem_space};
pub use disk_fault_injection::{SLOW_FLUSH_ENV, SLOW_PUT_ENV};
pub use error::StoreError;
pub use flush::{DiskFlusher, MsyncFlusher};
pub use index::{IndexFile, IndexHeader, IndexService, QueryMessageResult, QueryOffsetResult};
pub use latency_histogram::{HistogramSnapshot, LatencyHistogram, BUCKET_BOUNDS_MICROS};
pub use mapped_file::{file_name_to_offset, offset_to_file_name, MappedFile, OS_PAGE_SIZE};
pub use mapped_file_queue::MappedFileQueue;
pub use message_filter::MessageFilter;
pub use message_inner::MessageExtBrokerInner;
pub use recovery::SCHEDULE_TOPIC;
pub use replica::{SlaveAckFuture, SlaveAckWaiter};
pub use reput::AppendError;
pub use result::{
    AppendMessageResult, GetMessageResult, GetMessageStatus, PutMessageResult, PutMessageStatus,
};
