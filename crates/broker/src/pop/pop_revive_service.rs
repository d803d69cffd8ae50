//! `PopReviveService`: reads the revive topic, pairs acks with their checkpoints, and re-delivers
//! the messages of a checkpoint not acknowledged by its revive time.
//!
//! Each revive queue is scanned from the offset `CID_RMQ_SYS_REVIVE_GROUP` committed for it.
//! Checkpoints wait in memory until they are due; the committed offset only moves up to the
//! oldest checkpoint still waiting, so after a restart (or a kill) the scan reads that checkpoint
//! and every ack written after it again, and re-delivers exactly what was not acknowledged. A
//! re-delivery that happened just before a crash may happen once more: delivery is at least once.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::body::pop::{AckMsg, PopCheckPoint};
use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::header::pop::pop_retry_topic;
use ferrocket_protocol::message::{parse_record, property, string_to_properties};
use ferrocket_protocol::util::now_millis;
use ferrocket_store::{
    DefaultMessageStore, GetMessageResult, GetMessageStatus, MessageExtBrokerInner,
};
use tokio::sync::watch;

use super::{ReviveLog, ACK_TAG, BATCH_ACK_TAG, CK_TAG, RETRY_QUEUE_NUM, REVIVE_GROUP};
use crate::broker_config::SharedBrokerConfig;
use crate::mix_all;
use crate::offset::ConsumerOffsetManager;
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// Records read per store call.
const SCAN_BATCH: i32 = 32;
/// Store calls per revive queue and round, so one busy queue cannot hold up the others.
const MAX_BATCHES_PER_ROUND: usize = 64;
/// How long after its revive time a checkpoint is revived: an ack sent just before the deadline
/// may still be on its way into the revive queue (RocketMQ waits about two seconds).
const REVIVE_SLACK_MILLIS: i64 = 1_000;
/// The client name offsets of the revive group are committed under.
const REVIVE_CLIENT: &str = "PopReviveService";

/// What the revive service uses.
pub struct PopReviveService {
    pub config: SharedBrokerConfig,
    pub store: Arc<DefaultMessageStore>,
    pub topics: Arc<TopicConfigManager>,
    pub groups: Arc<SubscriptionGroupManager>,
    pub offsets: Arc<ConsumerOffsetManager>,
    pub revive_log: Arc<ReviveLog>,
    pub store_host: SocketAddr,
    pub shutdown: watch::Receiver<bool>,
}

/// A checkpoint waiting for its revive time, with the indexes acknowledged so far.
struct PendingCk {
    ck: PopCheckPoint,
    acked: u64,
}

/// The scan state of one revive queue.
#[derive(Default)]
struct ReviveQueue {
    qid: i32,
    /// Next offset to read; `None` until read from the committed offsets.
    next_offset: Option<i64>,
    /// Waiting checkpoints by their offset in the revive queue.
    pending: BTreeMap<i64, PendingCk>,
    /// Merge key of a checkpoint → its offset in `pending`.
    by_key: HashMap<String, i64>,
}

/// `PopReviveService`'s merge key of a checkpoint and its acks.
fn merge_key(
    topic: &str,
    group: &str,
    queue_id: i32,
    start: i64,
    pop_time: i64,
    broker: &str,
) -> String {
    format!("{topic}{group}{queue_id}{start}{pop_time}{broker}")
}

