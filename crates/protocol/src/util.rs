//! Small helpers RocketMQ defines exactly: Java string hash, masked CRC32, message ids.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Java `String.hashCode()`: `31*h + c` over UTF-16 code units with wrap-around.
pub fn java_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32))
}

/// The consume-queue tags code of a TAGS value (0 when there is no tag).
pub fn tags_code(tags: Option<&str>) -> i64 {
    match tags {
        Some(t) if !t.is_empty() => java_hash(t) as i64,
        _ => 0,
    }
}

/// RocketMQ's `UtilAll.crc32`: IEEE CRC32 with the top bit cleared.
pub fn crc32(data: &[u8]) -> i32 {
    (crc32fast::hash(data) & 0x7FFF_FFFF) as i32
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Upper-case hex of `bytes` (`UtilAll.bytes2string`).
pub fn to_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xF) as usize] as char);
    }
    s
}

/// Parses hex (either case) into bytes.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The broker's "offset message id": store host address, port and commit-log offset in hex.
pub fn create_message_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut b = Vec::with_capacity(28);
    match store_host.ip() {
        IpAddr::V4(ip) => b.extend_from_slice(&ip.octets()),
        IpAddr::V6(ip) => b.extend_from_slice(&ip.octets()),
    }
    b.extend_from_slice(&(store_host.port() as i32).to_be_bytes());
    b.extend_from_slice(&commit_log_offset.to_be_bytes());
    to_hex(&b)
}

/// Decodes an offset message id into the store host and commit-log offset.
pub fn decode_message_id(msg_id: &str) -> Option<(SocketAddr, i64)> {
    let b = from_hex(msg_id)?;
    let (ip, rest): (IpAddr, &[u8]) = match b.len() {
        16 => (Ipv4Addr::new(b[0], b[1], b[2], b[3]).into(), &b[4..]),
        28 => {
            let octets: [u8; 16] = b[..16].try_into().ok()?;
            (Ipv6Addr::from(octets).into(), &b[16..])
        }
        _ => return None,
    };
    let port = i32::from_be_bytes(rest[..4].try_into().ok()?);
    let offset = i64::from_be_bytes(rest[4..12].try_into().ok()?);
    Some((SocketAddr::new(ip, port as u16), offset))
}

/// Current wall-clock time in milliseconds since the Unix epoch.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01, proleptic Gregorian.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_known_values() {
        assert_eq!(java_hash("TagA"), 2598919);
        assert_eq!(java_hash("TagB"), 2598920);
        assert_eq!(java_hash(""), 0);
        // "polygenelubricants".hashCode() == Integer.MIN_VALUE in Java
        assert_eq!(java_hash("polygenelubricants"), i32::MIN);
        // a character outside the BMP counts as two UTF-16 units
        assert_eq!(java_hash("😀"), 1772899);
    }

    #[test]
    fn crc32_is_masked_ieee() {
        assert_eq!(crc32(b"123456789"), (0xCBF43926u32 & 0x7FFF_FFFF) as i32);
    }

    #[test]
    fn message_id_round_trips() {
        let host: SocketAddr = "192.168.0.1:10911".parse().unwrap();
        let id = create_message_id(host, 1234567);
        assert_eq!(id, "C0A8000100002A9F000000000012D687");
        assert_eq!(decode_message_id(&id), Some((host, 1234567)));
        let v6: SocketAddr = "[::1]:10911".parse().unwrap();
        assert_eq!(decode_message_id(&create_message_id(v6, 9)), Some((v6, 9)));
        assert_eq!(decode_message_id("XYZ"), None);
    }
}
