//! Reading the CommitLog into the page cache ahead of an HA writer whose slave is behind.
//!
//! A master streams a catching-up slave's bytes from its CommitLog mapping. When they are not in
//! the page cache, the writer's page faults wait for the disk, and while it waits nothing is
//! sent; while it sends, no fault starts the kernel's next read-ahead. Measured against a `dd`
//! read of the same cold bytes, the writer alone streamed at 0.83-0.92 of it in most rounds;
//! `MADV_WILLNEED` ahead of it did not help (docs/PERFORMANCE.md). A thread of the connection's
//! own touches the pages [`READ_AHEAD_BYTES`] ahead of the writer, so the waits for the disk
//! happen there and the disk keeps reading while the writer sends.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::OnceLock;
use std::thread::{self, Thread};

use ferrocket_store::DefaultMessageStore;

/// How far past the writer's position the reader brings the CommitLog into the page cache.
pub(crate) const READ_AHEAD_BYTES: i64 = 32 << 20;
/// Most bytes touched before the reader looks at its target and the stop flag again.
const STEP_BYTES: usize = 1 << 20;

/// The shared state of a writer and its reader thread.
pub(crate) struct ReadAhead {
    /// The writer's position: pages below it are no longer worth reading.
    writer_at: AtomicI64,
    /// The offset up to which the reader reads.
    target: AtomicI64,
    /// Where the reader has read to.
    read_to: AtomicI64,
    stop: AtomicBool,
    reader: OnceLock<Thread>,
}

impl ReadAhead {
    fn new(from: i64) -> Self {
        ReadAhead {
            writer_at: AtomicI64::new(from),
            target: AtomicI64::new(from),
            read_to: AtomicI64::new(from),
            stop: AtomicBool::new(false),
            reader: OnceLock::new(),
        }
    }

    /// The writer is at `next` and its slave is behind: read on up to [`READ_AHEAD_BYTES`]
    /// past it.
    pub(crate) fn ahead_of(&self, next: i64) {
        self.writer_at.fetch_max(next, Ordering::AcqRel);
        let target = next + READ_AHEAD_BYTES;
        if self.target.fetch_max(target, Ordering::AcqRel) < target {
            self.wake();
        }
    }

    fn wake(&self) {
        if let Some(reader) = self.reader.get() {
            reader.unpark();
        }
    }

    /// The reader's loop: reads up to the target, parks when it gets there, returns on stop.
    fn run(&self, store: &DefaultMessageStore) {
        let _ = self.reader.set(thread::current());
        let mut at = self.writer_at.load(Ordering::Acquire);
        // bounded by the stop flag: every wake-up either advances `at` or parks again
        while !self.stop.load(Ordering::Acquire) {
            at = at.max(self.writer_at.load(Ordering::Acquire));
            let target = self.target.load(Ordering::Acquire);
            let want = usize::try_from(target - at).unwrap_or(0).min(STEP_BYTES);
            let read = if want == 0 {
                0
            } else {
                store.read_commit_log_ahead(at, want)
            };
            if read == 0 {
                // caught up with the target, or at the CommitLog's end: wait for the writer
                thread::park();
            }
            at += read as i64;
            self.read_to.store(at, Ordering::Release);
        }
    }
}

/// Stops the reader when the writer returns or unwinds, so the scope's join cannot hang.
struct StopOnDrop<'a>(&'a ReadAhead);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Release);
        self.0.wake();
    }
}

/// Runs `write` (an HA connection's write loop, starting at CommitLog offset `from`) with a
/// reader thread beside it, which it drives through [`ReadAhead::ahead_of`]. The reader ends
/// with `write`. If the thread cannot be started, `write` runs without it.
pub(crate) fn with_read_ahead<R>(
    store: &DefaultMessageStore,
    from: i64,
    write: impl FnOnce(&ReadAhead) -> R,
) -> R {
    let read_ahead = ReadAhead::new(from);
    thread::scope(|scope| {
        let _stop = StopOnDrop(&read_ahead);
        let spawned = thread::Builder::new()
            .name("HAReadAhead".into())
            .spawn_scoped(scope, || read_ahead.run(store));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the HA read-ahead thread; streaming without it");
        }
        write(&read_ahead)
    })
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use ferrocket_protocol::message::Properties;
    use ferrocket_store::{MessageExtBrokerInner, MessageStoreConfig, PutMessageStatus};

    use super::*;

    async fn store_with_messages(
        root: &std::path::Path,
        count: usize,
    ) -> std::sync::Arc<DefaultMessageStore> {
        let store = DefaultMessageStore::open(MessageStoreConfig {
            mapped_file_size_commit_log: 64 * 1024,
            ..MessageStoreConfig::with_root(root)
        })
        .unwrap();
        for i in 0..count {
            let mut m = MessageExtBrokerInner::new("T", 0, vec![i as u8; 1000]);
            m.born_host = "10.0.0.1:5000".parse().unwrap();
            m.store_host = "127.0.0.1:10911".parse().unwrap();
            m.set_properties(&Properties::new());
            assert_eq!(store.put_message(m).await.status, PutMessageStatus::PutOk);
        }
        store
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_reader_reads_across_segments_up_to_the_end_and_ends_with_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_messages(dir.path(), 300).await;
        let end = store.get_max_phy_offset();
        assert!(end > 4 * 64 * 1024, "several segments: {end}");
        let store2 = store.clone();
        let reached = tokio::task::spawn_blocking(move || {
            with_read_ahead(&store2, 0, |read_ahead| {
                assert_eq!(
                    read_ahead.read_to.load(Ordering::Acquire),
                    0,
                    "nothing before asked"
                );
                read_ahead.ahead_of(0);
                let deadline = Instant::now() + Duration::from_secs(10);
                while read_ahead.read_to.load(Ordering::Acquire) < end && Instant::now() < deadline
                {
                    thread::sleep(Duration::from_millis(5));
                }
                read_ahead.read_to.load(Ordering::Acquire)
            })
        })
        .await
        .unwrap();
        assert_eq!(reached, end, "the reader stops at the CommitLog's end");
        store.shutdown();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_that_panics_stops_its_reader() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_messages(dir.path(), 10).await;
        let store2 = store.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                with_read_ahead(&store2, 0, |read_ahead| {
                    read_ahead.ahead_of(0);
                    panic!("the writer fails");
                })
            }))
        })
        .await
        .unwrap();
        assert!(
            outcome.is_err(),
            "the panic reaches the caller once the reader has ended"
        );
        store.shutdown();
    }
}
