//! The commit log's warm-ahead (`warmMapedFileEnable`; RocketMQ warms a whole segment when it
//! creates it, Ferrocket keeps a window ahead of the writer instead).
//!
//! A put stores into the mapping with the put lock held. When the page it reaches is not in
//! the page cache, the store faults, and for a fresh segment the fault reads the page's
//! unwritten extent in as zeros: every put waits behind that one. Under SYNC_FLUSH each flush
//! into unwritten extents also commits their conversion to the file system's journal. This
//! thread writes zeros ahead of the writer through the page cache (and, under SYNC_FLUSH,
//! makes them durable), so puts find their pages resident and flushes find written extents.
//!
//! It never writes below what a writer announced ([`MappedFile::begin_write`]), and it stops
//! `WARM_AHEAD_BYTES` past it: under ASYNC_FLUSH the zeros are overwritten in the page cache
//! before they would be written back, so the disk sees no extra writes; under SYNC_FLUSH they
//! are written once, ahead of the data.

use std::sync::Arc;
use std::time::Duration;

use crate::config::FlushDiskType;
use crate::default_message_store::StoreInner;
use crate::mapped_file::MappedFile;

/// How far ahead of the writer the commit log is kept warm.
pub(crate) const WARM_AHEAD_BYTES: usize = 32 << 20;
/// Bytes zeroed per `pwrite`: a writer that catches up waits at most for one of them.
const WARM_CHUNK_BYTES: usize = 1 << 20;
/// How often the thread looks at the writer's position. At 400 MB/s of puts the writer moves
/// 4 MB per look, well inside the window.
const WARM_INTERVAL: Duration = Duration::from_millis(10);

/// The `WarmMappedFileService` thread's loop; returns when the store stops.
pub(crate) fn run_warm_service(inner: &Arc<StoreInner>) {
    let zeros = vec![0u8; WARM_CHUNK_BYTES];
    let sync = inner.config.flush_disk_type == FlushDiskType::SyncFlush;
    let mut failing = false;
    loop {
        if inner.signal.wait(WARM_INTERVAL) {
            return;
        }
        match warm_once(inner, &zeros, sync) {
            Ok(()) => failing = false,
            Err(e) => {
                // advisory work: puts still fault their pages in without it
                if !failing {
                    tracing::warn!(error = %e, "warming the commit log ahead of the writer failed");
                }
                failing = true;
            }
        }
    }
}

/// Warms the newest segment ahead of the writer and, when the window reaches past its end, the
/// start of the segment created ahead of need.
fn warm_once(inner: &StoreInner, zeros: &[u8], sync: bool) -> std::io::Result<()> {
    let queue = inner.commit_log.queue();
    let Some(file) = queue.last_mapped_file() else {
        return Ok(());
    };
    warm_file(&file, WARM_AHEAD_BYTES, zeros, sync)?;
    let left = file.file_size() - file.wrote_position().min(file.file_size());
    if left < WARM_AHEAD_BYTES {
        // one chunk per look while holding the slot: taking the segment waits for at most that
        let ahead = WARM_AHEAD_BYTES - left;
        let warmed = queue.with_next_ready(0, |next| {
            next.warm_ahead(ahead, zeros).and_then(|n| {
                if sync && n > 0 {
                    next.sync_warmed()
                } else {
                    Ok(n)
                }
            })
        });
        warmed.transpose()?;
    }
    Ok(())
}

/// Zeroes `file` up to `ahead` bytes past its writer, one chunk at a time; with `sync`, each
/// chunk is made durable before the next is written. A flush of the writer's data commits
/// the file system's journal, and that commit first writes out every data page it depends on,
/// our zeros included: synced a chunk at a time, a flush never waits for more than one.
fn warm_file(file: &MappedFile, ahead: usize, zeros: &[u8], sync: bool) -> std::io::Result<()> {
    // bounded: each round advances the frontier by a chunk, and it stops `ahead` past the writer
    for _ in 0..ahead.div_ceil(zeros.len()) + 1 {
        if file.warm_ahead(ahead, zeros)? == 0 {
            break;
        }
        if sync {
            file.sync_warmed()?;
        }
    }
    Ok(())
}
