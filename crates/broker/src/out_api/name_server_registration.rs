//! `NameServerRegistration`: this broker's registration with every name server (RocketMQ's
//! `registerBrokerAll` / `registerIncrementBrokerData` / `unregisterBrokerAll`), and the master
//! addresses a registration answer carries to a slave.
//!
//! Held by the `BrokerController` (periodic rounds, shutdown) and by the admin service (a topic
//! created or a permission changed is registered at once), so neither needs the other.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use ferrocket_ha::HAService;
use ferrocket_protocol::body::topic::{perm, RegisterBrokerBody, TopicConfigSerializeWrapper};

use crate::broker_config::SharedBrokerConfig;
use crate::out_api::broker_outer_api::{BrokerIdentity, BrokerOuterAPI, RegisterBrokerAnswer};
use crate::slave::SlaveSynchronize;
use crate::topic::TopicConfigManager;

/// Shorter `haMasterAddress` values count as unset (RocketMQ's `HA_ADDRESS_MIN_LENGTH`).
const HA_ADDRESS_MIN_LENGTH: usize = 6;

/// What registering with the name servers needs, and nothing else.
pub struct NameServerRegistration {
    config: SharedBrokerConfig,
    topics: Arc<TopicConfigManager>,
    outer_api: BrokerOuterAPI,
    slave_synchronize: Arc<SlaveSynchronize>,
    ha_service: Arc<HAService>,
    store_host: SocketAddr,
    ha_listen_port: u16,
    /// `brokerRole=SLAVE`.
    slave: bool,
    /// A fixed `haMasterAddress` is configured: registration answers do not move the HA client.
    fixed_master: bool,
    /// Set after the first registration round (logged at info, later rounds at debug).
    registered: AtomicBool,
    /// In controller mode: the master the controllers elected. A name server's answer naming
    /// another master (one that has not yet registered as master, or a deposed one that still
    /// does) is not followed.
    expected_master: Mutex<Option<String>>,
}

