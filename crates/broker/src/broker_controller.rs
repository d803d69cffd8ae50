//! `BrokerController`: owns the store, the managers and the server, and drives the broker's
//! life: start, periodic registration and persistence, shutdown.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_ha::HAService;
use ferrocket_remoting::RemotingServer;
use ferrocket_store::{BrokerRole, DefaultMessageStore, MessageStoreConfig};
use parking_lot::{Mutex, RwLock};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use ferrocket_acl::PlainAccessValidator;

use crate::broker_config::{BrokerConfig, BrokerConfigUpdater, SharedBrokerConfig};
use crate::client::client_housekeeping::ClientHousekeepingService;
use crate::client::consumer_ids_change_listener::DefaultConsumerIdsChangeListener;
use crate::client::{ConsumerManager, ProducerManager, RebalanceLockManager};
use crate::config_manager;
use crate::config_persist::{ConfigPersistService, PersistentConfig, CONFIG_PERSIST_DELAY};
use crate::error::BrokerError;
use crate::filter::ConsumerFilterManager;
use crate::longpolling::PullRequestHoldService;
use crate::offset::ConsumerOffsetManager;
use crate::out_api::{BrokerOuterAPI, NameServerRegistration};
use crate::processor::client_manage_processor::ClientManageContext;
use crate::processor::consumer_manage_processor::ConsumerManageContext;
use crate::processor::consumer_send_msg_back::SendBackContext;
use crate::processor::end_transaction_processor::EndTransactionContext;
use crate::processor::{BrokerRequestProcessor, Processors};
use crate::schedule::ScheduleMessageService;
use crate::service::{AdminService, PullService, SendService};
use crate::slave::{SlaveSynchronize, SYNC_INITIAL_DELAY, SYNC_PERIOD};
use crate::stats::broker_stats_manager::{self, BrokerStatsManager};
use crate::subscription::SubscriptionGroupManager;
use crate::timer::{timer_checkpoint, TimerMessageStore};
use crate::topic::TopicConfigManager;
use crate::transaction::transactional_message_check_service::{self, TransactionCheckContext};

/// A running broker.
pub struct BrokerController {
    /// Swapped whole by UPDATE_BROKER_CONFIG; readers take a snapshot per request.
    broker_config: SharedBrokerConfig,
    store_config: MessageStoreConfig,
    message_store: Arc<DefaultMessageStore>,
    /// Master/slave replication (classic HA).
    ha_service: Arc<HAService>,
    topic_config_manager: Arc<TopicConfigManager>,
    config_persist_service: Arc<ConfigPersistService>,
    subscription_group_manager: Arc<SubscriptionGroupManager>,
    consumer_offset_manager: Arc<ConsumerOffsetManager>,
    consumer_manager: Arc<ConsumerManager>,
    consumer_filter_manager: Arc<ConsumerFilterManager>,
    producer_manager: Arc<ProducerManager>,
    client_housekeeping_service: Arc<ClientHousekeepingService>,
    rebalance_lock_manager: Arc<RebalanceLockManager>,
    pull_request_hold_service: Arc<PullRequestHoldService>,
    schedule_message_service: Arc<ScheduleMessageService>,
    timer_message_store: Arc<TimerMessageStore>,
    registration: Arc<NameServerRegistration>,
    broker_stats_manager: Arc<BrokerStatsManager>,
    slave_synchronize: Arc<SlaveSynchronize>,
    send_service: Arc<SendService>,
    pull_service: Arc<PullService>,
    admin_service: Arc<AdminService>,
    request_processor: Arc<BrokerRequestProcessor>,
    /// `Some` when `aclEnable`: checks every request before it is dispatched.
    acl_validator: Option<Arc<PlainAccessValidator>>,
    local_addr: SocketAddr,
    store_host: SocketAddr,
    server: Mutex<Option<RemotingServer>>,
    /// RocketMQ's "fast" (VIP) remoting server on `listenPort - 2`: a RocketMQ slave pulls the
    /// topic table from there, and clients with `sendMessageWithVIPChannel` send there.
    fast_server: Mutex<Option<RemotingServer>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    shutdown_tx: watch::Sender<bool>,
    shutting_down: AtomicBool,
    shutdown_done: tokio::sync::Mutex<bool>,
}

