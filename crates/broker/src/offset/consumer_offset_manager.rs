//! `ConsumerOffsetManager`: each group's next offset per queue, persisted in
//! `config/consumerOffset.json` as `{"offsetTable":{"topic@group":{queueId:offset}}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use ferrocket_protocol::body::topic::DataVersion;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::config_manager;
use crate::error::BrokerError;

/// Separates topic and group in the table keys.
pub const TOPIC_GROUP_SEPARATOR: char = '@';

type OffsetTable = BTreeMap<String, BTreeMap<i32, i64>>;

/// The `consumerOffset.json` document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct ConsumerOffsetWrapper {
    offset_table: OffsetTable,
    data_version: DataVersion,
}

/// Committed consumer offsets, plus the in-memory offsets of the latest pulls.
pub struct ConsumerOffsetManager {
    path: PathBuf,
    offset_table: RwLock<OffsetTable>,
    pull_offset_table: RwLock<OffsetTable>,
    data_version: Mutex<DataVersion>,
    dirty: AtomicBool,
    persist_lock: Mutex<()>,
}

fn key(topic: &str, group: &str) -> String {
    format!("{topic}{TOPIC_GROUP_SEPARATOR}{group}")
}

fn split_key(key: &str) -> Option<(&str, &str)> {
    // topics cannot contain '@', groups cannot either; split on the first one
    key.split_once(TOPIC_GROUP_SEPARATOR)
}

impl ConsumerOffsetManager {
    /// Loads the offsets saved by earlier runs.
    pub fn new(path: PathBuf) -> Result<Self, BrokerError> {
        let saved = config_manager::load::<ConsumerOffsetWrapper>(&path)?.unwrap_or_default();
        Ok(ConsumerOffsetManager {
            path,
            offset_table: RwLock::new(saved.offset_table),
            pull_offset_table: RwLock::new(OffsetTable::new()),
            data_version: Mutex::new(saved.data_version),
            dirty: AtomicBool::new(false),
            persist_lock: Mutex::new(()),
        })
    }

    /// Stores `offset` as the group's next offset for the queue (lower values are accepted too).
    pub fn commit_offset(
        &self,
        client_host: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) {
        let k = key(topic, group);
        let mut table = self.offset_table.write();
        let queues = table.entry(k).or_default();
        if let Some(prev) = queues.insert(queue_id, offset) {
            if offset < prev {
                tracing::debug!(
                    client_host,
                    group,
                    topic,
                    queue_id,
                    prev,
                    offset,
                    "consumer offset moved backwards"
                );
            }
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// The committed offset, or -1 when the group has none for this queue.
    pub fn query_offset(&self, group: &str, topic: &str, queue_id: i32) -> i64 {
        self.offset_table
            .read()
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id).copied())
            .unwrap_or(-1)
    }

    /// Every committed offset of the group on `topic`.
    pub fn query_offsets(&self, group: &str, topic: &str) -> BTreeMap<i32, i64> {
        self.offset_table
            .read()
            .get(&key(topic, group))
            .cloned()
            .unwrap_or_default()
    }

    /// Records where the group's latest pull on the queue will continue.
    pub fn commit_pull_offset(&self, group: &str, topic: &str, queue_id: i32, offset: i64) {
        self.pull_offset_table
            .write()
            .entry(key(topic, group))
            .or_default()
            .insert(queue_id, offset);
    }

    /// The latest pull position, or -1.
    pub fn query_pull_offset(&self, group: &str, topic: &str, queue_id: i32) -> i64 {
        self.pull_offset_table
            .read()
            .get(&key(topic, group))
            .and_then(|q| q.get(&queue_id).copied())
            .unwrap_or(-1)
    }

    /// Topics the group has offsets for.
    pub fn which_topic_by_consumer(&self, group: &str) -> BTreeSet<String> {
        self.offset_table
            .read()
            .keys()
            .filter_map(|k| split_key(k))
            .filter(|(_, g)| *g == group)
            .map(|(t, _)| t.to_string())
            .collect()
    }

    /// Every `(topic, group)` with committed offsets, in table order.
    pub fn topic_group_pairs(&self) -> Vec<(String, String)> {
        self.offset_table
            .read()
            .keys()
            .filter_map(|k| split_key(k))
            .map(|(t, g)| (t.to_string(), g.to_string()))
            .collect()
    }

    /// Groups that have offsets on `topic`.
    pub fn which_group_by_topic(&self, topic: &str) -> BTreeSet<String> {
        self.offset_table
            .read()
            .keys()
            .filter_map(|k| split_key(k))
            .filter(|(t, _)| *t == topic)
            .map(|(_, g)| g.to_string())
            .collect()
    }

