//! The slave's side of replication: raw CommitLog bytes received from a master are appended at
//! exactly their physical offsets (RocketMQ `appendToCommitLog`), and a thread of their own
//! dispatches the records they complete to the ConsumeQueues (RocketMQ `ReputMessageService`),
//! so that receiving, writing and dispatching overlap while a slave catches up.
//!
//! A transfer frame is cut at a byte count, not at a record boundary, so the CommitLog end may
//! lie inside a record. The reput offset marks the end of the last complete record: everything
//! before it has its ConsumeQueue entry, the bytes after it wait for the next frame. After a
//! crash, recovery drops a torn tail record, so the store reopens at a record boundary and the
//! slave asks the master for the rest.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::message::{parse_record, peek_record_header, BLANK_MAGIC};
use parking_lot::Mutex;
use thiserror::Error;

use crate::consume_queue_table::QueueCache;
use crate::default_message_store::StoreInner;
use crate::index::IndexCursor;
use crate::mapped_file::{MappedFile, SequentialPrefetch};
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

/// How long the reput thread sleeps once it has dispatched everything (RocketMQ's
/// `ReputMessageService` sleeps 1 ms).
const REPUT_INTERVAL: Duration = Duration::from_millis(1);
/// Records dispatched per run: the dispatched end is published and shutdown checked between
/// runs, and `delete_topics` waits for at most one run.
const RECORDS_PER_RUN: usize = 4096;

/// The slave's dispatch position. Only the reput thread moves it (recovery sets it before the
/// thread starts); readers use the published copy.
#[derive(Debug, Default)]
pub(crate) struct ReputOffset {
    /// End of the last dispatched record; held while a run dispatches, so a topic deletion can
    /// wait for the run instead of racing its ConsumeQueue writes.
    pub(crate) offset: Mutex<i64>,
    /// The same offset for readers (index builder, broker status).
    pub(crate) published: AtomicI64,
}

impl ReputOffset {
    /// Sets the position (recovery, before the reput thread starts).
    pub(crate) fn reset(&self, offset: i64) {
        *self.offset.lock() = offset;
        self.published.store(offset, Ordering::Release);
    }
}

/// The slave's `ReputMessageService` loop: dispatches the records replication appended until
/// the store stops, then once more, so that everything appended before the stop has its
/// ConsumeQueue entry when the threads are joined.
pub(crate) fn run_reput_service(inner: &Arc<StoreInner>) {
    tracing::info!(
        from = inner.reput.published.load(Ordering::Acquire),
        "reput service started"
    );
    let mut index = inner
        .config
        .message_index_enable
        .then(|| IndexCursor::start(inner));
    loop {
        let stopping = inner.signal.wait(REPUT_INTERVAL);
        // a full run means more may be waiting: go on without sleeping
        while inner.dispatch_replicated(index.as_mut()) == RECORDS_PER_RUN {}
        if stopping {
            return;
        }
    }
}

