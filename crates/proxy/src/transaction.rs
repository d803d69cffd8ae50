//! `TransactionDataManager`: where the half message of each open transaction lies, by producer
//! group and transaction id, as Apache's proxy remembers it.
//!
//! A v5 client ends a transaction with its topic, message id and transaction id only; the
//! broker needs the half message's commit-log and half-queue offsets. They are recorded when a
//! TRANSACTION message is stored and again when the broker checks a transaction back through
//! the producer's Telemetry stream (the check renews the half message at new offsets), and kept
//! for [`TRANSACTION_DATA_EXPIRE`]: a later end of transaction is answered
//! INVALID_TRANSACTION_ID and the broker's check-back resolves the transaction instead.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// How long the offsets of a transaction are kept (Apache's `transactionDataExpireMillis`).
pub const TRANSACTION_DATA_EXPIRE: Duration = Duration::from_secs(30);
/// Open transactions remembered at most; past it the oldest are forgotten first.
pub const MAX_TRANSACTION_DATA: usize = 15_000;

/// Where one transaction's half message lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionData {
    /// Queue offset of the half message in `RMQ_SYS_TRANS_HALF_TOPIC`.
    pub tran_state_table_offset: i64,
    /// Commit-log offset of the half message.
    pub commit_log_offset: i64,
}

struct Entry {
    data: TransactionData,
    added: Instant,
}

type Key = (String, String);

#[derive(Default)]
struct Table {
    entries: HashMap<Key, Entry>,
    /// Keys in the order they were added (a renewed key appears again), so expired and
    /// surplus records are dropped from the front without scanning the table.
    order: VecDeque<(Key, Instant)>,
}

impl Table {
    /// Drops expired records, then the oldest while the table is full.
    fn trim(&mut self, now: Instant) {
        while let Some((key, added)) = self.order.front() {
            let expired = now.duration_since(*added) >= TRANSACTION_DATA_EXPIRE;
            if !expired && self.entries.len() < MAX_TRANSACTION_DATA {
                break;
            }
            // only the newest copy of a renewed key owns the record
            if self.entries.get(key).is_some_and(|e| e.added == *added) {
                self.entries.remove(key);
            }
            self.order.pop_front();
        }
    }
}

/// The open transactions of the gRPC producers.
#[derive(Default)]
pub struct TransactionDataManager {
    table: Mutex<Table>,
}

impl TransactionDataManager {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records (or renews) where the half message of `transaction_id` in `producer_group` lies.
    pub fn add(&self, producer_group: &str, transaction_id: &str, data: TransactionData) {
        let now = Instant::now();
        let key = (producer_group.to_string(), transaction_id.to_string());
        let mut table = self.table.lock();
        table.trim(now);
        table.order.push_back((key.clone(), now));
        table.entries.insert(key, Entry { data, added: now });
    }

    /// Takes the unexpired record of `transaction_id` in `producer_group`.
    pub fn poll(&self, producer_group: &str, transaction_id: &str) -> Option<TransactionData> {
        let key = (producer_group.to_string(), transaction_id.to_string());
        let entry = self.table.lock().entries.remove(&key)?;
        (entry.added.elapsed() < TRANSACTION_DATA_EXPIRE).then_some(entry.data)
    }

    /// Puts back a record taken by [`poll`](Self::poll) whose end of transaction failed, so
    /// the producer may try again.
    pub fn restore(&self, producer_group: &str, transaction_id: &str, data: TransactionData) {
        self.add(producer_group, transaction_id, data);
    }

    /// Open transactions remembered now.
    pub fn len(&self) -> usize {
        self.table.lock().entries.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_is_ended_once() {
        let m = TransactionDataManager::new();
        let data = TransactionData {
            tran_state_table_offset: 3,
            commit_log_offset: 4096,
        };
        m.add("Orders", "tx-1", data);
        assert_eq!(m.poll("Other", "tx-1"), None);
        assert_eq!(m.poll("Orders", "tx-1"), Some(data));
        assert_eq!(m.poll("Orders", "tx-1"), None);
        assert!(m.is_empty());
    }

    #[test]
    fn a_check_back_renews_the_offsets() {
        let m = TransactionDataManager::new();
        let first = TransactionData {
            tran_state_table_offset: 1,
            commit_log_offset: 100,
        };
        let renewed = TransactionData {
            tran_state_table_offset: 7,
            commit_log_offset: 900,
        };
        m.add("Orders", "tx-2", first);
        m.add("Orders", "tx-2", renewed);
        m.add("Orders", "tx-3", first);
        assert_eq!(m.len(), 2);
        assert_eq!(m.poll("Orders", "tx-2"), Some(renewed));
    }
}
