//! Segment files created ahead of need, off the put path (RocketMQ
//! `AllocateMappedFileService`).
//!
//! Creating a segment (open, `set_len`/`fallocate`, `mmap`, plus a directory for a new
//! consume queue) takes milliseconds on a busy disk, and the put path holds the global put lock.
//! So the put path never creates one: every [`MappedFileQueue`](crate::MappedFileQueue) has a
//! [`SegmentSlot`] holding at most one segment created ahead of time, and the allocator thread
//! fills it. A writer that finds no ready segment asks for one and waits, boundedly, with the
//! put lock released and off the async workers (docs/ARCHITECTURE.md, "Blocking work").

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::mapped_file::MappedFile;

/// How long a writer waits for the allocator before the put fails with
/// CREATE_MAPPED_FILE_FAILED (RocketMQ waits 5 s as well).
pub const ALLOCATE_WAIT_TIMEOUT: Duration = Duration::from_secs(5);

/// What to create: `{dir}/{offset}` of `size` bytes, sparse or fully reserved.
#[derive(Debug, Clone)]
pub(crate) struct SegmentSpec {
    pub dir: PathBuf,
    pub offset: i64,
    pub size: usize,
    pub sparse: bool,
}

impl SegmentSpec {
    /// Creates the segment (and its directory) on the calling thread.
    pub(crate) fn create(&self) -> io::Result<MappedFile> {
        std::fs::create_dir_all(&self.dir)?;
        if self.sparse {
            MappedFile::create_sparse(&self.dir, self.offset, self.size)
        } else {
            MappedFile::create(&self.dir, self.offset, self.size)
        }
    }
}

#[derive(Default)]
struct SlotState {
    /// The segment created ahead, not yet part of its queue.
    ready: Option<MappedFile>,
    /// Offset asked for and not yet delivered.
    requested: Option<i64>,
    /// Someone (the allocator or a waiting writer on the blocking pool) is creating it.
    creating: bool,
    /// The last request failed: (offset, error).
    failed: Option<(i64, io::ErrorKind, String)>,
    /// The queue is gone (deleted topic, shutdown): deliveries are deleted.
    closed: bool,
}

/// One queue's place for the segment created ahead of need.
#[derive(Default)]
pub struct SegmentSlot {
    state: Mutex<SlotState>,
    changed: Condvar,
}

impl std::fmt::Debug for SegmentSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("SegmentSlot")
            .field("ready", &s.ready.as_ref().map(MappedFile::file_from_offset))
            .field("requested", &s.requested)
            .finish()
    }
}

impl SegmentSlot {
    /// Whether the segment at `offset` is ready.
    pub(crate) fn is_ready(&self, offset: i64) -> bool {
        self.state
            .lock()
            .ready
            .as_ref()
            .is_some_and(|f| f.file_from_offset() == offset)
    }

    /// Takes the ready segment at `offset`, if it is the one waiting.
    pub(crate) fn take(&self, offset: i64) -> Option<MappedFile> {
        let mut s = self.state.lock();
        if s.ready.as_ref()?.file_from_offset() != offset {
            return None;
        }
        s.ready.take()
    }

    /// Runs `f` on the ready segment at `offset` (reserving blocks of a sparse one).
    pub(crate) fn with_ready<T>(&self, offset: i64, f: impl FnOnce(&MappedFile) -> T) -> Option<T> {
        let s = self.state.lock();
        s.ready
            .as_ref()
            .filter(|mf| mf.file_from_offset() == offset)
            .map(f)
    }

    /// Marks `offset` as asked for; false when it is ready or already asked for (nothing to do).
    /// A stale ready segment (another offset, after a truncation) is deleted.
    pub(crate) fn claim(&self, offset: i64) -> bool {
        let mut s = self.state.lock();
        if s.closed || s.requested == Some(offset) {
            return false;
        }
        match &s.ready {
            Some(mf) if mf.file_from_offset() == offset => return false,
            Some(_) => {
                if let Some(stale) = s.ready.take() {
                    let _ = stale.destroy();
                }
            }
            None => {}
        }
        if s.failed.as_ref().is_some_and(|(o, _, _)| *o == offset) {
            s.failed = None;
        }
        s.requested = Some(offset);
        true
    }

    /// Takes the creation of `offset` on: false when it is not wanted any more (closed, taken,
    /// another offset) or someone else is creating it.
    fn start_creation(&self, offset: i64) -> bool {
        let mut s = self.state.lock();
        if s.closed || s.requested != Some(offset) || s.creating {
            return false;
        }
        s.creating = true;
        true
    }

    /// Creates `spec` on the calling thread unless the allocator already is, then waits for it
    /// as [`SegmentSlot::wait_ready`] does. For writers waiting on the blocking pool: new queues'
    /// first segments are then created side by side instead of one after another.
    pub(crate) fn create_or_wait(&self, spec: &SegmentSpec, timeout: Duration) -> io::Result<bool> {
        crate::blocking::debug_assert_blocking_allowed("waiting for a segment file");
        if self.start_creation(spec.offset) {
            self.deliver(spec.offset, spec.create());
        }
        self.wait_ready(spec.offset, timeout)
    }

