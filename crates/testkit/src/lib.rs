//! Harness for the end-to-end tests of the workspace's crates: free loopback ports, locating
//! and running the real `ferrocket` binary (standalone or any subcommand), collecting its
//! output, signals and exit waits, a tmpfs of a test's own for full-disk tests, and source
//! scans for dependency rules.
//!
//! Only ever a dev-dependency: nothing here belongs in a library or the binary.

mod bin;
mod ports;
mod process;
mod replica;
pub mod source_scan;
mod standalone;
mod tmpfs;

pub use bin::locate_ferrocket;
pub use ports::{free_port, free_port_block};
pub use process::{command, output_within, run_to_exit, Running};
pub use replica::{commit_log_files, BrokerNode, NameServer, ReplicaPair, REPLICA_COMMIT_LOG_SIZE};
pub use standalone::{Standalone, StandaloneBuilder};
pub use tmpfs::Tmpfs;

/// A name unique to this test run (topics, groups).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
