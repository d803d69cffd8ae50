//! `PopService`: POP consumption every transport shares (RocketMQ's `PopMessageProcessor`,
//! `AckMessageProcessor` and `ChangeInvisibleTimeProcessor` bodies without the remoting frame).
//!
//! A pop reads up to `max_msg_nums` messages from the requested queue (or every read queue with
//! queue id -1) and from the group's pop retry topic, writes one checkpoint per queue read to the
//! revive topic, and only then commits the group's offset past them: a message is either behind
//! a stored checkpoint or still ahead of the committed offset. Each returned message carries its
//! `POP_CK` handle. With nothing to return the caller's task waits (bounded by
//! `maxPopPollingSize`) until a message arrives on one of its queues or `poll_time` runs out.
//!
//! An ack is an `ack` (or `bAck`) record in the revive queue of the message's checkpoint; the
//! revive scan pairs it with the checkpoint so the message is not delivered again. Changing a
//! message's invisible time gives it a checkpoint of its own and acknowledges the old one.
//! Orderly pops keep their batches in the [`ConsumerOrderInfoManager`] instead of the revive topic.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::body::heartbeat::SubscriptionData;
use ferrocket_protocol::body::pop::{AckMsg, PopCheckPoint};
use ferrocket_protocol::body::topic::{perm, TopicConfig};
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{
    consume_init_mode, msg_offset_info_entry, pop_retry_topic, start_offset_info_entry, ExtraInfo,
    POP_ORDER_REVIVE_QUEUE,
};
use ferrocket_protocol::message::{decode_messages_bytes, property, DecodeOptions, MessageExt};
use ferrocket_protocol::util::now_millis;
use ferrocket_store::{DefaultMessageStore, GetMessageResult, GetMessageStatus};
use tokio::sync::watch;

use crate::broker_config::SharedBrokerConfig;
use crate::filter::{ConsumerFilterManager, ExpressionMessageFilter};
use crate::longpolling::pull_request_hold_service::HoldTicket;
use crate::longpolling::PullRequestHoldService;
use crate::offset::ConsumerOffsetManager;
use crate::pop::{
    lock_key, ConsumerOrderInfoManager, OrderedQueue, PopPollingCounter, QueueLockManager,
    ReviveLog, MAX_POP_MSG_NUMS,
};
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// How far behind its `pollTime` a request may arrive before it is refused
/// (`PopMessageProcessor.isTimeoutTooMuch`).
const POLL_LATENESS_MILLIS: i64 = 500;
/// How soon a parked pop looks again at a queue another pop held.
const LOCKED_QUEUE_RETRY: Duration = Duration::from_millis(200);
/// The client name pop offsets are committed under.
const POP_CLIENT: &str = "PopMessageProcessor";

/// A refused POP, ack or invisible-time change: the remoting response code and its remark
/// (the gRPC endpoint maps the code to its own).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{remark} (code {code})")]
pub struct PopRefusal {
    /// The remoting response code (TOPIC_NOT_EXIST, NO_PERMISSION, MESSAGE_ILLEGAL, ...).
    pub code: i32,
    /// What was wrong, for a human.
    pub remark: String,
}

impl PopRefusal {
    fn new(code: i32, remark: impl Into<String>) -> Self {
        PopRefusal {
            code,
            remark: remark.into(),
        }
    }
}

impl From<(i32, String)> for PopRefusal {
    fn from((code, remark): (i32, String)) -> Self {
        PopRefusal { code, remark }
    }
}

/// One pop, whatever transport asked for it.
#[derive(Debug, Clone)]
pub struct PopRequest {
    /// Consumer group.
    pub consumer_group: String,
    /// The topic subscribed (never a retry topic).
    pub topic: String,
    /// Queue to pop from; -1 pops from every readable queue.
    pub queue_id: i32,
    /// At most this many messages (≤ 32).
    pub max_msg_nums: i32,
    /// How long the popped messages stay invisible, ms.
    pub invisible_time_millis: i64,
    /// How long the request may wait when nothing is available, ms (0: answer at once).
    pub poll_time_millis: i64,
    /// Caller clock when the request was sent, ms (0: now).
    pub born_time_millis: i64,
    /// [`consume_init_mode`] for a group without an offset.
    pub init_mode: i32,
    /// `TAG` or `SQL92` (none: TAG).
    pub expression_type: Option<String>,
    /// Filter expression (none or blank: every message).
    pub expression: Option<String>,
    /// Orderly pop: a queue's next messages only once the previous ones are acknowledged (or
    /// their invisible time is over); the pop retry topic is not read.
    pub order: bool,
}

