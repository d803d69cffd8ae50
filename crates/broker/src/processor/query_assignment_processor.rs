//! `QueryAssignmentProcessor`: QUERY_ASSIGNMENT (400) and SET_MESSAGE_REQUEST_MODE (401).
//!
//! A 5.x push consumer with `clientRebalance=false` asks the broker which queues to read and
//! whether to PULL or POP them. POP assigns this broker's queue -1 ("every queue") to each client;
//! PULL divides this broker's read queues among the group's clients like
//! `AllocateMessageQueueAveragely`. `%RETRY%` topics are always PULL.

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
use crate::topic::TopicConfigManager;

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
}

/// Handles QUERY_ASSIGNMENT and SET_MESSAGE_REQUEST_MODE.
pub async fn process(
    ctx: &QueryAssignmentContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::QUERY_ASSIGNMENT => query_assignment(ctx, request),
        rq::SET_MESSAGE_REQUEST_MODE => set_message_request_mode(ctx, request).await,
        _ => Some(unsupported_request(&request)),
    }
}

fn query_assignment(
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
    let queue = |queue_id| MessageQueue::new(&body.topic, &config.broker_name, queue_id);
    let queues: Vec<MessageQueue> = if mode == message_request_mode::POP {
        vec![queue(-1)]
    } else {
        let all: Vec<MessageQueue> = (0..topic_config.read_queue_nums).map(queue).collect();
        if body.message_model == "BROADCASTING" {
            all
        } else {
            let mut clients = ctx.consumers.client_ids(&body.consumer_group);
            // the asking client is alive even if its first heartbeat has not arrived yet
            if !clients.contains(&body.client_id) {
                clients.push(body.client_id.clone());
            }
            clients.sort();
            allocate_averagely(&body.client_id, &all, &clients)
        }
    };
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
