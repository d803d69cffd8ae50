//! `RebalanceLockManager`: which client of a group owns which queue, for ordered consumption.

use std::collections::{BTreeSet, HashMap};

use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::util::now_millis;
use parking_lot::Mutex;

/// A lock not renewed for this long may be taken by another client
/// (`rocketmq.broker.rebalance.lockMaxLiveTime`).
pub const REBALANCE_LOCK_MAX_LIVE_TIME: i64 = 60_000;

struct LockEntry {
    client_id: String,
    last_update_timestamp: i64,
}

impl LockEntry {
    fn is_locked_by(&self, client_id: &str, now: i64) -> bool {
        self.client_id == client_id && !self.is_expired(now)
    }

    fn is_expired(&self, now: i64) -> bool {
        now - self.last_update_timestamp > REBALANCE_LOCK_MAX_LIVE_TIME
    }
}

/// group → queue → lock holder.
#[derive(Default)]
pub struct RebalanceLockManager {
    table: Mutex<HashMap<String, HashMap<MessageQueue, LockEntry>>>,
}

impl RebalanceLockManager {
    /// An empty lock table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Locks (or renews) every queue it can for `client_id`; returns the queues it now holds.
    /// A queue held by another client is granted only once that lock has expired: RocketMQ keeps
    /// the locks of a crashed or disconnected client until then (it does not release them when the
    /// channel closes), so a queue is never consumed by two clients at once.
    pub fn try_lock_batch(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
    ) -> BTreeSet<MessageQueue> {
        self.try_lock_batch_at(group, mqs, client_id, now_millis())
    }

    fn try_lock_batch_at(
        &self,
        group: &str,
        mqs: &BTreeSet<MessageQueue>,
        client_id: &str,
        now: i64,
    ) -> BTreeSet<MessageQueue> {
        let mut table = self.table.lock();
        let locks = table.entry(group.to_string()).or_default();
        let mut granted = BTreeSet::new();
        for mq in mqs {
            match locks.get_mut(mq) {
                Some(entry) if entry.is_locked_by(client_id, now) || entry.is_expired(now) => {
                    if entry.client_id != client_id {
                        tracing::info!(group, queue = %mq, old = %entry.client_id, new = client_id, "queue lock taken over");
                    }
                    entry.client_id = client_id.to_string();
                    entry.last_update_timestamp = now;
                    granted.insert(mq.clone());
                }
                Some(_) => {}
                None => {
                    locks.insert(
                        mq.clone(),
                        LockEntry {
                            client_id: client_id.to_string(),
                            last_update_timestamp: now,
                        },
                    );
                    granted.insert(mq.clone());
                }
            }
        }
        granted
    }

    /// Releases the queues `client_id` holds.
    pub fn unlock_batch(&self, group: &str, mqs: &BTreeSet<MessageQueue>, client_id: &str) {
        let mut table = self.table.lock();
        if let Some(locks) = table.get_mut(group) {
            for mq in mqs {
                if locks.get(mq).is_some_and(|e| e.client_id == client_id) {
                    locks.remove(mq);
                }
            }
            if locks.is_empty() {
                table.remove(group);
            }
        }
    }

    /// True when every lock of the group has expired (or it has none).
    pub fn is_lock_all_expired(&self, group: &str) -> bool {
        self.is_lock_all_expired_at(group, now_millis())
    }

    fn is_lock_all_expired_at(&self, group: &str, now: i64) -> bool {
        self.table
            .lock()
            .get(group)
            .is_none_or(|locks| locks.values().all(|e| e.is_expired(now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_per_queue() {
        let m = RebalanceLockManager::new();
        let mqs: BTreeSet<_> = (0..2).map(|i| MessageQueue::new("T", "b", i)).collect();
        assert_eq!(m.try_lock_batch("g", &mqs, "c1").len(), 2);
        assert!(m.try_lock_batch("g", &mqs, "c2").is_empty());
        assert_eq!(m.try_lock_batch("g", &mqs, "c1").len(), 2, "renewal");
        assert!(!m.is_lock_all_expired("g"));
        m.unlock_batch("g", &mqs, "c2");
        assert!(
            m.try_lock_batch("g", &mqs, "c2").is_empty(),
            "only the holder unlocks"
        );
        m.unlock_batch("g", &mqs, "c1");
        assert_eq!(m.try_lock_batch("g", &mqs, "c2").len(), 2);
        assert!(m.is_lock_all_expired("other"));
    }

    #[test]
    fn lock_of_a_silent_client_expires_after_max_live_time() {
        let m = RebalanceLockManager::new();
        let mqs: BTreeSet<_> = (0..2).map(|i| MessageQueue::new("T", "b", i)).collect();
        let t0 = 1_000_000;
        assert_eq!(m.try_lock_batch_at("g", &mqs, "crashed", t0).len(), 2);
        let just_before = t0 + REBALANCE_LOCK_MAX_LIVE_TIME;
        assert!(m
            .try_lock_batch_at("g", &mqs, "survivor", just_before)
            .is_empty());
        assert!(!m.is_lock_all_expired_at("g", just_before));
        let after = just_before + 1;
        assert!(m.is_lock_all_expired_at("g", after));
        assert_eq!(m.try_lock_batch_at("g", &mqs, "survivor", after).len(), 2);
        assert!(
            m.try_lock_batch_at("g", &mqs, "crashed", after + 1)
                .is_empty(),
            "the old holder lost the queues"
        );
    }

    #[test]
    fn renewal_restarts_the_expiry_clock() {
        let m = RebalanceLockManager::new();
        let mqs: BTreeSet<_> = [MessageQueue::new("T", "b", 0)].into_iter().collect();
        assert_eq!(m.try_lock_batch_at("g", &mqs, "c1", 0).len(), 1);
        assert_eq!(m.try_lock_batch_at("g", &mqs, "c1", 50_000).len(), 1);
        assert!(m.try_lock_batch_at("g", &mqs, "c2", 100_000).is_empty());
        assert_eq!(m.try_lock_batch_at("g", &mqs, "c2", 110_001).len(), 1);
    }
}
