//! Errors opening or operating the store.

use std::path::PathBuf;

use thiserror::Error;

/// Why the store cannot be opened or an operation on its files failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A setting the store cannot work with.
    #[error("invalid store configuration: {0}")]
    InvalidConfig(String),
    /// A file operation failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the `lock` file.
    #[error("the store at {0} is locked by another process")]
    Locked(PathBuf),
    /// A segment that recovery cannot make sense of (wrong size, missing predecessor).
    #[error("corrupted store file {path}: {reason}")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.into(),
            source,
        }
    }
}
