//! `QueryAssignmentProcessor`: QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401).
//!
//! A 5.x push consumer with `clientRebalance=false` asks the broker which queues to read and
//! whether to PULL or POP them. The queues are those of every broker of the topic, as the name
//! servers route it. POP assigns each broker's queue -1 ("every queue") to each client; PULL
//! divides the read queues among the group's clients like `AllocateMessageQueueAveragely`.
//! `%RETRY%` topics are always PULL.

use std::sync::Arc;

use ferrocket_protocol::body::pop::{
    message_request_mode, MessageQueueAssignment, QueryAssignmentRequestBody,
    QueryAssignmentResponseBody, SetMessageRequestModeRequestBody,
};
use ferrocket_protocol::body::queue::{allocate_averagely, MessageQueue};
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};

use super::{decode_body, error};
use crate::broker_config::SharedBrokerConfig;
use crate::client::ConsumerManager;
use crate::mix_all;
use crate::pop::MessageRequestModeManager;
use crate::topic::{TopicConfigManager, TopicRouteInfoManager};

/// What the assignment codes use.
pub struct QueryAssignmentContext {
    /// `brokerName`, `defaultMessageRequestMode`.
    pub config: SharedBrokerConfig,
    /// The topic's read queues.
    pub topics: Arc<TopicConfigManager>,
    /// The group's clients, for PULL allocation.
    pub consumers: Arc<ConsumerManager>,
    /// PULL or POP per topic and group.
    pub request_modes: Arc<MessageRequestModeManager>,
    /// The topic's queues on every broker, from the name servers.
    pub routes: Arc<TopicRouteInfoManager>,
}

/// Handles QUERY_ASSIGNMENT and SET_MESSAGE_REQUEST_MODE.
pub async fn process(
    ctx: &QueryAssignmentContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::QUERY_ASSIGNMENT => query_assignment(ctx, request).await,
        rq::SET_MESSAGE_REQUEST_MODE => set_message_request_mode(ctx, request).await,
        _ => Some(unsupported_request(&request)),
    }
}

async fn query_assignment(
    ctx: &QueryAssignmentContext,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, QueryAssignmentRequestBody);
    let Some(topic_config) = ctx.topics.select_topic_config(&body.topic) else {
        return error(
            &request,
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", body.topic),
        );
    };
    let config = ctx.config.get();
    let mode = if mix_all::is_retry_topic(&body.topic) {
        message_request_mode::PULL.to_string()
    } else {
        ctx.request_modes
            .get(&body.topic, &body.consumer_group)
            .map(|m| m.mode)
            .unwrap_or_else(|| config.default_message_request_mode.clone())
    };
    // the queues of every broker of the topic, not only this one's (RocketMQ's broker asks the
    // name servers too), so one answer covers a multi-master cluster
    let local = || {
        (0..topic_config.read_queue_nums)
            .map(|id| MessageQueue::new(&body.topic, &config.broker_name, id))
            .collect()
    };
    let Some(all) = ctx.routes.subscribe_queues(&body.topic, local).await else {
        return error(
            &request,
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] has no route on the name servers", body.topic),
        );
    };
    let queues = assign(ctx, &body, &mode, &all);
    let answer = QueryAssignmentResponseBody {
        message_queue_assignments: queues
            .into_iter()
            .map(|message_queue| MessageQueueAssignment {
                message_queue,
                mode: mode.clone(),
                attachments: Default::default(),
            })
            .collect(),
    };
    let mut reply = RemotingCommand::response_to(&request, response::SUCCESS);
    reply.body = ferrocket_protocol::body::encode(&answer);
    Some(reply)
}

/// The queues of `all` (sorted) for the asking client: under POP every broker's queue -1 ("every
/// queue of that broker", RocketMQ `allocate4Pop` with `popShareQueueNum` 0), under PULL all of
/// them when broadcasting, else the client's share as `AllocateMessageQueueAveragely` computes it.
fn assign(
    ctx: &QueryAssignmentContext,
    body: &QueryAssignmentRequestBody,
    mode: &str,
    all: &[MessageQueue],
) -> Vec<MessageQueue> {
    if mode == message_request_mode::POP {
        let mut per_broker: Vec<MessageQueue> = all
            .iter()
            .map(|q| MessageQueue::new(&q.topic, &q.broker_name, -1))
            .collect();
        per_broker.dedup();
        return per_broker;
    }
    if body.message_model == "BROADCASTING" {
        return all.to_vec();
    }
    let mut clients = ctx.consumers.client_ids(&body.consumer_group);
    // the asking client is alive even if its first heartbeat has not arrived yet
    if !clients.contains(&body.client_id) {
        clients.push(body.client_id.clone());
    }
    clients.sort();
    allocate_averagely(&body.client_id, all, &clients)
}

async fn set_message_request_mode(
    ctx: &QueryAssignmentContext,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let body = decode_body!(request, SetMessageRequestModeRequestBody);
    if mix_all::is_retry_topic(&body.topic) {
        return error(
            &request,
            response::NO_PERMISSION,
            "retry topic is not allowed to set mode",
        );
    }
    if body.mode != message_request_mode::PULL && body.mode != message_request_mode::POP {
        return error(
            &request,
            response::INVALID_PARAMETER,
            format!("unknown message request mode {:?}", body.mode),
        );
    }
    let modes = ctx.request_modes.clone();
    let saved = ferrocket_store::blocking::run_blocking(move || modes.set_and_persist(body)).await;
    match saved {
        Ok(Ok(())) => Some(RemotingCommand::response_to(&request, response::SUCCESS)),
        Ok(Err(e)) => error(&request, response::SYSTEM_ERROR, e.to_string()),
        Err(e) => error(&request, response::SYSTEM_ERROR, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averagely_splits_queues_like_the_java_strategy() {
        let queues: Vec<MessageQueue> = (0..5).map(|i| MessageQueue::new("T", "b", i)).collect();
        let clients = vec!["a".to_string(), "b".to_string()];
        let ids = |c: &str| -> Vec<i32> {
            allocate_averagely(c, &queues, &clients)
                .iter()
                .map(|q| q.queue_id)
                .collect()
        };
        assert_eq!(ids("a"), vec![0, 1, 2]);
        assert_eq!(ids("b"), vec![3, 4]);
        assert!(ids("stranger").is_empty());
        let many: Vec<String> = (0..7).map(|i| format!("c{i}")).collect();
        let last = allocate_averagely("c6", &queues, &many);
        assert!(last.is_empty());
    }
}
