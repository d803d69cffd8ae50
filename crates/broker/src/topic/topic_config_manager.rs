//! `TopicConfigManager`: the broker's topic table, persisted in `config/topics.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ferrocket_protocol::body::topic::{
    perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper,
};
use parking_lot::{Mutex, RwLock};
use tokio::sync::{watch, Notify};

use super::unregistered::{RegistrationBatch, Unregistered};

use super::topic_validator::*;
use crate::broker_config::BrokerConfig;
use crate::config_manager;
use crate::config_persist::{DirtyMark, PersistentConfig};
use crate::error::BrokerError;
use crate::mix_all::REPLY_TOPIC_POSTFIX;

/// Queues of `SCHEDULE_TOPIC_XXXX`: one per delay level.
pub const SCHEDULE_TOPIC_QUEUE_NUM: i32 = 18;

#[derive(Default)]
struct TopicTable {
    topics: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
    /// Changes the name servers have not been told about yet.
    unregistered: Unregistered,
}

/// The topics this broker serves.
pub struct TopicConfigManager {
    path: PathBuf,
    table: RwLock<TopicTable>,
    /// Serializes file writes so the last write always carries the latest table.
    persist_lock: Mutex<()>,
    system_topics: BTreeSet<String>,
    auto_create_topic_enable: bool,
    changed: Notify,
    dirty: DirtyMark,
    /// The generation of [`Unregistered`] the last registration round covered.
    registered: watch::Sender<u64>,
}

fn topic(name: &str, queues: i32, perm: i32) -> TopicConfig {
    TopicConfig {
        perm,
        ..TopicConfig::new(name, queues)
    }
}

impl TopicConfigManager {
    /// Creates the built-in topics, then overlays what `path` holds from earlier runs.
    pub fn new(path: PathBuf, config: &BrokerConfig) -> Result<Self, BrokerError> {
        let mut system_topics: BTreeSet<String> =
            SYSTEM_TOPICS.iter().map(|s| s.to_string()).collect();
        let mut topics = BTreeMap::new();
        let mut put = |t: TopicConfig, system: &mut BTreeSet<String>| {
            system.insert(t.topic_name.clone());
            topics.insert(t.topic_name.clone(), t);
        };
        let rw = perm::READ_WRITE;
        put(topic(RMQ_SYS_SELF_TEST_TOPIC, 1, rw), &mut system_topics);
        if config.auto_create_topic_enable {
            let queues = config.default_topic_queue_nums;
            put(
                topic(AUTO_CREATE_TOPIC_KEY_TOPIC, queues, perm::INHERIT | rw),
                &mut system_topics,
            );
        }
        put(topic(RMQ_SYS_BENCHMARK_TOPIC, 1024, rw), &mut system_topics);
        let cluster_perm = perm::INHERIT | if config.cluster_topic_enable { rw } else { 0 };
        put(
            topic(&config.broker_cluster_name, 16, cluster_perm),
            &mut system_topics,
        );
        let broker_perm = perm::INHERIT | if config.broker_topic_enable { rw } else { 0 };
        put(
            topic(&config.broker_name, 1, broker_perm),
            &mut system_topics,
        );
        put(topic(RMQ_SYS_OFFSET_MOVED_EVENT, 1, rw), &mut system_topics);
        put(
            topic(RMQ_SYS_SCHEDULE_TOPIC, SCHEDULE_TOPIC_QUEUE_NUM, rw),
            &mut system_topics,
        );
        let reply = format!("{}_{}", config.broker_cluster_name, REPLY_TOPIC_POSTFIX);
        put(topic(&reply, 1, rw), &mut system_topics);
        if config.trace_topic_enable {
            // the trace topic of `traceTopicEnable` is a system topic with one queue, as in RocketMQ
            put(
                topic(&config.msg_trace_topic_name, 1, rw),
                &mut system_topics,
            );
        }
        put(topic(RMQ_SYS_TRANS_HALF_TOPIC, 1, rw), &mut system_topics);
        let revive = crate::pop::revive_topic(&config.broker_cluster_name);
        put(
            topic(&revive, config.revive_queue_num.max(1), rw),
            &mut system_topics,
        );
        put(topic(crate::timer::TIMER_TOPIC, 1, rw), &mut system_topics);
        put(
            topic(RMQ_SYS_TRANS_OP_HALF_TOPIC, 1, rw),
            &mut system_topics,
        );

        let mut data_version = DataVersion::default();
        if let Some(saved) = config_manager::load::<TopicConfigSerializeWrapper>(&path)? {
            for (name, mut t) in saved.topic_config_table {
                if t.topic_name.is_empty() {
                    t.topic_name = name.clone();
                }
                topics.insert(name, t);
            }
            data_version = saved.data_version;
        }
        data_version.next_version();
        let state_version = config.controller_mode.registration_state_version;
        if config.controller_mode.enable_controller_mode && state_version > 0 {
            data_version.state_version = state_version;
        }
        Ok(TopicConfigManager {
            path,
            table: RwLock::new(TopicTable {
                topics,
                data_version,
                unregistered: Unregistered::default(),
            }),
            persist_lock: Mutex::new(()),
            system_topics,
            auto_create_topic_enable: config.auto_create_topic_enable,
            changed: Notify::new(),
            dirty: DirtyMark::default(),
            registered: watch::Sender::new(0),
        })
    }

