//! Transport errors.

use thiserror::Error;

/// Why a remote call failed.
#[derive(Debug, Error)]
pub enum RemotingError {
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("request to {addr} timed out after {millis} ms")]
    Timeout { addr: String, millis: u64 },
    #[error("connection to {0} closed before the response arrived")]
    ConnectionClosed(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}
