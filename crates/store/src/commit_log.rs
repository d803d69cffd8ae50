//! The CommitLog: every record of every topic, appended to fixed-size segments (RocketMQ
//! `CommitLog`). A record never spans two segments; the tail of a segment too small for the
//! next record gets an 8-byte BLANK header and the record goes to the next segment.

use std::io;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ferrocket_protocol::message::sys_flag::BORNHOST_V6;
use ferrocket_protocol::message::{
    encode_blank_record_into, parse_record, peek_record_header, RecordView, BLANK_MAGIC,
    END_FILE_MIN_BLANK_LENGTH, STORE_TIMESTAMP_POSITION, SYS_FLAG_POSITION,
};
use ferrocket_protocol::util::crc32;
use parking_lot::{Mutex, MutexGuard};

use crate::error::StoreError;
use crate::flush::DiskFlusher;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;

/// State guarded by the global put lock.
#[derive(Debug, Default)]
pub struct PutState {
    /// Store timestamp given to the newest record (store times never go backwards).
    pub last_store_timestamp: i64,
}

/// What recovery finds at a position of a segment.
#[derive(Debug)]
pub enum RecordCheck<'a> {
    /// A valid record.
    Message(RecordView<'a>),
    /// A BLANK end-of-segment record covering the rest of the segment.
    Blank,
    /// Zeros: the written data ends here.
    End,
    /// Bytes that are not a valid record (torn write or garbage).
    Corrupt(String),
}

/// The error telling a writer that the segment it needs is still being created.
pub(crate) fn segment_not_ready() -> io::Error {
    io::Error::new(io::ErrorKind::WouldBlock, "segment file not created yet")
}

/// The CommitLog.
pub struct CommitLog {
    queue: MappedFileQueue,
    put_lock: Mutex<PutState>,
    /// Store timestamp of the newest appended record, for the checkpoint.
    last_store_timestamp: AtomicI64,
}

impl std::fmt::Debug for CommitLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLog")
            .field("queue", &self.queue)
            .field("max_offset", &self.max_offset())
            .finish()
    }
}

impl CommitLog {
    /// A CommitLog over `dir` with `file_size` segments.
    pub fn new(dir: impl Into<std::path::PathBuf>, file_size: usize) -> Self {
        CommitLog {
            queue: MappedFileQueue::new(dir, file_size),
            put_lock: Mutex::new(PutState::default()),
            last_store_timestamp: AtomicI64::new(0),
        }
    }

    /// Maps the existing segments.
    pub fn load(&self) -> Result<(), StoreError> {
        self.queue.load()
    }

    /// The segments.
    pub fn queue(&self) -> &MappedFileQueue {
        &self.queue
    }

