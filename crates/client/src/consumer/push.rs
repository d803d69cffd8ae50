//! `PushConsumer` (RocketMQ's `DefaultMQPushConsumer`, clustering mode): rebalance, one
//! long-polling pull loop per owned queue, a listener fed in queue order, offsets committed to
//! the broker.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};
use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::code::response;
use ferrocket_protocol::util::now_millis;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::allocate::{AllocateMessageQueueAveragely, AllocateMessageQueueStrategy};
use super::listener::{listener_fn, ConsumeConcurrentlyStatus, MessageListener};
use super::offset_store::{ReadOffsetType, RemoteBrokerOffsetStore};
use super::rebalance::{allocate_for_topic, diff};
use super::{filter_and_decorate, retry_topic, sql92_subscription, MAX_RECONSUME_TIMES};
use crate::api::CommunicationMode;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::header::{ConsumerSendMsgBackRequestHeader, PullMessageRequestHeader};
use crate::instance::{ClientInstance, MASTER_ID};
use crate::message::MessageExt;
use crate::pull_result::{PullResult, PullStatus};
use ferrocket_protocol::header::pull_message::pull_sys_flag;

/// Push consumer settings (`DefaultMQPushConsumer` fields).
#[derive(Debug, Clone)]
pub struct PushConsumerConfig {
    /// Shared client settings.
    pub client: ClientConfig,
    /// Consumer group.
    pub group: String,
    /// Topic -> tag expression (`TagA || TagB`, or `*`).
    pub subscriptions: BTreeMap<String, String>,
    /// Topic -> SQL92 expression over message properties (the broker needs
    /// `enablePropertyFilter=true`); it replaces a tag subscription to the same topic.
    pub sql92_subscriptions: BTreeMap<String, String>,
    /// Where a group without a stored offset starts.
    pub consume_from_where: ConsumeFromWhere,
    /// Start time (ms) for `ConsumeFromTimestamp`; default: 30 minutes ago.
    pub consume_timestamp: i64,
    /// Messages asked for per pull (`pullBatchSize`).
    pub pull_batch_size: i32,
    /// Largest batch handed to the listener (`consumeMessageBatchMaxSize`).
    pub consume_message_batch_max_size: usize,
    /// Pulled-but-unconsumed messages per queue before pulling pauses (`pullThresholdForQueue`).
    pub pull_threshold_for_queue: usize,
    /// How long the broker may hold a pull (`brokerSuspendMaxTimeMillis`).
    pub broker_suspend_max_time: Duration,
    /// Socket timeout of a long-polling pull (`CONSUMER_TIMEOUT_MILLIS_WHEN_SUSPEND`).
    pub consumer_timeout_when_suspend: Duration,
    /// Wait after a failed pull (`pullTimeDelayMillsWhenException`).
    pub pull_time_delay_when_exception: Duration,
    /// Rebalance period (`rocketmq.client.rebalance.waitInterval`).
    pub rebalance_interval: Duration,
    /// Redeliveries before the dead-letter queue.
    pub max_reconsume_times: i32,
    /// How long `shutdown` (and the release of a queue by rebalance) lets an in-flight listener
    /// call finish; a call still running then is abandoned and its messages are redelivered.
    pub shutdown_grace: Duration,
}

impl PushConsumerConfig {
    /// A configuration for `group` talking to `namesrv_addr`.
    pub fn new(group: impl Into<String>, namesrv_addr: impl Into<String>) -> Self {
        PushConsumerConfig {
            client: ClientConfig::with_namesrv(namesrv_addr),
            group: group.into(),
            subscriptions: BTreeMap::new(),
            sql92_subscriptions: BTreeMap::new(),
            consume_from_where: ConsumeFromWhere::ConsumeFromLastOffset,
            consume_timestamp: now_millis() - 30 * 60 * 1000,
            pull_batch_size: 32,
            consume_message_batch_max_size: 32,
            pull_threshold_for_queue: 1000,
            broker_suspend_max_time: Duration::from_millis(15_000),
            consumer_timeout_when_suspend: Duration::from_millis(30_000),
            pull_time_delay_when_exception: Duration::from_millis(3_000),
            rebalance_interval: Duration::from_secs(20),
            max_reconsume_times: MAX_RECONSUME_TIMES,
            shutdown_grace: Duration::from_secs(5),
        }
    }