    pub(crate) fn deliver(&self, offset: i64, created: io::Result<MappedFile>) {
        let mut s = self.state.lock();
        let wanted = !s.closed && s.requested == Some(offset);
        if s.requested == Some(offset) {
            s.requested = None;
            s.creating = false;
        }
        match created {
            Ok(mf) if wanted => {
                if let Some(stale) = s.ready.replace(mf) {
                    let _ = stale.destroy();
                }
            }
            Ok(mf) => {
                let _ = mf.destroy();
            }
            Err(e) => {
                tracing::warn!(offset, error = %e, "cannot create a segment ahead of need");
                s.failed = Some((offset, e.kind(), e.to_string()));
            }
        }
        drop(s);
        self.changed.notify_all();
    }

    /// Waits until the segment at `offset` is ready (true), its creation failed (the error) or
    /// `timeout` passed (false). When nothing is pending for `offset` any more (another writer
    /// took it, or the queue moved on), true at once: the caller looks again and asks anew.
    /// Blocks: only on the blocking pool or a dedicated thread.
    pub(crate) fn wait_ready(&self, offset: i64, timeout: Duration) -> io::Result<bool> {
        crate::blocking::debug_assert_blocking_allowed("waiting for a segment file");
        let deadline = Instant::now() + timeout;
        let mut s = self.state.lock();
        loop {
            if s.ready
                .as_ref()
                .is_some_and(|f| f.file_from_offset() == offset)
            {
                return Ok(true);
            }
            if let Some((o, kind, msg)) = &s.failed {
                if *o == offset {
                    let e = io::Error::new(*kind, msg.clone());
                    s.failed = None;
                    return Err(e);
                }
            }
            if s.requested != Some(offset) {
                return Ok(!s.closed);
            }
            if self.changed.wait_until(&mut s, deadline).timed_out() {
                return Ok(false);
            }
        }
    }

    /// Deletes the ready segment and refuses later deliveries (`reopen` undoes the latter).
    pub(crate) fn close(&self) {
        let mut s = self.state.lock();
        s.closed = true;
        s.requested = None;
        s.creating = false;
        if let Some(mf) = s.ready.take() {
            if let Err(e) = mf.destroy() {
                tracing::warn!(path = %mf.path().display(), error = %e, "cannot delete a segment created ahead");
            }
        }
        drop(s);
        self.changed.notify_all();
    }

    /// Deletes the ready segment (unused, e.g. at shutdown) and forgets requests.
    pub(crate) fn discard(&self) {
        let mut s = self.state.lock();
        s.requested = None;
        s.creating = false;
        if let Some(mf) = s.ready.take() {
            if let Err(e) = mf.destroy() {
                tracing::warn!(path = %mf.path().display(), error = %e, "cannot delete a segment created ahead");
            }
        }
    }
}

struct Request {
    slot: Arc<SegmentSlot>,
    spec: SegmentSpec,
}

#[derive(Default)]
struct Pending {
    requests: VecDeque<Request>,
    stopped: bool,
}

/// The allocator: one thread creating the segments queues ask for, in order.
#[derive(Default)]
pub struct MappedFileAllocator {
    pending: Mutex<Pending>,
    wake: Condvar,
}

impl std::fmt::Debug for MappedFileAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFileAllocator")
            .field("pending", &self.pending.lock().requests.len())
            .finish()
    }
}

impl MappedFileAllocator {
    /// Asks for `spec` to be created into `slot` (nothing when it is ready or asked for
    /// already). Never blocks on the disk.
    pub(crate) fn request(&self, slot: &Arc<SegmentSlot>, spec: SegmentSpec) {
        if !slot.claim(spec.offset) {
            return;
        }
        let mut p = self.pending.lock();
        if p.stopped {
            drop(p);
            slot.deliver(
                spec.offset,
                Err(io::Error::other("the store is shutting down")),
            );
            return;
        }
        p.requests.push_back(Request {
            slot: slot.clone(),
            spec,
        });
        drop(p);
        self.wake.notify_one();
    }

    /// The allocator thread's loop; returns once [`MappedFileAllocator::stop`] was called.
    pub(crate) fn run(&self) {
        loop {
            let req = {
                let mut p = self.pending.lock();
                loop {
                    if p.stopped {
                        return;
                    }
                    if let Some(r) = p.requests.pop_front() {
                        break r;
                    }
                    self.wake.wait(&mut p);
                }
            };
            if !req.slot.start_creation(req.spec.offset) {
                continue;
            }
            let started = Instant::now();
            let created = req.spec.create();
            tracing::debug!(dir = %req.spec.dir.display(), offset = req.spec.offset, elapsed_us = started.elapsed().as_micros() as u64, "segment created ahead of need");
            req.slot.deliver(req.spec.offset, created);
        }
    }

    /// Stops the thread; requests not yet served fail.
    pub(crate) fn stop(&self) {
        let left: Vec<Request> = {
            let mut p = self.pending.lock();
            p.stopped = true;
            p.requests.drain(..).collect()
        };
        self.wake.notify_all();
        for r in left {
            r.slot.deliver(
                r.spec.offset,
                Err(io::Error::other("the store is shutting down")),
            );
        }
    }
}
