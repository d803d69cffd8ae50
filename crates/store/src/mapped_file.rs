//! One fixed-size memory-mapped segment file (RocketMQ `DefaultMappedFile`).
//!
//! Bytes below the write position are immutable once published, so readers get zero-copy
//! [`Bytes`] slices of the mapping while the single writer (serialized by the put lock)
//! appends after the write position.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::MmapRaw;

use crate::flush::DiskFlusher;

/// OS page size RocketMQ counts dirty pages in.
pub const OS_PAGE_SIZE: usize = 4096;

/// Most bytes a sparse file allocates ahead of the write that needs them.
const MAX_RESERVE_AHEAD: usize = 1 << 20;

/// The name of a segment starting at `offset`: 20 zero-padded digits.
pub fn offset_to_file_name(offset: i64) -> String {
    format!("{offset:020}")
}

/// The start offset encoded in a segment file name, if it is one.
pub fn file_name_to_offset(name: &str) -> Option<i64> {
    (name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

struct MmapOwner(Arc<MmapRaw>);

impl AsRef<[u8]> for MmapOwner {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: called once by `Bytes::from_owner` before the file is shared; afterwards
        // only sub-slices below the write position are ever dereferenced.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr(), self.0.len()) }
    }
}

/// How far the warm-ahead got in a segment (see [`crate::warm`]).
#[derive(Debug, Default, Clone, Copy)]
struct WarmState {
    /// Bytes from the start that hold data or zeros written ahead through the page cache.
    frontier: usize,
    /// Bytes from the start the warm-ahead made durable (SYNC_FLUSH).
    synced: usize,
}

/// A mapped segment.
pub struct MappedFile {
    path: PathBuf,
    file: File,
    file_from_offset: i64,
    file_size: usize,
    map: Arc<MmapRaw>,
    whole: Bytes,
    wrote_position: AtomicUsize,
    flushed_position: AtomicUsize,
    /// Bytes from the start whose disk blocks are known to be allocated (sparse files).
    reserved: AtomicUsize,
    /// End of the write in progress, or of the last one: the warm-ahead never zeroes below it.
    write_end: AtomicUsize,
    /// Start of the range the warm-ahead is zeroing right now, `usize::MAX` when none.
    warm_claim: AtomicUsize,
    /// Held by the warm-ahead while it zeroes a range.
    warm: parking_lot::Mutex<WarmState>,
}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("file_from_offset", &self.file_from_offset)
            .field("wrote_position", &self.wrote_position())
            .field("flushed_position", &self.flushed_position())
            .finish()
    }
}

