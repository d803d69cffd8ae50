//! `TimerMessageStore`: delivery of timer messages (TIMER_DELIVER_MS / TIMER_DELAY_SEC /
//! TIMER_DELAY_MS) when they are due.
//!
//! Like RocketMQ, a timer message is stored in the commit log under `rmq_sys_wheel_timer`
//! queue 0, with its real topic and queue in `REAL_TOPIC`/`REAL_QID` and its slot time in
//! `TIMER_OUT_MS`. Instead of RocketMQ's timerwheel/timerlog files, the pending timers are held
//! in memory, ordered by delivery time, and rebuilt after a restart by reading the timer queue
//! again; `config/timercheck` records which of those were already delivered, so a restart loses
//! none and delivers none early. A timer is never delivered before the time the producer asked
//! for, even though `TIMER_OUT_MS` is rounded down to `timerPrecisionMs` as in RocketMQ.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::message::{
    parse_record, property, string_to_properties, sys_flag, Properties, RecordView,
};
use ferrocket_protocol::util::now_millis;
use ferrocket_store::{DefaultMessageStore, MessageExtBrokerInner, PutMessageStatus};
use parking_lot::Mutex;

use super::timer_checkpoint::TimerCheckpoint;

/// The topic timer messages wait in (`TimerMessageStore.TIMER_TOPIC`).
pub const TIMER_TOPIC: &str = "rmq_sys_wheel_timer";
/// Pause of the service when there was nothing to read or deliver.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// How often `config/timercheck` is written (`timerFlushIntervalMs`).
const FLUSH_INTERVAL: Duration = Duration::from_millis(1000);
/// Timer-queue records read per store call.
const BATCH: i32 = 32;
/// Timer-queue records read per round at most, so delivery keeps going during a long rebuild.
const MAX_ENQUEUE_PER_ROUND: usize = 4096;
/// How long a recall marker outlives its due time: the recalled message falls due within one
/// precision of it, and a delivery retried after a store error a little later.
const RECALL_GRACE_MS: i64 = 60_000;

/// The timers read and not yet delivered, and the progress the checkpoint may claim.
#[derive(Default)]
struct TimerState {
    /// `(due ms, timer queue offset)` -> commit-log offset of the timer message.
    pending: BTreeMap<(i64, i64), i64>,
    /// Next timer queue offset to read.
    read_offset: i64,
    /// Whether `read_offset` was placed at the queue's first offset since start.
    started: bool,
    /// What the last saved checkpoint says was delivered (skipped while rebuilding).
    recovered: TimerCheckpoint,
    /// Progress proven by the last fully successful delivery round: `(read offset, time)`.
    progress: (i64, i64),
    /// Recalled timers not yet fallen due: `REAL_TOPIC+UNIQ_KEY` -> the recall marker's due ms.
    recalled: HashMap<String, i64>,
}

/// The broker settings that decide whether and how a timer message is accepted.
#[derive(Debug, Clone, Copy)]
pub struct TimerPolicy {
    /// `timerWheelEnable`.
    pub enable: bool,
    /// `timerPrecisionMs`, snapped to RocketMQ's candidates.
    pub precision_ms: i64,
    /// `timerMaxDelaySec`.
    pub max_delay_sec: i64,
}

