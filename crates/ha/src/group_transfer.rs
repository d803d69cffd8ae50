//! SYNC_MASTER waits (RocketMQ `GroupTransferService`): a put waits until the best slave's
//! acknowledged offset (`push2SlaveMaxOffset`) reaches the end of its record.
//!
//! RocketMQ queues each request to a service thread that polls the offset. Here the offset
//! lives in a `watch` channel: every acknowledgement raises it and wakes exactly the waiting
//! puts, nothing is queued (the number of waits is bounded by the sends in flight) and a
//! waiter that times out simply drops its receiver.

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_store::{PutMessageStatus, SlaveAckFuture, SlaveAckWaiter};
use tokio::sync::watch;

/// Replication progress shared by the HA connections and the waiting puts.
pub(crate) struct TransferState {
    /// Highest offset any slave acknowledged (`push2SlaveMaxOffset`).
    push_to_slave_max: watch::Sender<i64>,
    /// Connected slaves.
    connections: AtomicUsize,
    /// Acknowledged offset of each live connection, for the in-sync count.
    acks: parking_lot::Mutex<Vec<(u64, Arc<AtomicI64>)>>,
    /// `haMaxGapNotInSync`.
    max_gap_not_in_sync: i64,
    /// The master's CommitLog end (`masterPutWhere`), read when judging a slave in sync.
    master_max_offset: Box<dyn Fn() -> i64 + Send + Sync>,
    /// Bumped when new CommitLog data should be streamed (RocketMQ `WaitNotifyObject`).
    data_generation: parking_lot::Mutex<u64>,
    data_cond: parking_lot::Condvar,
}

impl std::fmt::Debug for TransferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferState")
            .field("push_to_slave_max", &*self.push_to_slave_max.borrow())
            .field("connections", &self.connection_count())
            .finish()
    }
}

