//! `PullConsumer` (RocketMQ's lite pull consumer in assign mode): the application chooses the
//! queues and offsets; `poll` walks the assigned queues, `pull` reads one queue at one offset.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, SubscriptionData,
};
use ferrocket_protocol::body::queue::MessageQueue;
use parking_lot::Mutex;

use super::filter_and_decorate;
use super::offset_store::{ReadOffsetType, RemoteBrokerOffsetStore};
use crate::api::CommunicationMode;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::header::PullMessageRequestHeader;
use crate::instance::ClientInstance;
use crate::message::MessageExt;
use crate::pull_result::PullResult;
use ferrocket_protocol::header::pull_message::pull_sys_flag;

/// Pull consumer settings.
#[derive(Debug, Clone)]
pub struct PullConsumerConfig {
    /// Shared client settings.
    pub client: ClientConfig,
    /// Consumer group (offsets are stored under it).
    pub group: String,
    /// Messages asked for per pull.
    pub pull_batch_size: i32,
    /// Socket timeout of one pull.
    pub pull_timeout: Duration,
    /// Pause between rounds of `poll` when every assigned queue is empty.
    pub poll_idle_pause: Duration,
}

impl PullConsumerConfig {
    /// A configuration for `group` talking to `namesrv_addr`.
    pub fn new(group: impl Into<String>, namesrv_addr: impl Into<String>) -> Self {
        PullConsumerConfig {
            client: ClientConfig::with_namesrv(namesrv_addr),
            group: group.into(),
            pull_batch_size: 32,
            pull_timeout: Duration::from_secs(10),
            poll_idle_pause: Duration::from_millis(50),
        }
    }
}

/// A started pull consumer.
pub struct PullConsumer {
    config: PullConsumerConfig,
    instance: Arc<ClientInstance>,
    offset_store: RemoteBrokerOffsetStore,
    /// Assigned queue -> next offset to read (`None` until resolved from the committed offset).
    positions: Mutex<BTreeMap<MessageQueue, Option<i64>>>,
    /// Subscription (tag expression) per topic; `*` unless set with `set_subscription`.
    subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
    cursor: Mutex<usize>,
}

impl PullConsumer {
    /// Starts the client instance.
    pub async fn start(config: PullConsumerConfig) -> Result<PullConsumer> {
        if config.group.is_empty() {
            return Err(ClientError::Config("consumer group is empty".into()));
        }
        let instance = ClientInstance::start(config.client.clone()).await?;
        let offset_store = RemoteBrokerOffsetStore::new(instance.clone(), config.group.clone());
        Ok(PullConsumer {
            config,
            instance,
            offset_store,
            positions: Mutex::new(BTreeMap::new()),
            subscriptions: Mutex::new(BTreeMap::new()),
            cursor: Mutex::new(0),
        })
    }

    /// The readable queues of `topic`.
    pub async fn fetch_message_queues(&self, topic: &str) -> Result<BTreeSet<MessageQueue>> {
        self.instance.subscribe_queues(topic).await
    }

    /// Filters `topic` by a tag expression in `poll`.
    pub fn set_subscription(&self, topic: &str, expression: &str) {
        self.subscriptions
            .lock()
            .insert(topic.to_string(), SubscriptionData::tag(topic, expression));
    }

    fn subscription(&self, topic: &str) -> SubscriptionData {
        self.subscriptions
            .lock()
            .entry(topic.to_string())
            .or_insert_with(|| SubscriptionData::tag(topic, "*"))
            .clone()
    }

    /// Replaces the assigned queues; a queue keeps its position if it stays assigned.
    pub async fn assign(&self, queues: impl IntoIterator<Item = MessageQueue>) {
        {
            let mut pos = self.positions.lock();
            let old = std::mem::take(&mut *pos);
            for q in queues {
                let p = old.get(&q).copied().flatten();
                pos.insert(q, p);
            }
        }
        let topics: BTreeSet<String> = self
            .positions
            .lock()
            .keys()
            .map(|q| q.topic.clone())
            .collect();
        let data = ConsumerData {
            group_name: self.config.group.clone(),
            consume_type: ConsumeType::ConsumeActively,
            message_model: MessageModel::Clustering,
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            subscription_data_set: topics.iter().map(|t| self.subscription(t)).collect(),
            unit_mode: false,
        };
        self.instance.register_consumer(data);
        self.instance.send_heartbeat_to_all_brokers().await;
    }

    /// The assigned queues.
    pub fn assignment(&self) -> BTreeSet<MessageQueue> {
        self.positions.lock().keys().cloned().collect()
    }

    fn set_position(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        match self.positions.lock().get_mut(mq) {
            Some(p) => {
                *p = Some(offset);
                Ok(())
            }
            None => Err(ClientError::State("seek on a queue that is not assigned")),
        }
    }

    /// Moves the read position of an assigned queue.
    pub fn seek(&self, mq: &MessageQueue, offset: i64) -> Result<()> {
        self.set_position(mq, offset)
    }