    /// The topic's configuration, if it exists.
    pub fn select_topic_config(&self, topic: &str) -> Option<TopicConfig> {
        self.table.read().topics.get(topic).cloned()
    }

    /// Reads one field of a topic without cloning it.
    pub fn with_topic<R>(&self, topic: &str, f: impl FnOnce(&TopicConfig) -> R) -> Option<R> {
        self.table.read().topics.get(topic).map(f)
    }

    /// True for built-in topics and `rmq_sys_…` topics.
    pub fn is_system_topic(&self, topic: &str) -> bool {
        self.system_topics.contains(topic) || topic.starts_with(SYSTEM_TOPIC_PREFIX)
    }

    /// True when the topic is marked ordered.
    pub fn is_order_topic(&self, topic: &str) -> bool {
        self.with_topic(topic, |t| t.order).unwrap_or(false)
    }

    /// Creates `topic` from the template `default_topic` for a send (RocketMQ's
    /// `createTopicInSendMessageMethod`): the template must exist and carry PERM_INHERIT; the new
    /// topic gets `min(client_default_queue_nums, template write queues)` queues and the
    /// template's permission without INHERIT. Returns the (possibly pre-existing) topic, or
    /// `None` when it cannot be created.
    pub fn create_topic_in_send_message_method(
        &self,
        topic: &str,
        default_topic: &str,
        client_default_queue_nums: i32,
        topic_sys_flag: i32,
    ) -> Option<TopicConfig> {
        let created = {
            let mut table = self.table.write();
            if let Some(t) = table.topics.get(topic) {
                return Some(t.clone());
            }
            let Some(template) = table.topics.get(default_topic) else {
                tracing::warn!(
                    topic,
                    default_topic,
                    "cannot create topic: the default topic does not exist"
                );
                return None;
            };
            let mut template_perm = template.perm;
            if default_topic == AUTO_CREATE_TOPIC_KEY_TOPIC && !self.auto_create_topic_enable {
                template_perm = perm::READ_WRITE;
            }
            if !perm::is_inherited(template_perm) {
                tracing::warn!(
                    topic,
                    default_topic,
                    perm = template_perm,
                    "cannot create topic: the default topic may not be inherited"
                );
                return None;
            }
            let queues = client_default_queue_nums
                .min(template.write_queue_nums)
                .max(0);
            let t = TopicConfig {
                topic_name: topic.to_string(),
                read_queue_nums: queues,
                write_queue_nums: queues,
                perm: template_perm & !perm::INHERIT,
                topic_sys_flag,
                topic_filter_type: template.topic_filter_type,
                ..Default::default()
            };
            table.topics.insert(topic.to_string(), t.clone());
            table.data_version.next_version();
            table.unregistered.topic(topic);
            t
        };
        tracing::info!(
            topic,
            default_topic,
            queues = created.write_queue_nums,
            "topic created on first send"
        );
        self.after_change();
        Some(created)
    }

    /// Creates `topic` with `queue_nums` queues if absent (retry and DLQ topics).
    pub fn create_topic_in_send_message_back_method(
        &self,
        topic: &str,
        queue_nums: i32,
        perm: i32,
        topic_sys_flag: i32,
    ) -> TopicConfig {
        let created = {
            let mut table = self.table.write();
            if let Some(t) = table.topics.get(topic) {
                return t.clone();
            }
            let t = TopicConfig {
                topic_name: topic.to_string(),
                read_queue_nums: queue_nums,
                write_queue_nums: queue_nums,
                perm,
                topic_sys_flag,
                ..Default::default()
            };
            table.topics.insert(topic.to_string(), t.clone());
            table.data_version.next_version();
            table.unregistered.topic(topic);
            t
        };
        tracing::info!(topic, queues = queue_nums, "topic created");
        self.after_change();
        created
    }

