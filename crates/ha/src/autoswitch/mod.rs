//! RocketMQ 5's auto-switch HA protocol (controller mode), byte-compatible with Apache
//! RocketMQ's `AutoSwitchHAService` / `AutoSwitchHAConnection` / `AutoSwitchHAClient`:
//! the same HA port and accept loop as classic HA, but a handshake in both directions (the
//! slave's broker id and flags; the master's epochs), truncation of a slave's divergent tail
//! to the consistent point of the two epoch lists, and transfer frames that carry the epoch
//! of their bytes and the master's confirm offset ([`frame`]).
//!
//! The broker's controller-mode side plugs in through an [`AutoSwitchListener`]: it receives
//! the slaves' acknowledgements (by broker id) for the sync state set, answers the confirm
//! offset, and reopens the store when a slave's log must be cut.

pub(crate) mod client;
pub(crate) mod connection;
pub mod epoch_file;
pub mod frame;

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use parking_lot::RwLock;

pub use epoch_file::{EpochFile, EpochFileError};

/// What the broker's controller-mode side does with replication events. Called from the HA
/// threads: implementations must not block.
pub trait AutoSwitchListener: Send + Sync {
    /// As master: slave `slave_id` acknowledged `offset`; `caught_up` when it had everything
    /// the master had at the last transfer (or the master has nothing more to send).
    fn on_slave_ack(&self, slave_id: u64, offset: i64, caught_up: bool);
    /// As master: the confirm offset sent in transfer headers, the CommitLog end being
    /// `master_max`.
    fn confirm_offset(&self, master_max: i64) -> i64;
    /// As slave: the local CommitLog diverges from the master's past `offset`; replication
    /// cannot continue before it is cut there.
    fn on_truncation_needed(&self, offset: i64);
}

/// The auto-switch state shared by the HA service, its connections and its client.
pub(crate) struct AutoSwitchShared {
    /// This broker's controller-assigned id (sent by the slave in its handshake).
    pub local_broker_id: i64,
    pub sync_from_last_file: bool,
    pub async_learner: bool,
    pub epochs: Arc<EpochFile>,
    pub listener: RwLock<Option<Arc<dyn AutoSwitchListener>>>,
    /// As slave: min(the master's last confirm offset, the local CommitLog end).
    pub confirm_offset: AtomicI64,
}

impl AutoSwitchShared {
    pub(crate) fn listener(&self) -> Option<Arc<dyn AutoSwitchListener>> {
        self.listener.read().clone()
    }
}
