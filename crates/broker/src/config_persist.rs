//! Config persistence off the request paths.
//!
//! A manager whose table changes on a request (a topic auto-created by a send, a subscription
//! group created by a heartbeat) only bumps its [`DirtyMark`]; the [`ConfigPersistService`]
//! thread lets changes gather for [`CONFIG_PERSIST_DELAY`] and then rewrites each dirty file
//! once, with the crash-safe write of [`crate::config_manager::persist`] (temporary file, fsync,
//! `.bak`, rename). No request handler, and no reactor thread, ever waits on that fsync: a
//! handler that must answer only once the change is on disk (UPDATE_AND_CREATE_TOPIC) asks for
//! a prompt write and awaits it asynchronously.
//!
//! Bound: a change is on disk at most [`CONFIG_PERSIST_DELAY`] plus the time of two rewrites
//! of its file after the change (one write that may already be running, then the one that
//! carries it); a failed write is retried every [`RETRY_DELAY`]. Shutdown stops the thread and
//! writes whatever is still dirty before the store closes.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

/// How long changes gather before the service rewrites a file.
pub const CONFIG_PERSIST_DELAY: Duration = Duration::from_millis(100);

/// Pause before a failed write is tried again.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);

/// A config file the [`ConfigPersistService`] keeps on disk.
pub trait PersistentConfig: Send + Sync {
    /// The file, for logs.
    fn config_file_path(&self) -> &Path;
    /// The change counter of the file.
    fn dirty_mark(&self) -> &DirtyMark;
    /// Writes a snapshot of the table taken now (blocking: fsync).
    fn write_config_file(&self) -> io::Result<()>;
}

#[derive(Default)]
struct SignalState {
    pending: bool,
    prompt: bool,
    stop: bool,
    held: usize,
}

#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    cv: Condvar,
}

impl Signal {
    fn wake(&self, prompt: bool) {
        let mut st = self.state.lock();
        st.pending = true;
        st.prompt |= prompt;
        self.cv.notify_all();
    }
}

/// What was written last.
#[derive(Debug, Clone, Default)]
struct Written {
    /// Generation of the last write attempt.
    attempted: u64,
    /// Generation known to be on disk.
    persisted: u64,
    /// Why the last attempt failed, if it did.
    error: Option<String>,
}

/// Counts the changes of one config file and what of them is on disk.
pub struct DirtyMark {
    changed: AtomicU64,
    written: watch::Sender<Written>,
    signal: OnceLock<Arc<Signal>>,
}

impl Default for DirtyMark {
    fn default() -> Self {
        DirtyMark {
            changed: AtomicU64::new(0),
            written: watch::Sender::new(Written::default()),
            signal: OnceLock::new(),
        }
    }
}

impl std::fmt::Debug for DirtyMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirtyMark")
            .field("changed", &self.changed.load(Ordering::Acquire))
            .field("written", &*self.written.borrow())
            .finish()
    }
}

impl DirtyMark {
    /// Records a change (call it after the table changed); the file is written within the
    /// bound. Returns the change's generation.
    pub fn mark(&self) -> u64 {
        self.bump(false)
    }

    /// Records a change and asks for a write without the gathering delay.
    pub fn mark_prompt(&self) -> u64 {
        self.bump(true)
    }

    fn bump(&self, prompt: bool) -> u64 {
        let generation = self.changed.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(signal) = self.signal.get() {
            signal.wake(prompt);
        }
        generation
    }

    /// Whether a change is not on disk yet.
    pub fn is_dirty(&self) -> bool {
        self.changed.load(Ordering::Acquire) > self.written.borrow().persisted
    }

    /// Waits (asynchronously) until the change of `generation` is on disk; the error says why
    /// the write that should have carried it failed.
    pub async fn wait_persisted(&self, generation: u64) -> Result<(), String> {
        if self.signal.get().is_none() {
            return Err("no config persist service is running".to_string());
        }
        let mut rx = self.written.subscribe();
        let w = rx
            .wait_for(|w| w.attempted >= generation)
            .await
            .map_err(|_| "the config persist service stopped".to_string())?
            .clone();
        if w.persisted >= generation {
            Ok(())
        } else {
            Err(w.error.unwrap_or_else(|| "write failed".to_string()))
        }
    }
}

