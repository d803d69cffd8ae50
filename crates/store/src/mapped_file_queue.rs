//! An ordered run of equally sized segments forming one logical file (RocketMQ
//! `MappedFileQueue`): the CommitLog and every ConsumeQueue.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use crate::allocate::{MappedFileAllocator, SegmentSlot, SegmentSpec, ALLOCATE_WAIT_TIMEOUT};
use crate::error::StoreError;
use crate::flush::DiskFlusher;
use crate::mapped_file::{file_name_to_offset, MappedFile};

/// A segment file found on disk: start offset, path, length in bytes.
type FoundSegment = (i64, PathBuf, u64);

/// The segment files in `dir`, sorted by start offset; `None` when `dir` does not exist.
fn list_segment_files(dir: &Path) -> Result<Option<Vec<FoundSegment>>, StoreError> {
    let mut found: Vec<FoundSegment> = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, e))?;
        let name = entry.file_name();
        let Some(offset) = name.to_str().and_then(file_name_to_offset) else {
            continue;
        };
        let meta = entry
            .metadata()
            .map_err(|e| StoreError::io(entry.path(), e))?;
        if meta.is_file() {
            found.push((offset, entry.path(), meta.len()));
        }
    }
    found.sort_by_key(|(o, _, _)| *o);
    Ok(Some(found))
}

/// Segments of one logical file, oldest first.
pub struct MappedFileQueue {
    dir: PathBuf,
    mapped_file_size: usize,
    files: RwLock<Vec<Arc<MappedFile>>>,
    flushed_where: AtomicI64,
    /// The segment created ahead of need, not yet part of the queue.
    slot: Arc<SegmentSlot>,
    /// Creates segments off the writer's thread; without one (tools, unit tests) the thread
    /// asking for a segment creates it.
    allocator: OnceLock<Arc<MappedFileAllocator>>,
    /// Segments are created sparse (consume queues) instead of fully allocated (CommitLog).
    sparse: bool,
}

impl std::fmt::Debug for MappedFileQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFileQueue")
            .field("dir", &self.dir)
            .field("files", &self.files.read().len())
            .finish()
    }
}

impl MappedFileQueue {
    /// An empty queue over `dir` (nothing is read or created yet).
    pub fn new(dir: impl Into<PathBuf>, mapped_file_size: usize) -> Self {
        MappedFileQueue {
            dir: dir.into(),
            mapped_file_size,
            files: RwLock::new(Vec::new()),
            flushed_where: AtomicI64::new(0),
            slot: Arc::new(SegmentSlot::default()),
            allocator: OnceLock::new(),
            sparse: false,
        }
    }

    /// Like [`MappedFileQueue::new`], with sparse segments: writers call
    /// [`MappedFile::ensure_reserved`] before writing into one.
    pub fn new_sparse(dir: impl Into<PathBuf>, mapped_file_size: usize) -> Self {
        MappedFileQueue {
            sparse: true,
            ..Self::new(dir, mapped_file_size)
        }
    }

    /// Hands segment creation to `allocator` from now on.
    pub fn set_allocator(&self, allocator: Arc<MappedFileAllocator>) {
        let _ = self.allocator.set(allocator);
    }