    /// Creates or replaces a topic (UPDATE_AND_CREATE_TOPIC). Returns false when nothing changed.
    pub fn update_topic_config(&self, config: TopicConfig) -> bool {
        {
            let mut table = self.table.write();
            if table.topics.get(&config.topic_name) == Some(&config) {
                return false;
            }
            table.unregistered.topic(&config.topic_name);
            table.topics.insert(config.topic_name.clone(), config);
            table.data_version.next_version();
        }
        self.after_change();
        true
    }

    /// Removes a topic; returns its configuration if it existed.
    pub fn delete_topic_config(&self, topic: &str) -> Option<TopicConfig> {
        let removed = {
            let mut table = self.table.write();
            let removed = table.topics.remove(topic)?;
            table.data_version.next_version();
            table.unregistered.whole_table();
            removed
        };
        self.after_change();
        Some(removed)
    }

    /// A copy of every topic.
    pub fn topic_config_table(&self) -> BTreeMap<String, TopicConfig> {
        self.table.read().topics.clone()
    }

    /// The topic names.
    pub fn topic_names(&self) -> Vec<String> {
        self.table.read().topics.keys().cloned().collect()
    }

    /// Moves the data version on without changing a topic, so that name servers take the next
    /// registration's queue data (RocketMQ does this when `brokerPermission` changes).
    pub fn next_data_version(&self) {
        let mut table = self.table.write();
        table.data_version.next_version();
        table.unregistered.whole_table();
    }

    /// The current data version.
    pub fn data_version(&self) -> DataVersion {
        self.table.read().data_version.clone()
    }

    /// The table and its version, as registered with name servers and returned to mqadmin.
    pub fn build_serialize_wrapper(&self) -> TopicConfigSerializeWrapper {
        let table = self.table.read();
        TopicConfigSerializeWrapper {
            topic_config_table: table.topics.clone(),
            data_version: table.data_version.clone(),
        }
    }

    /// Writes `config/topics.json` now (blocking: the request paths only mark the table dirty
    /// and the config persist service calls this).
    pub fn persist(&self) -> std::io::Result<()> {
        let _guard = self.persist_lock.lock();
        let wrapper = self.build_serialize_wrapper();
        config_manager::persist(&self.path, &wrapper)
    }

    /// Adopts the master's table and version when its version differs from ours (a slave's
    /// SlaveSynchronize): the whole table is replaced, as RocketMQ 4.9 does. Returns whether
    /// anything changed.
    pub fn sync_from_master(&self, master: TopicConfigSerializeWrapper) -> bool {
        {
            let mut table = self.table.write();
            if table.data_version == master.data_version {
                return false;
            }
            table.topics = master.topic_config_table;
            table.data_version = master.data_version;
            table.unregistered.whole_table();
        }
        self.after_change();
        true
    }

    /// Resolves after the next topic change (creation, update or deletion).
    pub async fn wait_changed(&self) {
        self.changed.notified().await
    }

    /// Asks for a prompt write of the table and waits (asynchronously) until it, with every
    /// change made before the call, is on disk (UPDATE_AND_CREATE_TOPIC answers after that).
    pub async fn persist_promptly(&self) -> Result<(), String> {
        let generation = self.dirty.mark_prompt();
        self.dirty.wait_persisted(generation).await
    }

    /// Takes the changes the name servers have not been told about, with the data version of
    /// the same instant, for one registration round (see [`super::unregistered`]).
    pub fn take_unregistered(&self) -> RegistrationBatch {
        let mut guard = self.table.write();
        let table = &mut *guard;
        let topics = &table.topics;
        table
            .unregistered
            .take(table.data_version.clone(), |n| topics.get(n).cloned())
    }

    /// Records that a registration round covering `generation` has ended (well or not: a
    /// failed round is followed by a full registration), releasing the sends waiting on it.
    pub fn registration_done(&self, generation: u64) {
        self.registered.send_if_modified(|g| {
            let newer = generation > *g;
            *g = (*g).max(generation);
            newer
        });
    }

    /// Asks the next registration round to send the whole table (after a failed round).
    pub fn request_full_registration(&self) {
        self.table.write().unregistered.whole_table();
        self.changed.notify_one();
    }

    /// Waits (asynchronously, at most `timeout`) until a registration round has told the name
    /// servers about `topic`, as RocketMQ 5.x registers a topic created by a send before it
    /// answers the send. Returns false when the wait timed out.
    pub async fn wait_registered(&self, topic: &str, timeout: std::time::Duration) -> bool {
        let Some(generation) = self.table.read().unregistered.pending_generation(topic) else {
            return true;
        };
        let mut rx = self.registered.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|g| *g >= generation))
            .await
            .is_ok_and(|r| r.is_ok());
        reached
    }

    fn after_change(&self) {
        self.dirty.mark();
        self.changed.notify_one();
    }
}

