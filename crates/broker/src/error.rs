//! Errors that stop a broker from starting.

use std::path::PathBuf;

use thiserror::Error;

/// Why `BrokerController::start` failed.
#[derive(Debug, Error)]
pub enum BrokerError {
    /// The message store could not be opened.
    #[error("cannot open the message store: {0}")]
    Store(String),
    /// A config file exists but neither it nor its `.bak` copy can be read.
    #[error("cannot read {path}: {reason}")]
    ConfigLoad {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// A config file could not be written.
    #[error("cannot write {path}: {source}")]
    ConfigPersist {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration is inconsistent.
    #[error("invalid broker configuration: {0}")]
    InvalidConfig(String),
}
