//! Background flush threads (RocketMQ `FlushRealTimeService`, `GroupCommitService`,
//! `FlushConsumeQueueService`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::default_message_store::StoreInner;
use crate::group_commit::GroupCommitRequest;
use crate::result::PutMessageStatus;

/// How often the group commit thread wakes without requests.
const GROUP_COMMIT_INTERVAL: Duration = Duration::from_millis(10);

/// ASYNC_FLUSH: every `flushIntervalCommitLog` flush once `flushCommitLogLeastPages` pages
/// are dirty, and everything every `flushCommitLogThoroughInterval`.
pub(crate) fn flush_real_time(inner: &Arc<StoreInner>) {
    let interval = Duration::from_millis(inner.config.flush_interval_commit_log.max(1));
    let thorough = Duration::from_millis(inner.config.flush_commit_log_thorough_interval);
    let mut last_thorough = Instant::now();
    loop {
        if inner.signal.wait(interval) {
            return;
        }
        let least = if last_thorough.elapsed() >= thorough {
            last_thorough = Instant::now();
            0
        } else {
            inner.config.flush_commit_log_least_pages
        };
        if let Err(e) = inner.flush_commit_log(least) {
            tracing::error!(error = %e, "commit log flush failed");
            inner.mark_not_writeable("commit log flush failed");
        }
    }
}

/// Bounds of the time the flush thread waits for a group to gather after its first request.
const GATHER_MIN: Duration = Duration::from_micros(100);
const GATHER_MAX: Duration = Duration::from_millis(2);

/// SYNC_FLUSH: flush whatever is written, then complete every request the flush covers.
///
/// Group commit: when the previous flush answered several requests, their senders are likely
/// to send again as soon as they are answered, so after the first request the thread waits
/// for as many requests as the previous flush answered, but no longer than that flush took
/// (within `GATHER_MIN..=GATHER_MAX`). Concurrent senders then share one `msync` instead of
/// each flush covering the few requests that happened to arrive during the previous one; a
/// lone sender (a previous group of one) is flushed at once.
pub(crate) fn group_commit(inner: &Arc<StoreInner>) {
    let mut pending: Vec<Arc<GroupCommitRequest>> = Vec::new();
    let mut last_group = 0usize;
    let mut last_flush = Duration::ZERO;
    loop {
        let (reqs, mut stopped) = inner.group_commit.wait_and_take(GROUP_COMMIT_INTERVAL);
        pending.extend(reqs);
        if !stopped && !pending.is_empty() && pending.len() < last_group {
            let until = Instant::now() + last_flush.clamp(GATHER_MIN, GATHER_MAX);
            let (more, s) = inner.group_commit.gather(last_group - pending.len(), until);
            pending.extend(more);
            stopped = s;
        }
        let started = Instant::now();
        match inner.flush_commit_log(0) {
            Ok(_) => {
                let flushed = inner.commit_log.flushed_where();
                let before = pending.len();
                pending.retain(|req| {
                    if req.next_offset > flushed {
                        return true;
                    }
                    req.complete(PutMessageStatus::PutOk);
                    for a in &req.arrivals {
                        inner.notify_arrival(&a.topic, a.queue_id, a.max_offset, a.tags_code);
                    }
                    false
                });
                if before > 0 {
                    last_group = before - pending.len();
                    last_flush = started.elapsed();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "commit log flush failed");
                inner.mark_not_writeable("commit log flush failed");
            }
        }
        if stopped {
            // shutdown completes whatever is left after its final flush
            for req in pending.drain(..) {
                inner.group_commit.submit(req);
            }
            return;
        }
    }
}

/// Flush ConsumeQueues every `flushIntervalConsumeQueue` (least pages), fully and with a
/// checkpoint every `flushConsumeQueueThoroughInterval`.
pub(crate) fn flush_consume_queue(inner: &Arc<StoreInner>) {
    let interval = Duration::from_millis(inner.config.flush_interval_consume_queue.max(1));
    let thorough = Duration::from_millis(inner.config.flush_consume_queue_thorough_interval);
    let mut last_thorough = Instant::now();
    loop {
        if inner.signal.wait(interval) {
            return;
        }
        let least = if last_thorough.elapsed() >= thorough {
            last_thorough = Instant::now();
            0
        } else {
            inner.config.flush_consume_queue_least_pages
        };
        inner.flush_consume_queues(least);
    }
}
