//! Which address the broker tells clients to use (`brokerIP1`), and how that was decided.
//!
//! Clients connect to the address the name server hands out, not to the one the broker binds, so a
//! wrong `brokerIP1` shows up as producers timing out against an address that looks fine in the
//! logs. RocketMQ picks an interface address when `brokerIP1` is not set; Ferrocket does the same
//! and says on start-up which address it chose and why.

use std::net::IpAddr;

/// How `brokerIP1` got its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerIpSource {
    /// Set in the broker config file.
    Configured,
    /// Not set: picked from the host's interfaces as RocketMQ does.
    Detected {
        /// The interface the address belongs to.
        interface: String,
        /// Other usable addresses of this host, for the start-up hint.
        others: Vec<IpAddr>,
    },
    /// Not set and no usable interface address: loopback.
    Loopback,
}

/// One IP address of a local interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddr {
    /// Interface name (`eth0`).
    pub interface: String,
    /// The address.
    pub ip: IpAddr,
}

/// The non-loopback addresses of this host's interfaces, in the order the OS lists them.
pub fn interface_addrs() -> Vec<InterfaceAddr> {
    let Ok(interfaces) = if_addrs::get_if_addrs() else {
        return Vec::new();
    };
    interfaces
        .into_iter()
        .map(|i| InterfaceAddr {
            ip: i.ip(),
            interface: i.name,
        })
        .filter(|a| !a.ip.is_loopback() && !a.ip.is_unspecified())
        .collect()
}

/// RocketMQ's choice of a default broker address among `addrs`: the first IPv4 address that is
/// neither `127.0.*` nor `192.168.*`, else the last IPv4 address, else the first IPv6 address.
pub fn pick_local_address(addrs: &[InterfaceAddr]) -> Option<&InterfaceAddr> {
    let v4: Vec<&InterfaceAddr> = addrs.iter().filter(|a| a.ip.is_ipv4()).collect();
    let preferred = v4.iter().copied().find(|a| {
        let s = a.ip.to_string();
        !s.starts_with("127.0") && !s.starts_with("192.168")
    });
    preferred.or_else(|| v4.last().copied()).or_else(|| {
        addrs
            .iter()
            .find(|a| a.ip.is_ipv6() && !is_link_local_v6(a.ip))
    })
}

fn is_link_local_v6(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// The default `brokerIP1` for this host and how it was chosen.
pub fn detect_broker_ip() -> (IpAddr, BrokerIpSource) {
    let addrs = interface_addrs();
    match pick_local_address(&addrs) {
        Some(chosen) => {
            let others = addrs
                .iter()
                .filter(|a| a.ip != chosen.ip && !is_link_local_v6(a.ip))
                .map(|a| a.ip)
                .collect();
            (
                chosen.ip,
                BrokerIpSource::Detected {
                    interface: chosen.interface.clone(),
                    others,
                },
            )
        }
        None => (IpAddr::from([127, 0, 0, 1]), BrokerIpSource::Loopback),
    }
}

/// The start-up line naming the address clients will be told, and where it came from.
pub fn startup_line(advertised: &str, source: &BrokerIpSource) -> String {
    let why = match source {
        BrokerIpSource::Configured => "brokerIP1 from the config file".to_string(),
        BrokerIpSource::Detected { interface, others } if others.is_empty() => {
            format!("brokerIP1 not set: address of interface {interface}")
        }
        BrokerIpSource::Detected { interface, others } => format!(
            "brokerIP1 not set: address of interface {interface}; this host also has {}; \
             set brokerIP1 in the broker config to choose",
            others
                .iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        BrokerIpSource::Loopback => {
            "brokerIP1 not set and no network interface address found: loopback only".to_string()
        }
    };
    format!("clients will be told to connect to the broker at {advertised} ({why})")
}

/// A warning when the advertised address cannot work for clients on other hosts or is not an
/// address of this host (which is right only behind NAT or a proxy).
pub fn advertised_warning(broker_ip: IpAddr, bind: IpAddr) -> Option<String> {
    let local = interface_addrs();
    if broker_ip.is_loopback() && !bind.is_loopback() && !local.is_empty() {
        return Some(format!(
            "brokerIP1 is {broker_ip}: clients on other hosts will be told a loopback address and \
             fail to connect; set brokerIP1 to an address they can reach"
        ));
    }
    if !broker_ip.is_loopback() && !local.iter().any(|a| a.ip == broker_ip) {
        return Some(format!(
            "brokerIP1 {broker_ip} is not an address of this host's interfaces; clients will \
             connect there (right only behind NAT or a proxy)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(interface: &str, ip: &str) -> InterfaceAddr {
        InterfaceAddr {
            interface: interface.into(),
            ip: ip.parse().unwrap(),
        }
    }

    #[test]
    fn prefers_an_ipv4_address_outside_192_168() {
        let addrs = [a("wlan0", "192.168.1.7"), a("eth0", "10.0.0.5")];
        assert_eq!(pick_local_address(&addrs).unwrap().interface, "eth0");
    }

    #[test]
    fn falls_back_to_the_last_ipv4_then_ipv6() {
        let addrs = [a("a", "192.168.1.7"), a("b", "192.168.2.9")];
        assert_eq!(pick_local_address(&addrs).unwrap().interface, "b");
        let addrs = [a("a", "fe80::1"), a("b", "2001:db8::5")];
        assert_eq!(pick_local_address(&addrs).unwrap().interface, "b");
        assert!(pick_local_address(&[]).is_none());
    }

    #[test]
    fn startup_line_names_the_address_and_its_source() {
        let line = startup_line("10.0.0.5:10911", &BrokerIpSource::Configured);
        assert_eq!(
            line,
            "clients will be told to connect to the broker at 10.0.0.5:10911 (brokerIP1 from the config file)"
        );
        let line = startup_line(
            "10.0.0.5:10911",
            &BrokerIpSource::Detected {
                interface: "eth0".into(),
                others: vec!["192.168.1.7".parse().unwrap()],
            },
        );
        assert!(line.contains("interface eth0"), "{line}");
        assert!(line.contains("also has 192.168.1.7"), "{line}");
    }

    #[test]
    fn loopback_advertised_on_a_wildcard_bind_warns() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        if interface_addrs().is_empty() {
            assert!(advertised_warning(lo, any).is_none());
        } else {
            assert!(advertised_warning(lo, any).unwrap().contains("loopback"));
        }
        assert!(advertised_warning(lo, lo).is_none());
        let foreign: IpAddr = "203.0.113.77".parse().unwrap();
        assert!(advertised_warning(foreign, any).unwrap().contains("NAT"));
    }
}
