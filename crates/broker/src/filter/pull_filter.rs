//! Chooses the `ExpressionMessageFilter` of one pull (the filter part of RocketMQ's
//! `PullMessageProcessor`), with the response RocketMQ gives when it cannot.

use std::sync::Arc;

use ferrocket_protocol::body::heartbeat::SubscriptionData;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pull_message::{pull_sys_flag, PullMessageRequestHeader};

use super::ConsumerFilterManager;
use super::ExpressionMessageFilter;

/// A pull refused for its filter: the response code and remark to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullFilterError {
    /// Response code.
    pub code: i32,
    /// Remark.
    pub remark: String,
}

fn refuse(code: i32, remark: impl Into<String>) -> PullFilterError {
    PullFilterError {
        code,
        remark: remark.into(),
    }
}

/// The filter for a pull whose effective subscription is `subscription`
/// (`enable_property_filter`: `enablePropertyFilter`, which SQL92 subscriptions need).
///
/// The subscription came either with the pull (SUBSCRIPTION flag: the expression is compiled,
/// from a small cache) or from the group's heartbeat (its compiled selector is looked up).
pub fn build(
    manager: &ConsumerFilterManager,
    enable_property_filter: bool,
    header: &PullMessageRequestHeader,
    subscription: &SubscriptionData,
) -> Result<ExpressionMessageFilter, PullFilterError> {
    let expression_type = subscription.expression_type.as_str();
    if ferrocket_filter::is_tag_type(Some(expression_type)) {
        return Ok(ExpressionMessageFilter::new(subscription));
    }
    let selector = if pull_sys_flag::has_subscription(header.sys_flag) {
        let expression = header.subscription.as_deref().unwrap_or_default();
        match manager.compile(expression_type, expression) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(group = %header.consumer_group, expression, error = %e, "parse the consumer's subscription failed");
                return Err(refuse(
                    response::SUBSCRIPTION_PARSE_FAILED,
                    "parse the consumer's subscription failed",
                ));
            }
        }
    } else {
        let Some(data) = manager.get(&header.topic, &header.consumer_group) else {
            return Err(refuse(
                response::FILTER_DATA_NOT_EXIST,
                "The broker's consumer filter data is not exist!Your expression may be wrong!",
            ));
        };
        if data.client_version < header.sub_version {
            return Err(refuse(
                response::FILTER_DATA_NOT_LATEST,
                "the consumer's consumer filter data not latest",
            ));
        }
        Arc::clone(&data.compiled)
    };
    if !enable_property_filter {
        return Err(refuse(
            response::SYSTEM_ERROR,
            format!("The broker does not support consumer to filter message by {expression_type}"),
        ));
    }
    Ok(ExpressionMessageFilter::sql92(selector))
}