    /// Subscribes to `topic` with a tag expression (`*` for all).
    pub fn subscribe(
        &mut self,
        topic: impl Into<String>,
        expression: impl Into<String>,
    ) -> &mut Self {
        self.subscriptions.insert(topic.into(), expression.into());
        self
    }

    /// Subscribes to `topic` with a SQL92 expression (`MessageSelector.bySql`).
    pub fn subscribe_sql92(
        &mut self,
        topic: impl Into<String>,
        expression: impl Into<String>,
    ) -> &mut Self {
        self.sql92_subscriptions
            .insert(topic.into(), expression.into());
        self
    }
}

/// One owned queue: its pull loop and its consume loop.
struct QueueWorker {
    /// Stops pulling; the consume loop then stops before its next listener call.
    stop_pull: CancellationToken,
    /// Abandons the listener call in flight.
    stop_consume: CancellationToken,
    pull: JoinHandle<()>,
    consume: JoinHandle<()>,
}

impl QueueWorker {
    /// Stops the queue's loops, letting the listener call in flight finish within `grace`.
    async fn stop(self, grace: Duration) {
        self.stop_pull.cancel();
        let _ = self.pull.await;
        let mut consume = self.consume;
        if tokio::time::timeout(grace, &mut consume).await.is_err() {
            self.stop_consume.cancel();
            let _ = consume.await;
        }
    }
}

/// A pulled batch on its way to the listener; `next_offset` is committed once it is consumed.
struct PulledBatch {
    msgs: Vec<MessageExt>,
    next_offset: i64,
    /// The broker moved the offset (OFFSET_ILLEGAL): store it even if it goes backwards.
    force: bool,
}

struct PushConsumerImpl {
    config: PushConsumerConfig,
    instance: Arc<ClientInstance>,
    subscriptions: BTreeMap<String, SubscriptionData>,
    offset_store: Arc<RemoteBrokerOffsetStore>,
    listener: MessageListener,
    strategy: Box<dyn AllocateMessageQueueStrategy>,
    workers: tokio::sync::Mutex<HashMap<MessageQueue, QueueWorker>>,
    owned: parking_lot::Mutex<BTreeSet<MessageQueue>>,
    stop: CancellationToken,
}

/// A started push consumer.
#[derive(Clone)]
pub struct PushConsumer {
    inner: Arc<PushConsumerImpl>,
}

impl PushConsumer {
    /// Starts consuming: routes, heartbeat, rebalance, pulling; `listener` receives the messages.
    pub async fn start(
        config: PushConsumerConfig,
        listener: MessageListener,
    ) -> Result<PushConsumer> {
        if config.group.is_empty() {
            return Err(ClientError::Config("consumer group is empty".into()));
        }
        if config.subscriptions.is_empty() && config.sql92_subscriptions.is_empty() {
            return Err(ClientError::Config(
                "subscribe to at least one topic before starting".into(),
            ));
        }
        let instance = ClientInstance::start(config.client.clone()).await?;
        let mut subscriptions: BTreeMap<String, SubscriptionData> = config
            .subscriptions
            .iter()
            .map(|(t, e)| (t.clone(), SubscriptionData::tag(t.as_str(), e)))
            .chain(
                config
                    .sql92_subscriptions
                    .iter()
                    .map(|(t, e)| (t.clone(), sql92_subscription(t, e))),
            )
            .collect();
        // clustering consumers also read their retry topic (`copySubscription`)
        let retry = retry_topic(&config.group);
        subscriptions
            .entry(retry.clone())
            .or_insert_with(|| SubscriptionData::tag(retry.as_str(), "*"));
        let offset_store = Arc::new(RemoteBrokerOffsetStore::new(
            instance.clone(),
            config.group.clone(),
        ));
        let inner = Arc::new(PushConsumerImpl {
            config,
            instance,
            subscriptions,
            offset_store,
            listener,
            strategy: Box::new(AllocateMessageQueueAveragely),
            workers: tokio::sync::Mutex::new(HashMap::new()),
            owned: parking_lot::Mutex::new(BTreeSet::new()),
            stop: CancellationToken::new(),
        });
        for topic in inner.subscriptions.keys() {
            if let Err(e) = inner.instance.update_topic_route(topic).await {
                tracing::warn!(topic, error = %e, "route lookup failed at start");
            }
        }
        inner.instance.register_consumer(inner.consumer_data());
        inner.instance.send_heartbeat_to_all_brokers().await;
        inner.do_rebalance().await;
        PushConsumerImpl::spawn_rebalance_service(&inner);
        PushConsumerImpl::spawn_offset_persister(&inner);
        Ok(PushConsumer { inner })
    }

