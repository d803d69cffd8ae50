//! The step that makes written bytes durable, replaceable to simulate slow or failing disks.

use std::io;

use crate::mapped_file::MappedFile;

/// Makes a byte range of a mapped file durable.
pub trait DiskFlusher: Send + Sync + 'static {
    /// Flushes `[offset, offset + len)` of `file` to disk.
    fn flush(&self, file: &MappedFile, offset: usize, len: usize) -> io::Result<()>;
}

/// The real flush: `msync(MS_SYNC)` of the range.
#[derive(Debug, Clone, Copy, Default)]
pub struct MsyncFlusher;

impl DiskFlusher for MsyncFlusher {
    fn flush(&self, file: &MappedFile, offset: usize, len: usize) -> io::Result<()> {
        file.sync_range(offset, len)
    }
}
