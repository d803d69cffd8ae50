//! `PullService`: the pull path every transport shares (RocketMQ's `PullMessageProcessor` body
//! without the remoting frame), in three steps: validate (permissions, group, topic, queue,
//! subscription, filter) → read (the store, offset commits, the long-poll decision) → respond
//! (offset-moved events, statistics, the response fields).
//!
//! A pull that finds nothing and may be suspended waits (in the caller's task) for a matching
//! message on its queue or for its suspend timeout, then runs once more without suspension, like
//! RocketMQ's `PullRequestHoldService` re-execution.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::body::heartbeat::{MessageModel, SubscriptionData};

use ferrocket_protocol::body::topic::{perm, TopicConfig};
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pull_message::{
    pull_sys_flag, PullMessageRequestHeader, PullMessageResponseHeader,
};
use ferrocket_store::{DefaultMessageStore, GetMessageResult, GetMessageStatus};
use tokio::sync::watch;

use crate::broker_config::{BrokerConfig, SharedBrokerConfig};
use crate::client::ConsumerManager;
use crate::filter::{pull_filter, ConsumerFilterManager, ExpressionMessageFilter};
use crate::longpolling::PullRequestHoldService;
use crate::mix_all::MASTER_ID;
use crate::offset::ConsumerOffsetManager;
use crate::processor::offset_moved_event::{
    generate_offset_moved_event, EventQueue, OffsetMovedEvent,
};
use crate::stats::broker_stats_manager::BrokerStatsManager;
use crate::subscription::{SubscriptionGroupConfig, SubscriptionGroupManager};
use crate::topic::TopicConfigManager;

/// The longest a pull is held, whatever the client asks: clients time out after 30 s.
pub const MAX_SUSPEND_MILLIS: u64 = 25_000;

/// `ForbiddenType` values reported with NO_PERMISSION.
mod forbidden_type {
    pub const BROKER_FORBIDDEN: i32 = 1;
    pub const GROUP_FORBIDDEN: i32 = 2;
    pub const TOPIC_FORBIDDEN: i32 = 3;
    pub const BROADCASTING_DISABLE_FORBIDDEN: i32 = 4;
}

/// The answer to a pull, whatever transport carries it.
#[derive(Debug)]
pub struct PullResponse {
    /// Response code (SUCCESS, PULL_NOT_FOUND, PULL_OFFSET_MOVED, a refusal, ...).
    pub code: i32,
    /// What happened, for a human.
    pub remark: Option<String>,
    /// The offsets and flags every pull response carries.
    pub header: PullMessageResponseHeader,
    /// The records found: zero-copy slices of the CommitLog, never joined into one buffer.
    pub messages: Vec<Bytes>,
}

/// The header of a refused pull: the offset asked for as the next one, no flags.
pub fn refusal_header(queue_offset: i64, forbidden: Option<i32>) -> PullMessageResponseHeader {
    PullMessageResponseHeader {
        suggest_which_broker_id: 0,
        next_begin_offset: queue_offset,
        min_offset: 0,
        max_offset: 0,
        offset_delta: None,
        topic_sys_flag: None,
        group_sys_flag: None,
        forbidden_type: forbidden,
    }
}

impl PullResponse {
    /// A refusal that still carries the four offsets every pull response must have.
    pub fn refusal(code: i32, remark: impl Into<String>, queue_offset: i64) -> Self {
        Self::forbidden(code, remark, queue_offset, None)
    }

    fn forbidden(
        code: i32,
        remark: impl Into<String>,
        queue_offset: i64,
        forbidden: Option<i32>,
    ) -> Self {
        PullResponse {
            code,
            remark: Some(remark.into()),
            header: refusal_header(queue_offset, forbidden),
            messages: Vec::new(),
        }
    }
}

/// What validation established about an accepted pull.
struct ValidPull {
    group_config: SubscriptionGroupConfig,
    topic_config: TopicConfig,
    filter: ExpressionMessageFilter,
}

/// What one attempt produced.
enum Attempt {
    /// Answer with this.
    Done(PullResponse),
    /// Nothing yet; hold the request (woken by messages `filter` matches) and try again.
    Hold {
        timeout: Duration,
        filter: ExpressionMessageFilter,
    },
}

/// What one read produced.
enum ReadOutcome {
    /// Answer with this result and response code.
    Read(GetMessageResult, i32),
    /// Nothing yet; hold the request and read again.
    Suspend(Duration),
}

