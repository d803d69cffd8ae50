//! SYNC_MASTER waits (RocketMQ `GroupTransferService`): a put waits until the best slave's
//! acknowledged offset (`push2SlaveMaxOffset`) reaches the end of its record.
//!
//! RocketMQ queues each request to a service thread that polls the offset. Here each waiting
//! put registers the offset it needs, ordered; an acknowledgement takes every registration it
//! covers in one step and wakes exactly those puts, once each (group-commit style), so the
//! puts still short of the offset are not woken to look again. The registrations are bounded
//! by the sends in flight: a put that times out removes its own.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferrocket_store::{DefaultMessageStore, PutMessageStatus, SlaveAckFuture, SlaveAckWaiter};
use tokio::sync::oneshot;

use crate::ha_connection::HAConnection;

/// Puts waiting for an acknowledgement, by the offset each needs (and a unique id).
#[derive(Default)]
struct AckWaiters {
    next_id: u64,
    waiting: BTreeMap<(i64, u64), oneshot::Sender<()>>,
}

/// One live connection as the waiting puts see it.
struct ConnectionAck {
    id: u64,
    ack: Arc<AtomicI64>,
    slave_id: Arc<AtomicI64>,
}

/// Replication progress shared by the HA connections and the waiting puts.
pub(crate) struct TransferState {
    /// Highest offset any slave acknowledged (`push2SlaveMaxOffset`); raised under the
    /// `waiters` lock, read without it.
    push_to_slave_max: AtomicI64,
    waiters: parking_lot::Mutex<AckWaiters>,
    /// Connected slaves.
    connections: AtomicUsize,
    /// Acknowledged offset of each live connection, for the in-sync count, with the slave's
    /// broker id (auto-switch HA; -1 until its handshake, and always on classic HA).
    acks: parking_lot::Mutex<Vec<ConnectionAck>>,
    /// `haMaxGapNotInSync`.
    max_gap_not_in_sync: i64,
    /// The master's CommitLog end (`masterPutWhere`), read when judging a slave in sync.
    master_max_offset: Box<dyn Fn() -> i64 + Send + Sync>,
    /// Bumped when new CommitLog data should be streamed (RocketMQ `WaitNotifyObject`).
    data_generation: parking_lot::Mutex<u64>,
    data_cond: parking_lot::Condvar,
    /// Woken by every acknowledgement of every connection (puts that need several slaves).
    acked: tokio::sync::Notify,
    /// The live connections, for the CommitLog writer's direct sends, and the store they read.
    streams: parking_lot::Mutex<Vec<Arc<HAConnection>>>,
    store: Weak<DefaultMessageStore>,
}

impl std::fmt::Debug for TransferState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferState")
            .field("push_to_slave_max", &self.push_to_slave_max_offset())
            .field("connections", &self.connection_count())
            .finish()
    }
}