/// How a pop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopStatus {
    /// Messages were popped.
    Found,
    /// Nothing to pop before the poll time ran out (remoting POLLING_TIMEOUT).
    NoNewMessage,
    /// Too many pops are already waiting (remoting POLLING_FULL).
    PollingFull,
}

/// A finished pop.
#[derive(Debug)]
pub struct PopResult {
    /// How it ended.
    pub status: PopStatus,
    /// Broker clock when the last pass started, ms.
    pub pop_time_millis: i64,
    /// The invisible time asked for, ms.
    pub invisible_time_millis: i64,
    /// Revive queue of the checkpoints.
    pub revive_qid: i32,
    /// Messages still available behind the ones returned.
    pub rest_num: i64,
    /// `retryFlag queueId startOffset` per queue read.
    pub start_offset_info: Vec<String>,
    /// `retryFlag queueId off1,off2,…` per queue read.
    pub msg_offset_info: Vec<String>,
    /// The popped messages, each with its `POP_CK` handle; their bodies are slices of the
    /// records read, not copies.
    pub messages: Vec<MessageExt>,
}

/// An ack of one popped message.
#[derive(Debug, Clone)]
pub struct AckRequest {
    /// Consumer group.
    pub consumer_group: String,
    /// The topic the message is stored in (the pop retry topic for retried messages).
    pub topic: String,
    /// Queue of the message.
    pub queue_id: i32,
    /// Queue offset of the message.
    pub offset: i64,
    /// The message's `POP_CK` handle.
    pub extra_info: String,
}

/// A new invisible time for one popped message.
#[derive(Debug, Clone)]
pub struct ChangeInvisibleTimeRequest {
    /// The message, as for an ack.
    pub ack: AckRequest,
    /// New invisible time from now, ms.
    pub invisible_time_millis: i64,
}

/// The checkpoint a changed invisible time created.
#[derive(Debug, Clone)]
pub struct InvisibleTimeChanged {
    /// The message's new handle.
    pub handle: ExtraInfo,
}

/// One queue's acks of a batch ack: the offsets acknowledged of one checkpoint.
#[derive(Debug, Clone)]
pub struct BatchAckEntry {
    /// Consumer group.
    pub consumer_group: String,
    /// The topic the messages are stored in.
    pub topic: String,
    /// Queue of the messages.
    pub queue_id: i32,
    /// Start offset of their checkpoint.
    pub start_offset: i64,
    /// Pop time of their checkpoint, ms.
    pub pop_time_millis: i64,
    /// Revive queue of their checkpoint.
    pub revive_qid: i32,
    /// The acknowledged offsets.
    pub offsets: Vec<i64>,
}

/// The managers a pop, an ack and an invisible-time change use.
pub struct PopService {
    pub config: SharedBrokerConfig,
    pub store: Arc<DefaultMessageStore>,
    pub topics: Arc<TopicConfigManager>,
    pub groups: Arc<SubscriptionGroupManager>,
    pub offsets: Arc<ConsumerOffsetManager>,
    pub filters: Arc<ConsumerFilterManager>,
    pub hold: Arc<PullRequestHoldService>,
    pub locks: Arc<QueueLockManager>,
    pub revive_log: Arc<ReviveLog>,
    pub polling: Arc<PopPollingCounter>,
    pub orders: Arc<ConsumerOrderInfoManager>,
    pub shutdown: watch::Receiver<bool>,
}

