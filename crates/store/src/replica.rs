//! The hook through which a SYNC_MASTER put waits for a slave (RocketMQ
//! `CommitLog.submitReplicaRequest`). The store has no networking: the HA service implements
//! the hook and the store calls it after an append whose message asks to wait (`WAIT`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::result::PutMessageStatus;

/// A pending wait for a slave acknowledgement.
pub type SlaveAckFuture = Pin<Box<dyn Future<Output = PutMessageStatus> + Send>>;

/// Waits until a slave acknowledged the CommitLog up to an offset.
pub trait SlaveAckWaiter: Send + Sync {
    /// Resolves to PUT_OK once a slave acknowledged `next_offset` (the end of the record just
    /// appended), to SLAVE_NOT_AVAILABLE at once when no slave is in sync, or to
    /// FLUSH_SLAVE_TIMEOUT after `timeout`.
    fn wait_for_slave_ack(&self, next_offset: i64, timeout: Duration) -> SlaveAckFuture;

    /// Like [`SlaveAckWaiter::wait_for_slave_ack`], but needs `slaves` distinct slaves to have
    /// acknowledged `next_offset` (RocketMQ's `allAckInSyncStateSet`: every other member of the
    /// sync state set). SLAVE_NOT_AVAILABLE at once when fewer are connected. The default
    /// waits for one.
    fn wait_for_slave_acks(
        &self,
        next_offset: i64,
        slaves: usize,
        timeout: Duration,
    ) -> SlaveAckFuture {
        let _ = slaves;
        self.wait_for_slave_ack(next_offset, timeout)
    }

    /// The CommitLog writer appended records a put will wait for: the replication may start
    /// streaming them now, before the put itself asks (RocketMQ wakes its HA threads right
    /// after the append too). The default does nothing.
    fn records_appended(&self) {}
}
