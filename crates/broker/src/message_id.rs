//! `MessageClientIDSetter` on the broker side: the UNIQ_KEY the broker assigns when a producer
//! sent none (loopback address, this process, a random number, month time, a counter).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::OnceLock;

use ferrocket_protocol::message::unique_id::UniqueIdGenerator;

/// A new unique message id.
pub fn create_uniq_id() -> String {
    static GENERATOR: OnceLock<UniqueIdGenerator> = OnceLock::new();
    GENERATOR
        .get_or_init(|| UniqueIdGenerator::new(IpAddr::V4(Ipv4Addr::LOCALHOST), rand::random(), 0))
        .next_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_32_hex_digits_and_distinct() {
        let a = create_uniq_id();
        let b = create_uniq_id();
        assert_eq!(a.len(), 32);
        assert!(a.starts_with("7F000001"));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
        assert_ne!(a, b);
    }
}
