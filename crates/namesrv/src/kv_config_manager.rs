//! `KvConfigManager`: namespaced key/value settings (PUT/GET/DELETE_KV_CONFIG), optionally
//! persisted as RocketMQ's `kvConfig.json` (`{"configTable":{namespace:{key:value}}}`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferrocket_protocol::body::topic::KvTable;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::error::NamesrvError;

/// The KV namespace whose entries become `orderTopicConf` in routes (`NamesrvUtil`).
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

type ConfigTable = BTreeMap<String, BTreeMap<String, String>>;

/// `KVConfigSerializeWrapper`: the persisted form.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct KvConfigSerializeWrapper {
    config_table: ConfigTable,
}

/// Namespaced key/value settings.
pub struct KvConfigManager {
    table: RwLock<ConfigTable>,
    path: Option<PathBuf>,
    // Serializes snapshot-and-write so an older snapshot never overwrites a newer file.
    persist_lock: Mutex<()>,
}

impl KvConfigManager {
    /// An in-memory manager.
    pub fn in_memory() -> Self {
        KvConfigManager {
            table: RwLock::new(ConfigTable::new()),
            path: None,
            persist_lock: Mutex::new(()),
        }
    }

    /// A manager persisted at `path`, loading what is there (a missing file is an empty table).
    pub fn load(path: &Path) -> Result<Self, NamesrvError> {
        let err = |reason: String| NamesrvError::KvConfig {
            path: path.to_path_buf(),
            reason,
        };
        let table = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => ConfigTable::new(),
            Ok(bytes) => {
                ferrocket_protocol::json::from_slice::<KvConfigSerializeWrapper>(&bytes)
                    .map_err(|e| err(e.to_string()))?
                    .config_table
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ConfigTable::new(),
            Err(e) => return Err(err(e.to_string())),
        };
        Ok(KvConfigManager {
            table: RwLock::new(table),
            path: Some(path.to_path_buf()),
            persist_lock: Mutex::new(()),
        })
    }

    /// Sets `namespace`/`key` to `value`.
    pub fn put_kv_config(&self, namespace: &str, key: &str, value: &str) {
        let previous = self
            .table
            .write()
            .entry(namespace.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
        tracing::info!(
            namespace,
            key,
            value,
            created = previous.is_none(),
            "KV config put"
        );
        self.persist();
    }

    /// The value of `namespace`/`key`.
    pub fn get_kv_config(&self, namespace: &str, key: &str) -> Option<String> {
        self.table.read().get(namespace)?.get(key).cloned()
    }

    /// Removes `namespace`/`key`.
    pub fn delete_kv_config(&self, namespace: &str, key: &str) {
        let removed = {
            let mut t = self.table.write();
            let removed = t.get_mut(namespace).and_then(|m| m.remove(key));
            if t.get(namespace).is_some_and(BTreeMap::is_empty) {
                t.remove(namespace);
            }
            removed
        };
        if removed.is_some() {
            tracing::info!(namespace, key, "KV config deleted");
            self.persist();
        }
    }

    /// Every pair of `namespace`, or `None` when the namespace has none.
    pub fn get_kv_list_by_namespace(&self, namespace: &str) -> Option<KvTable> {
        let t = self.table.read();
        let m = t.get(namespace)?;
        Some(KvTable { table: m.clone() })
    }

    fn persist(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let _serialized = self.persist_lock.lock();
        let snapshot = KvConfigSerializeWrapper {
            config_table: self.table.read().clone(),
        };
        let json = match serde_json::to_vec_pretty(&snapshot) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize the KV config");
                return;
            }
        };
        if let Err(e) = write_atomically(path, &json) {
            tracing::error!(path = %path.display(), error = %e, "cannot persist the KV config");
        }
    }
}

/// Writes `path` through a temporary sibling and a rename, so a crash leaves the old or the new file.
fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_delete_and_list() {
        let m = KvConfigManager::in_memory();
        assert_eq!(m.get_kv_config("ns", "k"), None);
        m.put_kv_config("ns", "k", "v1");
        m.put_kv_config("ns", "k2", "v2");
        assert_eq!(m.get_kv_config("ns", "k").as_deref(), Some("v1"));
        assert_eq!(m.get_kv_list_by_namespace("ns").unwrap().table.len(), 2);
        m.delete_kv_config("ns", "k");
        m.delete_kv_config("ns", "k2");
        assert!(m.get_kv_list_by_namespace("ns").is_none());
    }

    #[test]
    fn persists_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("namesrv").join("kvConfig.json");
        let m = KvConfigManager::load(&path).unwrap();
        m.put_kv_config(NAMESPACE_ORDER_TOPIC_CONFIG, "T", "broker-a:4");
        let again = KvConfigManager::load(&path).unwrap();
        assert_eq!(
            again
                .get_kv_config(NAMESPACE_ORDER_TOPIC_CONFIG, "T")
                .as_deref(),
            Some("broker-a:4")
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("configTable"), "{text}");
    }

    #[test]
    fn reads_fastjson_file_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kvConfig.json");
        std::fs::write(&path, r#"{"configTable":{"ns":{"a":"1"}}}"#).unwrap();
        let m = KvConfigManager::load(&path).unwrap();
        assert_eq!(m.get_kv_config("ns", "a").as_deref(), Some("1"));
        std::fs::write(&path, "not json").unwrap();
        let err = KvConfigManager::load(&path).err().unwrap();
        assert!(err.to_string().contains("kvConfig.json"), "{err}");
    }
}
