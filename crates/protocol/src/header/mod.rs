//! Typed request and response headers (the `extFields` of each command).

pub mod admin;
pub mod client;
pub mod command_custom_header;
pub mod consumer_offset;
pub mod consumer_send_msg_back;
pub mod pop;
pub mod pull_message;
pub mod query_message;
pub mod queue_offset;
pub mod register_broker;
pub mod send_message;
pub mod transaction;

pub use command_custom_header::{CommandCustomHeader, HeaderField};
