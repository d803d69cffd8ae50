//! RocketMQ 5.x POP consumption on the remoting port: the broker decides which messages a
//! consumer gets and tracks them until they are acknowledged.
//!
//! Every pop writes a checkpoint ([`PopCheckPoint`](ferrocket_protocol::body::pop::PopCheckPoint))
//! and every ack an ack record into the revive topic `rmq_sys_REVIVE_LOG_<cluster>`; those records
//! are the only durable POP state. [`PopReviveService`] reads them back, pairs acks with their
//! checkpoints in memory, and re-delivers what was not acknowledged in time through the pop retry
//! topic `%RETRY%<group>_<topic>` (or the group's `%DLQ%` topic once out of retries).

pub mod consumer_order_info;
pub mod message_request_mode_manager;
pub mod pop_polling_counter;
pub mod pop_revive_service;
pub mod queue_lock_manager;
pub mod revive_log;

pub use consumer_order_info::{consumer_order_info_path, ConsumerOrderInfoManager, OrderedQueue};
pub use message_request_mode_manager::MessageRequestModeManager;
pub use pop_polling_counter::PopPollingCounter;
pub use pop_revive_service::PopReviveService;
pub use queue_lock_manager::QueueLockManager;
pub use revive_log::ReviveLog;

/// `PopAckConstants.REVIVE_GROUP`: the group whose offsets on the revive topic mark how far the
/// revive scan has settled.
pub const REVIVE_GROUP: &str = "CID_RMQ_SYS_REVIVE_GROUP";
/// Tag of a checkpoint record.
pub const CK_TAG: &str = "ck";
/// Tag of an ack record.
pub const ACK_TAG: &str = "ack";
/// Tag of a batch ack record.
pub const BATCH_ACK_TAG: &str = "bAck";
/// Queues of a pop retry topic (`PopAckConstants.retryQueueNum`).
pub const RETRY_QUEUE_NUM: i32 = 1;
/// At most this many messages per pop (`PopMessageProcessor`'s limit).
pub const MAX_POP_MSG_NUMS: i32 = 32;

/// `PopAckConstants.buildClusterReviveTopic`: `rmq_sys_REVIVE_LOG_<cluster>`.
pub fn revive_topic(cluster: &str) -> String {
    format!("rmq_sys_REVIVE_LOG_{cluster}")
}

/// The queue lock key and parking key of a pop: `topic@group@queueId`.
pub fn lock_key(topic: &str, group: &str, queue_id: i32) -> String {
    format!("{topic}@{group}@{queue_id}")
}

/// The POP state the processors and the revive service share.
pub struct PopServices {
    /// PULL or POP per topic and group.
    pub request_modes: std::sync::Arc<MessageRequestModeManager>,
    /// Writer of checkpoints and acks.
    pub revive_log: std::sync::Arc<ReviveLog>,
    /// One pop at a time per queue and group.
    pub locks: std::sync::Arc<QueueLockManager>,
    /// Parked pops and notifications per queue and group.
    pub polling: std::sync::Arc<PopPollingCounter>,
    /// The batches orderly pops have in flight.
    pub orders: std::sync::Arc<ConsumerOrderInfoManager>,
}

impl PopServices {
    /// Loads `config/messageRequestMode.json` and `config/consumerOrderInfo.json` under
    /// `store_root` and prepares the revive log of the broker's cluster.
    pub fn open(
        store_root: &std::path::Path,
        config: &crate::BrokerConfig,
        store: std::sync::Arc<ferrocket_store::DefaultMessageStore>,
        store_host: std::net::SocketAddr,
    ) -> Result<Self, crate::BrokerError> {
        let path = message_request_mode_manager::message_request_mode_path(store_root);
        Ok(PopServices {
            request_modes: std::sync::Arc::new(MessageRequestModeManager::new(path)?),
            revive_log: std::sync::Arc::new(ReviveLog::new(
                store,
                store_host,
                revive_topic(&config.broker_cluster_name),
                config.revive_queue_num,
            )),
            locks: std::sync::Arc::new(QueueLockManager::default()),
            polling: std::sync::Arc::new(PopPollingCounter::default()),
            orders: std::sync::Arc::new(ConsumerOrderInfoManager::open(consumer_order_info_path(
                store_root,
            ))?),
        })
    }
}
