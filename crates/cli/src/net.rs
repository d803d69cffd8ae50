//! Address helpers shared by the server subcommands.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The address a local client should dial to reach a server bound to `bound`: a wildcard bind
/// (`0.0.0.0`, `::`) is reached through loopback.
pub fn connectable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), bound.port())
        }
        _ => bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_binds_map_to_loopback() {
        let c = |s: &str| connectable(s.parse().unwrap()).to_string();
        assert_eq!(c("0.0.0.0:9876"), "127.0.0.1:9876");
        assert_eq!(c("[::]:9876"), "[::1]:9876");
        assert_eq!(c("10.1.2.3:9876"), "10.1.2.3:9876");
    }
}
