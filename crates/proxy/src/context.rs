//! What a call says about its caller: the `x-mq-*` metadata the v5 clients send on every call
//! and the connection's peer address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::status::{ProxyError, ProxyResult};
use crate::v2::Code;

/// The metadata key naming the client instance (`hostname@pid@index@time`).
pub const CLIENT_ID: &str = "x-mq-client-id";
/// The metadata key naming the client's language (`JAVA`, `GOLANG`, ...).
pub const LANGUAGE: &str = "x-mq-language";
/// The metadata key with the client's version.
pub const CLIENT_VERSION: &str = "x-mq-client-version";

/// The remote address of a connection, put into each request's extensions by the server.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

/// The caller of one call.
#[derive(Debug, Clone)]
pub struct ProxyContext {
    /// `x-mq-client-id`.
    pub client_id: String,
    /// `x-mq-language`, or empty.
    pub language: String,
    /// `x-mq-client-version`, or empty.
    pub client_version: String,
    /// The connection's peer.
    pub remote_addr: SocketAddr,
}

fn metadata_str<'a>(metadata: &'a tonic::metadata::MetadataMap, key: &str) -> &'a str {
    metadata
        .get(key)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or("")
}

impl ProxyContext {
    /// Reads the caller from a request; a missing or blank `x-mq-client-id` is
    /// CLIENT_ID_REQUIRED, as in Apache's proxy.
    pub fn from_request<T>(request: &tonic::Request<T>) -> ProxyResult<Self> {
        let metadata = request.metadata();
        let client_id = metadata_str(metadata, CLIENT_ID);
        if client_id.is_empty() {
            return Err(ProxyError::new(
                Code::ClientIdRequired,
                format!("the gRPC metadata {CLIENT_ID} is required"),
            ));
        }
        let remote_addr = request
            .extensions()
            .get::<PeerAddr>()
            .map(|p| p.0)
            .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
        Ok(ProxyContext {
            client_id: client_id.to_string(),
            language: metadata_str(metadata, LANGUAGE).to_string(),
            client_version: metadata_str(metadata, CLIENT_VERSION).to_string(),
            remote_addr,
        })
    }
}