impl MappedFile {
    /// Creates `{dir}/{20-digit offset}` with `file_size` bytes reserved on disk.
    ///
    /// Space is reserved with `fallocate` where the filesystem supports it, so a full disk
    /// shows up here as an error instead of a fault on a later write into the mapping.
    pub fn create(dir: &Path, file_from_offset: i64, file_size: usize) -> io::Result<MappedFile> {
        crate::blocking::debug_assert_blocking_allowed("creating a mapped file");
        let (path, file) = create_new(dir, file_from_offset)?;
        let reserved = reserve(&file, file_size).and_then(|_| file.set_len(file_size as u64));
        if let Err(e) = reserved {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        let mf = Self::map(path, file, file_from_offset, file_size)?;
        mf.reserved.store(file_size, Ordering::Release);
        Ok(mf)
    }

    /// Creates `{dir}/{20-digit offset}` as a sparse file of `file_size` bytes, as RocketMQ
    /// creates its consume queue files: disk blocks are allocated only as the file fills, by
    /// [`MappedFile::ensure_reserved`], which every write into it must call first.
    pub fn create_sparse(
        dir: &Path,
        file_from_offset: i64,
        file_size: usize,
    ) -> io::Result<MappedFile> {
        crate::blocking::debug_assert_blocking_allowed("creating a mapped file");
        let (path, file) = create_new(dir, file_from_offset)?;
        if let Err(e) = file.set_len(file_size as u64) {
            drop(file);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        let mf = Self::map(path, file, file_from_offset, file_size)?;
        mf.advise_no_read_ahead();
        Ok(mf)
    }

    /// Turns fault read-ahead off for this mapping. For a sparse file it matters: the first
    /// write into a hole faults, and read-ahead would then fill (zero) megabytes of page cache
    /// around it, most of which a small consume queue never uses: with thousands of new
    /// topics that zeroing was most of the broker's CPU. Each fault now maps only its page.
    pub(crate) fn advise_no_read_ahead(&self) {
        if let Err(e) = self.map.advise(memmap2::Advice::Random) {
            tracing::debug!(path = %self.path.display(), error = %e, "madvise(MADV_RANDOM) failed");
        }
    }

    /// Allocates the disk blocks of `[0, end)` (and some more ahead, growing with the file) if
    /// they are not known to be allocated, so that writing those bytes through the mapping
    /// cannot fault (SIGBUS) on a full disk: the error comes here instead, before any write.
    /// Callers serialize (the put lock).
    pub(crate) fn ensure_reserved(&self, end: usize) -> io::Result<()> {
        let have = self.reserved.load(Ordering::Acquire);
        if end <= have {
            return Ok(());
        }
        let ahead = have.min(MAX_RESERVE_AHEAD);
        let target = end
            .saturating_add(ahead)
            .div_ceil(OS_PAGE_SIZE)
            .saturating_mul(OS_PAGE_SIZE)
            .min(self.file_size)
            .max(end);
        // blocks below `have` are allocated already; allocating them again costs nothing
        reserve_range(&self.file, have, target - have)?;
        self.reserved.store(target, Ordering::Release);
        Ok(())
    }

    /// Bytes from the start whose disk blocks are known to be allocated.
    pub fn reserved(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
    }

    /// Maps an existing segment; it is treated as full until recovery sets its positions.
    pub fn open(path: &Path, file_from_offset: i64, file_size: usize) -> io::Result<MappedFile> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        if len < file_size as u64 {
            // a torn last segment: extend it, recovery finds where the data ends
            file.set_len(file_size as u64)?;
        }
        let mf = Self::map(path.to_path_buf(), file, file_from_offset, file_size)?;
        mf.wrote_position.store(file_size, Ordering::Release);
        mf.flushed_position.store(file_size, Ordering::Release);
        Ok(mf)
    }

    fn map(path: PathBuf, file: File, file_from_offset: i64, file_size: usize) -> io::Result<Self> {
        let map = Arc::new(memmap2::MmapOptions::new().len(file_size).map_raw(&file)?);
        let whole = Bytes::from_owner(MmapOwner(map.clone()));
        Ok(MappedFile {
            path,
            file,
            file_from_offset,
            file_size,
            map,
            whole,
            wrote_position: AtomicUsize::new(0),
            flushed_position: AtomicUsize::new(0),
            reserved: AtomicUsize::new(0),
            write_end: AtomicUsize::new(0),
            warm_claim: AtomicUsize::new(usize::MAX),
            warm: parking_lot::Mutex::new(WarmState::default()),
        })
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Global offset of the first byte.
    pub fn file_from_offset(&self) -> i64 {
        self.file_from_offset
    }

    /// Segment size.
    pub fn file_size(&self) -> usize {
        self.file_size
    }

    /// Bytes written (and visible to readers).
    pub fn wrote_position(&self) -> usize {
        self.wrote_position.load(Ordering::Acquire)
    }

    /// Bytes known to be on disk.
    pub fn flushed_position(&self) -> usize {
        self.flushed_position.load(Ordering::Acquire)
    }

    /// Whether nothing more can be appended.
    pub fn is_full(&self) -> bool {
        self.wrote_position() >= self.file_size
    }

    /// Publishes bytes up to `pos` to readers.
    pub(crate) fn set_wrote_position(&self, pos: usize) {
        self.wrote_position
            .store(pos.min(self.file_size), Ordering::Release);
    }

    pub(crate) fn set_flushed_position(&self, pos: usize) {
        self.flushed_position
            .store(pos.min(self.file_size), Ordering::Release);
    }

    /// Global offset just past the written bytes (the queue's end when this is its newest).
    pub fn wrote_offset(&self) -> i64 {
        self.file_from_offset() + self.wrote_position() as i64
    }

    /// Whether CommitLog `offset` lies in this segment.
    pub fn holds(&self, offset: i64) -> bool {
        offset >= self.file_from_offset && offset - self.file_from_offset < self.file_size as i64
    }

    /// Written bytes `[pos, pos + len)`, borrowed.
    pub fn read(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        // SAFETY: the range is below the write position, so no writer touches it any more.
        Some(unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(pos), len) })
    }

