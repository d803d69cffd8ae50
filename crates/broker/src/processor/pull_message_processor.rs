//! `PullMessageProcessor`: PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! A pull that finds nothing and carries the SUSPEND bit waits (in this request's own task) for
//! a matching message on its queue or for its suspend timeout, then runs once more without
//! suspension, like RocketMQ's `PullRequestHoldService` re-execution.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::body::heartbeat::{MessageModel, SubscriptionData};
use ferrocket_protocol::body::subscription_group_config::SubscriptionGroupConfig;
use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pull_message::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::{GetMessageResult, GetMessageStatus};

use super::header_error;
use super::offset_moved_event::{generate_offset_moved_event, EventQueue, OffsetMovedEvent};
use crate::broker_config::BrokerConfig;
use crate::broker_controller::BrokerController;
use crate::filter::{pull_filter, ExpressionMessageFilter};

/// The longest a pull is held, whatever the client asks: clients time out after 30 s.
pub const MAX_SUSPEND_MILLIS: u64 = 25_000;

/// `ForbiddenType` values reported with NO_PERMISSION.
mod forbidden_type {
    pub const BROKER_FORBIDDEN: i32 = 1;
    pub const GROUP_FORBIDDEN: i32 = 2;
    pub const TOPIC_FORBIDDEN: i32 = 3;
    pub const BROADCASTING_DISABLE_FORBIDDEN: i32 = 4;
}

/// What one pull attempt produced.
enum PullOutcome {
    /// Send this.
    Reply(RemotingCommand),
    /// Nothing yet; hold the request and try again.
    Suspend {
        topic: String,
        queue_id: i32,
        offset: i64,
        filter: ExpressionMessageFilter,
        timeout: Duration,
    },
}

/// Handles a pull, holding it when allowed and nothing is available.
pub async fn process(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match process_request(broker, channel, &request, true) {
        PullOutcome::Reply(r) => Some(r),
        PullOutcome::Suspend {
            topic,
            queue_id,
            offset,
            filter,
            timeout,
        } => {
            let hold = broker.pull_request_hold_service().clone();
            let ticket = hold.suspend_pull_request(&topic, queue_id, filter.codes());
            // a message may have landed between the first attempt and parking
            let arrived = broker
                .message_store()
                .get_max_offset_in_queue(&topic, queue_id)
                > offset;
            if !arrived && !broker.is_shutting_down() {
                let mut stop = broker.shutdown_signal();
                tokio::select! {
                    _ = ticket.notified() => {}
                    _ = tokio::time::sleep(timeout) => {}
                    _ = stop.changed() => {}
                }
            }
            drop(ticket);
            match process_request(broker, channel, &request, false) {
                PullOutcome::Reply(r) => Some(r),
                PullOutcome::Suspend { .. } => unreachable!("a re-run never suspends"),
            }
        }
    }
}

fn pull_response(
    request: &RemotingCommand,
    code: i32,
    header: &PullMessageResponseHeader,
) -> RemotingCommand {
    let mut r = RemotingCommand::response_to(request, code);
    header.write_to(&mut r);
    r
}

/// A failure reply that still carries the four offsets every pull response must have.
fn pull_error(
    request: &RemotingCommand,
    code: i32,
    remark: String,
    offsets: (i64, i64, i64),
    forbidden: Option<i32>,
) -> PullOutcome {
    let header = PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: offsets.0,
        min_offset: offsets.1,
        max_offset: offsets.2,
        offset_delta: None,
        topic_sys_flag: None,
        group_sys_flag: None,
        forbidden_type: forbidden,
    };
    PullOutcome::Reply(pull_response(request, code, &header).with_remark(remark))
}

