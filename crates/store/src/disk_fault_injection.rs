//! Fault injection for tests of the real binary: a slow disk flush, a slow put.
//!
//! When the environment variable [`SLOW_FLUSH_ENV`] holds a number of milliseconds at store
//! open, every CommitLog and ConsumeQueue flush sleeps that long before its `msync`, which is
//! how interop tests make a SYNC_FLUSH put outlast `syncFlushTimeout` and get
//! FLUSH_DISK_TIMEOUT. The variable is read once; unset, the plain flusher is used and the
//! flush path is unchanged. Never set it in production.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::flush::{DiskFlusher, MsyncFlusher};
use crate::mapped_file::MappedFile;

/// Milliseconds every flush is delayed by (fault injection for tests only).
pub const SLOW_FLUSH_ENV: &str = "FERROCKET_FAULT_SLOW_FLUSH_MS";

/// A flush that sleeps before doing the real one.
#[derive(Debug)]
struct SlowFlusher {
    delay: Duration,
}

impl DiskFlusher for SlowFlusher {
    fn flush(&self, file: &MappedFile, offset: usize, len: usize) -> io::Result<()> {
        std::thread::sleep(self.delay);
        MsyncFlusher.flush(file, offset, len)
    }
}

/// The flusher for [`crate::DefaultMessageStore::open`]: the real one, or a slow one when
/// [`SLOW_FLUSH_ENV`] is set to a number of milliseconds.
pub(crate) fn flusher_from_env() -> Arc<dyn DiskFlusher> {
    match std::env::var(SLOW_FLUSH_ENV) {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(ms) => {
                tracing::warn!(
                    delay_ms = ms,
                    "{SLOW_FLUSH_ENV} is set: every disk flush is delayed (fault injection for tests)"
                );
                Arc::new(SlowFlusher {
                    delay: Duration::from_millis(ms),
                })
            }
            Err(_) => {
                tracing::warn!(value = %v, "{SLOW_FLUSH_ENV} is not a number of milliseconds; ignored");
                Arc::new(MsyncFlusher)
            }
        },
        Err(_) => Arc::new(MsyncFlusher),
    }
}

/// Milliseconds every append holds the put lock for, as a stalled page cache would (fault
/// injection for tests of `[PCBUSY_CLEAN_QUEUE]` only).
pub const SLOW_PUT_ENV: &str = "FERROCKET_FAULT_SLOW_PUT_MS";

/// The extra time an append holds the put lock, when [`SLOW_PUT_ENV`] is set.
pub(crate) fn slow_put_from_env() -> Option<Duration> {
    let v = std::env::var(SLOW_PUT_ENV).ok()?;
    match v.trim().parse::<u64>() {
        Ok(ms) => {
            tracing::warn!(
                delay_ms = ms,
                "{SLOW_PUT_ENV} is set: every append holds the put lock longer (fault injection for tests)"
            );
            Some(Duration::from_millis(ms))
        }
        Err(_) => {
            tracing::warn!(value = %v, "{SLOW_PUT_ENV} is not a number of milliseconds; ignored");
            None
        }
    }
}

/// Sleeps `delay` as a stalled page cache would hold the thread appending (the CommitLog
/// writer thread, never an async worker).
pub(crate) fn stall(delay: Duration) {
    std::thread::sleep(delay);
}
