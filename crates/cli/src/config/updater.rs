//! UPDATE_BROKER_CONFIG for the running broker: the keys of the request are checked against the
//! same tables as the config file, applied to a copy of the live settings and written back into
//! the broker's config file (RocketMQ rewrites the `-c` file the same way).

use std::path::{Path, PathBuf};

use ferrocket_broker::{BrokerConfig, BrokerConfigUpdate, BrokerConfigUpdater};
use ferrocket_store::MessageStoreConfig;
use parking_lot::Mutex;

use super::{broker_keys, keys, server_keys, store_keys, BrokerSettings, LOG_LEVEL_KEY};
use crate::advertise::BrokerIpSource;
use crate::properties::{self, Property};

/// Keys every request reads afresh: they change the running broker at once. Every other key is
/// saved and takes effect at the next start.
const LIVE_KEYS: &[&str] = &[
    "brokerPermission",
    "enablePropertyFilter",
    "rejectTransactionMessage",
    "longPollingEnable",
    "shortPollingTimeMills",
    "regionId",
    "traceOn",
    "transactionTimeOut",
    "transactionCheckMax",
    LOG_LEVEL_KEY,
];

/// Applies updates and saves them to `path`.
pub struct FileConfigUpdater {
    path: PathBuf,
    store: MessageStoreConfig,
    /// One update at a time: each rewrites the whole file.
    write: Mutex<()>,
}

impl FileConfigUpdater {
    /// Saves into `path` (the `-c` file, or `config/broker.properties` under the store root);
    /// store keys are checked against `store`, the settings the store was opened with.
    pub fn new(path: PathBuf, store: MessageStoreConfig) -> Self {
        FileConfigUpdater {
            path,
            store,
            write: Mutex::new(()),
        }
    }
}

impl BrokerConfigUpdater for FileConfigUpdater {
    fn update(
        &self,
        current: &BrokerConfig,
        properties: &str,
    ) -> Result<BrokerConfigUpdate, String> {
        let props = properties::parse(properties).map_err(|e| e.to_string())?;
        if props.is_empty() {
            return Err("no key=value in the request".into());
        }
        for p in &props {
            let known = p.key == LOG_LEVEL_KEY
                || keys::find(broker_keys::BROKER_KEYS, &p.key).is_some()
                || keys::find(store_keys::STORE_KEYS, &p.key).is_some()
                || keys::find(server_keys::SERVER_KEYS, &p.key).is_some();
            if !known {
                return Err(format!(
                    "unknown key '{}': Ferrocket does not read it (see docs/CONFIGURATION.md)",
                    p.key
                ));
            }
        }
        let mut settings = BrokerSettings {
            broker: current.clone(),
            store: self.store.clone(),
            broker_ip_source: BrokerIpSource::Configured,
            log_level: None,
        };
        settings
            .apply_properties(&props, "UPDATE_BROKER_CONFIG")
            .map_err(|e| e.to_string())?;
        store_keys::validate(&settings.store)?;
        let _guard = self.write.lock();
        persist(&self.path, &props)
            .map_err(|e| format!("saving {} failed: {e}", self.path.display()))?;
        crate::logging::apply_config_level(settings.log_level.as_deref());
        let after_restart = props
            .iter()
            .filter(|p| !LIVE_KEYS.contains(&p.key.as_str()))
            .map(|p| p.key.clone())
            .collect();
        Ok(BrokerConfigUpdate {
            config: settings.broker,
            after_restart,
        })
    }
}

/// Rewrites `path` with each of `props` set: a line that sets the key is replaced, a key not in
/// the file is appended; comments and other keys stay as they are.
fn persist(path: &Path, props: &[Property]) -> std::io::Result<()> {
    let old = match std::fs::read(path) {
        Ok(bytes) => properties::decode_text(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
    for p in props {
        let setting = format!("{}={}", p.key, escape(&p.value));
        let existing = lines
            .iter()
            .position(|l| line_key(l) == Some(p.key.as_str()));
        match existing {
            Some(i) => lines[i] = setting,
            None => lines.push(setting),
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, lines.join("\n") + "\n")?;
    std::fs::rename(&tmp, path)
}

/// The key a properties line sets, if it sets one.
fn line_key(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.is_empty() || t.starts_with('#') || t.starts_with('!') {
        return None;
    }
    let end = t.find(['=', ':', ' ', '\t']).unwrap_or(t.len());
    Some(&t[..end])
}

/// Escapes what `java.util.Properties` would read differently.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn updater(dir: &Path) -> FileConfigUpdater {
        FileConfigUpdater::new(dir.join("broker.conf"), MessageStoreConfig::default())
    }

    #[test]
    fn live_and_restart_keys_are_applied_and_saved_in_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("broker.conf"),
            "# ours\nbrokerName = b1\nbrokerPermission=6\n",
        )
        .unwrap();
        let u = updater(dir.path());
        let r = u
            .update(
                &BrokerConfig::default(),
                "brokerPermission=4\ndefaultTopicQueueNums=2\n",
            )
            .unwrap();
        assert_eq!(r.config.broker_permission, 4);
        assert_eq!(r.config.default_topic_queue_nums, 2);
        assert_eq!(r.after_restart, ["defaultTopicQueueNums"]);
        let text = std::fs::read_to_string(dir.path().join("broker.conf")).unwrap();
        assert_eq!(
            text,
            "# ours\nbrokerName = b1\nbrokerPermission=4\ndefaultTopicQueueNums=2\n"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let u = updater(dir.path());
        let err = u
            .update(
                &BrokerConfig::default(),
                "brokerPermission=4\nnoSuchKey=1\n",
            )
            .unwrap_err();
        assert!(err.contains("'noSuchKey'"), "{err}");
        let err = u
            .update(&BrokerConfig::default(), "brokerPermission=9\n")
            .unwrap_err();
        assert!(
            err.contains("brokerPermission") && err.contains("'9'"),
            "{err}"
        );
        assert!(!dir.path().join("broker.conf").exists(), "nothing saved");
    }
}
