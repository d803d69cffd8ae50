//! Calls the broker makes to other servers.

pub mod broker_outer_api;

pub use broker_outer_api::BrokerOuterAPI;
