//! `BrokerConfig`: the broker settings RocketMQ users know, with RocketMQ's defaults.

use std::sync::Arc;

use ferrocket_remoting::ServerConfig;
use parking_lot::RwLock;

/// Broker-level settings (the store's settings live in `ferrocket_store::MessageStoreConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerConfig {
    /// `brokerClusterName`.
    pub broker_cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId`: 0 for a master.
    pub broker_id: i64,
    /// `brokerIP1`: the address advertised to clients.
    pub broker_ip1: String,
    /// `listenPort`: 0 picks a free port.
    pub listen_port: u16,
    /// `bindAddress` (RocketMQ `NettyServerConfig`): the interface to listen on.
    pub bind_address: String,
    /// `namesrvAddr`: `;`-separated name server addresses.
    pub namesrv_addr: Option<String>,
    /// `autoCreateTopicEnable`.
    pub auto_create_topic_enable: bool,
    /// `autoCreateSubscriptionGroup`.
    pub auto_create_subscription_group: bool,
    /// `defaultTopicQueueNums`: queues of TBW102.
    pub default_topic_queue_nums: i32,
    /// `clusterTopicEnable`.
    pub cluster_topic_enable: bool,
    /// `brokerTopicEnable`.
    pub broker_topic_enable: bool,
    /// `brokerPermission`.
    pub broker_permission: i32,
    /// `registerNameServerPeriod` (ms).
    pub register_name_server_period: u64,
    /// `registerBrokerTimeoutMills` (ms).
    pub register_broker_timeout_mills: u64,
    /// `flushConsumerOffsetInterval` (ms).
    pub flush_consumer_offset_interval: u64,
    /// `longPollingEnable`.
    pub long_polling_enable: bool,
    /// `shortPollingTimeMills` (ms).
    pub short_polling_time_mills: u64,
    /// `notifyConsumerIdsChangedEnable`.
    pub notify_consumer_ids_changed_enable: bool,
    /// `regionId`: returned as MSG_REGION and stored in every message's MSG_REGION property.
    pub region_id: String,
    /// `traceOn`: returned as TRACE_ON and stored in every message's TRACE_ON property.
    pub trace_on: bool,
    /// `traceTopicEnable`: create `msgTraceTopicName` (one queue) at start, as a system topic.
    pub trace_topic_enable: bool,
    /// `msgTraceTopicName`: the trace topic `traceTopicEnable` creates.
    pub msg_trace_topic_name: String,
    /// `storeReplyMessageEnable`: replies are stored in `<cluster>_REPLY_TOPIC` as well as pushed.
    pub store_reply_message_enable: bool,
    /// `channelExpiredTimeout` (ms): clients silent this long are dropped.
    pub channel_expired_timeout: u64,
    /// `enablePropertyFilter`: SQL92 subscriptions.
    pub enable_property_filter: bool,
    /// `rejectTransactionMessage`.
    pub reject_transaction_message: bool,
    /// `transactionTimeOut` (ms): a half message younger than this is not checked yet.
    pub transaction_time_out: u64,
    /// `transactionCheckMax`: checks before a half message is discarded.
    pub transaction_check_max: i32,
    /// `transactionCheckInterval` (ms): period of the transaction check-back.
    pub transaction_check_interval: u64,
    /// `slaveReadEnable`: a master may send consumers of data that left the page cache to a
    /// slave, and a slave serves pulls while its master is alive.
    pub slave_read_enable: bool,
    /// `consoleEnable` (Ferrocket's own key): serve the web console and `/metrics`.
    pub console_enable: bool,
    /// `consolePort` (Ferrocket's own key): HTTP port of the console; 0 picks a free port.
    pub console_port: u16,
    /// `consoleListenAddress` (Ferrocket's own key): interface the console listens on.
    pub console_listen_address: String,
    /// `aclEnable`: check every request against plain_acl.yml (RocketMQ ACL 1.0).
    pub acl_enable: bool,
    /// Where plain_acl.yml is (`aclPlainFile`, Ferrocket's name for RocketMQ's
    /// `-Drocketmq.acl.plain.file`); the binary fills in the default location.
    pub acl_plain_file: Option<String>,
    /// `innerClientAuthenticationCredentials`: the account the broker signs its requests to the
    /// name servers with, as `{"accessKey":"…","secretKey":"…"}`.
    pub inner_client_credentials: Option<ferrocket_acl::SessionCredentials>,
    /// `consoleLoginRequired` (Ferrocket's own key): ask for a login on loopback too (it is
    /// always asked for when the console listens on another interface).
    pub console_login_required: bool,
    /// `consoleUser` / `consolePasswordHash` (Ferrocket's own keys): the console account that
    /// may change things; the hash is an Argon2 PHC string (`ferrocket console-password-hash`).
    pub console_user: Option<String>,
    /// See `console_user`.
    pub console_password_hash: Option<String>,
    /// `consoleReadOnlyUser` / `consoleReadOnlyPasswordHash`: an account that may only look.
    pub console_read_only_user: Option<String>,
    /// See `console_read_only_user`.
    pub console_read_only_password_hash: Option<String>,
    /// `consoleAllowedHosts` (comma-separated): host names the console answers to besides
    /// loopback names, its listen address and `brokerIP1` (a DNS-rebinding defence).
    pub console_allowed_hosts: String,
    /// RocketMQ's TLS settings (`tls.server.mode`, `tls.server.certPath`, ...), for the
    /// remoting port and the broker's connections to name servers.
    pub tls: ferrocket_remoting::TlsSettings,
    /// Limits of the remoting port (`serverChannelMaxIdleTimeSeconds`, `serverMaxConnections`,
    /// ...): RocketMQ's `NettyServerConfig`, read from the same file.
    pub server: ServerConfig,
    /// Bounded request queues and fast failure (`sendThreadPoolQueueCapacity`, ...).
    pub queues: RequestQueueConfig,
    /// RocketMQ 5 controller mode (`enableControllerMode` and the keys around it).
    pub controller_mode: ControllerModeConfig,
    /// The gRPC endpoint for the RocketMQ 5 clients (`grpcServerPort`, ...).
    pub grpc: GrpcServerSettings,
    /// Server-side renewal of the receipt handles of RocketMQ 5 push consumers
    /// (`enableProxyAutoRenew`, `renewAheadTimeMillis`, ...).
    pub receipt_renew: ReceiptRenewSettings,
    /// `reviveQueueNum`: queues of the POP revive topic `rmq_sys_REVIVE_LOG_<cluster>`.
    pub revive_queue_num: i32,
    /// `reviveInterval` (ms): period of the POP revive scan.
    pub revive_interval: u64,
    /// `popFromRetryProbability` (percent): share of pops that read the pop retry topic first.
    pub pop_from_retry_probability: i32,
    /// `defaultMessageRequestMode`: `PULL` or `POP` for groups no SET_MESSAGE_REQUEST_MODE named.
    pub default_message_request_mode: String,
    /// `maxPopPollingSize`: parked POP requests at most; more are answered POLLING_FULL.
    pub max_pop_polling_size: usize,
}

/// The gRPC endpoint (`apache.rocketmq.v2.MessagingService`) the broker serves to the RocketMQ 5
/// clients, as Apache's proxy does in its local mode; the keys are Apache's `ProxyConfig` keys
/// where one exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcServerSettings {
    /// `grpcServerEnable` (Ferrocket's own key, default true): serve the gRPC port.
    pub enable: bool,
    /// `grpcServerPort` (Apache's proxy key and default, 8081); 0 picks a free port.
    pub port: u16,
    /// `grpcMaxInboundMessageSize`: the largest gRPC request message, bytes. Apache's proxy
    /// allows 130 MiB; Ferrocket keeps the remoting frame limit, 16 MiB, so one request can
    /// commit no more memory on this port than on the remoting port.
    pub max_inbound_message_size: usize,
    /// `tlsCertPath` / `tlsKeyPath` (Apache's proxy keys): the PEM certificate chain and key of
    /// the gRPC port; unset, it uses the remoting port's `tls.server.certPath` / `keyPath`.
    pub tls_cert_path: Option<String>,
    /// See `tls_cert_path`.
    pub tls_key_path: Option<String>,
    /// `tlsTestModeEnable` (Apache's proxy key, default true): without a certificate, the gRPC
    /// port makes a self-signed one at start; false makes a missing certificate an error.
    pub tls_test_mode_enable: bool,
}

impl Default for GrpcServerSettings {
    fn default() -> Self {
        GrpcServerSettings {
            enable: true,
            port: 8081,
            max_inbound_message_size: 16 * 1024 * 1024,
            tls_cert_path: None,
            tls_key_path: None,
            tls_test_mode_enable: true,
        }
    }
}

/// How the gRPC endpoint keeps the messages of a RocketMQ 5 push consumer invisible while its
/// listener runs: a receive with `auto_renew` pops for `defaultInvisibleTimeMills` and the
/// server extends that time until the message is acknowledged. The keys and defaults are those
/// of Apache's `ProxyConfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRenewSettings {
    /// `enableProxyAutoRenew` (true): honour `auto_renew`; when false such a receive must carry
    /// its own invisible duration, as any other.
    pub enable_proxy_auto_renew: bool,
    /// `defaultInvisibleTimeMills` (60 s): the invisible time of a receive with `auto_renew`.
    pub default_invisible_time_mills: u64,
    /// `renewAheadTimeMillis` (10 s): a handle is renewed once its message would become
    /// visible within this time.
    pub renew_ahead_time_millis: u64,
    /// `renewMaxTimeMillis` (3 h): after this long since its receive a message is no longer
    /// renewed; it is handed back for a later delivery as after a failed consumption.
    pub renew_max_time_millis: u64,
    /// `renewSchedulePeriodMillis` (5 s): the pause between two scans for handles to renew.
    pub renew_schedule_period_millis: u64,
    /// `maxRenewRetryTimes` (3): failed renewals in a row after which a handle is given up.
    pub max_renew_retry_times: u32,
    /// `invisibleTimeMillisWhenClear` (1 s): the invisible time left to the messages of a
    /// consumer that went away, so another member gets them soon.
    pub invisible_time_millis_when_clear: u64,
    /// `lockTimeoutMsInHandleGroup` (3 s): how long an ack waits for a renewal of its message
    /// in flight, to use the handle it produces.
    pub lock_timeout_ms_in_handle_group: u64,
    /// `renewMaxThreadPoolNums` (4): renewals in flight at once.
    pub renew_max_thread_pool_nums: usize,
    /// `renewThreadPoolQueueCapacity` (300): renewals waiting for their turn in one scan; the
    /// least urgent ones beyond it wait for the next scan.
    pub renew_thread_pool_queue_capacity: usize,
}

