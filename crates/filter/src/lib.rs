//! RocketMQ's SQL92 message selector, as the `rocketmq-filter` module defines it.
//!
//! A subscription of type `SQL92` carries an expression such as
//! `TAGS = 'TagA' AND (price BETWEEN 10 AND 20 OR region IN ('eu', 'us'))`. The broker compiles it
//! once per subscription ([`compile`]) and evaluates it against each message's properties
//! ([`Selector::matches`]); the message's tag is the `TAGS` property.
//!
//! The grammar, the checks made while building the expression and the evaluation rules follow
//! Apache RocketMQ (`SelectorParser.jj` and the `expression` classes) so that an expression
//! accepted or refused there is accepted or refused here, with the same three-valued logic: a
//! comparison with a missing property is unknown, and only a definite TRUE selects a message.

mod context;
mod error;
mod expression;
mod lexer;
mod parser;
mod value;

pub use context::{EvaluationContext, PropertiesContext};
pub use error::{EvaluationError, FilterError, FilterErrorKind};
pub use expression::Selector;
pub use value::Value;

/// `ExpressionType.SQL92`.
pub const SQL92: &str = "SQL92";
/// `ExpressionType.TAG`.
pub const TAG: &str = "TAG";

/// `ExpressionType.isTagType`: no type, an empty one or exactly `TAG`.
pub fn is_tag_type(expression_type: Option<&str>) -> bool {
    matches!(expression_type, None | Some("") | Some(TAG))
}

/// Compiles a SQL92 selector (`SqlFilter.compile`).
pub fn compile(expression: &str) -> Result<Selector, FilterError> {
    parser::parse(expression).map(Selector::new)
}

#[cfg(test)]
mod tests;