impl TimerPolicy {
    /// Rewrites a timer message for `rmq_sys_wheel_timer` (RocketMQ `transformTimerMessage`).
    ///
    /// Leaves other messages alone; a message with a delay level loses its timer properties (the
    /// level wins). A timer already due is stored as an ordinary message.
    pub fn transform(
        &self,
        msg: &mut MessageExtBrokerInner,
        now: i64,
    ) -> Result<(), PutMessageStatus> {
        // one scan of the properties decides for almost every message
        if !msg.properties_string.contains("TIMER_") {
            return Ok(());
        }
        let tx = sys_flag::transaction_value(msg.sys_flag);
        if tx != sys_flag::TRANSACTION_NOT_TYPE && tx != sys_flag::TRANSACTION_COMMIT {
            return Ok(());
        }
        if msg.topic == TIMER_TOPIC || msg.property(property::TIMER_OUT_MS).is_some() {
            return Ok(());
        }
        const TIMER_KEYS: [&str; 3] = [
            property::TIMER_DELIVER_MS,
            property::TIMER_DELAY_SEC,
            property::TIMER_DELAY_MS,
        ];
        if !TIMER_KEYS.iter().any(|k| msg.property(k).is_some()) {
            return Ok(());
        }
        let mut properties = string_to_properties(&msg.properties_string);
        if msg.delay_time_level() > 0 {
            for k in TIMER_KEYS {
                properties.remove(k);
            }
            msg.set_properties(&properties);
            return Ok(());
        }
        if !self.enable {
            return Err(PutMessageStatus::WheelTimerNotEnable);
        }
        let number = |name| properties.get(name).map(|v: &str| v.trim().parse::<i64>());
        let deliver_ms = match (
            number(property::TIMER_DELAY_SEC),
            number(property::TIMER_DELAY_MS),
            number(property::TIMER_DELIVER_MS),
        ) {
            (Some(Ok(sec)), _, _) => now.saturating_add(sec.saturating_mul(1000)),
            (None, Some(Ok(ms)), _) => now.saturating_add(ms),
            (None, None, Some(Ok(at))) => at,
            _ => return Err(PutMessageStatus::WheelTimerMsgIllegal),
        };
        if deliver_ms <= now {
            if properties.get(property::TIMER_DEL_UNIQKEY).is_some() {
                return Err(PutMessageStatus::WheelTimerMsgIllegal);
            }
            return Ok(());
        }
        if deliver_ms - now > self.max_delay_sec.saturating_mul(1000) {
            return Err(PutMessageStatus::WheelTimerMsgIllegal);
        }
        let p = self.precision_ms;
        let slot = if deliver_ms % p == 0 {
            deliver_ms - p
        } else {
            deliver_ms / p * p
        };
        properties.insert(property::TIMER_OUT_MS, slot.to_string());
        properties.insert(property::REAL_TOPIC, msg.topic.as_str());
        properties.insert(property::REAL_QID, msg.queue_id.to_string());
        msg.set_properties(&properties);
        msg.topic = TIMER_TOPIC.to_string();
        msg.queue_id = 0;
        Ok(())
    }
}

/// Accepts timer messages and delivers them to their real topic when due.
pub struct TimerMessageStore {
    store: Arc<DefaultMessageStore>,
    policy: TimerPolicy,
    path: PathBuf,
    state: Mutex<TimerState>,
    persist_lock: Mutex<()>,
}

/// When a stored timer message is due, in ms: the time the producer asked for where the
/// properties say it exactly, else the end of its `TIMER_OUT_MS` slot. Never earlier than asked.
pub fn due_time(properties: &Properties, store_timestamp: i64, precision_ms: i64) -> Option<i64> {
    let long = |name| {
        properties
            .get(name)
            .and_then(|v: &str| v.trim().parse::<i64>().ok())
    };
    if let Some(sec) = long(property::TIMER_DELAY_SEC) {
        // the broker computed the slot from its clock just before storing, so the store time
        // is a bound that is never early
        return Some(store_timestamp.saturating_add(sec.saturating_mul(1000)));
    }
    if let Some(ms) = long(property::TIMER_DELAY_MS) {
        return Some(store_timestamp.saturating_add(ms));
    }
    if let Some(at) = long(property::TIMER_DELIVER_MS) {
        return Some(at);
    }
    long(property::TIMER_OUT_MS).map(|slot| slot + precision_ms)
}

impl TimerMessageStore {
    /// Loads `config/timercheck` (`path`).
    pub fn new(
        store: Arc<DefaultMessageStore>,
        path: PathBuf,
    ) -> Result<TimerMessageStore, std::io::Error> {
        let config = store.config();
        let recovered = TimerCheckpoint::load(&path)?;
        let timer = TimerMessageStore {
            policy: TimerPolicy {
                enable: config.timer_wheel_enable,
                precision_ms: normalize_precision(config.timer_precision_ms),
                max_delay_sec: config.timer_max_delay_sec,
            },
            store,
            path,
            state: Mutex::new(TimerState {
                recovered,
                progress: (
                    recovered.last_timer_queue_offset,
                    recovered.last_read_time_ms,
                ),
                ..TimerState::default()
            }),
            persist_lock: Mutex::new(()),
        };
        Ok(timer)
    }

    /// Rewrites a timer message for `rmq_sys_wheel_timer` (RocketMQ `transformTimerMessage`).
    ///
    /// Leaves other messages alone; a message with a delay level loses its timer properties (the
    /// level wins). A timer already due is stored as an ordinary message.
    pub fn transform_timer_message(
        &self,
        msg: &mut MessageExtBrokerInner,
    ) -> Result<(), PutMessageStatus> {
        self.policy.transform(msg, now_millis())
    }