/// Writes `file` if it changed since its last write. `Ok(true)` when it wrote.
fn write_if_dirty(file: &dyn PersistentConfig) -> io::Result<bool> {
    let mark = file.dirty_mark();
    // read before the snapshot: every change counted here is already in the table
    let generation = mark.changed.load(Ordering::Acquire);
    if generation <= mark.written.borrow().persisted {
        return Ok(false);
    }
    let result = file.write_config_file();
    mark.written.send_modify(|w| {
        w.attempted = w.attempted.max(generation);
        match &result {
            Ok(()) => {
                w.persisted = w.persisted.max(generation);
                w.error = None;
            }
            Err(e) => w.error = Some(e.to_string()),
        }
    });
    result.map(|()| true)
}

struct Inner {
    signal: Arc<Signal>,
    files: Vec<Arc<dyn PersistentConfig>>,
    delay: Duration,
    writes: AtomicU64,
}

impl Inner {
    /// Writes every dirty file; false when a write failed.
    fn write_dirty(&self) -> bool {
        let mut ok = true;
        for file in &self.files {
            match write_if_dirty(file.as_ref()) {
                Ok(true) => {
                    self.writes.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {}
                Err(e) => {
                    ok = false;
                    tracing::error!(file = %file.config_file_path().display(), error = %e, "persisting a config file failed; retrying");
                }
            }
        }
        ok
    }

    fn run(&self) {
        let mut retry_at: Option<Instant> = None;
        loop {
            let mut st = self.signal.state.lock();
            loop {
                if st.stop {
                    return;
                }
                match retry_at {
                    Some(at) if !st.pending => {
                        if self.signal.cv.wait_until(&mut st, at).timed_out() {
                            st.pending = true;
                            st.prompt = true;
                        }
                    }
                    _ if !st.pending => self.signal.cv.wait(&mut st),
                    _ => break,
                }
            }
            // let the changes of a burst gather into one write, unless one was asked for now
            let deadline = Instant::now() + self.delay;
            while !st.prompt && !st.stop {
                if self.signal.cv.wait_until(&mut st, deadline).timed_out() {
                    break;
                }
            }
            while st.held > 0 && !st.stop {
                self.signal.cv.wait(&mut st);
            }
            if st.stop {
                return;
            }
            st.pending = false;
            st.prompt = false;
            drop(st);
            retry_at = (!self.write_dirty()).then(|| Instant::now() + RETRY_DELAY);
        }
    }
}

/// The thread that writes dirty config files (one per broker).
pub struct ConfigPersistService {
    inner: Arc<Inner>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl ConfigPersistService {
    /// Starts the thread for `files`, gathering changes for `delay` before a write.
    pub fn start(
        files: Vec<Arc<dyn PersistentConfig>>,
        delay: Duration,
    ) -> io::Result<ConfigPersistService> {
        let signal = Arc::new(Signal::default());
        for f in &files {
            if f.dirty_mark().signal.set(signal.clone()).is_err() {
                return Err(io::Error::other(format!(
                    "{} is already kept by a config persist service",
                    f.config_file_path().display()
                )));
            }
        }
        let inner = Arc::new(Inner {
            signal,
            files,
            delay,
            writes: AtomicU64::new(0),
        });
        // changes made before the service started (built-in topics) are written at once
        inner.signal.wake(true);
        let runner = inner.clone();
        let thread = std::thread::Builder::new()
            .name("ConfigPersistService".to_string())
            .spawn(move || runner.run())?;
        Ok(ConfigPersistService {
            inner,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Number of file writes so far.
    pub fn writes(&self) -> u64 {
        self.inner.writes.load(Ordering::Relaxed)
    }

    /// Holds every write back until the returned guard is dropped (maintenance and tests:
    /// changes keep being accepted and are written once the hold ends).
    pub fn hold_writes(&self) -> WriteHold<'_> {
        self.inner.signal.state.lock().held += 1;
        WriteHold { service: self }
    }

    /// Stops the thread (after the write in progress) and writes every dirty file
    /// synchronously; blocking, so async callers run it on a blocking thread. Idempotent.
    pub fn shutdown(&self) {
        {
            let mut st = self.inner.signal.state.lock();
            st.stop = true;
            self.inner.signal.cv.notify_all();
        }
        if let Some(t) = self.thread.lock().take() {
            if t.join().is_err() {
                tracing::error!("the config persist thread panicked");
            }
        }
        self.inner.write_dirty();
    }
}

impl Drop for ConfigPersistService {
    fn drop(&mut self) {
        let mut st = self.inner.signal.state.lock();
        st.stop = true;
        self.inner.signal.cv.notify_all();
    }
}

/// See [`ConfigPersistService::hold_writes`].
pub struct WriteHold<'a> {
    service: &'a ConfigPersistService,
}

impl Drop for WriteHold<'_> {
    fn drop(&mut self) {
        let mut st = self.service.inner.signal.state.lock();
        st.held -= 1;
        self.service.inner.signal.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Counter {
        path: PathBuf,
        mark: DirtyMark,
        value: AtomicU64,
        fail: std::sync::atomic::AtomicBool,
    }

    impl PersistentConfig for Counter {
        fn config_file_path(&self) -> &Path {
            &self.path
        }
        fn dirty_mark(&self) -> &DirtyMark {
            &self.mark
        }
        fn write_config_file(&self) -> io::Result<()> {
            if self.fail.load(Ordering::Acquire) {
                return Err(io::Error::other("refused"));
            }
            crate::config_manager::persist(&self.path, &self.value.load(Ordering::Acquire))
        }
    }

    fn counter(dir: &Path) -> Arc<Counter> {
        Arc::new(Counter {
            path: dir.join("c.json"),
            mark: DirtyMark::default(),
            value: AtomicU64::new(0),
            fail: Default::default(),
        })
    }

    fn on_disk(c: &Counter) -> u64 {
        crate::config_manager::load::<u64>(&c.path)
            .unwrap()
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn a_burst_of_changes_is_one_write_and_waiters_see_it() {
        let dir = tempfile::tempdir().unwrap();
        let c = counter(dir.path());
        let svc = ConfigPersistService::start(vec![c.clone()], Duration::from_millis(50)).unwrap();
        let hold = svc.hold_writes();
        let before = svc.writes();
        let mut last = 0;
        for i in 1..=500 {
            c.value.store(i, Ordering::Release);
            last = c.mark.mark();
        }
        assert_eq!(on_disk(&c), 0, "nothing is written while held");
        assert!(c.mark.is_dirty());
        drop(hold);
        c.mark.wait_persisted(last).await.unwrap();
        assert_eq!(on_disk(&c), 500);
        assert!(
            svc.writes() - before <= 2,
            "{} writes",
            svc.writes() - before
        );
        assert!(!c.mark.is_dirty());
        svc.shutdown();
    }

    #[tokio::test]
    async fn a_failed_write_is_reported_then_retried_and_shutdown_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let c = counter(dir.path());
        let svc = ConfigPersistService::start(vec![c.clone()], Duration::from_secs(3600)).unwrap();
        c.fail.store(true, Ordering::Release);
        c.value.store(7, Ordering::Release);
        let g = c.mark.mark_prompt();
        assert!(c
            .mark
            .wait_persisted(g)
            .await
            .unwrap_err()
            .contains("refused"));
        c.fail.store(false, Ordering::Release);
        // the retry carries it without a new change
        let mut rx = c.mark.written.subscribe();
        rx.wait_for(|w| w.persisted >= g).await.unwrap();
        assert_eq!(on_disk(&c), 7);
        // a change inside the long gathering delay is written by shutdown
        c.value.store(8, Ordering::Release);
        c.mark.mark();
        ferrocket_store::blocking::run_blocking(move || svc.shutdown())
            .await
            .unwrap();
        assert_eq!(on_disk(&c), 8);
        assert!(!c.mark.is_dirty());
    }
}
