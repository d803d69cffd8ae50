//! The master's side of the sync state set: which slaves are caught up, from the
//! acknowledgements of their auto-switch HA connections (each carries the slave's broker id),
//! and the send gate that follows `allAckInSyncStateSet` and `minInSyncReplicas`.
//!
//! A slave counts as caught up when its replicated offset reaches the master's max offset at
//! the time of its previous report (RocketMQ's `lastCaughtUpTimestamp` idea): under steady
//! writes a slave is always a little behind, yet never further than one report period. A slave
//! that has not caught up for `haMaxTimeSlaveNotCatchup` leaves the set; one that reports an
//! offset at or past the master's current end joins it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Weak;
use std::time::{Duration, Instant};

use ferrocket_ha::{AutoSwitchListener, GroupTransferHandle};
use ferrocket_store::{PutMessageStatus, SlaveAckFuture, SlaveAckWaiter};
use parking_lot::Mutex;

use super::{ReplicasManager, RoleAssignment};

/// One slave's progress as seen by this master in one master epoch.
#[derive(Debug, Clone, Copy)]
struct SlaveProgress {
    master_epoch: i32,
    /// The master's max offset when the slave last reported.
    master_offset_at_report: i64,
    last_caught_up: Instant,
}

/// What one progress report says about a slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// At the master's current end.
    pub fully: bool,
    /// At or past the master's end as of the previous report.
    pub caught_up: bool,
}

/// Slave progress reports, per slave broker id.
#[derive(Debug, Default)]
pub struct SlaveProgressTable {
    slaves: Mutex<HashMap<u64, SlaveProgress>>,
}

impl SlaveProgressTable {
    /// Records a report: whether the slave has everything the master had (`fully`), and
    /// whether it reached the master's end as of its previous report, or had everything the
    /// master sent it (`sent_all`: the HA connection's view), (`caught_up`).
    pub fn report(
        &self,
        slave: u64,
        slave_offset: i64,
        master_offset: i64,
        master_epoch: i32,
        sent_all: bool,
    ) -> Progress {
        let now = Instant::now();
        let mut slaves = self.slaves.lock();
        let entry = slaves.entry(slave).or_insert(SlaveProgress {
            master_epoch,
            master_offset_at_report: i64::MAX,
            last_caught_up: now,
        });
        if entry.master_epoch != master_epoch {
            entry.master_epoch = master_epoch;
            entry.master_offset_at_report = i64::MAX;
        }
        let fully = slave_offset >= master_offset;
        let caught_up = fully || sent_all || slave_offset >= entry.master_offset_at_report;
        if caught_up {
            entry.last_caught_up = now;
        }
        entry.master_offset_at_report = master_offset;
        Progress { fully, caught_up }
    }

    /// Whether `slave` reported itself caught up within `grace` in `master_epoch`.
    pub fn caught_up_within(&self, slave: u64, master_epoch: i32, grace: Duration) -> bool {
        self.slaves
            .lock()
            .get(&slave)
            .is_some_and(|p| p.master_epoch == master_epoch && p.last_caught_up.elapsed() <= grace)
    }

    /// The sync state set this master should have: itself, the members still caught up
    /// within `max_not_caught_up`, and the slaves fully caught up at their last report.
    /// A member that never reported in this epoch gets the full grace period from now.
    pub fn wanted_set(
        &self,
        master: u64,
        master_epoch: i32,
        current: &BTreeSet<u64>,
        joining: &BTreeSet<u64>,
        max_not_caught_up: Duration,
    ) -> BTreeSet<u64> {
        let now = Instant::now();
        let mut slaves = self.slaves.lock();
        let mut set = BTreeSet::from([master]);
        for &id in current.iter().filter(|id| **id != master) {
            let p = slaves.entry(id).or_insert(SlaveProgress {
                master_epoch,
                master_offset_at_report: i64::MAX,
                last_caught_up: now,
            });
            if p.master_epoch != master_epoch {
                *p = SlaveProgress {
                    master_epoch,
                    master_offset_at_report: i64::MAX,
                    last_caught_up: now,
                };
            }
            if now.duration_since(p.last_caught_up) <= max_not_caught_up {
                set.insert(id);
            }
        }
        set.extend(joining.iter().copied());
        set
    }
}