    /// Starts consuming and delivers the batches on a channel of `capacity` batches; a batch
    /// counts as consumed once it is queued in the channel.
    pub async fn start_channel(
        config: PushConsumerConfig,
        capacity: usize,
    ) -> Result<(PushConsumer, mpsc::Receiver<Vec<MessageExt>>)> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let listener = listener_fn(move |msgs| {
            let tx = tx.clone();
            async move {
                match tx.send(msgs).await {
                    Ok(()) => ConsumeConcurrentlyStatus::ConsumeSuccess,
                    Err(_) => ConsumeConcurrentlyStatus::ReconsumeLater,
                }
            }
        });
        let consumer = Self::start(config, listener).await?;
        Ok((consumer, rx))
    }

    /// The client id (`ip@instance`).
    pub fn client_id(&self) -> &str {
        self.inner.instance.client_id()
    }

    /// The queues this consumer owns right now.
    pub fn assigned_queues(&self) -> BTreeSet<MessageQueue> {
        self.inner.owned.lock().clone()
    }

    /// Rebalances now instead of waiting for the next period.
    pub async fn rebalance_now(&self) {
        self.inner.do_rebalance().await;
    }

    /// The consumer offset held in memory for `mq`.
    pub fn committed_offset(&self, mq: &MessageQueue) -> Option<i64> {
        self.inner.offset_store.memory_offset(mq)
    }

    /// Stops pulling, lets in-flight listener calls finish within the configured grace,
    /// persists offsets and unregisters the client.
    pub async fn shutdown(&self) {
        self.shutdown_with_grace(self.inner.config.shutdown_grace)
            .await
    }

    /// `shutdown` with an explicit grace for in-flight listener calls.
    pub async fn shutdown_with_grace(&self, grace: Duration) {
        if self.inner.stop.is_cancelled() {
            return;
        }
        self.inner.stop.cancel();
        let workers: Vec<(MessageQueue, QueueWorker)> =
            self.inner.workers.lock().await.drain().collect();
        for (_, w) in &workers {
            w.stop_pull.cancel();
        }
        let deadline = tokio::time::Instant::now() + grace;
        let mut queues = Vec::with_capacity(workers.len());
        for (mq, w) in workers {
            w.stop(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await;
            queues.push(mq);
        }
        self.inner.owned.lock().clear();
        self.inner
            .offset_store
            .persist_all(&queues, CommunicationMode::Sync)
            .await;
        self.inner
            .instance
            .unregister_client(None, Some(&self.inner.config.group))
            .await;
        self.inner.instance.shutdown().await;
    }
}

/// What a pull answer hands the consume loop: the found messages, or an empty batch that
/// moves the offset when it `moved`; nothing when there is nothing to do.
fn batch_of(
    mq: &MessageQueue,
    sub: &SubscriptionData,
    r: PullResult,
    moved: bool,
) -> Option<PulledBatch> {
    let next = r.next_begin_offset;
    match r.status {
        PullStatus::Found => {
            let msgs = filter_and_decorate(r.msgs, sub, r.min_offset, r.max_offset);
            Some(PulledBatch {
                msgs,
                next_offset: next,
                force: false,
            })
        }
        PullStatus::NoNewMsg | PullStatus::NoMatchedMsg if moved => Some(PulledBatch {
            msgs: Vec::new(),
            next_offset: next,
            force: false,
        }),
        PullStatus::NoNewMsg | PullStatus::NoMatchedMsg => None,
        PullStatus::OffsetIllegal => {
            tracing::warn!(queue = %mq, next, "pull offset illegal, moving to the broker's offset");
            Some(PulledBatch {
                msgs: Vec::new(),
                next_offset: next,
                force: true,
            })
        }
    }
}

