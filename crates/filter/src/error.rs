//! Compile and evaluation errors, worded as the Apache broker words them.

use std::fmt;

/// What kind of failure stopped compilation; the Java class the Apache broker names in its remark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterErrorKind {
    /// The token stream does not fit the grammar.
    Parse,
    /// A character that starts no token (or an unterminated string or comment).
    Lexical,
    /// The expression is well formed but not allowed (e.g. comparing a string with `>`).
    Semantic,
    /// A number literal out of range.
    NumberFormat,
}

impl FilterErrorKind {
    /// The exception class RocketMQ reports for this kind of failure.
    pub fn java_class(self) -> &'static str {
        match self {
            FilterErrorKind::Parse => "org.apache.rocketmq.filter.parser.ParseException",
            FilterErrorKind::Lexical => "org.apache.rocketmq.filter.parser.TokenMgrError",
            FilterErrorKind::Semantic => "java.lang.RuntimeException",
            FilterErrorKind::NumberFormat => "java.lang.NumberFormatException",
        }
    }
}

/// A selector that does not compile.
///
/// `Display` gives the text the Apache broker puts in the CHECK_CLIENT_CONFIG remark
/// (`exception class: message`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FilterError {
    /// What went wrong.
    pub kind: FilterErrorKind,
    /// The human-readable part.
    pub message: String,
}

impl FilterError {
    pub(crate) fn new(kind: FilterErrorKind, message: impl Into<String>) -> Self {
        FilterError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn semantic(message: impl Into<String>) -> Self {
        FilterError::new(FilterErrorKind::Semantic, message)
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.java_class(), self.message)
    }
}

/// Evaluation failed for one message (RocketMQ throws; the broker then skips the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EvaluationError(pub String);