/// What the handles of one queue's messages share besides the checkpoint.
#[derive(Clone, Copy)]
struct HandleBase {
    /// The checkpoint's revive queue, or [`POP_ORDER_REVIVE_QUEUE`] for an orderly pop.
    revive_qid: i32,
    /// Earlier deliveries of an orderly batch.
    attempts: i32,
}

/// An accepted pop.
struct PopPlan {
    topic_config: TopicConfig,
    filter: ExpressionMessageFilter,
    retry_topic: String,
    revive_qid: i32,
    pop_time: i64,
}

/// What one pass over the queues collected.
#[derive(Default)]
struct Popped {
    messages: Vec<MessageExt>,
    rest_num: i64,
    start_offset_info: Vec<String>,
    msg_offset_info: Vec<String>,
    /// A queue was skipped because another pop held it: what it holds may be left for us.
    skipped_locked: bool,
}

impl PopService {
    /// Pops: validate, pop, wait while allowed and nothing was found. `on_park` runs once,
    /// when the request starts waiting (the remoting worker gives its queue slot back then).
    pub async fn pop(
        &self,
        req: &PopRequest,
        on_park: impl FnOnce(),
    ) -> Result<PopResult, PopRefusal> {
        let now = now_millis();
        let born_time = if req.born_time_millis <= 0 {
            now
        } else {
            req.born_time_millis
        };
        if req.poll_time_millis > 0 && now - born_time - req.poll_time_millis > POLL_LATENESS_MILLIS
        {
            return Err(PopRefusal::new(
                response::POLLING_TIMEOUT,
                format!("the broker received the pop too late, bornTime {born_time}, now {now}"),
            ));
        }
        let mut plan = self.validate(req)?;
        let deadline = born_time + req.poll_time_millis.max(0);
        let mut on_park = Some(on_park);
        loop {
            plan.pop_time = now_millis();
            let can_poll =
                req.poll_time_millis > 0 && plan.pop_time < deadline && !*self.shutdown.borrow();
            if can_poll && self.polling.total() >= self.config.get().max_pop_polling_size {
                return Ok(result(
                    req,
                    &plan,
                    Popped::default(),
                    PopStatus::PollingFull,
                ));
            }
            // parked before reading, so a message stored meanwhile still wakes this request
            let tickets = if can_poll {
                self.park(req, &plan)
            } else {
                Vec::new()
            };
            let popped = self.pop_once(req, &plan).await;
            if !popped.messages.is_empty() || !can_poll {
                let status = if popped.messages.is_empty() {
                    PopStatus::NoNewMessage
                } else {
                    PopStatus::Found
                };
                return Ok(result(req, &plan, popped, status));
            }
            if let Some(park) = on_park.take() {
                park();
            }
            let mut wait = Duration::from_millis((deadline - now_millis()).max(0) as u64);
            if popped.skipped_locked {
                // no arrival will wake us for what the other pop leaves behind: look again soon
                wait = wait.min(LOCKED_QUEUE_RETRY);
            }
            let _counted =
                self.polling
                    .enter(lock_key(&req.topic, &req.consumer_group, req.queue_id));
            wait_for_arrival(&tickets, wait, &self.shutdown).await;
        }
    }

