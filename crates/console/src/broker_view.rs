//! `BrokerView`: the part of a broker the console reads and changes.
//!
//! The console is given the managers and services its pages use, as the broker's processors
//! are, never the broker's controller: whoever starts the console builds the view from the
//! running broker. Sends and dead-letter resends go through the same `SendService` as the
//! remoting processors, and replication state through the same `AdminService`, so the two
//! transports cannot drift apart.

use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_broker::broker_config::{BrokerConfig, SharedBrokerConfig};
use ferrocket_broker::client::{ConsumerManager, ProducerManager};
use ferrocket_broker::offset::ConsumerOffsetManager;
use ferrocket_broker::out_api::BrokerOuterAPI;
use ferrocket_broker::service::{AdminService, SendService};
use ferrocket_broker::stats::BrokerStatsManager;
use ferrocket_broker::subscription::SubscriptionGroupManager;
use ferrocket_broker::topic::TopicConfigManager;
use ferrocket_store::{DefaultMessageStore, MessageStoreConfig};

/// What the console's handlers, its metrics and its throughput sampler use of the broker.
pub struct BrokerView {
    /// The live settings (UPDATE_BROKER_CONFIG swaps them for every holder).
    pub config: SharedBrokerConfig,
    /// The store settings (role, HA gap, paths for the disk usage).
    pub store_config: MessageStoreConfig,
    /// The message store: queue bounds, message search, record reads, flush latency.
    pub store: Arc<DefaultMessageStore>,
    /// The topic table: list, create, delete, routes.
    pub topics: Arc<TopicConfigManager>,
    /// The consumer groups' settings.
    pub groups: Arc<SubscriptionGroupManager>,
    /// Committed consumer offsets: lag and offset resets.
    pub offsets: Arc<ConsumerOffsetManager>,
    /// Live consumer groups and their connections.
    pub consumers: Arc<ConsumerManager>,
    /// Live producer groups.
    pub producers: Arc<ProducerManager>,
    /// Message counters and latency histograms.
    pub stats: Arc<BrokerStatsManager>,
    /// The send path every transport shares (message send, dead-letter resend).
    pub send: Arc<SendService>,
    /// The administration facade: replication state and the client to other brokers.
    pub admin: Arc<AdminService>,
    /// The address stored in messages as their store host (`brokerIP1:port`).
    pub store_host: SocketAddr,
    /// When the broker started, ms.
    pub boot_timestamp: i64,
}

impl BrokerView {
    /// A snapshot of the live settings.
    pub fn broker_config(&self) -> Arc<BrokerConfig> {
        self.config.get()
    }

    /// `brokerIP1:port`, the address registered with name servers.
    pub fn broker_addr(&self) -> String {
        self.store_host.to_string()
    }

    /// The client the broker reaches name servers and other brokers with: signed when ACL is
    /// on, over TLS when configured.
    pub fn outer_api(&self) -> &BrokerOuterAPI {
        self.admin.registration.outer_api()
    }
}
