//! The Ferrocket broker: RocketMQ's request processors over the message store.

pub mod broker_config;

pub use broker_config::BrokerConfig;
