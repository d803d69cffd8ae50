//! Connected clients: consumer and producer groups, their channels, liveness, queue locks.

pub mod client_channel_info;
pub mod client_housekeeping;
pub mod consumer_client;
pub mod consumer_group_info;
pub mod consumer_ids_change_listener;
pub mod consumer_manager;
pub mod producer_client;
pub mod producer_manager;
pub mod rebalance_lock_manager;

pub use client_channel_info::ClientChannelInfo;
pub use consumer_client::{ConsumerAnswer, ConsumerChannel, ConsumerClient, ConsumerClientError};
pub use consumer_group_info::ConsumerGroupInfo;
pub use consumer_manager::ConsumerManager;
pub use producer_client::{ProducerChannel, ProducerClient, ProducerClientError};
pub use producer_manager::ProducerManager;
pub use rebalance_lock_manager::RebalanceLockManager;
