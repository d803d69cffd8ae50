//! Name server errors.

use std::path::PathBuf;

use thiserror::Error;

/// Why the name server could not start.
#[derive(Debug, Error)]
pub enum NamesrvError {
    /// The listen address could not be bound.
    #[error("name server cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    /// The TLS settings do not make a usable TLS configuration.
    #[error("name server TLS: {0}")]
    Tls(String),
    /// The KV config file exists but cannot be read or parsed.
    #[error("cannot load the KV config {path}: {reason}")]
    KvConfig { path: PathBuf, reason: String },
    /// ACL is on but its file cannot be used.
    #[error("{0}")]
    Acl(#[from] ferrocket_acl::AclError),
}
