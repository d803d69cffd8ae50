//! One index file (RocketMQ `IndexFile`): a fixed-size hash table whose slots chain entries
//! newest first.
//!
//! Every access to the mapped bytes happens under `header`'s lock (writes under the write lock,
//! lookups under the read lock), so readers never see a half-written entry. Flushing (`msync`)
//! takes no lock: it reads no bytes through Rust references.
//!
//! The file is sparse (RocketMQ's is too), but no byte is written through the mapping before its
//! disk blocks are allocated: the header and slots when the file is created or opened, entries a
//! chunk ahead of the next one. On a full disk a put then fails with an error the builder retries,
//! instead of the write faulting (SIGBUS) and killing the process.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use parking_lot::RwLock;

use super::index_header::{IndexHeader, INDEX_HEADER_SIZE};
use super::key_hash::index_key_hash;
use super::{HASH_SLOT_SIZE, INDEX_SIZE};

/// An entry number that means "none".
const INVALID_INDEX: i32 = 0;

/// Entry bytes allocated ahead of the next entry (about 52 000 entries).
const RESERVE_CHUNK: usize = 1 << 20;

/// A memory-mapped index file.
pub struct IndexFile {
    path: PathBuf,
    file: File,
    map: MmapRaw,
    /// Bytes from the start of the file whose disk blocks are allocated.
    reserved: AtomicUsize,
    hash_slot_num: i32,
    index_num: i32,
    header: RwLock<IndexHeader>,
}

impl std::fmt::Debug for IndexFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexFile")
            .field("path", &self.path)
            .field("header", &*self.header.read())
            .finish()
    }
}

/// One 20-byte entry.
struct Entry {
    key_hash: i32,
    phy_offset: i64,
    time_diff: i32,
    prev_index: i32,
}

impl IndexFile {
    /// Size in bytes of a file with these capacities.
    pub fn file_size(hash_slot_num: i32, index_num: i32) -> usize {
        INDEX_HEADER_SIZE
            + hash_slot_num.max(0) as usize * HASH_SLOT_SIZE
            + index_num.max(0) as usize * INDEX_SIZE
    }

    /// Creates a new empty file. A file that follows a full one starts its offsets and times
    /// where that one ended, as RocketMQ does.
    pub fn create(
        path: &Path,
        hash_slot_num: i32,
        index_num: i32,
        end_phy_offset: i64,
        end_timestamp: i64,
    ) -> io::Result<IndexFile> {
        // the index builder thread creates index files, never an async worker
        crate::blocking::debug_assert_blocking_allowed("creating a mapped file");
        let f = Self::map(path, hash_slot_num, index_num, true)?;
        if let Err(e) = f.reserve_to(f.entry_pos(0)) {
            let _ = std::fs::remove_file(path);
            return Err(e);
        }
        {
            let mut h = f.header.write();
            if end_phy_offset > 0 {
                h.begin_phy_offset = end_phy_offset;
                h.end_phy_offset = end_phy_offset;
            }
            if end_timestamp > 0 {
                h.begin_timestamp = end_timestamp;
                h.end_timestamp = end_timestamp;
            }
            f.write_at(0, &h.encode());
        }
        Ok(f)
    }

