//! The message index (RocketMQ `IndexService`): hash-indexed files under `{root}/index/` that map
//! `topic#key` and `topic#uniqKey` to CommitLog offsets, for QUERY_MESSAGE.
//!
//! ```text
//! {root}/index/{yyyyMMddHHmmssSSS}    one IndexFile, named by its creation time (local time)
//!   header   40 bytes    beginTimestamp i64, endTimestamp i64, beginPhyOffset i64,
//!                        endPhyOffset i64, hashSlotCount i32, indexCount i32 (starts at 1)
//!   slots    maxHashSlotNum x 4 bytes: the newest entry number of the slot (0 = empty)
//!   entries  maxIndexNum x 20 bytes: keyHash i32, phyOffset i64, timeDiff i32 (seconds
//!            after beginTimestamp), prevIndex i32 (the slot's previous entry, 0 = none)
//! ```
//!
//! On a master, entries are built by [`build_index`]'s service thread, which follows the
//! CommitLog on its own (like RocketMQ's reput service), so the put path does no index work at
//! all; on a slave, the reput thread indexes each record it dispatches. Either way a restart
//! resumes from the last indexed record without replaying anything else.

mod build_index;
mod index_file;
mod index_header;
mod index_service;
mod key_hash;
mod query;

pub(crate) use build_index::{run as run_build_index_service, IndexCursor};
pub use index_file::IndexFile;
pub use index_header::IndexHeader;
pub use index_service::{IndexService, QueryOffsetResult};
pub(crate) use query::query_message;
pub use query::QueryMessageResult;

/// Bytes of one hash slot.
pub const HASH_SLOT_SIZE: usize = 4;
/// Bytes of one index entry.
pub const INDEX_SIZE: usize = 20;