impl PersistentConfig for TopicConfigManager {
    fn config_file_path(&self) -> &std::path::Path {
        &self.path
    }

    fn dirty_mark(&self) -> &DirtyMark {
        &self.dirty
    }

    fn write_config_file(&self) -> std::io::Result<()> {
        self.persist()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(dir: &std::path::Path, auto_create: bool) -> TopicConfigManager {
        let cfg = BrokerConfig {
            auto_create_topic_enable: auto_create,
            ..Default::default()
        };
        TopicConfigManager::new(dir.join("topics.json"), &cfg).unwrap()
    }

    #[test]
    fn creates_builtin_topics() {
        let dir = tempfile::tempdir().unwrap();
        let m = manager(dir.path(), true);
        let tbw = m.select_topic_config("TBW102").unwrap();
        assert_eq!((tbw.perm, tbw.write_queue_nums), (7, 8));
        assert_eq!(
            m.select_topic_config("SELF_TEST_TOPIC")
                .unwrap()
                .read_queue_nums,
            1
        );
        assert_eq!(m.select_topic_config("DefaultCluster").unwrap().perm, 7);
        assert_eq!(
            m.select_topic_config("broker-a").unwrap().write_queue_nums,
            1
        );
        assert!(m.is_system_topic("broker-a"));
        assert!(m.is_system_topic("rmq_sys_anything"));
        assert!(!m.is_system_topic("TopicTest"));
    }

    #[test]
    fn a_controller_mode_broker_registers_its_master_epoch_as_state_version() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = BrokerConfig::default();
        cfg.controller_mode.registration_state_version = 3;
        // outside controller mode the epoch is not a broker's to claim
        let plain = TopicConfigManager::new(dir.path().join("a.json"), &cfg).unwrap();
        assert_eq!(plain.data_version().state_version, 0);
        cfg.controller_mode.enable_controller_mode = true;
        let m = TopicConfigManager::new(dir.path().join("b.json"), &cfg).unwrap();
        assert_eq!(m.data_version().state_version, 3);
        m.next_data_version();
        assert_eq!(m.data_version().state_version, 3);
    }

    #[test]
    fn auto_creates_from_tbw102_and_persists() {
        let dir = tempfile::tempdir().unwrap();
        let m = manager(dir.path(), true);
        let v0 = m.data_version().counter;
        let t = m
            .create_topic_in_send_message_method("TopicTest", "TBW102", 4, 0)
            .unwrap();
        assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (4, 4, 6));
        assert!(m.data_version().counter > v0);
        let t = m
            .create_topic_in_send_message_method("Big", "TBW102", 64, 0)
            .unwrap();
        assert_eq!(t.write_queue_nums, 8, "capped at TBW102's queues");
        assert!(
            m.dirty_mark().is_dirty(),
            "the change waits for the persist service"
        );
        m.persist().unwrap();
        let reloaded = manager(dir.path(), true);
        assert_eq!(
            reloaded
                .select_topic_config("TopicTest")
                .unwrap()
                .write_queue_nums,
            4
        );
    }

    #[test]
    fn refuses_auto_create_without_inherit() {
        let dir = tempfile::tempdir().unwrap();
        let m = manager(dir.path(), false);
        assert!(m.select_topic_config("TBW102").is_none());
        assert!(m
            .create_topic_in_send_message_method("T", "TBW102", 4, 0)
            .is_none());
        // a TBW102 persisted by an earlier run does not re-enable auto-creation
        let on = manager(dir.path(), true);
        on.persist().unwrap();
        let off = manager(dir.path(), false);
        assert!(off.select_topic_config("TBW102").is_some());
        assert!(off
            .create_topic_in_send_message_method("T", "TBW102", 4, 0)
            .is_none());
        assert!(off
            .create_topic_in_send_message_method("T", "NoSuchTemplate", 4, 0)
            .is_none());
    }

    #[test]
    fn update_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let m = manager(dir.path(), true);
        let t = TopicConfig::new("X", 2);
        assert!(m.update_topic_config(t.clone()));
        assert!(!m.update_topic_config(t));
        assert!(m.delete_topic_config("X").is_some());
        assert!(m.delete_topic_config("X").is_none());
        let r = m.create_topic_in_send_message_back_method("%RETRY%g", 1, 6, 0);
        assert_eq!(r.write_queue_nums, 1);
    }
}
