//! The Ferrocket broker: RocketMQ's request processors over the message store.

pub mod broker_config;
pub mod broker_controller;
pub mod client;
pub mod config_manager;
pub mod config_persist;
pub mod controller_mode;
pub mod error;
pub mod filter;
pub mod longpolling;
pub mod message_id;
pub mod mix_all;
pub mod offset;
pub mod out_api;
pub mod pop;
pub mod processor;
pub mod schedule;
pub mod service;
pub mod slave;
pub mod stats;
pub mod subscription;
pub mod timer;
pub mod topic;
pub mod transaction;

pub use broker_config::{
    BrokerConfig, BrokerConfigUpdate, BrokerConfigUpdater, ControllerModeConfig,
    GrpcServerSettings, ReceiptRenewSettings, RequestQueueConfig,
};
pub use broker_controller::BrokerController;
pub use error::BrokerError;