impl TransferState {
    pub(crate) fn new(
        max_gap_not_in_sync: i64,
        master_max_offset: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> Self {
        TransferState {
            push_to_slave_max: watch::Sender::new(0),
            connections: AtomicUsize::new(0),
            acks: parking_lot::Mutex::new(Vec::new()),
            max_gap_not_in_sync,
            master_max_offset,
            data_generation: parking_lot::Mutex::new(0),
            data_cond: parking_lot::Condvar::new(),
        }
    }

    /// Wakes every HA write thread: there is new data to stream (`wakeupAll`).
    pub(crate) fn wakeup_all(&self) {
        *self.data_generation.lock() += 1;
        self.data_cond.notify_all();
    }

    /// Waits up to `timeout` for [`TransferState::wakeup_all`] (`allWaitForRunning`).
    pub(crate) fn wait_for_data(&self, timeout: Duration) {
        let mut generation = self.data_generation.lock();
        let seen = *generation;
        let deadline = std::time::Instant::now() + timeout;
        while *generation == seen {
            if self
                .data_cond
                .wait_until(&mut generation, deadline)
                .timed_out()
            {
                return;
            }
        }
    }

    /// A slave acknowledged `offset`: raise `push2SlaveMaxOffset` (never lower it) and wake
    /// the puts it satisfies (RocketMQ `notifyTransferSome`).
    pub(crate) fn notify_transfer_some(&self, offset: i64) {
        self.push_to_slave_max.send_if_modified(|max| {
            if offset > *max {
                *max = offset;
                true
            } else {
                false
            }
        });
    }

    pub(crate) fn push_to_slave_max_offset(&self) -> i64 {
        *self.push_to_slave_max.borrow()
    }

    /// Registers a connection's acknowledged-offset cell; returns its key.
    pub(crate) fn add_connection(&self, id: u64, ack: Arc<AtomicI64>) {
        self.acks.lock().push((id, ack));
        self.connections.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn remove_connection(&self, id: u64) {
        let mut acks = self.acks.lock();
        let before = acks.len();
        acks.retain(|(i, _)| *i != id);
        if acks.len() < before {
            self.connections.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Slaves whose acknowledged offset is within `haMaxGapNotInSync` of the master's end.
    pub(crate) fn in_sync_slave_count(&self) -> usize {
        let master = (self.master_max_offset)();
        self.acks
            .lock()
            .iter()
            .filter(|(_, ack)| {
                let a = ack.load(Ordering::Acquire);
                a >= 0 && master - a < self.max_gap_not_in_sync
            })
            .count()
    }

    /// RocketMQ 4.9 `isSlaveOK`: a slave is connected and the best acknowledgement is less
    /// than `haMaxGapNotInSync` behind `master_put_where`.
    pub(crate) fn is_slave_ok(&self, master_put_where: i64) -> bool {
        self.connection_count() > 0
            && master_put_where - self.push_to_slave_max_offset() < self.max_gap_not_in_sync
    }

    fn subscribe(&self) -> watch::Receiver<i64> {
        self.push_to_slave_max.subscribe()
    }
}

/// What a SYNC_MASTER put holds to wait for a slave: a cheap clone of the replication
/// progress, nothing else of the HA service.
#[derive(Clone, Debug)]
pub struct GroupTransferHandle {
    pub(crate) state: Arc<TransferState>,
}

impl GroupTransferHandle {
    /// PUT_OK once a slave acknowledged `next_offset`; SLAVE_NOT_AVAILABLE at once when no
    /// slave is connected within `haMaxGapNotInSync`; FLUSH_SLAVE_TIMEOUT after `timeout`.
    pub async fn wait_for_slave_ack(
        &self,
        next_offset: i64,
        timeout: Duration,
    ) -> PutMessageStatus {
        if !self.state.is_slave_ok(next_offset) {
            return PutMessageStatus::SlaveNotAvailable;
        }
        let mut rx = self.state.subscribe();
        self.state.wakeup_all();
        let acked = tokio::time::timeout(timeout, rx.wait_for(|max| *max >= next_offset)).await;
        match acked {
            Ok(Ok(_)) => PutMessageStatus::PutOk,
            _ => PutMessageStatus::FlushSlaveTimeout,
        }
    }
}

impl SlaveAckWaiter for GroupTransferHandle {
    fn wait_for_slave_ack(&self, next_offset: i64, timeout: Duration) -> SlaveAckFuture {
        let this = self.clone();
        Box::pin(async move {
            GroupTransferHandle::wait_for_slave_ack(&this, next_offset, timeout).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(master_end: i64) -> GroupTransferHandle {
        GroupTransferHandle {
            state: Arc::new(TransferState::new(1000, Box::new(move || master_end))),
        }
    }

    #[tokio::test]
    async fn no_slave_is_not_available_at_once() {
        let h = handle(100);
        let started = std::time::Instant::now();
        let s = h.wait_for_slave_ack(100, Duration::from_secs(5)).await;
        assert_eq!(s, PutMessageStatus::SlaveNotAvailable);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_slave_too_far_behind_is_not_available() {
        let h = handle(5000);
        h.state.add_connection(1, Arc::new(AtomicI64::new(0)));
        let s = h.wait_for_slave_ack(5000, Duration::from_secs(5)).await;
        assert_eq!(s, PutMessageStatus::SlaveNotAvailable);
        assert_eq!(h.state.in_sync_slave_count(), 0);
    }

    #[tokio::test]
    async fn an_ack_releases_the_put_and_silence_times_out() {
        let h = handle(200);
        let ack = Arc::new(AtomicI64::new(100));
        h.state.add_connection(1, ack.clone());
        h.state.notify_transfer_some(100);
        assert_eq!(h.state.in_sync_slave_count(), 1);
        let waiting = tokio::spawn({
            let h = h.clone();
            async move { h.wait_for_slave_ack(200, Duration::from_secs(10)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        h.state.notify_transfer_some(150);
        h.state.notify_transfer_some(200);
        assert_eq!(waiting.await.unwrap(), PutMessageStatus::PutOk);
        let s = h.wait_for_slave_ack(300, Duration::from_millis(50)).await;
        assert_eq!(s, PutMessageStatus::FlushSlaveTimeout);
        h.state.notify_transfer_some(120);
        assert_eq!(h.state.push_to_slave_max_offset(), 200, "never lowered");
        h.state.remove_connection(1);
        assert_eq!(h.state.connection_count(), 0);
    }
}
