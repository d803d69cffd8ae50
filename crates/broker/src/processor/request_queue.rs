//! Bounded request queues in front of the processors, and fast failure (RocketMQ's per-processor
//! thread pools with `*ThreadPoolQueueCapacity` and its `BrokerFastFailure`).
//!
//! Every request code belongs to one queue, as in RocketMQ's `registerProcessor` table. A queue
//! holds at most its capacity; a request arriving at a full queue is answered SYSTEM_BUSY with
//! RocketMQ's `[OVERLOAD]` remark. Sends are processed by at most `sendMessageThreadPoolNums`
//! at once; a send that waited for its turn longer than `waitTimeMillsInSendQueue` is answered
//! SYSTEM_BUSY `[TIMEOUT_CLEAN_QUEUE]` (when `brokerFastFailureEnable`) instead of being
//! processed after its client gave up. RocketMQ's clients back off and retry on both. A pull
//! stays counted while it is parked for long polling, so the pull queue also caps parked polls.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::OVERLOAD_REMARK;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::broker_config::RequestQueueConfig;

/// The queue a request waits in, named after RocketMQ's thread pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    Send,
    Pull,
    Query,
    ClientManager,
    ConsumerManager,
    Heartbeat,
    EndTransaction,
    Admin,
}

impl QueueKind {
    /// The queue of a request code (RocketMQ's processor registration).
    pub fn of(code: i32) -> QueueKind {
        match code {
            rq::SEND_MESSAGE
            | rq::SEND_MESSAGE_V2
            | rq::SEND_BATCH_MESSAGE
            | rq::CONSUMER_SEND_MSG_BACK => QueueKind::Send,
            rq::PULL_MESSAGE | rq::LITE_PULL_MESSAGE => QueueKind::Pull,
            rq::QUERY_MESSAGE | rq::VIEW_MESSAGE_BY_ID => QueueKind::Query,
            rq::HEART_BEAT => QueueKind::Heartbeat,
            rq::UNREGISTER_CLIENT | rq::CHECK_CLIENT_CONFIG => QueueKind::ClientManager,
            rq::GET_CONSUMER_LIST_BY_GROUP
            | rq::QUERY_CONSUMER_OFFSET
            | rq::UPDATE_CONSUMER_OFFSET => QueueKind::ConsumerManager,
            rq::END_TRANSACTION => QueueKind::EndTransaction,
            _ => QueueKind::Admin,
        }
    }

    const ALL: [QueueKind; 8] = [
        QueueKind::Send,
        QueueKind::Pull,
        QueueKind::Query,
        QueueKind::ClientManager,
        QueueKind::ConsumerManager,
        QueueKind::Heartbeat,
        QueueKind::EndTransaction,
        QueueKind::Admin,
    ];

    fn capacity(self, c: &RequestQueueConfig) -> usize {
        match self {
            QueueKind::Send => c.send_thread_pool_queue_capacity,
            QueueKind::Pull => c.pull_thread_pool_queue_capacity,
            QueueKind::Query => c.query_thread_pool_queue_capacity,
            QueueKind::ClientManager => c.client_manager_thread_pool_queue_capacity,
            QueueKind::ConsumerManager => c.consumer_manager_thread_pool_queue_capacity,
            QueueKind::Heartbeat => c.heartbeat_thread_pool_queue_capacity,
            QueueKind::EndTransaction => c.end_transaction_pool_queue_capacity,
            QueueKind::Admin => c.admin_broker_thread_pool_queue_capacity,
        }
    }
}

struct RequestQueue {
    capacity: usize,
    /// Requests counted against `capacity`: waiting for a worker where the queue has workers,
    /// else every request admitted and not finished.
    depth: Arc<AtomicUsize>,
    /// Requests processed at once (sends only): the rest wait, and may time out.
    workers: Option<Arc<Semaphore>>,
}

