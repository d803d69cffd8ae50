//! `SendBackService`: a consumer's failed message goes to `%RETRY%<group>` with a growing delay,
//! or to `%DLQ%<group>` when out of retries or asked to (RocketMQ's `consumerSendMsgBack`, without
//! the remoting frame). The remoting CONSUMER_SEND_MSG_BACK and the gRPC
//! ForwardMessageToDeadLetterQueue both call it.

use std::sync::Arc;

use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::response;
use ferrocket_protocol::message::{parse_record, property, string_to_properties};
use ferrocket_protocol::util::create_message_id;
use ferrocket_store::MessageExtBrokerInner;

use crate::broker_config::SharedBrokerConfig;
use crate::mix_all;
use crate::schedule::ScheduleMessageService;
use crate::stats::broker_stats_manager::BrokerStatsManager;
use crate::subscription::{SubscriptionGroupConfig, SubscriptionGroupManager};
use crate::topic::TopicConfigManager;
use ferrocket_store::DefaultMessageStore;

/// `TopicSysFlag.buildSysFlag(false, true)`: the retry topic of a unit-mode consumer.
const TOPIC_FLAG_UNIT_SUB: i32 = 1 << 1;
/// Queues of a `%DLQ%` topic.
const DLQ_NUMS_PER_GROUP: i32 = 1;
/// `MQVersion.Version.V3_4_9.ordinal()`: from this client version on, the request's
/// `maxReconsumeTimes` replaces the subscription group's `retryMaxTimes`.
const V3_4_9: i32 = 121;

/// One failed message to send back.
#[derive(Debug, Clone)]
pub struct SendBackRequest {
    /// CommitLog offset of the failed message.
    pub offset: i64,
    /// The consumer group that failed it.
    pub group: String,
    /// Delay level of the retry: 0 picks one from the attempts so far, below 0 sends the
    /// message to the group's dead letter queue at once.
    pub delay_level: i32,
    /// The consumer runs in unit mode.
    pub unit_mode: bool,
    /// The consumer's own retry limit (clients from 3.4.9 on).
    pub max_reconsume_times: Option<i32>,
    /// The client's remoting version.
    pub client_version: i32,
}

/// A refused send-back: the remoting response code and its remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{remark} (code {code})")]
pub struct SendBackRefusal {
    /// The remoting response code.
    pub code: i32,
    /// What was wrong, for a human.
    pub remark: String,
}

impl From<(i32, String)> for SendBackRefusal {
    fn from((code, remark): (i32, String)) -> Self {
        SendBackRefusal { code, remark }
    }
}

/// What a send-back uses.
pub struct SendBackService {
    /// The live settings (`brokerPermission`).
    pub config: SharedBrokerConfig,
    /// The failed message is read back and stored again.
    pub store: Arc<DefaultMessageStore>,
    /// `%RETRY%` and `%DLQ%` topics are created on demand.
    pub topics: Arc<TopicConfigManager>,
    /// The group's retry settings.
    pub groups: Arc<SubscriptionGroupManager>,
    /// Retries are delayed by level.
    pub schedule: Arc<ScheduleMessageService>,
    /// Message counters.
    pub stats: Arc<BrokerStatsManager>,
}

/// A refusal: the response code and its remark.
type Refusal = (i32, String);

impl SendBackService {
    /// Validates the group and the retry topic, reads the failed message, routes it (retry or
    /// dead letter) and stores it. A group without retry queues drops its failed messages.
    pub async fn send_back(&self, req: &SendBackRequest) -> Result<(), SendBackRefusal> {
        let Some((group_config, retry)) = validate(self, req)? else {
            return Ok(());
        };
        let mut msg = read(self, req, &group_config, retry)?;
        self.schedule.transform_delay_level_message(&mut msg);
        let topic_counters = self.stats.topic_stats().get(&msg.topic);
        let result = self.store.put_message(msg).await;
        if result.is_ok() {
            self.stats.inc_put(1);
            topic_counters.add_put_result(&result);
            Ok(())
        } else {
            Err(SendBackRefusal {
                code: response::SYSTEM_ERROR,
                remark: result.status.as_str().to_string(),
            })
        }
    }
}

/// The group's settings and its retry topic, or `None` when the group has no retry queues.
fn validate(
    ctx: &SendBackService,
    h: &SendBackRequest,
) -> Result<Option<(SubscriptionGroupConfig, String)>, Refusal> {
    let Some(group_config) = ctx.groups.find_subscription_group_config(&h.group) else {
        return Err((
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group not exist, {}", h.group),
        ));
    };
    if !perm::is_writeable(ctx.config.get().broker_permission) {
        return Err((
            response::NO_PERMISSION,
            format!(
                "the broker[{}] sending message is forbidden",
                ctx.config.get().broker_ip1
            ),
        ));
    }
    if group_config.retry_queue_nums <= 0 {
        return Ok(None);
    }
    // The retry topic is made sure of (and must be writable) even when the message will go to the
    // DLQ, as RocketMQ does.
    let retry = mix_all::retry_topic(&h.group);
    let topic_sys_flag = if h.unit_mode { TOPIC_FLAG_UNIT_SUB } else { 0 };
    let retry_config = ctx.topics.create_topic_in_send_message_back_method(
        &retry,
        group_config.retry_queue_nums,
        perm::READ_WRITE,
        topic_sys_flag,
    );
    if !perm::is_writeable(retry_config.perm) {
        return Err((
            response::NO_PERMISSION,
            format!("the topic[{retry}] sending message is forbidden"),
        ));
    }
    Ok(Some((group_config, retry)))
}

/// Reads the failed message back and builds its next attempt: `%RETRY%` with a delay level, or
/// `%DLQ%` once out of retries.
fn read(
    ctx: &SendBackService,
    h: &SendBackRequest,
    group_config: &SubscriptionGroupConfig,
    retry: String,
) -> Result<MessageExtBrokerInner, Refusal> {
    let Some(record) = ctx.store.look_message_by_offset(h.offset) else {
        return Err((
            response::SYSTEM_ERROR,
            format!("look message by offset failed, {}", h.offset),
        ));
    };
    let Ok(view) = parse_record(&record) else {
        return Err((
            response::SYSTEM_ERROR,
            format!("the message at offset {} cannot be decoded", h.offset),
        ));
    };
    let mut properties = string_to_properties(&view.properties_lossy());
    if !properties.contains_key(property::RETRY_TOPIC) {
        properties.insert(property::RETRY_TOPIC, view.topic_lossy().as_ref());
    }
    let mut max_reconsume_times = group_config.retry_max_times;
    if h.client_version >= V3_4_9 {
        if let Some(m) = h.max_reconsume_times {
            max_reconsume_times = m;
        }
    }
    let (topic, queue_id) = if view.reconsume_times >= max_reconsume_times || h.delay_level < 0 {
        let dlq = mix_all::dlq_topic(&h.group);
        ctx.topics.create_topic_in_send_message_back_method(
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
    Ok(msg)
}
