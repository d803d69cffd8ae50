//! A put that stalls holding the put lock stalls only the CommitLog writer thread: the async
//! tasks of the runtime that awaits it keep running. Its own test binary, because the stall is
//! injected through an environment variable read when the store opens.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ferrocket_store::{PutMessageStatus, SLOW_PUT_ENV};

#[tokio::test(flavor = "current_thread")]
async fn a_stalled_append_leaves_the_awaiting_runtime_running() {
    const STALL_MS: u64 = 400;
    // the only test of this binary: no other thread reads the environment
    std::env::set_var(SLOW_PUT_ENV, STALL_MS.to_string());
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    std::env::remove_var(SLOW_PUT_ENV);

    let ticks = Arc::new(AtomicU32::new(0));
    let ticker = {
        let ticks = ticks.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(10)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let started = std::time::Instant::now();
    let put = store
        .put_message(msg("TopicStall", 0, b"stalled", None))
        .await;
    let held = started.elapsed();
    ticker.abort();
    assert_eq!(put.status, PutMessageStatus::PutOk);
    assert!(
        held >= Duration::from_millis(STALL_MS),
        "the put returned after {held:?}: the stall was not injected"
    );
    // a put stalling on this runtime's only thread would leave the ticker no turn at all
    let ticked = ticks.load(Ordering::Relaxed);
    assert!(
        ticked >= 10,
        "the runtime ran {ticked} ticks of 10 ms during a {held:?} put"
    );
}
