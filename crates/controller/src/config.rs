//! `ControllerConfig`: the controller's settings, under RocketMQ's `ControllerConfig` keys.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::ControllerError;

/// One controller of the quorum: `controllerDLegerPeers` lists them as `id-host:port;...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerPeer {
    /// The `controllerDLegerSelfId` style id (`n0`).
    pub id: String,
    /// `host:port`, where that controller serves brokers, tools and its peers.
    pub addr: String,
}

/// Controller settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerConfig {
    /// `controllerDLegerGroup`.
    pub group: String,
    /// `controllerDLegerPeers`, in the order given; a peer's Raft node id is its position.
    pub peers: Vec<ControllerPeer>,
    /// `controllerDLegerSelfId`.
    pub self_id: String,
    /// `controllerStorePath`: the Raft log, vote and snapshot live here.
    pub store_path: PathBuf,
    /// `scanNotActiveBrokerInterval` (ms): how often broker heartbeats are checked.
    pub scan_not_active_broker_interval_ms: u64,
    /// `scanInactiveMasterInterval` (ms): how often the leader looks for sets without a live master.
    pub scan_inactive_master_interval_ms: u64,
    /// `enableElectUncleanMaster`: elect outside the sync state set when nobody in it is alive.
    pub enable_elect_unclean_master: bool,
    /// `notifyBrokerRoleChanged`: tell a set's brokers of a new master.
    pub notify_broker_role_changed: bool,
    /// `configBlackList`: keys UPDATE_CONTROLLER_CONFIG may not change.
    pub config_black_list: String,
    /// `electionTimeoutMillis` (ms): the lower bound of a follower's election timeout.
    pub election_timeout_ms: u64,
    /// `snapshotThreshold` (DLedger's name): entries applied between two snapshots of the state;
    /// the log before a snapshot is then purged.
    pub snapshot_threshold: u64,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            group: "DefaultControllerGroup".into(),
            peers: Vec::new(),
            self_id: String::new(),
            store_path: PathBuf::new(),
            scan_not_active_broker_interval_ms: 5_000,
            scan_inactive_master_interval_ms: 5_000,
            enable_elect_unclean_master: false,
            notify_broker_role_changed: true,
            config_black_list: "configBlackList;configStorePath".into(),
            election_timeout_ms: 1_500,
            snapshot_threshold: 1_000,
        }
    }
}

/// Parses `controllerDLegerPeers` (`n0-127.0.0.1:9878;n1-127.0.0.1:9868`).
pub fn parse_peers(text: &str) -> Result<Vec<ControllerPeer>, ControllerError> {
    let mut peers = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('-')
            .filter(|(id, addr)| !id.is_empty() && addr.contains(':'))
            .ok_or_else(|| {
                ControllerError::Config(format!(
                    "bad controllerDLegerPeers entry '{part}' (want id-host:port)"
                ))
            })?;
        if peers.iter().any(|p: &ControllerPeer| p.id == id) {
            return Err(ControllerError::Config(format!(
                "controller id '{id}' appears twice in controllerDLegerPeers"
            )));
        }
        peers.push(ControllerPeer {
            id: id.to_string(),
            addr: addr.to_string(),
        });
    }
    Ok(peers)
}

fn parse_bool(key: &str, v: &str) -> Result<bool, ControllerError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ControllerError::Config(format!(
            "bad value '{v}' for {key}"
        ))),
    }
}

fn parse_positive(key: &str, v: &str) -> Result<u64, ControllerError> {
    v.trim()
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms > 0)
        .ok_or_else(|| ControllerError::Config(format!("bad value '{v}' for {key}")))
}

impl ControllerConfig {
    /// Applies `key=value` pairs; keys this controller does not know are ignored, as RocketMQ
    /// ignores keys without a setter. Nothing changes when a pair is refused.
    pub fn apply(&mut self, pairs: &[(String, String)]) -> Result<(), ControllerError> {
        let mut next = self.clone();
        for (key, value) in pairs {
            let v = value.trim();
            match key.as_str() {
                "controllerDLegerGroup" => next.group = v.to_string(),
                "controllerDLegerPeers" => next.peers = parse_peers(v)?,
                "controllerDLegerSelfId" => next.self_id = v.to_string(),
                "controllerStorePath" => next.store_path = PathBuf::from(v),
                "scanNotActiveBrokerInterval" => {
                    next.scan_not_active_broker_interval_ms = parse_positive(key, v)?
                }
                "scanInactiveMasterInterval" => {
                    next.scan_inactive_master_interval_ms = parse_positive(key, v)?
                }
                "enableElectUncleanMaster" => {
                    next.enable_elect_unclean_master = parse_bool(key, v)?
                }
                "notifyBrokerRoleChanged" => next.notify_broker_role_changed = parse_bool(key, v)?,
                "configBlackList" => next.config_black_list = v.to_string(),
                "electionTimeoutMillis" => next.election_timeout_ms = parse_positive(key, v)?,
                "snapshotThreshold" => next.snapshot_threshold = parse_positive(key, v)?,
                _ => tracing::debug!(key = %key, "ignoring unknown controller config key"),
            }
        }
        *self = next;
        Ok(())
    }

