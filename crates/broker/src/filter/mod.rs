//! Server-side message filtering: TAG subscriptions by consume-queue tags code, SQL92
//! subscriptions by evaluating the compiled selector against each stored message's properties.

pub mod consumer_filter_manager;
pub mod expression_message_filter;
pub mod pull_filter;

pub use consumer_filter_manager::{ConsumerFilterData, ConsumerFilterManager};
pub use expression_message_filter::ExpressionMessageFilter;
