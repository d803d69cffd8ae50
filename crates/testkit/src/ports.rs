//! Free loopback ports.

use std::net::TcpListener;

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
    fn a_port_block_has_its_neighbours_free() {
        let p = free_port_block();
        for q in p - 2..=p + 1 {
            assert!(TcpListener::bind(("127.0.0.1", q)).is_ok(), "{q} is taken");
        }
    }
}
