//! `RemoteBrokerOffsetStore`: consumer offsets kept in memory and persisted to the broker.

use std::collections::HashMap;
use std::sync::Arc;

use ferrocket_protocol::body::queue::MessageQueue;
use parking_lot::Mutex;

use crate::api::CommunicationMode;
use crate::error::Result;
use crate::instance::{ClientInstance, MASTER_ID};

/// Where `read_offset` looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOffsetType {
    /// Memory only.
    ReadFromMemory,
    /// The broker only (QUERY_CONSUMER_OFFSET); the answer is cached.
    ReadFromStore,
    /// Memory, then the broker.
    MemoryFirstThenStore,
}

/// Offsets of one consumer group, persisted with UPDATE_CONSUMER_OFFSET.
pub struct RemoteBrokerOffsetStore {
    instance: Arc<ClientInstance>,
    group: String,
    table: Mutex<HashMap<MessageQueue, i64>>,
}

impl RemoteBrokerOffsetStore {
    /// A store for `group`.
    pub fn new(instance: Arc<ClientInstance>, group: impl Into<String>) -> Self {
        RemoteBrokerOffsetStore {
            instance,
            group: group.into(),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Records `offset` as consumed up to (exclusive); with `increase_only` a smaller value is ignored.
    pub fn update_offset(&self, mq: &MessageQueue, offset: i64, increase_only: bool) {
        let mut t = self.table.lock();
        match t.get_mut(mq) {
            Some(cur) if increase_only => *cur = (*cur).max(offset),
            Some(cur) => *cur = offset,
            None => {
                t.insert(mq.clone(), offset);
            }
        }
    }

    /// The offset of `mq`; `None` when neither memory nor (if asked) the broker has one.
    pub async fn read_offset(&self, mq: &MessageQueue, ty: ReadOffsetType) -> Result<Option<i64>> {
        if ty != ReadOffsetType::ReadFromStore {
            if let Some(o) = self.table.lock().get(mq) {
                return Ok(Some(*o));
            }
            if ty == ReadOffsetType::ReadFromMemory {
                return Ok(None);
            }
        }
        let found = self.fetch_consume_offset_from_broker(mq).await?;
        if let Some(o) = found {
            self.update_offset(mq, o, false);
        }
        Ok(found)
    }

    /// The in-memory offset of `mq`.
    pub fn memory_offset(&self, mq: &MessageQueue) -> Option<i64> {
        self.table.lock().get(mq).copied()
    }

    /// QUERY_CONSUMER_OFFSET; `None` when the broker has no offset for the group.
    pub async fn fetch_consume_offset_from_broker(&self, mq: &MessageQueue) -> Result<Option<i64>> {
        // the master if there is one; after a route refresh, a slave while the master is away
        let addr =
            match self
                .instance
                .find_broker_address_in_subscribe(&mq.broker_name, MASTER_ID, true)
            {
                Some(b) => b.addr,
                None => {
                    self.instance
                        .find_broker_in_subscribe_or_refresh(
                            &mq.broker_name,
                            &mq.topic,
                            MASTER_ID,
                            false,
                        )
                        .await?
                        .addr
                }
            };
        let timeout = self.instance.config().api_timeout;
        self.instance
            .api()
            .query_consumer_offset(&addr, &self.group, mq, timeout)
            .await
    }

    /// UPDATE_CONSUMER_OFFSET for one queue.
    pub async fn update_consume_offset_to_broker(
        &self,
        mq: &MessageQueue,
        offset: i64,
        mode: CommunicationMode,
    ) -> Result<()> {
        // a slave takes the commit while the master is away (RocketMQ does the same)
        let addr = self
            .instance
            .find_broker_in_subscribe_or_refresh(&mq.broker_name, &mq.topic, MASTER_ID, false)
            .await?
            .addr;
        let timeout = self.instance.config().api_timeout;
        self.instance
            .api()
            .update_consumer_offset(&addr, &self.group, mq, offset, mode, timeout)
            .await
    }

    /// Persists the in-memory offsets of `mqs` (one-way, as the periodic task does).
    pub async fn persist_all(&self, mqs: &[MessageQueue], mode: CommunicationMode) {
        for mq in mqs {
            let Some(offset) = self.memory_offset(mq) else {
                continue;
            };
            if let Err(e) = self.update_consume_offset_to_broker(mq, offset, mode).await {
                tracing::warn!(queue = %mq, offset, error = %e, "persisting consumer offset failed");
            }
        }
    }

    /// Persists then forgets `mq` (the queue left this consumer).
    pub async fn persist_and_remove(&self, mq: &MessageQueue) {
        self.persist_all(std::slice::from_ref(mq), CommunicationMode::Sync)
            .await;
        self.table.lock().remove(mq);
    }
}
