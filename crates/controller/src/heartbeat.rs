//! `BrokerHeartbeatManager`: which brokers of which sets are alive, by their BROKER_HEARTBEATs.
//! This table is local to each controller, as in RocketMQ; it is not replicated.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ferrocket_remoting::Channel;
use parking_lot::Mutex;

use crate::replicas_info_manager::{BrokerAlive, LiveRank};

/// RocketMQ's `DEFAULT_BROKER_CHANNEL_EXPIRED_TIME`: the expiry of a heartbeat without
/// `heartbeatTimeoutMills`.
pub const DEFAULT_BROKER_CHANNEL_EXPIRED_TIME: Duration = Duration::from_secs(10);

/// (cluster name, broker name, broker id).
pub type BrokerIdentity = (String, String, u64);

/// One broker's last heartbeat.
#[derive(Clone)]
pub struct BrokerLiveInfo {
    pub broker_addr: String,
    pub last_update: Instant,
    pub heartbeat_timeout: Duration,
    pub channel: Option<Channel>,
    pub epoch: i32,
    pub max_offset: i64,
    pub confirm_offset: i64,
    pub election_priority: i32,
}

/// One BROKER_HEARTBEAT's fields.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub broker_addr: String,
    pub heartbeat_timeout: Option<Duration>,
    pub epoch: Option<i32>,
    pub max_offset: Option<i64>,
    pub confirm_offset: Option<i64>,
    pub election_priority: Option<i32>,
}

/// The broker liveness table.
#[derive(Default)]
pub struct BrokerHeartbeatManager {
    table: Mutex<HashMap<BrokerIdentity, BrokerLiveInfo>>,
}

impl BrokerHeartbeatManager {
    /// Records a heartbeat; epoch and offsets only move forward.
    pub fn on_broker_heartbeat(&self, id: BrokerIdentity, hb: Heartbeat, channel: Option<Channel>) {
        let now = Instant::now();
        let timeout = hb
            .heartbeat_timeout
            .unwrap_or(DEFAULT_BROKER_CHANNEL_EXPIRED_TIME);
        let epoch = hb.epoch.unwrap_or(-1);
        let max_offset = hb.max_offset.unwrap_or(-1);
        let mut table = self.table.lock();
        let info = table.entry(id).or_insert_with(|| BrokerLiveInfo {
            broker_addr: hb.broker_addr.clone(),
            last_update: now,
            heartbeat_timeout: timeout,
            channel: channel.clone(),
            epoch,
            max_offset,
            confirm_offset: hb.confirm_offset.unwrap_or(-1),
            election_priority: hb.election_priority.unwrap_or(i32::MAX),
        });
        info.last_update = now;
        info.heartbeat_timeout = timeout;
        info.broker_addr = hb.broker_addr;
        info.election_priority = hb.election_priority.unwrap_or(i32::MAX);
        if channel.is_some() {
            info.channel = channel;
        }
        if epoch > info.epoch || (epoch == info.epoch && max_offset > info.max_offset) {
            info.epoch = epoch;
            info.max_offset = max_offset;
            info.confirm_offset = hb.confirm_offset.unwrap_or(-1);
        }
    }

    /// Is the broker's last heartbeat within its timeout?
    pub fn is_broker_active(&self, cluster_name: &str, broker_name: &str, broker_id: u64) -> bool {
        let now = Instant::now();
        self.table.lock().iter().any(|((c, n, i), info)| {
            // A controller-triggered election knows no cluster name: match on the set alone.
            (cluster_name.is_empty() || c == cluster_name)
                && n == broker_name
                && *i == broker_id
                && now.duration_since(info.last_update) <= info.heartbeat_timeout
        })
    }

    /// The epoch, max offset and election priority of the broker's last heartbeat.
    pub fn live_info(
        &self,
        cluster_name: &str,
        broker_name: &str,
        broker_id: u64,
    ) -> Option<LiveRank> {
        let table = self.table.lock();
        table
            .iter()
            .find(|((c, n, i), _)| {
                (cluster_name.is_empty() || c == cluster_name)
                    && n == broker_name
                    && *i == broker_id
            })
            .map(|(_, info)| LiveRank {
                epoch: info.epoch,
                max_offset: info.max_offset,
                election_priority: info.election_priority,
            })
    }

    /// The address a live broker reported.
    pub fn broker_addr(&self, broker_name: &str, broker_id: u64) -> Option<String> {
        let table = self.table.lock();
        table
            .iter()
            .find(|((_, n, i), _)| n == broker_name && *i == broker_id)
            .map(|(_, info)| info.broker_addr.clone())
    }

    /// Removes brokers whose heartbeats stopped, closing their connections; returns them.
    pub fn scan_not_active_broker(&self) -> Vec<BrokerIdentity> {
        let now = Instant::now();
        let mut gone = Vec::new();
        self.table.lock().retain(|id, info| {
            let alive = now.duration_since(info.last_update) <= info.heartbeat_timeout;
            if !alive {
                if let Some(c) = &info.channel {
                    c.close();
                }
                tracing::warn!(broker = ?id, addr = %info.broker_addr, "broker heartbeat expired");
                gone.push(id.clone());
            }
            alive
        });
        gone
    }

    /// Removes the brokers that heartbeated over a connection that closed; returns them.
    pub fn on_channel_close(&self, channel: &Channel) -> Vec<BrokerIdentity> {
        let mut gone = Vec::new();
        self.table.lock().retain(|id, info| {
            let same = info
                .channel
                .as_ref()
                .is_some_and(|c| c.id() == channel.id());
            if same {
                gone.push(id.clone());
            }
            !same
        });
        gone
    }
}

/// Liveness and ranking by heartbeats, for elections.
impl BrokerAlive for BrokerHeartbeatManager {
    fn is_alive(&self, cluster_name: &str, broker_name: &str, broker_id: u64) -> bool {
        self.is_broker_active(cluster_name, broker_name, broker_id)
    }

    fn live_info(&self, cluster_name: &str, broker_name: &str, broker_id: u64) -> Option<LiveRank> {
        BrokerHeartbeatManager::live_info(self, cluster_name, broker_name, broker_id)
    }
}
