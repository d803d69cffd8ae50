//! `whiteRemoteAddress` / `globalWhiteRemoteAddresses` patterns (RocketMQ's
//! `RemoteAddressStrategyFactory`).

use std::net::IpAddr;

/// A compiled address pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressPattern {
    /// Blank: matches nothing.
    Nothing,
    /// `*`, `*.*.*.*` or `*:*:*:*:*:*:*:*`: matches every address.
    Everything,
    /// An explicit list (`ip1,ip2` or `a.b.c.{1,2,3}`), or one address.
    List(Vec<IpAddr>),
    /// IPv4 with `*` or `lo-hi` segments (`192.168.*.*`, `10.0.0.10-20`).
    Range([SegmentPattern; 4]),
}

/// One IPv4 segment of a range pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentPattern {
    lo: u8,
    hi: u8,
}

impl AddressPattern {
    /// Compiles `text`; an error names what is wrong with it.
    pub fn parse(text: &str) -> Result<AddressPattern, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(AddressPattern::Nothing);
        }
        if matches!(text, "*" | "*.*.*.*" | "*:*:*:*:*:*:*:*") {
            return Ok(AddressPattern::Everything);
        }
        if let Some((head, rest)) = text.split_once('{') {
            let inner = rest
                .strip_suffix('}')
                .ok_or_else(|| format!("'{text}': '{{' without a closing '}}'"))?;
            return inner
                .split(',')
                .map(|last| parse_ip(&format!("{head}{}", last.trim())))
                .collect::<Result<_, _>>()
                .map(AddressPattern::List);
        }
        if text.contains(',') {
            return text
                .split(',')
                .map(|a| parse_ip(a.trim()))
                .collect::<Result<_, _>>()
                .map(AddressPattern::List);
        }
        if text.contains('*') || text.contains('-') {
            return parse_range(text);
        }
        Ok(AddressPattern::List(vec![parse_ip(text)?]))
    }

    /// True when `ip` matches.
    pub fn matches(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self {
            AddressPattern::Nothing => false,
            AddressPattern::Everything => true,
            AddressPattern::List(list) => list.contains(&ip),
            AddressPattern::Range(segments) => match ip {
                IpAddr::V4(v4) => v4
                    .octets()
                    .iter()
                    .zip(segments)
                    .all(|(o, s)| (s.lo..=s.hi).contains(o)),
                IpAddr::V6(_) => false,
            },
        }
    }
}

/// IPv4-mapped IPv6 peers (dual-stack sockets) compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse::<IpAddr>()
        .map(canonical)
        .map_err(|_| format!("'{text}' is not an IP address"))
}

fn parse_range(text: &str) -> Result<AddressPattern, String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return Err(format!(
            "'{text}': ranges are supported for IPv4 only (a.b.c.*, a.b.*.*, a.b.c.10-20)"
        ));
    }
    let mut segments = [SegmentPattern { lo: 0, hi: 255 }; 4];
    for (slot, part) in segments.iter_mut().zip(&parts) {
        let part = part.trim();
        let bad = || format!("'{text}': bad segment '{part}'");
        *slot = if part == "*" {
            SegmentPattern { lo: 0, hi: 255 }
        } else if let Some((lo, hi)) = part.split_once('-') {
            let lo: u8 = lo.trim().parse().map_err(|_| bad())?;
            let hi: u8 = hi.trim().parse().map_err(|_| bad())?;
            if lo > hi {
                return Err(bad());
            }
            SegmentPattern { lo, hi }
        } else {
            let v: u8 = part.parse().map_err(|_| bad())?;
            SegmentPattern { lo: v, hi: v }
        };
    }
    Ok(AddressPattern::Range(segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, ip: &str) -> bool {
        AddressPattern::parse(pattern)
            .unwrap()
            .matches(ip.parse().unwrap())
    }

    #[test]
    fn rocketmq_pattern_forms() {
        assert!(!m("", "127.0.0.1"));
        assert!(m("*", "10.1.2.3"));
        assert!(m("*.*.*.*", "10.1.2.3"));
        assert!(m("*:*:*:*:*:*:*:*", "::1"));
        assert!(m("192.168.0.{1,2,3}", "192.168.0.2"));
        assert!(!m("192.168.0.{1,2,3}", "192.168.0.4"));
        assert!(m("10.0.0.1,10.0.0.2", "10.0.0.2"));
        assert!(!m("10.0.0.1,10.0.0.2", "10.0.0.3"));
        assert!(m("192.168.1.*", "192.168.1.77"));
        assert!(!m("192.168.1.*", "192.168.2.77"));
        assert!(m("192.168.*.*", "192.168.200.1"));
        assert!(m("10.0.0.10-20", "10.0.0.15"));
        assert!(!m("10.0.0.10-20", "10.0.0.21"));
        assert!(m("127.0.0.1", "127.0.0.1"));
        assert!(m("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(m("::1", "::1"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        for bad in ["10.0.0.20-10", "10.0.0.300", "abc", "10.0.*", "1.2.3.{4,5"] {
            assert!(AddressPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
