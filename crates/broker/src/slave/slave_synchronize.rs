//! `SlaveSynchronize`: pulls the master's metadata over the remoting protocol
//! (GET_ALL_TOPIC_CONFIG, GET_ALL_CONSUMER_OFFSET, GET_ALL_DELAY_OFFSET,
//! GET_ALL_SUBSCRIPTIONGROUP_CONFIG, in RocketMQ's order) and persists it on the slave.
//!
//! The master's remoting address comes from the name server's REGISTER_BROKER answer
//! (`masterAddr`); nothing is pulled while it is unknown or is this broker's own address.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::body::topic::TopicConfigSerializeWrapper;
use ferrocket_protocol::code::request;
use parking_lot::RwLock;

use crate::offset::ConsumerOffsetManager;
use crate::out_api::broker_outer_api::BrokerOuterAPI;
use crate::schedule::ScheduleMessageService;
use crate::subscription::subscription_group_manager::SubscriptionGroupWrapper;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// First round after start (RocketMQ 4.9 `handleSlaveSynchronize`: 3 s).
pub const SYNC_INITIAL_DELAY: Duration = Duration::from_secs(3);
/// Period of the rounds (RocketMQ 4.9: every 10 s).
pub const SYNC_PERIOD: Duration = Duration::from_secs(10);

/// What one round did, per kind of metadata (`Err` says why that step failed).
#[derive(Debug)]
pub struct SyncReport {
    /// Topic table replaced (`true`) or already at the master's version.
    pub topics: Result<bool, String>,
    /// Consumer offset keys taken from the master.
    pub consumer_offsets: Result<usize, String>,
    /// Delay offsets taken.
    pub delay_offsets: Result<(), String>,
    /// Subscription groups replaced or already at the master's version.
    pub subscription_groups: Result<bool, String>,
}

/// Keeps a slave's metadata in step with its master.
pub struct SlaveSynchronize {
    master_addr: RwLock<Option<String>>,
    own_addr: String,
    outer_api: BrokerOuterAPI,
    topics: Arc<TopicConfigManager>,
    groups: Arc<SubscriptionGroupManager>,
    offsets: Arc<ConsumerOffsetManager>,
    delay: Arc<ScheduleMessageService>,
}

impl SlaveSynchronize {
    /// A synchronizer for the broker at `own_addr` writing into these managers; it reaches the
    /// master through `outer_api` (signed and over TLS as the broker's name-server calls are).
    pub fn new(
        own_addr: String,
        outer_api: BrokerOuterAPI,
        topics: Arc<TopicConfigManager>,
        groups: Arc<SubscriptionGroupManager>,
        offsets: Arc<ConsumerOffsetManager>,
        delay: Arc<ScheduleMessageService>,
    ) -> Self {
        SlaveSynchronize {
            master_addr: RwLock::new(None),
            own_addr,
            outer_api,
            topics,
            groups,
            offsets,
            delay,
        }
    }

    /// The master's remoting address as last told by a name server (`None` on a master, or
    /// while the master is not registered).
    pub fn master_addr(&self) -> Option<String> {
        self.master_addr.read().clone()
    }

    /// Records the `masterAddr` of a REGISTER_BROKER answer (RocketMQ sets it after every
    /// registration round, even to null).
    pub fn set_master_addr(&self, addr: Option<String>) {
        let mut current = self.master_addr.write();
        if *current != addr {
            tracing::info!(old = ?*current, new = ?addr, "master address for metadata sync changed");
            *current = addr;
        }
    }

    /// One round (`syncAll`); `None` when there is no master to pull from.
    pub async fn sync_all(&self) -> Option<SyncReport> {
        let master = self.master_addr().filter(|a| *a != self.own_addr)?;
        let report = SyncReport {
            topics: self.sync_topic_config(&master).await,
            consumer_offsets: self.sync_consumer_offset(&master).await,
            delay_offsets: self.sync_delay_offset(&master).await,
            subscription_groups: self.sync_subscription_group_config(&master).await,
        };
        log_report(&master, &report);
        Some(report)
    }

    async fn sync_topic_config(&self, master: &str) -> Result<bool, String> {
        let body = self
            .outer_api
            .fetch_body(master, request::GET_ALL_TOPIC_CONFIG)
            .await?;
        // the 5.x body (`TopicConfigAndMappingSerializeWrapper`) has the same two fields first;
        // the mapping fields are ignored
        let wrapper: TopicConfigSerializeWrapper =
            ferrocket_protocol::body::decode(&body).map_err(|e| e.to_string())?;
        Ok(self.topics.sync_from_master(wrapper))
    }

    async fn sync_consumer_offset(&self, master: &str) -> Result<usize, String> {
        let body = self
            .outer_api
            .fetch_body(master, request::GET_ALL_CONSUMER_OFFSET)
            .await?;
        let offsets = self.offsets.clone();
        save_off_reactor(move || offsets.sync_from_master(&body)).await
    }

    async fn sync_delay_offset(&self, master: &str) -> Result<(), String> {
        let body = self
            .outer_api
            .fetch_body(master, request::GET_ALL_DELAY_OFFSET)
            .await?;
        let delay = self.delay.clone();
        save_off_reactor(move || delay.sync_from_master(&body)).await
    }

    async fn sync_subscription_group_config(&self, master: &str) -> Result<bool, String> {
        let body = self
            .outer_api
            .fetch_body(master, request::GET_ALL_SUBSCRIPTIONGROUP_CONFIG)
            .await?;
        let wrapper: SubscriptionGroupWrapper =
            ferrocket_protocol::body::decode(&body).map_err(|e| e.to_string())?;
        Ok(self.groups.sync_from_master(wrapper))
    }

    /// Closes the connection to the master.
    pub async fn shutdown(&self) {
        self.outer_api.shutdown().await;
    }
}

fn log_report(master: &str, r: &SyncReport) {
    let steps: [(&str, Option<&String>); 4] = [
        ("topic configs", r.topics.as_ref().err()),
        ("consumer offsets", r.consumer_offsets.as_ref().err()),
        ("delay offsets", r.delay_offsets.as_ref().err()),
        ("subscription groups", r.subscription_groups.as_ref().err()),
    ];
    for (what, err) in steps {
        if let Some(e) = err {
            tracing::warn!(master, what, error = %e, "metadata sync from the master failed");
        }
    }
    if r.topics == Ok(true) {
        tracing::info!(master, "topic configs taken from the master");
    }
    if r.subscription_groups == Ok(true) {
        tracing::info!(master, "subscription groups taken from the master");
    }
}

/// Runs `save` on the blocking pool: saving offsets writes and syncs a file, which is blocking
/// work and stays off the reactor.
async fn save_off_reactor<T: Send + 'static>(
    save: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    ferrocket_store::blocking::run_blocking(save)
        .await
        .map_err(|e| e.to_string())?
}