    /// The longest accepted delay in ms, for refusal remarks.
    pub fn max_delay_ms(&self) -> i64 {
        self.policy.max_delay_sec.saturating_mul(1000)
    }

    /// Whether timer messages are accepted (`timerWheelEnable`).
    pub fn is_enabled(&self) -> bool {
        self.policy.enable
    }

    /// Timers read and not yet delivered.
    pub fn pending(&self) -> usize {
        self.state.lock().pending.len()
    }

    /// Reads new timer-queue entries into the pending set; returns how many were read.
    pub fn enqueue(&self) -> usize {
        let min = self.store.get_min_offset_in_queue(TIMER_TOPIC, 0);
        let max = self.store.get_max_offset_in_queue(TIMER_TOPIC, 0);
        let (mut offset, recovered) = {
            let mut state = self.state.lock();
            if !state.started {
                state.started = true;
                state.read_offset = min;
            }
            state.read_offset = state.read_offset.max(min);
            (state.read_offset, state.recovered)
        };
        let mut read = 0;
        let mut found = Vec::new();
        let mut recalls = Vec::new();
        while offset < max && read < MAX_ENQUEUE_PER_ROUND {
            let r = self
                .store
                .get_message("", TIMER_TOPIC, 0, offset, BATCH, i32::MAX, None);
            if r.next_begin_offset <= offset {
                break;
            }
            for (record, qo) in r.messages.iter().zip(&r.message_queue_offsets) {
                read += 1;
                let Ok(view) = parse_record(record) else {
                    tracing::warn!(offset = qo, "unreadable timer message skipped");
                    continue;
                };
                let properties = string_to_properties(&view.properties_lossy());
                let Some(due) =
                    due_time(&properties, view.store_timestamp, self.policy.precision_ms)
                else {
                    tracing::warn!(offset = qo, "timer message without delivery time skipped");
                    continue;
                };
                // a recall marker is kept even behind the checkpoint: the message it recalls
                // may fall due after it
                if let Some(key) = recall_key(&properties, property::TIMER_DEL_UNIQKEY) {
                    recalls.push((key, due));
                    continue;
                }
                // delivered before the last checkpoint
                if *qo < recovered.last_timer_queue_offset && due <= recovered.last_read_time_ms {
                    continue;
                }
                found.push(((due, *qo), view.physical_offset));
            }
            offset = r.next_begin_offset;
        }
        let mut state = self.state.lock();
        state.pending.extend(found);
        state.recalled.extend(recalls);
        state.read_offset = offset;
        read
    }

    /// Delivers every pending timer that is due; returns how many were delivered.
    pub async fn dequeue(&self) -> usize {
        let now = now_millis();
        let grace = self.policy.precision_ms + RECALL_GRACE_MS;
        let (due, read_offset) = {
            let mut state = self.state.lock();
            state
                .recalled
                .retain(|_, marker_due| *marker_due + grace > now);
            let later = state.pending.split_off(&(now + 1, i64::MIN));
            let due = std::mem::replace(&mut state.pending, later);
            (due, state.read_offset)
        };
        let mut delivered = 0;
        let mut entries = due.into_iter();
        while let Some((key, phy)) = entries.next() {
            match self.deliver(phy, now).await {
                Ok(()) => delivered += 1,
                Err(status) => {
                    tracing::warn!(offset = key.1, status = %status, "timer message delivery failed, retrying");
                    let mut state = self.state.lock();
                    state.pending.insert(key, phy);
                    state.pending.extend(entries);
                    return delivered;
                }
            }
        }
        let mut state = self.state.lock();
        // while the rebuild is still behind the saved checkpoint, that checkpoint says more
        if read_offset >= state.recovered.last_timer_queue_offset {
            state.progress = (read_offset, now);
        }
        delivered
    }

