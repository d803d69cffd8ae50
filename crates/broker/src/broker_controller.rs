//! `BrokerController`: owns the store, the managers and the server, and drives the broker's
//! life: start, periodic registration and persistence, shutdown.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
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
use crate::pop::{PopReviveService, PopServices};
use crate::processor::client_manage_processor::ClientManageContext;
use crate::processor::consumer_manage_processor::ConsumerManageContext;
use crate::processor::notification_processor::NotificationContext;
use crate::processor::polling_info_processor::PollingInfoContext;
use crate::processor::query_assignment_processor::QueryAssignmentContext;
use crate::processor::{BrokerRequestProcessor, Processors};
use crate::schedule::ScheduleMessageService;
use crate::service::{AdminService, PullService, SendService, TransactionService};
use crate::service::{PopService, SendBackService};
use crate::slave::{SlaveSynchronize, SYNC_INITIAL_DELAY, SYNC_PERIOD};
use crate::stats::broker_stats_manager::{self, BrokerStatsManager};
use crate::subscription::SubscriptionGroupManager;
use crate::timer::{timer_checkpoint, TimerMessageStore};
use crate::topic::{TopicConfigManager, TopicRouteInfoManager};
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
    pop: PopServices,
    registration: Arc<NameServerRegistration>,
    broker_stats_manager: Arc<BrokerStatsManager>,
    slave_synchronize: Arc<SlaveSynchronize>,
    send_service: Arc<SendService>,
    pull_service: Arc<PullService>,
    admin_service: Arc<AdminService>,
    transaction_service: Arc<TransactionService>,
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
    ///
    /// The steps run in dependency order: the config tables and the store first (everything
    /// reads them), then the listeners (the real port becomes the store host stamped into
    /// messages), then registration and the services that need that address, and only then the
    /// dispatcher's processors, the first registration and the periodic tasks.
    pub async fn start(
        broker_config: BrokerConfig,
        store_config: MessageStoreConfig,
    ) -> Result<Arc<BrokerController>, BrokerError> {
        let ip = broker_ip(&broker_config)?;
        let acl_validator = load_acl(&broker_config)?;
        let tables = ConfigTables::open(&broker_config, &store_config.store_path_root_dir)?;
        let stores = StoreServices::open(&store_config)?;
        let clients = ClientTables::new(&broker_config);
        let request_processor = Arc::new(BrokerRequestProcessor::new(
            clients.housekeeping.clone(),
            &broker_config.queues,
        ));
        // the store holds its lock file: a broker that cannot listen closes it again
        let listeners = match Listeners::bind(
            &broker_config,
            &store_config,
            &request_processor,
            &stores.ha,
        )
        .await
        {
            Ok(l) => l,
            Err(e) => {
                stores.store.shutdown();
                return Err(e);
            }
        };
        let mut broker_config = broker_config;
        broker_config.listen_port = listeners.local_addr.port();
        let store_host = SocketAddr::new(ip, listeners.local_addr.port());
        let name_servers = NameServerSide::connect(
            broker_config,
            &store_config,
            store_host,
            listeners.ha_listen_port,
            &tables,
            &stores,
        )?;
        let slave = store_config.broker_role == BrokerRole::Slave;
        let services =
            Services::build(&name_servers, store_host, slave, &tables, &stores, &clients);
        let pop = PopServices::open(
            &store_config.store_path_root_dir,
            &name_servers.config.get(),
            stores.store.clone(),
            store_host,
        )?;
        let controller = Arc::new(BrokerController::assemble(StartedParts {
            store_config,
            acl_validator,
            tables,
            stores,
            clients,
            request_processor: request_processor.clone(),
            listeners,
            store_host,
            name_servers,
            services,
            pop,
        }));
        // the server already accepts connections; until the processors are attached the
        // dispatcher answers SYSTEM_BUSY (the processors need the store host, known once bound)
        request_processor.attach(controller.processors());
        controller.announce_and_register().await;
        controller.start_background_tasks();
        Ok(controller)
    }

    /// Moves what `start` opened, bound and built into the controller.
    fn assemble(parts: StartedParts) -> BrokerController {
        let StartedParts {
            store_config,
            acl_validator,
            tables,
            stores,
            clients,
            request_processor,
            listeners,
            store_host,
            name_servers,
            services,
            pop,
        } = parts;
        BrokerController {
            registration: name_servers.registration,
            broker_config: name_servers.config,
            store_config,
            message_store: stores.store,
            ha_service: stores.ha,
            topic_config_manager: tables.topics,
            config_persist_service: tables.persist,
            subscription_group_manager: tables.groups,
            consumer_offset_manager: tables.offsets,
            consumer_manager: clients.consumers,
            consumer_filter_manager: services.filters,
            producer_manager: clients.producers,
            client_housekeeping_service: clients.housekeeping,
            rebalance_lock_manager: services.locks,
            pull_request_hold_service: stores.hold,
            schedule_message_service: stores.schedule,
            timer_message_store: stores.timer,
            pop,
            broker_stats_manager: services.stats,
            slave_synchronize: name_servers.slave_synchronize,
            send_service: services.send,
            pull_service: services.pull,
            admin_service: services.admin,
            transaction_service: services.transactions,
            request_processor,
            acl_validator,
            local_addr: listeners.local_addr,
            store_host,
            server: Mutex::new(Some(listeners.server)),
            fast_server: Mutex::new(listeners.fast_server),
            tasks: Mutex::new(Vec::new()),
            shutdown_tx: services.shutdown_tx,
            shutting_down: AtomicBool::new(false),
            shutdown_done: tokio::sync::Mutex::new(false),
        }
    }

    /// Logs where the broker listens, then awaits the first registration round, so a client
    /// that sees `start` return finds the broker on the name servers.
    async fn announce_and_register(&self) {
        tracing::info!(
            listen = %self.local_addr,
            broker_addr = %self.broker_addr(),
            broker = %self.broker_config().broker_name,
            cluster = %self.broker_config().broker_cluster_name,
            "broker listening"
        );
        if self.broker_config().namesrv_addrs().is_empty() {
            tracing::warn!(
                "no name server configured (namesrvAddr): clients cannot find this broker"
            );
        } else {
            self.register_broker_all().await;
        }
    }

    /// Spawns the periodic tasks: ACL file watching, registration, offset persistence, client
    /// housekeeping, and either the slave's metadata sync or the master's delayed, timed and
    /// transaction-check delivery. They start after the first registration round, which `start`
    /// awaits itself.
    fn start_background_tasks(self: &Arc<Self>) {
        let mut tasks = self.tasks.lock();
        if let Some(acl) = &self.acl_validator {
            tasks.push(acl.spawn_watcher(ferrocket_acl::WATCH_INTERVAL));
        }
        tasks.push(self.spawn_registration());

        let offsets = self.consumer_offset_manager.clone();
        let orders = self.pop.orders.clone();
        let interval =
            Duration::from_millis(self.broker_config().flush_consumer_offset_interval.max(1));
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let (offsets, orders) = (offsets.clone(), orders.clone());
                let persisted = ferrocket_store::blocking::run_blocking(move || {
                    // the orderly batches in flight go with the offsets they hold back
                    offsets.persist().and_then(|()| orders.persist())
                })
                .await;
                if let Ok(Err(e)) = persisted {
                    tracing::error!(error = %e, "persisting consumer offsets or orderly state failed");
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
            tasks.push(tokio::spawn(self.pop_revive_service().run()));
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

    /// The registration task: a round every `registerNameServerPeriod`, and one soon after a
    /// topic changes. It holds the controller weakly so a dropped broker ends it.
    fn spawn_registration(self: &Arc<Self>) -> JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let period = Duration::from_millis(self.broker_config().register_name_server_period.max(1));
        let topics = self.topic_config_manager.clone();
        let mut stop = self.shutdown_tx.subscribe();
        tokio::spawn(async move {
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
        })
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
            send_back: self.send_back_service(),
            end_transaction: self.transaction_service.clone(),
            pop: self.pop_service(),
            notification: NotificationContext {
                config: self.broker_config.clone(),
                store: self.message_store.clone(),
                topics: self.topic_config_manager.clone(),
                groups: self.subscription_group_manager.clone(),
                offsets: self.consumer_offset_manager.clone(),
                hold: self.pull_request_hold_service.clone(),
                polling: self.pop.polling.clone(),
                shutdown: self.shutdown_tx.subscribe(),
            },
            peek: crate::processor::peek_message_processor::PeekMessageContext {
                config: self.broker_config.clone(),
                store: self.message_store.clone(),
                topics: self.topic_config_manager.clone(),
                groups: self.subscription_group_manager.clone(),
                offsets: self.consumer_offset_manager.clone(),
            },
            polling_info: PollingInfoContext {
                topics: self.topic_config_manager.clone(),
                groups: self.subscription_group_manager.clone(),
                polling: self.pop.polling.clone(),
            },
            query_assignment: QueryAssignmentContext {
                config: self.broker_config.clone(),
                topics: self.topic_config_manager.clone(),
                consumers: self.consumer_manager.clone(),
                request_modes: self.pop.request_modes.clone(),
                routes: Arc::new(TopicRouteInfoManager::new(
                    self.broker_config.clone(),
                    self.registration.clone(),
                )),
            },
            query: self.message_store.clone(),
            admin: self.admin_service.clone(),
            acl: self.acl_validator.clone(),
            slave: self.is_slave(),
        }
    }

    /// The send-back path (retry or dead letter of a failed message) every transport shares.
    pub fn send_back_service(&self) -> Arc<SendBackService> {
        Arc::new(SendBackService {
            config: self.broker_config.clone(),
            store: self.message_store.clone(),
            topics: self.topic_config_manager.clone(),
            groups: self.subscription_group_manager.clone(),
            schedule: self.schedule_message_service.clone(),
            stats: self.broker_stats_manager.clone(),
        })
    }

    /// The POP path (pop, ack, invisible-time change) every transport shares. It holds only
    /// shared managers, so each transport may be given its own handle.
    pub fn pop_service(&self) -> Arc<PopService> {
        Arc::new(PopService {
            config: self.broker_config.clone(),
            store: self.message_store.clone(),
            topics: self.topic_config_manager.clone(),
            groups: self.subscription_group_manager.clone(),
            offsets: self.consumer_offset_manager.clone(),
            filters: self.consumer_filter_manager.clone(),
            hold: self.pull_request_hold_service.clone(),
            locks: self.pop.locks.clone(),
            revive_log: self.pop.revive_log.clone(),
            polling: self.pop.polling.clone(),
            orders: self.pop.orders.clone(),
            shutdown: self.shutdown_tx.subscribe(),
        })
    }

    /// The POP revive service, given the managers it uses.
    fn pop_revive_service(&self) -> Arc<PopReviveService> {
        Arc::new(PopReviveService {
            config: self.broker_config.clone(),
            store: self.message_store.clone(),
            topics: self.topic_config_manager.clone(),
            groups: self.subscription_group_manager.clone(),
            offsets: self.consumer_offset_manager.clone(),
            revive_log: self.pop.revive_log.clone(),
            store_host: self.store_host,
            shutdown: self.shutdown_tx.subscribe(),
        })
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

    /// Controller mode: a slave follows only name server answers naming `master`, the master
    /// the controllers elected (see [`NameServerRegistration::expect_master`]).
    pub fn expect_master(&self, master: Option<String>) {
        self.registration.expect_master(master);
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
        let orders = self.pop.orders.clone();
        let schedule = self.schedule_message_service.clone();
        let timer = self.timer_message_store.clone();
        let flushed = ferrocket_store::blocking::run_blocking(move || {
            persist.shutdown();
            if let Err(e) = offsets.persist() {
                tracing::error!(error = %e, "persisting consumer offsets failed");
            }
            if let Err(e) = orders.persist() {
                tracing::error!(error = %e, "persisting the orderly consumption state failed");
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

    /// Controller mode: hands NOTIFY_BROKER_ROLE_CHANGED and GET_BROKER_EPOCH_CACHE to `handler`.
    pub fn set_controller_mode_handler(&self, handler: crate::processor::ControllerModeHandler) {
        self.request_processor.set_controller_mode_handler(handler);
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

    /// The end-of-transaction service every transport shares.
    pub fn transaction_service(&self) -> &Arc<TransactionService> {
        &self.transaction_service
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

/// `brokerIP1` as an address: with the bound port it is the store host stamped into every
/// message, so a broker with a malformed one does not start.
fn broker_ip(config: &BrokerConfig) -> Result<IpAddr, BrokerError> {
    config.broker_ip1.trim().parse().map_err(|_| {
        BrokerError::InvalidConfig(format!(
            "brokerIP1 '{}' is not an IP address",
            config.broker_ip1
        ))
    })
}

/// The metadata tables under the store root (`config/*.json`) and the thread that writes them.
struct ConfigTables {
    topics: Arc<TopicConfigManager>,
    groups: Arc<SubscriptionGroupManager>,
    offsets: Arc<ConsumerOffsetManager>,
    persist: Arc<ConfigPersistService>,
}

impl ConfigTables {
    /// Loads the topic, subscription group and consumer offset tables, and starts the thread
    /// that writes the first two.
    fn open(broker_config: &BrokerConfig, store_root: &Path) -> Result<Self, BrokerError> {
        let topics = Arc::new(TopicConfigManager::new(
            config_manager::topic_config_path(store_root),
            broker_config,
        )?);
        let groups = Arc::new(SubscriptionGroupManager::new(
            config_manager::subscription_group_path(store_root),
            broker_config.auto_create_subscription_group,
        )?);
        let offsets = Arc::new(ConsumerOffsetManager::new(
            config_manager::consumer_offset_path(store_root),
        )?);
        // the built-in topics (and a new data version) are written at once, off this thread
        topics.dirty_mark().mark();
        let persist = Arc::new(
            ConfigPersistService::start(
                vec![topics.clone() as Arc<dyn PersistentConfig>, groups.clone()],
                CONFIG_PERSIST_DELAY,
            )
            .map_err(|e| BrokerError::InvalidConfig(format!("config persist thread: {e}")))?,
        );
        Ok(ConfigTables {
            topics,
            groups,
            offsets,
            persist,
        })
    }
}

/// The message store and the services working on its records.
struct StoreServices {
    store: Arc<DefaultMessageStore>,
    ha: Arc<HAService>,
    schedule: Arc<ScheduleMessageService>,
    timer: Arc<TimerMessageStore>,
    hold: Arc<PullRequestHoldService>,
}

impl StoreServices {
    /// Opens the store, then the HA service, delayed and timed delivery on top of it; a
    /// failure after the store opened closes it again, releasing its lock file.
    fn open(store_config: &MessageStoreConfig) -> Result<Self, BrokerError> {
        let store_root = &store_config.store_path_root_dir;
        let delay_levels = store_config
            .delay_levels_millis()
            .map_err(|e| BrokerError::InvalidConfig(format!("messageDelayLevel: {e}")))?;
        let store = DefaultMessageStore::open(store_config.clone())
            .map_err(|e| BrokerError::Store(e.to_string()))?;
        let ha = match HAService::new(store.clone()) {
            Ok(h) => h,
            Err(e) => {
                store.shutdown();
                return Err(BrokerError::InvalidConfig(e.to_string()));
            }
        };
        let schedule = match ScheduleMessageService::new(
            store.clone(),
            delay_levels,
            config_manager::delay_offset_path(store_root),
        ) {
            Ok(s) => Arc::new(s),
            Err(e) => {
                store.shutdown();
                return Err(e);
            }
        };
        let timer_check_path = timer_checkpoint::timer_check_path(store_root);
        let timer = match TimerMessageStore::new(store.clone(), timer_check_path.clone()) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                store.shutdown();
                return Err(BrokerError::ConfigLoad {
                    path: timer_check_path,
                    reason: e.to_string(),
                });
            }
        };
        // a put wakes the long-polling pulls parked on its queue
        let hold = Arc::new(PullRequestHoldService::new());
        let parked = hold.clone();
        store.set_message_arriving_listener(Arc::new(
            move |topic: &str, queue_id: i32, _max_offset: i64, tags_code: i64| {
                parked.notify_message_arriving(topic, queue_id, Some(tags_code))
            },
        ));
        Ok(StoreServices {
            store,
            ha,
            schedule,
            timer,
            hold,
        })
    }
}

/// The live client tables and their housekeeping.
struct ClientTables {
    consumers: Arc<ConsumerManager>,
    producers: Arc<ProducerManager>,
    housekeeping: Arc<ClientHousekeepingService>,
}

impl ClientTables {
    fn new(broker_config: &BrokerConfig) -> Self {
        let consumers = Arc::new(ConsumerManager::new(Arc::new(
            DefaultConsumerIdsChangeListener {
                enabled: broker_config.notify_consumer_ids_changed_enable,
            },
        )));
        let producers = Arc::new(ProducerManager::new());
        let housekeeping = Arc::new(ClientHousekeepingService::new(
            consumers.clone(),
            producers.clone(),
            broker_config.channel_expired_timeout,
        ));
        ClientTables {
            consumers,
            producers,
            housekeeping,
        }
    }
}

/// The bound listeners: the remoting port, the fast port, the HA port.
struct Listeners {
    server: RemotingServer,
    fast_server: Option<RemotingServer>,
    local_addr: SocketAddr,
    ha_listen_port: u16,
}

impl Listeners {
    /// Binds the remoting server, then the HA port (whose default is the remoting port + 1),
    /// then the fast port (remoting port - 2). On failure what was bound is shut down; the
    /// caller closes the store.
    async fn bind(
        broker_config: &BrokerConfig,
        store_config: &MessageStoreConfig,
        processor: &Arc<BrokerRequestProcessor>,
        ha_service: &Arc<HAService>,
    ) -> Result<Listeners, BrokerError> {
        let tls = broker_config
            .tls
            .server()
            .map_err(|e| BrokerError::InvalidConfig(e.to_string()))?;
        let bind = format!(
            "{}:{}",
            broker_config.bind_address, broker_config.listen_port
        );
        let bound = RemotingServer::bind_with_options(
            &bind,
            processor.clone(),
            broker_config.server.clone(),
            Some(tls.clone()),
        )
        .await;
        let server = bound.map_err(|source| BrokerError::Bind { addr: bind, source })?;
        let local_addr = server.local_addr();
        let ha_tls = match ha_tls(broker_config, tls.clone()) {
            Ok(t) => t,
            Err(e) => {
                server.shutdown();
                return Err(e);
            }
        };
        let ha_listen_port = match start_ha(broker_config, store_config, ha_service, ha_tls) {
            Ok(port) => port,
            Err(e) => {
                server.shutdown();
                ha_service.shutdown();
                return Err(e);
            }
        };
        // with a free port picked by the OS (listenPort=0) its neighbour is nobody's to take
        let fast_server = if broker_config.listen_port == 0 {
            None
        } else {
            let port = local_addr.port();
            bind_fast_server(
                &broker_config.bind_address,
                port,
                processor,
                &broker_config.server,
                tls,
            )
            .await
        };
        Ok(Listeners {
            server,
            fast_server,
            local_addr,
            ha_listen_port,
        })
    }
}

/// The HA port follows the remoting port's TLS settings; the slave connects to its master as
/// the broker does to name servers.
fn ha_tls(
    broker_config: &BrokerConfig,
    server: Arc<ferrocket_remoting::tls::ServerTls>,
) -> Result<ferrocket_ha::HaTls, BrokerError> {
    let client = if broker_config.tls.client_uses_tls() {
        let config = broker_config
            .tls
            .client_config()
            .map_err(|e| BrokerError::InvalidConfig(e.to_string()))?;
        Some(config)
    } else {
        None
    };
    Ok(ferrocket_ha::HaTls {
        server: Some(server),
        client,
    })
}

/// Starts the HA service and returns its port: `haListenPort` wins; else `listenPort + 1`; a
/// free port when both ports are left to the OS.
fn start_ha(
    broker_config: &BrokerConfig,
    store_config: &MessageStoreConfig,
    ha_service: &Arc<HAService>,
    tls: ferrocket_ha::HaTls,
) -> Result<u16, BrokerError> {
    let ha_port = match (store_config.ha_listen_port, broker_config.listen_port) {
        (0, 0) => 0,
        (_, configured) => store_config.resolved_ha_listen_port(configured),
    };
    let ha_bind = format!("{}:{}", broker_config.bind_address, ha_port);
    match ha_service.start_with_tls(&ha_bind, tls) {
        Ok(addr) => Ok(addr.port()),
        Err(ferrocket_ha::HaError::Bind { addr, source }) => {
            Err(BrokerError::Bind { addr, source })
        }
        Err(other) => Err(BrokerError::InvalidConfig(other.to_string())),
    }
}

/// The live settings and what talks to name servers (and, on a slave, to the master).
struct NameServerSide {
    config: SharedBrokerConfig,
    registration: Arc<NameServerRegistration>,
    slave_synchronize: Arc<SlaveSynchronize>,
}

impl NameServerSide {
    /// Builds registration and the slave's synchronizer; both announce `store_host`, so this
    /// runs once the remoting port is bound. `broker_config` becomes the live settings.
    fn connect(
        broker_config: BrokerConfig,
        store_config: &MessageStoreConfig,
        store_host: SocketAddr,
        ha_listen_port: u16,
        tables: &ConfigTables,
        stores: &StoreServices,
    ) -> Result<Self, BrokerError> {
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
            tables.topics.clone(),
            tables.groups.clone(),
            tables.offsets.clone(),
            stores.schedule.clone(),
        ));
        let broker_outer_api = BrokerOuterAPI::new(
            broker_config.register_broker_timeout_mills,
            broker_config.inner_client_credentials.clone(),
            outer_tls,
        );
        let config = SharedBrokerConfig::new(broker_config);
        let registration = Arc::new(NameServerRegistration::new(
            config.clone(),
            tables.topics.clone(),
            broker_outer_api,
            slave_synchronize.clone(),
            stores.ha.clone(),
            store_host,
            ha_listen_port,
            store_config.broker_role == BrokerRole::Slave,
            store_config.ha_master_address.as_deref(),
        ));
        Ok(NameServerSide {
            config,
            registration,
            slave_synchronize,
        })
    }
}

/// The services every transport shares, and the managers only they need.
struct Services {
    send: Arc<SendService>,
    pull: Arc<PullService>,
    admin: Arc<AdminService>,
    transactions: Arc<TransactionService>,
    filters: Arc<ConsumerFilterManager>,
    locks: Arc<RebalanceLockManager>,
    stats: Arc<BrokerStatsManager>,
    /// Held pulls watch it to answer at once on shutdown.
    shutdown_tx: watch::Sender<bool>,
}

impl Services {
    /// Builds the send, pull and admin services, each from the managers it uses.
    fn build(
        name_servers: &NameServerSide,
        store_host: SocketAddr,
        slave: bool,
        tables: &ConfigTables,
        stores: &StoreServices,
        clients: &ClientTables,
    ) -> Self {
        let config = &name_servers.config;
        let (shutdown_tx, _) = watch::channel(false);
        let locks = Arc::new(RebalanceLockManager::new());
        let stats = Arc::new(BrokerStatsManager::new());
        let send = Arc::new(SendService {
            config: config.clone(),
            store: stores.store.clone(),
            topics: tables.topics.clone(),
            groups: tables.groups.clone(),
            locks: locks.clone(),
            timer: stores.timer.clone(),
            schedule: stores.schedule.clone(),
            stats: stats.clone(),
            store_host,
            slave,
        });
        let filters = Arc::new(ConsumerFilterManager::new());
        let pull = Arc::new(PullService {
            config: config.clone(),
            store: stores.store.clone(),
            topics: tables.topics.clone(),
            groups: tables.groups.clone(),
            consumers: clients.consumers.clone(),
            filters: filters.clone(),
            offsets: tables.offsets.clone(),
            hold: stores.hold.clone(),
            stats: stats.clone(),
            shutdown: shutdown_tx.subscribe(),
            store_host,
            slave,
        });
        let admin = Arc::new(AdminService {
            config: config.clone(),
            registration: name_servers.registration.clone(),
            store: stores.store.clone(),
            ha: stores.ha.clone(),
            topics: tables.topics.clone(),
            groups: tables.groups.clone(),
            offsets: tables.offsets.clone(),
            consumers: clients.consumers.clone(),
            producers: clients.producers.clone(),
            locks: locks.clone(),
            schedule: stores.schedule.clone(),
            stats: stats.clone(),
            store_host,
            slave,
            boot_timestamp: ferrocket_protocol::util::now_millis(),
            config_updater: RwLock::new(None),
        });
        let transactions = Arc::new(TransactionService {
            store: stores.store.clone(),
            timer: stores.timer.clone(),
            schedule: stores.schedule.clone(),
            stats: stats.clone(),
            store_host,
        });
        Services {
            send,
            pull,
            admin,
            transactions,
            filters,
            locks,
            stats,
            shutdown_tx,
        }
    }
}

/// Everything `start` opened, bound and built, before it becomes the controller.
struct StartedParts {
    store_config: MessageStoreConfig,
    acl_validator: Option<Arc<PlainAccessValidator>>,
    tables: ConfigTables,
    stores: StoreServices,
    clients: ClientTables,
    request_processor: Arc<BrokerRequestProcessor>,
    listeners: Listeners,
    store_host: SocketAddr,
    name_servers: NameServerSide,
    services: Services,
    pop: PopServices,
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
