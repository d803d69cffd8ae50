//! The RocketMQ remoting protocol as Ferrocket speaks it: frames, headers, request and response
//! codes, JSON bodies and the stored-message encoding.
//!
//! This crate is pure: it performs no I/O, so every decoder here can be fuzzed and property-tested.

pub mod body;
pub mod code;
pub mod codec;
pub mod command;
pub mod error;
pub mod header;
pub mod json;
pub mod language;
pub mod message;
pub mod mix_all;
pub mod trace;
pub mod util;

pub use codec::RemotingCodec;
pub use command::{RemotingCommand, SerializeType};
pub use error::{HeaderError, ProtocolError};
pub use language::LanguageCode;

/// The `version` Ferrocket puts in every command it sends (RocketMQ `V5_3_3`).
///
/// Java clients store the heartbeat reply's version as the broker version and refuse SQL92
/// filtering below 4.1.0, so this must be a modern ordinal.
pub const CURRENT_VERSION: i32 = 479;

/// The largest frame either side accepts (RocketMQ `com.rocketmq.remoting.frameMaxLength`).
pub const MAX_FRAME_LENGTH: usize = 16 * 1024 * 1024;
