//! Broker statistics.

pub mod broker_stats_manager;
pub mod topic_stats;

pub use broker_stats_manager::{BrokerStatsManager, LatencyTimer};
pub use topic_stats::{TopicCounters, TopicCountersSnapshot, TopicStatsTable};
