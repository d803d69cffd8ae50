//! `PopPollingCounter`: how many pops and notifications are parked per `topic@group@queueId`
//! (RocketMQ's `PopLongPollingService.getPollingNum`), for POLLING_INFO, and in all, for the
//! `maxPopPollingSize` bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;

/// Parked requests by key.
#[derive(Default)]
pub struct PopPollingCounter {
    counts: Mutex<HashMap<String, usize>>,
    /// The sum of `counts`.
    total: AtomicUsize,
}

/// One parked request; dropping it counts it out.
pub struct Polling<'a> {
    counter: &'a PopPollingCounter,
    key: String,
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.counter.total.fetch_sub(1, Ordering::AcqRel);
        let mut counts = self.counter.counts.lock();
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

impl PopPollingCounter {
    /// Counts a request parked on `key` until the returned guard is dropped.
    pub fn enter(&self, key: String) -> Polling<'_> {
        *self.counts.lock().entry(key.clone()).or_default() += 1;
        self.total.fetch_add(1, Ordering::AcqRel);
        Polling { counter: self, key }
    }

    /// Requests parked on any key now: what `maxPopPollingSize` bounds (parked pulls and
    /// the per-queue tickets of one pop do not count, as in RocketMQ).
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }

    /// Requests parked on `key` now.
    pub fn polling_num(&self, key: &str) -> usize {
        self.counts.lock().get(key).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_parked_requests_per_key() {
        let c = PopPollingCounter::default();
        let a = c.enter("T@g@-1".into());
        let b = c.enter("T@g@-1".into());
        assert_eq!(c.polling_num("T@g@-1"), 2);
        assert_eq!(c.polling_num("T@g@0"), 0);
        let other = c.enter("T@g@0".into());
        assert_eq!(c.total(), 3);
        drop((a, b, other));
        assert_eq!(c.total(), 0);
        assert_eq!(c.polling_num("T@g@-1"), 0);
        assert!(c.counts.lock().is_empty());
    }
}