    /// Asks the CPU to bring the written bytes `[pos, pos + len)` into its caches ahead of a
    /// sequential reader: a record the reader reaches later was written by another thread (a
    /// slave's HA client) and is not in this core's caches, and a load that waits for it stalls
    /// the reader for a memory round trip. A hint only: nothing is read, a byte not mapped yet is
    /// skipped.
    pub fn prefetch(&self, pos: usize, len: usize) {
        let end = pos.saturating_add(len).min(self.wrote_position());
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            const LINE: usize = 64;
            let mut at = pos & !(LINE - 1);
            while at < end {
                // SAFETY: the address lies inside the mapping; a prefetch never faults and
                // reads nothing the program sees
                unsafe { _mm_prefetch::<_MM_HINT_T0>(self.map.as_ptr().add(at).cast()) };
                at += LINE;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = end;
    }

    /// Written bytes `[pos, pos + len)` as a zero-copy slice that keeps the mapping alive.
    pub fn slice(&self, pos: usize, len: usize) -> Option<Bytes> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        Some(self.whole.slice(pos..end))
    }

    /// Mutable access to `[pos, pos + len)`.
    ///
    /// # Safety
    /// No other thread may read or write the range while the returned slice lives: callers
    /// write only beyond the published write position and serialize writers.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn region_mut(&self, pos: usize, len: usize) -> &mut [u8] {
        assert!(pos + len <= self.file_size, "region beyond the mapped file");
        std::slice::from_raw_parts_mut(self.map.as_mut_ptr().add(pos), len)
    }

    /// Announces a write of the bytes up to `end`, past the published write position. Every
    /// writer of a commit log segment calls it before touching the bytes: the warm-ahead
    /// ([`MappedFile::warm_ahead`]) zeroes only beyond the announced end, and a write that
    /// reaches a range being zeroed right now waits here until that `pwrite` is done.
    ///
    /// The two sides follow Dekker's pattern: the writer publishes its end, then looks for a
    /// claim; the warm-ahead publishes its claim, then looks at the end. With both in the
    /// sequentially consistent order, at least one of them sees the other.
    pub(crate) fn begin_write(&self, end: usize) {
        self.write_end.fetch_max(end, Ordering::SeqCst);
        if self.warm_claim.load(Ordering::SeqCst) < end {
            drop(self.warm.lock());
        }
    }

    /// Writes zeros into at most `zeros.len()` bytes past everything written or announced, up
    /// to `ahead` bytes beyond it, through the file (`pwrite`) so that the page cache holds
    /// those pages before the writer gets there. Returns the bytes zeroed (0: nothing to do).
    ///
    /// A store into a mapped page the page cache does not hold faults, and for a fresh segment
    /// the fault reads its unwritten extent in as zeros, with the put lock held; zeroing ahead
    /// moves that work to the warm-ahead thread.
    pub(crate) fn warm_ahead(&self, ahead: usize, zeros: &[u8]) -> io::Result<usize> {
        let mut warm = self.warm.lock();
        let written = self
            .write_end
            .load(Ordering::SeqCst)
            .max(self.wrote_position());
        let start = warm.frontier.max(written.next_multiple_of(OS_PAGE_SIZE));
        let end = written
            .saturating_add(ahead)
            .min(self.file_size)
            .min(start.saturating_add(zeros.len()));
        if start >= end {
            return Ok(0);
        }
        self.warm_claim.store(start, Ordering::SeqCst);
        let zeroed = if self.write_end.load(Ordering::SeqCst) > start {
            // a writer announced bytes past `start` since the look above: leave them to it
            Ok(0)
        } else {
            write_all_at(&self.file, &zeros[..end - start], start).map(|()| end - start)
        };
        self.warm_claim.store(usize::MAX, Ordering::SeqCst);
        if let Ok(n) = zeroed {
            if n > 0 {
                warm.frontier = end;
            }
        }
        zeroed
    }

    /// `msync`s what [`MappedFile::warm_ahead`] zeroed and has not synced yet, so that the disk
    /// blocks under it are written extents before a SYNC_FLUSH flush reaches them: flushing
    /// into an unwritten extent also commits the extent's conversion to the journal.
    pub(crate) fn sync_warmed(&self) -> io::Result<usize> {
        let (from, to) = {
            let warm = self.warm.lock();
            (warm.synced, warm.frontier)
        };
        if to <= from {
            return Ok(0);
        }
        self.sync_range(from, to - from)?;
        let mut warm = self.warm.lock();
        warm.synced = warm.synced.max(to);
        Ok(to - from)
    }

    /// Bytes from the start the warm-ahead has written zeros (or found data) in.
    pub fn warm_frontier(&self) -> usize {
        self.warm.lock().frontier
    }

    /// Writes `data` at `pos` through the file (`pwrite`) rather than the mapping; readers of
    /// the mapping see the bytes, which share the page cache.
    ///
    /// Storing into a mapped page the page cache does not hold yet first faults it in, and a
    /// fresh segment's pages are unwritten extents the kernel zeroes on that fault, just before
    /// the store overwrites them: on a slave copying whole frames that zeroing was a third of
    /// its CPU. A `pwrite` covering whole pages skips both the fault and the zeroing.
    ///
    /// Callers write only beyond the published write position and serialize writers, as for
    /// [`MappedFile::region_mut`].
    pub(crate) fn write_at(&self, pos: usize, data: &[u8]) -> io::Result<()> {
        assert!(
            pos + data.len() <= self.file_size,
            "write beyond the mapped file"
        );
        write_all_at(&self.file, data, pos)
    }

    /// `msync`s `[pos, pos + len)`.
    pub fn sync_range(&self, pos: usize, len: usize) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        self.map.flush_range(pos, len)
    }

    /// Flushes written bytes if at least `least_pages` dirty pages (0 = any) are pending or
    /// the file is full. Returns the flushed position.
    pub fn flush(&self, least_pages: usize, flusher: &dyn DiskFlusher) -> io::Result<usize> {
        let wrote = self.wrote_position();
        let flushed = self.flushed_position();
        if wrote <= flushed {
            return Ok(flushed);
        }
        let full = wrote >= self.file_size;
        let dirty_pages = wrote / OS_PAGE_SIZE - flushed / OS_PAGE_SIZE;
        if !full && least_pages > 0 && dirty_pages < least_pages {
            return Ok(flushed);
        }
        flusher.flush(self, flushed, wrote - flushed)?;
        self.set_flushed_position(wrote);
        Ok(wrote)
    }

    /// Zeroes `[pos, file end)` so stale bytes past a recovered end never look like data.
    pub(crate) fn zero_tail(&self, pos: usize) -> io::Result<()> {
        if pos >= self.file_size {
            return Ok(());
        }
        // the warm-ahead waits, and starts again from `pos` (the range may be unwritten again)
        let mut warm = self.warm.lock();
        warm.frontier = warm.frontier.min(pos);
        warm.synced = warm.synced.min(pos);
        if zero_range(&self.file, pos, self.file_size - pos)? {
            return Ok(());
        }
        // Fallback: write zeros only into pages that hold something, keeping holes sparse.
        let mut p = pos;
        while p < self.file_size {
            let end = ((p / OS_PAGE_SIZE + 1) * OS_PAGE_SIZE).min(self.file_size);
            // SAFETY: recovery runs before the file is shared with readers or writers.
            let region = unsafe { self.region_mut(p, end - p) };
            if region.iter().any(|b| *b != 0) {
                region.fill(0);
            }
            p = end;
        }
        self.sync_range(pos, self.file_size - pos)
    }

    /// Deletes the file (the mapping lives on while slices of it are held).
    pub(crate) fn destroy(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Creates `{dir}/{20-digit offset}`, never overwriting an existing file.
fn create_new(dir: &Path, file_from_offset: i64) -> io::Result<(PathBuf, File)> {
    let path = dir.join(offset_to_file_name(file_from_offset));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

fn reserve(file: &File, len: usize) -> io::Result<()> {
    reserve_range(file, 0, len)
}

/// Allocates disk blocks for `pos..pos + len` of `file`, so that writing those bytes through a
/// mapping cannot fault (SIGBUS) on a full disk. Filesystems without `fallocate` are left as
/// they are.
#[cfg(target_os = "linux")]
pub(crate) fn reserve_range(file: &File, pos: usize, len: usize) -> io::Result<()> {
    fallocate(file, rustix::fs::FallocateFlags::empty(), pos, len).map(|_| ())
}

/// `fallocate` with `flags`; `Ok(false)` when the filesystem does not support it.
#[cfg(target_os = "linux")]
fn fallocate(
    file: &File,
    flags: rustix::fs::FallocateFlags,
    pos: usize,
    len: usize,
) -> io::Result<bool> {
    use rustix::io::Errno;
    match rustix::fs::fallocate(file, flags, pos as u64, len as u64) {
        Ok(()) => Ok(true),
        Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn reserve_range(_file: &File, _pos: usize, _len: usize) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn write_all_at(file: &File, data: &[u8], pos: usize) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, pos as u64)
}

#[cfg(windows)]
fn write_all_at(file: &File, mut data: &[u8], mut pos: usize) -> io::Result<()> {
    while !data.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, data, pos as u64)?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
        pos += n;
    }
    Ok(())
}

