//! RocketMQ's `ConfigManager` persistence: JSON files under `{storeRoot}/config`, written
//! atomically with a `.bak` copy of the previous version, read back tolerantly.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ferrocket_store::config_file::{with_suffix, write_with_backup};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::BrokerError;

/// `{root}/config/topics.json`.
pub fn topic_config_path(store_root: &Path) -> PathBuf {
    store_root.join("config").join("topics.json")
}

/// `{root}/config/subscriptionGroup.json`.
pub fn subscription_group_path(store_root: &Path) -> PathBuf {
    store_root.join("config").join("subscriptionGroup.json")
}

/// `{root}/config/consumerOffset.json`.
pub fn consumer_offset_path(store_root: &Path) -> PathBuf {
    store_root.join("config").join("consumerOffset.json")
}

/// `{root}/config/delayOffset.json`.
pub fn delay_offset_path(store_root: &Path) -> PathBuf {
    store_root.join("config").join("delayOffset.json")
}

/// Writes `value` as pretty JSON to `path`: the new text goes to `<file>.tmp` and is synced,
/// the current file becomes `<file>.bak`, then the temporary file takes its place.
///
/// At every instant either `path` or `<file>.bak` holds a complete version.
pub fn persist<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_with_backup(path, &text)
}

/// Reads `path`, falling back to `<file>.bak` when the main file is missing, empty or does
/// not parse. `Ok(None)` when neither exists (first start).
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, BrokerError> {
    let bak = with_suffix(path, ".bak");
    let mut reasons = Vec::new();
    for candidate in [path, bak.as_path()] {
        match fs::read(candidate) {
            // RocketMQ treats an empty file like a missing one
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {}
            Ok(bytes) => match ferrocket_protocol::json::from_slice::<T>(&bytes) {
                Ok(v) => {
                    if candidate != path {
                        tracing::warn!(file = %path.display(), "using the backup copy");
                    }
                    return Ok(Some(v));
                }
                Err(e) => {
                    tracing::warn!(file = %candidate.display(), error = %e, "unreadable config file");
                    reasons.push(format!("{}: {e}", candidate.display()));
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => reasons.push(format!("{}: {e}", candidate.display())),
        }
    }
    if reasons.is_empty() {
        Ok(None)
    } else {
        Err(BrokerError::ConfigLoad {
            path: path.to_path_buf(),
            reason: reasons.join("; "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn persists_with_backup_and_falls_back_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config").join("x.json");
        assert_eq!(load::<BTreeMap<String, i64>>(&path).unwrap(), None);
        let mut m = BTreeMap::new();
        m.insert("a".to_string(), 1i64);
        persist(&path, &m).unwrap();
        m.insert("b".to_string(), 2);
        persist(&path, &m).unwrap();
        assert_eq!(
            load::<BTreeMap<String, i64>>(&path).unwrap().unwrap().len(),
            2
        );
        fs::write(&path, b"{broken").unwrap();
        let back = load::<BTreeMap<String, i64>>(&path).unwrap().unwrap();
        assert_eq!(back.len(), 1, "the .bak holds the previous version");
    }

    #[test]
    fn reads_fastjson_bare_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.json");
        fs::write(&path, b"{\"t@g\":{0:250,1:248\n\t}}").unwrap();
        let v: BTreeMap<String, BTreeMap<i32, i64>> = load(&path).unwrap().unwrap();
        assert_eq!(v["t@g"][&1], 248);
    }

    #[test]
    fn unreadable_without_backup_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.json");
        fs::write(&path, b"nonsense").unwrap();
        assert!(load::<BTreeMap<String, i64>>(&path).is_err());
    }
}