    /// Drops every offset on `topic` (the topic was deleted).
    pub fn clean_offset_by_topic(&self, topic: &str) {
        let keep = |k: &String, _: &mut BTreeMap<i32, i64>| {
            split_key(k).map(|(t, _)| t != topic).unwrap_or(true)
        };
        self.offset_table.write().retain(keep);
        self.pull_offset_table.write().retain(keep);
        self.dirty.store(true, Ordering::Release);
    }

    /// Drops every offset of `group` (the group was deleted with `cleanOffset`).
    pub fn remove_offset(&self, group: &str) {
        let keep = |k: &String, _: &mut BTreeMap<i32, i64>| {
            split_key(k).map(|(_, g)| g != group).unwrap_or(true)
        };
        self.offset_table.write().retain(keep);
        self.pull_offset_table.write().retain(keep);
        self.dirty.store(true, Ordering::Release);
    }

    /// The committed offsets, as the GET_ALL_CONSUMER_OFFSET body
    /// (`ConsumerOffsetSerializeWrapper`).
    pub fn encode_all(&self) -> bytes::Bytes {
        ferrocket_protocol::body::encode(&ConsumerOffsetWrapper {
            offset_table: self.offset_table.read().clone(),
            data_version: self.data_version.lock().clone(),
        })
    }

    /// Takes the master's offsets (a GET_ALL_CONSUMER_OFFSET body): every `topic@group` the
    /// master has overwrites ours, keys only we have stay (RocketMQ's `putAll`). Returns the
    /// number of keys taken.
    pub fn sync_from_master(&self, body: &[u8]) -> Result<usize, String> {
        let master: ConsumerOffsetWrapper =
            ferrocket_protocol::body::decode(body).map_err(|e| e.to_string())?;
        let taken = master.offset_table.len();
        self.offset_table.write().extend(master.offset_table);
        self.dirty.store(true, Ordering::Release);
        self.persist().map_err(|e| e.to_string())?;
        Ok(taken)
    }

    /// Writes `config/consumerOffset.json` if anything changed since the last write.
    pub fn persist(&self) -> std::io::Result<()> {
        let _guard = self.persist_lock.lock();
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let wrapper = ConsumerOffsetWrapper {
            offset_table: self.offset_table.read().clone(),
            data_version: {
                let mut v = self.data_version.lock();
                v.next_version();
                v.clone()
            },
        };
        let result = config_manager::persist(&self.path, &wrapper);
        if result.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_queries_and_survives_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consumerOffset.json");
        let m = ConsumerOffsetManager::new(path.clone()).unwrap();
        assert_eq!(m.query_offset("g", "T", 0), -1);
        m.commit_offset("1.2.3.4", "g", "T", 0, 10);
        m.commit_offset("1.2.3.4", "g", "T", 3, 7);
        m.commit_offset("1.2.3.4", "h", "U", 0, 1);
        assert_eq!(m.query_offset("g", "T", 3), 7);
        m.persist().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"T@g\""), "{text}");
        let m2 = ConsumerOffsetManager::new(path).unwrap();
        assert_eq!(m2.query_offset("g", "T", 0), 10);
        assert_eq!(
            m2.which_topic_by_consumer("g")
                .into_iter()
                .collect::<Vec<_>>(),
            ["T"]
        );
        assert_eq!(
            m2.which_group_by_topic("U").into_iter().collect::<Vec<_>>(),
            ["h"]
        );
        m2.clean_offset_by_topic("T");
        assert_eq!(m2.query_offset("g", "T", 0), -1);
        m2.remove_offset("h");
        assert_eq!(m2.query_offset("h", "U", 0), -1);
    }

    #[test]
    fn reads_rocketmq_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consumerOffset.json");
        std::fs::write(
            &path,
            "{\n\t\"dataVersion\":{\"counter\":3,\"stateVersion\":0,\"timestamp\":1700000000000},\n\t\"offsetTable\":{\n\t\t\"TopicTest@group_a\":{0:250,1:248,2:250,3:251\n\t\t},\n\t\t\"%RETRY%group_a@group_a\":{0:0\n\t\t}\n\t}\n}",
        )
        .unwrap();
        let m = ConsumerOffsetManager::new(path).unwrap();
        assert_eq!(m.query_offset("group_a", "TopicTest", 3), 251);
        assert_eq!(m.query_offset("group_a", "%RETRY%group_a", 0), 0);
    }
}
