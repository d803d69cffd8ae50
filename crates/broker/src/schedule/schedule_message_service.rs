//! `ScheduleMessageService`: delayed delivery through `SCHEDULE_TOPIC_XXXX`.
//!
//! A message with a `DELAY` level is stored in `SCHEDULE_TOPIC_XXXX`, queue `level - 1`, with
//! its real topic and queue in `REAL_TOPIC`/`REAL_QID` and its delivery time as tags code. This
//! service walks each level's queue from the offset saved in `config/delayOffset.json` and
//! re-puts every due message to its real queue.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::body::topic::DataVersion;
use ferrocket_protocol::message::{parse_record, property, string_to_properties, sys_flag};
use ferrocket_protocol::util::now_millis;
use ferrocket_store::{DefaultMessageStore, MessageExtBrokerInner};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::config_manager;
use crate::error::BrokerError;
use crate::topic::topic_validator::{RMQ_SYS_SCHEDULE_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC};

/// Pause between two scans when nothing was due (`DELAY_FOR_A_WHILE`).
pub const DELAY_FOR_A_WHILE: Duration = Duration::from_millis(100);
/// First scan after start (`FIRST_DELAY_TIME`).
pub const FIRST_DELAY_TIME: Duration = Duration::from_millis(1000);
/// How often `delayOffset.json` is written (`flushDelayOffsetInterval`).
pub const FLUSH_DELAY_OFFSET_INTERVAL: Duration = Duration::from_millis(10_000);
/// Records read per store call.
const BATCH: i32 = 32;

/// `delayOffset.json`: next offset to deliver per level (1-based).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct DelayOffsetSerializeWrapper {
    offset_table: BTreeMap<i32, i64>,
    data_version: DataVersion,
}

/// `queueId = level - 1`.
pub fn delay_level_to_queue_id(level: i32) -> i32 {
    level - 1
}

/// Delivers delayed messages when they are due.
pub struct ScheduleMessageService {
    store: Arc<DefaultMessageStore>,
    /// Delay of each level in ms (index 0 = level 1).
    delay_levels: Vec<i64>,
    offsets: Mutex<BTreeMap<i32, i64>>,
    data_version: Mutex<DataVersion>,
    path: PathBuf,
    persist_lock: Mutex<()>,
}

impl ScheduleMessageService {
    /// Loads `config/delayOffset.json` under `store_root`.
    pub fn new(
        store: Arc<DefaultMessageStore>,
        delay_levels: Vec<i64>,
        path: PathBuf,
    ) -> Result<Self, BrokerError> {
        let saved = config_manager::load::<DelayOffsetSerializeWrapper>(&path)?.unwrap_or_default();
        Ok(ScheduleMessageService {
            store,
            delay_levels,
            offsets: Mutex::new(saved.offset_table),
            data_version: Mutex::new(saved.data_version),
            path,
            persist_lock: Mutex::new(()),
        })
    }

    /// The highest level.
    pub fn max_delay_level(&self) -> i32 {
        self.delay_levels.len() as i32
    }

    /// Rewrites a message with a `DELAY` level for `SCHEDULE_TOPIC_XXXX` (`transformDelayLevelMessage`);
    /// does nothing for other messages or transactional half/rollback messages.
    pub fn transform_delay_level_message(&self, msg: &mut MessageExtBrokerInner) {
        let tx = sys_flag::transaction_value(msg.sys_flag);
        if tx != sys_flag::TRANSACTION_NOT_TYPE && tx != sys_flag::TRANSACTION_COMMIT {
            return;
        }
        let level = msg.delay_time_level();
        if level <= 0 || self.delay_levels.is_empty() {
            return;
        }
        let level = level.min(self.max_delay_level());
        let mut properties = string_to_properties(&msg.properties_string);
        properties.insert(property::DELAY, level.to_string());
        properties.insert(property::REAL_TOPIC, msg.topic.as_str());
        properties.insert(property::REAL_QID, msg.queue_id.to_string());
        msg.set_properties(&properties);
        msg.topic = RMQ_SYS_SCHEDULE_TOPIC.to_string();
        msg.queue_id = delay_level_to_queue_id(level);
        msg.tags_code = now_millis() + self.delay_levels[level as usize - 1];
    }

    /// Delivers what is due on every level; returns how many messages were delivered.
    pub async fn deliver_due(&self) -> usize {
        let mut delivered = 0;
        for level in 1..=self.max_delay_level() {
            delivered += self.deliver_level(level).await;
        }
        delivered
    }

