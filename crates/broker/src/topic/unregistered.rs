//! Topic changes the name servers have not been told about yet.
//!
//! RocketMQ 5.x registers a topic created by a send (or by UPDATE_AND_CREATE_TOPIC) on its own
//! (`registerIncrementBrokerData`: that one topic and the table's data version) and sends the
//! whole table only every `registerNameServerPeriod`. Re-registering the whole table after each
//! creation costs O(topics) per new topic, so creating N topics costs O(N²): with 5,000 topics
//! that is a megabyte of JSON encoded, sent and decoded for every new topic.
//!
//! The topic table records here, under its own lock, the names changed since the last
//! registration round and whether a change needs the whole table (a deletion, a new broker
//! permission, a slave adopting its master's table). The broker's registration task takes
//! everything at once ([`RegistrationBatch`]) with the data version of the same instant, so a
//! batch's version is never older than a topic in it and two successive incremental batches
//! carry strictly increasing versions (name servers that only look at the version, as 4.9's
//! do, take every batch). Changes made while a round is in flight wait for the next round:
//! concurrent creations are coalesced into one registration.

use std::collections::BTreeSet;

use ferrocket_protocol::body::topic::{DataVersion, TopicConfig};

/// The changes since the last registration round (kept inside the topic table's lock).
#[derive(Debug, Default)]
pub(super) struct Unregistered {
    names: BTreeSet<String>,
    full: bool,
    /// Counts changes; a round covers every change up to the generation it took.
    generation: u64,
}

impl Unregistered {
    /// Records a change of one topic; returns its generation.
    pub(super) fn topic(&mut self, name: &str) -> u64 {
        self.names.insert(name.to_string());
        self.bump()
    }

    /// Records a change only the whole table conveys; returns its generation.
    pub(super) fn whole_table(&mut self) -> u64 {
        self.full = true;
        self.bump()
    }

    fn bump(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// The generation a round must reach for `name` to be registered, if it is not yet.
    pub(super) fn pending_generation(&self, name: &str) -> Option<u64> {
        self.names.contains(name).then_some(self.generation)
    }

    /// Takes every recorded change; `lookup` gives a topic's current configuration (a topic
    /// deleted since is left out).
    pub(super) fn take(
        &mut self,
        data_version: DataVersion,
        lookup: impl Fn(&str) -> Option<TopicConfig>,
    ) -> RegistrationBatch {
        let names = std::mem::take(&mut self.names);
        RegistrationBatch {
            generation: self.generation,
            whole_table: std::mem::take(&mut self.full),
            topics: names.iter().filter_map(|n| lookup(n)).collect(),
            data_version,
        }
    }
}

/// What one registration round must tell the name servers.
#[derive(Debug, Clone)]
pub struct RegistrationBatch {
    /// The round covers every change up to this generation.
    pub generation: u64,
    /// A change needs the whole table (the round is a full registration).
    pub whole_table: bool,
    /// The topics created or changed since the last round.
    pub topics: Vec<TopicConfig>,
    /// The table's data version when the batch was taken.
    pub data_version: DataVersion,
}

impl RegistrationBatch {
    /// True when there is nothing to register.
    pub fn is_empty(&self) -> bool {
        !self.whole_table && self.topics.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(counter: i64) -> DataVersion {
        DataVersion {
            counter,
            ..Default::default()
        }
    }

    #[test]
    fn a_batch_takes_every_change_once_and_skips_deleted_topics() {
        let mut u = Unregistered::default();
        assert_eq!(u.topic("A"), 1);
        assert_eq!(u.topic("B"), 2);
        assert_eq!(u.topic("A"), 3);
        assert_eq!(u.pending_generation("A"), Some(3));
        assert_eq!(u.pending_generation("C"), None);
        let batch = u.take(version(7), |n| {
            (n == "A").then(|| TopicConfig::new(n.to_string(), 4))
        });
        assert_eq!(batch.generation, 3);
        assert!(!batch.whole_table);
        assert_eq!(batch.topics.len(), 1, "B was deleted in the meantime");
        assert_eq!(batch.data_version.counter, 7);
        assert_eq!(u.pending_generation("A"), None);
        let empty = u.take(version(7), |_| None);
        assert!(empty.is_empty());
        assert_eq!(empty.generation, 3);
    }

    #[test]
    fn a_whole_table_change_is_reported_once() {
        let mut u = Unregistered::default();
        u.whole_table();
        u.topic("A");
        let batch = u.take(version(1), |n| Some(TopicConfig::new(n.to_string(), 1)));
        assert!(batch.whole_table);
        assert!(!u.take(version(1), |_| None).whole_table);
    }
}