/// Zeroes a byte range in the file itself; `Ok(false)` when the filesystem cannot.
#[cfg(target_os = "linux")]
fn zero_range(file: &File, pos: usize, len: usize) -> io::Result<bool> {
    fallocate(file, rustix::fs::FallocateFlags::ZERO_RANGE, pos, len)
}

#[cfg(not(target_os = "linux"))]
fn zero_range(_file: &File, _pos: usize, _len: usize) -> io::Result<bool> {
    Ok(false)
}

/// The prefetch window of a sequential reader of CommitLog records (see
/// [`MappedFile::prefetch`]): the CPU is asked once for each byte, [`Self::AHEAD`] bytes before
/// the reader gets there.
#[derive(Debug, Default)]
pub(crate) struct SequentialPrefetch {
    /// CommitLog offset up to which the CPU was asked.
    until: i64,
}

impl SequentialPrefetch {
    /// About half a dozen 1 KiB records: more than a memory round trip of parsing ahead.
    const AHEAD: usize = 8 * 1024;

    /// The reader is at `pos` in `file`.
    pub(crate) fn advance(&mut self, file: &MappedFile, pos: usize) {
        let base = file.file_from_offset();
        let ahead = pos.saturating_add(Self::AHEAD);
        if self.until < base + ahead as i64 {
            let from = usize::try_from(self.until - base).map_or(pos, |p| p.max(pos));
            file.prefetch(from, ahead - from);
            self.until = base + ahead as i64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flush::MsyncFlusher;

    #[test]
    fn names() {
        assert_eq!(offset_to_file_name(1_073_741_824), "00000000001073741824");
        assert_eq!(
            file_name_to_offset("00000000001073741824"),
            Some(1_073_741_824)
        );
        assert_eq!(file_name_to_offset("0000000000107374182"), None);
        assert_eq!(file_name_to_offset("0000000000107374182x"), None);
    }

    #[test]
    fn write_read_flush_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let f = MappedFile::create(dir.path(), 8192, 8192).unwrap();
        assert_eq!(f.path().file_name().unwrap(), "00000000000000008192");
        assert_eq!(std::fs::metadata(f.path()).unwrap().len(), 8192);
        assert!(f.read(0, 1).is_none());
        unsafe { f.region_mut(0, 5).copy_from_slice(b"hello") };
        f.set_wrote_position(5);
        assert_eq!(f.read(0, 5), Some(&b"hello"[..]));
        let s = f.slice(1, 3).unwrap();
        assert_eq!(&s[..], b"ell");
        assert!(f.slice(4, 2).is_none());
        assert_eq!(
            f.flush(4, &MsyncFlusher).unwrap(),
            0,
            "one dirty page is below 4"
        );
        assert_eq!(f.flush(0, &MsyncFlusher).unwrap(), 5);
        drop(f);
        // the slice outlives the file object
        assert_eq!(&s[..], b"ell");
        let g = MappedFile::open(&dir.path().join("00000000000000008192"), 8192, 8192).unwrap();
        assert!(g.is_full());
        assert_eq!(g.read(0, 5), Some(&b"hello"[..]));
        g.zero_tail(2).unwrap();
        assert_eq!(g.read(0, 5), Some(&b"he\0\0\0"[..]));
        g.destroy().unwrap();
        assert!(!dir.path().join("00000000000000008192").exists());
        assert!(MappedFile::create(dir.path(), 0, 100).is_ok());
        assert!(
            MappedFile::create(dir.path(), 0, 100).is_err(),
            "never overwrites"
        );
    }

    #[test]
    fn sparse_files_allocate_blocks_as_they_fill() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let size = 6_000_000;
        let f = MappedFile::create_sparse(dir.path(), 0, size).unwrap();
        let meta = std::fs::metadata(f.path()).unwrap();
        assert_eq!(meta.len(), size as u64);
        assert!(meta.blocks() * 512 < 64 * 1024, "{} blocks", meta.blocks());
        assert_eq!(f.reserved(), 0);
        f.ensure_reserved(20).unwrap();
        assert_eq!(f.reserved(), OS_PAGE_SIZE, "one page first");
        f.ensure_reserved(OS_PAGE_SIZE + 20).unwrap();
        assert_eq!(f.reserved(), 3 * OS_PAGE_SIZE, "then ahead by what it has");
        f.ensure_reserved(size).unwrap();
        assert_eq!(f.reserved(), size);
        let full = MappedFile::create(dir.path(), size as i64, 8192).unwrap();
        assert_eq!(full.reserved(), 8192);
    }

