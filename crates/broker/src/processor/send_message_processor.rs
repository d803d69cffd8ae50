//! `SendMessageProcessor`: SEND_MESSAGE (10), SEND_MESSAGE_V2 (310), SEND_BATCH_MESSAGE (320).

use std::sync::Arc;

use ferrocket_protocol::body::topic::{perm, TopicConfig, TopicFilterType};
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::send_message::{
    SendMessageRequestHeader, SendMessageResponseHeader, MSG_REGION, TRACE_ON,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::{
    decode_batch_body, property, string_to_properties, sys_flag, Properties,
};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::{MessageExtBrokerInner, PutMessageResult, PutMessageStatus};

use super::header_error;
use crate::broker_controller::BrokerController;
use crate::message_id;
use crate::mix_all;
use crate::topic::topic_validator;
use crate::transaction::transactional_message_bridge::parse_half_message_inner;

/// Queues of a `%DLQ%` topic.
const DLQ_NUMS_PER_GROUP: i32 = 1;
/// Version from which the client's `maxReconsumeTimes` header is honoured (`V3_4_9`).
const V3_4_9: i32 = 121;

fn delay_level(properties: &Properties) -> i32 {
    properties
        .get(property::DELAY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Handles a send.
pub async fn process(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let header = match SendMessageRequestHeader::decode_for_code(&request) {
        Ok(h) => h,
        Err(e) => return Some(with_region(broker, header_error(&request, e))),
    };
    let _timer = broker.broker_stats_manager().send_timer();
    let reply = match send(broker, channel, &request, header).await {
        Ok(r) => r,
        Err(r) => *r,
    };
    Some(with_region(broker, reply))
}

/// The Java broker adds MSG_REGION and TRACE_ON to every send response.
pub(crate) fn with_region(broker: &BrokerController, r: RemotingCommand) -> RemotingCommand {
    let config = broker.broker_config();
    r.with_ext(MSG_REGION, &config.region_id)
        .with_ext(TRACE_ON, config.trace_on)
}

/// A refusal: the reply to send instead of storing anything.
pub(crate) type Refusal = Box<RemotingCommand>;

fn fail<T>(request: &RemotingCommand, code: i32, remark: impl Into<String>) -> Result<T, Refusal> {
    Err(Box::new(RemotingCommand::error_to(request, code, remark)))
}

/// `msgCheck`: topic name, permission, existence (auto-creating it), queue id.
pub(crate) fn msg_check(
    broker: &BrokerController,
    channel: &Channel,
    request: &RemotingCommand,
    h: &SendMessageRequestHeader,
) -> Result<TopicConfig, Refusal> {
    let config = broker.broker_config();
    let topics = broker.topic_config_manager();
    if !perm::is_writeable(config.broker_permission) && topics.is_order_topic(&h.topic) {
        fail(
            request,
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                config.broker_ip1
            ),
        )?;
    }
    if let Err(remark) = topic_validator::validate_topic(&h.topic) {
        fail(request, response::INVALID_PARAMETER, remark)?;
    }
    if topic_validator::is_not_allowed_send_topic(&h.topic) {
        fail(
            request,
            response::NO_PERMISSION,
            format!("Sending message to topic[{}] is forbidden.", h.topic),
        )?;
    }
    let topic_config = match topics.select_topic_config(&h.topic) {
        Some(t) => t,
        None => {
            tracing::debug!(topic = %h.topic, producer = %channel.remote_addr(), "send to an unknown topic");
            let created = topics
                .create_topic_in_send_message_method(
                    &h.topic,
                    &h.default_topic,
                    h.default_topic_queue_nums,
                    0,
                )
                .or_else(|| {
                    mix_all::is_retry_topic(&h.topic).then(|| {
                        topics.create_topic_in_send_message_back_method(
                            &h.topic,
                            1,
                            perm::READ_WRITE,
                            0,
                        )
                    })
                });
            match created {
                Some(t) => t,
                None => {
                    return fail(
                        request,
                        response::TOPIC_NOT_EXIST,
                        format!("topic[{}] not exist, apply first please!", h.topic),
                    )
                }
            }
        }
    };
    let id_valid = topic_config
        .write_queue_nums
        .max(topic_config.read_queue_nums);
    if h.queue_id >= id_valid {
        fail(
            request,
            response::INVALID_PARAMETER,
            format!(
                "request queueId[{}] is illegal, topic {} has {} queues, Producer: {}",
                h.queue_id,
                h.topic,
                id_valid,
                channel.remote_addr()
            ),
        )?;
    }
    Ok(topic_config)
}

pub(crate) fn random_queue_id(write_queue_nums: i32) -> i32 {
    if write_queue_nums <= 0 {
        return 0;
    }
    rand::random::<u32>()
        .checked_rem(write_queue_nums as u32)
        .unwrap_or(0) as i32
}

/// Checks the body against `maxMessageSize` with a remark that says what to change.
pub(crate) fn check_body(
    broker: &BrokerController,
    request: &RemotingCommand,
) -> Result<(), Refusal> {
    let len = request.body.len();
    if len == 0 {
        fail(
            request,
            response::MESSAGE_ILLEGAL,
            "the message body is empty",
        )?;
    }
    let max = broker.message_store_config().max_message_size;
    if len > max {
        fail(
            request,
            response::MESSAGE_ILLEGAL,
            format!(
                "the message body size {len} bytes exceeds the broker limit of {max} bytes (maxMessageSize); \
                 send a smaller body or raise maxMessageSize"
            ),
        )?;
    }
    Ok(())
}

async fn send(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: &RemotingCommand,
    h: SendMessageRequestHeader,
) -> Result<RemotingCommand, Refusal> {
    let topic_config = msg_check(broker, channel, request, &h)?;
    check_body(broker, request)?;
    let queue_id = if h.queue_id < 0 {
        random_queue_id(topic_config.write_queue_nums)
    } else {
        h.queue_id
    };
    let mut sys_flag = h.sys_flag;
    if topic_config.topic_filter_type == TopicFilterType::MultiTag {
        sys_flag |= sys_flag::MULTI_TAGS;
    }
    // Apache decides by the header's batch flag: the C++ client sends its batches as
    // SEND_MESSAGE_V2 with `m=true`.
    if request.code == rq::SEND_BATCH_MESSAGE || h.batch == Some(true) {
        return send_batch(broker, channel, request, &h, queue_id, sys_flag).await;
    }

    let mut properties = string_to_properties(h.properties.as_deref().unwrap_or(""));
    let mut topic = h.topic.clone();
    let mut queue_id = queue_id;
    if mix_all::is_retry_topic(&topic) {
        let group = &topic[mix_all::RETRY_GROUP_TOPIC_PREFIX.len()..];
        let Some(group_config) = broker
            .subscription_group_manager()
            .find_subscription_group_config(group)
        else {
            return fail(
                request,
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group not exist, {group}"),
            );
        };
        let mut max_reconsume_times = group_config.retry_max_times;
        if request.version >= V3_4_9 {
            if let Some(m) = h.max_reconsume_times {
                max_reconsume_times = m;
            }
        }
        let reconsume_times = h.reconsume_times.unwrap_or(0);
        let locked = !broker.rebalance_lock_manager().is_lock_all_expired(group);
        if reconsume_times > max_reconsume_times || locked {
            properties.insert(property::DELAY, "-1");
            topic = mix_all::dlq_topic(group);
            queue_id = random_queue_id(DLQ_NUMS_PER_GROUP);
            broker
                .topic_config_manager()
                .create_topic_in_send_message_back_method(
                    &topic,
                    DLQ_NUMS_PER_GROUP,
                    perm::READ_WRITE,
                    0,
                );
        }
    }
    if properties.get(property::UNIQ_KEY).is_none_or(str::is_empty) {
        properties.insert(property::UNIQ_KEY, message_id::create_uniq_id());
    }
    properties.insert(
        property::CLUSTER,
        broker.broker_config().broker_cluster_name.as_str(),
    );
    // a prepared message becomes a half message, unless it is an old client's delayed retry
    let prepared = properties.get(property::TRAN_MSG) == Some("true")
        && !(h.reconsume_times.unwrap_or(0) > 0 && delay_level(&properties) > 0);
    if prepared && broker.broker_config().reject_transaction_message {
        return fail(
            request,
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending transaction message is forbidden",
                broker.broker_config().broker_ip1
            ),
        );
    }
    let uniq_key = properties
        .get(property::UNIQ_KEY)
        .unwrap_or_default()
        .to_string();
    let mut msg = MessageExtBrokerInner {
        topic,
        queue_id,
        flag: h.flag,
        sys_flag,
        body: request.body.clone(),
        born_timestamp: h.born_timestamp,
        born_host: channel.remote_addr(),
        store_host: broker.store_host(),
        reconsume_times: h.reconsume_times.unwrap_or(0),
        ..Default::default()
    };
    if prepared {
        parse_half_message_inner(&mut msg, &mut properties);
    } else {
        msg.set_properties(&properties);
        if let Err(status) = broker
            .timer_message_store()
            .transform_timer_message(&mut msg)
        {
            return handle_put_message_result(
                broker,
                request,
                PutMessageResult::failure(status),
                queue_id,
                None,
                None,
            );
        }
        broker
            .schedule_message_service()
            .transform_delay_level_message(&mut msg);
    }
    let result = broker.message_store().put_message(msg).await;
    broker.broker_stats_manager().on_put(&h.topic, &result);
    handle_put_message_result(broker, request, result, queue_id, Some(uniq_key), None)
}

async fn send_batch(
    broker: &Arc<BrokerController>,
    channel: &Channel,
    request: &RemotingCommand,
    h: &SendMessageRequestHeader,
    queue_id: i32,
    sys_flag: i32,
) -> Result<RemotingCommand, Refusal> {
    if h.topic.len() > i8::MAX as usize {
        return fail(
            request,
            response::MESSAGE_ILLEGAL,
            format!("message topic length too long {}", h.topic.len()),
        );
    }
    if mix_all::is_retry_topic(&h.topic) {
        return fail(
            request,
            response::MESSAGE_ILLEGAL,
            format!("batch request does not support retry group {}", h.topic),
        );
    }
    let batch_properties = string_to_properties(h.properties.as_deref().unwrap_or(""));
    let batch_uniq = batch_properties.get(property::UNIQ_KEY).map(str::to_string);
    let entries = match decode_batch_body(&request.body) {
        Ok(e) if !e.is_empty() => e,
        Ok(_) => {
            return fail(
                request,
                response::MESSAGE_ILLEGAL,
                "the batch holds no message",
            )
        }
        Err(e) => {
            return fail(
                request,
                response::MESSAGE_ILLEGAL,
                format!("malformed batch body: {e}"),
            )
        }
    };
    let config = broker.broker_config();
    let cluster = config.broker_cluster_name.as_str();
    let mut batch = Vec::with_capacity(entries.len());
    for entry in entries {
        let mut properties = entry.properties;
        // like RocketMQ, the batch-level properties apply to every inner message
        for (k, v) in batch_properties.iter() {
            if !properties.contains_key(k) {
                properties.insert(k, v);
            }
        }
        if properties.get(property::UNIQ_KEY).is_none_or(str::is_empty) {
            properties.insert(property::UNIQ_KEY, message_id::create_uniq_id());
        }
        properties.insert(property::CLUSTER, cluster);
        let mut msg = MessageExtBrokerInner {
            topic: h.topic.clone(),
            queue_id,
            flag: entry.flag,
            sys_flag,
            body: entry.body,
            born_timestamp: h.born_timestamp,
            born_host: channel.remote_addr(),
            store_host: broker.store_host(),
            reconsume_times: h.reconsume_times.unwrap_or(0),
            ..Default::default()
        };
        msg.set_properties(&properties);
        batch.push(msg);
    }
    let result = broker.message_store().put_messages(batch).await;
    broker.broker_stats_manager().on_put(&h.topic, &result);
    handle_put_message_result(broker, request, result, queue_id, batch_uniq, None)
}

/// Maps the store's answer to the send response (store.md §1.8).
pub(crate) fn handle_put_message_result(
    broker: &BrokerController,
    request: &RemotingCommand,
    result: PutMessageResult,
    queue_id: i32,
    transaction_id: Option<String>,
    batch_uniq_id: Option<String>,
) -> Result<RemotingCommand, Refusal> {
    let max = broker.message_store_config().max_message_size;
    let code = match result.status {
        PutMessageStatus::PutOk => response::SUCCESS,
        PutMessageStatus::FlushDiskTimeout => response::FLUSH_DISK_TIMEOUT,
        PutMessageStatus::FlushSlaveTimeout => response::FLUSH_SLAVE_TIMEOUT,
        PutMessageStatus::SlaveNotAvailable => response::SLAVE_NOT_AVAILABLE,
        PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
            return fail(
                request,
                response::MESSAGE_ILLEGAL,
                format!(
                    "the message is illegal, maybe msg body or properties length not matched. \
                     msg body length limit {max}B, msg properties length limit 32KB."
                ),
            )
        }
        PutMessageStatus::ServiceNotAvailable => {
            return fail(
                request,
                response::SERVICE_NOT_AVAILABLE,
                format!(
                    "service not available now. It may be caused by one of the following reasons: \
                     the broker's disk is full [{}], messages are put to the slave, message store has been shut down, etc.",
                    broker.message_store().disk_util()
                ),
            )
        }
        PutMessageStatus::OsPageCacheBusy => {
            return fail(
                request,
                response::SYSTEM_BUSY,
                "[PC_SYNCHRONIZED]broker busy, start flow control for a while",
            )
        }
        PutMessageStatus::CreateMappedFileFailed => {
            return fail(
                request,
                response::SYSTEM_ERROR,
                "create mapped file failed, server is busy or broken.",
            )
        }
        PutMessageStatus::WheelTimerMsgIllegal => {
            return fail(
                request,
                response::MESSAGE_ILLEGAL,
                format!(
                    "timer message illegal, the delay time should not be bigger than the max delay {}ms; \
                     or if set del msg, the delay time should be bigger than the current time",
                    broker.timer_message_store().max_delay_ms()
                ),
            )
        }
        PutMessageStatus::WheelTimerNotEnable => {
            return fail(
                request,
                response::SYSTEM_ERROR,
                format!(
                    "accurate timer message is not enabled, timerWheelEnable is {}",
                    broker.timer_message_store().is_enabled()
                ),
            )
        }
        PutMessageStatus::InSyncReplicasNotEnough => {
            return fail(request, response::SYSTEM_ERROR, "in-sync replicas not enough")
        }
        other => return fail(request, response::SYSTEM_ERROR, other.as_str()),
    };
    let Some(append) = result.append else {
        return fail(
            request,
            response::SYSTEM_ERROR,
            "store putMessage returned no append result",
        );
    };
    broker
        .broker_stats_manager()
        .inc_put(append.msg_num.max(1) as u64);
    let header = SendMessageResponseHeader {
        msg_id: append.msg_id,
        queue_id,
        queue_offset: append.logics_offset,
        transaction_id,
        batch_uniq_id,
    };
    let mut r = RemotingCommand::response_to(request, code);
    header.write_to(&mut r);
    Ok(r)
}
