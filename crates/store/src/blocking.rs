//! The rule for blocking work (docs/ARCHITECTURE.md, "Blocking work"): fsync, file creation and
//! reads of mapped pages that may not be resident never run on an async worker thread. They run
//! on a dedicated thread (the flush, reput and preallocation services) or on tokio's blocking
//! pool through [`run_blocking`]. [`debug_assert_blocking_allowed`] enforces the rule in debug
//! builds at the places that block.

use std::cell::Cell;

thread_local! {
    /// Set on threads where blocking is expected: the blocking pool (via `run_blocking`).
    static BLOCKING_ALLOWED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on tokio's blocking pool and waits for it without holding a worker thread. The
/// error is tokio's: `f` panicked, or the runtime is shutting down.
pub async fn run_blocking<T, F>(f: F) -> Result<T, tokio::task::JoinError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        BLOCKING_ALLOWED.with(|a| a.set(true));
        f()
    })
    .await
}

/// Whether the calling code runs inside an async task on a runtime worker thread, where it must
/// not block.
pub fn on_async_worker() -> bool {
    tokio::task::try_id().is_some() && !BLOCKING_ALLOWED.with(Cell::get)
}

/// Panics in debug builds when `what` (an fsync, a file creation) is about to run inside an async
/// task on a worker thread; release builds only pay for nothing.
#[track_caller]
pub fn debug_assert_blocking_allowed(what: &str) {
    if cfg!(debug_assertions) && on_async_worker() {
        panic!(
            "{what} on an async worker thread: run it through run_blocking or on a dedicated \
             thread (docs/ARCHITECTURE.md, \"Blocking work\")"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_guard_catches_blocking_work_in_a_task_and_lets_run_blocking_through() {
        let inside_task = tokio::spawn(async { debug_assert_blocking_allowed("an fsync") }).await;
        if cfg!(debug_assertions) {
            let panic = inside_task.unwrap_err().into_panic();
            let message = panic.downcast_ref::<String>().unwrap();
            assert!(
                message.starts_with("an fsync on an async worker thread"),
                "{message}"
            );
        } else {
            assert!(inside_task.is_ok());
        }
        run_blocking(|| debug_assert_blocking_allowed("an fsync"))
            .await
            .unwrap();
        // plain threads (the store's services) may block
        std::thread::spawn(|| debug_assert_blocking_allowed("an fsync"))
            .join()
            .unwrap();
    }
}