    /// Parks the request on every queue it reads: the topic's (one or all) and the retry topic's.
    fn park(&self, req: &PopRequest, plan: &PopPlan) -> Vec<HoldTicket<'_>> {
        let queues = queue_ids(req.queue_id, &plan.topic_config, 0);
        park_on(
            &self.hold,
            &req.topic,
            queues,
            &plan.retry_topic,
            plan.filter.codes(),
        )
    }

    /// The checks of `PopMessageProcessor.processRequest`, in its order, then the filter.
    fn validate(&self, req: &PopRequest) -> Result<PopPlan, PopRefusal> {
        let config = self.config.get();
        if !perm::is_readable(config.broker_permission) {
            return Err(PopRefusal::new(
                response::NO_PERMISSION,
                format!("the broker[{}] pop message is forbidden", config.broker_ip1),
            ));
        }
        if req.max_msg_nums > MAX_POP_MSG_NUMS {
            return Err(PopRefusal::new(
                response::INVALID_PARAMETER,
                format!(
                    "the broker[{}] pop message's num is greater than 32",
                    config.broker_ip1
                ),
            ));
        }
        let topic_config = topic_and_queue(&self.topics, &req.topic, req.queue_id)?;
        if !perm::is_readable(topic_config.perm) {
            return Err(PopRefusal::new(
                response::NO_PERMISSION,
                format!("the topic[{}] peeking message is forbidden", req.topic),
            ));
        }
        let Some(group) = self
            .groups
            .find_subscription_group_config(&req.consumer_group)
        else {
            return Err(PopRefusal::new(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group [{}] does not exist", req.consumer_group),
            ));
        };
        if !group.consume_enable {
            return Err(PopRefusal::new(
                response::NO_PERMISSION,
                format!("subscription group no permission, {}", req.consumer_group),
            ));
        }
        let filter = self.build_filter(req)?;
        Ok(PopPlan {
            topic_config,
            filter,
            retry_topic: pop_retry_topic(&req.topic, &req.consumer_group),
            revive_qid: self.revive_log.next_revive_qid(),
            pop_time: now_millis(),
        })
    }

    /// The pop's TAG or SQL92 filter.
    fn build_filter(&self, req: &PopRequest) -> Result<ExpressionMessageFilter, PopRefusal> {
        let expression = req
            .expression
            .as_deref()
            .filter(|e| !e.trim().is_empty())
            .unwrap_or("*");
        match req.expression_type.as_deref().map(str::trim) {
            Some(t) if !ferrocket_filter::is_tag_type(Some(t)) => {
                if !self.config.get().enable_property_filter {
                    return Err(PopRefusal::new(
                        response::NO_PERMISSION,
                        "the broker does not support consumer to filter message by SQL92",
                    ));
                }
                self.filters
                    .compile(t, expression)
                    .map(ExpressionMessageFilter::sql92)
                    .map_err(|e| {
                        PopRefusal::new(
                            response::SUBSCRIPTION_PARSE_FAILED,
                            format!("parse the consumer's subscription failed: {e}"),
                        )
                    })
            }
            _ => Ok(ExpressionMessageFilter::new(&SubscriptionData::tag(
                &req.topic, expression,
            ))),
        }
    }

    /// One pass: the retry topic first for `popFromRetryProbability` percent of pops, then the
    /// topic's queues, then the retry topic if the batch is not full yet.
    async fn pop_once(&self, req: &PopRequest, plan: &PopPlan) -> Popped {
        let random = rand::random::<u32>() as usize % 100;
        let retry_first = (random as i32) < self.config.get().pop_from_retry_probability;
        let retry_exists =
            !req.order && self.topics.select_topic_config(&plan.retry_topic).is_some();
        let mut popped = Popped::default();
        if retry_first && retry_exists {
            self.pop_from_queue(req, plan, &plan.retry_topic, 0, &mut popped)
                .await;
        }
        for q in queue_ids(req.queue_id, &plan.topic_config, random) {
            self.pop_from_queue(req, plan, &req.topic, q, &mut popped)
                .await;
        }
        if !retry_first && retry_exists {
            self.pop_from_queue(req, plan, &plan.retry_topic, 0, &mut popped)
                .await;
        }
        popped
    }

    /// Pops what is left of the batch from one queue: read, store the checkpoint, commit.
    async fn pop_from_queue(
        &self,
        req: &PopRequest,
        plan: &PopPlan,
        topic: &str,
        queue_id: i32,
        popped: &mut Popped,
    ) {
        let want = req.max_msg_nums - popped.messages.len() as i32;
        let Some(_lock) = self
            .locks
            .try_lock(lock_key(topic, &req.consumer_group, queue_id))
        else {
            popped.skipped_locked = true;
            return;
        };
        let retry = topic != req.topic;
        if want <= 0 {
            popped.rest_num += self.rest(req, topic, queue_id, retry);
            return;
        }
        let order_key = lock_key(topic, &req.consumer_group, queue_id);
        let attempts = match (req.order, self.orders.check(&order_key, now_millis())) {
            (false, _) | (true, OrderedQueue::Free) => 0,
            (true, OrderedQueue::Blocked) => return,
            (true, OrderedQueue::Expired { attempts }) => attempts,
        };
        let offset = self.pop_offset(req, topic, queue_id, retry);
        let Some(mut result) = self.read(req, plan, topic, queue_id, offset, want).await else {
            return;
        };
        if matches!(
            result.status,
            GetMessageStatus::OffsetTooSmall
                | GetMessageStatus::OffsetOverflowBadly
                | GetMessageStatus::OffsetFoundNull
        ) {
            // the offset left the queue (retention, a reset): continue from where the store says
            let next = result.next_begin_offset;
            self.offsets
                .commit_offset(POP_CLIENT, &req.consumer_group, topic, queue_id, next);
            match self.read(req, plan, topic, queue_id, next, want).await {
                Some(r) => result = r,
                None => return,
            }
        }
        popped.rest_num += (result.max_offset - result.next_begin_offset).max(0);
        let start = result
            .message_queue_offsets
            .first()
            .copied()
            .unwrap_or(offset);
        if req.order && !result.messages.is_empty() {
            // no checkpoint: the offset stays before the batch until it is acknowledged
            self.orders.update(
                &order_key,
                result.message_queue_offsets.clone(),
                result.next_begin_offset,
                plan.pop_time,
                req.invisible_time_millis,
                attempts,
            );
            let ck = self.checkpoint(req, plan, topic, queue_id, start, &result);
            let handle = HandleBase {
                revive_qid: POP_ORDER_REVIVE_QUEUE,
                attempts,
            };
            self.add_messages(req, plan, &ck, handle, result.messages, popped);
            return;
        }
        if !result.messages.is_empty() {
            let ck = self.checkpoint(req, plan, topic, queue_id, start, &result);
            if let Err(e) = self.revive_log.append_ck(&ck, plan.revive_qid).await {
                // without a checkpoint the messages must stay ahead of the offset
                tracing::warn!(topic, queue_id, error = %e, "pop checkpoint not stored");
                return;
            }
            let handle = HandleBase {
                revive_qid: plan.revive_qid,
                attempts: 0,
            };
            self.add_messages(req, plan, &ck, handle, result.messages, popped);
        }
        if result.next_begin_offset > offset {
            self.offsets.commit_offset(
                POP_CLIENT,
                &req.consumer_group,
                topic,
                queue_id,
                result.next_begin_offset,
            );
        }
    }

    /// Messages behind the group's offset on a queue this pop had no room left for.
    fn rest(&self, req: &PopRequest, topic: &str, q: i32, retry: bool) -> i64 {
        let offset = self.pop_offset(req, topic, q, retry);
        (self.store.get_max_offset_in_queue(topic, q) - offset).max(0)
    }

    /// The group's committed offset, or the init offset (committed at once) for a new group.
    fn pop_offset(&self, req: &PopRequest, topic: &str, queue_id: i32, retry: bool) -> i64 {
        let group = &req.consumer_group;
        let committed = self.offsets.query_offset(group, topic, queue_id);
        if committed >= 0 {
            return committed;
        }
        let min = self.store.get_min_offset_in_queue(topic, queue_id);
        let init = if retry || req.init_mode == consume_init_mode::MIN {
            min
        } else if min <= 0
            && self
                .store
                .check_in_mem_by_consume_offset(topic, queue_id, 0)
        {
            0
        } else {
            (self.store.get_max_offset_in_queue(topic, queue_id) - 1).max(0)
        };
        self.offsets
            .commit_offset(POP_CLIENT, group, topic, queue_id, init);
        init
    }

    /// Reads on the blocking pool (the pages may not be resident).
    async fn read(
        &self,
        req: &PopRequest,
        plan: &PopPlan,
        topic: &str,
        queue_id: i32,
        offset: i64,
        nums: i32,
    ) -> Option<GetMessageResult> {
        let (store, filter) = (self.store.clone(), plan.filter.clone());
        let (group, topic) = (req.consumer_group.clone(), topic.to_string());
        let read = ferrocket_store::blocking::run_blocking(move || {
            let result = store.get_message(
                &group,
                &topic,
                queue_id,
                offset,
                nums,
                i32::MAX,
                Some(&filter),
            );
            // the records are decoded on the async worker: fault their pages in here
            result.touch_pages();
            result
        });
        match read.await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::error!(error = %e, "reading messages to pop failed");
                None
            }
        }
    }

    fn checkpoint(
        &self,
        req: &PopRequest,
        plan: &PopPlan,
        topic: &str,
        queue_id: i32,
        start: i64,
        result: &GetMessageResult,
    ) -> PopCheckPoint {
        let offsets = &result.message_queue_offsets;
        PopCheckPoint {
            start_offset: start,
            pop_time: plan.pop_time,
            invisible_time: req.invisible_time_millis,
            num: offsets.len() as i32,
            queue_id,
            topic: topic.to_string(),
            cid: req.consumer_group.clone(),
            queue_offset_diff: offsets.iter().map(|o| (o - start) as i32).collect(),
            broker_name: Some(self.config.get().broker_name.clone()),
            ..Default::default()
        }
    }

    /// Stamps each message with its `POP_CK` handle (and the subscribed topic for retried ones)
    /// and records the offset info of its queue. The bodies stay slices of the records read.
    fn add_messages(
        &self,
        req: &PopRequest,
        plan: &PopPlan,
        ck: &PopCheckPoint,
        base: HandleBase,
        records: Vec<Bytes>,
        popped: &mut Popped,
    ) {
        let retry = ck.topic != req.topic;
        let broker_name = self.config.get().broker_name.clone();
        let mut offsets = Vec::with_capacity(records.len());
        for record in records {
            let mut msg = match decode_messages_bytes(&record, &DecodeOptions::default()) {
                Ok(mut decoded) if decoded.len() == 1 => decoded.swap_remove(0),
                _ => {
                    tracing::warn!(topic = %ck.topic, "a popped message cannot be decoded; left to revive");
                    continue;
                }
            };
            let handle = ExtraInfo {
                ck_queue_offset: ck.start_offset,
                pop_time: plan.pop_time,
                invisible_time: req.invisible_time_millis,
                revive_qid: base.revive_qid,
                retry,
                broker_name: broker_name.clone(),
                queue_id: ck.queue_id,
                queue_offset: Some(msg.queue_offset),
            };
            msg.message.set_property(property::POP_CK, handle.build());
            // an orderly batch read again counts its earlier deliveries
            msg.reconsume_times = msg.reconsume_times.saturating_add(base.attempts);
            if msg.message.property(property::FIRST_POP_TIME).is_none() {
                msg.message
                    .set_property(property::FIRST_POP_TIME, plan.pop_time.to_string());
            }
            if retry {
                msg.message.topic = req.topic.clone();
            }
            offsets.push(msg.queue_offset);
            popped.messages.push(msg);
        }
        if !offsets.is_empty() {
            popped.start_offset_info.push(start_offset_info_entry(
                retry,
                ck.queue_id,
                ck.start_offset,
            ));
            popped
                .msg_offset_info
                .push(msg_offset_info_entry(retry, ck.queue_id, &offsets));
        }
    }

    /// Acknowledges one popped message. As in RocketMQ the ack counts as done even when its
    /// record was not stored: the message then simply comes back after its invisible time.
    pub async fn ack(&self, req: AckRequest) -> Result<(), PopRefusal> {
        let extra = self.check_handle(&req, true)?;
        if extra.is_order() {
            let key = lock_key(&req.topic, &req.consumer_group, req.queue_id);
            if let Some(commit) = self.orders.ack(&key, req.offset) {
                let (group, topic) = (&req.consumer_group, &req.topic);
                self.offsets
                    .commit_offset(POP_CLIENT, group, topic, req.queue_id, commit);
            }
            return Ok(());
        }
        let ack = ack_of(&extra, req);
        if let Err(e) = self.revive_log.append_ack(&ack, extra.revive_qid).await {
            tracing::warn!(error = %e, "ack not stored");
        }
        Ok(())
    }

    /// Acknowledges several messages per checkpoint; offsets outside their queue are skipped.
    pub async fn batch_ack(&self, entries: Vec<BatchAckEntry>) {
        let broker_name = self.config.get().broker_name.clone();
        for b in entries {
            let offsets: Vec<i64> = b
                .offsets
                .into_iter()
                .filter(|&o| self.check_queue(&b.topic, b.queue_id, o, true).is_ok())
                .collect();
            if offsets.is_empty() {
                continue;
            }
            let ack = AckMsg {
                ack_offset: -1,
                start_offset: b.start_offset,
                consumer_group: b.consumer_group,
                topic: b.topic,
                queue_id: b.queue_id,
                pop_time: b.pop_time_millis,
                broker_name: Some(broker_name.clone()),
                ack_offset_list: Some(offsets),
            };
            if let Err(e) = self.revive_log.append_ack(&ack, b.revive_qid).await {
                tracing::warn!(error = %e, "batch ack not stored");
            }
        }
    }

    /// Gives the message a checkpoint of its own (start offset = its offset, pop time = now)
    /// and acknowledges the old checkpoint's copy, in the same revive queue.
    pub async fn change_invisible_time(
        &self,
        req: ChangeInvisibleTimeRequest,
    ) -> Result<InvisibleTimeChanged, PopRefusal> {
        let extra = self.check_handle(&req.ack, false)?;
        let pop_time = now_millis();
        let a = &req.ack;
        if extra.is_order() {
            let key = lock_key(&a.topic, &a.consumer_group, a.queue_id);
            let (offset, invisible) = (a.offset, req.invisible_time_millis);
            if !self
                .orders
                .change_invisible_time(&key, offset, pop_time, invisible)
            {
                return Err(PopRefusal::new(
                    response::NO_MESSAGE,
                    format!("the message at offset {offset} is not in flight"),
                ));
            }
            let handle = ExtraInfo {
                pop_time,
                invisible_time: invisible,
                queue_offset: Some(offset),
                ..extra
            };
            return Ok(InvisibleTimeChanged { handle });
        }
        let ck = PopCheckPoint {
            start_offset: a.offset,
            pop_time,
            invisible_time: req.invisible_time_millis,
            num: 1,
            queue_id: a.queue_id,
            topic: a.topic.clone(),
            cid: a.consumer_group.clone(),
            queue_offset_diff: vec![0],
            broker_name: Some(extra.broker_name.clone()),
            ..Default::default()
        };
        // the new checkpoint first: if the ack of the old one is lost, the message comes back
        // twice rather than never
        if let Err(e) = self.revive_log.append_ck(&ck, extra.revive_qid).await {
            return Err(PopRefusal::new(response::SYSTEM_ERROR, e.to_string()));
        }
        let handle = ExtraInfo {
            ck_queue_offset: a.offset,
            pop_time,
            invisible_time: req.invisible_time_millis,
            queue_offset: Some(a.offset),
            ..extra.clone()
        };
        let ack = ack_of(&extra, req.ack);
        if let Err(e) = self.revive_log.append_ack(&ack, extra.revive_qid).await {
            tracing::warn!(error = %e, "ack of the old checkpoint not stored");
        }
        Ok(InvisibleTimeChanged { handle })
    }

    /// Reads the handle and checks the message's queue and offset ([`Self::check_queue`]).
    fn check_handle(&self, req: &AckRequest, max_inclusive: bool) -> Result<ExtraInfo, PopRefusal> {
        let extra = ExtraInfo::parse(&req.extra_info)
            .map_err(|e| PopRefusal::new(response::MESSAGE_ILLEGAL, e.to_string()))?;
        self.check_queue(&req.topic, req.queue_id, req.offset, max_inclusive)?;
        Ok(extra)
    }

    /// The topic exists, the queue is one of its read queues and the offset lies in the queue
    /// (`max` included for acks, excluded for invisible-time changes, as in RocketMQ).
    fn check_queue(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_inclusive: bool,
    ) -> Result<(), PopRefusal> {
        let Some(config) = self.topics.select_topic_config(topic) else {
            return Err(PopRefusal::new(
                response::TOPIC_NOT_EXIST,
                format!("topic[{topic}] not exist, apply first please!"),
            ));
        };
        if queue_id < 0 || queue_id >= config.read_queue_nums {
            return Err(PopRefusal::new(
                response::MESSAGE_ILLEGAL,
                format!(
                    "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                    config.read_queue_nums
                ),
            ));
        }
        let min = self.store.get_min_offset_in_queue(topic, queue_id);
        let max = self.store.get_max_offset_in_queue(topic, queue_id);
        let above = if max_inclusive {
            offset > max
        } else {
            offset >= max
        };
        if offset < min || above {
            return Err(PopRefusal::new(
                response::NO_MESSAGE,
                format!(
                    "offset is illegal, key:{topic}@{queue_id}, commit:{offset}, store:{min},{max}"
                ),
            ));
        }
        Ok(())
    }
}