/// As master: slaves outside the sync state set whose acknowledgement sends already wait for,
/// each with the master epoch and the master's end when it was admitted. A slave is admitted
/// once caught up, and joins the set once it reports the end it was admitted at: everything
/// acknowledged before sends waited for it. Joining only at the master's exact end would never
/// happen under steady writes; joining without the admission would let sends be acknowledged
/// without a member the controllers may elect.
#[derive(Debug, Default)]
pub struct SlaveAdmissions {
    admitted: Mutex<HashMap<u64, (i32, i64)>>,
}

impl SlaveAdmissions {
    /// A progress report from `slave` at `offset` while this master's end is `master_end`;
    /// returns whether the slave may join the sync state set.
    pub fn on_report(
        &self,
        a: &RoleAssignment,
        slave: u64,
        offset: i64,
        master_end: i64,
        caught_up: bool,
    ) -> bool {
        if a.sync_state_set.contains(&slave) {
            return false;
        }
        let mut admitted = self.admitted.lock();
        let admitted_at = match admitted.get(&slave) {
            Some(&(epoch, end)) if epoch == a.master_epoch => end,
            _ if caught_up => {
                admitted.insert(slave, (a.master_epoch, master_end));
                master_end
            }
            _ => return false,
        };
        offset >= admitted_at
    }

    /// Admitted slaves of this mastership not yet in the set (sends wait for them too).
    pub fn outside_set(&self, a: &RoleAssignment) -> usize {
        self.outside_set_ids(a).len()
    }

    /// The ids of [`SlaveAdmissions::outside_set`].
    pub fn outside_set_ids(&self, a: &RoleAssignment) -> Vec<u64> {
        self.admitted
            .lock()
            .iter()
            .filter(|(id, (epoch, _))| *epoch == a.master_epoch && !a.sync_state_set.contains(id))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Drops the admissions of members, of other masterships, and of slaves that stopped
    /// keeping up (they no longer hold sends back).
    pub fn keep_caught_up(
        &self,
        a: &RoleAssignment,
        progress: &SlaveProgressTable,
        grace: Duration,
    ) {
        self.admitted.lock().retain(|id, (epoch, _)| {
            *epoch == a.master_epoch
                && !a.sync_state_set.contains(id)
                && progress.caught_up_within(*id, a.master_epoch, grace)
        });
    }

    /// No longer master: forget every admission.
    pub fn clear(&self) {
        self.admitted.lock().clear();
    }
}

/// The store's slave-acknowledgement gate in controller mode. A send needs at least
/// `minInSyncReplicas` members in the sync state set (else IN_SYNC_REPLICAS_NOT_ENOUGH); a
/// master alone in its set answers at once; otherwise, with `allAckInSyncStateSet`, the send
/// waits until every other member (and every admitted slave) acknowledged it, each by its
/// broker id (RocketMQ's `allAckInSyncStateSet`); a member without a connection answers
/// SLAVE_NOT_AVAILABLE at once. `inSyncReplicas > 1` alone asks for that many copies from
/// any slaves.
pub struct InSyncStateSetWaiter {
    pub manager: Weak<ReplicasManager>,
    pub replication: GroupTransferHandle,
}

impl SlaveAckWaiter for InSyncStateSetWaiter {
    fn wait_for_slave_ack(&self, next_offset: i64, timeout: Duration) -> SlaveAckFuture {
        let Some(manager) = self.manager.upgrade() else {
            return SlaveAckWaiter::wait_for_slave_ack(&self.replication, next_offset, timeout);
        };
        let slaves = manager.acknowledging_slaves();
        if slaves.len() + 1 < manager.config.min_in_sync_replicas {
            return Box::pin(async { PutMessageStatus::InSyncReplicasNotEnough });
        }
        if slaves.is_empty() {
            return Box::pin(async { PutMessageStatus::PutOk });
        }
        let replication = self.replication.clone();
        if manager.config.all_ack_in_sync_state_set {
            return Box::pin(async move {
                replication
                    .wait_for_member_acks(next_offset, &slaves, timeout)
                    .await
            });
        }
        let copies = manager
            .config
            .in_sync_replicas
            .saturating_sub(1)
            .clamp(1, slaves.len());
        SlaveAckWaiter::wait_for_slave_acks(&replication, next_offset, copies, timeout)
    }

    fn records_appended(&self) {
        self.replication.records_appended();
    }
}

/// What the HA service tells the controller-mode side (see [`AutoSwitchListener`]).
pub struct ReplicationListener {
    pub manager: Weak<ReplicasManager>,
    pub replication: GroupTransferHandle,
    /// The last confirm offset computed (kept while a member has no connection).
    last_confirm: AtomicI64,
}

impl ReplicationListener {
    pub fn new(manager: Weak<ReplicasManager>, replication: GroupTransferHandle) -> Self {
        ReplicationListener {
            manager,
            replication,
            last_confirm: AtomicI64::new(0),
        }
    }
}

impl AutoSwitchListener for ReplicationListener {
    fn on_slave_ack(&self, slave_id: u64, offset: i64, caught_up: bool) {
        if let Some(m) = self.manager.upgrade() {
            m.on_slave_ack(slave_id, offset, caught_up);
        }
    }