impl Default for ReceiptRenewSettings {
    fn default() -> Self {
        ReceiptRenewSettings {
            enable_proxy_auto_renew: true,
            default_invisible_time_mills: 60_000,
            renew_ahead_time_millis: 10_000,
            renew_max_time_millis: 3 * 3_600_000,
            renew_schedule_period_millis: 5_000,
            max_renew_retry_times: 3,
            invisible_time_millis_when_clear: 1_000,
            lock_timeout_ms_in_handle_group: 3_000,
            renew_max_thread_pool_nums: 4,
            renew_thread_pool_queue_capacity: 300,
        }
    }
}

/// The per-processor request queues of RocketMQ's `BrokerConfig`, with its keys and defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestQueueConfig {
    /// `sendMessageThreadPoolNums` (RocketMQ 5 default 64): sends processed at once; the rest
    /// wait in the send queue.
    pub send_message_thread_pool_nums: usize,
    /// `sendThreadPoolQueueCapacity` (10 000): sends waiting; beyond it SYSTEM_BUSY `[OVERLOAD]`.
    pub send_thread_pool_queue_capacity: usize,
    /// `pullThreadPoolQueueCapacity` (100 000): pulls in the broker, parked long polls included.
    pub pull_thread_pool_queue_capacity: usize,
    /// `litePullThreadPoolQueueCapacity` (100 000): LITE_PULL_MESSAGE, as pulls.
    pub lite_pull_thread_pool_queue_capacity: usize,
    /// `pullMessageThreadPoolNums` (16 + 2 × cores): pulls reading at once (a pull parked for
    /// long polling gives its worker back).
    pub pull_message_thread_pool_nums: usize,
    /// `litePullMessageThreadPoolNums` (16 + 2 × cores).
    pub lite_pull_message_thread_pool_nums: usize,
    /// `heartbeatThreadPoolNums` (min(32, cores)).
    pub heartbeat_thread_pool_nums: usize,
    /// `endTransactionThreadPoolNums` (max(8 + 2 × cores, 4 × the default send workers)).
    pub end_transaction_thread_pool_nums: usize,
    /// `queryThreadPoolQueueCapacity` (20 000): QUERY_MESSAGE / VIEW_MESSAGE_BY_ID.
    pub query_thread_pool_queue_capacity: usize,
    /// `clientManagerThreadPoolQueueCapacity` (1 000 000): UNREGISTER_CLIENT, CHECK_CLIENT_CONFIG.
    pub client_manager_thread_pool_queue_capacity: usize,
    /// `consumerManagerThreadPoolQueueCapacity` (1 000 000): consumer list and offsets.
    pub consumer_manager_thread_pool_queue_capacity: usize,
    /// `heartbeatThreadPoolQueueCapacity` (50 000).
    pub heartbeat_thread_pool_queue_capacity: usize,
    /// `endTransactionPoolQueueCapacity` (100 000).
    pub end_transaction_pool_queue_capacity: usize,
    /// `adminBrokerThreadPoolQueueCapacity` (10 000): every other request.
    pub admin_broker_thread_pool_queue_capacity: usize,
    /// `brokerFastFailureEnable` (true): answer sends that waited too long SYSTEM_BUSY
    /// `[TIMEOUT_CLEAN_QUEUE]` instead of processing them late.
    pub broker_fast_failure_enable: bool,
    /// `waitTimeMillsInSendQueue` (200 ms): the longest a send may wait in its queue.
    pub wait_time_mills_in_send_queue: u64,
    /// `waitTimeMillsInPullQueue` (5 000 ms).
    pub wait_time_mills_in_pull_queue: u64,
    /// `waitTimeMillsInLitePullQueue` (5 000 ms).
    pub wait_time_mills_in_lite_pull_queue: u64,
    /// `waitTimeMillsInHeartbeatQueue` (31 000 ms).
    pub wait_time_mills_in_heartbeat_queue: u64,
    /// `waitTimeMillsInTransactionQueue` (3 000 ms).
    pub wait_time_mills_in_transaction_queue: u64,
}