/// The ack record of the message of `req` popped with the handle `extra`.
fn ack_of(extra: &ExtraInfo, req: AckRequest) -> AckMsg {
    AckMsg {
        ack_offset: req.offset,
        start_offset: extra.ck_queue_offset,
        consumer_group: req.consumer_group,
        topic: req.topic,
        queue_id: req.queue_id,
        pop_time: extra.pop_time,
        broker_name: Some(extra.broker_name.clone()),
        ack_offset_list: None,
    }
}

fn result(req: &PopRequest, plan: &PopPlan, popped: Popped, status: PopStatus) -> PopResult {
    PopResult {
        status,
        pop_time_millis: plan.pop_time,
        invisible_time_millis: req.invisible_time_millis,
        revive_qid: plan.revive_qid,
        rest_num: popped.rest_num,
        start_offset_info: popped.start_offset_info,
        msg_offset_info: popped.msg_offset_info,
        messages: popped.messages,
    }
}

/// Waits until a ticket is woken, `wait` passes or the broker shuts down.
pub(crate) async fn wait_for_arrival(
    tickets: &[HoldTicket<'_>],
    wait: Duration,
    shutdown: &watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    let woken = futures::future::select_all(tickets.iter().map(|t| Box::pin(t.notified())));
    tokio::select! {
        _ = woken => {}
        _ = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

/// Parks on `queues` of `topic` and on the queue of `retry_topic`, woken by messages whose tag
/// code is in `codes` (`None`: any).
pub(crate) fn park_on<'a>(
    hold: &'a PullRequestHoldService,
    topic: &str,
    queues: Vec<i32>,
    retry_topic: &str,
    codes: Option<Arc<BTreeSet<i32>>>,
) -> Vec<HoldTicket<'a>> {
    let mut tickets: Vec<_> = queues
        .into_iter()
        .map(|q| hold.suspend_pull_request(topic, q, codes.clone()))
        .collect();
    tickets.push(hold.suspend_pull_request(retry_topic, 0, codes));
    tickets
}

/// The topic's settings, when it exists and `queue_id` is one of its read queues (or -1).
pub(crate) fn topic_and_queue(
    topics: &TopicConfigManager,
    topic: &str,
    queue_id: i32,
) -> Result<TopicConfig, (i32, String)> {
    let Some(topic_config) = topics.select_topic_config(topic) else {
        return Err((
            response::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if queue_id >= topic_config.read_queue_nums {
        return Err((
            response::INVALID_PARAMETER,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                topic_config.read_queue_nums
            ),
        ));
    }
    Ok(topic_config)
}

/// The queues of the topic a pop reads, starting from `start` for queue id -1.
pub(crate) fn queue_ids(queue_id: i32, topic: &TopicConfig, start: usize) -> Vec<i32> {
    if queue_id >= 0 {
        return vec![queue_id];
    }
    let n = topic.read_queue_nums.max(0) as usize;
    (0..n).map(|i| ((start + i) % n) as i32).collect()
}