    /// RocketMQ's `computeConfirmOffset`: everything written, unless `allAckInSyncStateSet`
    /// with other members: then the lowest acknowledgement among them (the previous value
    /// while one of them has no connection).
    fn confirm_offset(&self, master_max: i64) -> i64 {
        let Some(m) = self.manager.upgrade() else {
            return master_max;
        };
        let a = m.assignment();
        if !m.config.all_ack_in_sync_state_set || a.sync_state_set.len() <= 1 {
            return master_max;
        }
        let acks = self.replication.member_acks();
        let mut confirm = master_max;
        for member in a.sync_state_set.iter().filter(|id| **id != a.broker_id) {
            let best = acks
                .iter()
                .filter(|(id, ack)| id == member && *ack > 0)
                .map(|(_, ack)| *ack)
                .max();
            match best {
                Some(ack) => confirm = confirm.min(ack),
                None => return self.last_confirm.load(Ordering::Acquire).min(master_max),
            }
        }
        self.last_confirm.store(confirm, Ordering::Release);
        confirm
    }

    fn on_truncation_needed(&self, offset: i64) {
        if let Some(m) = self.manager.upgrade() {
            m.request_truncation(offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(set: &[u64]) -> RoleAssignment {
        RoleAssignment {
            broker_id: 1,
            master_broker_id: Some(1),
            master_address: None,
            master_epoch: 3,
            sync_state_set_epoch: 1,
            sync_state_set: set.iter().copied().collect(),
        }
    }

    #[test]
    fn a_caught_up_slave_is_admitted_then_joins_with_everything_acknowledged_before() {
        let adm = SlaveAdmissions::default();
        let a = master(&[1]);
        // not caught up: neither admitted nor joining
        assert!(!adm.on_report(&a, 2, 50, 100, false));
        assert_eq!(adm.outside_set(&a), 0);
        // caught up but behind the master's end: admitted (sends wait for it), not joining
        assert!(!adm.on_report(&a, 2, 100, 180, true));
        assert_eq!(adm.outside_set(&a), 1);
        // a later report short of the end it was admitted at still does not join
        assert!(!adm.on_report(&a, 2, 170, 260, false));
        // once it holds everything up to that end, it joins
        assert!(adm.on_report(&a, 2, 180, 300, false));
        // a member is not counted twice, and a new mastership starts afresh
        assert_eq!(adm.outside_set(&master(&[1, 2])), 0);
        let next = RoleAssignment {
            master_epoch: 4,
            ..master(&[1])
        };
        assert_eq!(adm.outside_set(&next), 0);
        let t = SlaveProgressTable::default();
        adm.keep_caught_up(&next, &t, Duration::from_secs(1));
        assert!(!adm.on_report(&next, 2, 180, 300, false));
    }

    #[test]
    fn a_slave_joins_when_caught_up_and_leaves_when_behind_too_long() {
        let t = SlaveProgressTable::default();
        assert!(!t.report(2, 50, 100, 1, false).fully);
        assert!(t.report(2, 100, 100, 1, false).fully);
        let current = BTreeSet::from([1]);
        let joining = BTreeSet::from([2]);
        let grace = Duration::from_millis(30);
        assert_eq!(
            t.wanted_set(1, 1, &current, &joining, grace),
            BTreeSet::from([1, 2])
        );
        // behind the previous report's master offset: no longer caught up
        assert!(!t.report(2, 120, 200, 1, false).fully);
        let both = BTreeSet::from([1, 2]);
        let none = BTreeSet::new();
        assert_eq!(t.wanted_set(1, 1, &both, &none, grace), both);
        std::thread::sleep(Duration::from_millis(50));
        assert!(!t.report(2, 150, 300, 1, false).caught_up);
        assert_eq!(t.wanted_set(1, 1, &both, &none, grace), BTreeSet::from([1]));
        // reaching the master's offset at the previous report counts as caught up
        let p = t.report(2, 300, 400, 1, false);
        assert!(p.caught_up && !p.fully);
        assert_eq!(t.wanted_set(1, 1, &both, &none, grace), both);
    }
}
