//! Broker statistics.

pub mod broker_stats_manager;

pub use broker_stats_manager::BrokerStatsManager;
