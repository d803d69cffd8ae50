//! Classic RocketMQ master/slave replication (`HAService`), byte-compatible with Apache
//! RocketMQ 4.9 / 5.x brokers in non-controller mode (see docs/REPLICATION.md):
//!
//! * the master listens on `haListenPort`; each slave connection ([`ha_connection`]) reads the
//!   slave's 8-byte offset reports and streams CommitLog ranges as frames of
//!   `[phyOffset: i64][bodySize: i32][body]`, big-endian, empty body = heartbeat;
//! * the slave's [`ha_client`] connects to the master's HA address, appends every frame at
//!   exactly its physical offset and reports its new max offset;
//! * SYNC_MASTER puts wait on a [`GroupTransferHandle`] for a slave acknowledgement.
//!
//! In controller mode the same port speaks RocketMQ 5's auto-switch HA protocol instead
//! ([`autoswitch`]: handshakes with the slave's broker id and the master's epochs, frames that
//! carry their epoch, the epoch file).
//!
//! The HA port follows the broker's TLS settings ([`tls`]).
//!
//! Sockets are blocking and served by dedicated threads, as in RocketMQ: the slave's appends
//! create and fill CommitLog files, which must stay off the async reactor.

pub mod autoswitch;
mod error;
mod group_transfer;
pub mod ha_client;
pub mod ha_connection;
mod ha_service;
mod read_ahead;
pub mod runtime_stats;
pub mod tls;

pub use autoswitch::{AutoSwitchListener, EpochFile};
pub use error::HaError;
pub use group_transfer::GroupTransferHandle;
pub use ha_service::{HAService, MAX_SLAVE_CONNECTIONS};
pub use runtime_stats::{ClientRuntimeInfo, ConnectionRuntimeInfo};
pub use tls::HaTls;
