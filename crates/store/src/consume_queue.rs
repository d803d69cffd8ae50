//! One topic queue's index into the CommitLog (RocketMQ `ConsumeQueue`): 20-byte entries of
//! (commit-log offset i64, record size i32, tags code i64); entry `n` lives at byte `n * 20`.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::error::StoreError;
use crate::flush::DiskFlusher;
use crate::mapped_file::MappedFile;
use crate::mapped_file_queue::MappedFileQueue;

/// Bytes per entry.
pub const CQ_STORE_UNIT_SIZE: usize = 20;

/// Size field of a filler entry written before the first real one of a queue that does not
/// start at offset 0 (`fillPreBlank`).
const BLANK_UNIT_SIZE: i32 = i32::MAX;

/// One decoded entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    /// Commit-log offset of the record.
    pub phy_offset: i64,
    /// Record size.
    pub size: i32,
    /// Tags code (Java hash of TAGS, or the delivery time for schedule topics).
    pub tags_code: i64,
}

impl CqUnit {
    fn parse(b: &[u8]) -> CqUnit {
        CqUnit {
            phy_offset: i64::from_be_bytes(b[0..8].try_into().unwrap_or_default()),
            size: i32::from_be_bytes(b[8..12].try_into().unwrap_or_default()),
            tags_code: i64::from_be_bytes(b[12..20].try_into().unwrap_or_default()),
        }
    }

    fn encode(&self) -> [u8; CQ_STORE_UNIT_SIZE] {
        let mut b = [0u8; CQ_STORE_UNIT_SIZE];
        b[0..8].copy_from_slice(&self.phy_offset.to_be_bytes());
        b[8..12].copy_from_slice(&self.size.to_be_bytes());
        b[12..20].copy_from_slice(&self.tags_code.to_be_bytes());
        b
    }

    /// Whether this is a real entry (RocketMQ: offset >= 0 and size > 0).
    pub fn is_valid(&self) -> bool {
        self.phy_offset >= 0 && self.size > 0
    }

    /// Whether this is a filler entry.
    pub fn is_blank(&self) -> bool {
        self.size == BLANK_UNIT_SIZE && self.phy_offset == 0
    }
}

/// A run of entries read from one segment.
pub struct CqBuffer {
    file: Arc<MappedFile>,
    pos: usize,
    len: usize,
}

impl CqBuffer {
    /// Number of entries.
    pub fn count(&self) -> usize {
        self.len / CQ_STORE_UNIT_SIZE
    }

    /// Entry `i` of the run.
    pub fn get(&self, i: usize) -> Option<CqUnit> {
        if i >= self.count() {
            return None;
        }
        self.file
            .read(self.pos + i * CQ_STORE_UNIT_SIZE, CQ_STORE_UNIT_SIZE)
            .map(CqUnit::parse)
    }
}

/// The consume queue of one topic and queue id.
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    queue: MappedFileQueue,
    /// End (`offset + size`) of the newest entry's record.
    max_physic_offset: AtomicI64,
    /// Byte offset of the first usable entry.
    min_logic_offset: AtomicI64,
}

impl std::fmt::Debug for ConsumeQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsumeQueue")
            .field("topic", &self.topic)
            .field("queue_id", &self.queue_id)
            .field("max_offset", &self.max_offset_in_queue())
            .finish()
    }
}

impl ConsumeQueue {
    /// The queue stored under `{root}/{topic}/{queue_id}` (nothing is created until written).
    pub fn new(root: &Path, topic: &str, queue_id: i32, mapped_file_size: usize) -> Self {
        ConsumeQueue {
            topic: topic.to_string(),
            queue_id,
            // sparse, as RocketMQ's: a queue holding a few entries takes a page of disk, not 6 MB
            queue: MappedFileQueue::new_sparse(
                root.join(topic).join(queue_id.to_string()),
                mapped_file_size,
            ),
            max_physic_offset: AtomicI64::new(-1),
            min_logic_offset: AtomicI64::new(0),
        }
    }

    /// Topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queue id.
    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Maps existing segments.
    pub fn load(&self) -> Result<(), StoreError> {
        self.queue.load()
    }

