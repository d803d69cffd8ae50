//! Errors of the HA service.

use thiserror::Error;

/// Why the HA service cannot start.
#[derive(Debug, Error)]
pub enum HaError {
    /// The HA listen port cannot be bound.
    #[error("cannot listen for slaves on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The epoch file (controller mode) cannot be read.
    #[error(transparent)]
    Epoch(crate::autoswitch::EpochFileError),
    /// A service thread cannot be started.
    #[error("cannot start the {name} thread: {source}")]
    Thread {
        /// The thread's name.
        name: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