impl NameServerRegistration {
    /// Registration of the broker at `store_host` whose HA port is `ha_listen_port`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: SharedBrokerConfig,
        topics: Arc<TopicConfigManager>,
        outer_api: BrokerOuterAPI,
        slave_synchronize: Arc<SlaveSynchronize>,
        ha_service: Arc<HAService>,
        store_host: SocketAddr,
        ha_listen_port: u16,
        slave: bool,
        ha_master_address: Option<&str>,
    ) -> Self {
        NameServerRegistration {
            config,
            topics,
            outer_api,
            slave_synchronize,
            ha_service,
            store_host,
            ha_listen_port,
            slave,
            fixed_master: ha_master_address
                .is_some_and(|a| a.trim().len() >= HA_ADDRESS_MIN_LENGTH),
            registered: AtomicBool::new(false),
            expected_master: Mutex::new(None),
        }
    }

    /// Registers this broker and its topics with every name server, concurrently.
    pub async fn register_broker_all(&self) {
        let addrs = self.config.get().namesrv_addrs();
        if addrs.is_empty() {
            return;
        }
        let wrapper = self.topics.build_serialize_wrapper();
        self.register_with(&addrs, wrapper).await;
    }

    /// One round of the registration task: the whole table when `periodic` (RocketMQ's
    /// `registerNameServerPeriod`) or when a change needs it, otherwise only the topics created
    /// or changed since the last round, as RocketMQ 5.x's `registerIncrementBrokerData` (see
    /// [`crate::topic::unregistered`]). A failed incremental round is followed by a full one.
    pub async fn register_changes(&self, periodic: bool) {
        let batch = self.topics.take_unregistered();
        let addrs = self.config.get().namesrv_addrs();
        if !addrs.is_empty() && (periodic || batch.whole_table) {
            self.register_broker_all().await;
        } else if !addrs.is_empty() && !batch.topics.is_empty() {
            let wrapper = TopicConfigSerializeWrapper {
                topic_config_table: batch
                    .topics
                    .into_iter()
                    .map(|t| (t.topic_name.clone(), t))
                    .collect(),
                data_version: batch.data_version,
            };
            if !self.register_with(&addrs, wrapper).await {
                self.topics.request_full_registration();
            }
        }
        self.topics.registration_done(batch.generation);
    }

    /// Registers only `topics` (with the current data version) with every name server, as
    /// Apache's `registerIncrementBrokerData` does after UPDATE_AND_CREATE_TOPIC: a broker with
    /// many topics does not send its whole table for each one.
    pub async fn register_increment_broker_data(
        &self,
        topics: impl IntoIterator<Item = ferrocket_protocol::body::topic::TopicConfig>,
    ) {
        let addrs = self.config.get().namesrv_addrs();
        if addrs.is_empty() {
            return;
        }
        let wrapper = TopicConfigSerializeWrapper {
            topic_config_table: topics
                .into_iter()
                .map(|t| (t.topic_name.clone(), t))
                .collect(),
            data_version: self.topics.data_version(),
        };
        self.register_with(&addrs, wrapper).await;
    }

    /// Returns whether every name server took the registration.
    async fn register_with(
        &self,
        addrs: &[String],
        mut wrapper: TopicConfigSerializeWrapper,
    ) -> bool {
        let broker_perm = self.config.get().broker_permission;
        if !perm::is_writeable(broker_perm) || !perm::is_readable(broker_perm) {
            for t in wrapper.topic_config_table.values_mut() {
                t.perm &= broker_perm;
            }
        }
        let body = RegisterBrokerBody {
            topic_config_serialize_wrapper: wrapper,
            filter_server_list: Vec::new(),
        };
        let first_round = !self.registered.load(Ordering::Acquire);
        let results = self
            .outer_api
            .register_broker_all(addrs, &self.identity(), &body)
            .await;
        // RocketMQ 5.x takes the first answer that came back (4.9: the first name server's)
        if let Some(answer) = results.iter().find_map(|r| r.result.as_ref().ok()) {
            self.on_register_answer(answer.clone());
        }
        let all_took_it = results.iter().all(|r| r.result.is_ok());
        for r in results {
            match r.result {
                Ok(_) if first_round => tracing::info!(
                    namesrv = %r.namesrv_addr,
                    broker_addr = %self.broker_addr(),
                    "registered with name server"
                ),
                Ok(_) => tracing::debug!(namesrv = %r.namesrv_addr, "registered with name server"),
                Err(e) => tracing::warn!(
                    namesrv = %r.namesrv_addr,
                    error = %e,
                    "registration with name server failed"
                ),
            }
        }
        self.registered.store(true, Ordering::Release);
        all_took_it
    }

    /// Takes the master's addresses from a registration answer: the remoting address feeds
    /// SlaveSynchronize (always, so a master, which gets none, syncs nothing), the HA address
    /// the HA client, unless a fixed `haMasterAddress` is configured (RocketMQ's
    /// `updateMasterHAServerAddrPeriodically`).
    fn on_register_answer(&self, answer: RegisterBrokerAnswer) {
        let expected = self.expected_master.lock().clone();
        if let Some(expected) = expected.filter(|e| answer.master_addr.as_ref() != Some(e)) {
            // The name server's master is not the elected one: copy nobody until it is.
            tracing::debug!(%expected, named = ?answer.master_addr, "name server names another master");
            self.slave_synchronize.set_master_addr(None);
            if self.slave && !self.fixed_master {
                self.ha_service.update_master_address(None);
            }
            return;
        }
        self.slave_synchronize.set_master_addr(answer.master_addr);
        if self.slave && !self.fixed_master {
            if let Some(ha_addr) = answer.ha_server_addr {
                self.ha_service.update_master_address(Some(ha_addr));
            }
        }
    }

    /// Controller mode: follow only name server answers naming `master` (the elected one).
    pub fn expect_master(&self, master: Option<String>) {
        *self.expected_master.lock() = master;
    }

    /// Unregisters from every name server (shutdown) and closes their connections.
    pub async fn unregister_broker_all(&self) {
        let addrs = self.config.get().namesrv_addrs();
        if addrs.is_empty() {
            return;
        }
        for r in self
            .outer_api
            .unregister_broker_all(&addrs, &self.identity())
            .await
        {
            match r.result {
                Ok(_) => {
                    tracing::info!(namesrv = %r.namesrv_addr, "unregistered from name server")
                }
                Err(e) => {
                    tracing::warn!(namesrv = %r.namesrv_addr, error = %e, "unregistration failed")
                }
            }
        }
        self.outer_api.shutdown().await;
    }

    /// The client that talks to name servers (and, for the console, to the other members of
    /// this broker name), signing with the broker's credentials.
    pub fn outer_api(&self) -> &BrokerOuterAPI {
        &self.outer_api
    }

    /// Who this broker is, as name servers know it.
    pub fn identity(&self) -> BrokerIdentity {
        let config = self.config.get();
        BrokerIdentity {
            cluster_name: config.broker_cluster_name.clone(),
            broker_name: config.broker_name.clone(),
            broker_id: config.broker_id,
            broker_addr: self.broker_addr(),
            ha_server_addr: self.ha_server_addr(),
        }
    }

    /// `brokerIP1:port`, the address registered with name servers.
    pub fn broker_addr(&self) -> String {
        self.store_host.to_string()
    }

    /// The address slaves replicate from (`haServerAddr` of REGISTER_BROKER):
    /// `brokerIP1:haListenPort`.
    pub fn ha_server_addr(&self) -> String {
        format!("{}:{}", self.config.get().broker_ip1, self.ha_listen_port)
    }
}
