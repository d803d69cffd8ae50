//! The real `ferrocket standalone` binary for end-to-end tests of the client (through
//! `ferrocket-testkit`), and listeners and waits shared by those tests.

#![allow(dead_code)] // each test file uses a different part of this harness

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_client::{listener_fn, ConsumeConcurrentlyStatus, MessageExt, MessageListener};
pub use ferrocket_testkit::{unique, Standalone};
use parking_lot::Mutex;

/// A `ferrocket standalone` builder with what the client tests rely on: topics are created on
/// first send, and the log is quiet (`RUST_LOG=warn`).
pub fn standalone() -> ferrocket_testkit::StandaloneBuilder {
    Standalone::builder(ferrocket_testkit::ferrocket_bin!())
        .conf("autoCreateTopicEnable=true")
        .rust_log(Some("warn"))
}

/// Starts `ferrocket standalone` and waits for its ready line.
pub fn start() -> Standalone {
    start_with("")
}

/// [`start`] with extra broker properties lines.
pub fn start_with(extra_conf: &str) -> Standalone {
    standalone().conf(extra_conf).start()
}

/// Waits until `cond` holds or `timeout` passes; returns whether it held.
pub async fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cond()
}

/// A listener that records every message it gets.
pub fn recorder() -> (MessageListener, Arc<Mutex<Vec<MessageExt>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let l = listener_fn(move |msgs: Vec<MessageExt>| {
        let s = s.clone();
        async move {
            s.lock().extend(msgs);
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }
    });
    (l, seen)
}