impl Default for RequestQueueConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let send_message_thread_pool_nums = 64;
        RequestQueueConfig {
            send_message_thread_pool_nums,
            send_thread_pool_queue_capacity: 10_000,
            pull_thread_pool_queue_capacity: 100_000,
            lite_pull_thread_pool_queue_capacity: 100_000,
            pull_message_thread_pool_nums: 16 + 2 * cores,
            lite_pull_message_thread_pool_nums: 16 + 2 * cores,
            heartbeat_thread_pool_nums: cores.min(32),
            end_transaction_thread_pool_nums: (8 + 2 * cores)
                .max(4 * send_message_thread_pool_nums),
            query_thread_pool_queue_capacity: 20_000,
            client_manager_thread_pool_queue_capacity: 1_000_000,
            consumer_manager_thread_pool_queue_capacity: 1_000_000,
            heartbeat_thread_pool_queue_capacity: 50_000,
            end_transaction_pool_queue_capacity: 100_000,
            admin_broker_thread_pool_queue_capacity: 10_000,
            broker_fast_failure_enable: true,
            wait_time_mills_in_send_queue: 200,
            wait_time_mills_in_pull_queue: 5_000,
            wait_time_mills_in_lite_pull_queue: 5_000,
            wait_time_mills_in_heartbeat_queue: 31_000,
            wait_time_mills_in_transaction_queue: 3_000,
        }
    }
}