/// The pull path, given only the managers it uses.
pub struct PullService {
    pub(crate) config: SharedBrokerConfig,
    pub(crate) store: Arc<DefaultMessageStore>,
    pub(crate) topics: Arc<TopicConfigManager>,
    pub(crate) groups: Arc<SubscriptionGroupManager>,
    pub(crate) consumers: Arc<ConsumerManager>,
    pub(crate) filters: Arc<ConsumerFilterManager>,
    pub(crate) offsets: Arc<ConsumerOffsetManager>,
    pub(crate) hold: Arc<PullRequestHoldService>,
    pub(crate) stats: Arc<BrokerStatsManager>,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) store_host: SocketAddr,
    /// `brokerRole=SLAVE`: offsets are not committed through pulls, offsets never move.
    pub(crate) slave: bool,
}

impl PullService {
    fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Answers a pull from `client`, holding it while allowed and nothing is available.
    pub async fn pull_message(
        &self,
        h: &PullMessageRequestHeader,
        client: SocketAddr,
    ) -> PullResponse {
        let (timeout, filter) = match self.pull_once(h, client, true).await {
            Attempt::Done(response) => return response,
            Attempt::Hold { timeout, filter } => (timeout, filter),
        };
        let ticket = self
            .hold
            .suspend_pull_request(&h.topic, h.queue_id, filter.codes());
        // a message may have landed between the first attempt and parking
        let arrived = self.store.get_max_offset_in_queue(&h.topic, h.queue_id) > h.queue_offset;
        if !arrived && !self.is_shutting_down() {
            // parked: the pull's worker serves the next pull meanwhile
            crate::processor::request_queue::release_worker();
            let mut stop = self.shutdown.clone();
            tokio::select! {
                _ = ticket.notified() => {}
                _ = tokio::time::sleep(timeout) => {}
                _ = stop.changed() => {}
            }
        }
        drop(ticket);
        match self.pull_once(h, client, false).await {
            Attempt::Done(response) => response,
            Attempt::Hold { .. } => unreachable!("a re-run never suspends"),
        }
    }

    /// One attempt: validate → read → respond, or hold.
    async fn pull_once(
        &self,
        h: &PullMessageRequestHeader,
        client: SocketAddr,
        allow_suspend: bool,
    ) -> Attempt {
        let _timer = self.stats.pull_timer();
        let valid = match self.validate(h, client) {
            Ok(v) => v,
            Err(refusal) => return Attempt::Done(*refusal),
        };
        match self.read(h, &valid, client, allow_suspend).await {
            ReadOutcome::Suspend(timeout) => Attempt::Hold {
                timeout,
                filter: valid.filter,
            },
            ReadOutcome::Read(result, code) => Attempt::Done(self.respond(h, &valid, result, code)),
        }
    }

    /// Checks the broker, the group and the topic, then builds the pull's filter.
    fn validate(
        &self,
        h: &PullMessageRequestHeader,
        client: SocketAddr,
    ) -> Result<ValidPull, Box<PullResponse>> {
        let refuse = |code, remark: String, forbidden| {
            Box::new(PullResponse::forbidden(
                code,
                remark,
                h.queue_offset,
                forbidden,
            ))
        };
        let config = self.config.get();
        if !perm::is_readable(config.broker_permission) {
            return Err(refuse(
                response::NO_PERMISSION,
                format!(
                    "the broker[{}] pulling message is forbidden",
                    config.broker_ip1
                ),
                Some(forbidden_type::BROKER_FORBIDDEN),
            ));
        }
        let Some(group_config) = self
            .groups
            .find_subscription_group_config(&h.consumer_group)
        else {
            return Err(refuse(
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                format!("subscription group [{}] does not exist", h.consumer_group),
                None,
            ));
        };
        if !group_config.consume_enable {
            return Err(refuse(
                response::NO_PERMISSION,
                format!("subscription group no permission, {}", h.consumer_group),
                Some(forbidden_type::GROUP_FORBIDDEN),
            ));
        }
        let topic_config = self.check_topic(h, client)?;
        let subscription = self.subscription(h, client, &group_config)?;
        let filter = pull_filter::build(
            &self.filters,
            config.enable_property_filter,
            h,
            &subscription,
        )
        .map_err(|e| refuse(e.code, e.remark, None))?;
        Ok(ValidPull {
            group_config,
            topic_config,
            filter,
        })
    }