impl PushConsumerImpl {
    fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            group_name: self.config.group.clone(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: MessageModel::Clustering,
            consume_from_where: self.config.consume_from_where,
            subscription_data_set: self.subscriptions.values().cloned().collect(),
            unit_mode: false,
        }
    }

    fn spawn_rebalance_service(this: &Arc<Self>) {
        let weak = Arc::downgrade(this);
        let stop = this.stop.clone();
        let notify = this.instance.rebalance_notify();
        let period = this.config.rebalance_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(period) => {}
                    _ = notify.notified() => {}
                }
                let Some(c) = weak.upgrade() else { return };
                c.do_rebalance().await;
            }
        });
    }

    fn spawn_offset_persister(this: &Arc<Self>) {
        let weak = Arc::downgrade(this);
        let stop = this.stop.clone();
        let period = this.instance.config().persist_consumer_offset_interval;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(period) => {}
                }
                let Some(c) = weak.upgrade() else { return };
                let queues: Vec<MessageQueue> = c.owned.lock().iter().cloned().collect();
                c.offset_store
                    .persist_all(&queues, CommunicationMode::Oneway)
                    .await;
            }
        });
    }

    /// One rebalance round over every subscribed topic.
    async fn do_rebalance(self: &Arc<Self>) {
        if self.stop.is_cancelled() {
            return;
        }
        let mut workers = self.workers.lock().await;
        let mut wanted_all: BTreeSet<MessageQueue> = BTreeSet::new();
        let mut failed_topics: BTreeSet<&str> = BTreeSet::new();
        for topic in self.subscriptions.keys() {
            match self.allocate_topic(topic).await {
                Ok(wanted) => wanted_all.extend(wanted),
                Err(e) => {
                    tracing::debug!(topic, error = %e, "rebalance of topic skipped");
                    failed_topics.insert(topic.as_str());
                }
            }
        }
        // a topic whose lookup failed keeps its queues until a round succeeds
        let owned: BTreeSet<MessageQueue> = workers.keys().cloned().collect();
        let kept_owned: BTreeSet<MessageQueue> = owned
            .iter()
            .filter(|q| failed_topics.contains(q.topic.as_str()))
            .cloned()
            .collect();
        wanted_all.extend(kept_owned);
        let (added, removed) = diff(&owned, &wanted_all);
        for mq in removed {
            if let Some(w) = workers.remove(&mq) {
                w.stop(self.config.shutdown_grace).await;
            }
            self.offset_store.persist_and_remove(&mq).await;
            tracing::debug!(queue = %mq, "queue released by rebalance");
        }
        // start offsets are looked up concurrently: with many queues (RocketMQ's BenchmarkTest
        // has 1024) one round trip after another would hold the rebalance for seconds
        let mut starts = tokio::task::JoinSet::new();
        for mq in added {
            let this = self.clone();
            starts.spawn(async move {
                let offset = this.compute_pull_from_where(&mq).await;
                (mq, offset)
            });
        }
        while let Some(joined) = starts.join_next().await {
            match joined {
                Ok((mq, Ok(offset))) => {
                    tracing::debug!(queue = %mq, offset, "queue taken by rebalance");
                    let w = self.spawn_worker(mq.clone(), offset);
                    workers.insert(mq, w);
                }
                Ok((mq, Err(e))) => {
                    tracing::warn!(queue = %mq, error = %e, "cannot compute start offset; retry at next rebalance")
                }
                Err(e) => tracing::warn!(error = %e, "start offset lookup task failed"),
            }
        }
        *self.owned.lock() = workers.keys().cloned().collect();
    }

    async fn allocate_topic(&self, topic: &str) -> Result<BTreeSet<MessageQueue>> {
        let mq_set = self.instance.subscribe_queues(topic).await?;
        let addr = self
            .instance
            .find_broker_of_topic(topic)
            .ok_or_else(|| ClientError::NoRoute(topic.to_string()))?;
        let cids = self
            .instance
            .api()
            .get_consumer_id_list(
                &addr,
                &self.config.group,
                self.instance.config().api_timeout,
            )
            .await?;
        Ok(allocate_for_topic(
            self.strategy.as_ref(),
            self.instance.client_id(),
            &mq_set,
            &cids,
        ))
    }

    /// The first offset to pull for a newly owned queue (`computePullFromWhereWithException`).
    async fn compute_pull_from_where(&self, mq: &MessageQueue) -> Result<i64> {
        if let Some(o) = self
            .offset_store
            .read_offset(mq, ReadOffsetType::ReadFromStore)
            .await?
        {
            if o >= 0 {
                return Ok(o);
            }
        }
        let is_retry = ferrocket_protocol::mix_all::is_retry_topic(&mq.topic);
        let api = self.instance.api();
        let timeout = self.instance.config().api_timeout;
        let offset = match self.config.consume_from_where {
            ConsumeFromWhere::ConsumeFromFirstOffset | ConsumeFromWhere::ConsumeFromMinOffset => 0,
            ConsumeFromWhere::ConsumeFromTimestamp if !is_retry => {
                let addr = self
                    .instance
                    .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
                    .await?;
                api.search_offset(&addr, mq, self.config.consume_timestamp, timeout)
                    .await?
            }
            _ if is_retry => 0,
            _ => {
                let addr = self
                    .instance
                    .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
                    .await?;
                api.get_max_offset(&addr, mq, timeout).await?
            }
        };
        self.offset_store.update_offset(mq, offset, false);
        Ok(offset)
    }

    fn spawn_worker(self: &Arc<Self>, mq: MessageQueue, offset: i64) -> QueueWorker {
        let stop_pull = CancellationToken::new();
        let stop_consume = CancellationToken::new();
        let capacity = (self.config.pull_threshold_for_queue
            / self.config.pull_batch_size.max(1) as usize)
            .max(1);
        let (tx, rx) = mpsc::channel(capacity);
        let pull = tokio::spawn(
            self.clone()
                .pull_loop(mq.clone(), offset, tx, stop_pull.clone()),
        );
        let consume = tokio::spawn(self.clone().consume_loop(
            mq,
            rx,
            stop_pull.clone(),
            stop_consume.clone(),
        ));
        QueueWorker {
            stop_pull,
            stop_consume,
            pull,
            consume,
        }
    }

    /// Long-polling pulls of one queue, feeding the consume loop.
    async fn pull_loop(
        self: Arc<Self>,
        mq: MessageQueue,
        mut offset: i64,
        tx: mpsc::Sender<PulledBatch>,
        stop: CancellationToken,
    ) {
        let Some(sub) = self.subscriptions.get(&mq.topic).cloned() else {
            return;
        };
        let api = self.instance.api();
        // the broker of the group the last answer suggested (`pullFromWhichNodeTable`)
        let mut pull_from = MASTER_ID;
        loop {
            if stop.is_cancelled() {
                return;
            }
            let target = self
                .instance
                .find_broker_in_subscribe_or_refresh(&mq.broker_name, &mq.topic, pull_from, false)
                .await;
            // offsets ride on pulls to a master only
            let commit = self
                .offset_store
                .memory_offset(&mq)
                .filter(|o| *o > 0 && target.as_ref().is_ok_and(|t| !t.slave));
            let header = self.pull_header(&mq, &sub, offset, commit);
            let result = match target {
                Ok(t) => tokio::select! {
                    _ = stop.cancelled() => return,
                    r = api.pull_message(&t.addr, &header, self.config.consumer_timeout_when_suspend) => r,
                },
                Err(e) => Err(e),
            };
            let batch = match result {
                Ok(r) => {
                    pull_from = r.suggest_which_broker_id;
                    let moved = r.next_begin_offset != offset;
                    offset = r.next_begin_offset;
                    batch_of(&mq, &sub, r, moved)
                }
                Err(e) => {
                    if !self.pause_after_failed_pull(&mq, &e, &stop).await {
                        return;
                    }
                    None
                }
            };
            if let Some(b) = batch {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    sent = tx.send(b) => if sent.is_err() { return },
                }
            }
        }
    }

    /// The long-polling pull of `mq` from `offset`, committing `commit` when set.
    fn pull_header(
        &self,
        mq: &MessageQueue,
        sub: &SubscriptionData,
        offset: i64,
        commit: Option<i64>,
    ) -> PullMessageRequestHeader {
        PullMessageRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: self.config.pull_batch_size,
            sys_flag: pull_sys_flag::build(commit.is_some(), true, true, false),
            commit_offset: commit.unwrap_or(0),
            suspend_timeout_millis: self.config.broker_suspend_max_time.as_millis() as i64,
            subscription: Some(sub.sub_string.clone()),
            sub_version: sub.sub_version,
            expression_type: Some(sub.expression_type.clone()),
            max_msg_bytes: None,
            broker_name: Some(mq.broker_name.clone()),
        }
    }

    /// Waits before the next pull after a failed one: briefly under flow control, longer
    /// (and logged) otherwise. `false` when stopped meanwhile.
    async fn pause_after_failed_pull(
        &self,
        mq: &MessageQueue,
        e: &ClientError,
        stop: &CancellationToken,
    ) -> bool {
        let delay = if e.response_code() == Some(response::FLOW_CONTROL) {
            Duration::from_millis(20)
        } else {
            tracing::warn!(queue = %mq, error = %e, "pull failed");
            self.config.pull_time_delay_when_exception
        };
        tokio::select! {
            _ = stop.cancelled() => false,
            _ = tokio::time::sleep(delay) => true,
        }
    }

    /// Hands batches of one queue to the listener in order and commits offsets: after each
    /// consumed chunk, and past the whole pulled range once the batch is done.
    async fn consume_loop(
        self: Arc<Self>,
        mq: MessageQueue,
        mut rx: mpsc::Receiver<PulledBatch>,
        stop_pull: CancellationToken,
        stop_consume: CancellationToken,
    ) {
        let max = self.config.consume_message_batch_max_size.max(1);
        loop {
            let batch = tokio::select! {
                _ = stop_pull.cancelled() => return,
                b = rx.recv() => match b { Some(b) => b, None => return },
            };
            let mut msgs = batch.msgs;
            while !msgs.is_empty() {
                if stop_pull.is_cancelled() {
                    return;
                }
                let rest = if msgs.len() > max {
                    msgs.split_off(max)
                } else {
                    Vec::new()
                };
                let last = msgs.last().map(|m| m.queue_offset);
                tokio::select! {
                    biased;
                    _ = self.consume_with_retry(&mq, msgs, &stop_consume) => {}
                    _ = stop_consume.cancelled() => return,
                }
                if let Some(last) = last {
                    self.offset_store.update_offset(&mq, last + 1, true);
                }
                msgs = rest;
            }
            self.offset_store
                .update_offset(&mq, batch.next_offset, !batch.force);
        }
    }

    /// Calls the listener; on ReconsumeLater sends the messages back to the broker, and
    /// redelivers locally those that cannot be sent back.
    async fn consume_with_retry(
        &self,
        mq: &MessageQueue,
        mut msgs: Vec<MessageExt>,
        stop: &CancellationToken,
    ) {
        loop {
            let status = (self.listener)(msgs.clone()).await;
            if status == ConsumeConcurrentlyStatus::ConsumeSuccess {
                return;
            }
            let mut failed = Vec::new();
            for m in msgs {
                if let Err(e) = self.send_message_back(mq, &m).await {
                    tracing::warn!(queue = %mq, msg_id = m.unique_id(), error = %e, "send back failed; redelivering locally");
                    failed.push(m);
                }
            }
            if failed.is_empty() {
                return;
            }
            // `submitConsumeRequestLater`: try the listener again in 5 s
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
            msgs = failed;
        }
    }

    async fn send_message_back(&self, mq: &MessageQueue, m: &MessageExt) -> Result<()> {
        let addr = self
            .instance
            .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
            .await?;
        let header = ConsumerSendMsgBackRequestHeader {
            offset: m.commit_log_offset,
            group: self.config.group.clone(),
            delay_level: 0,
            origin_msg_id: Some(m.unique_id().to_string()),
            origin_topic: Some(m.topic.clone()),
            unit_mode: false,
            max_reconsume_times: Some(self.config.max_reconsume_times),
            broker_name: Some(mq.broker_name.clone()),
        };
        self.instance
            .api()
            .consumer_send_message_back(&addr, &header, self.instance.config().api_timeout)
            .await
    }
}
