//! `ConsumerOrderInfoManager`: what orderly POP has in flight per queue and group.
//!
//! An orderly pop hands out a queue's next messages and blocks the queue for the group until they
//! are all acknowledged or their invisible time is over: a message group's next message (FIFO
//! messages of one group share a queue) is never delivered while the previous one is in flight.
//! The group's offset is committed only as far as the acknowledged prefix, so an expired batch is
//! read again from there, one delivery attempt further. Nothing goes through the revive topic.
//!
//! The table survives a restart, as RocketMQ's `ConsumerOrderInfoManager` does: it is written to
//! `config/consumerOrderInfo.json` with the crash-safe config write (`.bak` copy) every
//! `flushConsumerOffsetInterval` when it changed, and at shutdown, next to the consumer offsets
//! it completes; it is read back at start. A batch in flight before a restart thus still blocks
//! its queue until it is acknowledged (with the handles given before the restart) or expires.
//! The file keeps RocketMQ's outline, `{"table": {"topic@group": {queueId: batch}}}`, with
//! Ferrocket's own batch fields.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::config_manager;
use crate::error::BrokerError;

/// `{root}/config/consumerOrderInfo.json`.
pub fn consumer_order_info_path(store_root: &Path) -> PathBuf {
    store_root.join("config").join("consumerOrderInfo.json")
}

/// The batch of one queue in flight.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InFlight {
    /// The queue offsets handed out, ascending.
    offsets: Vec<i64>,
    /// The offsets acknowledged so far.
    acked: BTreeSet<i64>,
    /// Where reading continues once the whole batch is acknowledged (past filtered messages).
    next_offset: i64,
    /// Broker clock of the delivery (or of the last invisible-time change), ms.
    pop_time: i64,
    /// Invisible time of the batch, ms.
    invisible_time: i64,
    /// Deliveries of this batch before the current one.
    attempts: i32,
}

impl InFlight {
    fn expired(&self, now: i64) -> bool {
        self.pop_time + self.invisible_time <= now
    }
}

/// Whether an orderly pop may read a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderedQueue {
    /// Nothing in flight: read on, first delivery.
    Free,
    /// A batch is in flight and still invisible: skip the queue.
    Blocked,
    /// The batch in flight expired: read it again; its messages were delivered this many times.
    Expired {
        /// Deliveries so far.
        attempts: i32,
    },
}

/// The file's layout: batches by `topic@group`, then queue id.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct OrderInfoFile {
    table: BTreeMap<String, BTreeMap<i32, InFlight>>,
}

/// `topic@group@queueId` as `(topic@group, queueId)`; the queue id follows the last `@`.
fn split_key(key: &str) -> Option<(&str, i32)> {
    let (topic_group, queue_id) = key.rsplit_once('@')?;
    Some((topic_group, queue_id.parse().ok()?))
}

/// The in-flight batches of orderly pops, by `topic@group@queueId`.
#[derive(Default)]
pub struct ConsumerOrderInfoManager {
    table: Mutex<HashMap<String, InFlight>>,
    /// Where the table is kept; `None` keeps it in memory only.
    path: Option<PathBuf>,
    /// Changes of the table, and how many of them are on disk.
    changes: AtomicU64,
    persisted: Mutex<u64>,
}

impl ConsumerOrderInfoManager {
    /// The table saved at `path`, if any (empty on a first start); it is written back there.
    pub fn open(path: PathBuf) -> Result<Self, BrokerError> {
        let file = config_manager::load::<OrderInfoFile>(&path)?.unwrap_or_default();
        let mut table = HashMap::new();
        for (topic_group, queues) in file.table {
            for (queue_id, in_flight) in queues {
                table.insert(format!("{topic_group}@{queue_id}"), in_flight);
            }
        }
        Ok(ConsumerOrderInfoManager {
            table: Mutex::new(table),
            path: Some(path),
            ..Default::default()
        })
    }

    /// Writes the table when it changed since the last write (blocking: fsync; call it off
    /// the async workers).
    pub fn persist(&self) -> io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut persisted = self.persisted.lock();
        // read before the snapshot: every change counted here is in it
        let changes = self.changes.load(Ordering::Acquire);
        if changes == *persisted {
            return Ok(());
        }
        let mut file = OrderInfoFile::default();
        for (key, in_flight) in self.table.lock().iter() {
            if let Some((topic_group, queue_id)) = split_key(key) {
                let queues = file.table.entry(topic_group.to_string()).or_default();
                queues.insert(queue_id, in_flight.clone());
            }
        }
        config_manager::persist(path, &file)?;
        *persisted = changes;
        Ok(())
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether an orderly pop may read the queue of `key` at `now`.
    pub fn check(&self, key: &str, now: i64) -> OrderedQueue {
        match self.table.lock().get(key) {
            None => OrderedQueue::Free,
            Some(f) if !f.expired(now) => OrderedQueue::Blocked,
            Some(f) => OrderedQueue::Expired {
                attempts: f.attempts + 1,
            },
        }
    }

