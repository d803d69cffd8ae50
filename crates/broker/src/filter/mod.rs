//! Server-side message filtering.

pub mod expression_message_filter;

pub use expression_message_filter::ExpressionMessageFilter;
