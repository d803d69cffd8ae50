//! `MessageRequestModeManager`: PULL or POP per topic and consumer group, set by
//! SET_MESSAGE_REQUEST_MODE and persisted in `config/messageRequestMode.json` (RocketMQ's file
//! and layout: `{"messageRequestModeMap": {topic: {group: body}}}`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferrocket_protocol::body::pop::SetMessageRequestModeRequestBody;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::config_manager;
use crate::error::BrokerError;

/// The file's layout.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Wrapper {
    message_request_mode_map: BTreeMap<String, BTreeMap<String, SetMessageRequestModeRequestBody>>,
}

/// The request mode table.
pub struct MessageRequestModeManager {
    path: PathBuf,
    table: RwLock<Wrapper>,
    persist_lock: Mutex<()>,
}

/// `{root}/config/messageRequestMode.json`.
pub fn message_request_mode_path(store_root: &Path) -> PathBuf {
    store_root.join("config").join("messageRequestMode.json")
}

impl MessageRequestModeManager {
    /// Loads the table saved at `path`, if any.
    pub fn new(path: PathBuf) -> Result<Self, BrokerError> {
        let table = config_manager::load::<Wrapper>(&path)?.unwrap_or_default();
        Ok(MessageRequestModeManager {
            path,
            table: RwLock::new(table),
            persist_lock: Mutex::new(()),
        })
    }

    /// The mode set for `topic` and `group`, if any.
    pub fn get(&self, topic: &str, group: &str) -> Option<SetMessageRequestModeRequestBody> {
        self.table
            .read()
            .message_request_mode_map
            .get(topic)
            .and_then(|groups| groups.get(group))
            .cloned()
    }

    /// Records `body` and writes the file (blocking: call it off the async workers).
    pub fn set_and_persist(&self, body: SetMessageRequestModeRequestBody) -> std::io::Result<()> {
        self.table
            .write()
            .message_request_mode_map
            .entry(body.topic.clone())
            .or_default()
            .insert(body.consumer_group.clone(), body);
        self.persist()
    }

    /// Writes the table to its file.
    pub fn persist(&self) -> std::io::Result<()> {
        let _one_writer = self.persist_lock.lock();
        let snapshot = Wrapper {
            message_request_mode_map: self.table.read().message_request_mode_map.clone(),
        };
        config_manager::persist(&self.path, &snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mode_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = message_request_mode_path(dir.path());
        let m = MessageRequestModeManager::new(path.clone()).unwrap();
        assert!(m.get("T", "g").is_none());
        m.set_and_persist(SetMessageRequestModeRequestBody {
            topic: "T".into(),
            consumer_group: "g".into(),
            mode: "POP".into(),
            pop_share_queue_num: 0,
        })
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("messageRequestModeMap"), "{text}");
        let again = MessageRequestModeManager::new(path).unwrap();
        assert_eq!(again.get("T", "g").unwrap().mode, "POP");
    }
}
