//! `ClientManageProcessor`: HEART_BEAT (34), UNREGISTER_CLIENT (35), CHECK_CLIENT_CONFIG (46).

use std::sync::Arc;

use ferrocket_protocol::body::heartbeat::{ConsumerData, HeartbeatData, SubscriptionData};
use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::client::{
    UnregisterClientRequestHeader, IS_SUB_CHANGE, IS_SUPPORT_HEART_BEAT_V2,
};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};
use serde::Deserialize;

use super::{decode_body, decode_header};
use crate::broker_config::SharedBrokerConfig;
use crate::client::consumer_manager::ConsumerRegistration;
use crate::client::ClientChannelInfo;
use crate::client::{ConsumerManager, ProducerManager};
use crate::filter::ConsumerFilterManager;
use crate::mix_all;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// What the client management codes use.
pub struct ClientManageContext {
    /// The live settings (`enablePropertyFilter`).
    pub config: SharedBrokerConfig,
    /// Retry topics are created on a consumer's first heartbeat.
    pub topics: Arc<TopicConfigManager>,
    /// The consumer groups' settings.
    pub groups: Arc<SubscriptionGroupManager>,
    /// Live consumer groups.
    pub consumers: Arc<ConsumerManager>,
    /// Compiled SQL92 subscriptions.
    pub filters: Arc<ConsumerFilterManager>,
    /// Live producer groups.
    pub producers: Arc<ProducerManager>,
}

/// Handles the client management codes.
pub fn process(
    ctx: &ClientManageContext,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::HEART_BEAT => heart_beat(ctx, channel, request),
        rq::UNREGISTER_CLIENT => unregister_client(ctx, channel, request),
        rq::CHECK_CLIENT_CONFIG => check_client_config(ctx, request),
        _ => Some(unsupported_request(&request)),
    }
}

fn heart_beat(
    ctx: &ClientManageContext,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let data = decode_body!(request, HeartbeatData);
    let client = ClientChannelInfo::new(
        channel.clone(),
        &data.client_id,
        request.language,
        request.version,
    );
    let keep_subscriptions = data.heartbeat_fingerprint != 0 && data.without_sub;
    let mut sub_change = true;
    for consumer in data.consumer_data_set {
        if register_consumer(ctx, &client, consumer, keep_subscriptions) == Some(false) {
            sub_change = false;
        }
    }
    for producer in data.producer_data_set {
        ctx.producers
            .register_producer(&producer.group_name, client.clone());
    }
    Some(
        RemotingCommand::response_to(&request, response::SUCCESS)
            .with_ext(IS_SUPPORT_HEART_BEAT_V2, true)
            .with_ext(IS_SUB_CHANGE, sub_change),
    )
}

/// Registers one consumer of a heartbeat (creating its retry topic and compiling its filters
/// first). Returns whether its subscriptions changed, or `None` for an unknown group.
fn register_consumer(
    ctx: &ClientManageContext,
    client: &ClientChannelInfo,
    consumer: ConsumerData,
    keep_subscriptions: bool,
) -> Option<bool> {
    let Some(group_config) = ctx
        .groups
        .find_subscription_group_config(&consumer.group_name)
    else {
        tracing::warn!(group = %consumer.group_name, "heartbeat for an unknown consumer group ignored");
        return None;
    };
    let retry_topic = mix_all::retry_topic(&consumer.group_name);
    ctx.topics.create_topic_in_send_message_back_method(
        &retry_topic,
        group_config.retry_queue_nums,
        perm::READ_WRITE,
        0,
    );
    let mut sub_change = true;
    // a fingerprinted heartbeat without subscriptions keeps the ones already registered
    let subscriptions = if keep_subscriptions {
        match ctx.consumers.get_consumer_group_info(&consumer.group_name) {
            Some(info) => {
                sub_change = false;
                info.subscription_table.into_values().collect()
            }
            None => Vec::new(),
        }
    } else {
        consumer.subscription_data_set
    };
    // compiled before the consumer is visible, so its first pull finds the selector
    ctx.filters.register(&consumer.group_name, &subscriptions);
    ctx.consumers.register_consumer(
        ConsumerRegistration {
            group: consumer.group_name,
            client: client.clone(),
            consume_type: consumer.consume_type,
            message_model: consumer.message_model,
            consume_from_where: consumer.consume_from_where,
            subscriptions,
        },
        group_config.notify_consumer_ids_changed_enable,
    );
    Some(sub_change)
}

fn unregister_client(
    ctx: &ClientManageContext,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let header = decode_header!(request, UnregisterClientRequestHeader);
    if let Some(group) = header.producer_group.as_deref() {
        ctx.producers.unregister_producer(group, channel);
    }
    if let Some(group) = header.consumer_group.as_deref() {
        let notify = ctx
            .groups
            .get(group)
            .is_none_or(|g| g.notify_consumer_ids_changed_enable);
        ctx.consumers.unregister_consumer(group, channel, notify);
        if ctx.consumers.get_consumer_group_info(group).is_none() {
            ctx.filters.unregister(group);
        }
    }
    tracing::debug!(client = %header.client_id, "client unregistered");
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}

/// `CheckClientRequestBody`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CheckClientRequestBody {
    client_id: String,
    group: String,
    subscription_data: Option<SubscriptionData>,
}

/// Answers whether the broker can serve a subscription (`checkClientConfig`): TAG always;
/// anything else only with `enablePropertyFilter`, and only if the expression compiles. Java
/// consumers call this from `start()`, which fails with this response's remark.
fn check_client_config(
    ctx: &ClientManageContext,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, CheckClientRequestBody);
    let Some(sub) = body.subscription_data else {
        return Some(RemotingCommand::response_to(&request, response::SUCCESS));
    };
    if ferrocket_filter::is_tag_type(Some(&sub.expression_type)) {
        return Some(RemotingCommand::response_to(&request, response::SUCCESS));
    }
    if !ctx.config.get().enable_property_filter {
        return Some(RemotingCommand::error_to(
            &request,
            response::SYSTEM_ERROR,
            format!(
                "The broker does not support consumer to filter message by {}",
                sub.expression_type
            ),
        ));
    }
    if let Err(e) = ctx.filters.compile(&sub.expression_type, &sub.sub_string) {
        tracing::warn!(
            client = %body.client_id,
            group = %body.group,
            expression = %sub.sub_string,
            error = %e,
            "client filters messages, but its expression does not compile"
        );
        return Some(RemotingCommand::error_to(
            &request,
            response::SUBSCRIPTION_PARSE_FAILED,
            e.to_string(),
        ));
    }
    Some(RemotingCommand::response_to(&request, response::SUCCESS))
}
