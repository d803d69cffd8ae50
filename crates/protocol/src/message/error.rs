//! Errors of the message encoders and decoders.

use thiserror::Error;

/// Bytes that are not a well-formed stored message, batch body or compressed body.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MessageDecodeError {
    /// A field runs past the end of the input or of its record.
    #[error("{field} needs {needed} bytes but only {available} remain")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        available: usize,
    },
    /// TOTALSIZE is negative or smaller than the fixed fields.
    #[error("record total size {0} is out of range")]
    InvalidTotalSize(i64),
    /// MAGICCODE is neither V1 nor V2.
    #[error("unknown magic code {0:#010x}")]
    BadMagic(i32),
    /// The end-of-file BLANK header, not a message.
    #[error("end-of-file blank record of {size} bytes")]
    BlankRecord {
        /// Its TOTALSIZE (the rest of the segment).
        size: i32,
    },
    /// A length field is negative.
    #[error("{field} has a negative length {value}")]
    NegativeLength {
        /// The field.
        field: &'static str,
        /// The length read.
        value: i32,
    },
    /// TOTALSIZE differs from the sum of the fields.
    #[error("record declares {declared} bytes but its fields take {actual}")]
    LengthMismatch {
        /// TOTALSIZE.
        declared: usize,
        /// Bytes the fields take.
        actual: usize,
    },
    /// A compressed body that does not inflate.
    #[error("cannot inflate the message body: {0}")]
    Inflate(String),
}

/// A message that the stored layout cannot represent.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum MessageEncodeError {
    /// The topic exceeds the two-byte length field.
    #[error("topic of {0} bytes exceeds 32767")]
    TopicTooLong(usize),
    /// The properties exceed the two-byte length field.
    #[error("properties of {0} bytes exceed 32767")]
    PropertiesTooLong(usize),
    /// The record would exceed 2 GiB.
    #[error("body of {0} bytes is too large")]
    BodyTooLong(usize),
    /// The destination is shorter than the record.
    #[error("record needs {needed} bytes but the buffer has {available}")]
    BufferTooSmall {
        /// Record length.
        needed: usize,
        /// Buffer length.
        available: usize,
    },
}