fn process_request(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: &RemotingCommand,
    broker_allow_suspend: bool,
) -> PullOutcome {
    let _timer = broker.broker_stats_manager().pull_timer();
    let h = match PullMessageRequestHeader::decode(request) {
        Ok(h) => h,
        Err(e) => {
            let mut r = header_error(request, e);
            PullMessageResponseHeader {
                suggest_which_broker_id: 0,
                next_begin_offset: 0,
                min_offset: 0,
                max_offset: 0,
                offset_delta: None,
                topic_sys_flag: None,
                group_sys_flag: None,
                forbidden_type: None,
            }
            .write_to(&mut r);
            return PullOutcome::Reply(r);
        }
    };
    let no_offsets = (h.queue_offset, 0, 0);
    let config = broker.broker_config();
    if !perm::is_readable(config.broker_permission) {
        return pull_error(
            request,
            response::NO_PERMISSION,
            format!(
                "the broker[{}] pulling message is forbidden",
                config.broker_ip1
            ),
            no_offsets,
            Some(forbidden_type::BROKER_FORBIDDEN),
        );
    }
    let Some(group_config) = broker
        .subscription_group_manager()
        .find_subscription_group_config(&h.consumer_group)
    else {
        return pull_error(
            request,
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{}] does not exist", h.consumer_group),
            no_offsets,
            None,
        );
    };
    if !group_config.consume_enable {
        return pull_error(
            request,
            response::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
            no_offsets,
            Some(forbidden_type::GROUP_FORBIDDEN),
        );
    }
    let Some(topic_config) = broker.topic_config_manager().select_topic_config(&h.topic) else {
        return pull_error(
            request,
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", h.topic),
            no_offsets,
            None,
        );
    };
    if !perm::is_readable(topic_config.perm) {
        return pull_error(
            request,
            response::NO_PERMISSION,
            format!("the topic[{}] pulling message is forbidden", h.topic),
            no_offsets,
            Some(forbidden_type::TOPIC_FORBIDDEN),
        );
    }
    if h.queue_id < 0 || h.queue_id >= topic_config.read_queue_nums {
        return pull_error(
            request,
            response::INVALID_PARAMETER,
            format!(
                "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                h.queue_id,
                h.topic,
                topic_config.read_queue_nums,
                channel.remote_addr()
            ),
            no_offsets,
            None,
        );
    }

    let subscription = if pull_sys_flag::has_subscription(h.sys_flag) {
        let expression = h.subscription.as_deref().unwrap_or("*");
        let mut s = SubscriptionData::tag(&h.topic, expression);
        s.sub_version = h.sub_version;
        if let Some(t) = h
            .expression_type
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        {
            s.expression_type = t.trim().to_string();
        }
        s
    } else {
        let Some((message_model, subscription)) = broker
            .consumer_manager()
            .pull_subscription(&h.consumer_group, &h.topic)
        else {
            return pull_error(
                request,
                response::SUBSCRIPTION_NOT_EXIST,
                "the consumer's group info not exist".into(),
                no_offsets,
                None,
            );
        };
        if !group_config.consume_broadcast_enable && message_model == MessageModel::Broadcasting {
            return pull_error(
                request,
                response::NO_PERMISSION,
                format!(
                    "the consumer group[{}] can not consume by broadcast way",
                    h.consumer_group
                ),
                no_offsets,
                Some(forbidden_type::BROADCASTING_DISABLE_FORBIDDEN),
            );
        }
        let Some(s) = subscription else {
            return pull_error(
                request,
                response::SUBSCRIPTION_NOT_EXIST,
                "the consumer's subscription not exist".into(),
                no_offsets,
                None,
            );
        };
        if s.sub_version < h.sub_version {
            return pull_error(
                request,
                response::SUBSCRIPTION_NOT_LATEST,
                "the consumer's subscription not latest".into(),
                no_offsets,
                None,
            );
        }
        s
    };
    let filter = match pull_filter::build(broker, &h, &subscription) {
        Ok(f) => f,
        Err(e) => return pull_error(request, e.code, e.remark, no_offsets, None),
    };

    let store = broker.message_store();
    let result = store.get_message(
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        h.queue_offset,
        h.max_msg_nums.max(0),
        h.max_msg_bytes.unwrap_or(i32::MAX).max(0),
        Some(&filter),
    );

    let code = match result.status {
        GetMessageStatus::Found => response::SUCCESS,
        GetMessageStatus::MessageWasRemoving | GetMessageStatus::NoMatchedMessage => {
            response::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if h.queue_offset != 0 {
                response::PULL_OFFSET_MOVED
            } else {
                response::PULL_NOT_FOUND
            }
        }
        GetMessageStatus::OffsetFoundNull | GetMessageStatus::OffsetOverflowOne => {
            response::PULL_NOT_FOUND
        }
        GetMessageStatus::OffsetOverflowBadly | GetMessageStatus::OffsetTooSmall => {
            response::PULL_OFFSET_MOVED
        }
    };
    let is_slave = broker.is_slave();
    // a slave may simply be behind its master: it never moves a consumer's offset
    // (RocketMQ's `offsetCheckInSlave`, default false), the consumer retries at the same offset
    let (code, next_begin_offset) = if code == response::PULL_OFFSET_MOVED && is_slave {
        (response::PULL_RETRY_IMMEDIATELY, h.queue_offset)
    } else {
        (code, result.next_begin_offset)
    };
    let suggest_which_broker_id =
        suggest_which_broker_id(broker, &config, &group_config, &h, &result);

    // the consumer's own offset rides on the first processing of a pull (on a master only)
    if broker_allow_suspend && !is_slave && pull_sys_flag::has_commit_offset(h.sys_flag) {
        broker.consumer_offset_manager().commit_offset(
            &channel.remote_addr().to_string(),
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            h.commit_offset,
        );
    }
    broker.consumer_offset_manager().commit_pull_offset(
        &h.consumer_group,
        &h.topic,
        h.queue_id,
        result.next_begin_offset,
    );

    if code == response::PULL_NOT_FOUND
        && broker_allow_suspend
        && pull_sys_flag::has_suspend(h.sys_flag)
        && !broker.is_shutting_down()
    {
        let millis = if config.long_polling_enable {
            (h.suspend_timeout_millis.max(0) as u64).min(MAX_SUSPEND_MILLIS)
        } else {
            config.short_polling_time_mills
        };
        return PullOutcome::Suspend {
            topic: h.topic,
            queue_id: h.queue_id,
            offset: h.queue_offset,
            filter,
            timeout: Duration::from_millis(millis),
        };
    }

    if code == response::PULL_OFFSET_MOVED {
        generate_offset_moved_event(
            broker,
            OffsetMovedEvent {
                consumer_group: h.consumer_group.clone(),
                message_queue: EventQueue {
                    broker_name: broker.broker_config().broker_name.clone(),
                    queue_id: h.queue_id,
                    topic: h.topic.clone(),
                },
                offset_new: result.next_begin_offset,
                offset_request: h.queue_offset,
            },
        );
    }

    let header = PullMessageResponseHeader {
        suggest_which_broker_id,
        next_begin_offset,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        offset_delta: None,
        topic_sys_flag: Some(topic_config.topic_sys_flag),
        group_sys_flag: Some(group_config.group_sys_flag),
        forbidden_type: None,
    };
    let mut r = pull_response(request, code, &header).with_remark(result.status.as_str());
    if code == response::SUCCESS {
        broker
            .broker_stats_manager()
            .inc_get(result.messages.len() as u64);
        broker
            .broker_stats_manager()
            .on_get(&h.topic, result.messages.len(), result.total_size);
        // the records go out as slices of the mapped files, never joined into one buffer
        r.body_tail = result.messages;
    }
    PullOutcome::Reply(r)
}

/// Which broker of the group the consumer should pull this queue from next
/// (`suggestWhichBrokerId`, RocketMQ 4.9): with `slaveReadEnable`, a consumer reading data that
/// has left the master's page cache (older than `accessMessageInMemoryMaxRatio` percent of
/// memory) is sent to the group's `whichBrokerWhenConsumeSlowly` (1), otherwise to its
/// `brokerId` (0); without it always to the master.
fn suggest_which_broker_id(
    broker: &BrokerController,
    config: &BrokerConfig,
    group: &SubscriptionGroupConfig,
    h: &PullMessageRequestHeader,
    result: &GetMessageResult,
) -> i64 {
    if !config.slave_read_enable {
        return crate::mix_all::MASTER_ID;
    }
    let pulling_old_data = result.message_queue_offsets.last().is_some_and(|&last| {
        !broker
            .message_store()
            .check_in_mem_by_consume_offset(&h.topic, h.queue_id, last)
    });
    if pulling_old_data {
        group.which_broker_when_consume_slowly
    } else {
        group.broker_id
    }
}
