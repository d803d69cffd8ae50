//! UNIQ_KEY generation (`MessageClientIDSetter`): an IP address, the process id, a per-process
//! random number, the milliseconds since the start of the current month (UTC) and a counter, as
//! 32 upper-case hex digits. Producers stamp their messages with it; the broker stamps messages
//! that arrive without one.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};

use crate::util::{civil_from_days, days_from_civil, now_millis, to_hex};

/// Generates unique message ids for one process (or one client instance).
#[derive(Debug)]
pub struct UniqueIdGenerator {
    /// Hex of ip + pid + process hash, computed once.
    prefix: String,
    counter: AtomicU16,
    /// Start of the current month (ms) and the start of the next one, refreshed on rollover.
    month_start: AtomicI64,
    next_month_start: AtomicI64,
}

/// Milliseconds of the first instant of the month (UTC) containing `now_ms`, and of the next.
fn month_bounds(now_ms: i64) -> (i64, i64) {
    let days = now_ms.div_euclid(86_400_000);
    let (y, m, _) = civil_from_days(days);
    let start = days_from_civil(y, m, 1) * 86_400_000;
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (start, days_from_civil(ny, nm, 1) * 86_400_000)
}

impl UniqueIdGenerator {
    /// A generator for a process at `ip`. `process_hash` stands for Java's class-loader identity
    /// hash (any per-process random value serves); the counter starts at `counter_start`.
    pub fn new(ip: IpAddr, process_hash: i32, counter_start: u16) -> Self {
        let mut prefix_bytes = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        prefix_bytes.extend_from_slice(&(std::process::id() as u16).to_be_bytes());
        prefix_bytes.extend_from_slice(&process_hash.to_be_bytes());
        let (start, next) = month_bounds(now_millis());
        UniqueIdGenerator {
            prefix: to_hex(&prefix_bytes),
            counter: AtomicU16::new(counter_start),
            month_start: AtomicI64::new(start),
            next_month_start: AtomicI64::new(next),
        }
    }

    /// A fresh id.
    pub fn next_id(&self) -> String {
        let now = now_millis();
        if now >= self.next_month_start.load(Ordering::Relaxed) {
            let (start, next) = month_bounds(now);
            self.month_start.store(start, Ordering::Relaxed);
            self.next_month_start.store(next, Ordering::Relaxed);
        }
        let elapsed = (now - self.month_start.load(Ordering::Relaxed)) as i32;
        let count = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut tail = [0u8; 6];
        tail[..4].copy_from_slice(&elapsed.to_be_bytes());
        tail[4..].copy_from_slice(&count.to_be_bytes());
        let mut s = String::with_capacity(self.prefix.len() + 12);
        s.push_str(&self.prefix);
        s.push_str(&to_hex(&tail));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_upper_hex_and_distinct() {
        let g = UniqueIdGenerator::new("192.168.0.1".parse().unwrap(), 7, 0);
        let a = g.next_id();
        let b = g.next_id();
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("C0A80001"));
        assert_eq!(&a[12..20], "00000007");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        assert_ne!(a, b);
        assert_eq!(a[..24], b[..24]);
        assert!(a.ends_with("0000") && b.ends_with("0001"));
    }

    #[test]
    fn month_bounds_are_exact() {
        // 2024-02-15T12:00:00Z
        let (s, n) = month_bounds(1_708_000_000_000);
        assert_eq!(s, 1_706_745_600_000); // 2024-02-01
        assert_eq!(n, 1_709_251_200_000); // 2024-03-01
                                          // 2023-12-31T23:59:59Z rolls into the next year
        let (s, n) = month_bounds(1_704_067_199_000);
        assert_eq!(s, 1_701_388_800_000);
        assert_eq!(n, 1_704_067_200_000);
        // 2024-03-05T01:02:03.004Z is 4 days 01:02:03.004 into its month
        let (s, _) = month_bounds(1_709_600_523_004);
        assert_eq!(1_709_600_523_004 - s, 4 * 86_400_000 + 3_723_004);
    }
}