    pub(crate) fn spec(&self, offset: i64) -> SegmentSpec {
        SegmentSpec {
            dir: self.dir.clone(),
            offset,
            size: self.mapped_file_size,
            sparse: self.sparse,
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Segment size.
    pub fn mapped_file_size(&self) -> usize {
        self.mapped_file_size
    }

    /// Maps every segment in the directory, all treated as full until recovery.
    ///
    /// An empty last segment is deleted. A short segment (torn by a crash) is extended, and a
    /// hole in the sequence ends it, but only when every later segment is unused (starts with
    /// zeros, like a preallocated one): those can hold nothing recovery would keep. Any other
    /// size mismatch or hole is an error.
    pub fn load(&self) -> Result<(), StoreError> {
        let Some(mut found) = list_segment_files(&self.dir)? else {
            return Ok(());
        };
        if let Some((_, path, 0)) = found.last() {
            tracing::warn!(path = %path.display(), "deleting empty last segment");
            std::fs::remove_file(path).map_err(|e| StoreError::io(path, e))?;
            found.pop();
        }
        let files = self.map_segments(&found)?;
        if let Some(last) = files.last() {
            self.flushed_where.store(
                last.file_from_offset() + self.mapped_file_size as i64,
                Ordering::Release,
            );
        }
        *self.files.write() = files;
        Ok(())
    }

    /// Checks the sizes and continuity of `found` (sorted by offset) and maps the segments.
    /// Unused segments after a hole are deleted; a short segment followed only by unused ones
    /// is extended.
    fn map_segments(&self, found: &[FoundSegment]) -> Result<Vec<Arc<MappedFile>>, StoreError> {
        let size = self.mapped_file_size as u64;
        let unused_after = |i: usize| -> Result<bool, StoreError> {
            for (_, path, _) in &found[i..] {
                if !starts_with_zeros(path).map_err(|e| StoreError::io(path, e))? {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let mut files = Vec::with_capacity(found.len());
        for (i, (offset, path, len)) in found.iter().enumerate() {
            let corrupted = |reason: String| StoreError::Corrupted {
                path: path.clone(),
                reason,
            };
            if *len > size {
                return Err(corrupted(format!(
                    "length {len} exceeds the segment size {size}"
                )));
            }
            if offset % size as i64 != 0 {
                return Err(corrupted(format!(
                    "start offset is not a multiple of the segment size {size}"
                )));
            }
            if let Some((prev, _, _)) = i.checked_sub(1).map(|p| &found[p]) {
                if *offset != prev + size as i64 {
                    if !unused_after(i)? {
                        return Err(corrupted(format!("segment missing before offset {offset}")));
                    }
                    for (_, p, _) in &found[i..] {
                        tracing::warn!(path = %p.display(), "deleting unused segment after a hole");
                        std::fs::remove_file(p).map_err(|e| StoreError::io(p, e))?;
                    }
                    break;
                }
            }
            if *len < size && !unused_after(i + 1)? {
                return Err(corrupted(format!(
                    "length {len} differs from the segment size {size}"
                )));
            }
            if *len < size {
                tracing::warn!(path = %path.display(), len, "extending a short segment");
            }
            let mf = MappedFile::open(path, *offset, self.mapped_file_size)
                .map_err(|e| StoreError::io(path, e))?;
            if self.sparse {
                // its tail may still be holes that later writes fault into
                mf.advise_no_read_ahead();
            }
            files.push(Arc::new(mf));
        }
        Ok(files)
    }

    /// A snapshot of the segments.
    pub fn mapped_files(&self) -> Vec<Arc<MappedFile>> {
        self.files.read().clone()
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.files.read().len()
    }

    /// Whether there are no segments.
    pub fn is_empty(&self) -> bool {
        self.files.read().is_empty()
    }

    /// The oldest segment.
    pub fn first_mapped_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().first().cloned()
    }

    /// The newest segment.
    pub fn last_mapped_file(&self) -> Option<Arc<MappedFile>> {
        self.files.read().last().cloned()
    }

    /// The newest segment if it has room, else a new one following it (or starting at
    /// `start_offset` rounded down to a segment boundary when the queue is empty). May wait for
    /// the allocator: not for the put path, which uses [`MappedFileQueue::try_take_next`].
    pub fn last_mapped_file_or_create(&self, start_offset: i64) -> io::Result<Arc<MappedFile>> {
        if let Some(last) = self.last_mapped_file() {
            if !last.is_full() {
                return Ok(last);
            }
        }
        self.create_next(start_offset)
    }

    /// Start offset of the segment after the newest (or of `start_offset`'s segment if empty).
    pub fn next_segment_offset(&self, start_offset: i64) -> i64 {
        let size = self.mapped_file_size as i64;
        match self.files.read().last() {
            Some(last) => last.file_from_offset() + size,
            None => start_offset - start_offset.rem_euclid(size),
        }
    }

    /// Asks for the segment after the newest to be created ahead of need; returns at once
    /// (without an allocator, the calling thread creates it).
    pub fn request_next(&self, start_offset: i64) {
        let spec = self.spec(self.next_segment_offset(start_offset));
        match self.allocator.get() {
            Some(a) => a.request(&self.slot, spec),
            None => {
                if self.slot.claim(spec.offset) {
                    self.slot.deliver(spec.offset, spec.create());
                }
            }
        }
    }

    /// Whether the segment after the newest is created and waiting.
    pub fn next_ready(&self, start_offset: i64) -> bool {
        self.slot.is_ready(self.next_segment_offset(start_offset))
    }

    /// Runs `f` on the segment created ahead of need, if it is ready (the segment after the
    /// newest; `start_offset` as for [`MappedFileQueue::next_ready`]).
    pub(crate) fn with_next_ready<T>(
        &self,
        start_offset: i64,
        f: impl FnOnce(&MappedFile) -> T,
    ) -> Option<T> {
        self.slot
            .with_ready(self.next_segment_offset(start_offset), f)
    }

    /// Appends the segment created ahead of need, if it is ready; otherwise asks for it and
    /// returns None. With `ahead`, the segment after it is asked for at once (the next one is
    /// then ready before it is needed). Never creates a file nor waits.
    pub fn try_take_next(&self, start_offset: i64, ahead: bool) -> Option<Arc<MappedFile>> {
        if self.allocator.get().is_none() && !self.next_ready(start_offset) {
            // no allocator: this thread creates it (tools and unit tests only)
            self.request_next(start_offset);
        }
        let mut files = self.files.write();
        let size = self.mapped_file_size as i64;
        let offset = match files.last() {
            Some(last) => last.file_from_offset() + size,
            None => start_offset - start_offset.rem_euclid(size),
        };
        let Some(mf) = self.slot.take(offset) else {
            drop(files);
            self.request_next(start_offset);
            return None;
        };
        if files.is_empty() {
            self.flushed_where.store(offset, Ordering::Release);
        }
        let mf = Arc::new(mf);
        files.push(mf.clone());
        drop(files);
        if ahead {
            self.request_next(start_offset);
        }
        Some(mf)
    }

    /// Waits (boundedly) until the segment after the newest is ready: `Ok(false)` on timeout.
    /// Blocks: the blocking pool or a dedicated thread only.
    pub fn wait_next_ready(
        &self,
        start_offset: i64,
        timeout: std::time::Duration,
    ) -> io::Result<bool> {
        let offset = self.next_segment_offset(start_offset);
        self.request_next(start_offset);
        self.slot.wait_ready(offset, timeout)
    }

    /// Appends a new segment after the newest (or at `start_offset`'s segment if empty),
    /// waiting for the allocator to create it. Recovery, replication and tools use it.
    pub fn create_next(&self, start_offset: i64) -> io::Result<Arc<MappedFile>> {
        loop {
            if let Some(mf) = self.try_take_next(start_offset, false) {
                return Ok(mf);
            }
            if !self.wait_next_ready(start_offset, ALLOCATE_WAIT_TIMEOUT)? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no segment file of {} ready after {} ms",
                        self.dir.display(),
                        ALLOCATE_WAIT_TIMEOUT.as_millis()
                    ),
                ));
            }
        }
    }