impl BrokerController {
    /// Opens the store and the config files under its root, listens on
    /// `bindAddress:listenPort` (port 0 picks a free port), registers with every name server in
    /// `namesrvAddr` (awaiting the first round), then starts the periodic tasks.
    pub async fn start(
        broker_config: BrokerConfig,
        store_config: MessageStoreConfig,
    ) -> Result<Arc<BrokerController>, BrokerError> {
        let ip: IpAddr = broker_config.broker_ip1.trim().parse().map_err(|_| {
            BrokerError::InvalidConfig(format!(
                "brokerIP1 '{}' is not an IP address",
                broker_config.broker_ip1
            ))
        })?;
        let acl_validator = load_acl(&broker_config)?;
        let store_root: PathBuf = store_config.store_path_root_dir.clone();
        let topic_config_manager = Arc::new(TopicConfigManager::new(
            config_manager::topic_config_path(&store_root),
            &broker_config,
        )?);
        let subscription_group_manager = Arc::new(SubscriptionGroupManager::new(
            config_manager::subscription_group_path(&store_root),
            broker_config.auto_create_subscription_group,
        )?);
        let consumer_offset_manager = Arc::new(ConsumerOffsetManager::new(
            config_manager::consumer_offset_path(&store_root),
        )?);
        // the built-in topics (and a new data version) are written at once, off this thread
        topic_config_manager.dirty_mark().mark();
        let config_persist_service = Arc::new(
            ConfigPersistService::start(
                vec![
                    topic_config_manager.clone() as Arc<dyn PersistentConfig>,
                    subscription_group_manager.clone(),
                ],
                CONFIG_PERSIST_DELAY,
            )
            .map_err(|e| BrokerError::InvalidConfig(format!("config persist thread: {e}")))?,
        );

        let delay_levels = store_config
            .delay_levels_millis()
            .map_err(|e| BrokerError::InvalidConfig(format!("messageDelayLevel: {e}")))?;
        let message_store = DefaultMessageStore::open(store_config.clone())
            .map_err(|e| BrokerError::Store(e.to_string()))?;
        let ha_service = match HAService::new(message_store.clone()) {
            Ok(h) => h,
            Err(e) => {
                message_store.shutdown();
                return Err(BrokerError::InvalidConfig(e.to_string()));
            }
        };
        let schedule_message_service = match ScheduleMessageService::new(
            message_store.clone(),
            delay_levels,
            config_manager::delay_offset_path(&store_root),
        ) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                message_store.shutdown();
                return Err(e);
            }
        };
        let timer_check_path = timer_checkpoint::timer_check_path(&store_root);
        let timer_message_store =
            match TimerMessageStore::new(message_store.clone(), timer_check_path.clone()) {
                Ok(t) => Arc::new(t),
                Err(e) => {
                    message_store.shutdown();
                    return Err(BrokerError::ConfigLoad {
                        path: timer_check_path,
                        reason: e.to_string(),
                    });
                }
            };
        let pull_request_hold_service = Arc::new(PullRequestHoldService::new());
        {
            let hold = pull_request_hold_service.clone();
            message_store.set_message_arriving_listener(Arc::new(
                move |topic: &str, queue_id: i32, _max_offset: i64, tags_code: i64| {
                    hold.notify_message_arriving(topic, queue_id, Some(tags_code))
                },
            ));
        }

        let consumer_manager = Arc::new(ConsumerManager::new(Arc::new(
            DefaultConsumerIdsChangeListener {
                enabled: broker_config.notify_consumer_ids_changed_enable,
            },
        )));
        let producer_manager = Arc::new(ProducerManager::new());
        let client_housekeeping_service = Arc::new(ClientHousekeepingService::new(
            consumer_manager.clone(),
            producer_manager.clone(),
            broker_config.channel_expired_timeout,
        ));

        let request_processor = Arc::new(BrokerRequestProcessor::new(
            client_housekeeping_service.clone(),
            &broker_config.queues,
        ));
        let bind = format!(
            "{}:{}",
            broker_config.bind_address, broker_config.listen_port
        );
        let tls = match broker_config.tls.server() {
            Ok(tls) => tls,
            Err(e) => {
                message_store.shutdown();
                return Err(BrokerError::InvalidConfig(e.to_string()));
            }
        };
        let server = match RemotingServer::bind_with_options(
            &bind,
            request_processor.clone(),
            broker_config.server.clone(),
            Some(tls.clone()),
        )
        .await
        {
            Ok(s) => s,
            Err(source) => {
                message_store.shutdown();
                return Err(BrokerError::Bind { addr: bind, source });
            }
        };
        let local_addr = server.local_addr();
        // haListenPort wins; else listenPort + 1; a free port when both ports are left to the OS
        let ha_port = match (store_config.ha_listen_port, broker_config.listen_port) {
            (0, 0) => 0,
            (_, configured) => store_config.resolved_ha_listen_port(configured),
        };
        let ha_bind = format!("{}:{}", broker_config.bind_address, ha_port);
        // the HA port follows the remoting port's TLS settings; the slave connects to its
        // master as the broker does to name servers
        let ha_client_tls = if broker_config.tls.client_uses_tls() {
            match broker_config.tls.client_config() {
                Ok(c) => Some(c),
                Err(e) => {
                    server.shutdown();
                    message_store.shutdown();
                    return Err(BrokerError::InvalidConfig(e.to_string()));
                }
            }
        } else {
            None
        };
        let ha_tls = ferrocket_ha::HaTls {
            server: Some(tls.clone()),
            client: ha_client_tls,
        };
        let ha_listen_port = match ha_service.start_with_tls(&ha_bind, ha_tls) {
            Ok(addr) => addr.port(),
            Err(e) => {
                server.shutdown();
                ha_service.shutdown();
                message_store.shutdown();
                return Err(match e {
                    ferrocket_ha::HaError::Bind { addr, source } => {
                        BrokerError::Bind { addr, source }
                    }
                    other => BrokerError::InvalidConfig(other.to_string()),
                });
            }
        };
        // with a free port picked by the OS (listenPort=0) its neighbour is nobody's to take
        let fast_server = if broker_config.listen_port == 0 {
            None
        } else {
            bind_fast_server(
                &broker_config.bind_address,
                local_addr.port(),
                &request_processor,
                &broker_config.server,
                tls,
            )
            .await
        };
        let mut broker_config = broker_config;
        broker_config.listen_port = local_addr.port();
        let store_host = SocketAddr::new(ip, local_addr.port());

        let outer_tls = if broker_config.tls.client_uses_tls() {
            Some(
                broker_config
                    .tls
                    .connector()
                    .map_err(|e| BrokerError::InvalidConfig(e.to_string()))?,
            )
        } else {
            None
        };
        let slave_synchronize = Arc::new(SlaveSynchronize::new(
            store_host.to_string(),
            // RocketMQ's slave uses a 3 s timeout for these calls
            BrokerOuterAPI::new(
                3_000,
                broker_config.inner_client_credentials.clone(),
                outer_tls.clone(),
            ),
            topic_config_manager.clone(),
            subscription_group_manager.clone(),
            consumer_offset_manager.clone(),
            schedule_message_service.clone(),
        ));
        let (shutdown_tx, _) = watch::channel(false);
        let broker_outer_api = BrokerOuterAPI::new(
            broker_config.register_broker_timeout_mills,
            broker_config.inner_client_credentials.clone(),
            outer_tls,
        );
        let ha_master_address = store_config.ha_master_address.clone();
        let broker_config = SharedBrokerConfig::new(broker_config);
        let registration = Arc::new(NameServerRegistration::new(
            broker_config.clone(),
            topic_config_manager.clone(),
            broker_outer_api,
            slave_synchronize.clone(),
            ha_service.clone(),
            store_host,
            ha_listen_port,
            store_config.broker_role == BrokerRole::Slave,
            ha_master_address.as_deref(),
        ));
        let rebalance_lock_manager = Arc::new(RebalanceLockManager::new());
        let broker_stats_manager = Arc::new(BrokerStatsManager::new());
        let send_service = Arc::new(SendService {
            config: broker_config.clone(),
            store: message_store.clone(),
            topics: topic_config_manager.clone(),
            groups: subscription_group_manager.clone(),
            locks: rebalance_lock_manager.clone(),
            timer: timer_message_store.clone(),
            schedule: schedule_message_service.clone(),
            stats: broker_stats_manager.clone(),
            store_host,
            slave: store_config.broker_role == BrokerRole::Slave,
        });
        let consumer_filter_manager = Arc::new(ConsumerFilterManager::new());
        let pull_service = Arc::new(PullService {
            config: broker_config.clone(),
            store: message_store.clone(),
            topics: topic_config_manager.clone(),
            groups: subscription_group_manager.clone(),
            consumers: consumer_manager.clone(),
            filters: consumer_filter_manager.clone(),
            offsets: consumer_offset_manager.clone(),
            hold: pull_request_hold_service.clone(),
            stats: broker_stats_manager.clone(),
            shutdown: shutdown_tx.subscribe(),
            store_host,
            slave: store_config.broker_role == BrokerRole::Slave,
        });
        let admin_service = Arc::new(AdminService {
            config: broker_config.clone(),
            registration: registration.clone(),
            store: message_store.clone(),
            ha: ha_service.clone(),
            topics: topic_config_manager.clone(),
            groups: subscription_group_manager.clone(),
            offsets: consumer_offset_manager.clone(),
            consumers: consumer_manager.clone(),
            producers: producer_manager.clone(),
            locks: rebalance_lock_manager.clone(),
            schedule: schedule_message_service.clone(),
            stats: broker_stats_manager.clone(),
            store_host,
            slave: store_config.broker_role == BrokerRole::Slave,
            boot_timestamp: ferrocket_protocol::util::now_millis(),
            config_updater: RwLock::new(None),
        });
        let controller = Arc::new(BrokerController {
            registration,
            broker_config,
            store_config,
            message_store,
            ha_service,
            topic_config_manager,
            config_persist_service,
            subscription_group_manager,
            consumer_offset_manager,
            consumer_manager,
            consumer_filter_manager,
            producer_manager,
            client_housekeeping_service,
            rebalance_lock_manager,
            pull_request_hold_service,
            schedule_message_service,
            timer_message_store,
            broker_stats_manager,
            slave_synchronize,
            send_service,
            pull_service,
            admin_service,
            request_processor: request_processor.clone(),
            acl_validator,
            local_addr,
            store_host,
            server: Mutex::new(Some(server)),
            fast_server: Mutex::new(fast_server),
            tasks: Mutex::new(Vec::new()),
            shutdown_tx,
            shutting_down: AtomicBool::new(false),
            shutdown_done: tokio::sync::Mutex::new(false),
        });
        request_processor.attach(controller.processors());
        tracing::info!(
            listen = %local_addr,
            broker_addr = %controller.broker_addr(),
            broker = %controller.broker_config().broker_name,
            cluster = %controller.broker_config().broker_cluster_name,
            "broker listening"
        );

        if controller.broker_config().namesrv_addrs().is_empty() {
            tracing::warn!(
                "no name server configured (namesrvAddr): clients cannot find this broker"
            );
        } else {
            controller.register_broker_all().await;
        }
        controller.start_background_tasks();
        Ok(controller)
    }

    fn start_background_tasks(self: &Arc<Self>) {
        let mut tasks = self.tasks.lock();
        if let Some(acl) = &self.acl_validator {
            tasks.push(acl.spawn_watcher(ferrocket_acl::WATCH_INTERVAL));
        }
        let weak = Arc::downgrade(self);
        let period = Duration::from_millis(self.broker_config().register_name_server_period.max(1));
        let topics = self.topic_config_manager.clone();
        let mut stop = self.shutdown_tx.subscribe();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // one round at a time: changes made while a round is in flight gather for the
                // next one, so a burst of creations costs a few registrations, not one each
                let periodic = tokio::select! {
                    _ = tick.tick() => true,
                    _ = topics.wait_changed() => false,
                    _ = stop.changed() => return,
                };
                let Some(broker) = weak.upgrade() else { return };
                broker.register_changes(periodic).await;
            }
        }));

        let offsets = self.consumer_offset_manager.clone();
        let interval =
            Duration::from_millis(self.broker_config().flush_consumer_offset_interval.max(1));
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let offsets = offsets.clone();
                let persisted =
                    ferrocket_store::blocking::run_blocking(move || offsets.persist()).await;
                if let Ok(Err(e)) = persisted {
                    tracing::error!(error = %e, "persisting consumer offsets failed");
                }
            }
        }));

        tasks.push(tokio::spawn(self.client_housekeeping_service.clone().run()));
        if self.is_slave() {
            // a slave's commit log is a copy of the master's: it never delivers delayed, timed or
            // checked-back messages itself, it follows the master's metadata instead
            tasks.push(tokio::spawn(run_slave_synchronize(
                self.slave_synchronize.clone(),
            )));
        } else {
            tasks.push(tokio::spawn(self.schedule_message_service.clone().run()));
            tasks.push(tokio::spawn(self.timer_message_store.clone().run()));
            tasks.push(tokio::spawn(transactional_message_check_service::run(
                Arc::new(self.transaction_check_context()),
                Duration::from_millis(self.broker_config().transaction_check_interval.max(1)),
            )));
        }

        let stats = self.broker_stats_manager.clone();
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(broker_stats_manager::SAMPLE_INTERVAL);
            loop {
                tick.tick().await;
                stats.sample();
            }
        }));
    }

    /// The processors the dispatcher routes to, each given only the managers it uses.
    fn processors(&self) -> Processors {
        Processors {
            send: self.send_service.clone(),
            pull: self.pull_service.clone(),
            producers: self.producer_manager.clone(),
            client_manage: ClientManageContext {
                config: self.broker_config.clone(),
                topics: self.topic_config_manager.clone(),
                groups: self.subscription_group_manager.clone(),
                consumers: self.consumer_manager.clone(),
                filters: self.consumer_filter_manager.clone(),
                producers: self.producer_manager.clone(),
            },
            consumer_manage: ConsumerManageContext {
                store: self.message_store.clone(),
                topics: self.topic_config_manager.clone(),
                groups: self.subscription_group_manager.clone(),
                consumers: self.consumer_manager.clone(),
                offsets: self.consumer_offset_manager.clone(),
            },
            send_back: SendBackContext {
                config: self.broker_config.clone(),
                store: self.message_store.clone(),
                topics: self.topic_config_manager.clone(),
                groups: self.subscription_group_manager.clone(),
                schedule: self.schedule_message_service.clone(),
                stats: self.broker_stats_manager.clone(),
            },
            end_transaction: EndTransactionContext {
                store: self.message_store.clone(),
                timer: self.timer_message_store.clone(),
                schedule: self.schedule_message_service.clone(),
                stats: self.broker_stats_manager.clone(),
                store_host: self.store_host,
            },
            query: self.message_store.clone(),
            admin: self.admin_service.clone(),
            acl: self.acl_validator.clone(),
            slave: self.is_slave(),
        }
    }

    /// What the transaction check service uses.
    fn transaction_check_context(&self) -> TransactionCheckContext {
        TransactionCheckContext {
            config: self.broker_config.clone(),
            store: self.message_store.clone(),
            offsets: self.consumer_offset_manager.clone(),
            topics: self.topic_config_manager.clone(),
            producers: self.producer_manager.clone(),
            store_host: self.store_host,
        }
    }

    /// Registers this broker and its topics with every name server, concurrently.
    pub async fn register_broker_all(&self) {
        self.registration.register_broker_all().await;
    }

    /// One round of the registration task (see [`NameServerRegistration::register_changes`]).
    pub async fn register_changes(&self, periodic: bool) {
        self.registration.register_changes(periodic).await;
    }

    /// True when this broker is a slave (`brokerRole=SLAVE`) copying its master's commit log.
    pub fn is_slave(&self) -> bool {
        self.store_config.broker_role == BrokerRole::Slave
    }

    /// The master's remoting address, on a slave whose master is registered.
    pub fn master_addr(&self) -> Option<String> {
        self.slave_synchronize.master_addr()
    }

    /// The master's HA address a slave replicates from (fixed or from the name server).
    pub fn master_ha_addr(&self) -> Option<String> {
        self.ha_service.master_address()
    }

    /// The slave's metadata synchronizer.
    pub fn slave_synchronize(&self) -> &Arc<SlaveSynchronize> {
        &self.slave_synchronize
    }

    /// Stops accepting connections, answers held pulls, unregisters from every name server,
    /// persists offsets and configs, and shuts the store down. Calling it again does nothing.
    pub async fn shutdown(&self) {
        let mut done = self.shutdown_done.lock().await;
        if *done {
            return;
        }
        self.shutting_down.store(true, Ordering::Release);
        // the services watch this signal: no pull is parked from here on
        let _ = self.shutdown_tx.send(true);
        if let Some(server) = self.server.lock().take() {
            server.shutdown();
        }
        if let Some(server) = self.fast_server.lock().take() {
            server.shutdown();
        }
        self.pull_request_hold_service.wake_all();
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
        self.registration.unregister_broker_all().await;
        self.slave_synchronize.shutdown().await;
        self.request_processor.close_all_channels();
        // every config file is written before the store closes, on a blocking thread
        let persist = self.config_persist_service.clone();
        let offsets = self.consumer_offset_manager.clone();
        let schedule = self.schedule_message_service.clone();
        let timer = self.timer_message_store.clone();
        let flushed = ferrocket_store::blocking::run_blocking(move || {
            persist.shutdown();
            if let Err(e) = offsets.persist() {
                tracing::error!(error = %e, "persisting consumer offsets failed");
            }
            if let Err(e) = schedule.persist() {
                tracing::error!(error = %e, "persisting delay offsets failed");
            }
            if let Err(e) = timer.persist() {
                tracing::error!(error = %e, "persisting the timer checkpoint failed");
            }
        })
        .await;
        if flushed.is_err() {
            tracing::error!("persisting the config files panicked");
        }
        let ha = self.ha_service.clone();
        if tokio::task::spawn_blocking(move || ha.shutdown())
            .await
            .is_err()
        {
            tracing::error!("the HA service shutdown panicked");
        }
        let store = self.message_store.clone();
        if tokio::task::spawn_blocking(move || store.shutdown())
            .await
            .is_err()
        {
            tracing::error!("the message store shutdown panicked");
        }
        *done = true;
        tracing::info!(broker = %self.broker_config().broker_name, "broker shut down");
    }

    /// The address the server is bound to (with the real port when `listenPort` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The ACL validator, when `aclEnable` is on.
    pub fn acl_validator(&self) -> Option<&Arc<PlainAccessValidator>> {
        self.acl_validator.as_ref()
    }

    /// `brokerIP1:port`, the address registered with name servers.
    pub fn broker_addr(&self) -> String {
        self.store_host.to_string()
    }

    /// The address stored in messages as their store host.
    pub fn store_host(&self) -> SocketAddr {
        self.store_host
    }

    /// A snapshot of the broker settings (`listen_port` is the real port).
    pub fn broker_config(&self) -> Arc<BrokerConfig> {
        self.broker_config.get()
    }

    /// The live settings handle itself, for a component that must see UPDATE_BROKER_CONFIG's
    /// changes (the web console).
    pub fn shared_broker_config(&self) -> SharedBrokerConfig {
        self.broker_config.clone()
    }

    /// Installs what applies and persists UPDATE_BROKER_CONFIG (the binary knows the config keys
    /// and the config file; without an updater the request is refused).
    pub fn set_config_updater(&self, updater: Arc<dyn BrokerConfigUpdater>) {
        self.admin_service.set_config_updater(updater);
    }

    /// The installed config updater.
    pub fn config_updater(&self) -> Option<Arc<dyn BrokerConfigUpdater>> {
        self.admin_service.config_updater()
    }

    /// Replaces the live settings; a changed `brokerPermission` is registered with the name
    /// servers at once, as RocketMQ does.
    pub fn replace_broker_config(&self, config: BrokerConfig) {
        self.admin_service.replace_broker_config(config);
    }

    /// The store settings.
    pub fn message_store_config(&self) -> &MessageStoreConfig {
        &self.store_config
    }

    /// The client this broker reaches name servers (and, on a slave, its master) with:
    /// signed when ACL is on, over TLS when configured.
    pub fn broker_outer_api(&self) -> &BrokerOuterAPI {
        self.registration.outer_api()
    }

    /// The replication service: the slave's master address, slave acknowledgements.
    pub fn ha_service(&self) -> &Arc<HAService> {
        &self.ha_service
    }

    /// The address slaves replicate from (`haServerAddr` of REGISTER_BROKER):
    /// `brokerIP1:haListenPort`.
    pub fn ha_server_addr(&self) -> String {
        self.registration.ha_server_addr()
    }

    /// The message store.
    pub fn message_store(&self) -> &Arc<DefaultMessageStore> {
        &self.message_store
    }

    /// The thread that writes `config/topics.json` and `config/subscriptionGroup.json`.
    pub fn config_persist_service(&self) -> &Arc<ConfigPersistService> {
        &self.config_persist_service
    }

    /// The topic table.
    pub fn topic_config_manager(&self) -> &Arc<TopicConfigManager> {
        &self.topic_config_manager
    }

    /// The consumer groups' settings.
    pub fn subscription_group_manager(&self) -> &Arc<SubscriptionGroupManager> {
        &self.subscription_group_manager
    }

    /// Committed consumer offsets.
    pub fn consumer_offset_manager(&self) -> &Arc<ConsumerOffsetManager> {
        &self.consumer_offset_manager
    }

    /// Live consumer groups.
    pub fn consumer_manager(&self) -> &Arc<ConsumerManager> {
        &self.consumer_manager
    }

    /// Compiled SQL92 subscriptions.
    pub fn consumer_filter_manager(&self) -> &Arc<ConsumerFilterManager> {
        &self.consumer_filter_manager
    }

    /// Live producer groups.
    pub fn producer_manager(&self) -> &Arc<ProducerManager> {
        &self.producer_manager
    }

    /// Ordered-consumption queue locks.
    pub fn rebalance_lock_manager(&self) -> &Arc<RebalanceLockManager> {
        &self.rebalance_lock_manager
    }

    /// Parked long-polling pulls.
    pub fn pull_request_hold_service(&self) -> &Arc<PullRequestHoldService> {
        &self.pull_request_hold_service
    }

    /// Delayed delivery.
    pub fn schedule_message_service(&self) -> &Arc<ScheduleMessageService> {
        &self.schedule_message_service
    }

    /// The timer message service (`TimerMessageStore`).
    pub fn timer_message_store(&self) -> &Arc<TimerMessageStore> {
        &self.timer_message_store
    }

    /// Message counters.
    pub fn broker_stats_manager(&self) -> &Arc<BrokerStatsManager> {
        &self.broker_stats_manager
    }

    /// The send path every transport shares.
    pub fn send_service(&self) -> &Arc<SendService> {
        &self.send_service
    }

    /// The administration facade the admin processor and the console share.
    pub fn admin_service(&self) -> &Arc<AdminService> {
        &self.admin_service
    }

    /// The pull path every transport shares.
    pub fn pull_service(&self) -> &Arc<PullService> {
        &self.pull_service
    }

    /// When the broker started, ms.
    pub fn boot_timestamp(&self) -> i64 {
        self.admin_service.boot_timestamp
    }

    /// True once `shutdown` began.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// A receiver that changes to `true` when shutdown begins.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown_tx.subscribe()
    }
}

