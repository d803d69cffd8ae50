//! Errors raised while decoding frames and headers.

use thiserror::Error;

/// A frame or header that cannot be decoded; the connection that sent it should be closed.
#[derive(Debug, Error)]
pub enum ProtocolError {
    #[error("frame of {0} bytes is shorter than the 4-byte header length field")]
    FrameTooShort(usize),
    #[error("header length {header} exceeds the frame length {frame}")]
    HeaderLengthOutOfRange { header: usize, frame: usize },
    #[error("unknown serialize type {0} (expected 0 = JSON or 1 = ROCKETMQ)")]
    UnknownSerializeType(u8),
    #[error("malformed JSON header: {0}")]
    Json(#[from] serde_json::Error),
    #[error("malformed ROCKETMQ binary header: {0}")]
    Binary(&'static str),
    #[error("header is not valid UTF-8")]
    Utf8,
    #[error("frame of {0} bytes exceeds the {max} byte limit", max = crate::MAX_FRAME_LENGTH)]
    FrameTooLarge(usize),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A request header field that is missing or does not parse; maps to a response the client
/// understands (RocketMQ answers such requests with SYSTEM_ERROR or INVALID_PARAMETER).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HeaderError {
    #[error("the request header field '{0}' is required but missing")]
    Missing(&'static str),
    #[error("the request header field '{field}' has an illegal value '{value}'")]
    Invalid { field: &'static str, value: String },
}