    /// Moves to the first stored message of `mq`.
    pub async fn seek_to_begin(&self, mq: &MessageQueue) -> Result<()> {
        let addr = self
            .instance
            .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
            .await?;
        let o = self
            .instance
            .api()
            .get_min_offset(&addr, mq, self.instance.config().api_timeout)
            .await?;
        self.set_position(mq, o)
    }

    /// Moves past the last stored message of `mq`.
    pub async fn seek_to_end(&self, mq: &MessageQueue) -> Result<()> {
        let o = self.max_offset(mq).await?;
        self.set_position(mq, o)
    }

    /// The next offset to be written in `mq`.
    pub async fn max_offset(&self, mq: &MessageQueue) -> Result<i64> {
        let addr = self
            .instance
            .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
            .await?;
        self.instance
            .api()
            .get_max_offset(&addr, mq, self.instance.config().api_timeout)
            .await
    }

    /// The read position of an assigned queue, if resolved.
    pub fn position(&self, mq: &MessageQueue) -> Option<i64> {
        self.positions.lock().get(mq).copied().flatten()
    }

    /// Reads up to `max_nums` messages of `mq` from `offset`, without long polling and without
    /// moving any position (`DefaultMQPullConsumer.pull`). Messages are tag-filtered with
    /// `expression`.
    pub async fn pull(
        &self,
        mq: &MessageQueue,
        expression: &str,
        offset: i64,
        max_nums: i32,
    ) -> Result<PullResult> {
        let sub = SubscriptionData::tag(mq.topic.as_str(), expression);
        self.pull_with(mq, &sub, offset, max_nums).await
    }

    async fn pull_with(
        &self,
        mq: &MessageQueue,
        sub: &SubscriptionData,
        offset: i64,
        max_nums: i32,
    ) -> Result<PullResult> {
        let addr = self
            .instance
            .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
            .await?;
        let header = PullMessageRequestHeader {
            consumer_group: self.config.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max_nums,
            sys_flag: pull_sys_flag::build(false, false, true, false),
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some(sub.sub_string.clone()),
            sub_version: sub.sub_version,
            expression_type: Some(sub.expression_type.clone()),
            max_msg_bytes: None,
            broker_name: Some(mq.broker_name.clone()),
        };
        let mut r = self
            .instance
            .api()
            .pull_message(&addr, &header, self.config.pull_timeout)
            .await?;
        r.msgs = filter_and_decorate(std::mem::take(&mut r.msgs), sub, r.min_offset, r.max_offset);
        Ok(r)
    }

    /// The resolved position of `mq`: the committed offset, or 0 when the group has none.
    async fn resolve_position(&self, mq: &MessageQueue) -> Result<i64> {
        if let Some(p) = self.position(mq) {
            return Ok(p);
        }
        let o = self
            .offset_store
            .read_offset(mq, ReadOffsetType::ReadFromStore)
            .await?
            .filter(|o| *o >= 0)
            .unwrap_or(0);
        self.set_position(mq, o)?;
        Ok(o)
    }

    /// Returns the next messages of the assigned queues, waiting up to `timeout` for some.
    /// Queues are visited round robin; positions advance past what is returned.
    pub async fn poll(&self, timeout: Duration) -> Result<Vec<MessageExt>> {
        let deadline = Instant::now() + timeout;
        loop {
            let queues: Vec<MessageQueue> = self.positions.lock().keys().cloned().collect();
            if queues.is_empty() {
                return Err(ClientError::State("poll without assigned queues"));
            }
            for _ in 0..queues.len() {
                let i = {
                    let mut c = self.cursor.lock();
                    *c = c.wrapping_add(1);
                    *c % queues.len()
                };
                let mq = &queues[i];
                let offset = self.resolve_position(mq).await?;
                let sub = self.subscription(&mq.topic);
                let r = self
                    .pull_with(mq, &sub, offset, self.config.pull_batch_size)
                    .await?;
                // a concurrent seek wins over the pull's next offset
                {
                    let mut pos = self.positions.lock();
                    if let Some(p) = pos.get_mut(mq) {
                        if *p == Some(offset) {
                            *p = Some(r.next_begin_offset);
                        }
                    }
                }
                if !r.msgs.is_empty() {
                    return Ok(r.msgs);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            tokio::time::sleep(self.config.poll_idle_pause.min(deadline - now)).await;
        }
    }

    /// Stores the current positions as the group's consumer offsets, waiting for the broker.
    pub async fn commit_sync(&self) -> Result<()> {
        let positions: Vec<(MessageQueue, i64)> = self
            .positions
            .lock()
            .iter()
            .filter_map(|(q, p)| p.map(|p| (q.clone(), p)))
            .collect();
        for (mq, p) in positions {
            self.offset_store.update_offset(&mq, p, false);
            self.offset_store
                .update_consume_offset_to_broker(&mq, p, CommunicationMode::Sync)
                .await?;
        }
        Ok(())
    }

    /// The group's committed offset of `mq` on the broker.
    pub async fn committed(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        self.offset_store.fetch_consume_offset_from_broker(mq).await
    }

    /// Unregisters the client and closes its connections.
    pub async fn shutdown(&self) {
        self.instance
            .unregister_client(None, Some(&self.config.group))
            .await;
        self.instance.shutdown().await;
    }
}
