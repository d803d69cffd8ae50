//! CONSUMER_SEND_MSG_BACK (36), part of RocketMQ's `SendMessageProcessor`: a failed message
//! goes to `%RETRY%<group>` with a growing delay, or to `%DLQ%<group>` when out of retries.

use std::sync::Arc;

use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::consumer_send_msg_back::ConsumerSendMsgBackRequestHeader;
use ferrocket_protocol::message::{parse_record, property, string_to_properties};
use ferrocket_protocol::util::create_message_id;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::MessageExtBrokerInner;

use super::decode_header;
use super::error;
use crate::broker_controller::BrokerController;
use crate::mix_all;

/// `TopicSysFlag.buildSysFlag(false, true)`: the retry topic of a unit-mode consumer.
const TOPIC_FLAG_UNIT_SUB: i32 = 1 << 1;
/// Queues of a `%DLQ%` topic.
const DLQ_NUMS_PER_GROUP: i32 = 1;
/// `MQVersion.Version.V3_4_9.ordinal()`: from this client version on, the request's
/// `maxReconsumeTimes` replaces the subscription group's `retryMaxTimes`.
const V3_4_9: i32 = 121;

/// Handles a send-back.
pub async fn process(
    broker: &Arc<BrokerController>,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, ConsumerSendMsgBackRequestHeader);
    let Some(group_config) = broker
        .subscription_group_manager()
        .find_subscription_group_config(&h.group)
    else {
        return error(
            &request,
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", h.group),
        );
    };
    if !perm::is_writeable(broker.broker_config().broker_permission) {
        return error(
            &request,
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                broker.broker_config().broker_ip1
            ),
        );
    }
    if group_config.retry_queue_nums <= 0 {
        return Some(RemotingCommand::response_to(&request, response::SUCCESS));
    }
    // The retry topic is made sure of (and must be writable) even when the message will go to the
    // DLQ, as RocketMQ does.
    let retry = mix_all::retry_topic(&h.group);
    let topic_sys_flag = if h.unit_mode { TOPIC_FLAG_UNIT_SUB } else { 0 };
    let retry_config = broker
        .topic_config_manager()
        .create_topic_in_send_message_back_method(
            &retry,
            group_config.retry_queue_nums,
            perm::READ_WRITE,
            topic_sys_flag,
        );
    if !perm::is_writeable(retry_config.perm) {
        return error(
            &request,
            response::NO_PERMISSION,
            format!("the topic[{retry}] sending message is forbidden"),
        );
    }
    let Some(record) = broker.message_store().look_message_by_offset(h.offset) else {
        return error(
            &request,
            response::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        );
    };
    let Ok(view) = parse_record(&record) else {
        return error(
            &request,
            response::SYSTEM_ERROR,
            format!("the message at offset {} cannot be decoded", h.offset),
        );
    };
    let mut properties = string_to_properties(&view.properties_lossy());
    if !properties.contains_key(property::RETRY_TOPIC) {
        properties.insert(property::RETRY_TOPIC, view.topic_lossy().as_ref());
    }
    let mut max_reconsume_times = group_config.retry_max_times;
    if request.version >= V3_4_9 {
        if let Some(m) = h.max_reconsume_times {
            max_reconsume_times = m;
        }
    }
    let topics = broker.topic_config_manager();
    let (topic, queue_id) = if view.reconsume_times >= max_reconsume_times || h.delay_level < 0 {
        let dlq = mix_all::dlq_topic(&h.group);
        topics.create_topic_in_send_message_back_method(
            &dlq,
            DLQ_NUMS_PER_GROUP,
            perm::READ_WRITE,
            0,
        );
        // RocketMQ stamps dead letters with delay level 0 (no delay).
        properties.insert(property::DELAY, "0");
        (dlq, 0)
    } else {
        let level = if h.delay_level == 0 {
            3 + view.reconsume_times
        } else {
            h.delay_level
        };
        properties.insert(property::DELAY, level.to_string());
        let queue_id = rand::random::<u32>() % group_config.retry_queue_nums as u32;
        (retry, queue_id as i32)
    };
    if !properties.contains_key(property::ORIGIN_MESSAGE_ID) {
        let origin = create_message_id(view.store_host, view.physical_offset);
        properties.insert(property::ORIGIN_MESSAGE_ID, origin);
    }
    properties.insert(property::WAIT, "false");
    let mut msg = MessageExtBrokerInner::from_stored(&view, &record, topic, queue_id, &properties);
    msg.reconsume_times = view.reconsume_times + 1;
    msg.prepared_transaction_offset = 0;
    broker
        .schedule_message_service()
        .transform_delay_level_message(&mut msg);
    let topic_counters = broker.broker_stats_manager().topic_stats().get(&msg.topic);
    let result = broker.message_store().put_message(msg).await;
    if result.is_ok() {
        broker.broker_stats_manager().inc_put(1);
        topic_counters.add_put_result(&result);
        Some(RemotingCommand::response_to(&request, response::SUCCESS))
    } else {
        error(&request, response::SYSTEM_ERROR, result.status.as_str())
    }
}