    async fn deliver_level(&self, level: i32) -> usize {
        let queue_id = delay_level_to_queue_id(level);
        let delay = self.delay_levels[level as usize - 1];
        let max = self
            .store
            .get_max_offset_in_queue(RMQ_SYS_SCHEDULE_TOPIC, queue_id);
        let mut offset = self.offsets.lock().get(&level).copied().unwrap_or(0);
        let min = self
            .store
            .get_min_offset_in_queue(RMQ_SYS_SCHEDULE_TOPIC, queue_id);
        offset = offset.clamp(min, max.max(min));
        let mut delivered = 0;
        'scan: while offset < max {
            let result = self.store.get_message(
                "",
                RMQ_SYS_SCHEDULE_TOPIC,
                queue_id,
                offset,
                BATCH,
                i32::MAX,
                None,
            );
            if result.next_begin_offset <= offset {
                break;
            }
            let now = now_millis();
            for (record, queue_offset) in result.messages.iter().zip(&result.message_queue_offsets)
            {
                let Ok(view) = parse_record(record) else {
                    offset = queue_offset + 1;
                    continue;
                };
                // clock-skew guard (`correctDeliverTimestamp`): a delivery time further away than
                // the level's delay means the clock went back; deliver now
                let due = view.store_timestamp + delay;
                let due = if due > now + delay { now } else { due };
                if due > now {
                    offset = *queue_offset;
                    break 'scan;
                }
                if let Some(msg) = message_time_up(&view, record) {
                    let result = self.store.put_message(msg).await;
                    if !result.is_ok() {
                        tracing::warn!(level, offset = queue_offset, status = %result.status, "delayed message delivery failed, retrying");
                        offset = *queue_offset;
                        break 'scan;
                    }
                    delivered += 1;
                }
                offset = queue_offset + 1;
            }
            offset = offset.max(result.next_begin_offset.min(max));
        }
        self.offsets.lock().insert(level, offset);
        delivered
    }

    /// Writes and syncs `config/delayOffset.json`: blocking work, for a dedicated thread or
    /// the blocking pool (see [`ferrocket_store::blocking`]).
    pub fn persist(&self) -> std::io::Result<()> {
        ferrocket_store::blocking::debug_assert_blocking_allowed("persisting delay offsets");
        let _guard = self.persist_lock.lock();
        let wrapper = DelayOffsetSerializeWrapper {
            offset_table: self.offsets.lock().clone(),
            data_version: {
                let mut v = self.data_version.lock();
                v.next_version();
                v.clone()
            },
        };
        config_manager::persist(&self.path, &wrapper)
    }

    /// Delivers due messages every [`DELAY_FOR_A_WHILE`] and persists the offsets every
    /// [`FLUSH_DELAY_OFFSET_INTERVAL`], until the task is aborted.
    pub async fn run(self: Arc<Self>) {
        tokio::time::sleep(FIRST_DELAY_TIME).await;
        let mut last_persist = tokio::time::Instant::now();
        loop {
            let delivered = self.deliver_due().await;
            if delivered == 0 {
                tokio::time::sleep(DELAY_FOR_A_WHILE).await;
            }
            if last_persist.elapsed() >= FLUSH_DELAY_OFFSET_INTERVAL {
                last_persist = tokio::time::Instant::now();
                // the fsync goes to the blocking pool: this loop runs on a worker thread
                let me = self.clone();
                match ferrocket_store::blocking::run_blocking(move || me.persist()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "persisting delay offsets failed"),
                    Err(e) => tracing::error!(error = %e, "persisting delay offsets failed"),
                }
            }
        }
    }
}

/// Rebuilds a due message for its real topic (`messageTimeUp`); `None` for messages that must
/// not be delivered (half messages, or no real topic).
fn message_time_up(
    view: &ferrocket_protocol::message::RecordView<'_>,
    record: &bytes::Bytes,
) -> Option<MessageExtBrokerInner> {
    let mut properties = string_to_properties(&view.properties_lossy());
    let real_topic = properties.get(property::REAL_TOPIC)?.to_string();
    if real_topic == RMQ_SYS_TRANS_HALF_TOPIC {
        tracing::warn!("a delayed half message was discarded");
        return None;
    }
    let real_queue = properties
        .get(property::REAL_QID)
        .and_then(|q| q.trim().parse().ok())
        .unwrap_or(0);
    properties.remove(property::DELAY);
    properties.remove(property::TIMER_DELIVER_MS);
    properties.remove(property::TIMER_DELAY_SEC);
    properties.insert(property::WAIT, "false");
    Some(MessageExtBrokerInner::from_stored(
        view,
        record,
        real_topic,
        real_queue,
        &properties,
    ))
}