/// Controller mode: the broker's id and role come from a controller quorum, which elects a new
/// master among the sync state set when the master stops heart-beating. Keys and defaults are
/// RocketMQ 5's (`BrokerConfig` and, for the last five, `MessageStoreConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerModeConfig {
    /// `enableControllerMode`.
    pub enable_controller_mode: bool,
    /// `controllerAddr`: `;`-separated controller addresses.
    pub controller_addr: String,
    /// `syncBrokerMetadataPeriod` (ms): how often the broker reads its set's master from the
    /// controller leader.
    pub sync_broker_metadata_period: u64,
    /// `checkSyncStateSetPeriod` (ms): how often a master reviews its sync state set.
    pub check_sync_state_set_period: u64,
    /// `brokerHeartbeatInterval` (ms) between BROKER_HEARTBEATs to every controller.
    pub broker_heartbeat_interval: u64,
    /// `controllerHeartBeatTimeoutMills` (ms): sent with each heartbeat; a controller that hears
    /// nothing for this long counts the broker as gone.
    pub controller_heart_beat_timeout_mills: u64,
    /// `brokerElectionPriority`: lower wins among equally caught-up candidates.
    pub broker_election_priority: i32,
    /// `haMaxTimeSlaveNotCatchup` (ms): a slave that has not caught up for this long leaves the
    /// sync state set.
    pub ha_max_time_slave_not_catchup: u64,
    /// `allAckInSyncStateSet`: a send is SEND_OK only once every sync-state-set member has it.
    pub all_ack_in_sync_state_set: bool,
    /// `minInSyncReplicas`: fewer sync-state-set members (master included) refuse sends.
    pub min_in_sync_replicas: usize,
    /// `inSyncReplicas`: replicas (master included) a send waits for without
    /// `allAckInSyncStateSet`.
    pub in_sync_replicas: usize,
    /// `enableAutoInSyncReplicas`: lower `inSyncReplicas` to the sync state set's size.
    pub enable_auto_in_sync_replicas: bool,
    /// Ferrocket's `compareEpochsBeforeOpen`: before opening its store as a slave, ask the
    /// master for its epochs over the remoting port (GET_BROKER_EPOCH_CACHE) and cut the log at
    /// open where they disagree. Off, the HA handshake finds the cut and the broker reopens.
    pub compare_epochs_before_open: bool,
    /// Not a key: the master epoch the broker runs under, set by the process that opens it in
    /// its role. Sent as the topic DataVersion's `stateVersion`, as RocketMQ's
    /// `nextVersion(masterEpoch)` does, so that a name server takes a newly elected master's
    /// registration over the deposed master's (it keeps the higher `stateVersion` of one id).
    pub registration_state_version: i64,
}