impl StoreInner {
    /// Appends `data` at CommitLog offset `offset`, which must be the local CommitLog end (or
    /// a segment boundary when the CommitLog is empty). The reput thread dispatches the records
    /// the bytes complete, so the HA client goes back to its socket at once (as RocketMQ's
    /// slave does). Called from the HA client thread: it may create segment files.
    pub(crate) fn append_to_commit_log(&self, offset: i64, data: &[u8]) -> Result<(), AppendError> {
        let _state = self.commit_log.lock();
        if self.is_shutting_down() || !self.is_writeable() {
            return Err(AppendError::NotWriteable);
        }
        let queue = self.commit_log.queue();
        let size = self.commit_log.file_size() as i64;
        if queue.is_empty() {
            if offset.rem_euclid(size) != 0 {
                return Err(AppendError::NotSegmentStart(offset));
            }
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
        file.begin_write(wrote + data.len());
        file.write_at(wrote, data)?;
        file.set_wrote_position(wrote + data.len());
        debug_assert_eq!(self.commit_log.max_offset(), offset + data.len() as i64);
        Ok(())
    }

    /// One run of the reput thread: dispatches up to [`RECORDS_PER_RUN`] complete records from
    /// the reput offset, to the ConsumeQueues and to the index (`index`, unless disabled);
    /// returns how many.
    fn dispatch_replicated(&self, mut index: Option<&mut IndexCursor>) -> usize {
        if let Some(index) = index.as_deref_mut() {
            if index.is_behind(self.reput.published.load(Ordering::Acquire)) {
                // a restart behind the reput offset, or a record that failed: read them again,
                // without the reput lock (a rebuild may take long)
                index.catch_up(self);
            }
        }
        let mut reput = self.reput.offset.lock();
        let min = self.commit_log.min_offset();
        if *reput < min {
            // an empty store that received its first segment, or retention deleted segments
            *reput = min;
        }
        let (records, last_store_timestamp) = self.reput(&mut reput, index.as_deref_mut());
        debug_assert!(*reput <= self.commit_log.max_offset());
        self.reput.published.store(*reput, Ordering::Release);
        if let Some(index) = index {
            index.publish(self);
        }
        if let Some(ts) = last_store_timestamp {
            // lock order: reput offset, then put lock (as `delete_topics` takes them)
            let mut state = self.commit_log.lock();
            self.commit_log.set_last_store_timestamp(&mut state, ts);
            drop(state);
            self.last_dispatched_timestamp.store(ts, Ordering::Release);
        }
        records
    }

    /// Dispatches complete records from `*reput_offset` towards the CommitLog end, at most
    /// [`RECORDS_PER_RUN`]; returns how many and the store time of the last one.
    fn reput(
        &self,
        reput_offset: &mut i64,
        mut index: Option<&mut IndexCursor>,
    ) -> (usize, Option<i64>) {
        let end = self.commit_log.max_offset();
        let mut records = 0;
        let mut last_store_timestamp = None;
        let mut prefetch = SequentialPrefetch::default();
        let mut queues = QueueCache::default();
        let mut segment: Option<Arc<MappedFile>> = None;
        // looked up once per run, not per record
        let listener = self.arrival_listener();
        while *reput_offset < end && records < RECORDS_PER_RUN {
            if !segment.as_ref().is_some_and(|f| f.holds(*reput_offset)) {
                segment = self
                    .commit_log
                    .queue()
                    .find_mapped_file_by_offset(*reput_offset);
            }
            let Some(file) = segment.as_deref() else {
                break;
            };
            let pos = (*reput_offset - file.file_from_offset()) as usize;
            // the records ahead were written by the HA client's thread: ask for them now, so
            // that parsing them later does not wait on memory
            prefetch.advance(file, pos);
            let Some((size, magic)) = file.read(pos, 8).and_then(peek_record_header) else {
                break; // header not complete yet
            };
            if magic == BLANK_MAGIC {
                let next = file.file_from_offset() + file.file_size() as i64;
                if let Some(index) = index.as_deref_mut() {
                    index.follow(self, None, *reput_offset, next);
                }
                *reput_offset = next;
                continue;
            }
            let Some(bytes) = usize::try_from(size).ok().and_then(|s| file.read(pos, s)) else {
                break; // record not complete yet
            };
            let view = match parse_record(bytes) {
                Ok(v) => v,
                Err(e) => {
                    self.stop_dispatch(
                        *reput_offset,
                        &e.to_string(),
                        "replicated commit log holds an invalid record",
                    );
                    break;
                }
            };
            match recovery::dispatch_record(self, &mut queues, &view, *reput_offset) {
                Ok(Some((topic, queue_id, queue_offset, tags_code))) => {
                    if let Some(l) = &listener {
                        l(topic, queue_id, queue_offset + 1, tags_code);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    self.stop_dispatch(*reput_offset, &e.to_string(), "consume queue write failed");
                    break;
                }
            }
            let next = *reput_offset + view.total_size as i64;
            if let Some(index) = index.as_deref_mut() {
                index.follow(self, Some(&view), *reput_offset, next);
            }
            last_store_timestamp = Some(view.store_timestamp);
            *reput_offset = next;
            records += 1;
        }
        (records, last_store_timestamp)
    }

    /// A record that cannot be dispatched stops the slave's writes (logged once: the store is
    /// not writeable afterwards, so replication stops appending).
    fn stop_dispatch(&self, offset: i64, error: &str, reason: &'static str) {
        if self.is_writeable() {
            tracing::error!(offset, error, "{reason}; dispatch stops here");
            self.mark_not_writeable(reason);
        }
    }

    /// End of the last record whose ConsumeQueue entry is written: the CommitLog end on a
    /// master, the reput offset on a slave.
    pub(crate) fn dispatched_max_offset(&self) -> i64 {
        if self.config.broker_role.is_master() {
            self.commit_log.max_offset()
        } else {
            self.reput.published.load(Ordering::Acquire)
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