impl PopReviveService {
    /// Scans every revive queue each `reviveInterval` until shutdown.
    pub async fn run(self: Arc<Self>) {
        let mut queues: Vec<ReviveQueue> = (0..self.revive_log.queue_num())
            .map(|qid| ReviveQueue {
                qid,
                ..Default::default()
            })
            .collect();
        let mut stop = self.shutdown.clone();
        loop {
            let interval = Duration::from_millis(self.config.get().revive_interval.max(1));
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stop.changed() => return,
            }
            for q in &mut queues {
                self.revive_queue(q).await;
            }
        }
    }

    /// One round of one revive queue: read new records, revive what is due, commit progress.
    async fn revive_queue(&self, q: &mut ReviveQueue) {
        let topic = self.revive_log.topic().to_string();
        let start = match q.next_offset {
            Some(o) => o,
            None => {
                let committed = self.offsets.query_offset(REVIVE_GROUP, &topic, q.qid);
                let min = self.store.get_min_offset_in_queue(&topic, q.qid);
                committed.max(min).max(0)
            }
        };
        q.next_offset = Some(start);
        self.scan(q).await;
        self.revive_due(q).await;
        let settled = match q.pending.keys().next() {
            Some(&oldest) => oldest,
            None => q.next_offset.unwrap_or(start),
        };
        // an idle revive queue leaves the offset table (and consumerOffset.json) alone
        let committed = self.offsets.query_offset(REVIVE_GROUP, &topic, q.qid);
        if settled != committed.max(0) {
            self.offsets
                .commit_offset(REVIVE_CLIENT, REVIVE_GROUP, &topic, q.qid, settled);
        }
    }

    /// Reads the records written since the last round.
    async fn scan(&self, q: &mut ReviveQueue) {
        let topic = self.revive_log.topic().to_string();
        for _ in 0..MAX_BATCHES_PER_ROUND {
            let offset = q.next_offset.unwrap_or(0);
            let Some(result) = read(&self.store, &topic, q.qid, offset, SCAN_BATCH).await else {
                return;
            };
            for (record, &queue_offset) in result.messages.iter().zip(&result.message_queue_offsets)
            {
                apply_record(q, record, queue_offset);
            }
            let advanced = result.next_begin_offset != offset;
            q.next_offset = Some(result.next_begin_offset);
            if result.messages.is_empty() && !advanced {
                return;
            }
        }
    }

    /// Re-delivers the checkpoints whose revive time has passed.
    async fn revive_due(&self, q: &mut ReviveQueue) {
        let now = now_millis();
        let due: Vec<i64> = q
            .pending
            .iter()
            .filter(|(_, p)| p.ck.revive_time() + REVIVE_SLACK_MILLIS <= now)
            .map(|(&o, _)| o)
            .collect();
        for offset in due {
            let Some(pending) = q.pending.get_mut(&offset) else {
                continue;
            };
            if !self.revive_ck(pending).await {
                // the store refused a write: try again next round, keeping what was done
                return;
            }
            if let Some(done) = q.pending.remove(&offset) {
                q.by_key.remove(&ck_key(&done.ck));
            }
        }
    }

    /// Re-delivers each unacknowledged message of `p`; false when a write failed.
    async fn revive_ck(&self, p: &mut PendingCk) -> bool {
        if self.topics.select_topic_config(&p.ck.topic).is_none()
            || !self.groups.contains(&p.ck.cid)
        {
            tracing::info!(topic = %p.ck.topic, group = %p.ck.cid, "checkpoint of a deleted topic or group dropped");
            return true;
        }
        for i in 0..p.ck.num.clamp(0, 64) as usize {
            if p.acked & (1 << i) != 0 {
                continue;
            }
            let offset = p.ck.ack_offset_by_index(i);
            let Some(result) = read(&self.store, &p.ck.topic, p.ck.queue_id, offset, 1).await
            else {
                return false;
            };
            match result.messages.first() {
                Some(record) if result.status == GetMessageStatus::Found => {
                    if !self.revive_message(&p.ck, record).await {
                        return false;
                    }
                }
                _ => tracing::warn!(topic = %p.ck.topic, queue = p.ck.queue_id, offset,
                    "a popped message to revive is gone"),
            }
            p.acked |= 1 << i;
        }
        true
    }

    /// Stores the next attempt of `record` in the pop retry topic, or in the group's DLQ once
    /// the group's `retryMaxTimes` is used up.
    async fn revive_message(&self, ck: &PopCheckPoint, record: &Bytes) -> bool {
        let Ok(view) = parse_record(record) else {
            tracing::warn!(topic = %ck.topic, "a popped message to revive cannot be decoded");
            return true;
        };
        let max_times = self
            .groups
            .get(&ck.cid)
            .map(|g| g.retry_max_times)
            .unwrap_or(16);
        let reconsume_times = view.reconsume_times + 1;
        let target = if reconsume_times > max_times {
            mix_all::dlq_topic(&ck.cid)
        } else if mix_all::is_retry_topic(&ck.topic) {
            ck.topic.clone()
        } else {
            pop_retry_topic(&ck.topic, &ck.cid)
        };
        self.topics.create_topic_in_send_message_back_method(
            &target,
            RETRY_QUEUE_NUM,
            perm::READ_WRITE,
            0,
        );
        let mut properties = string_to_properties(&view.properties_lossy());
        properties.remove(property::POP_CK);
        if view.reconsume_times == 0 || !properties.contains_key(property::FIRST_POP_TIME) {
            properties.insert(property::FIRST_POP_TIME, ck.pop_time.to_string());
        }
        if !properties.contains_key(property::RETRY_TOPIC) {
            properties.insert(property::RETRY_TOPIC, view.topic_lossy().as_ref());
        }
        let mut msg = MessageExtBrokerInner::from_stored(&view, record, target, 0, &properties);
        msg.reconsume_times = reconsume_times;
        msg.prepared_transaction_offset = 0;
        msg.store_host = self.store_host;
        let result = self.store.put_message(msg).await;
        if !result.is_ok() {
            tracing::warn!(topic = %ck.topic, status = result.status.as_str(), "reviving a popped message failed");
        }
        result.is_ok()
    }
}

/// The merge key of a checkpoint.
fn ck_key(ck: &PopCheckPoint) -> String {
    merge_key(
        &ck.topic,
        &ck.cid,
        ck.queue_id,
        ck.start_offset,
        ck.pop_time,
        ck.broker_name.as_deref().unwrap_or_default(),
    )
}