    async fn deliver(&self, phy: i64, now: i64) -> Result<(), PutMessageStatus> {
        let Some(record) = self.store.look_message_by_offset(phy) else {
            tracing::warn!(
                commit_log_offset = phy,
                "timer message no longer in the commit log, dropped"
            );
            return Ok(());
        };
        let Ok(view) = parse_record(&record) else {
            tracing::warn!(commit_log_offset = phy, "unreadable timer message dropped");
            return Ok(());
        };
        if self.take_recall(&view) {
            tracing::debug!(commit_log_offset = phy, "recalled timer message dropped");
            return Ok(());
        }
        let Some(msg) = convert(&view, &record, now) else {
            tracing::warn!(
                commit_log_offset = phy,
                "timer message without REAL_TOPIC dropped"
            );
            return Ok(());
        };
        let result = self.store.put_message(msg).await;
        match result.status {
            PutMessageStatus::PutOk
            | PutMessageStatus::FlushDiskTimeout
            | PutMessageStatus::FlushSlaveTimeout
            | PutMessageStatus::SlaveNotAvailable => Ok(()),
            PutMessageStatus::MessageIllegal | PutMessageStatus::PropertiesSizeExceeded => {
                tracing::warn!(commit_log_offset = phy, status = %result.status, "timer message refused by the store, dropped");
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Whether the timer message `view` was recalled; the recall is used up.
    fn take_recall(&self, view: &RecordView<'_>) -> bool {
        let mut state = self.state.lock();
        if state.recalled.is_empty() {
            return false;
        }
        let properties = string_to_properties(&view.properties_lossy());
        recall_key(&properties, property::UNIQ_KEY)
            .is_some_and(|key| state.recalled.remove(&key).is_some())
    }

    /// Writes `config/timercheck` with the proven delivery progress.
    pub fn persist(&self) -> std::io::Result<()> {
        let _guard = self.persist_lock.lock();
        let checkpoint = {
            let mut state = self.state.lock();
            let (offset, time) = state.progress;
            let mut c = state.recovered;
            c.last_read_time_ms = time;
            c.last_timer_queue_offset = offset;
            c.master_timer_queue_offset = offset;
            c.timestamp = now_millis();
            c.counter += 1;
            state.recovered.counter = c.counter;
            c
        };
        checkpoint.persist(&self.path)
    }

    /// Reads and delivers timers until the task is aborted, writing the checkpoint every second.
    pub async fn run(self: Arc<Self>) {
        let mut last_persist = tokio::time::Instant::now();
        loop {
            let read = self.enqueue();
            let delivered = self.dequeue().await;
            if read == 0 && delivered == 0 {
                tokio::time::sleep(IDLE_WAIT).await;
            }
            if last_persist.elapsed() >= FLUSH_INTERVAL {
                last_persist = tokio::time::Instant::now();
                let me = self.clone();
                match tokio::task::spawn_blocking(move || me.persist()).await {
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "persisting the timer checkpoint failed")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "persisting the timer checkpoint panicked")
                    }
                    Ok(Ok(())) => {}
                }
            }
        }
    }
}

/// `REAL_TOPIC+ID` of a timer message, with ID from the property `id` (UNIQ_KEY of a message,
/// TIMER_DEL_UNIQKEY of a recall marker), as RocketMQ keys its timer deletions.
fn recall_key(properties: &Properties, id: &str) -> Option<String> {
    let topic = properties.get(property::REAL_TOPIC)?;
    let id = properties.get(id)?;
    Some(format!("{topic}+{id}"))
}

/// RocketMQ accepts only 100, 200, 500 or 1000 ms (`setTimerPrecisionMs`).
fn normalize_precision(ms: i64) -> i64 {
    const CANDIDATES: [i64; 4] = [100, 200, 500, 1000];
    for pair in CANDIDATES.windows(2) {
        if ms < pair[1] {
            return pair[0];
        }
    }
    1000
}

