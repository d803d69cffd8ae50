//! The `checkpoint` file (RocketMQ `StoreCheckpoint`): a 4 KiB page holding the store times
//! up to which the CommitLog, the ConsumeQueues and the index are known to be on disk.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use memmap2::MmapMut;
use parking_lot::Mutex;

use crate::error::StoreError;

const CHECKPOINT_FILE_SIZE: usize = 4096;

/// Durable progress marks used to pick where abnormal recovery starts.
pub struct StoreCheckpoint {
    path: PathBuf,
    map: Mutex<MmapMut>,
    physic_msg_timestamp: AtomicI64,
    logics_msg_timestamp: AtomicI64,
    index_msg_timestamp: AtomicI64,
    master_flushed_offset: AtomicI64,
    confirm_phy_offset: AtomicI64,
}

impl std::fmt::Debug for StoreCheckpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCheckpoint")
            .field("physic_msg_timestamp", &self.physic_msg_timestamp())
            .field("logics_msg_timestamp", &self.logics_msg_timestamp())
            .finish()
    }
}

fn read_long(map: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(map[at..at + 8].try_into().unwrap_or_default())
}

impl StoreCheckpoint {
    /// Opens (or creates) the checkpoint file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let err = |e| StoreError::io(path, e);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(err)?;
        if file.metadata().map_err(err)?.len() < CHECKPOINT_FILE_SIZE as u64 {
            file.set_len(CHECKPOINT_FILE_SIZE as u64).map_err(err)?;
        }
        // writes go through the map: its block must exist, or a full disk faults the process
        crate::mapped_file::reserve_range(&file, 0, CHECKPOINT_FILE_SIZE).map_err(err)?;
        // SAFETY: the file is private to this store (guarded by the `lock` file).
        let map = unsafe {
            memmap2::MmapOptions::new()
                .len(CHECKPOINT_FILE_SIZE)
                .map_mut(&file)
        }
        .map_err(err)?;
        Ok(StoreCheckpoint {
            path: path.to_path_buf(),
            physic_msg_timestamp: AtomicI64::new(read_long(&map, 0)),
            logics_msg_timestamp: AtomicI64::new(read_long(&map, 8)),
            index_msg_timestamp: AtomicI64::new(read_long(&map, 16)),
            master_flushed_offset: AtomicI64::new(read_long(&map, 24)),
            confirm_phy_offset: AtomicI64::new(read_long(&map, 32)),
            map: Mutex::new(map),
        })
    }

    /// The master's flushed CommitLog offset as last told to this broker (RocketMQ's
    /// `masterFlushedOffset`, kept in the checkpoint; only the controller mode sets it).
    pub fn master_flushed_offset(&self) -> i64 {
        self.master_flushed_offset.load(Ordering::Acquire)
    }

    /// Store time of the newest CommitLog record known to be on disk.
    pub fn physic_msg_timestamp(&self) -> i64 {
        self.physic_msg_timestamp.load(Ordering::Acquire)
    }

    /// Sets the CommitLog mark.
    pub fn set_physic_msg_timestamp(&self, ts: i64) {
        self.physic_msg_timestamp.fetch_max(ts, Ordering::AcqRel);
    }

    /// Store time of the newest record whose ConsumeQueue entry is on disk.
    pub fn logics_msg_timestamp(&self) -> i64 {
        self.logics_msg_timestamp.load(Ordering::Acquire)
    }

    /// Sets the ConsumeQueue mark.
    pub fn set_logics_msg_timestamp(&self, ts: i64) {
        self.logics_msg_timestamp.fetch_max(ts, Ordering::AcqRel);
    }

    /// Store time of the newest record of the last full index file flushed to disk.
    pub fn index_msg_timestamp(&self) -> i64 {
        self.index_msg_timestamp.load(Ordering::Acquire)
    }

    /// Sets the index mark.
    pub fn set_index_msg_timestamp(&self, ts: i64) {
        self.index_msg_timestamp.fetch_max(ts, Ordering::AcqRel);
    }

    /// [`Self::min_timestamp`] lowered to the index mark (RocketMQ `getMinTimestampIndex`).
    pub fn min_timestamp_index(&self) -> i64 {
        self.min_timestamp().min(self.index_msg_timestamp())
    }

    /// Sets the confirm offset mark.
    pub fn set_confirm_phy_offset(&self, offset: i64) {
        self.confirm_phy_offset.store(offset, Ordering::Release);
    }

    /// `min(physic, logics) - 3000` floored at 0: records stored before this are certainly
    /// on disk together with their ConsumeQueue entries.
    pub fn min_timestamp(&self) -> i64 {
        (self.physic_msg_timestamp().min(self.logics_msg_timestamp()) - 3000).max(0)
    }

    /// Writes the marks into the page and forces it to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut map = self.map.lock();
        let values = [
            self.physic_msg_timestamp(),
            self.logics_msg_timestamp(),
            self.index_msg_timestamp(),
            self.master_flushed_offset.load(Ordering::Acquire),
            self.confirm_phy_offset.load(Ordering::Acquire),
        ];
        for (i, v) in values.iter().enumerate() {
            map[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        map.flush().map_err(|e| StoreError::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_marks_at_rocketmq_positions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("checkpoint");
        let cp = StoreCheckpoint::open(&p).unwrap();
        assert_eq!(cp.min_timestamp(), 0);
        cp.set_physic_msg_timestamp(10_000);
        cp.set_logics_msg_timestamp(9_000);
        cp.set_logics_msg_timestamp(8_000);
        cp.flush().unwrap();
        drop(cp);
        let raw = std::fs::read(&p).unwrap();
        assert_eq!(raw.len(), 4096);
        assert_eq!(read_long(&raw, 0), 10_000);
        assert_eq!(read_long(&raw, 8), 9_000, "marks never move back");
        let cp = StoreCheckpoint::open(&p).unwrap();
        assert_eq!(cp.min_timestamp(), 6_000);
    }
}
