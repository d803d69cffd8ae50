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
    let request_mode = if mix_all::is_retry_topic(&body.topic) {
        None
    } else {
        ctx.request_modes.get(&body.topic, &body.consumer_group)
    };
    let mode = match (&request_mode, mix_all::is_retry_topic(&body.topic)) {
        (_, true) => message_request_mode::PULL.to_string(),
        (Some(m), false) => m.mode.clone(),
        (None, false) => config.default_message_request_mode.clone(),
    };
    let pop_share_queue_num = request_mode.map_or(0, |m| m.pop_share_queue_num);
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
    let queues = assign(ctx, &body, &mode, pop_share_queue_num, &all);
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

/// The queues of `all` (sorted) for the asking client: all of them when broadcasting (in either
/// mode, as RocketMQ's `doLoadBalance`), else under POP as [`allocate_for_pop`] and under PULL the
/// client's share as `AllocateMessageQueueAveragely` computes it.
fn assign(
    ctx: &QueryAssignmentContext,
    body: &QueryAssignmentRequestBody,
    mode: &str,
    pop_share_queue_num: i32,
    all: &[MessageQueue],
) -> Vec<MessageQueue> {
    if body.message_model == "BROADCASTING" {
        return all.to_vec();
    }
    let mut clients = ctx.consumers.client_ids(&body.consumer_group);
    // the asking client is alive even if its first heartbeat has not arrived yet
    if !clients.contains(&body.client_id) {
        clients.push(body.client_id.clone());
    }
    clients.sort();
    if mode == message_request_mode::POP {
        allocate_for_pop(&body.client_id, all, &clients, pop_share_queue_num)
    } else {
        allocate_averagely(&body.client_id, all, &clients)
    }
}

/// RocketMQ `allocate4Pop`: with `popShareQueueNum` ≤ 0 (the default) or at least the number of
/// other clients, every client pops every broker (queue -1 of each); otherwise a client pops its
/// own average share plus the shares of the `popShareQueueNum` clients after it, or, with more
/// clients than queues, the one queue at its position.
fn allocate_for_pop(
    client: &str,
    all: &[MessageQueue],
    clients: &[String],
    pop_share_queue_num: i32,
) -> Vec<MessageQueue> {
    let share = usize::try_from(pop_share_queue_num).unwrap_or(0);
    if share == 0 || share + 1 >= clients.len() {
        let mut per_broker: Vec<MessageQueue> = all
            .iter()
            .map(|q| MessageQueue::new(&q.topic, &q.broker_name, -1))
            .collect();
        per_broker.dedup();
        return per_broker;
    }
    let Some(index) = clients.iter().position(|c| c == client) else {
        return Vec::new();
    };
    if all.is_empty() {
        return Vec::new();
    }
    if clients.len() > all.len() {
        return vec![all[index % all.len()].clone()];
    }
    let mut queues = allocate_averagely(client, all, clients);
    for step in 1..=share {
        let next = &clients[(index + step) % clients.len()];
        queues.extend(allocate_averagely(next, all, clients));
    }
    queues
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
    fn pop_share_queue_num_follows_allocate4pop() {
        let mq = |b: &str, q| MessageQueue::new("T", b, q);
        let all: Vec<MessageQueue> = ["a", "b"]
            .iter()
            .flat_map(|b| (0..2).map(move |q| mq(b, q)))
            .collect();
        let clients: Vec<String> = ["c0", "c1", "c2", "c3"].map(String::from).to_vec();
        // the default: every broker, queue -1
        let every = vec![mq("a", -1), mq("b", -1)];
        assert_eq!(allocate_for_pop("c1", &all, &clients, 0), every);
        assert_eq!(allocate_for_pop("c1", &all, &clients, 3), every);
        // one share: its own queue and the next client's
        assert_eq!(
            allocate_for_pop("c1", &all, &clients, 1),
            vec![mq("a", 1), mq("b", 0)]
        );
        assert_eq!(
            allocate_for_pop("c3", &all, &clients, 2),
            vec![mq("b", 1), mq("a", 0), mq("a", 1)]
        );
        // more clients than queues: the queue at the client's position
        let many: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
        assert_eq!(allocate_for_pop("c5", &all, &many, 1), vec![mq("a", 1)]);
    }

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