    /// Records a delivered batch: `offsets` handed out at `pop_time`, `attempts` earlier
    /// deliveries, reading continues at `next_offset` once all are acknowledged.
    pub fn update(
        &self,
        key: &str,
        offsets: Vec<i64>,
        next_offset: i64,
        pop_time: i64,
        invisible_time: i64,
        attempts: i32,
    ) {
        let in_flight = InFlight {
            offsets,
            acked: BTreeSet::new(),
            next_offset,
            pop_time,
            invisible_time,
            attempts,
        };
        self.table.lock().insert(key.to_string(), in_flight);
        self.changed();
    }

    /// Acknowledges `offset` of the queue of `key`; returns the offset the group may commit
    /// (past the acknowledged prefix), `None` when nothing of the queue is in flight or the
    /// offset is not part of the batch.
    pub fn ack(&self, key: &str, offset: i64) -> Option<i64> {
        let mut table = self.table.lock();
        let f = table.get_mut(key)?;
        if !f.offsets.contains(&offset) {
            return None;
        }
        f.acked.insert(offset);
        let commit = match f.offsets.iter().find(|o| !f.acked.contains(o)) {
            Some(first_unacked) => *first_unacked,
            None => {
                let next = f.next_offset;
                table.remove(key);
                next
            }
        };
        self.changed();
        Some(commit)
    }

    /// A new invisible time from `now` for the batch holding `offset`; false when it is not in
    /// flight.
    pub fn change_invisible_time(&self, key: &str, offset: i64, now: i64, invisible: i64) -> bool {
        let mut table = self.table.lock();
        match table.get_mut(key) {
            Some(f) if f.offsets.contains(&offset) => {
                f.pop_time = now;
                f.invisible_time = invisible;
                self.changed();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_blocked_until_its_batch_is_acknowledged_or_expires() {
        let m = ConsumerOrderInfoManager::default();
        assert_eq!(m.check("q", 0), OrderedQueue::Free);
        m.update("q", vec![3, 4], 6, 1_000, 10_000, 0);
        assert_eq!(m.check("q", 5_000), OrderedQueue::Blocked);
        assert_eq!(m.check("q", 11_000), OrderedQueue::Expired { attempts: 1 });
        assert_eq!(m.ack("q", 9), None);
        assert_eq!(m.ack("q", 4), Some(3), "3 is still unacknowledged");
        assert_eq!(m.ack("q", 3), Some(6), "all acknowledged: past the batch");
        assert_eq!(m.check("q", 5_000), OrderedQueue::Free);
    }

    #[test]
    fn the_batches_in_flight_survive_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = consumer_order_info_path(dir.path());
        let m = ConsumerOrderInfoManager::open(path.clone()).unwrap();
        m.update("T@g@3", vec![5, 6], 7, 1_000, 10_000, 1);
        m.update("%RETRY%g_T@g@0", vec![0], 1, 1_000, 10_000, 0);
        assert_eq!(m.ack("T@g@3", 5), Some(6));
        m.persist().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("\"table\"") && text.contains("\"T@g\""),
            "{text}"
        );

        let again = ConsumerOrderInfoManager::open(path.clone()).unwrap();
        assert_eq!(again.check("T@g@3", 5_000), OrderedQueue::Blocked);
        assert_eq!(
            again.check("T@g@3", 11_000),
            OrderedQueue::Expired { attempts: 2 }
        );
        assert_eq!(again.check("%RETRY%g_T@g@0", 5_000), OrderedQueue::Blocked);
        assert_eq!(
            again.ack("T@g@3", 5),
            Some(6),
            "the acknowledged offset stays so"
        );
        assert_eq!(again.ack("T@g@3", 6), Some(7));
        again.persist().unwrap();
        let third = ConsumerOrderInfoManager::open(path).unwrap();
        assert_eq!(third.check("T@g@3", 5_000), OrderedQueue::Free);
    }

    #[test]
    fn a_changed_invisible_time_moves_the_expiry() {
        let m = ConsumerOrderInfoManager::default();
        m.update("q", vec![0], 1, 1_000, 10_000, 2);
        assert!(m.change_invisible_time("q", 0, 2_000, 1_000));
        assert_eq!(m.check("q", 3_000), OrderedQueue::Expired { attempts: 3 });
        assert!(!m.change_invisible_time("q", 7, 2_000, 1_000));
    }
}
