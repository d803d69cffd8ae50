//! JSON bodies shared by the name server, the broker and the clients.
//!
//! Field names follow fastjson's output of the Java classes; every struct accepts unknown
//! keys and missing optional ones, and is read through [`crate::json::from_slice`] so that
//! fastjson's bare map keys parse.

pub mod connection;
pub mod consume_stats;
pub mod consumer_running_info;
pub mod ha_runtime_info;
pub mod heartbeat;
pub mod message_queue_map;
pub mod pop;
pub mod queue;
pub mod reset_offset;
pub mod route;
pub mod subscription_group_config;
pub mod topic;
pub mod topic_stats;

use serde::{de::DeserializeOwned, Serialize};

/// Encodes a body as standard JSON.
pub fn encode<T: Serialize>(value: &T) -> bytes::Bytes {
    serde_json::to_vec(value)
        .expect("bodies always serialize")
        .into()
}

/// Decodes a body written by any RocketMQ implementation.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, serde_json::Error> {
    crate::json::from_slice(body)
}
