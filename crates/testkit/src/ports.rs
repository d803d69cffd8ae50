//! Free loopback ports.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// Ports already handed out by this process: the OS may return a port it just released again, and
/// two servers of one test given the same port would fail to start.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A loopback port nobody listens on right now, never one this process was given before.
pub fn free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return port;
        }
    }
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
