//! `AdminService`: what the broker's administration reads and changes — topics, subscription
//! groups, offsets, connections, queue locks, statistics, replication state and the live
//! settings — shared by the remoting admin processor and the web console, so both transports
//! work on one service layer.
//!
//! Built once by the `BrokerController` from the managers it owns; it holds only those managers,
//! never the controller.

use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_ha::HAService;
use ferrocket_store::DefaultMessageStore;
use parking_lot::RwLock;

use crate::broker_config::{BrokerConfig, BrokerConfigUpdater, SharedBrokerConfig};
use crate::client::{ConsumerManager, ProducerManager, RebalanceLockManager};
use crate::offset::ConsumerOffsetManager;
use crate::out_api::NameServerRegistration;
use crate::schedule::ScheduleMessageService;
use crate::stats::broker_stats_manager::BrokerStatsManager;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// The administration facade of one broker.
pub struct AdminService {
    /// The live settings (UPDATE_BROKER_CONFIG swaps them for every holder).
    pub config: SharedBrokerConfig,
    /// Registration with the name servers: a created topic or a changed permission is
    /// registered at once.
    pub registration: Arc<NameServerRegistration>,
    /// The message store (offsets, store times, commit log bounds, store settings).
    pub store: Arc<DefaultMessageStore>,
    /// Replication (slave acknowledgements, the slave's master).
    pub ha: Arc<HAService>,
    /// The topic table.
    pub topics: Arc<TopicConfigManager>,
    /// The consumer groups' settings.
    pub groups: Arc<SubscriptionGroupManager>,
    /// Committed consumer offsets.
    pub offsets: Arc<ConsumerOffsetManager>,
    /// Live consumer groups.
    pub consumers: Arc<ConsumerManager>,
    /// Live producer groups.
    pub producers: Arc<ProducerManager>,
    /// Ordered-consumption queue locks.
    pub locks: Arc<RebalanceLockManager>,
    /// Delay-level progress (GET_ALL_DELAY_OFFSET).
    pub schedule: Arc<ScheduleMessageService>,
    /// Message counters.
    pub stats: Arc<BrokerStatsManager>,
    /// The address stored in messages as their store host (`brokerIP1:port`).
    pub store_host: SocketAddr,
    /// `brokerRole=SLAVE`.
    pub slave: bool,
    /// When the broker started, ms.
    pub boot_timestamp: i64,
    /// Installs and persists UPDATE_BROKER_CONFIG; without one the request is refused.
    pub config_updater: RwLock<Option<Arc<dyn BrokerConfigUpdater>>>,
}

impl AdminService {
    /// A snapshot of the live settings.
    pub fn broker_config(&self) -> Arc<BrokerConfig> {
        self.config.get()
    }

    /// `brokerIP1:port`, the address registered with name servers.
    pub fn broker_addr(&self) -> String {
        self.store_host.to_string()
    }

    /// The installed config updater.
    pub fn config_updater(&self) -> Option<Arc<dyn BrokerConfigUpdater>> {
        self.config_updater.read().clone()
    }

    /// Installs the config updater.
    pub fn set_config_updater(&self, updater: Arc<dyn BrokerConfigUpdater>) {
        *self.config_updater.write() = Some(updater);
    }

    /// Replaces the live settings; a changed `brokerPermission` is registered with the name
    /// servers at once, as RocketMQ does.
    pub fn replace_broker_config(&self, mut config: BrokerConfig) {
        let old = self.config.get();
        // the bound port is a fact of this process, not a setting
        config.listen_port = old.listen_port;
        let perm_changed = config.broker_permission != old.broker_permission;
        self.config.replace(config);
        if perm_changed {
            self.topics.next_data_version();
            let registration = self.registration.clone();
            tokio::spawn(async move { registration.register_broker_all().await });
        }
    }
}