/// The message to put into the real topic (`convert`/`convertMessage`): same body and
/// properties, plus TIMER_ENQUEUE_MS and TIMER_DEQUEUE_MS, minus REAL_TOPIC/REAL_QID.
fn convert(view: &RecordView<'_>, record: &Bytes, now: i64) -> Option<MessageExtBrokerInner> {
    let mut properties = string_to_properties(&view.properties_lossy());
    let topic = properties.remove(property::REAL_TOPIC)?;
    let queue_id = properties
        .remove(property::REAL_QID)
        .and_then(|q| q.trim().parse().ok())
        .unwrap_or(0);
    properties.insert(property::TIMER_ENQUEUE_MS, view.store_timestamp.to_string());
    properties.insert(property::TIMER_DEQUEUE_MS, now.to_string());
    properties.insert(property::WAIT, "false");
    let mut msg = MessageExtBrokerInner::from_stored(view, record, topic, queue_id, &properties);
    msg.prepared_transaction_offset = 0;
    Some(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        pairs.iter().copied().collect()
    }

    #[test]
    fn due_time_is_never_before_the_request() {
        assert_eq!(
            due_time(
                &props(&[("TIMER_DELIVER_MS", "5000"), ("TIMER_OUT_MS", "4000")]),
                1,
                1000
            ),
            Some(5000)
        );
        assert_eq!(
            due_time(&props(&[("TIMER_DELAY_SEC", "3")]), 1000, 1000),
            Some(4000)
        );
        assert_eq!(
            due_time(&props(&[("TIMER_DELAY_MS", "250")]), 1000, 1000),
            Some(1250)
        );
        assert_eq!(
            due_time(&props(&[("TIMER_OUT_MS", "4000")]), 1, 1000),
            Some(5000)
        );
        assert_eq!(due_time(&props(&[]), 1, 1000), None);
    }

    const POLICY: TimerPolicy = TimerPolicy {
        enable: true,
        precision_ms: 1000,
        max_delay_sec: 3 * 24 * 3600,
    };

    fn msg(pairs: &[(&str, &str)]) -> MessageExtBrokerInner {
        let mut m = MessageExtBrokerInner::new("Orders", 2, &b"x"[..]);
        m.set_properties(&props(pairs));
        m
    }

    #[test]
    fn timer_messages_wait_in_the_wheel_topic() {
        let now = 1_700_000_000_500;
        let mut m = msg(&[("TIMER_DELIVER_MS", "1700000005500"), ("TAGS", "A")]);
        POLICY.transform(&mut m, now).unwrap();
        assert_eq!((m.topic.as_str(), m.queue_id), (TIMER_TOPIC, 0));
        assert_eq!(m.property("REAL_TOPIC"), Some("Orders"));
        assert_eq!(m.property("REAL_QID"), Some("2"));
        assert_eq!(m.property("TIMER_OUT_MS"), Some("1700000005000"));

        // a delivery time on a precision boundary lands in the slot before, as in RocketMQ
        let mut m = msg(&[("TIMER_DELAY_SEC", "5")]);
        POLICY.transform(&mut m, 1_700_000_000_000).unwrap();
        assert_eq!(m.property("TIMER_OUT_MS"), Some("1700000004000"));
    }

    #[test]
    fn timer_edge_cases_follow_rocketmq() {
        let now = 1_700_000_000_000;
        // already due: stored as it is
        let mut m = msg(&[("TIMER_DELIVER_MS", "1600000000000")]);
        POLICY.transform(&mut m, now).unwrap();
        assert_eq!(m.topic, "Orders");
        // a delay level wins and the timer properties go
        let mut m = msg(&[("TIMER_DELAY_SEC", "5"), ("DELAY", "3")]);
        POLICY.transform(&mut m, now).unwrap();
        assert_eq!(
            (m.topic.as_str(), m.property("TIMER_DELAY_SEC")),
            ("Orders", None)
        );
        // too far ahead, malformed, or disabled
        let mut m = msg(&[("TIMER_DELAY_SEC", "300000")]);
        assert_eq!(
            POLICY.transform(&mut m, now),
            Err(PutMessageStatus::WheelTimerMsgIllegal)
        );
        let mut m = msg(&[("TIMER_DELIVER_MS", "soon")]);
        assert_eq!(
            POLICY.transform(&mut m, now),
            Err(PutMessageStatus::WheelTimerMsgIllegal)
        );
        let off = TimerPolicy {
            enable: false,
            ..POLICY
        };
        let mut m = msg(&[("TIMER_DELAY_MS", "100")]);
        assert_eq!(
            off.transform(&mut m, now),
            Err(PutMessageStatus::WheelTimerNotEnable)
        );
        // a message that already went through the wheel is not caught again
        let mut m = msg(&[
            ("TIMER_DELIVER_MS", "1700000005500"),
            ("TIMER_OUT_MS", "1700000005000"),
        ]);
        POLICY.transform(&mut m, now).unwrap();
        assert_eq!(m.topic, "Orders");
    }

    #[test]
    fn precision_snaps_like_rocketmq() {
        assert_eq!(normalize_precision(50), 100);
        assert_eq!(normalize_precision(150), 100);
        assert_eq!(normalize_precision(499), 200);
        assert_eq!(normalize_precision(999), 500);
        assert_eq!(normalize_precision(1000), 1000);
        assert_eq!(normalize_precision(60_000), 1000);
    }
}