    /// Takes the global put lock.
    pub fn lock(&self) -> MutexGuard<'_, PutState> {
        self.put_lock.lock()
    }

    /// Segment size.
    pub fn file_size(&self) -> usize {
        self.queue.mapped_file_size()
    }

    /// First offset held (-1 when empty).
    pub fn min_offset(&self) -> i64 {
        self.queue.min_offset()
    }

    /// Offset just past the newest record.
    pub fn max_offset(&self) -> i64 {
        self.queue.max_offset()
    }

    /// Offset up to which everything is on disk.
    pub fn flushed_where(&self) -> i64 {
        self.queue.flushed_where()
    }

    /// Store time of the newest appended record.
    pub fn last_store_timestamp(&self) -> i64 {
        self.last_store_timestamp.load(Ordering::Acquire)
    }

    pub(crate) fn set_last_store_timestamp(&self, state: &mut PutState, ts: i64) {
        state.last_store_timestamp = ts;
        self.last_store_timestamp.store(ts, Ordering::Release);
    }

    /// The segment to append `len` bytes to, padding the current one with a BLANK record and
    /// moving to the next one when the record (plus room for a later BLANK) does not fit.
    ///
    /// Segments are created ahead of need by the allocator; when the one needed is not ready
    /// yet this fails with [`io::ErrorKind::WouldBlock`] before writing anything, and the caller
    /// waits for it with the put lock released ([`MappedFileQueue::wait_next_ready`]). With
    /// `ahead`, taking a segment asks for the one after it. Must be called with the put lock held.
    pub(crate) fn segment_for_append(
        &self,
        _locked: &mut PutState,
        len: usize,
        ahead: bool,
    ) -> io::Result<Arc<MappedFile>> {
        let Some(file) = self.queue.last_mapped_file().filter(|f| !f.is_full()) else {
            return self
                .queue
                .try_take_next(0, ahead)
                .ok_or_else(segment_not_ready);
        };
        let wrote = file.wrote_position();
        let remaining = file.file_size() - wrote;
        if len + END_FILE_MIN_BLANK_LENGTH <= remaining {
            return Ok(file);
        }
        if !self.queue.next_ready(0) {
            self.queue.request_next(0);
            if !self.queue.next_ready(0) {
                return Err(segment_not_ready());
            }
        }
        file.begin_write(wrote + END_FILE_MIN_BLANK_LENGTH);
        // SAFETY: the put lock serializes writers; the range is past the published position.
        let blank = unsafe { file.region_mut(wrote, END_FILE_MIN_BLANK_LENGTH) };
        encode_blank_record_into(blank, remaining as i32).map_err(io::Error::other)?;
        file.set_wrote_position(file.file_size());
        // under the put lock nobody else takes the ready segment
        self.queue
            .try_take_next(0, ahead)
            .ok_or_else(segment_not_ready)
    }

    /// Flushes dirty bytes; returns whether everything written before the call is on disk.
    pub fn flush(&self, least_pages: usize, flusher: &dyn DiskFlusher) -> io::Result<bool> {
        self.queue.flush(least_pages, flusher)
    }

    /// The record bytes `[offset, offset + size)`, zero-copy.
    pub fn get_message(&self, offset: i64, size: i32) -> Option<Bytes> {
        let file = self.queue.find_mapped_file_by_offset(offset)?;
        let pos = (offset - file.file_from_offset()) as usize;
        file.slice(pos, usize::try_from(size).ok()?)
    }

    /// The whole record starting at `offset` (None for a BLANK or anything unreadable).
    ///
    /// The offset comes from a client (a message id, a transaction or send-back header), so
    /// it may point anywhere: only a well-formed record that says it lives at `offset` counts.
    pub fn look_message_by_offset(&self, offset: i64) -> Option<Bytes> {
        let file = self.queue.find_mapped_file_by_offset(offset)?;
        let pos = (offset - file.file_from_offset()) as usize;
        let (size, magic) = peek_record_header(file.read(pos, 8)?)?;
        if magic == BLANK_MAGIC || size <= 0 {
            return None;
        }
        let record = file.slice(pos, size as usize)?;
        let view = parse_record(&record).ok()?;
        (view.physical_offset == offset).then_some(record)
    }

    /// STORETIMESTAMP of the record at `offset` (-1 if unreadable).
    pub fn pickup_store_timestamp(&self, offset: i64, size: i32) -> i64 {
        let Some(file) = self.queue.find_mapped_file_by_offset(offset) else {
            return -1;
        };
        let pos = (offset - file.file_from_offset()) as usize;
        let Some(head) = file.read(pos, STORE_TIMESTAMP_POSITION + 20) else {
            return -1;
        };
        if size < (STORE_TIMESTAMP_POSITION + 20) as i32 {
            return -1;
        }
        let sys_flag = i32::from_be_bytes(
            head[SYS_FLAG_POSITION..SYS_FLAG_POSITION + 4]
                .try_into()
                .unwrap_or_default(),
        );
        let at = if sys_flag & BORNHOST_V6 != 0 {
            STORE_TIMESTAMP_POSITION + 12
        } else {
            STORE_TIMESTAMP_POSITION
        };
        i64::from_be_bytes(head[at..at + 8].try_into().unwrap_or_default())
    }

    /// First offset of the segment after the one holding `offset`.
    pub fn roll_next_file(&self, offset: i64) -> i64 {
        let size = self.file_size() as i64;
        offset + size - offset.rem_euclid(size)
    }

    /// Validates the record at `pos` of `file` (magic, lengths, physical offset and, if asked,
    /// the body CRC).
    pub fn check_record(file: &MappedFile, pos: usize, check_crc: bool) -> RecordCheck<'_> {
        let avail = file.file_size().saturating_sub(pos);
        let Some(buf) = file.read(pos, avail) else {
            return RecordCheck::End;
        };
        let Some((size, magic)) = peek_record_header(buf) else {
            return RecordCheck::End;
        };
        if magic == BLANK_MAGIC {
            return if size as usize == avail {
                RecordCheck::Blank
            } else {
                RecordCheck::Corrupt(format!("BLANK record of {size} bytes with {avail} left"))
            };
        }
        if size == 0 && magic == 0 {
            return RecordCheck::End;
        }
        let view = match parse_record(buf) {
            Ok(v) => v,
            Err(e) => return RecordCheck::Corrupt(e.to_string()),
        };
        let expected = file.file_from_offset() + pos as i64;
        if view.physical_offset != expected {
            return RecordCheck::Corrupt(format!(
                "PHYSICALOFFSET {} where {expected} was expected",
                view.physical_offset
            ));
        }
        // Body bytes are covered by the CRC; these catch a torn topic or properties block: a
        // torn or lost page reads as zeros, and no topic or properties string holds a NUL
        // at that place. (Properties need not end with a separator: Apache RocketMQ brokers
        // store them both with and without the trailing one.)
        if view.topic.is_empty()
            || view.topic.contains(&0)
            || std::str::from_utf8(view.topic).is_err()
        {
            return RecordCheck::Corrupt("topic is empty or malformed".into());
        }
        if view.properties.last() == Some(&0) {
            return RecordCheck::Corrupt("properties end with a NUL byte".into());
        }
        if check_crc {
            let crc = crc32(view.body);
            if crc != view.body_crc {
                return RecordCheck::Corrupt(format!(
                    "body CRC {crc} differs from the stored {}",
                    view.body_crc
                ));
            }
        }
        RecordCheck::Message(view)
    }
}