    /// Checks that this controller is one of the peers and has somewhere to store its log.
    pub fn validate(&self) -> Result<(), ControllerError> {
        if self.peers.is_empty() {
            return Err(ControllerError::Config(
                "controllerDLegerPeers is not set".into(),
            ));
        }
        if self.self_peer().is_none() {
            return Err(ControllerError::Config(format!(
                "controllerDLegerSelfId '{}' is not one of controllerDLegerPeers",
                self.self_id
            )));
        }
        if self.store_path.as_os_str().is_empty() {
            return Err(ControllerError::Config(
                "controllerStorePath is not set".into(),
            ));
        }
        Ok(())
    }

    /// This controller's entry of `peers`.
    pub fn self_peer(&self) -> Option<&ControllerPeer> {
        self.peers.iter().find(|p| p.id == self.self_id)
    }

    /// This controller's Raft node id (its position in `peers`).
    pub fn self_node_id(&self) -> Option<u64> {
        self.peers
            .iter()
            .position(|p| p.id == self.self_id)
            .map(|i| i as u64)
    }

    /// The keys UPDATE_CONTROLLER_CONFIG refuses.
    pub fn black_list(&self) -> Vec<String> {
        let mut keys: Vec<String> = ["configBlackList", "configStorePath", "rocketmqHome"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        keys.extend(
            self.config_black_list
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
        keys
    }

    /// The settings as sorted `key=value` lines (GET_CONTROLLER_CONFIG's body).
    pub fn to_properties_text(&self) -> String {
        let peers: Vec<String> = self
            .peers
            .iter()
            .map(|p| format!("{}-{}", p.id, p.addr))
            .collect();
        let listen_port = self
            .self_peer()
            .and_then(|p| p.addr.rsplit_once(':'))
            .map(|(_, port)| port.to_string())
            .unwrap_or_default();
        let mut pairs = [
            ("controllerType", "DLedger".to_string()),
            ("controllerDLegerGroup", self.group.clone()),
            ("controllerDLegerPeers", peers.join(";")),
            ("controllerDLegerSelfId", self.self_id.clone()),
            ("controllerStorePath", self.store_path.display().to_string()),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
            (
                "scanInactiveMasterInterval",
                self.scan_inactive_master_interval_ms.to_string(),
            ),
            (
                "enableElectUncleanMaster",
                self.enable_elect_unclean_master.to_string(),
            ),
            (
                "notifyBrokerRoleChanged",
                self.notify_broker_role_changed.to_string(),
            ),
            ("configBlackList", self.config_black_list.clone()),
            (
                "electionTimeoutMillis",
                self.election_timeout_ms.to_string(),
            ),
            ("listenPort", listen_port),
        ];
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
    }

    pub(crate) fn election_timeout(&self) -> Duration {
        Duration::from_millis(self.election_timeout_ms)
    }
}

/// Reads `key=value` lines as RocketMQ's `MixAll.string2Properties` does (UPDATE_CONTROLLER_CONFIG
/// bodies).
pub use ferrocket_protocol::mix_all::string_to_properties as parse_properties;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_and_self_is_found() {
        let mut c = ControllerConfig::default();
        let pairs = parse_properties(
            "controllerDLegerPeers = n0-127.0.0.1:9878;n1-127.0.0.1:9868\ncontrollerDLegerSelfId=n1\ncontrollerStorePath=/tmp/x\nenableElectUncleanMaster=true\n",
        );
        c.apply(&pairs).unwrap();
        assert_eq!(c.self_node_id(), Some(1));
        assert_eq!(c.self_peer().unwrap().addr, "127.0.0.1:9868");
        assert!(c.enable_elect_unclean_master);
        c.validate().unwrap();
        assert!(c.to_properties_text().contains("listenPort=9868\n"));
        assert!(parse_peers("n0:127.0.0.1").is_err());
    }
}
