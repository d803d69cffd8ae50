//! `TimerCheckpoint`: the `config/timercheck` file, in RocketMQ's binary layout.
//!
//! Big-endian longs at fixed positions of a page-sized file: `lastReadTimeMs` (0),
//! `lastTimerLogFlushPos` (8), `lastTimerQueueOffset` (16), `masterTimerQueueOffset` (24) and the
//! data version (`stateVersion` 32, `timestamp` 40, `counter` 48).
//!
//! Ferrocket's meaning of the two fields it relies on: every timer message whose
//! `rmq_sys_wheel_timer` queue offset is below `lastTimerQueueOffset` and whose delivery time is
//! at or before `lastReadTimeMs` has been delivered.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Size of the file (`OS_PAGE_SIZE`).
const FILE_SIZE: usize = 4096;
/// Bytes holding data.
const DATA_SIZE: usize = 56;

/// The content of `config/timercheck`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerCheckpoint {
    /// Delivery progress: everything due at or before this time (and read) was delivered.
    pub last_read_time_ms: i64,
    /// RocketMQ's timerlog flush position; Ferrocket keeps no timerlog and writes 0.
    pub last_timer_log_flush_pos: i64,
    /// Next `rmq_sys_wheel_timer` queue offset the progress above covers.
    pub last_timer_queue_offset: i64,
    /// The master's queue offset; equal to `last_timer_queue_offset` on a master.
    pub master_timer_queue_offset: i64,
    /// `DataVersion.stateVersion`.
    pub state_version: i64,
    /// `DataVersion.timestamp`.
    pub timestamp: i64,
    /// `DataVersion.counter`.
    pub counter: i64,
}

/// `{root}/config/timercheck`.
pub fn timer_check_path(store_root: &Path) -> PathBuf {
    store_root.join("config").join("timercheck")
}

impl TimerCheckpoint {
    /// Decodes the file content; `None` when it is too short to hold the data.
    pub fn decode(bytes: &[u8]) -> Option<TimerCheckpoint> {
        if bytes.len() < DATA_SIZE {
            return None;
        }
        let long = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            i64::from_be_bytes(b)
        };
        Some(TimerCheckpoint {
            last_read_time_ms: long(0),
            last_timer_log_flush_pos: long(8),
            last_timer_queue_offset: long(16),
            master_timer_queue_offset: long(24),
            state_version: long(32),
            timestamp: long(40),
            counter: long(48),
        })
    }

    /// The page-sized file content.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0u8; FILE_SIZE];
        let fields = [
            self.last_read_time_ms,
            self.last_timer_log_flush_pos,
            self.last_timer_queue_offset,
            self.master_timer_queue_offset,
            self.state_version,
            self.timestamp,
            self.counter,
        ];
        for (i, v) in fields.iter().enumerate() {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// Reads the file; a missing file is an empty checkpoint.
    pub fn load(path: &Path) -> io::Result<TimerCheckpoint> {
        match fs::read(path) {
            Ok(bytes) => TimerCheckpoint::decode(&bytes).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is shorter than {DATA_SIZE} bytes", path.display()),
                )
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(TimerCheckpoint::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes the file through a synced temporary file and a rename, so a crash leaves either the
    /// old or the new checkpoint.
    pub fn persist(&self, path: &Path) -> io::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&self.encode())?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_rocketmq() {
        let c = TimerCheckpoint {
            last_read_time_ms: 1,
            last_timer_log_flush_pos: 2,
            last_timer_queue_offset: 3,
            master_timer_queue_offset: 4,
            state_version: 5,
            timestamp: 6,
            counter: 7,
        };
        let bytes = c.encode();
        assert_eq!(bytes.len(), 4096);
        assert_eq!(&bytes[16..24], &3i64.to_be_bytes());
        assert_eq!(&bytes[48..56], &7i64.to_be_bytes());
        assert_eq!(TimerCheckpoint::decode(&bytes), Some(c));
        assert_eq!(TimerCheckpoint::decode(&bytes[..10]), None);
    }

    #[test]
    fn persists_and_loads() {
        let dir = std::env::temp_dir().join(format!("ferrocket-timercheck-{}", std::process::id()));
        let path = timer_check_path(&dir);
        assert_eq!(
            TimerCheckpoint::load(&path).unwrap(),
            TimerCheckpoint::default()
        );
        let c = TimerCheckpoint {
            last_read_time_ms: 1_700_000_000_000,
            last_timer_queue_offset: 42,
            ..Default::default()
        };
        c.persist(&path).unwrap();
        assert_eq!(TimerCheckpoint::load(&path).unwrap(), c);
        let _ = fs::remove_dir_all(&dir);
    }
}
