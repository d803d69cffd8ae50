//! Per-topic message and byte counters for the metrics endpoint.
//!
//! The table is looked up once per request: a read lock and a hash lookup by `&str`, with an
//! allocation only the first time a topic is seen. The counters themselves are atomics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferrocket_store::PutMessageResult;
use parking_lot::RwLock;

/// Counters of one topic since the broker started.
#[derive(Default, Debug)]
pub struct TopicCounters {
    /// Messages stored.
    pub messages_in: AtomicU64,
    /// Bytes of stored records.
    pub bytes_in: AtomicU64,
    /// Messages delivered by pulls.
    pub messages_out: AtomicU64,
    /// Bytes of delivered records.
    pub bytes_out: AtomicU64,
}

/// A copy of one topic's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicCountersSnapshot {
    /// Messages stored.
    pub messages_in: u64,
    /// Bytes stored.
    pub bytes_in: u64,
    /// Messages delivered.
    pub messages_out: u64,
    /// Bytes delivered.
    pub bytes_out: u64,
}

impl TopicCounters {
    /// Adds stored messages.
    pub fn add_in(&self, messages: u64, bytes: u64) {
        self.messages_in.fetch_add(messages, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Adds what a successful put stored (nothing for a failed one).
    pub fn add_put_result(&self, result: &PutMessageResult) {
        if let (true, Some(a)) = (result.is_ok(), result.append.as_ref()) {
            self.add_in(a.msg_num.max(1) as u64, a.wrote_bytes.max(0) as u64);
        }
    }

    /// Adds delivered messages.
    pub fn add_out(&self, messages: u64, bytes: u64) {
        self.messages_out.fetch_add(messages, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Current values.
    pub fn snapshot(&self) -> TopicCountersSnapshot {
        TopicCountersSnapshot {
            messages_in: self.messages_in.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            messages_out: self.messages_out.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
        }
    }
}

/// Topic name to counters.
#[derive(Default)]
pub struct TopicStatsTable {
    table: RwLock<HashMap<String, Arc<TopicCounters>>>,
}

impl TopicStatsTable {
    /// The counters of `topic`, created on first use.
    pub fn get(&self, topic: &str) -> Arc<TopicCounters> {
        if let Some(c) = self.table.read().get(topic) {
            return c.clone();
        }
        self.table
            .write()
            .entry(topic.to_string())
            .or_default()
            .clone()
    }

    /// Every topic's counters, sorted by topic.
    pub fn snapshot(&self) -> Vec<(String, TopicCountersSnapshot)> {
        let mut all: Vec<_> = self
            .table
            .read()
            .iter()
            .map(|(t, c)| (t.clone(), c.snapshot()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_topic() {
        let t = TopicStatsTable::default();
        t.get("a").add_in(2, 100);
        t.get("a").add_out(1, 50);
        t.get("b").add_in(1, 10);
        let s = t.snapshot();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].0, "a");
        assert_eq!(
            s[0].1,
            TopicCountersSnapshot {
                messages_in: 2,
                bytes_in: 100,
                messages_out: 1,
                bytes_out: 50
            }
        );
        assert_eq!(s[1].1.messages_in, 1);
    }
}
