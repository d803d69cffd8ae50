//! UNIQ_KEY generation (`MessageClientIDSetter`): client IP, pid, a per-process hash, the
//! milliseconds since the start of the current month and a counter, as 32 upper-case hex digits.

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};

use ferrocket_protocol::util::{civil_from_days, days_from_civil, now_millis};

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Generates the client-side unique message ids of one client instance.
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

fn push_hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xF) as usize] as char);
    }
}

impl UniqueIdGenerator {
    /// A generator for a client at `ip`.
    pub fn new(ip: IpAddr) -> Self {
        let mut prefix = String::with_capacity(40);
        match ip {
            IpAddr::V4(v4) => push_hex(&mut prefix, &v4.octets()),
            IpAddr::V6(v6) => push_hex(&mut prefix, &v6.octets()),
        }
        push_hex(&mut prefix, &(std::process::id() as u16).to_be_bytes());
        // Java uses the class loader's identity hash; any per-process random value serves
        push_hex(&mut prefix, &rand::random::<i32>().to_be_bytes());
        let (start, next) = month_bounds(now_millis());
        UniqueIdGenerator {
            prefix,
            counter: AtomicU16::new(rand::random()),
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
        let mut s = String::with_capacity(self.prefix.len() + 12);
        s.push_str(&self.prefix);
        push_hex(&mut s, &elapsed.to_be_bytes());
        push_hex(&mut s, &count.to_be_bytes());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_upper_hex_and_distinct() {
        let g = UniqueIdGenerator::new("192.168.0.1".parse().unwrap());
        let a = g.next_id();
        let b = g.next_id();
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("C0A80001"));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)));
        assert_ne!(a, b);
        assert_eq!(a[..24], b[..24]);
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
    }
}