    /// The topic exists, is readable and has the queue asked for.
    fn check_topic(
        &self,
        h: &PullMessageRequestHeader,
        client: SocketAddr,
    ) -> Result<TopicConfig, Box<PullResponse>> {
        let Some(topic_config) = self.topics.select_topic_config(&h.topic) else {
            return Err(Box::new(PullResponse::refusal(
                response::TOPIC_NOT_EXIST,
                format!("topic[{}] not exist, apply first please!", h.topic),
                h.queue_offset,
            )));
        };
        if !perm::is_readable(topic_config.perm) {
            return Err(Box::new(PullResponse::forbidden(
                response::NO_PERMISSION,
                format!("the topic[{}] pulling message is forbidden", h.topic),
                h.queue_offset,
                Some(forbidden_type::TOPIC_FORBIDDEN),
            )));
        }
        if h.queue_id < 0 || h.queue_id >= topic_config.read_queue_nums {
            return Err(Box::new(PullResponse::refusal(
                response::INVALID_PARAMETER,
                format!(
                    "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{}]",
                    h.queue_id, h.topic, topic_config.read_queue_nums, client
                ),
                h.queue_offset,
            )));
        }
        Ok(topic_config)
    }

    /// The subscription the pull carries, or the one its group's heartbeat registered.
    fn subscription(
        &self,
        h: &PullMessageRequestHeader,
        client: SocketAddr,
        group_config: &SubscriptionGroupConfig,
    ) -> Result<SubscriptionData, Box<PullResponse>> {
        let refuse =
            |code, remark: &str| Box::new(PullResponse::refusal(code, remark, h.queue_offset));
        if pull_sys_flag::has_subscription(h.sys_flag) {
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
            return Ok(s);
        }
        let Some((message_model, subscription)) = self
            .consumers
            .pull_subscription(&h.consumer_group, &h.topic)
        else {
            return Err(refuse(
                response::SUBSCRIPTION_NOT_EXIST,
                "the consumer's group info not exist",
            ));
        };
        if !group_config.consume_broadcast_enable && message_model == MessageModel::Broadcasting {
            return Err(Box::new(PullResponse::forbidden(
                response::NO_PERMISSION,
                format!(
                    "the consumer group[{}] can not consume by broadcast way",
                    h.consumer_group
                ),
                h.queue_offset,
                Some(forbidden_type::BROADCASTING_DISABLE_FORBIDDEN),
            )));
        }
        let Some(s) = subscription else {
            return Err(refuse(
                response::SUBSCRIPTION_NOT_EXIST,
                "the consumer's subscription not exist",
            ));
        };
        if s.sub_version < h.sub_version {
            return self
                .consumers
                .adopt_newer_sub_version(&h.consumer_group, &h.topic, client, h.sub_version)
                .ok_or_else(|| {
                    refuse(
                        response::SUBSCRIPTION_NOT_LATEST,
                        "the consumer's subscription not latest",
                    )
                });
        }
        Ok(s)
    }

    /// Reads the store, commits the offsets the pull carries, and decides whether to hold it.
    async fn read(
        &self,
        h: &PullMessageRequestHeader,
        valid: &ValidPull,
        client: SocketAddr,
        allow_suspend: bool,
    ) -> ReadOutcome {
        let resident =
            self.store
                .check_in_mem_by_consume_offset(&h.topic, h.queue_id, h.queue_offset);
        let cold = if resident {
            None
        } else {
            read_cold(self.store.clone(), h, valid.filter.clone()).await
        };
        let result = cold.unwrap_or_else(|| {
            self.store.get_message(
                &h.consumer_group,
                &h.topic,
                h.queue_id,
                h.queue_offset,
                h.max_msg_nums.max(0),
                h.max_msg_bytes.unwrap_or(i32::MAX).max(0),
                Some(&valid.filter),
            )
        });
        let code = response_code(result.status, h.queue_offset);
        // the consumer's own offset rides on the first processing of a pull (on a master only)
        if allow_suspend && !self.slave && pull_sys_flag::has_commit_offset(h.sys_flag) {
            self.offsets.commit_offset(
                &client.to_string(),
                &h.consumer_group,
                &h.topic,
                h.queue_id,
                h.commit_offset,
            );
        }
        self.offsets.commit_pull_offset(
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            result.next_begin_offset,
        );
        if code == response::PULL_NOT_FOUND
            && allow_suspend
            && pull_sys_flag::has_suspend(h.sys_flag)
            && !self.is_shutting_down()
        {
            return ReadOutcome::Suspend(suspend_timeout(&self.config.get(), h));
        }
        ReadOutcome::Read(result, code)
    }

