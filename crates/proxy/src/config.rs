//! How the gRPC port is served, taken from the broker's settings.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_broker::BrokerConfig;
use ferrocket_remoting::{ServerTls, TlsError, TlsSettings};

/// The HTTP/2 protocol identifier offered in TLS (ALPN); gRPC clients insist on it.
const ALPN_H2: &[u8] = b"h2";

/// Header block a request may send, bytes: the v5 clients' metadata is well under 1 KiB.
const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// HTTP/2 streams one connection may have open at once; a bound even when
/// `serverMaxRequestsPerConnection` is set very high.
const MAX_STREAMS_PER_CONNECTION: usize = 4096;

/// The settings of one gRPC listener.
#[derive(Clone)]
pub struct GrpcServerConfig {
    /// Address and port to bind (`bindAddress`, `grpcServerPort`).
    pub listen: SocketAddr,
    /// `tls.server.mode` and, unless disabled, the certificate, offering ALPN `h2`.
    pub tls: Arc<ServerTls>,
    /// Connections served at once (`serverMaxConnections`); the next ones are closed.
    pub max_connections: usize,
    /// HTTP/2 streams (calls) one connection may have in flight
    /// (`serverMaxRequestsPerConnection`); the excess is refused by HTTP/2 itself.
    pub max_concurrent_streams: u32,
    /// Largest request message, bytes (`grpcMaxInboundMessageSize`).
    pub max_inbound_message_size: usize,
    /// Largest header block, bytes.
    pub max_header_list_size: u32,
    /// Time a new connection has to show what it speaks and finish a TLS handshake
    /// (`serverFrameReadTimeoutMillis`).
    pub handshake_timeout: Duration,
    /// A connection that sends nothing for this long is closed
    /// (`serverChannelMaxIdleTimeSeconds`); `None` disables it. Live clients answer the PINGs
    /// sent every quarter of it, so only a peer that is gone or stalled goes quiet that long.
    pub idle_timeout: Option<Duration>,
}

impl GrpcServerConfig {
    /// HTTP/2 PING interval: a quarter of the idle timeout.
    pub fn keep_alive_interval(&self) -> Option<Duration> {
        self.idle_timeout.map(|t| t / 4)
    }
}

impl GrpcServerConfig {
    /// The listener `broker` asks for, or `None` when `grpcServerEnable` is false. TLS follows the broker's `tls.server.mode`; the
    /// certificate is `tlsCertPath` / `tlsKeyPath` (Apache's proxy keys), else the remoting
    /// port's, else a self-signed one made at start (`tlsTestModeEnable` and
    /// `tls.test.mode.enable`).
    pub fn from_broker_config(broker: &BrokerConfig) -> Result<Option<Self>, TlsError> {
        if !broker.grpc.enable {
            return Ok(None);
        }
        let ip = broker
            .bind_address
            .trim()
            .parse::<IpAddr>()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let tls = Arc::new(grpc_tls_settings(broker).server()?.with_alpn(&[ALPN_H2]));
        let server = &broker.server;
        Ok(Some(GrpcServerConfig {
            listen: SocketAddr::new(ip, broker.grpc.port),
            tls,
            max_connections: server.effective_max_connections(),
            max_concurrent_streams: server
                .max_requests_per_connection
                .clamp(1, MAX_STREAMS_PER_CONNECTION) as u32,
            max_inbound_message_size: broker.grpc.max_inbound_message_size,
            max_header_list_size: MAX_HEADER_LIST_BYTES,
            handshake_timeout: server
                .frame_deadline()
                .unwrap_or(ferrocket_remoting::tls::HANDSHAKE_TIMEOUT),
            idle_timeout: server.idle_timeout(),
        }))
    }
}

/// The TLS settings of the gRPC port: the broker's `tls.*` ones, with the certificate of Apache's
/// proxy keys `tlsCertPath` / `tlsKeyPath` when set, and `tlsTestModeEnable` deciding whether a
/// port without any certificate makes a self-signed one.
fn grpc_tls_settings(broker: &BrokerConfig) -> TlsSettings {
    let mut tls = broker.tls.clone();
    let grpc = &broker.grpc;
    if grpc.tls_cert_path.is_some() || grpc.tls_key_path.is_some() {
        tls.server_cert_path = grpc.tls_cert_path.as_deref().map(PathBuf::from);
        tls.server_key_path = grpc.tls_key_path.as_deref().map(PathBuf::from);
    }
    tls.test_mode = tls.test_mode && grpc.tls_test_mode_enable;
    tls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_follows_its_switch() {
        let mut broker = BrokerConfig::default();
        broker.grpc.port = 0;
        let config = GrpcServerConfig::from_broker_config(&broker)
            .unwrap()
            .unwrap();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.tls.mode(), ferrocket_remoting::TlsMode::Permissive);
        let alpn = &config.tls.rustls_config().unwrap().alpn_protocols;
        assert_eq!(alpn, &vec![ALPN_H2.to_vec()]);
        // served under ACL too: the calls are checked one by one
        broker.acl_enable = true;
        assert!(GrpcServerConfig::from_broker_config(&broker)
            .unwrap()
            .is_some());
        broker.grpc.enable = false;
        assert!(GrpcServerConfig::from_broker_config(&broker)
            .unwrap()
            .is_none());
    }

    #[test]
    fn apache_proxy_tls_keys_choose_the_certificate() {
        let mut broker = BrokerConfig::default();
        broker.grpc.tls_test_mode_enable = false;
        let e = GrpcServerConfig::from_broker_config(&broker).err().unwrap();
        assert!(e.to_string().contains("required"), "{e}");
        broker.grpc.tls_cert_path = Some("/nonexistent/rocketmq.crt".into());
        broker.grpc.tls_key_path = Some("/nonexistent/rocketmq.key".into());
        let e = GrpcServerConfig::from_broker_config(&broker).err().unwrap();
        assert!(e.to_string().contains("/nonexistent/rocketmq.crt"), "{e}");
        let tls = grpc_tls_settings(&broker);
        assert_eq!(
            tls.server_key_path,
            Some(PathBuf::from("/nonexistent/rocketmq.key"))
        );

        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
        broker.grpc.tls_cert_path = Some(cert_path.display().to_string());
        broker.grpc.tls_key_path = Some(key_path.display().to_string());
        let config = GrpcServerConfig::from_broker_config(&broker)
            .unwrap()
            .unwrap();
        assert!(config.tls.rustls_config().is_some());
    }
}
