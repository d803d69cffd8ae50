//! Free loopback ports.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Ports already handed out by this process: two servers of one test given the same port would
/// fail to start.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Where ports are drawn from: below Linux's default ephemeral range (32768-60999), so that no
/// outgoing connection of any process can take a port between the test choosing it and the
/// server binding it (a port the OS hands out for `bind(0)` is an ephemeral one).
const PORTS: std::ops::Range<u16> = 20_000..32_000;

/// A loopback port nobody listens on right now, never one this process was given before.
pub fn free_port() -> u16 {
    let mut seed = seed();
    loop {
        // xorshift: any spread over the range will do, and a seed per call keeps processes that
        // start together apart
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let port = PORTS.start + (seed % u64::from(PORTS.end - PORTS.start)) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_err()
            || TcpListener::bind(("0.0.0.0", port)).is_err()
        {
            continue;
        }
        if HANDED_OUT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return port;
        }
    }
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ (u64::from(std::process::id()) << 32)) | 1
}

/// A broker listen port whose neighbours (fast port −2, HA port +1) are free too: RocketMQ
/// derives those ports from `listenPort`.
pub fn free_port_block() -> u16 {
    loop {
        let p = free_port();
        if p > 2
            && p < 65534
            && (p - 2..=p + 1).all(|q| TcpListener::bind(("127.0.0.1", q)).is_ok())
        {
            return p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_port_is_handed_out_twice() {
        let ports: BTreeSet<u16> = (0..200).map(|_| free_port()).collect();
        assert_eq!(ports.len(), 200);
    }

    #[test]
    fn a_port_block_has_its_neighbours_free() {
        let p = free_port_block();
        for q in p - 2..=p + 1 {
            assert!(TcpListener::bind(("127.0.0.1", q)).is_ok(), "{q} is taken");
        }
    }
}