    /// Finds where valid entries end (scanning from the third-newest segment) and drops the
    /// rest; `zero_tail` also wipes stale bytes past that point (after a crash).
    pub fn recover(&self, zero_tail: bool) -> io::Result<()> {
        let files = self.queue.mapped_files();
        let Some(first) = files.first() else {
            return Ok(());
        };
        let start = files.len().saturating_sub(3);
        let mut process_offset = files[start].file_from_offset();
        let mut max_physic = -1;
        'files: for f in &files[start..] {
            let mut pos = 0;
            while pos + CQ_STORE_UNIT_SIZE <= f.file_size() {
                let unit = match f.read(pos, CQ_STORE_UNIT_SIZE) {
                    Some(b) => CqUnit::parse(b),
                    None => break,
                };
                if !unit.is_valid() {
                    process_offset = f.file_from_offset() + pos as i64;
                    break 'files;
                }
                if !unit.is_blank() {
                    max_physic = unit.phy_offset + unit.size as i64;
                }
                pos += CQ_STORE_UNIT_SIZE;
            }
            process_offset = f.file_from_offset() + f.file_size() as i64;
        }
        if max_physic < 0 && start > 0 {
            // only fillers in the scanned range; take the last entry before it
            if let Some(u) =
                self.unit_at_byte(files[start].file_from_offset() - CQ_STORE_UNIT_SIZE as i64)
            {
                max_physic = u.phy_offset + u.size as i64;
            }
        }
        self.queue.truncate_dirty_files(process_offset, zero_tail)?;
        self.max_physic_offset.store(max_physic, Ordering::Release);
        self.min_logic_offset
            .store(first.file_from_offset(), Ordering::Release);
        Ok(())
    }

    fn unit_at_byte(&self, byte_offset: i64) -> Option<CqUnit> {
        if byte_offset < 0 {
            return None;
        }
        let f = self.queue.find_mapped_file_by_offset(byte_offset)?;
        let pos = (byte_offset - f.file_from_offset()) as usize;
        f.read(pos, CQ_STORE_UNIT_SIZE).map(CqUnit::parse)
    }

    /// The entry at logical `offset`.
    pub fn get(&self, offset: i64) -> Option<CqUnit> {
        let byte = offset.checked_mul(CQ_STORE_UNIT_SIZE as i64)?;
        if byte < self.min_logic_offset.load(Ordering::Acquire) {
            return None;
        }
        self.unit_at_byte(byte)
    }

    /// The entries from logical `offset` to the end of its segment's written part.
    pub fn get_index_buffer(&self, offset: i64) -> Option<CqBuffer> {
        let byte = offset.checked_mul(CQ_STORE_UNIT_SIZE as i64)?;
        if byte < self.min_logic_offset.load(Ordering::Acquire) {
            return None;
        }
        let file = self.queue.find_mapped_file_by_offset(byte)?;
        let pos = (byte - file.file_from_offset()) as usize;
        let wrote = file.wrote_position();
        if pos >= wrote {
            return None;
        }
        Some(CqBuffer {
            file,
            pos,
            len: wrote - pos,
        })
    }

    /// First logical offset of the segment after the one holding `offset`.
    pub fn roll_next_file(&self, offset: i64) -> i64 {
        let per_file = (self.queue.mapped_file_size() / CQ_STORE_UNIT_SIZE) as i64;
        offset + per_file - offset.rem_euclid(per_file)
    }

    /// The next logical offset to be written.
    pub fn max_offset_in_queue(&self) -> i64 {
        self.queue.max_offset() / CQ_STORE_UNIT_SIZE as i64
    }

    /// The first readable logical offset.
    pub fn min_offset_in_queue(&self) -> i64 {
        self.min_logic_offset.load(Ordering::Acquire) / CQ_STORE_UNIT_SIZE as i64
    }

    /// End of the newest entry's record in the CommitLog (-1 when empty).
    pub fn max_physic_offset(&self) -> i64 {
        self.max_physic_offset.load(Ordering::Acquire)
    }

    /// Writes the entry for logical `cq_offset`; idempotent so recovery can replay.
    ///
    /// Returns `false` when the entry was already there. A gap before `cq_offset` is filled
    /// with filler entries so that numbering stays exact. Callers serialize writes (put lock
    /// or single-threaded recovery).
    pub fn put_message_position_info(
        &self,
        phy_offset: i64,
        size: i32,
        tags_code: i64,
        cq_offset: i64,
    ) -> io::Result<bool> {
        if phy_offset + size as i64 <= self.max_physic_offset() {
            return Ok(false);
        }
        let unit = CqUnit {
            phy_offset,
            size,
            tags_code,
        };
        let Some(expected) = cq_offset
            .checked_mul(CQ_STORE_UNIT_SIZE as i64)
            .filter(|e| *e >= 0)
        else {
            tracing::error!(topic = %self.topic, queue_id = self.queue_id, cq_offset, "invalid queue offset; entry skipped");
            return Ok(false);
        };
        if self.queue.is_empty() {
            // first entry of a queue that may not start at 0: fill its segment up to it
            let file = self.queue.create_next(expected)?;
            self.min_logic_offset.store(expected, Ordering::Release);
            self.fill_blanks(file.file_from_offset(), expected)?;
        }
        // one look at the newest segment serves both the end and the append below
        let last = self.queue.last_mapped_file();
        let current = last.as_ref().map_or(0, |f| f.wrote_offset());
        if expected < current {
            tracing::warn!(topic = %self.topic, queue_id = self.queue_id, cq_offset, "consume queue entry already present");
            return Ok(false);
        }
        if expected - current > self.queue.mapped_file_size() as i64 {
            // more than a segment of fillers: not a lost tail but a bogus queue offset
            tracing::error!(topic = %self.topic, queue_id = self.queue_id, cq_offset, current = current / 20, "queue offset far beyond the queue end; entry skipped");
            return Ok(false);
        }
        let last = if expected > current {
            tracing::warn!(topic = %self.topic, queue_id = self.queue_id, cq_offset, current = current / 20, "filling a consume queue gap");
            self.fill_blanks(current, expected)?;
            None // the fillers may have moved to another segment
        } else {
            last
        };
        self.append_unit(&unit, last)?;
        self.max_physic_offset
            .store(phy_offset + size as i64, Ordering::Release);
        Ok(true)
    }

    /// Makes sure the segments for `count` entries from logical `cq_offset` exist and their
    /// blocks are allocated, so a full disk fails here, before the CommitLog record is written.
    /// Covers at most one new segment. Segments come from the allocator: one that is not
    /// ready yet fails with [`io::ErrorKind::WouldBlock`] (asked for; the caller waits with the
    /// put lock released and retries). Past half of its newest segment the queue asks for the
    /// next one, so a busy queue never waits. Callers serialize.
    pub(crate) fn reserve_room(&self, cq_offset: i64, count: usize) -> io::Result<()> {
        let unit = CQ_STORE_UNIT_SIZE as i64;
        if self.queue.is_empty() {
            let expected = cq_offset.max(0) * unit;
            let file = self
                .queue
                .try_take_next(expected, false)
                .ok_or_else(crate::commit_log::segment_not_ready)?;
            self.min_logic_offset.store(expected, Ordering::Release);
            self.fill_blanks(file.file_from_offset(), expected)?;
        }
        if let Some(last) = self.queue.last_mapped_file() {
            let wrote = last.wrote_position();
            let need = count * CQ_STORE_UNIT_SIZE;
            let room = last.file_size() - wrote;
            if room < need && !self.queue.next_ready(0) {
                self.queue.request_next(0);
                if !self.queue.next_ready(0) {
                    return Err(crate::commit_log::segment_not_ready());
                }
            }
            // the blocks the entries land in are allocated now, so the writes cannot fault
            last.ensure_reserved(wrote + need.min(room))?;
            if room < need {
                self.queue.reserve_in_next(need - room)?;
            } else if wrote + need > last.file_size() / 2 {
                self.queue.request_next(0);
            }
        }
        Ok(())
    }

    /// The segments, for waiting on the allocator.
    pub(crate) fn mapped_file_queue(&self) -> &MappedFileQueue {
        &self.queue
    }

    fn fill_blanks(&self, from: i64, to: i64) -> io::Result<()> {
        let blank = CqUnit {
            phy_offset: 0,
            size: BLANK_UNIT_SIZE,
            tags_code: 0,
        };
        let mut at = from;
        while at < to {
            self.append_unit(&blank, None)?;
            at += CQ_STORE_UNIT_SIZE as i64;
        }
        Ok(())
    }

    /// Appends one entry to `last` (the newest segment, when the caller just looked it up) or
    /// to the newest segment with room.
    fn append_unit(&self, unit: &CqUnit, last: Option<Arc<MappedFile>>) -> io::Result<()> {
        let file = match last {
            Some(f) if !f.is_full() => f,
            _ => self.queue.last_mapped_file_or_create(0)?,
        };
        let pos = file.wrote_position();
        // sparse file: allocate the block first, so a full disk is an error here, not a SIGBUS
        file.ensure_reserved(pos + CQ_STORE_UNIT_SIZE)?;
        // SAFETY: appends are serialized by the caller and land past the published position.
        unsafe { file.region_mut(pos, CQ_STORE_UNIT_SIZE) }.copy_from_slice(&unit.encode());
        file.set_wrote_position(pos + CQ_STORE_UNIT_SIZE);
        Ok(())
    }

    /// Drops entries whose record starts at or after `phy_offset` (zeroing them).
    pub fn truncate_dirty_logic_files(&self, phy_offset: i64) -> io::Result<()> {
        let max = self.max_offset_in_queue();
        let min = self.min_offset_in_queue();
        // entries are ordered by commit-log offset: binary search the first dirty one
        let (mut lo, mut hi) = (min, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(u) if u.is_blank() || u.phy_offset < phy_offset => lo = mid + 1,
                _ => hi = mid,
            }
        }
        if lo == max {
            return Ok(());
        }
        let cut = lo * CQ_STORE_UNIT_SIZE as i64;
        tracing::info!(topic = %self.topic, queue_id = self.queue_id, from = lo, to = max, "truncating consume queue entries past the commit log");
        self.queue.truncate_dirty_files(cut, true)?;
        if self.queue.is_empty() || lo <= min {
            self.min_logic_offset.store(cut, Ordering::Release);
        }
        let last = (lo > min).then(|| self.get(lo - 1)).flatten();
        self.max_physic_offset.store(
            last.filter(|u| !u.is_blank())
                .map(|u| u.phy_offset + u.size as i64)
                .unwrap_or(-1),
            Ordering::Release,
        );
        Ok(())
    }

    /// Moves the min offset to the first real entry whose record is at or after
    /// `min_phy_offset` (the CommitLog start).
    pub fn correct_min_offset(&self, min_phy_offset: i64) {
        let (mut lo, mut hi) = (self.min_offset_in_queue(), self.max_offset_in_queue());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(u) if u.is_blank() || u.phy_offset < min_phy_offset => lo = mid + 1,
                _ => hi = mid,
            }
        }
        self.min_logic_offset
            .store(lo * CQ_STORE_UNIT_SIZE as i64, Ordering::Release);
    }

    /// Deletes the oldest segments (never the newest) whose last entry points before
    /// `min_phy_offset`, then moves the min offset to the first entry at or after it (RocketMQ
    /// `deleteExpiredFile`). Returns the number of segments deleted.
    pub fn delete_expired_file(&self, min_phy_offset: i64) -> usize {
        let files = self.queue.mapped_files();
        let mut deleted = 0;
        for f in files.iter().take(files.len().saturating_sub(1)) {
            let last = f.file_size() - CQ_STORE_UNIT_SIZE;
            let Some(unit) = f.read(last, CQ_STORE_UNIT_SIZE).map(CqUnit::parse) else {
                break;
            };
            if unit.phy_offset >= min_phy_offset || !self.queue.remove_first(f) {
                break;
            }
            if let Err(e) = f.destroy() {
                tracing::warn!(path = %f.path().display(), error = %e, "cannot delete consume queue file");
            }
            deleted += 1;
        }
        if let Some(first) = self.queue.first_mapped_file() {
            self.min_logic_offset
                .fetch_max(first.file_from_offset(), Ordering::AcqRel);
        }
        self.correct_min_offset(min_phy_offset);
        deleted
    }

    /// Flushes dirty segments; true if everything written before the call is on disk.
    pub fn flush(&self, least_pages: usize, flusher: &dyn DiskFlusher) -> io::Result<bool> {
        self.queue.flush(least_pages, flusher)
    }

    /// Deletes every segment and the queue directory.
    pub fn destroy(&self) -> io::Result<()> {
        self.queue.destroy()?;
        self.max_physic_offset.store(-1, Ordering::Release);
        self.min_logic_offset.store(0, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flush::MsyncFlusher;

    #[test]
    fn entries_span_segments_and_survive_reload() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 1, 20 * 4);
        for i in 0..10 {
            assert!(cq.put_message_position_info(i * 100, 100, i, i).unwrap());
        }
        assert!(
            !cq.put_message_position_info(500, 100, 5, 5).unwrap(),
            "replay is a no-op"
        );
        assert_eq!(cq.max_offset_in_queue(), 10);
        assert_eq!(cq.min_offset_in_queue(), 0);
        assert_eq!(
            cq.get(7),
            Some(CqUnit {
                phy_offset: 700,
                size: 100,
                tags_code: 7
            })
        );
        let buf = cq.get_index_buffer(5).unwrap();
        assert_eq!(buf.count(), 3, "offsets 5..8 share the second segment");
        assert_eq!(buf.get(0).unwrap().phy_offset, 500);
        assert_eq!(cq.roll_next_file(5), 8);
        assert!(dir.path().join("T/1/00000000000000000080").exists());
        cq.flush(0, &MsyncFlusher).unwrap();

        let again = ConsumeQueue::new(dir.path(), "T", 1, 20 * 4);
        again.load().unwrap();
        again.recover(false).unwrap();
        assert_eq!(again.max_offset_in_queue(), 10);
        assert_eq!(again.max_physic_offset(), 1000);

        again.truncate_dirty_logic_files(650).unwrap();
        assert_eq!(again.max_offset_in_queue(), 7);
        assert_eq!(again.max_physic_offset(), 700);
        assert!(!dir.path().join("T/1/00000000000000000160").exists());
        assert!(again.put_message_position_info(700, 50, 0, 7).unwrap());
        assert_eq!(again.max_offset_in_queue(), 8);
    }

    #[test]
    fn expired_segments_go_and_the_min_offset_follows_the_commit_log() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 20 * 4);
        for i in 0..10 {
            cq.put_message_position_info(i * 100, 100, 0, i).unwrap();
        }
        // the commit log now starts at 450: segment [0, 4) only points before it
        assert_eq!(cq.delete_expired_file(450), 1);
        assert!(!dir.path().join("T/0/00000000000000000000").exists());
        assert_eq!(cq.min_offset_in_queue(), 5, "first entry at or after 450");
        assert_eq!(cq.get(4), None);
        assert_eq!(cq.get(5).unwrap().phy_offset, 500);
        // the newest segment stays even when everything in it is gone
        assert_eq!(cq.delete_expired_file(10_000), 1);
        assert_eq!(cq.min_offset_in_queue(), 10);
        assert_eq!(cq.max_offset_in_queue(), 10);
        assert!(dir.path().join("T/0/00000000000000000160").exists());
    }

    #[test]
    fn reserve_room_creates_the_files_an_append_needs() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 20 * 4);
        cq.reserve_room(0, 1).unwrap();
        assert!(dir.path().join("T/0/00000000000000000000").exists());
        for i in 0..3 {
            cq.put_message_position_info(i * 100, 100, 0, i).unwrap();
        }
        cq.reserve_room(3, 2).unwrap();
        assert!(
            dir.path().join("T/0/00000000000000000080").exists(),
            "the next segment is made ahead of the append"
        );
        for i in 3..5 {
            cq.put_message_position_info(i * 100, 100, 0, i).unwrap();
        }
        assert_eq!(cq.get(4).unwrap().phy_offset, 400);
    }

    #[test]
    fn bogus_queue_offsets_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 20 * 4);
        cq.put_message_position_info(0, 10, 0, 0).unwrap();
        assert!(!cq.put_message_position_info(10, 10, 0, -1).unwrap());
        assert!(!cq
            .put_message_position_info(20, 10, 0, i64::MAX / 2)
            .unwrap());
        assert!(!cq.put_message_position_info(30, 10, 0, 1000).unwrap());
        assert_eq!(cq.max_offset_in_queue(), 1);
        assert!(
            cq.put_message_position_info(40, 10, 0, 3).unwrap(),
            "a small gap is filled"
        );
        assert_eq!(cq.max_offset_in_queue(), 4);
        assert!(cq.get(2).unwrap().is_blank());
    }

    #[test]
    fn queue_starting_late_is_filled_with_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 20 * 4);
        cq.put_message_position_info(1000, 10, 0, 6).unwrap();
        assert_eq!(cq.min_offset_in_queue(), 6);
        assert_eq!(cq.max_offset_in_queue(), 7);
        assert!(cq.get(5).is_none());
        assert!(!dir.path().join("T/0/00000000000000000000").exists());
        cq.correct_min_offset(0);
        assert_eq!(cq.min_offset_in_queue(), 6, "blanks are never readable");
    }

    #[test]
    fn recovery_stops_at_the_first_empty_entry_and_wipes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 20 * 10);
        for i in 0..6 {
            cq.put_message_position_info(i * 10, 10, 0, i).unwrap();
        }
        // entry 3 lost, entries 4 and 5 made it to disk
        let f = cq.queue.last_mapped_file().unwrap();
        unsafe { f.region_mut(60, 20) }.fill(0);
        drop(f);
        drop(cq);
        let cq = ConsumeQueue::new(dir.path(), "T", 0, 20 * 10);
        cq.load().unwrap();
        cq.recover(true).unwrap();
        assert_eq!(cq.max_offset_in_queue(), 3);
        assert_eq!(cq.max_physic_offset(), 30);
        let f = cq.queue.last_mapped_file().unwrap();
        f.set_wrote_position(200);
        assert!(f.read(60, 140).unwrap().iter().all(|b| *b == 0));
    }
}
