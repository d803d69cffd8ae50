//! The Ferrocket name server: brokers register their topics here, clients ask it for routes.
//!
//! It follows RocketMQ's `NamesrvController`: a [`RouteInfoManager`] holding the topic, broker,
//! cluster and broker-liveness tables, a [`KvConfigManager`] for namespaced key/value settings,
//! and a request processor answering the name-server request codes over the remoting protocol.

pub mod config;
pub mod controller;
pub mod error;
pub mod header;
pub mod kv_config_manager;
pub mod processor;
pub mod register_broker_body;
pub mod route_info_manager;

pub use config::NamesrvConfig;
pub use controller::NamesrvController;
pub use error::NamesrvError;
pub use kv_config_manager::KvConfigManager;
pub use processor::DefaultRequestProcessor;
pub use route_info_manager::RouteInfoManager;