    /// Creates the segment after the newest one ahead of time and waits until it is ready.
    pub fn preallocate_next(&self) -> io::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        if self.wait_next_ready(0, ALLOCATE_WAIT_TIMEOUT)? {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "segment allocation timed out",
            ))
        }
    }

    /// Reserves the first `len` bytes of the ready next segment (sparse queues), so writes into
    /// it cannot fault on a full disk. Nothing when it is not ready.
    pub(crate) fn reserve_in_next(&self, len: usize) -> io::Result<()> {
        let offset = self.next_segment_offset(0);
        self.slot
            .with_ready(offset, |mf| {
                mf.ensure_reserved(len.min(self.mapped_file_size))
            })
            .unwrap_or(Ok(()))
    }

    /// The slot of the segment created ahead (writers wait on it off the async workers).
    pub(crate) fn slot(&self) -> &Arc<SegmentSlot> {
        &self.slot
    }

    /// Deletes a segment created ahead of time but never used.
    pub fn discard_preallocated(&self) {
        self.slot.discard();
    }

    /// The segment holding global `offset`.
    pub fn find_mapped_file_by_offset(&self, offset: i64) -> Option<Arc<MappedFile>> {
        let files = self.files.read();
        let first = files.first()?;
        if offset < first.file_from_offset() {
            return None;
        }
        let index = ((offset - first.file_from_offset()) / self.mapped_file_size as i64) as usize;
        files.get(index).cloned()
    }

    /// Offset of the first byte (`-1` when empty).
    pub fn min_offset(&self) -> i64 {
        self.first_mapped_file()
            .map(|f| f.file_from_offset())
            .unwrap_or(-1)
    }

    /// Offset just past the last written byte (0 when empty).
    pub fn max_offset(&self) -> i64 {
        self.last_mapped_file()
            .map(|f| f.wrote_offset())
            .unwrap_or(0)
    }

    /// Offset up to which everything is on disk.
    pub fn flushed_where(&self) -> i64 {
        self.flushed_where.load(Ordering::Acquire)
    }

    /// Flushes dirty segments (`least_pages` applies to the newest one; older ones are always
    /// flushed whole). Returns whether everything written before the call is now on disk.
    pub fn flush(&self, least_pages: usize, flusher: &dyn DiskFlusher) -> io::Result<bool> {
        let target = self.max_offset();
        let from = self.flushed_where();
        let files = self.mapped_files();
        let mut flushed_where = from;
        for f in files
            .iter()
            .filter(|f| f.file_from_offset() + f.file_size() as i64 > from)
        {
            let pos = f.flush(least_pages, flusher)?;
            flushed_where = f.file_from_offset() + pos as i64;
            if pos < f.file_size() {
                break;
            }
        }
        self.flushed_where
            .fetch_max(flushed_where, Ordering::AcqRel);
        Ok(self.flushed_where() >= target)
    }

    /// Drops everything at and after `offset`: later segments are deleted, the one holding
    /// `offset` is cut there (and zeroed beyond when `zero_tail`).
    pub fn truncate_dirty_files(&self, offset: i64, zero_tail: bool) -> io::Result<()> {
        let size = self.mapped_file_size as i64;
        let mut files = self.files.write();
        let mut keep = Vec::with_capacity(files.len());
        for f in files.drain(..) {
            let from = f.file_from_offset();
            if from + size <= offset {
                keep.push(f);
            } else if from <= offset {
                let pos = (offset - from) as usize;
                f.set_wrote_position(pos);
                f.set_flushed_position(pos);
                if zero_tail {
                    f.zero_tail(pos)?;
                }
                keep.push(f);
            } else {
                tracing::info!(path = %f.path().display(), "deleting segment past the end of valid data");
                f.destroy()?;
            }
        }
        *files = keep;
        drop(files);
        // a segment created ahead may now sit past the end
        self.slot.discard();
        self.flushed_where.store(offset, Ordering::Release);
        Ok(())
    }

    /// Deletes every segment and the directory if it ends up empty.
    pub fn destroy(&self) -> io::Result<()> {
        self.slot.close();
        let mut files = self.files.write();
        for f in files.drain(..) {
            f.destroy()?;
        }
        self.flushed_where.store(0, Ordering::Release);
        let _ = std::fs::remove_dir(&self.dir);
        Ok(())
    }

    /// Takes `file` out of the queue when it is the oldest segment and not the newest (retention
    /// deletes from the front only); the caller deletes the file. Returns whether it did.
    pub(crate) fn remove_first(&self, file: &Arc<MappedFile>) -> bool {
        let mut files = self.files.write();
        if files.len() < 2 || !Arc::ptr_eq(&files[0], file) {
            return false;
        }
        files.remove(0);
        true
    }

    /// Resets the flush mark (after recovery decided where valid data ends).
    pub(crate) fn set_flushed_where(&self, offset: i64) {
        self.flushed_where.store(offset, Ordering::Release);
    }
}

