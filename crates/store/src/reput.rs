//! The slave's side of replication: raw CommitLog bytes received from a master are appended at
//! exactly their physical offsets (RocketMQ `appendToCommitLog`), and the records they complete
//! are dispatched to the ConsumeQueues (RocketMQ `ReputMessageService`).
//!
//! A transfer frame is cut at a byte count, not at a record boundary, so the CommitLog end may
//! lie inside a record. The reput offset marks the end of the last complete record: everything
//! before it has its ConsumeQueue entry, the bytes after it wait for the next frame. After a
//! crash, recovery drops a torn tail record, so the store reopens at a record boundary and the
//! slave asks the master for the rest.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrocket_protocol::message::{parse_record, peek_record_header, BLANK_MAGIC};
use thiserror::Error;

use crate::default_message_store::StoreInner;
use crate::recovery;

/// Why replicated bytes were not appended.
#[derive(Debug, Error)]
pub enum AppendError {
    /// The bytes do not start where the local CommitLog ends.
    #[error("master pushed offset {offset} but the local commit log ends at {local_max}")]
    OffsetMismatch {
        /// Offset the master sent.
        offset: i64,
        /// The local CommitLog end.
        local_max: i64,
    },
    /// An empty store can only start at a segment boundary.
    #[error("an empty commit log cannot start at {0}: not a segment boundary")]
    NotSegmentStart(i64),
    /// The bytes run past the end of their segment (a master never sends that).
    #[error("{len} bytes at {offset} run past the end of their commit log segment")]
    CrossesSegment {
        /// Start offset.
        offset: i64,
        /// Byte count.
        len: usize,
    },
    /// A segment could not be created.
    #[error("cannot create a commit log segment: {0}")]
    Io(#[from] std::io::Error),
    /// The store is shutting down or not writeable.
    #[error("the store is not writeable")]
    NotWriteable,
}

impl StoreInner {
    /// Appends `data` at CommitLog offset `offset`, which must be the local CommitLog end (or
    /// a segment boundary when the CommitLog is empty), then dispatches every record the bytes
    /// complete. Called from the HA client thread: it may create segment files.
    pub(crate) fn append_to_commit_log(&self, offset: i64, data: &[u8]) -> Result<(), AppendError> {
        let mut state = self.commit_log.lock();
        if self.is_shutting_down() || !self.is_writeable() {
            return Err(AppendError::NotWriteable);
        }
        let queue = self.commit_log.queue();
        let size = self.commit_log.file_size() as i64;
        if queue.is_empty() {
            if offset.rem_euclid(size) != 0 {
                return Err(AppendError::NotSegmentStart(offset));
            }
            state.reput_offset = offset;
        } else if offset != self.commit_log.max_offset() {
            return Err(AppendError::OffsetMismatch {
                offset,
                local_max: self.commit_log.max_offset(),
            });
        }
        if data.is_empty() {
            return Ok(());
        }
        let file = queue.last_mapped_file_or_create(offset)?;
        let wrote = file.wrote_position();
        if wrote + data.len() > file.file_size() / 2 {
            // the segment after this one is created while this one fills
            queue.request_next(offset);
        }
        // the invariant of a byte-identical copy: the bytes land at their master offset
        assert_eq!(
            file.file_from_offset() + wrote as i64,
            offset,
            "replicated bytes must be appended at the commit log end"
        );
        if wrote + data.len() > file.file_size() {
            return Err(AppendError::CrossesSegment {
                offset,
                len: data.len(),
            });
        }
        // the put lock serializes writers and the range lies past the published write
        // position, so no reader sees it before `set_wrote_position`
        file.write_at(wrote, data)?;
        file.set_wrote_position(wrote + data.len());
        debug_assert_eq!(self.commit_log.max_offset(), offset + data.len() as i64);
        let arrivals = self.reput(&mut state.reput_offset);
        if let Some(ts) = arrivals.last_store_timestamp {
            self.commit_log.set_last_store_timestamp(&mut state, ts);
            self.last_dispatched_timestamp.store(ts, Ordering::Release);
        }
        drop(state);
        for (topic, queue_id, max_offset, tags_code) in arrivals.queues {
            self.notify_arrival(&topic, queue_id, max_offset, tags_code);
        }
        Ok(())
    }

    /// Dispatches the complete records from `*reput_offset` to the CommitLog end.
    fn reput(&self, reput_offset: &mut i64) -> Arrivals {
        let mut out = Arrivals::default();
        let end = self.commit_log.max_offset();
        while *reput_offset < end {
            let Some(file) = self
                .commit_log
                .queue()
                .find_mapped_file_by_offset(*reput_offset)
            else {
                break;
            };
            let pos = (*reput_offset - file.file_from_offset()) as usize;
            let Some((size, magic)) = file.read(pos, 8).and_then(peek_record_header) else {
                break; // header not complete yet
            };
            if magic == BLANK_MAGIC {
                *reput_offset = file.file_from_offset() + file.file_size() as i64;
                continue;
            }
            let Some(bytes) = usize::try_from(size).ok().and_then(|s| file.read(pos, s)) else {
                break; // record not complete yet
            };
            let view = match parse_record(bytes) {
                Ok(v) => v,
                Err(e) => {
                    tracing::error!(offset = *reput_offset, error = %e, "replicated record does not parse; dispatch stops here");
                    self.mark_not_writeable("replicated commit log holds an invalid record");
                    break;
                }
            };
            match recovery::dispatch_record(self, &view, *reput_offset) {
                Ok(Some((topic, queue_id, queue_offset, tags_code))) => {
                    out.queues
                        .push((topic, queue_id, queue_offset + 1, tags_code));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "consume queue write failed");
                    self.mark_not_writeable("consume queue write failed");
                    break;
                }
            }
            out.last_store_timestamp = Some(view.store_timestamp);
            *reput_offset += view.total_size as i64;
        }
        out
    }

    /// End of the last record whose ConsumeQueue entry is written: the CommitLog end on a
    /// master, the reput offset on a slave.
    pub(crate) fn dispatched_max_offset(&self) -> i64 {
        if self.config.broker_role.is_master() {
            self.commit_log.max_offset()
        } else {
            self.commit_log.lock().reput_offset
        }
    }

    /// Starts reading `len` CommitLog bytes from `offset` (within its segment) into the page
    /// cache in the background.
    pub(crate) fn prefetch_commit_log(&self, offset: i64, len: usize) {
        if let Some(file) = self.commit_log.queue().find_mapped_file_by_offset(offset) {
            if let Ok(pos) = usize::try_from(offset - file.file_from_offset()) {
                file.will_need(pos, len);
            }
        }
    }

    /// The CommitLog bytes from `offset` to the written end of its segment (RocketMQ
    /// `getCommitLogData`): what a master streams to a slave.
    pub(crate) fn commit_log_data(&self, offset: i64) -> Option<Bytes> {
        let file = self.commit_log.queue().find_mapped_file_by_offset(offset)?;
        let pos = usize::try_from(offset - file.file_from_offset()).ok()?;
        let wrote = file.wrote_position();
        if pos >= wrote {
            return None;
        }
        file.slice(pos, wrote - pos)
    }
}

/// What a reput made readable.
#[derive(Default)]
struct Arrivals {
    /// (topic, queue id, queue max offset, tags code) per dispatched record.
    queues: Vec<(String, i32, i64, i64)>,
    last_store_timestamp: Option<i64>,
}
