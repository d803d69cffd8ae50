//! Broker ↔ name server headers: REGISTER_BROKER (103) and UNREGISTER_BROKER (104).

use super::command_custom_header::command_header;

command_header! {
    /// `RegisterBrokerRequestHeader`.
    pub struct RegisterBrokerRequestHeader {
        /// Broker name.
        broker_name: String = "brokerName",
        /// `ip:port` clients must use.
        broker_addr: String = "brokerAddr",
        /// Cluster name.
        cluster_name: String = "clusterName",
        /// HA address for slaves.
        ha_server_addr: String = "haServerAddr",
        /// 0 for a master.
        broker_id: i64 = "brokerId",
        /// How long the name server keeps the broker without a new registration, ms.
        heartbeat_timeout_millis: Option<i64> = "heartbeatTimeoutMillis",
        /// Acting-master mode (absent means an old broker).
        enable_acting_master: Option<bool> = "enableActingMaster",
        /// The body is the zlib-compressed binary form.
        compressed: bool = "compressed" or false,
        /// Masked CRC32 of the body; 0 skips the check.
        body_crc32: i32 = "bodyCrc32" or 0,
    }
}

command_header! {
    /// `RegisterBrokerResponseHeader`.
    pub struct RegisterBrokerResponseHeader {
        /// The master's HA address (for slaves).
        ha_server_addr: Option<String> = "haServerAddr",
        /// The master's address (for slaves).
        master_addr: Option<String> = "masterAddr",
    }
}

command_header! {
    /// `UnRegisterBrokerRequestHeader`.
    pub struct UnRegisterBrokerRequestHeader {
        /// Broker name.
        broker_name: String = "brokerName",
        /// The address it registered.
        broker_addr: String = "brokerAddr",
        /// Cluster name.
        cluster_name: String = "clusterName",
        /// 0 for a master.
        broker_id: i64 = "brokerId",
    }
}
