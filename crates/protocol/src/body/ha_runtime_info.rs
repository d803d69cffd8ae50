//! `HARuntimeInfo`: the GET_BROKER_HA_STATUS (907) body that `mqadmin haStatus` prints.

use serde::{Deserialize, Serialize};

/// A broker's replication state: a master's slave connections, or a slave's HA client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct HARuntimeInfo {
    /// True on a master.
    pub master: bool,
    /// A master's CommitLog max offset (0 on a slave).
    pub master_commit_log_max_offset: i64,
    /// Slaves within `haMaxGapNotInSync` of the master's end.
    pub in_sync_slave_nums: i32,
    /// One entry per connected slave (empty on a slave).
    pub ha_connection_info: Vec<HAConnectionRuntimeInfo>,
    /// The slave's HA client (default values on a master).
    pub ha_client_runtime_info: HAClientRuntimeInfo,
}

/// One slave connection, seen from the master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct HAConnectionRuntimeInfo {
    /// The slave's socket address (`ip:port`, its ephemeral port).
    pub addr: String,
    /// The last offset the slave reported.
    pub slave_ack_offset: i64,
    /// Bytes the slave is behind: master max offset − `slaveAckOffset`.
    pub diff: i64,
    /// `diff` < `haMaxGapNotInSync`.
    pub in_sync: bool,
    /// Bytes sent in the last second.
    pub transferred_byte_in_second: i64,
    /// Where the next transfer starts.
    pub transfer_from_where: i64,
}

/// A slave's HA client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct HAClientRuntimeInfo {
    /// The master's HA address.
    pub master_addr: Option<String>,
    /// Bytes received in the last second.
    pub transferred_byte_in_second: i64,
    /// The slave's CommitLog max offset.
    pub max_offset: i64,
    /// Last bytes from the master, ms since the epoch.
    pub last_read_timestamp: i64,
    /// Last report to the master, ms since the epoch.
    pub last_write_timestamp: i64,
    /// The master's flushed offset as known to the slave.
    pub master_flush_offset: i64,
}
