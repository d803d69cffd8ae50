//! `ReviveLog`: appends checkpoint and ack records to the revive topic (RocketMQ's
//! `PopMessageProcessor.buildCkMsg` and `AckMessageProcessor.appendAck`).
//!
//! The records become visible to the revive scan at once; RocketMQ routes them through its timer
//! wheel instead so they appear only when due. Here the scan keeps pending checkpoints in memory
//! until their revive time, and the records themselves are the durable state either way.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferrocket_protocol::body::pop::{AckMsg, PopCheckPoint};
use ferrocket_protocol::message::{property, Properties};
use ferrocket_store::{DefaultMessageStore, MessageExtBrokerInner};

use super::{ACK_TAG, BATCH_ACK_TAG, CK_TAG};

/// Writer of the revive topic.
pub struct ReviveLog {
    store: Arc<DefaultMessageStore>,
    store_host: SocketAddr,
    topic: String,
    queue_num: i32,
    /// `ckMessageNumber`: spreads checkpoints over the revive queues.
    next_ck: AtomicU64,
}

/// Why a record was not stored.
#[derive(Debug, thiserror::Error)]
#[error("appending a {tag} record to the revive topic failed: {status}")]
pub struct AppendError {
    tag: &'static str,
    status: String,
}

impl ReviveLog {
    /// A writer of `topic` (`rmq_sys_REVIVE_LOG_<cluster>`) with `queue_num` queues.
    pub fn new(
        store: Arc<DefaultMessageStore>,
        store_host: SocketAddr,
        topic: String,
        queue_num: i32,
    ) -> Self {
        ReviveLog {
            store,
            store_host,
            topic,
            queue_num: queue_num.max(1),
            next_ck: AtomicU64::new(0),
        }
    }

    /// The revive topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Number of revive queues.
    pub fn queue_num(&self) -> i32 {
        self.queue_num
    }

    /// The revive queue of the next pop.
    pub fn next_revive_qid(&self) -> i32 {
        (self.next_ck.fetch_add(1, Ordering::Relaxed) % self.queue_num as u64) as i32
    }

    /// Stores a checkpoint in revive queue `revive_qid`.
    pub async fn append_ck(&self, ck: &PopCheckPoint, revive_qid: i32) -> Result<(), AppendError> {
        let key = unique_key(
            &ck.topic,
            ck.queue_id,
            ck.start_offset,
            &ck.cid,
            ck.pop_time,
            ck.broker_name.as_deref(),
            CK_TAG,
        );
        let body = ferrocket_protocol::body::encode(ck);
        self.append(CK_TAG, key, body, revive_qid).await
    }

    /// Stores an ack (or batch ack, when `ack.ack_offset_list` is set) in revive queue
    /// `revive_qid`.
    pub async fn append_ack(&self, ack: &AckMsg, revive_qid: i32) -> Result<(), AppendError> {
        let tag = if ack.ack_offset_list.is_some() {
            BATCH_ACK_TAG
        } else {
            ACK_TAG
        };
        let key = unique_key(
            &ack.topic,
            ack.queue_id,
            ack.ack_offset,
            &ack.consumer_group,
            ack.pop_time,
            ack.broker_name.as_deref(),
            ACK_TAG,
        );
        let body = ferrocket_protocol::body::encode(ack);
        self.append(tag, key, body, revive_qid).await
    }

    async fn append(
        &self,
        tag: &'static str,
        key: String,
        body: bytes::Bytes,
        revive_qid: i32,
    ) -> Result<(), AppendError> {
        let qid = revive_qid.clamp(0, self.queue_num - 1);
        let mut msg = MessageExtBrokerInner::new(self.topic.clone(), qid, body);
        let mut properties = Properties::new();
        properties.insert(property::TAGS, tag);
        properties.insert(property::UNIQ_KEY, key);
        msg.set_properties(&properties);
        msg.born_host = self.store_host;
        msg.store_host = self.store_host;
        let result = self.store.put_message(msg).await;
        if result.is_ok() {
            Ok(())
        } else {
            Err(AppendError {
                tag,
                status: result.status.as_str().to_string(),
            })
        }
    }
}

/// The UNIQ_KEY of a revive record: `topic@queueId@offset@group@popTime@brokerName@tag`
/// (`genCkUniqueId`, `genAckUniqueId`).
fn unique_key(
    topic: &str,
    queue_id: i32,
    offset: i64,
    group: &str,
    pop_time: i64,
    broker: Option<&str>,
    tag: &str,
) -> String {
    let broker = broker.unwrap_or_default();
    format!("{topic}@{queue_id}@{offset}@{group}@{pop_time}@{broker}@{tag}")
}
