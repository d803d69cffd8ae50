//! The part of the broker the gRPC endpoint uses. The endpoint never holds the broker's
//! controller: the binary builds this view where it starts the endpoint, as it does for the
//! console, so the gRPC and remoting transports stay on one service layer.

use std::sync::Arc;

use ferrocket_broker::broker_config::SharedBrokerConfig;
use ferrocket_broker::client::{ConsumerManager, ProducerManager};
use ferrocket_broker::service::{PopService, SendBackService, SendService, TransactionService};
use ferrocket_broker::subscription::SubscriptionGroupManager;
use ferrocket_broker::topic::TopicConfigManager;

/// The managers and services of a running broker that the gRPC activities call.
#[derive(Clone)]
pub struct ProxyBrokerView {
    /// The live broker settings (name, advertised address, permission, ...).
    pub config: SharedBrokerConfig,
    /// Topics, for routes and queue selection.
    pub topics: Arc<TopicConfigManager>,
    /// Subscription groups, for the settings a consumer is told.
    pub groups: Arc<SubscriptionGroupManager>,
    /// The send path every transport shares.
    pub send: Arc<SendService>,
    /// The end of transactions every transport shares.
    pub transactions: Arc<TransactionService>,
    /// Producer groups: v5 producers join them so the transaction check reaches them.
    pub producers: Arc<ProducerManager>,
    /// The POP path (receive, ack, invisible-time changes) every transport shares.
    pub pop: Arc<PopService>,
    /// The send-back path: a consumer's failed message to its retry or dead letter queue.
    pub send_back: Arc<SendBackService>,
    /// Consumer groups: v5 consumers join them so an admin tool's requests reach them.
    pub consumers: Arc<ConsumerManager>,
    /// The broker's ACL 1.0 check for gRPC calls (`aclEnable`); `None` when ACL is off.
    pub acl: Option<ferrocket_acl::GrpcAccessChecker>,
    /// The store's `maxMessageSize`, bytes: the largest body a producer is told it may send.
    pub max_message_size: usize,
}
