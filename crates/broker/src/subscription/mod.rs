//! Consumer (subscription) groups: their settings and the persisted group table.

pub mod subscription_group_manager;

pub use ferrocket_protocol::body::subscription_group_config::SubscriptionGroupConfig;
pub use subscription_group_manager::SubscriptionGroupManager;
