//! Calls the broker makes to other servers.

pub mod broker_outer_api;

pub use broker_outer_api::BrokerOuterAPI;
pub mod name_server_registration;

pub use name_server_registration::NameServerRegistration;
