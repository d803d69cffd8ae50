//! `MessageClientIDSetter`: the UNIQ_KEY the broker assigns when a producer sent none.
//!
//! 16 bytes as 32 upper-case hex digits: IPv4 address (4), process id (2), a per-process random
//! number (4), milliseconds since the start of the current month (4), a counter (2).

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::OnceLock;

use ferrocket_protocol::util::{now_millis, to_hex};

static COUNTER: AtomicU16 = AtomicU16::new(0);

fn prefix() -> &'static [u8; 10] {
    static PREFIX: OnceLock<[u8; 10]> = OnceLock::new();
    PREFIX.get_or_init(|| {
        let mut p = [0u8; 10];
        p[..4].copy_from_slice(&[127, 0, 0, 1]);
        p[4..6].copy_from_slice(&(std::process::id() as u16).to_be_bytes());
        p[6..10].copy_from_slice(&rand::random::<u32>().to_be_bytes());
        p
    })
}

/// Milliseconds since the first day of the current month, 00:00 UTC.
fn millis_since_month_start(now_ms: i64) -> i64 {
    let days = now_ms.div_euclid(86_400_000);
    let (_, _, day) = civil_from_days(days);
    now_ms - (days - (day as i64 - 1)) * 86_400_000
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A new unique message id.
pub fn create_uniq_id() -> String {
    let mut b = [0u8; 16];
    b[..10].copy_from_slice(prefix());
    let t = millis_since_month_start(now_millis()) as u32;
    b[10..14].copy_from_slice(&t.to_be_bytes());
    b[14..16].copy_from_slice(&COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    to_hex(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_distinct() {
        let a = create_uniq_id();
        let b = create_uniq_id();
        assert_eq!(a.len(), 32);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }

    #[test]
    fn month_start_arithmetic() {
        // 2024-03-05T01:02:03.004Z
        let ms = 1_709_600_523_004;
        assert_eq!(civil_from_days(ms / 86_400_000), (2024, 3, 5));
        assert_eq!(millis_since_month_start(ms), 4 * 86_400_000 + 3_723_004);
    }
}