impl Default for ControllerModeConfig {
    fn default() -> Self {
        ControllerModeConfig {
            enable_controller_mode: false,
            controller_addr: String::new(),
            sync_broker_metadata_period: 5_000,
            check_sync_state_set_period: 5_000,
            broker_heartbeat_interval: 1_000,
            controller_heart_beat_timeout_mills: 10_000,
            broker_election_priority: i32::MAX,
            ha_max_time_slave_not_catchup: 15_000,
            all_ack_in_sync_state_set: false,
            min_in_sync_replicas: 1,
            in_sync_replicas: 1,
            enable_auto_in_sync_replicas: false,
            compare_epochs_before_open: true,
            registration_state_version: 0,
        }
    }
}

impl ControllerModeConfig {
    /// The controller addresses of `controllerAddr`.
    pub fn controller_addrs(&self) -> Vec<String> {
        self.controller_addr
            .split(';')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect()
    }
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_cluster_name: "DefaultCluster".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            broker_ip1: "127.0.0.1".into(),
            listen_port: 10911,
            bind_address: "0.0.0.0".into(),
            namesrv_addr: None,
            auto_create_topic_enable: true,
            auto_create_subscription_group: true,
            default_topic_queue_nums: 8,
            cluster_topic_enable: true,
            broker_topic_enable: true,
            broker_permission: 6,
            register_name_server_period: 30_000,
            register_broker_timeout_mills: 24_000,
            flush_consumer_offset_interval: 5_000,
            long_polling_enable: true,
            short_polling_time_mills: 1_000,
            notify_consumer_ids_changed_enable: true,
            region_id: "DefaultRegion".into(),
            trace_on: true,
            trace_topic_enable: false,
            msg_trace_topic_name: crate::topic::topic_validator::RMQ_SYS_TRACE_TOPIC.into(),
            store_reply_message_enable: true,
            channel_expired_timeout: 120_000,
            enable_property_filter: false,
            reject_transaction_message: false,
            transaction_time_out: 6_000,
            transaction_check_max: 15,
            transaction_check_interval: 30_000,
            slave_read_enable: false,
            console_enable: true,
            console_port: 8080,
            console_listen_address: "127.0.0.1".into(),
            acl_enable: false,
            acl_plain_file: None,
            inner_client_credentials: None,
            console_login_required: false,
            console_user: None,
            console_password_hash: None,
            console_read_only_user: None,
            console_read_only_password_hash: None,
            console_allowed_hosts: String::new(),
            tls: ferrocket_remoting::TlsSettings::default(),
            server: ServerConfig::default(),
            queues: RequestQueueConfig::default(),
            controller_mode: ControllerModeConfig::default(),
            grpc: GrpcServerSettings::default(),
            receipt_renew: ReceiptRenewSettings::default(),
            revive_queue_num: 8,
            revive_interval: 1000,
            pop_from_retry_probability: 20,
            default_message_request_mode: "PULL".into(),
            max_pop_polling_size: 100_000,
        }
    }
}

