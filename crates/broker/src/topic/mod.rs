//! Topic configuration: validation rules and the persisted topic table.

pub mod topic_config_manager;
pub mod topic_route_info_manager;
pub mod topic_validator;
pub mod unregistered;

pub use topic_config_manager::TopicConfigManager;
pub use topic_route_info_manager::TopicRouteInfoManager;
