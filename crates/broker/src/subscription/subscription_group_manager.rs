//! `SubscriptionGroupManager`: consumer groups, persisted in `config/subscriptionGroup.json`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ferrocket_protocol::body::topic::DataVersion;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use super::SubscriptionGroupConfig;
use crate::config_manager;
use crate::config_persist::{DirtyMark, PersistentConfig};
use crate::error::BrokerError;
use crate::topic::topic_validator;

/// Groups RocketMQ's tools and internal clients use, present on every broker.
const BUILTIN_GROUPS: &[&str] = &[
    "TOOLS_CONSUMER",
    "FILTERSRV_CONSUMER",
    "SELF_TEST_C_GROUP",
    "CID_ONS-HTTP-PROXY",
    "CID_ONSAPI_PULL",
    "CID_ONSAPI_PERMISSION",
    "CID_ONSAPI_OWNER",
    "CID_RMQ_SYS_TRANS",
];

/// The `subscriptionGroup.json` document (also the GET_ALL_SUBSCRIPTIONGROUP_CONFIG body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SubscriptionGroupWrapper {
    /// Groups by name.
    pub subscription_group_table: BTreeMap<String, SubscriptionGroupConfig>,
    /// group → topic → forbidden permission bits.
    pub forbidden_table: BTreeMap<String, BTreeMap<String, i32>>,
    /// Bumped on every change.
    pub data_version: DataVersion,
}

/// The consumer groups this broker knows.
pub struct SubscriptionGroupManager {
    path: PathBuf,
    table: RwLock<SubscriptionGroupWrapper>,
    persist_lock: Mutex<()>,
    auto_create_subscription_group: bool,
    dirty: DirtyMark,
}

impl SubscriptionGroupManager {
    /// Creates the built-in groups, then overlays what `path` holds from earlier runs.
    pub fn new(path: PathBuf, auto_create_subscription_group: bool) -> Result<Self, BrokerError> {
        let mut wrapper = SubscriptionGroupWrapper::default();
        for g in BUILTIN_GROUPS {
            wrapper
                .subscription_group_table
                .insert(g.to_string(), SubscriptionGroupConfig::new(*g));
        }
        if let Some(saved) = config_manager::load::<SubscriptionGroupWrapper>(&path)? {
            for (name, mut g) in saved.subscription_group_table {
                if g.group_name.is_empty() {
                    g.group_name = name.clone();
                }
                wrapper.subscription_group_table.insert(name, g);
            }
            wrapper.forbidden_table = saved.forbidden_table;
            wrapper.data_version = saved.data_version;
        }
        wrapper.data_version.next_version();
        Ok(SubscriptionGroupManager {
            path,
            table: RwLock::new(wrapper),
            persist_lock: Mutex::new(()),
            auto_create_subscription_group,
            dirty: DirtyMark::default(),
        })
    }

    /// The group's settings, auto-creating the group when allowed (`findSubscriptionGroupConfig`).
    /// `None` when the group is unknown and cannot be created (or its name is illegal).
    pub fn find_subscription_group_config(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        if let Some(g) = self.table.read().subscription_group_table.get(group) {
            return Some(g.clone());
        }
        if !self.auto_create_subscription_group || topic_validator::validate_group(group).is_err() {
            return None;
        }
        let created = {
            let mut table = self.table.write();
            if let Some(g) = table.subscription_group_table.get(group) {
                return Some(g.clone());
            }
            let g = SubscriptionGroupConfig::new(group);
            table
                .subscription_group_table
                .insert(group.to_string(), g.clone());
            table.data_version.next_version();
            g
        };
        tracing::info!(group, "subscription group created");
        self.mark_changed();
        Some(created)
    }

    /// The group's settings without auto-creation.
    pub fn get(&self, group: &str) -> Option<SubscriptionGroupConfig> {
        self.table
            .read()
            .subscription_group_table
            .get(group)
            .cloned()
    }

    /// True when the group exists.
    pub fn contains(&self, group: &str) -> bool {
        self.table
            .read()
            .subscription_group_table
            .contains_key(group)
    }

    /// Creates or replaces a group.
    pub fn update_subscription_group_config(&self, config: SubscriptionGroupConfig) {
        {
            let mut table = self.table.write();
            table
                .subscription_group_table
                .insert(config.group_name.clone(), config);
            table.data_version.next_version();
        }
        self.mark_changed();
    }

    /// Deletes a group; true if it existed.
    pub fn delete_subscription_group_config(&self, group: &str) -> bool {
        let removed = {
            let mut table = self.table.write();
            let removed = table.subscription_group_table.remove(group).is_some();
            table.forbidden_table.remove(group);
            if removed {
                table.data_version.next_version();
            }
            removed
        };
        if removed {
            self.mark_changed();
        }
        removed
    }

    /// A copy of the whole table.
    pub fn snapshot(&self) -> SubscriptionGroupWrapper {
        self.table.read().clone()
    }

    /// Adopts the master's groups, forbidden table and version when its version differs from
    /// ours (a slave's SlaveSynchronize). Returns whether anything changed.
    pub fn sync_from_master(&self, master: SubscriptionGroupWrapper) -> bool {
        {
            let mut table = self.table.write();
            if table.data_version == master.data_version {
                return false;
            }
            *table = master;
        }
        self.mark_changed();
        true
    }

    /// Writes `config/subscriptionGroup.json` now (blocking: the request paths only mark the
    /// table dirty and the config persist service calls this).
    pub fn persist(&self) -> std::io::Result<()> {
        let _guard = self.persist_lock.lock();
        let snapshot = self.snapshot();
        config_manager::persist(&self.path, &snapshot)
    }

    /// Records a change for the config persist service.
    fn mark_changed(&self) {
        self.dirty.mark();
    }
}

impl PersistentConfig for SubscriptionGroupManager {
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

    #[test]
    fn auto_creates_valid_groups_and_reloads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("subscriptionGroup.json");
        let m = SubscriptionGroupManager::new(path.clone(), true).unwrap();
        assert!(m.find_subscription_group_config("g1").is_some());
        assert!(m.find_subscription_group_config("bad group").is_none());
        let mut g = m.get("g1").unwrap();
        g.retry_max_times = 5;
        m.update_subscription_group_config(g);
        assert!(m.dirty_mark().is_dirty());
        m.persist().unwrap();
        let m2 = SubscriptionGroupManager::new(path, false).unwrap();
        assert_eq!(m2.get("g1").unwrap().retry_max_times, 5);
        assert!(m2.find_subscription_group_config("g2").is_none());
        assert!(m2.contains("TOOLS_CONSUMER"));
        assert!(m2.delete_subscription_group_config("g1"));
        assert!(!m2.delete_subscription_group_config("g1"));
    }
}