/// Reads plain_acl.yml when `aclEnable` is on; a broker asked to enforce ACL does not start
/// without a valid file.
fn load_acl(config: &BrokerConfig) -> Result<Option<Arc<PlainAccessValidator>>, BrokerError> {
    if !config.acl_enable {
        return Ok(None);
    }
    let path = config.acl_plain_file.as_deref().ok_or_else(|| {
        BrokerError::InvalidConfig("aclEnable=true but no plain_acl.yml location is set".into())
    })?;
    let validator = PlainAccessValidator::load(std::path::Path::new(path))
        .map_err(|e| BrokerError::InvalidConfig(e.to_string()))?;
    tracing::info!(file = %path, "ACL enabled");
    Ok(Some(validator))
}

/// RocketMQ 4.9's schedule: a first round shortly after start, then one every 10 s.
async fn run_slave_synchronize(sync: Arc<SlaveSynchronize>) {
    tokio::time::sleep(SYNC_INITIAL_DELAY).await;
    let mut tick = tokio::time::interval(SYNC_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sync.sync_all().await;
    }
}

/// Listens on `listenPort - 2` with the same processors (RocketMQ's fast remoting server). A
/// port that cannot be bound leaves the broker without it, with a warning: only RocketMQ slaves
/// and VIP-channel clients use it, and they name the port in their errors.
async fn bind_fast_server(
    bind_address: &str,
    listen_port: u16,
    processor: &Arc<BrokerRequestProcessor>,
    limits: &ferrocket_remoting::ServerConfig,
    tls: Arc<ferrocket_remoting::tls::ServerTls>,
) -> Option<RemotingServer> {
    let port = listen_port.checked_sub(2).filter(|p| *p > 0)?;
    let addr = format!("{bind_address}:{port}");
    // the same limits and TLS mode as the main port: it serves the same requests
    let bound =
        RemotingServer::bind_with_options(&addr, processor.clone(), limits.clone(), Some(tls));
    match bound.await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(addr = %addr, error = %e, "the fast remoting port (listenPort - 2) is not served");
            None
        }
    }
}