    #[test]
    fn short_files_are_extended_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(offset_to_file_name(0));
        std::fs::write(&p, b"abc").unwrap();
        let f = MappedFile::open(&p, 0, 4096).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 4096);
        assert_eq!(f.read(0, 4), Some(&b"abc\0"[..]));
    }
}

#[cfg(test)]
mod warm_tests {
    use super::*;

    /// Appends `data` as the put path does: announce, store through the mapping, publish.
    fn put(f: &MappedFile, data: &[u8]) {
        let pos = f.wrote_position();
        f.begin_write(pos + data.len());
        unsafe { f.region_mut(pos, data.len()).copy_from_slice(data) };
        f.set_wrote_position(pos + data.len());
    }

    /// [`put`] with a pause inside the store, widening the window a racing zeroing would hit.
    fn put_slowly(f: &MappedFile, data: &[u8]) {
        let pos = f.wrote_position();
        f.begin_write(pos + data.len());
        for (i, part) in data.chunks(1024).enumerate() {
            let at = pos + i * 1024;
            unsafe { f.region_mut(at, part.len()).copy_from_slice(part) };
            std::thread::yield_now();
        }
        f.set_wrote_position(pos + data.len());
    }

    #[test]
    fn warm_ahead_zeroes_only_past_the_writer_and_stops_at_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let f = MappedFile::create(dir.path(), 0, 64 * 4096).unwrap();
        put(&f, &[7u8; 5000]);
        let zeros = vec![0u8; 8 * 4096];
        // the first page boundary past the written bytes, up to 10 pages past them
        assert_eq!(f.warm_ahead(10 * 4096, &zeros).unwrap(), 8 * 4096);
        assert_eq!(f.warm_frontier(), 2 * 4096 + 8 * 4096);
        // what is left of the window: up to 5000 + 10 pages
        assert_eq!(
            f.warm_ahead(10 * 4096, &zeros).unwrap(),
            5000 + 10 * 4096 - 10 * 4096
        );
        assert_eq!(f.warm_ahead(10 * 4096, &zeros).unwrap(), 0);
        assert!(f.read(0, 5000).unwrap().iter().all(|b| *b == 7));
        // the writer moves on: the window follows it, never below what it announced
        put(&f, &vec![9u8; 20 * 4096]);
        f.begin_write(f.wrote_position() + 3 * 4096);
        let n = f.warm_ahead(10 * 4096, &zeros).unwrap();
        assert_eq!(n, 8 * 4096);
        assert!(f.warm_frontier() >= f.wrote_position() + 3 * 4096 + 8 * 4096);
        assert!(f.read(0, f.wrote_position()).unwrap()[5000..]
            .iter()
            .all(|b| *b == 9));
        assert!(f.sync_warmed().unwrap() > 0);
        assert_eq!(f.sync_warmed().unwrap(), 0);
    }

    #[test]
    fn a_writer_and_the_warm_ahead_never_overlap() {
        let dir = tempfile::tempdir().unwrap();
        let size = 16 << 20;
        let f = Arc::new(MappedFile::create(dir.path(), 0, size).unwrap());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let warmer = {
            let (f, stop) = (f.clone(), stop.clone());
            std::thread::spawn(move || {
                let zeros = vec![0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    let _ = f.warm_ahead(1 << 20, &zeros).unwrap();
                }
            })
        };
        // records of varied sizes, each filled with a byte derived from its position
        let mut pos = 0;
        let mut n = 0usize;
        while pos + 5000 < size {
            let len = 1 + (n * 7919) % 4999;
            put_slowly(&f, &vec![(n % 251) as u8 + 1; len]);
            pos += len;
            n += 1;
        }
        stop.store(true, Ordering::Relaxed);
        warmer.join().unwrap();
        let (mut at, mut i) = (0, 0usize);
        while at < pos {
            let len = 1 + (i * 7919) % 4999;
            let rec = f.read(at, len).unwrap();
            assert!(
                rec.iter().all(|b| *b == (i % 251) as u8 + 1),
                "record {i} at {at} zeroed"
            );
            at += len;
            i += 1;
        }
    }
}