/// Applies one revive record: a checkpoint starts waiting, an ack marks its message done. An
/// ack whose checkpoint is not waiting (already revived) changes nothing.
fn apply_record(q: &mut ReviveQueue, record: &[u8], queue_offset: i64) {
    let Ok(view) = parse_record(record) else {
        tracing::warn!(
            queue = q.qid,
            queue_offset,
            "unreadable revive record skipped"
        );
        return;
    };
    let properties = string_to_properties(&view.properties_lossy());
    match properties.get(property::TAGS) {
        Some(CK_TAG) => match ferrocket_protocol::body::decode::<PopCheckPoint>(view.body) {
            Ok(mut ck) => {
                ck.revive_offset = queue_offset;
                q.by_key.insert(ck_key(&ck), queue_offset);
                q.pending.insert(queue_offset, PendingCk { ck, acked: 0 });
            }
            Err(e) => tracing::warn!(queue_offset, error = %e, "unreadable checkpoint skipped"),
        },
        Some(ACK_TAG | BATCH_ACK_TAG) => {
            match ferrocket_protocol::body::decode::<AckMsg>(view.body) {
                Ok(ack) => apply_ack(q, &ack),
                Err(e) => tracing::warn!(queue_offset, error = %e, "unreadable ack skipped"),
            }
        }
        _ => {}
    }
}

fn apply_ack(q: &mut ReviveQueue, ack: &AckMsg) {
    let key = merge_key(
        &ack.topic,
        &ack.consumer_group,
        ack.queue_id,
        ack.start_offset,
        ack.pop_time,
        ack.broker_name.as_deref().unwrap_or_default(),
    );
    let Some(pending) = q.by_key.get(&key).and_then(|o| q.pending.get_mut(o)) else {
        return;
    };
    for offset in ack.offsets() {
        if let Some(i) = pending.ck.index_of_ack(offset).filter(|&i| i < 64) {
            pending.acked |= 1 << i;
        }
    }
    let all = if pending.ck.num >= 64 {
        u64::MAX
    } else {
        (1u64 << pending.ck.num.max(0)) - 1
    };
    if pending.acked & all == all {
        // everything acknowledged: nothing left to revive
        let offset = pending.ck.revive_offset;
        q.pending.remove(&offset);
        q.by_key.remove(&key);
    }
}

/// Reads up to `nums` records of `topic@queue_id` from `offset` on the blocking pool.
async fn read(
    store: &Arc<DefaultMessageStore>,
    topic: &str,
    queue_id: i32,
    offset: i64,
    nums: i32,
) -> Option<GetMessageResult> {
    let (store, topic) = (store.clone(), topic.to_string());
    let read = ferrocket_store::blocking::run_blocking(move || {
        let result =
            store.get_message(REVIVE_GROUP, &topic, queue_id, offset, nums, i32::MAX, None);
        // the records are parsed on the async worker: fault their pages in here
        result.touch_pages();
        result
    });
    match read.await {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "reading the revive topic failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ck(start: i64, num: i32) -> PopCheckPoint {
        PopCheckPoint {
            start_offset: start,
            pop_time: 1,
            invisible_time: 10,
            num,
            queue_id: 0,
            topic: "T".into(),
            cid: "g".into(),
            queue_offset_diff: (0..num).collect(),
            broker_name: Some("b".into()),
            ..Default::default()
        }
    }

    fn ack(offsets: &[i64], start: i64) -> AckMsg {
        AckMsg {
            ack_offset: offsets[0],
            start_offset: start,
            consumer_group: "g".into(),
            topic: "T".into(),
            queue_id: 0,
            pop_time: 1,
            broker_name: Some("b".into()),
            ack_offset_list: (offsets.len() > 1).then(|| offsets.to_vec()),
        }
    }

    fn waiting(q: &ReviveQueue) -> Vec<(i64, u64)> {
        q.pending.iter().map(|(&o, p)| (o, p.acked)).collect()
    }

    #[test]
    fn acks_mark_their_checkpoint_and_a_fully_acked_one_stops_waiting() {
        let mut q = ReviveQueue::default();
        let mut first = ck(10, 3);
        first.revive_offset = 0;
        q.by_key.insert(ck_key(&first), 0);
        q.pending.insert(
            0,
            PendingCk {
                ck: first,
                acked: 0,
            },
        );
        apply_ack(&mut q, &ack(&[11], 10));
        assert_eq!(waiting(&q), vec![(0, 0b010)]);
        // an ack of another pop (other start offset) changes nothing
        apply_ack(&mut q, &ack(&[10], 9));
        assert_eq!(waiting(&q), vec![(0, 0b010)]);
        apply_ack(&mut q, &ack(&[10, 12], 10));
        assert!(q.pending.is_empty() && q.by_key.is_empty());
    }
}
