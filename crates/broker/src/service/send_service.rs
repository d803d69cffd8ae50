//! `SendService`: the send path every transport shares (RocketMQ's `SendMessageProcessor` body
//! without the remoting frame): topic checks and auto-creation, retry-to-DLQ routing, the
//! properties the broker adds, delay-level / timer / transaction rewriting, the store put, and
//! the fields a send response reports.
//!
//! The remoting processor decodes SEND_MESSAGE headers into a [`SendMessageRequest`]; the console
//! builds one from its form; the gRPC endpoint will build one from `SendMessageRequest` protos.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::body::topic::{perm, TopicConfig, TopicFilterType};
use ferrocket_protocol::code::response;
use ferrocket_protocol::message::{decode_batch_body, property, sys_flag, Properties};
use ferrocket_store::{
    DefaultMessageStore, MessageExtBrokerInner, PutMessageResult, PutMessageStatus,
};

use super::recall::RecallHandle;
use crate::broker_config::{BrokerConfig, SharedBrokerConfig};
use crate::client::RebalanceLockManager;
use crate::message_id;
use crate::mix_all;
use crate::schedule::ScheduleMessageService;
use crate::stats::broker_stats_manager::BrokerStatsManager;
use crate::subscription::SubscriptionGroupManager;
use crate::timer::TimerMessageStore;
use crate::topic::topic_validator;
use crate::topic::TopicConfigManager;
use crate::transaction::transactional_message_bridge::parse_half_message_inner;

/// Queues of a `%DLQ%` topic.
const DLQ_NUMS_PER_GROUP: i32 = 1;

/// A producer's send, whatever transport carried it.
#[derive(Debug, Clone)]
pub struct SendMessageRequest {
    /// Target topic.
    pub topic: String,
    /// The topic whose settings an auto-created topic copies (`TBW102`).
    pub default_topic: String,
    /// Queues an auto-created topic gets at most.
    pub default_topic_queue_nums: i32,
    /// Target queue; negative lets the broker choose one.
    pub queue_id: i32,
    /// Message system flag (compression, transaction type, ...).
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// User flag.
    pub flag: i32,
    /// Message properties (for a batch: the properties every inner message inherits).
    pub properties: Properties,
    /// Delivery attempts so far (retry topics).
    pub reconsume_times: i32,
    /// The producer's `maxReconsumeTimes`, when its version lets it override the group's.
    pub max_reconsume_times: Option<i32>,
    /// True when `body` is a batch of encoded messages (SEND_BATCH_MESSAGE).
    pub batch: bool,
    /// Message body, or the encoded batch.
    pub body: Bytes,
    /// Producer address.
    pub born_host: SocketAddr,
}

/// What a stored send reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// SUCCESS, or FLUSH_DISK_TIMEOUT / FLUSH_SLAVE_TIMEOUT / SLAVE_NOT_AVAILABLE when the
    /// message is stored but not as durably as asked.
    pub code: i32,
    /// The store's status.
    pub status: PutMessageStatus,
    /// Offset message id.
    pub msg_id: String,
    /// Queue the message went to.
    pub queue_id: i32,
    /// Its offset in that queue.
    pub queue_offset: i64,
    /// The message's UNIQ_KEY (a batch's: its batch-level UNIQ_KEY), reported as `transactionId`.
    pub transaction_id: Option<String>,
    /// `batchUniqId`.
    pub batch_uniq_id: Option<String>,
    /// The recall handle of a timer message (RocketMQ 5.3.2+), see [`super::recall`].
    pub recall_handle: Option<String>,
}

/// A refused send: the response code RocketMQ clients expect and a remark saying why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{remark} (code {code})")]
pub struct SendError {
    /// Response code.
    pub code: i32,
    /// What went wrong, for a human.
    pub remark: String,
}

fn fail<T>(code: i32, remark: impl Into<String>) -> Result<T, SendError> {
    Err(SendError {
        code,
        remark: remark.into(),
    })
}

