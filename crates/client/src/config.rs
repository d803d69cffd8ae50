//! `ClientConfig`: what every producer and consumer shares (name servers, identity, intervals).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ferrocket_protocol::SerializeType;

/// The name server address used when nothing else is configured.
pub const DEFAULT_NAMESRV_ADDR: &str = "127.0.0.1:9876";

/// Settings of a client instance (`ClientConfig`).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Name server addresses, `;`-separated.
    pub namesrv_addr: String,
    /// Instance name; the client id is `ip@instance_name`. `None` picks `pid#nanos`.
    pub instance_name: Option<String>,
    /// Client IP used in the client id and message ids; `None` uses the local address of the
    /// connection to the name server.
    pub client_ip: Option<std::net::IpAddr>,
    /// Route refresh period (`pollNameServerInterval`).
    pub poll_name_server_interval: Duration,
    /// Heartbeat period (`heartbeatBrokerInterval`).
    pub heartbeat_broker_interval: Duration,
    /// Consumer offset persistence period (`persistConsumerOffsetInterval`).
    pub persist_consumer_offset_interval: Duration,
    /// Timeout of name server and management calls (`mqClientApiTimeout`).
    pub api_timeout: Duration,
    /// Header serialization of every request: JSON (the Java default) or RocketMQ's binary
    /// header (what RocketMQ's own benchmark tools use).
    pub serialize_type: SerializeType,
    /// Access and secret key to sign every request with (RocketMQ's `AclClientRPCHook`), for
    /// servers that enforce ACL.
    pub credentials: Option<ferrocket_acl::SessionCredentials>,
    /// `useTLS`: connect to name servers and brokers over TLS, trusting any server
    /// certificate as RocketMQ's clients do by default.
    pub use_tls: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            namesrv_addr: std::env::var("NAMESRV_ADDR")
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_NAMESRV_ADDR.to_string()),
            instance_name: None,
            client_ip: None,
            poll_name_server_interval: Duration::from_secs(30),
            heartbeat_broker_interval: Duration::from_secs(30),
            persist_consumer_offset_interval: Duration::from_secs(5),
            api_timeout: Duration::from_secs(3),
            serialize_type: SerializeType::Json,
            credentials: None,
            use_tls: false,
        }
    }
}

impl ClientConfig {
    /// A configuration for the given name server addresses.
    pub fn with_namesrv(addr: impl Into<String>) -> Self {
        ClientConfig {
            namesrv_addr: addr.into(),
            ..Default::default()
        }
    }

    /// The name server addresses, split on `;`.
    pub fn namesrv_list(&self) -> Vec<String> {
        self.namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The instance name, generating `pid#nanos` (the 5.x default) when unset.
    pub fn resolved_instance_name(&self) -> String {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        match &self.instance_name {
            Some(n) if !n.is_empty() && n != "DEFAULT" => n.clone(),
            _ => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                // the sequence keeps two instances created in the same nanosecond apart
                let seq = SEQ.fetch_add(1, Ordering::Relaxed);
                format!("{}#{}", std::process::id(), nanos.wrapping_add(seq))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_name_servers_and_generates_instance_names() {
        let c = ClientConfig::with_namesrv("127.0.0.1:9876; 127.0.0.1:9877;");
        assert_eq!(c.namesrv_list(), ["127.0.0.1:9876", "127.0.0.1:9877"]);
        let a = c.resolved_instance_name();
        let b = c.resolved_instance_name();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("{}#", std::process::id())));
        let named = ClientConfig {
            instance_name: Some("x".into()),
            ..c
        };
        assert_eq!(named.resolved_instance_name(), "x");
    }
}