impl TransferState {
    pub(crate) fn new(
        max_gap_not_in_sync: i64,
        store: Weak<DefaultMessageStore>,
        master_max_offset: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> Self {
        TransferState {
            push_to_slave_max: AtomicI64::new(0),
            waiters: parking_lot::Mutex::new(AckWaiters::default()),
            connections: AtomicUsize::new(0),
            acks: parking_lot::Mutex::new(Vec::new()),
            max_gap_not_in_sync,
            master_max_offset,
            data_generation: parking_lot::Mutex::new(0),
            data_cond: parking_lot::Condvar::new(),
            acked: tokio::sync::Notify::new(),
            streams: parking_lot::Mutex::new(Vec::new()),
            store,
        }
    }

    /// Adds a connection whose new records the CommitLog writer may send itself.
    pub(crate) fn add_stream(&self, conn: Arc<HAConnection>) {
        self.streams.lock().push(conn);
    }

    /// Sends the records just appended to every slave from the calling thread where that
    /// needs no waiting; wakes the write threads for the rest.
    pub(crate) fn stream_appended(&self) {
        let sent = match self.store.upgrade() {
            Some(store) => {
                let streams = self.streams.lock();
                // every connection is tried: one that cannot send does not hold up the others
                streams
                    .iter()
                    .fold(!streams.is_empty(), |all, c| c.on_appended(&store) & all)
            }
            None => false,
        };
        if !sent {
            self.wakeup_all();
        }
    }

    /// Wakes every HA write thread: there is new data to stream (`wakeupAll`).
    pub(crate) fn wakeup_all(&self) {
        *self.data_generation.lock() += 1;
        self.data_cond.notify_all();
    }

    /// The current wake-up generation, to pass to [`TransferState::wait_for_data_since`].
    pub(crate) fn data_generation(&self) -> u64 {
        *self.data_generation.lock()
    }

    /// Waits up to `timeout` for [`TransferState::wakeup_all`] (`allWaitForRunning`).
    pub(crate) fn wait_for_data(&self, timeout: Duration) {
        let seen = self.data_generation();
        self.wait_for_data_since(seen, timeout);
    }

    /// Waits up to `timeout` unless [`TransferState::wakeup_all`] ran since `seen` was taken.
    pub(crate) fn wait_for_data_since(&self, seen: u64, timeout: Duration) {
        let mut generation = self.data_generation.lock();
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
        self.acked.notify_waiters();
        let ready = {
            let mut w = self.waiters.lock();
            if offset <= self.push_to_slave_max.load(Ordering::Acquire) {
                return;
            }
            self.push_to_slave_max.store(offset, Ordering::Release);
            let rest = w.waiting.split_off(&(offset.saturating_add(1), 0));
            std::mem::replace(&mut w.waiting, rest)
        };
        for (_, put) in ready {
            let _ = put.send(());
        }
    }

    pub(crate) fn push_to_slave_max_offset(&self) -> i64 {
        self.push_to_slave_max.load(Ordering::Acquire)
    }

    /// Registers a put that needs `offset`; `None` when it is already acknowledged.
    fn register(&self, offset: i64) -> Option<((i64, u64), oneshot::Receiver<()>)> {
        let mut w = self.waiters.lock();
        if self.push_to_slave_max.load(Ordering::Acquire) >= offset {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        let key = (offset, w.next_id);
        w.next_id += 1;
        w.waiting.insert(key, tx);
        Some((key, rx))
    }

    /// Forgets a put that stopped waiting.
    fn unregister(&self, key: (i64, u64)) {
        self.waiters.lock().waiting.remove(&key);
    }

    #[cfg(test)]
    fn waiting_puts(&self) -> usize {
        self.waiters.lock().waiting.len()
    }

    /// Registers a connection's acknowledged-offset cell; returns its key.
    pub(crate) fn add_connection(&self, id: u64, ack: Arc<AtomicI64>, slave_id: Arc<AtomicI64>) {
        self.acks.lock().push(ConnectionAck { id, ack, slave_id });
        self.connections.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn remove_connection(&self, id: u64) {
        self.streams.lock().retain(|c| c.id != id);
        let mut acks = self.acks.lock();
        let before = acks.len();
        acks.retain(|c| c.id != id);
        if acks.len() < before {
            self.connections.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(crate) fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Connections whose slave acknowledged at least `offset`.
    fn slaves_at(&self, offset: i64) -> usize {
        self.acks
            .lock()
            .iter()
            .filter(|c| c.ack.load(Ordering::Acquire) >= offset)
            .count()
    }

    /// Whether every slave of `members` has a connection, and whether each acknowledged
    /// `offset` (a slave connected twice counts with its best connection).
    fn members_at(&self, members: &[u64], offset: i64) -> (bool, bool) {
        let acks = self.acks.lock();
        let mut all_connected = true;
        let mut all_acked = true;
        for m in members {
            let best = acks
                .iter()
                .filter(|c| c.slave_id.load(Ordering::Acquire) == *m as i64)
                .map(|c| c.ack.load(Ordering::Acquire))
                .max();
            match best {
                None => {
                    all_connected = false;
                    all_acked = false;
                }
                Some(a) if a < offset => all_acked = false,
                Some(_) => {}
            }
        }
        (all_connected, all_acked)
    }

    /// The acknowledged offset of each connected slave that told its broker id.
    pub(crate) fn member_acks(&self) -> Vec<(u64, i64)> {
        self.acks
            .lock()
            .iter()
            .filter_map(|c| {
                let id = c.slave_id.load(Ordering::Acquire);
                (id >= 0).then(|| (id as u64, c.ack.load(Ordering::Acquire)))
            })
            .collect()
    }

    /// Slaves whose acknowledged offset is within `haMaxGapNotInSync` of the master's end.
    pub(crate) fn in_sync_slave_count(&self) -> usize {
        let master = (self.master_max_offset)();
        self.acks
            .lock()
            .iter()
            .filter(|c| {
                let a = c.ack.load(Ordering::Acquire);
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
        let Some((key, rx)) = self.state.register(next_offset) else {
            return PutMessageStatus::PutOk;
        };
        // the CommitLog writer streamed the records, or woke the write threads, right after
        // the append (`records_appended`)
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(())) => PutMessageStatus::PutOk,
            _ => {
                self.state.unregister(key);
                if self.state.push_to_slave_max_offset() >= next_offset {
                    PutMessageStatus::PutOk
                } else {
                    PutMessageStatus::FlushSlaveTimeout
                }
            }
        }
    }
}

impl GroupTransferHandle {
    /// PUT_OK once `slaves` distinct connections acknowledged `next_offset`;
    /// SLAVE_NOT_AVAILABLE at once when fewer are connected; FLUSH_SLAVE_TIMEOUT after
    /// `timeout`. A connection is one slave: the HA protocol has no slave ids.
    pub async fn wait_for_slave_acks(
        &self,
        next_offset: i64,
        slaves: usize,
        timeout: Duration,
    ) -> PutMessageStatus {
        if slaves <= 1 {
            return self.wait_for_slave_ack(next_offset, timeout).await;
        }
        if self.state.connection_count() < slaves {
            return PutMessageStatus::SlaveNotAvailable;
        }
        self.state.wakeup_all();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // armed before the count is read, so an acknowledgement in between is not missed
            let acked = self.state.acked.notified();
            tokio::pin!(acked);
            acked.as_mut().enable();
            if self.state.slaves_at(next_offset) >= slaves {
                return PutMessageStatus::PutOk;
            }
            if tokio::time::timeout_at(deadline, acked).await.is_err() {
                return PutMessageStatus::FlushSlaveTimeout;
            }
        }
    }
}

impl GroupTransferHandle {
    /// Auto-switch HA: PUT_OK once each slave of `members` (broker ids) acknowledged
    /// `next_offset`; SLAVE_NOT_AVAILABLE at once when one of them is not connected;
    /// FLUSH_SLAVE_TIMEOUT after `timeout`. Other connected slaves do not count.
    pub async fn wait_for_member_acks(
        &self,
        next_offset: i64,
        members: &[u64],
        timeout: Duration,
    ) -> PutMessageStatus {
        if members.is_empty() {
            return PutMessageStatus::PutOk;
        }
        if !self.state.members_at(members, next_offset).0 {
            return PutMessageStatus::SlaveNotAvailable;
        }
        self.state.wakeup_all();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // armed before the offsets are read, so an acknowledgement in between is not missed
            let acked = self.state.acked.notified();
            tokio::pin!(acked);
            acked.as_mut().enable();
            if self.state.members_at(members, next_offset).1 {
                return PutMessageStatus::PutOk;
            }
            if tokio::time::timeout_at(deadline, acked).await.is_err() {
                return PutMessageStatus::FlushSlaveTimeout;
            }
        }
    }

    /// Each connected slave's broker id and acknowledged offset (auto-switch HA).
    pub fn member_acks(&self) -> Vec<(u64, i64)> {
        self.state.member_acks()
    }
}

impl SlaveAckWaiter for GroupTransferHandle {
    fn wait_for_slave_ack(&self, next_offset: i64, timeout: Duration) -> SlaveAckFuture {
        let this = self.clone();
        Box::pin(async move {
            GroupTransferHandle::wait_for_slave_ack(&this, next_offset, timeout).await
        })
    }

    fn wait_for_slave_acks(
        &self,
        next_offset: i64,
        slaves: usize,
        timeout: Duration,
    ) -> SlaveAckFuture {
        let this = self.clone();
        Box::pin(async move {
            GroupTransferHandle::wait_for_slave_acks(&this, next_offset, slaves, timeout).await
        })
    }

    fn records_appended(&self) {
        self.state.stream_appended();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(master_end: i64) -> GroupTransferHandle {
        GroupTransferHandle {
            state: Arc::new(TransferState::new(
                1000,
                Weak::new(),
                Box::new(move || master_end),
            )),
        }
    }

    #[tokio::test]
    async fn a_put_needing_two_slaves_waits_for_the_second() {
        let h = handle(100);
        let (a, b) = (Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(0)));
        h.state
            .add_connection(1, a.clone(), Arc::new(AtomicI64::new(-1)));
        assert_eq!(
            h.wait_for_slave_acks(100, 2, Duration::from_millis(50))
                .await,
            PutMessageStatus::SlaveNotAvailable
        );
        h.state
            .add_connection(2, b.clone(), Arc::new(AtomicI64::new(-1)));
        a.store(100, Ordering::Release);
        h.state.notify_transfer_some(100);
        assert_eq!(
            h.wait_for_slave_acks(100, 2, Duration::from_millis(50))
                .await,
            PutMessageStatus::FlushSlaveTimeout
        );
        let waiting = {
            let h = h.clone();
            tokio::spawn(async move { h.wait_for_slave_acks(100, 2, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        b.store(100, Ordering::Release);
        h.state.notify_transfer_some(100);
        assert_eq!(waiting.await.unwrap(), PutMessageStatus::PutOk);
    }

    #[tokio::test]
    async fn a_put_waits_for_the_members_by_id_not_for_any_slave() {
        let h = handle(100);
        let ack = |v| Arc::new(AtomicI64::new(v));
        // slave 3 (not a member) is at the end; member 2 is connected but behind
        let (a2, a3) = (ack(50), ack(100));
        h.state.add_connection(1, a2.clone(), ack(2));
        h.state.add_connection(2, a3.clone(), ack(3));
        let short = Duration::from_millis(50);
        assert_eq!(
            h.wait_for_member_acks(100, &[2], short).await,
            PutMessageStatus::FlushSlaveTimeout
        );
        // member 4 has no connection at all
        assert_eq!(
            h.wait_for_member_acks(100, &[2, 4], short).await,
            PutMessageStatus::SlaveNotAvailable
        );
        let waiting = {
            let h = h.clone();
            tokio::spawn(async move {
                h.wait_for_member_acks(100, &[2, 3], Duration::from_secs(5))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        a2.store(100, Ordering::Release);
        h.state.notify_transfer_some(100);
        assert_eq!(waiting.await.unwrap(), PutMessageStatus::PutOk);
        assert_eq!(h.member_acks(), vec![(2, 100), (3, 100)]);
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
        h.state
            .add_connection(1, Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(-1)));
        let s = h.wait_for_slave_ack(5000, Duration::from_secs(5)).await;
        assert_eq!(s, PutMessageStatus::SlaveNotAvailable);
        assert_eq!(h.state.in_sync_slave_count(), 0);
    }

    #[tokio::test]
    async fn an_ack_releases_the_put_and_silence_times_out() {
        let h = handle(200);
        let ack = Arc::new(AtomicI64::new(100));
        h.state
            .add_connection(1, ack.clone(), Arc::new(AtomicI64::new(-1)));
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
        assert_eq!(h.state.waiting_puts(), 0, "a timed-out put unregisters");
        h.state.notify_transfer_some(120);
        assert_eq!(h.state.push_to_slave_max_offset(), 200, "never lowered");
        h.state.remove_connection(1);
        assert_eq!(h.state.connection_count(), 0);
    }

    #[tokio::test]
    async fn one_ack_releases_every_put_it_covers_and_only_those() {
        let h = handle(1000);
        h.state
            .add_connection(1, Arc::new(AtomicI64::new(0)), Arc::new(AtomicI64::new(-1)));
        let puts: Vec<_> = [100, 200, 300]
            .into_iter()
            .map(|offset| {
                let h = h.clone();
                tokio::spawn(
                    async move { h.wait_for_slave_ack(offset, Duration::from_secs(10)).await },
                )
            })
            .collect();
        while h.state.waiting_puts() < 3 {
            tokio::task::yield_now().await;
        }
        h.state.notify_transfer_some(200);
        let mut puts = puts.into_iter();
        for _ in 0..2 {
            assert_eq!(puts.next().unwrap().await.unwrap(), PutMessageStatus::PutOk);
        }
        assert_eq!(h.state.waiting_puts(), 1, "the put at 300 still waits");
        h.state.notify_transfer_some(300);
        assert_eq!(puts.next().unwrap().await.unwrap(), PutMessageStatus::PutOk);
        assert_eq!(h.state.waiting_puts(), 0);
    }
}