/// The send path, given only the managers it uses.
pub struct SendService {
    pub(crate) config: SharedBrokerConfig,
    pub(crate) store: Arc<DefaultMessageStore>,
    pub(crate) topics: Arc<TopicConfigManager>,
    pub(crate) groups: Arc<SubscriptionGroupManager>,
    pub(crate) locks: Arc<RebalanceLockManager>,
    pub(crate) timer: Arc<TimerMessageStore>,
    pub(crate) schedule: Arc<ScheduleMessageService>,
    pub(crate) stats: Arc<BrokerStatsManager>,
    pub(crate) store_host: SocketAddr,
    /// `brokerRole=SLAVE`: its CommitLog takes only what the master replicates, every send is
    /// refused as RocketMQ 4.9's store refuses it (SERVICE_NOT_AVAILABLE).
    pub(crate) slave: bool,
}

fn delay_level(properties: &Properties) -> i32 {
    properties
        .get(property::DELAY)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Stores the broker's `regionId` and `traceOn` in a sent message's properties, as RocketMQ's
/// `buildMsgContext` does for every send. Consumers read them back: the 5.x clients' consume trace
/// hook takes its region from MSG_REGION and drops the SubBefore/SubAfter records of a message that
/// has none, and skips a message whose TRACE_ON is "false".
pub fn stamp_region_and_trace(config: &BrokerConfig, properties: &mut Properties) {
    properties.insert(property::MSG_REGION, config.region_id.as_str());
    properties.insert(property::TRACE_ON, config.trace_on.to_string());
}

fn random_queue_id(write_queue_nums: i32) -> i32 {
    if write_queue_nums <= 0 {
        return 0;
    }
    rand::random::<u32>()
        .checked_rem(write_queue_nums as u32)
        .unwrap_or(0) as i32
}

impl SendService {
    /// A snapshot of the live broker settings.
    pub fn broker_config(&self) -> Arc<BrokerConfig> {
        self.config.get()
    }

    /// The address stored in messages as their store host.
    pub fn store_host(&self) -> SocketAddr {
        self.store_host
    }

    /// Checks and stores a producer's message (or batch).
    pub async fn send_message(&self, req: SendMessageRequest) -> Result<SendResult, SendError> {
        let _timer = self.stats.send_timer();
        self.refuse_on_slave(req.queue_id)?;
        let (topic_config, created) = self.msg_check(&req)?;
        if created {
            self.await_registration(&req.topic).await;
        }
        self.check_body(&req.body)?;
        let queue_id = if req.queue_id < 0 {
            random_queue_id(topic_config.write_queue_nums)
        } else {
            req.queue_id
        };
        let mut sys_flag = req.sys_flag;
        if topic_config.topic_filter_type == TopicFilterType::MultiTag {
            sys_flag |= sys_flag::MULTI_TAGS;
        }
        if req.batch {
            self.send_batch(req, queue_id, sys_flag).await
        } else {
            self.send_single(req, queue_id, sys_flag).await
        }
    }

    /// Waits until the name servers know a topic this send created, as RocketMQ 5.x registers
    /// it before answering (so the producer's next route lookup finds it); the broker's
    /// registration task batches the topics created meanwhile into one registration. Bounded
    /// by `registerBrokerTimeoutMills`: a name server that does not answer delays, never fails,
    /// the send.
    async fn await_registration(&self, topic: &str) {
        let timeout = Duration::from_millis(self.config.get().register_broker_timeout_mills.max(1));
        if !self.topics.wait_registered(topic, timeout).await {
            tracing::warn!(
                topic,
                "the registration of a topic created by a send timed out"
            );
        }
    }

    /// `msgCheck`: topic name, permission, existence (auto-creating it), queue id. Also says
    /// whether the topic was created by this check.
    fn msg_check(&self, req: &SendMessageRequest) -> Result<(TopicConfig, bool), SendError> {
        let config = self.config.get();
        if !perm::is_writeable(config.broker_permission) && self.topics.is_order_topic(&req.topic) {
            fail(
                response::NO_PERMISSION,
                format!(
                    "the broker[{}] sending message is forbidden",
                    config.broker_ip1
                ),
            )?;
        }
        if let Err(remark) = topic_validator::validate_topic(&req.topic) {
            fail(response::INVALID_PARAMETER, remark)?;
        }
        if topic_validator::is_not_allowed_send_topic(&req.topic) {
            fail(
                response::NO_PERMISSION,
                format!("Sending message to topic[{}] is forbidden.", req.topic),
            )?;
        }
        let (topic_config, created) = match self.topics.select_topic_config(&req.topic) {
            Some(t) => (t, false),
            None => (self.auto_create_topic(req)?, true),
        };
        let id_valid = topic_config
            .write_queue_nums
            .max(topic_config.read_queue_nums);
        if req.queue_id >= id_valid {
            fail(
                response::INVALID_PARAMETER,
                format!(
                    "request queueId[{}] is illegal, topic {} has {} queues, Producer: {}",
                    req.queue_id, req.topic, id_valid, req.born_host
                ),
            )?;
        }
        Ok((topic_config, created))
    }

    fn auto_create_topic(&self, req: &SendMessageRequest) -> Result<TopicConfig, SendError> {
        tracing::debug!(topic = %req.topic, producer = %req.born_host, "send to an unknown topic");
        let topics = &self.topics;
        let created = topics
            .create_topic_in_send_message_method(
                &req.topic,
                &req.default_topic,
                req.default_topic_queue_nums,
                0,
            )
            .or_else(|| {
                mix_all::is_retry_topic(&req.topic).then(|| {
                    topics.create_topic_in_send_message_back_method(
                        &req.topic,
                        1,
                        perm::READ_WRITE,
                        0,
                    )
                })
            });
        match created {
            Some(t) => Ok(t),
            None => fail(
                response::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist, apply first please!", req.topic),
            ),
        }
    }

    /// Checks the body against `maxMessageSize` with a remark that says what to change.
    fn check_body(&self, body: &Bytes) -> Result<(), SendError> {
        let len = body.len();
        if len == 0 {
            fail(response::MESSAGE_ILLEGAL, "the message body is empty")?;
        }
        let max = self.store.config().max_message_size;
        if len > max {
            fail(
                response::MESSAGE_ILLEGAL,
                format!(
                    "the message body size {len} bytes exceeds the broker limit of {max} bytes (maxMessageSize); \
                     send a smaller body or raise maxMessageSize"
                ),
            )?;
        }
        Ok(())
    }

    /// A retry-topic send that has used up its attempts (or whose group holds ordered locks)
    /// goes to the group's dead-letter topic instead: returns the topic and queue to use.
    fn route_retry(
        &self,
        req: &SendMessageRequest,
        properties: &mut Properties,
        queue_id: i32,
    ) -> Result<(String, i32), SendError> {
        if !mix_all::is_retry_topic(&req.topic) {
            return Ok((req.topic.clone(), queue_id));
        }
        let group = &req.topic[mix_all::RETRY_GROUP_TOPIC_PREFIX.len()..];
        let Some(group_config) = self.groups.find_subscription_group_config(group) else {
            return fail(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group not exist, {group}"),
            );
        };
        let max_reconsume_times = req
            .max_reconsume_times
            .unwrap_or(group_config.retry_max_times);
        let locked = !self.locks.is_lock_all_expired(group);
        if req.reconsume_times <= max_reconsume_times && !locked {
            return Ok((req.topic.clone(), queue_id));
        }
        properties.insert(property::DELAY, "-1");
        let dlq = mix_all::dlq_topic(group);
        self.topics.create_topic_in_send_message_back_method(
            &dlq,
            DLQ_NUMS_PER_GROUP,
            perm::READ_WRITE,
            0,
        );
        Ok((dlq, random_queue_id(DLQ_NUMS_PER_GROUP)))
    }

    async fn send_single(
        &self,
        mut req: SendMessageRequest,
        queue_id: i32,
        sys_flag: i32,
    ) -> Result<SendResult, SendError> {
        let config = self.config.get();
        let mut properties = std::mem::take(&mut req.properties);
        let (topic, queue_id) = self.route_retry(&req, &mut properties, queue_id)?;
        if properties.get(property::UNIQ_KEY).is_none_or(str::is_empty) {
            properties.insert(property::UNIQ_KEY, message_id::create_uniq_id());
        }
        properties.insert(property::CLUSTER, config.broker_cluster_name.as_str());
        stamp_region_and_trace(&config, &mut properties);
        // a prepared message becomes a half message, unless it is an old client's delayed retry
        let prepared = properties.get(property::TRAN_MSG) == Some("true")
            && !(req.reconsume_times > 0 && delay_level(&properties) > 0);
        if prepared && config.reject_transaction_message {
            return fail(
                response::NO_PERMISSION,
                format!(
                    "the broker[{}] sending transaction message is forbidden",
                    config.broker_ip1
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
            flag: req.flag,
            sys_flag,
            body: req.body,
            born_timestamp: req.born_timestamp,
            born_host: req.born_host,
            store_host: self.store_host,
            reconsume_times: req.reconsume_times,
            ..Default::default()
        };
        let mut recall_handle = None;
        if prepared {
            parse_half_message_inner(&mut msg, &mut properties);
        } else {
            msg.set_properties(&properties);
            if let Err(status) = self.transform(&mut msg) {
                return self.put_result(PutMessageResult::failure(status), queue_id, None, None);
            }
            recall_handle = RecallHandle::of_timer_message(&msg, &config.broker_name);
        }
        let result = self.store.put_message(msg).await;
        self.stats.on_put(&req.topic, &result);
        let mut sent = self.put_result(result, queue_id, Some(uniq_key), None)?;
        sent.recall_handle = recall_handle;
        Ok(sent)
    }

    /// Checks a reply of request-reply (SEND_REPLY_MESSAGE) as a send is checked, and returns
    /// the queue it goes to.
    pub fn check_reply(&self, req: &SendMessageRequest) -> Result<i32, SendError> {
        let (topic_config, _) = self.msg_check(req)?;
        self.check_body(&req.body)?;
        Ok(if req.queue_id < 0 {
            random_queue_id(topic_config.write_queue_nums)
        } else {
            req.queue_id
        })
    }

    /// Stores a reply as it came (`storeReplyMessageEnable`): no delay or timer rewriting, as in
    /// Apache's reply path.
    pub async fn store_reply(&self, msg: MessageExtBrokerInner) -> Result<SendResult, SendError> {
        let topic = msg.topic.clone();
        let queue_id = msg.queue_id;
        let result = self.store.put_message(msg).await;
        self.stats.on_put(&topic, &result);
        self.put_result(result, queue_id, None, None)
    }

    /// Rewrites a timer or delay-level message for its system topic.
    fn transform(&self, msg: &mut MessageExtBrokerInner) -> Result<(), PutMessageStatus> {
        self.timer.transform_timer_message(msg)?;
        self.schedule.transform_delay_level_message(msg);
        Ok(())
    }

    fn refuse_on_slave(&self, queue_id: i32) -> Result<(), SendError> {
        if !self.slave {
            return Ok(());
        }
        let refused = PutMessageResult::failure(PutMessageStatus::ServiceNotAvailable);
        self.put_result(refused, queue_id, None, None).map(|_| ())
    }

    /// Stores a message the broker built itself (a console resend): delay-level and timer
    /// properties are honoured as on a producer's send, and the put is counted.
    pub async fn put_message(
        &self,
        mut msg: MessageExtBrokerInner,
    ) -> Result<SendResult, SendError> {
        let topic = msg.topic.clone();
        let queue_id = msg.queue_id;
        self.refuse_on_slave(queue_id)?;
        let uniq_key = msg.property(property::UNIQ_KEY).map(str::to_string);
        if let Err(status) = self.transform(&mut msg) {
            return self.put_result(PutMessageResult::failure(status), queue_id, None, None);
        }
        let result = self.store.put_message(msg).await;
        self.stats.on_put(&topic, &result);
        self.put_result(result, queue_id, uniq_key, None)
    }

    async fn send_batch(
        &self,
        req: SendMessageRequest,
        queue_id: i32,
        sys_flag: i32,
    ) -> Result<SendResult, SendError> {
        if req.topic.len() > i8::MAX as usize {
            return fail(
                response::MESSAGE_ILLEGAL,
                format!("message topic length too long {}", req.topic.len()),
            );
        }
        if mix_all::is_retry_topic(&req.topic) {
            return fail(
                response::MESSAGE_ILLEGAL,
                format!("batch request does not support retry group {}", req.topic),
            );
        }
        let batch_uniq = req.properties.get(property::UNIQ_KEY).map(str::to_string);
        let entries = match decode_batch_body(&req.body) {
            Ok(e) if !e.is_empty() => e,
            Ok(_) => return fail(response::MESSAGE_ILLEGAL, "the batch holds no message"),
            Err(e) => {
                return fail(
                    response::MESSAGE_ILLEGAL,
                    format!("malformed batch body: {e}"),
                )
            }
        };
        let config = self.config.get();
        let cluster = config.broker_cluster_name.as_str();
        let mut batch = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut properties = entry.properties;
            // like RocketMQ, the batch-level properties apply to every inner message
            for (k, v) in req.properties.iter() {
                if !properties.contains_key(k) {
                    properties.insert(k, v);
                }
            }
            if properties.get(property::UNIQ_KEY).is_none_or(str::is_empty) {
                properties.insert(property::UNIQ_KEY, message_id::create_uniq_id());
            }
            properties.insert(property::CLUSTER, cluster);
            stamp_region_and_trace(&config, &mut properties);
            let mut msg = MessageExtBrokerInner {
                topic: req.topic.clone(),
                queue_id,
                flag: entry.flag,
                sys_flag,
                body: entry.body,
                born_timestamp: req.born_timestamp,
                born_host: req.born_host,
                store_host: self.store_host,
                reconsume_times: req.reconsume_times,
                ..Default::default()
            };
            msg.set_properties(&properties);
            batch.push(msg);
        }
        let result = self.store.put_messages(batch).await;
        self.stats.on_put(&req.topic, &result);
        self.put_result(result, queue_id, batch_uniq, None)
    }

    /// Maps the store's answer to a send result (store.md §1.8).
    fn put_result(
        &self,
        result: PutMessageResult,
        queue_id: i32,
        transaction_id: Option<String>,
        batch_uniq_id: Option<String>,
    ) -> Result<SendResult, SendError> {
        let code = self.put_status_code(result.status)?;
        let Some(append) = result.append else {
            return fail(
                response::SYSTEM_ERROR,
                "store putMessage returned no append result",
            );
        };
        self.stats.inc_put(append.msg_num.max(1) as u64);
        Ok(SendResult {
            code,
            status: result.status,
            msg_id: append.msg_id,
            queue_id,
            queue_offset: append.logics_offset,
            transaction_id,
            batch_uniq_id,
            recall_handle: None,
        })
    }

    /// The response code of a put status, or the refusal it means.
    fn put_status_code(&self, status: PutMessageStatus) -> Result<i32, SendError> {
        let max = self.store.config().max_message_size;
        match status {
            PutMessageStatus::PutOk => Ok(response::SUCCESS),
            PutMessageStatus::FlushDiskTimeout => Ok(response::FLUSH_DISK_TIMEOUT),
            PutMessageStatus::FlushSlaveTimeout => Ok(response::FLUSH_SLAVE_TIMEOUT),
            PutMessageStatus::SlaveNotAvailable => Ok(response::SLAVE_NOT_AVAILABLE),
            PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => fail(
                response::MESSAGE_ILLEGAL,
                format!(
                    "the message is illegal, maybe msg body or properties length not matched. \
                     msg body length limit {max}B, msg properties length limit 32KB."
                ),
            ),
            PutMessageStatus::ServiceNotAvailable => fail(
                response::SERVICE_NOT_AVAILABLE,
                format!(
                    "service not available now. It may be caused by one of the following reasons: \
                     the broker's disk is full [{}], messages are put to the slave, message store has been shut down, etc.",
                    self.store.disk_util()
                ),
            ),
            PutMessageStatus::OsPageCacheBusy => fail(
                response::SYSTEM_BUSY,
                "[PC_SYNCHRONIZED]broker busy, start flow control for a while",
            ),
            PutMessageStatus::CreateMappedFileFailed => fail(
                response::SYSTEM_ERROR,
                "create mapped file failed, server is busy or broken.",
            ),
            PutMessageStatus::WheelTimerMsgIllegal => fail(
                response::MESSAGE_ILLEGAL,
                format!(
                    "timer message illegal, the delay time should not be bigger than the max delay {}ms; \
                     or if set del msg, the delay time should be bigger than the current time",
                    self.timer.max_delay_ms()
                ),
            ),
            PutMessageStatus::WheelTimerNotEnable => fail(
                response::SYSTEM_ERROR,
                format!(
                    "accurate timer message is not enabled, timerWheelEnable is {}",
                    self.timer.is_enabled()
                ),
            ),
            PutMessageStatus::InSyncReplicasNotEnough => {
                fail(response::SYSTEM_ERROR, "in-sync replicas not enough")
            }
            other => fail(response::SYSTEM_ERROR, other.as_str()),
        }
    }
}
