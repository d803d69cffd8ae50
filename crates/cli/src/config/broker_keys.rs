//! The `BrokerConfig` keys of a RocketMQ broker properties file.

use ferrocket_broker::BrokerConfig;

use super::keys::{at_least, boolean, config_keys, integer, non_empty, optional, text, ConfigKey};

/// Every `BrokerConfig` key Ferrocket reads, with its parser.
pub const BROKER_KEYS: &[ConfigKey<BrokerConfig>] = config_keys!(BrokerConfig;
    "brokerClusterName" => broker_cluster_name: non_empty,
    "brokerName" => broker_name: non_empty,
    "brokerId" => broker_id: at_least(0i64),
    "brokerIP1" => broker_ip1: non_empty,
    "listenPort" => listen_port: integer::<u16>,
    "bindAddress" => bind_address: non_empty,
    "namesrvAddr" => namesrv_addr: optional,
    "autoCreateTopicEnable" => auto_create_topic_enable: boolean,
    "autoCreateSubscriptionGroup" => auto_create_subscription_group: boolean,
    "defaultTopicQueueNums" => default_topic_queue_nums: at_least(1i32),
    "clusterTopicEnable" => cluster_topic_enable: boolean,
    "brokerTopicEnable" => broker_topic_enable: boolean,
    "brokerPermission" => broker_permission: permission,
    "registerNameServerPeriod" => register_name_server_period: at_least(1u64),
    "registerBrokerTimeoutMills" => register_broker_timeout_mills: at_least(1u64),
    "flushConsumerOffsetInterval" => flush_consumer_offset_interval: at_least(1u64),
    "longPollingEnable" => long_polling_enable: boolean,
    "shortPollingTimeMills" => short_polling_time_mills: integer::<u64>,
    "notifyConsumerIdsChangedEnable" => notify_consumer_ids_changed_enable: boolean,
    "regionId" => region_id: text,
    "traceOn" => trace_on: boolean,
    "traceTopicEnable" => trace_topic_enable: boolean,
    "msgTraceTopicName" => msg_trace_topic_name: non_empty,
    "storeReplyMessageEnable" => store_reply_message_enable: boolean,
    "channelExpiredTimeout" => channel_expired_timeout: at_least(1u64),
    "enablePropertyFilter" => enable_property_filter: boolean,
    "rejectTransactionMessage" => reject_transaction_message: boolean,
    "slaveReadEnable" => slave_read_enable: boolean,
    "consoleEnable" => console_enable: boolean,
    "consolePort" => console_port: integer::<u16>,
    "consoleListenAddress" => console_listen_address: non_empty,
    "consoleLoginRequired" => console_login_required: boolean,
    "consoleUser" => console_user: optional,
    "consolePasswordHash" => console_password_hash: optional,
    "consoleReadOnlyUser" => console_read_only_user: optional,
    "consoleReadOnlyPasswordHash" => console_read_only_password_hash: optional,
    "consoleAllowedHosts" => console_allowed_hosts: text,
    "transactionTimeOut" => transaction_time_out: at_least(1u64),
    "transactionCheckMax" => transaction_check_max: at_least(1i32),
    "transactionCheckInterval" => transaction_check_interval: at_least(1u64),
    "aclEnable" => acl_enable: boolean,
    "aclPlainFile" => acl_plain_file: optional,
    "innerClientAuthenticationCredentials" => inner_client_credentials: credentials,
    // controller mode
    "enableControllerMode" => controller_mode.enable_controller_mode: boolean,
    "controllerAddr" => controller_mode.controller_addr: text,
    "syncBrokerMetadataPeriod" => controller_mode.sync_broker_metadata_period: at_least(1u64),
    "checkSyncStateSetPeriod" => controller_mode.check_sync_state_set_period: at_least(1u64),
    "brokerHeartbeatInterval" => controller_mode.broker_heartbeat_interval: at_least(1u64),
    "controllerHeartBeatTimeoutMills" => controller_mode.controller_heart_beat_timeout_mills: at_least(1u64),
    "brokerElectionPriority" => controller_mode.broker_election_priority: integer::<i32>,
    "haMaxTimeSlaveNotCatchup" => controller_mode.ha_max_time_slave_not_catchup: at_least(1u64),
    "allAckInSyncStateSet" => controller_mode.all_ack_in_sync_state_set: boolean,
    "minInSyncReplicas" => controller_mode.min_in_sync_replicas: at_least(1usize),
    "inSyncReplicas" => controller_mode.in_sync_replicas: at_least(1usize),
    "enableAutoInSyncReplicas" => controller_mode.enable_auto_in_sync_replicas: boolean,
    "compareEpochsBeforeOpen" => controller_mode.compare_epochs_before_open: boolean,
    // POP consumption
    "reviveQueueNum" => revive_queue_num: at_least(1i32),
    "reviveInterval" => revive_interval: at_least(1u64),
    "popFromRetryProbability" => pop_from_retry_probability: integer::<i32>,
    "defaultMessageRequestMode" => default_message_request_mode: request_mode,
    "maxPopPollingSize" => max_pop_polling_size: at_least(1usize),
    // server-side renewal of the RocketMQ 5 push consumers' receipt handles (Apache's proxy keys)
    "enableProxyAutoRenew" => receipt_renew.enable_proxy_auto_renew: boolean,
    "defaultInvisibleTimeMills" => receipt_renew.default_invisible_time_mills: at_least(1u64),
    "renewAheadTimeMillis" => receipt_renew.renew_ahead_time_millis: integer::<u64>,
    "renewMaxTimeMillis" => receipt_renew.renew_max_time_millis: integer::<u64>,
    "renewSchedulePeriodMillis" => receipt_renew.renew_schedule_period_millis: at_least(1u64),
    "maxRenewRetryTimes" => receipt_renew.max_renew_retry_times: integer::<u32>,
    "invisibleTimeMillisWhenClear" => receipt_renew.invisible_time_millis_when_clear: integer::<u64>,
    "lockTimeoutMsInHandleGroup" => receipt_renew.lock_timeout_ms_in_handle_group: at_least(1u64),
    "renewMaxThreadPoolNums" => receipt_renew.renew_max_thread_pool_nums: at_least(1usize),
    "renewThreadPoolQueueCapacity" => receipt_renew.renew_thread_pool_queue_capacity: integer::<usize>,
    // bounded request queues and fast failure
    "sendMessageThreadPoolNums" => queues.send_message_thread_pool_nums: at_least(1usize),
    "sendThreadPoolQueueCapacity" => queues.send_thread_pool_queue_capacity: at_least(1usize),
    "pullThreadPoolQueueCapacity" => queues.pull_thread_pool_queue_capacity: at_least(1usize),
    "queryThreadPoolQueueCapacity" => queues.query_thread_pool_queue_capacity: at_least(1usize),
    "clientManagerThreadPoolQueueCapacity" => queues.client_manager_thread_pool_queue_capacity: at_least(1usize),
    "consumerManagerThreadPoolQueueCapacity" => queues.consumer_manager_thread_pool_queue_capacity: at_least(1usize),
    "heartbeatThreadPoolQueueCapacity" => queues.heartbeat_thread_pool_queue_capacity: at_least(1usize),
    "endTransactionPoolQueueCapacity" => queues.end_transaction_pool_queue_capacity: at_least(1usize),
    "adminBrokerThreadPoolQueueCapacity" => queues.admin_broker_thread_pool_queue_capacity: at_least(1usize),
    "brokerFastFailureEnable" => queues.broker_fast_failure_enable: boolean,
    "waitTimeMillsInSendQueue" => queues.wait_time_mills_in_send_queue: at_least(1u64),
    "litePullThreadPoolQueueCapacity" => queues.lite_pull_thread_pool_queue_capacity: at_least(1usize),
    "pullMessageThreadPoolNums" => queues.pull_message_thread_pool_nums: at_least(1usize),
    "litePullMessageThreadPoolNums" => queues.lite_pull_message_thread_pool_nums: at_least(1usize),
    "heartbeatThreadPoolNums" => queues.heartbeat_thread_pool_nums: at_least(1usize),
    "endTransactionThreadPoolNums" => queues.end_transaction_thread_pool_nums: at_least(1usize),
    "waitTimeMillsInPullQueue" => queues.wait_time_mills_in_pull_queue: at_least(1u64),
    "waitTimeMillsInLitePullQueue" => queues.wait_time_mills_in_lite_pull_queue: at_least(1u64),
    "waitTimeMillsInHeartbeatQueue" => queues.wait_time_mills_in_heartbeat_queue: at_least(1u64),
    "waitTimeMillsInTransactionQueue" => queues.wait_time_mills_in_transaction_queue: at_least(1u64),
    // the gRPC endpoint for the RocketMQ 5 clients
    "grpcServerEnable" => grpc.enable: boolean,
    "grpcServerPort" => grpc.port: integer::<u16>,
    "grpcMaxInboundMessageSize" => grpc.max_inbound_message_size: at_least(64usize * 1024),
    "tlsCertPath" => grpc.tls_cert_path: optional,
    "tlsKeyPath" => grpc.tls_key_path: optional,
    "tlsTestModeEnable" => grpc.tls_test_mode_enable: boolean,
);

/// `PULL` or `POP` (`MessageRequestMode`).
fn request_mode(v: &str) -> Result<String, String> {
    match v.trim() {
        m @ ("PULL" | "POP") => Ok(m.to_string()),
        other => Err(format!("expected PULL or POP, got {other:?}")),
    }
}

/// `{"accessKey":"…","secretKey":"…"}`; blank means none.
fn credentials(v: &str) -> Result<Option<ferrocket_acl::SessionCredentials>, String> {
    if v.trim().is_empty() {
        return Ok(None);
    }
    ferrocket_acl::SessionCredentials::parse_json(v.trim()).map(Some)
}

/// `PermName` bits: 0..=7 (INHERIT 1, WRITE 2, READ 4).
fn permission(v: &str) -> Result<i32, String> {
    match v.parse::<i32>() {
        Ok(p) if (0..=7).contains(&p) => Ok(p),
        _ => Err("expected a permission from 0 to 7 (READ 4 | WRITE 2 | INHERIT 1)".into()),
    }
}
