//! Request and response codes (`RequestCode`, `ResponseCode`).

/// Request codes (`RequestCode.java`).
pub mod request {
    pub const SEND_MESSAGE: i32 = 10;
    pub const PULL_MESSAGE: i32 = 11;
    pub const QUERY_MESSAGE: i32 = 12;
    pub const QUERY_BROKER_OFFSET: i32 = 13;
    pub const QUERY_CONSUMER_OFFSET: i32 = 14;
    pub const UPDATE_CONSUMER_OFFSET: i32 = 15;
    pub const UPDATE_AND_CREATE_TOPIC: i32 = 17;
    pub const UPDATE_AND_CREATE_TOPIC_LIST: i32 = 18;
    pub const GET_ALL_TOPIC_CONFIG: i32 = 21;
    pub const GET_TOPIC_CONFIG_LIST: i32 = 22;
    pub const GET_TOPIC_NAME_LIST: i32 = 23;
    pub const UPDATE_BROKER_CONFIG: i32 = 25;
    pub const GET_BROKER_CONFIG: i32 = 26;
    pub const TRIGGER_DELETE_FILES: i32 = 27;
    pub const GET_BROKER_RUNTIME_INFO: i32 = 28;
    pub const SEARCH_OFFSET_BY_TIMESTAMP: i32 = 29;
    pub const GET_MAX_OFFSET: i32 = 30;
    pub const GET_MIN_OFFSET: i32 = 31;
    pub const GET_EARLIEST_MSG_STORETIME: i32 = 32;
    pub const VIEW_MESSAGE_BY_ID: i32 = 33;
    pub const HEART_BEAT: i32 = 34;
    pub const UNREGISTER_CLIENT: i32 = 35;
    pub const CONSUMER_SEND_MSG_BACK: i32 = 36;
    pub const END_TRANSACTION: i32 = 37;
    pub const GET_CONSUMER_LIST_BY_GROUP: i32 = 38;
    pub const CHECK_TRANSACTION_STATE: i32 = 39;
    pub const NOTIFY_CONSUMER_IDS_CHANGED: i32 = 40;
    pub const LOCK_BATCH_MQ: i32 = 41;
    pub const UNLOCK_BATCH_MQ: i32 = 42;
    pub const GET_ALL_CONSUMER_OFFSET: i32 = 43;
    pub const GET_ALL_DELAY_OFFSET: i32 = 45;
    pub const CHECK_CLIENT_CONFIG: i32 = 46;
    pub const PUT_KV_CONFIG: i32 = 100;
    pub const GET_KV_CONFIG: i32 = 101;
    pub const DELETE_KV_CONFIG: i32 = 102;
    pub const REGISTER_BROKER: i32 = 103;
    pub const UNREGISTER_BROKER: i32 = 104;
    pub const GET_ROUTEINFO_BY_TOPIC: i32 = 105;
    pub const GET_BROKER_CLUSTER_INFO: i32 = 106;
    pub const UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: i32 = 200;
    pub const GET_ALL_SUBSCRIPTIONGROUP_CONFIG: i32 = 201;
    pub const GET_TOPIC_STATS_INFO: i32 = 202;
    pub const GET_CONSUMER_CONNECTION_LIST: i32 = 203;
    pub const GET_PRODUCER_CONNECTION_LIST: i32 = 204;
    pub const WIPE_WRITE_PERM_OF_BROKER: i32 = 205;
    pub const GET_ALL_TOPIC_LIST_FROM_NAMESERVER: i32 = 206;
    pub const DELETE_SUBSCRIPTIONGROUP: i32 = 207;
    pub const GET_CONSUME_STATS: i32 = 208;
    pub const DELETE_TOPIC_IN_BROKER: i32 = 215;
    pub const DELETE_TOPIC_IN_NAMESRV: i32 = 216;
    pub const REGISTER_TOPIC_IN_NAMESRV: i32 = 217;
    pub const GET_KVLIST_BY_NAMESPACE: i32 = 219;
    pub const RESET_CONSUMER_CLIENT_OFFSET: i32 = 220;
    pub const GET_CONSUMER_STATUS_FROM_CLIENT: i32 = 221;
    pub const INVOKE_BROKER_TO_RESET_OFFSET: i32 = 222;
    pub const INVOKE_BROKER_TO_GET_CONSUMER_STATUS: i32 = 223;
    pub const GET_TOPICS_BY_CLUSTER: i32 = 224;
    pub const QUERY_TOPIC_CONSUME_BY_WHO: i32 = 300;
    pub const GET_SYSTEM_TOPIC_LIST_FROM_NS: i32 = 304;
    pub const GET_CONSUMER_RUNNING_INFO: i32 = 307;
    pub const CONSUME_MESSAGE_DIRECTLY: i32 = 309;
    pub const SEND_MESSAGE_V2: i32 = 310;
    pub const GET_UNIT_TOPIC_LIST: i32 = 311;
    pub const GET_HAS_UNIT_SUB_TOPIC_LIST: i32 = 312;
    pub const GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST: i32 = 313;
    pub const UPDATE_NAMESRV_CONFIG: i32 = 318;
    pub const GET_NAMESRV_CONFIG: i32 = 319;
    pub const SEND_BATCH_MESSAGE: i32 = 320;
    pub const QUERY_DATA_VERSION: i32 = 322;
    pub const SEND_REPLY_MESSAGE: i32 = 324;
    pub const SEND_REPLY_MESSAGE_V2: i32 = 325;
    pub const PUSH_REPLY_MESSAGE_TO_CLIENT: i32 = 326;
    pub const ADD_WRITE_PERM_OF_BROKER: i32 = 327;
    pub const QUERY_TOPICS_BY_CONSUMER: i32 = 343;
    /// RocketMQ 5.x: the broker's replication state (`HARuntimeInfo`).
    pub const GET_BROKER_HA_STATUS: i32 = 907;
    pub const GET_TOPIC_CONFIG: i32 = 351;
    pub const GET_SUBSCRIPTIONGROUP_CONFIG: i32 = 352;
    pub const LITE_PULL_MESSAGE: i32 = 361;
    /// RocketMQ 5.3.2+: withdraws a timer message before it is due (`recallMessage`).
    pub const RECALL_MESSAGE: i32 = 370;
    pub const BROKER_HEARTBEAT: i32 = 904;
    /// RocketMQ 5 controller mode: a master reports its new sync state set to the controller.
    pub const CONTROLLER_ALTER_SYNC_STATE_SET: i32 = 1001;
    /// RocketMQ 5 controller mode: a broker asks the controller to elect a master.
    pub const CONTROLLER_ELECT_MASTER: i32 = 1002;
    /// RocketMQ 5 controller mode: a broker with an applied id reports its address.
    pub const CONTROLLER_REGISTER_BROKER: i32 = 1003;
    /// RocketMQ 5 controller mode: the master, its epoch and the sync state set of a broker set.
    pub const CONTROLLER_GET_REPLICA_INFO: i32 = 1004;
    /// RocketMQ 5 controller mode: the controller quorum and its leader.
    pub const CONTROLLER_GET_METADATA_INFO: i32 = 1005;
    /// RocketMQ 5 controller mode: the sync state sets of broker sets (`mqadmin getSyncStateSet`).
    pub const CONTROLLER_GET_SYNC_STATE_DATA: i32 = 1006;
    /// RocketMQ 5 controller mode: a broker's epoch entries (`mqadmin getBrokerEpoch`, and a
    /// returning master comparing its log with the new master's).
    pub const GET_BROKER_EPOCH_CACHE: i32 = 1007;
    /// RocketMQ 5 controller mode: the controller tells a broker set its master changed.
    pub const NOTIFY_BROKER_ROLE_CHANGED: i32 = 1008;
    /// RocketMQ 5 controller mode: `mqadmin updateControllerConfig`.
    pub const UPDATE_CONTROLLER_CONFIG: i32 = 1009;
    /// RocketMQ 5 controller mode: `mqadmin getControllerConfig`.
    pub const GET_CONTROLLER_CONFIG: i32 = 1010;
    /// RocketMQ 5 controller mode: `mqadmin cleanBrokerMetadata`.
    pub const CLEAN_BROKER_DATA: i32 = 1011;
    /// RocketMQ 5 controller mode: the id the next broker of a set should apply for.
    pub const CONTROLLER_GET_NEXT_BROKER_ID: i32 = 1012;
    /// RocketMQ 5 controller mode: a broker claims an id with its register check code.
    pub const CONTROLLER_APPLY_BROKER_ID: i32 = 1013;
    /// RocketMQ 5.x POP consumption: which queues a client reads and whether it pulls or pops.
    pub const QUERY_ASSIGNMENT: i32 = 400;
    /// RocketMQ 5.x: sets PULL or POP for a topic and group (`mqadmin setConsumeMode`).
    pub const SET_MESSAGE_REQUEST_MODE: i32 = 401;
    /// RocketMQ 5.x POP consumption.
    pub const POP_MESSAGE: i32 = 200_050;
    /// RocketMQ 5.x POP consumption.
    pub const ACK_MESSAGE: i32 = 200_051;
    /// RocketMQ 5.x: reads what a pop would return, without a checkpoint or an offset change.
    pub const PEEK_MESSAGE: i32 = 200_052;
    /// RocketMQ 5.x POP consumption.
    pub const CHANGE_MESSAGE_INVISIBLETIME: i32 = 200_053;
    /// RocketMQ 5.x POP consumption: is there anything to pop (long-polled)?
    pub const NOTIFICATION: i32 = 200_054;
    /// RocketMQ 5.x POP consumption: how many pops are parked on a queue.
    pub const POLLING_INFO: i32 = 200_055;
    /// RocketMQ 5.x POP consumption.
    pub const BATCH_ACK_MESSAGE: i32 = 200_151;
}