impl BrokerConfig {
    /// `ip:port` clients are told to use.
    pub fn broker_addr(&self) -> String {
        format!("{}:{}", self.broker_ip1, self.listen_port)
    }

    /// The name server addresses, split on `;`.
    pub fn namesrv_addrs(&self) -> Vec<String> {
        self.namesrv_addr
            .as_deref()
            .unwrap_or("")
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    }
}

/// What UPDATE_BROKER_CONFIG changed.
#[derive(Debug, Clone)]
pub struct BrokerConfigUpdate {
    /// The settings to run with from now on.
    pub config: BrokerConfig,
    /// Keys that were saved but take effect only after a restart.
    pub after_restart: Vec<String>,
}

/// Applies and persists UPDATE_BROKER_CONFIG (RocketMQ `Configuration.update` + `persist`). The
/// binary implements it: it owns the table of config keys and knows the config file.
pub trait BrokerConfigUpdater: Send + Sync {
    /// Applies `properties` (a properties text) to `current` and saves the result; an unknown key
    /// or a bad value is an error naming it, and then nothing is changed.
    fn update(
        &self,
        current: &BrokerConfig,
        properties: &str,
    ) -> Result<BrokerConfigUpdate, String>;
}

/// The live broker settings, shared by the controller and the services it hands them to.
///
/// UPDATE_BROKER_CONFIG swaps the whole value; readers take a snapshot per request, so one
/// request never sees half of an update.
#[derive(Debug, Clone)]
pub struct SharedBrokerConfig(Arc<RwLock<Arc<BrokerConfig>>>);

impl SharedBrokerConfig {
    /// A handle holding `config`.
    pub fn new(config: BrokerConfig) -> Self {
        SharedBrokerConfig(Arc::new(RwLock::new(Arc::new(config))))
    }

    /// A snapshot of the current settings.
    pub fn get(&self) -> Arc<BrokerConfig> {
        self.0.read().clone()
    }

    /// Replaces the settings for every holder of this handle.
    pub fn replace(&self, config: BrokerConfig) {
        *self.0.write() = Arc::new(config);
    }
}