    /// Opens an existing file, which must have the size the capacities give.
    pub fn open(path: &Path, hash_slot_num: i32, index_num: i32) -> io::Result<IndexFile> {
        let f = Self::map(path, hash_slot_num, index_num, false)?;
        let mut raw = [0u8; INDEX_HEADER_SIZE];
        f.read_at(0, &mut raw);
        let header = IndexHeader::decode(&raw);
        // every later read trusts these counts to stay inside the file
        if !(1..=index_num).contains(&header.index_count)
            || !(0..=hash_slot_num).contains(&header.hash_slot_count)
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "corrupt index header: indexCount {} (capacity {index_num}), hashSlotCount {} \
                     (slots {hash_slot_num})",
                    header.index_count, header.hash_slot_count
                ),
            ));
        }
        // what is written is allocated; the slots may have holes in a file another broker made,
        // and the first put allocates them if this cannot (a full disk) now
        let written = f.entry_pos(header.index_count);
        *f.header.write() = header;
        if f.reserve_to(written).is_err() {
            f.reserved.store(0, Ordering::Release);
        }
        Ok(f)
    }

    fn map(path: &Path, hash_slot_num: i32, index_num: i32, create: bool) -> io::Result<Self> {
        if hash_slot_num <= 0 || index_num <= 1 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "maxHashSlotNum must be positive and maxIndexNum above 1",
            ));
        }
        let size = Self::file_size(hash_slot_num, index_num);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        let len = file.metadata()?.len();
        if create && len == 0 {
            file.set_len(size as u64)?;
        } else if len != size as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "index file has {len} bytes but maxHashSlotNum {hash_slot_num} and \
                     maxIndexNum {index_num} make {size}"
                ),
            ));
        }
        let map = MmapOptions::new().len(size).map_raw(&file)?;
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            map,
            reserved: AtomicUsize::new(0),
            hash_slot_num,
            index_num,
            header: RwLock::new(IndexHeader::default()),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file name (its creation time, `yyyyMMddHHmmssSSS`).
    pub fn file_name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// A copy of the header.
    pub fn header(&self) -> IndexHeader {
        *self.header.read()
    }

    /// Whether every entry is used.
    pub fn is_write_full(&self) -> bool {
        self.header.read().index_count >= self.index_num
    }

    /// Whether the file may hold entries stored in `[begin, end]` (RocketMQ `isTimeMatched`).
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        let h = self.header.read();
        (begin < h.begin_timestamp && end > h.end_timestamp)
            || (begin >= h.begin_timestamp && begin <= h.end_timestamp)
            || (end >= h.begin_timestamp && end <= h.end_timestamp)
    }

    fn slot_pos(&self, key_hash: i32) -> usize {
        INDEX_HEADER_SIZE + (key_hash % self.hash_slot_num) as usize * HASH_SLOT_SIZE
    }

    fn entry_pos(&self, index: i32) -> usize {
        INDEX_HEADER_SIZE
            + self.hash_slot_num as usize * HASH_SLOT_SIZE
            + index as usize * INDEX_SIZE
    }

    /// Allocates the file's blocks up to `end` (and a chunk beyond it, within the file).
    fn reserve_to(&self, end: usize) -> io::Result<()> {
        let have = self.reserved.load(Ordering::Acquire);
        if end <= have {
            return Ok(());
        }
        let target = end
            .saturating_add(RESERVE_CHUNK)
            .min(self.map.len())
            .max(end);
        crate::mapped_file::reserve_range(&self.file, have, target - have)?;
        self.reserved.store(target, Ordering::Release);
        Ok(())
    }

    /// Adds `key` for the record at `phy_offset`; `Ok(false)` when the file is full, an error
    /// when its disk blocks cannot be allocated (a full disk): nothing was written then.
    pub fn put_key(&self, key: &str, phy_offset: i64, store_timestamp: i64) -> io::Result<bool> {
        let mut h = self.header.write();
        if h.index_count >= self.index_num {
            return Ok(false);
        }
        self.reserve_to(self.entry_pos(h.index_count) + INDEX_SIZE)?;
        let key_hash = index_key_hash(key);
        let slot_pos = self.slot_pos(key_hash);
        let mut slot_value = self.read_i32(slot_pos);
        if slot_value <= INVALID_INDEX || slot_value >= h.index_count {
            slot_value = INVALID_INDEX;
        }
        let time_diff = if h.begin_timestamp <= 0 {
            0
        } else {
            ((store_timestamp - h.begin_timestamp) / 1000).clamp(0, i32::MAX as i64) as i32
        };
        let mut entry = [0u8; INDEX_SIZE];
        entry[0..4].copy_from_slice(&key_hash.to_be_bytes());
        entry[4..12].copy_from_slice(&phy_offset.to_be_bytes());
        entry[12..16].copy_from_slice(&time_diff.to_be_bytes());
        entry[16..20].copy_from_slice(&slot_value.to_be_bytes());
        self.write_at(self.entry_pos(h.index_count), &entry);
        self.write_at(slot_pos, &h.index_count.to_be_bytes());

        if h.index_count <= 1 {
            h.begin_phy_offset = phy_offset;
            h.begin_timestamp = store_timestamp;
        }
        if slot_value == INVALID_INDEX {
            h.hash_slot_count += 1;
        }
        h.index_count += 1;
        h.end_phy_offset = phy_offset;
        h.end_timestamp = store_timestamp;
        self.write_at(0, &h.encode());
        Ok(true)
    }

    /// Appends to `out` (up to `max_num` in all) the offsets of entries whose key hash equals
    /// `key`'s and whose time lies in `[begin, end]`, newest first. Entries of other keys with
    /// the same hash are included: the caller checks the records.
    pub fn select_phy_offset(
        &self,
        out: &mut Vec<i64>,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) {
        let h = self.header.read();
        let key_hash = index_key_hash(key);
        let slot_value = self.read_i32(self.slot_pos(key_hash));
        if slot_value <= INVALID_INDEX || slot_value >= h.index_count || h.index_count <= 1 {
            return;
        }
        let mut next = slot_value;
        while out.len() < max_num {
            let e = self.read_entry(next);
            if e.time_diff < 0 {
                break;
            }
            let time = h.begin_timestamp + e.time_diff as i64 * 1000;
            if e.key_hash == key_hash && time >= begin && time <= end {
                out.push(e.phy_offset);
            }
            // an entry only ever links to an older one: anything else is a damaged file, and
            // following it could loop forever
            if e.prev_index <= INVALID_INDEX || e.prev_index >= next || time < begin {
                break;
            }
            next = e.prev_index;
        }
    }

    /// CommitLog offsets of every entry, oldest first (for checks and tools).
    pub fn entries_phy_offsets(&self) -> Vec<i64> {
        let h = self.header.read();
        (1..h.index_count)
            .map(|i| self.read_entry(i).phy_offset)
            .collect()
    }

    /// How many of the newest entries point at `phy_offset`, and whether that is all of them.
    pub(crate) fn count_tail_entries(&self, phy_offset: i64) -> (usize, bool) {
        let h = self.header.read();
        let mut n = 0;
        let mut i = h.index_count - 1;
        while i >= 1 && self.read_entry(i).phy_offset == phy_offset {
            n += 1;
            i -= 1;
        }
        (n, i < 1)
    }

    fn read_entry(&self, index: i32) -> Entry {
        let mut b = [0u8; INDEX_SIZE];
        self.read_at(self.entry_pos(index), &mut b);
        let i32_at = |at: usize| i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let mut phy = [0u8; 8];
        phy.copy_from_slice(&b[4..12]);
        Entry {
            key_hash: i32_at(0),
            phy_offset: i64::from_be_bytes(phy),
            time_diff: i32_at(12),
            prev_index: i32_at(16),
        }
    }

    fn read_i32(&self, at: usize) -> i32 {
        let mut b = [0u8; 4];
        self.read_at(at, &mut b);
        i32::from_be_bytes(b)
    }

    /// Callers hold the header lock (read or write).
    fn read_at(&self, at: usize, out: &mut [u8]) {
        assert!(at + out.len() <= self.map.len(), "index read out of bounds");
        // SAFETY: in bounds (checked); writers hold the header write lock and the caller at
        // least the read lock, so no write overlaps this read.
        unsafe {
            std::ptr::copy_nonoverlapping(self.map.as_ptr().add(at), out.as_mut_ptr(), out.len())
        }
    }

    /// Callers hold the header write lock.
    fn write_at(&self, at: usize, bytes: &[u8]) {
        assert!(
            at + bytes.len() <= self.map.len(),
            "index write out of bounds"
        );
        // SAFETY: in bounds (checked); the caller holds the header write lock, so no other
        // access to the mapping overlaps this write.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.as_mut_ptr().add(at),
                bytes.len(),
            )
        }
    }

    /// Forces the mapped bytes to disk.
    pub fn flush(&self) -> io::Result<()> {
        self.map.flush()
    }

    /// Deletes the file (the mapping stays valid until the last handle drops).
    pub fn destroy(&self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn be_i32(b: &[u8], at: usize) -> i32 {
        i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn be_i64(b: &[u8], at: usize) -> i64 {
        i64::from_be_bytes(b[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn bytes_on_disk_follow_rocketmqs_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("20260101000000000");
        let f = IndexFile::create(&p, 7, 4, 0, 0).unwrap();
        assert!(f.put_key("T#a", 100, 1_000_000).unwrap());
        assert!(f.put_key("T#a", 200, 1_003_500).unwrap());
        assert!(f.put_key("T#b", 300, 1_004_000).unwrap());
        assert!(
            !f.put_key("T#c", 400, 1_005_000).unwrap(),
            "4 entries hold 3 keys"
        );
        assert!(f.is_write_full());
        f.flush().unwrap();
        let raw = std::fs::read(&p).unwrap();
        assert_eq!(raw.len(), 40 + 7 * 4 + 4 * 20);
        // header
        assert_eq!(be_i64(&raw, 0), 1_000_000);
        assert_eq!(be_i64(&raw, 8), 1_004_000);
        assert_eq!(be_i64(&raw, 16), 100);
        assert_eq!(be_i64(&raw, 24), 300);
        assert_eq!(be_i32(&raw, 32), 2, "two slots used");
        assert_eq!(be_i32(&raw, 36), 4, "index count starts at 1");
        // slots hold the newest entry number of their chain
        let ha = index_key_hash("T#a");
        let hb = index_key_hash("T#b");
        assert_eq!(be_i32(&raw, 40 + (ha % 7) as usize * 4), 2);
        assert_eq!(be_i32(&raw, 40 + (hb % 7) as usize * 4), 3);
        // entries, from number 1
        let entry = |n: usize| 40 + 7 * 4 + n * 20;
        assert_eq!(
            &raw[entry(0)..entry(1)],
            &[0u8; 20],
            "entry 0 is never used"
        );
        assert_eq!(be_i32(&raw, entry(1)), ha);
        assert_eq!(be_i64(&raw, entry(1) + 4), 100);
        assert_eq!(be_i32(&raw, entry(1) + 12), 0);
        assert_eq!(be_i32(&raw, entry(1) + 16), 0, "first of its chain");
        assert_eq!(be_i64(&raw, entry(2) + 4), 200);
        assert_eq!(be_i32(&raw, entry(2) + 12), 3, "time diff in whole seconds");
        assert_eq!(be_i32(&raw, entry(2) + 16), 1, "chained to entry 1");
        assert_eq!(be_i32(&raw, entry(3)), hb);

        let reopened = IndexFile::open(&p, 7, 4).unwrap();
        assert_eq!(reopened.header(), f.header());
        assert_eq!(reopened.entries_phy_offsets(), vec![100, 200, 300]);
        assert!(
            IndexFile::open(&p, 8, 4).is_err(),
            "other capacities are refused"
        );
    }

    #[test]
    fn lookups_follow_chains_filter_by_hash_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::create(&dir.path().join("x"), 1, 100, 0, 0).unwrap();
        // one slot: every key shares one chain
        let t0 = 10_000_000;
        for i in 0..10i64 {
            assert!(f
                .put_key(
                    if i % 2 == 0 { "T#even" } else { "T#odd" },
                    i,
                    t0 + i * 1000
                )
                .unwrap());
        }
        // "Aa" and "BB" have equal hashes: the file cannot tell them apart
        assert!(f.put_key("Aa", 50, t0 + 10_000).unwrap());
        let mut out = Vec::new();
        f.select_phy_offset(&mut out, "T#even", 32, 0, i64::MAX);
        assert_eq!(out, vec![8, 6, 4, 2, 0], "newest first");
        out.clear();
        f.select_phy_offset(&mut out, "T#even", 2, 0, i64::MAX);
        assert_eq!(out, vec![8, 6]);
        out.clear();
        f.select_phy_offset(&mut out, "T#odd", 32, t0 + 3000, t0 + 7000);
        assert_eq!(out, vec![7, 5, 3]);
        out.clear();
        f.select_phy_offset(&mut out, "BB", 32, 0, i64::MAX);
        assert_eq!(out, vec![50]);
        out.clear();
        f.select_phy_offset(&mut out, "T#none", 32, 0, i64::MAX);
        assert!(out.is_empty());
        assert!(f.is_time_matched(t0 + 500, t0 + 600));
        assert!(f.is_time_matched(0, i64::MAX));
        assert!(!f.is_time_matched(t0 + 20_000, t0 + 30_000));
    }

    #[test]
    fn a_following_file_starts_where_the_previous_ended() {
        let dir = tempfile::tempdir().unwrap();
        let f = IndexFile::create(&dir.path().join("x"), 3, 4, 4096, 77_000).unwrap();
        let h = f.header();
        assert_eq!((h.begin_phy_offset, h.end_phy_offset), (4096, 4096));
        assert_eq!((h.begin_timestamp, h.end_timestamp), (77_000, 77_000));
        assert!(!h.has_entries());
        assert!(f.put_key("k", 5000, 79_000).unwrap());
        let h = f.header();
        assert_eq!((h.begin_phy_offset, h.begin_timestamp), (5000, 79_000));
        assert_eq!(f.count_tail_entries(5000), (1, true));
        assert!(f.put_key("k2", 6000, 79_000).unwrap());
        assert!(f.put_key("k3", 6000, 79_000).unwrap());
        assert_eq!(f.count_tail_entries(6000), (2, false));
        assert_eq!(f.count_tail_entries(7000), (0, false));
    }
}
