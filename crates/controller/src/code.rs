//! The request and response codes the controller speaks: RocketMQ 5's controller protocol, kept
//! with every other RocketMQ code in `ferrocket_protocol::code`, and this controller's own codes for
//! the Raft traffic between controllers.

/// Request codes.
pub mod request {
    pub use ferrocket_protocol::code::request::*;

    /// Ferrocket's own codes, only spoken between controllers (far from RocketMQ's ranges).
    pub const RAFT_APPEND_ENTRIES: i32 = 310_001;
    pub const RAFT_VOTE: i32 = 310_002;
    pub const RAFT_INSTALL_SNAPSHOT: i32 = 310_003;
    /// This controller's applied state as JSON, whether it leads or not (diagnostics, tests).
    pub const LOCAL_REPLICAS_INFO: i32 = 310_010;
}

/// Response codes.
pub mod response {
    pub use ferrocket_protocol::code::response::*;
}