    /// Records what the read means and builds the response.
    fn respond(
        &self,
        h: &PullMessageRequestHeader,
        valid: &ValidPull,
        result: GetMessageResult,
        code: i32,
    ) -> PullResponse {
        // a slave may simply be behind its master: it never moves a consumer's offset
        // (RocketMQ's `offsetCheckInSlave`, default false), the consumer retries at that offset
        let (code, next_begin_offset) = if code == response::PULL_OFFSET_MOVED && self.slave {
            (response::PULL_RETRY_IMMEDIATELY, h.queue_offset)
        } else {
            (code, result.next_begin_offset)
        };
        if code == response::PULL_OFFSET_MOVED {
            let event = OffsetMovedEvent {
                consumer_group: h.consumer_group.clone(),
                message_queue: EventQueue {
                    broker_name: self.config.get().broker_name.clone(),
                    queue_id: h.queue_id,
                    topic: h.topic.clone(),
                },
                offset_new: result.next_begin_offset,
                offset_request: h.queue_offset,
            };
            generate_offset_moved_event(&self.store, self.store_host, event);
        }
        let header = PullMessageResponseHeader {
            suggest_which_broker_id: self.suggest_which_broker_id(h, &valid.group_config, &result),
            next_begin_offset,
            min_offset: result.min_offset,
            max_offset: result.max_offset,
            offset_delta: None,
            topic_sys_flag: Some(valid.topic_config.topic_sys_flag),
            group_sys_flag: Some(valid.group_config.group_sys_flag),
            forbidden_type: None,
        };
        let mut messages = Vec::new();
        if code == response::SUCCESS {
            let n = result.messages.len();
            self.stats.inc_get(n as u64);
            self.stats.on_get(&h.topic, n, result.total_size);
            messages = result.messages;
        }
        PullResponse {
            code,
            remark: Some(result.status.as_str().to_string()),
            header,
            messages,
        }
    }
}

impl PullService {
    /// Which broker of the group the consumer should pull this queue from next
    /// (`suggestWhichBrokerId`, RocketMQ 4.9): with `slaveReadEnable`, a consumer reading data
    /// that has left the master's page cache (older than `accessMessageInMemoryMaxRatio`
    /// percent of memory) is sent to the group's `whichBrokerWhenConsumeSlowly` (1), otherwise
    /// to its `brokerId` (0); without it always to the master.
    fn suggest_which_broker_id(
        &self,
        h: &PullMessageRequestHeader,
        group: &SubscriptionGroupConfig,
        result: &GetMessageResult,
    ) -> i64 {
        if !self.config.get().slave_read_enable {
            return MASTER_ID;
        }
        let pulling_old_data = result.message_queue_offsets.last().is_some_and(|&last| {
            !self
                .store
                .check_in_mem_by_consume_offset(&h.topic, h.queue_id, last)
        });
        if pulling_old_data {
            group.which_broker_when_consume_slowly
        } else {
            group.broker_id
        }
    }
}

/// The response code of a read (RocketMQ's mapping of `GetMessageStatus`).
fn response_code(status: GetMessageStatus, queue_offset: i64) -> i32 {
    match status {
        GetMessageStatus::Found => response::SUCCESS,
        GetMessageStatus::MessageWasRemoving | GetMessageStatus::NoMatchedMessage => {
            response::PULL_RETRY_IMMEDIATELY
        }
        GetMessageStatus::NoMatchedLogicQueue | GetMessageStatus::NoMessageInQueue => {
            if queue_offset != 0 {
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
    }
}

/// How long an empty pull is held: the client's suspend timeout (capped) with long polling,
/// `shortPollingTimeMills` without.
fn suspend_timeout(config: &BrokerConfig, h: &PullMessageRequestHeader) -> Duration {
    let millis = if config.long_polling_enable {
        (h.suspend_timeout_millis.max(0) as u64).min(MAX_SUSPEND_MILLIS)
    } else {
        config.short_polling_time_mills
    };
    Duration::from_millis(millis)
}

/// Reads messages that are not in the memory-resident tail of the CommitLog on the blocking
/// pool, touching each page of the slices there: the page faults wait for the disk on a thread
/// made for it, not on the reactor now or when the writer copies the slices to the socket.
/// `None` when the blocking pool could not run it (the runtime is shutting down).
async fn read_cold(
    store: Arc<DefaultMessageStore>,
    h: &PullMessageRequestHeader,
    filter: ExpressionMessageFilter,
) -> Option<GetMessageResult> {
    let (group, topic) = (h.consumer_group.clone(), h.topic.clone());
    let (queue_id, offset) = (h.queue_id, h.queue_offset);
    let (nums, bytes) = (
        h.max_msg_nums.max(0),
        h.max_msg_bytes.unwrap_or(i32::MAX).max(0),
    );
    let read = ferrocket_store::blocking::run_blocking(move || {
        let result =
            store.get_message(&group, &topic, queue_id, offset, nums, bytes, Some(&filter));
        result.touch_pages();
        result
    });
    match read.await {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "reading messages on the blocking pool failed");
            None
        }
    }
}