/// Whether a segment's first record slot is empty (nothing was ever appended to it).
fn starts_with_zeros(path: &Path) -> io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)?.read(&mut head)?;
    Ok(head[..n].iter().all(|b| *b == 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flush::MsyncFlusher;

    fn append(q: &MappedFileQueue, data: &[u8]) {
        let f = q.last_mapped_file_or_create(0).unwrap();
        let pos = f.wrote_position();
        unsafe { f.region_mut(pos, data.len()).copy_from_slice(data) };
        f.set_wrote_position(pos + data.len());
    }

    #[test]
    fn grows_finds_flushes_and_truncates() {
        let dir = tempfile::tempdir().unwrap();
        let q = MappedFileQueue::new(dir.path().join("q"), 100);
        q.load().unwrap();
        assert_eq!((q.min_offset(), q.max_offset()), (-1, 0));
        append(&q, &[1; 100]);
        append(&q, &[2; 60]);
        assert_eq!(q.len(), 2);
        assert_eq!(q.max_offset(), 160);
        assert_eq!(
            q.find_mapped_file_by_offset(150)
                .unwrap()
                .file_from_offset(),
            100
        );
        assert!(q.find_mapped_file_by_offset(200).is_none());
        assert!(q.flush(0, &MsyncFlusher).unwrap());
        assert_eq!(q.flushed_where(), 160);

        q.preallocate_next().unwrap();
        assert!(dir.path().join("q/00000000000000000200").exists());
        append(&q, &[3; 40]);
        let third = q.create_next(0).unwrap();
        assert_eq!(third.file_from_offset(), 200);

        q.truncate_dirty_files(130, true).unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q.max_offset(), 130);
        assert!(!dir.path().join("q/00000000000000000200").exists());
        let second = q.last_mapped_file().unwrap();
        second.set_wrote_position(100);
        assert_eq!(
            second.read(0, 40).unwrap(),
            &[2u8; 30]
                .iter()
                .chain(&[0u8; 10])
                .copied()
                .collect::<Vec<_>>()[..]
        );
    }

    #[test]
    fn load_checks_sizes_and_holes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("00000000000000000000"), [0u8; 100]).unwrap();
        std::fs::write(d.join("00000000000000000100"), [0u8; 40]).unwrap();
        std::fs::write(d.join("not-a-segment"), b"x").unwrap();
        let q = MappedFileQueue::new(d, 100);
        q.load().unwrap();
        assert_eq!(q.len(), 2, "short last segment is extended");
        assert_eq!(
            std::fs::metadata(d.join("00000000000000000100"))
                .unwrap()
                .len(),
            100
        );

        std::fs::write(d.join("00000000000000000200"), b"").unwrap();
        let q = MappedFileQueue::new(d, 100);
        q.load().unwrap();
        assert_eq!(q.len(), 2, "empty last segment is deleted");
        assert!(!d.join("00000000000000000200").exists());

        // a hole followed by a segment holding data is refused
        std::fs::write(d.join("00000000000000000400"), [1u8; 100]).unwrap();
        assert!(matches!(
            MappedFileQueue::new(d, 100).load(),
            Err(StoreError::Corrupted { .. })
        ));
        // ... but an unused (preallocated) one after the hole is dropped
        std::fs::write(d.join("00000000000000000400"), [0u8; 100]).unwrap();
        let q = MappedFileQueue::new(d, 100);
        q.load().unwrap();
        assert_eq!(q.len(), 2);
        assert!(!d.join("00000000000000000400").exists());
        // a short segment before one holding data is refused, before an unused one accepted
        std::fs::write(d.join("00000000000000000100"), [1u8; 100]).unwrap();
        std::fs::write(d.join("00000000000000000000"), [0u8; 50]).unwrap();
        assert!(matches!(
            MappedFileQueue::new(d, 100).load(),
            Err(StoreError::Corrupted { .. })
        ));
        std::fs::write(d.join("00000000000000000100"), [0u8; 100]).unwrap();
        let q = MappedFileQueue::new(d, 100);
        q.load().unwrap();
        assert_eq!(q.len(), 2);
    }
}
