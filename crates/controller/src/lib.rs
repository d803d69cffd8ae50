//! RocketMQ 5 controller mode: the controllers that keep every broker set's replicas, master,
//! master epoch and sync state set, replicated through a Raft log (openraft) so that a quorum of
//! controllers survives the loss of any minority, including the leader.
//!
//! Controllers speak RocketMQ's controller request codes (CONTROLLER_GET_METADATA_INFO,
//! CONTROLLER_ELECT_MASTER, ...) on their `controllerDLegerPeers` address; the Raft traffic
//! between them uses the same port under codes of this crate's own.

pub mod code;
pub mod config;
pub mod controller;
pub mod error;
pub mod heartbeat;
pub mod network;
pub mod processor;
pub mod replicas_info_manager;
pub mod store;

pub use config::{ControllerConfig, ControllerPeer};
pub use controller::ControllerManager;
pub use error::ControllerError;
pub use replicas_info_manager::ReplicasInfoManager;