/// A request's place in its queue; dropping it frees the place (and the worker).
pub struct Admitted {
    depth: Option<Arc<AtomicUsize>>,
    _worker: Option<OwnedSemaphorePermit>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(depth) = self.depth.take() {
            depth.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The broker's request queues.
pub struct RequestQueues {
    queues: Vec<(QueueKind, RequestQueue)>,
    fast_failure: bool,
    wait_in_send_queue: Duration,
}

impl RequestQueues {
    /// Queues sized by `config`.
    pub fn new(config: &RequestQueueConfig) -> Self {
        let queues = QueueKind::ALL
            .iter()
            .map(|&kind| {
                let workers = (kind == QueueKind::Send)
                    .then(|| Arc::new(Semaphore::new(config.send_message_thread_pool_nums.max(1))));
                let queue = RequestQueue {
                    capacity: kind.capacity(config).max(1),
                    depth: Arc::new(AtomicUsize::new(0)),
                    workers,
                };
                (kind, queue)
            })
            .collect();
        RequestQueues {
            queues,
            fast_failure: config.broker_fast_failure_enable,
            wait_in_send_queue: Duration::from_millis(config.wait_time_mills_in_send_queue),
        }
    }

    fn queue(&self, kind: QueueKind) -> &RequestQueue {
        let i = QueueKind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
        &self.queues[i].1
    }

    /// Requests of `kind` currently counted against its capacity.
    pub fn depth(&self, kind: QueueKind) -> usize {
        self.queue(kind).depth.load(Ordering::Acquire)
    }

    /// Takes a place for `request` in its queue and waits for a worker; the SYSTEM_BUSY answer
    /// RocketMQ gives when the queue is full or the wait was too long.
    pub async fn admit(&self, request: &RemotingCommand) -> Result<Admitted, RemotingCommand> {
        let queue = self.queue(QueueKind::of(request.code));
        let taken = queue
            .depth
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                (d < queue.capacity).then_some(d + 1)
            });
        if taken.is_err() {
            return Err(RemotingCommand::error_to(
                request,
                response::SYSTEM_BUSY,
                OVERLOAD_REMARK,
            ));
        }
        let mut admitted = Admitted {
            depth: Some(queue.depth.clone()),
            _worker: None,
        };
        let Some(workers) = &queue.workers else {
            return Ok(admitted);
        };
        let queued_at = Instant::now();
        let acquire = workers.clone().acquire_owned();
        let permit = if self.fast_failure {
            match tokio::time::timeout(self.wait_in_send_queue, acquire).await {
                Ok(p) => p,
                Err(_) => {
                    let size = queue.depth.load(Ordering::Acquire).saturating_sub(1);
                    return Err(RemotingCommand::error_to(
                        request,
                        response::SYSTEM_BUSY,
                        format!(
                            "[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, \
                             period in queue: {}ms, size of queue: {size}",
                            queued_at.elapsed().as_millis()
                        ),
                    ));
                }
            }
        } else {
            acquire.await
        };
        // the send runs now: its place in the queue is free for the next one
        if let Some(depth) = admitted.depth.take() {
            depth.fetch_sub(1, Ordering::AcqRel);
        }
        admitted._worker = permit.ok();
        Ok(admitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(workers: usize, capacity: usize, wait_ms: u64) -> RequestQueueConfig {
        RequestQueueConfig {
            send_message_thread_pool_nums: workers,
            send_thread_pool_queue_capacity: capacity,
            pull_thread_pool_queue_capacity: 2,
            wait_time_mills_in_send_queue: wait_ms,
            ..RequestQueueConfig::default()
        }
    }

    #[tokio::test]
    async fn a_full_pull_queue_answers_overload_until_a_place_frees() {
        let queues = RequestQueues::new(&config(1, 10, 200));
        let pull = RemotingCommand::request(rq::PULL_MESSAGE);
        let a = queues.admit(&pull).await.ok().unwrap();
        let _b = queues.admit(&pull).await.ok().unwrap();
        let busy = queues.admit(&pull).await.err().unwrap();
        assert_eq!(busy.code, response::SYSTEM_BUSY);
        assert_eq!(busy.remark.as_deref(), Some(OVERLOAD_REMARK));
        drop(a);
        assert!(queues.admit(&pull).await.is_ok());
        // other queues are not affected
        assert!(queues
            .admit(&RemotingCommand::request(rq::HEART_BEAT))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_send_waiting_longer_than_allowed_is_cleaned_from_the_queue() {
        let queues = RequestQueues::new(&config(1, 10, 50));
        let send = RemotingCommand::request(rq::SEND_MESSAGE_V2);
        let running = queues.admit(&send).await.ok().unwrap();
        assert_eq!(
            queues.depth(QueueKind::Send),
            0,
            "a running send is not queued"
        );
        let late = queues.admit(&send).await.err().unwrap();
        assert_eq!(late.code, response::SYSTEM_BUSY);
        let remark = late.remark.unwrap();
        assert!(
            remark.starts_with("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "),
            "{remark}"
        );
        assert_eq!(queues.depth(QueueKind::Send), 0);
        drop(running);
        assert!(queues.admit(&send).await.is_ok());
    }

    #[tokio::test]
    async fn a_full_send_queue_answers_overload() {
        let queues = Arc::new(RequestQueues::new(&config(1, 1, 60_000)));
        let send = RemotingCommand::request(rq::SEND_MESSAGE);
        let _running = queues.admit(&send).await.ok().unwrap();
        let q = queues.clone();
        let waiting = tokio::spawn(async move {
            q.admit(&RemotingCommand::request(rq::SEND_MESSAGE))
                .await
                .is_ok()
        });
        while queues.depth(QueueKind::Send) == 0 {
            tokio::task::yield_now().await;
        }
        let busy = queues.admit(&send).await.err().unwrap();
        assert_eq!(busy.remark.as_deref(), Some(OVERLOAD_REMARK));
        waiting.abort();
    }
}