/// Response codes (`ResponseCode.java`, `RemotingSysResponseCode.java`).
pub mod response {
    pub const SUCCESS: i32 = 0;
    pub const SYSTEM_ERROR: i32 = 1;
    pub const SYSTEM_BUSY: i32 = 2;
    pub const REQUEST_CODE_NOT_SUPPORTED: i32 = 3;
    pub const TRANSACTION_FAILED: i32 = 4;
    pub const FLUSH_DISK_TIMEOUT: i32 = 10;
    pub const SLAVE_NOT_AVAILABLE: i32 = 11;
    pub const FLUSH_SLAVE_TIMEOUT: i32 = 12;
    pub const MESSAGE_ILLEGAL: i32 = 13;
    pub const SERVICE_NOT_AVAILABLE: i32 = 14;
    pub const VERSION_NOT_SUPPORTED: i32 = 15;
    pub const NO_PERMISSION: i32 = 16;
    pub const TOPIC_NOT_EXIST: i32 = 17;
    pub const TOPIC_EXIST_ALREADY: i32 = 18;
    pub const PULL_NOT_FOUND: i32 = 19;
    pub const PULL_RETRY_IMMEDIATELY: i32 = 20;
    pub const PULL_OFFSET_MOVED: i32 = 21;
    pub const QUERY_NOT_FOUND: i32 = 22;
    pub const SUBSCRIPTION_PARSE_FAILED: i32 = 23;
    pub const SUBSCRIPTION_NOT_EXIST: i32 = 24;
    pub const SUBSCRIPTION_NOT_LATEST: i32 = 25;
    pub const SUBSCRIPTION_GROUP_NOT_EXIST: i32 = 26;
    pub const FILTER_DATA_NOT_EXIST: i32 = 27;
    pub const FILTER_DATA_NOT_LATEST: i32 = 28;
    pub const INVALID_PARAMETER: i32 = 29;
    pub const TRANSACTION_SHOULD_COMMIT: i32 = 200;
    pub const TRANSACTION_SHOULD_ROLLBACK: i32 = 201;
    pub const TRANSACTION_STATE_UNKNOW: i32 = 202;
    pub const TRANSACTION_STATE_GROUP_WRONG: i32 = 203;
    pub const CONSUMER_NOT_ONLINE: i32 = 206;
    pub const CONSUME_MSG_TIMEOUT: i32 = 207;
    pub const NO_MESSAGE: i32 = 208;
    pub const POLLING_FULL: i32 = 209;
    pub const POLLING_TIMEOUT: i32 = 210;
    pub const FLOW_CONTROL: i32 = 215;
    pub const ILLEGAL_OPERATION: i32 = 604;
    pub const GO_AWAY: i32 = 1500;
    // RocketMQ 5 controller mode (`ResponseCode.CONTROLLER_*`)
    pub const CONTROLLER_FENCED_MASTER_EPOCH: i32 = 2000;
    pub const CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH: i32 = 2001;
    pub const CONTROLLER_INVALID_MASTER: i32 = 2002;
    pub const CONTROLLER_INVALID_REPLICAS: i32 = 2003;
    pub const CONTROLLER_MASTER_NOT_AVAILABLE: i32 = 2004;
    pub const CONTROLLER_INVALID_REQUEST: i32 = 2005;
    pub const CONTROLLER_BROKER_NOT_ALIVE: i32 = 2006;
    pub const CONTROLLER_NOT_LEADER: i32 = 2007;
    pub const CONTROLLER_BROKER_METADATA_NOT_EXIST: i32 = 2008;
    pub const CONTROLLER_INVALID_CLEAN_BROKER_METADATA: i32 = 2009;
    pub const CONTROLLER_BROKER_NEED_TO_BE_REGISTERED: i32 = 2010;
    pub const CONTROLLER_MASTER_STILL_EXIST: i32 = 2011;
    pub const CONTROLLER_ELECT_MASTER_FAILED: i32 = 2012;
    pub const CONTROLLER_ALTER_SYNC_STATE_SET_FAILED: i32 = 2013;
    pub const CONTROLLER_BROKER_ID_INVALID: i32 = 2014;
}
