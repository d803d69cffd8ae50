//! `LogThrottle`: at most one log line per period for a condition that may repeat thousands of
//! times a second (refused connections, exhausted budgets).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Lets one event per period through and counts the ones it holds back.
pub(crate) struct LogThrottle {
    /// Milliseconds (since `epoch`) at which the next line may be written.
    next_ms: AtomicU64,
    suppressed: AtomicU64,
}

fn epoch_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64
}

impl LogThrottle {
    pub(crate) const fn new() -> Self {
        LogThrottle {
            next_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(events held back since the last line)` when a line may be written now.
    pub(crate) fn check(&self, period: Duration) -> Option<u64> {
        let now = epoch_ms();
        let next = self.next_ms.load(Ordering::Acquire);
        if now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + period.as_millis() as u64,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_held_back() {
        let t = LogThrottle::new();
        assert_eq!(t.check(Duration::from_secs(3600)), Some(0));
        assert_eq!(t.check(Duration::from_secs(3600)), None);
        assert_eq!(t.check(Duration::from_secs(3600)), None);
        let t2 = LogThrottle::new();
        assert_eq!(t2.check(Duration::ZERO), Some(0));
        assert_eq!(t2.check(Duration::ZERO), Some(0));
    }
}
