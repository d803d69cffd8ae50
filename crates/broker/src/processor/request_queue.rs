//! Bounded request queues in front of the processors, and fast failure (RocketMQ's per-processor
//! thread pools with `*ThreadPoolQueueCapacity` and its `BrokerFastFailure`).
//!
//! Every request code belongs to one queue, as in RocketMQ's `registerProcessor` table. A queue
//! holds at most its capacity; a request arriving at a full queue is answered SYSTEM_BUSY with
//! RocketMQ's `[OVERLOAD]` remark. Sends, pulls, lite pulls, heartbeats and transaction ends are
//! processed by at most their pool's `*ThreadPoolNums` at once; one that waited for its turn
//! longer than its queue's `waitTimeMillsIn*Queue` is answered SYSTEM_BUSY `[TIMEOUT_CLEAN_QUEUE]`
//! (when `brokerFastFailureEnable`) instead of being processed after its client gave up. While
//! the page cache is busy (an append held the put lock longer than `osPageCacheBusyTimeOutMills`)
//! waiting sends are answered `[PCBUSY_CLEAN_QUEUE]` and arriving ones `[REJECTREQUEST]`.
//! RocketMQ's clients back off and retry on all of them. A pull stays counted in its queue
//! while it is parked for long polling (so the queue also caps parked polls), but gives its
//! worker back when it parks ([`release_worker`]), as RocketMQ's pull threads return once a pull
//! is suspended.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::OVERLOAD_REMARK;
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::broker_config::RequestQueueConfig;

/// RocketMQ's answer to a send arriving while the page cache is busy.
pub const REJECT_REQUEST_REMARK: &str =
    "[REJECTREQUEST]system busy, start flow control for a while";

/// How often a waiting send looks at the page cache (RocketMQ's cleaner runs every 10 ms).
const PAGE_CACHE_CHECK_INTERVAL: Duration = Duration::from_millis(10);

/// The queue a request waits in, named after RocketMQ's thread pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    Send,
    Pull,
    LitePull,
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
            | rq::CONSUMER_SEND_MSG_BACK
            | rq::RECALL_MESSAGE => QueueKind::Send,
            rq::PULL_MESSAGE | rq::POP_MESSAGE | rq::PEEK_MESSAGE | rq::NOTIFICATION => {
                QueueKind::Pull
            }
            rq::LITE_PULL_MESSAGE => QueueKind::LitePull,
            rq::QUERY_MESSAGE | rq::VIEW_MESSAGE_BY_ID => QueueKind::Query,
            rq::HEART_BEAT => QueueKind::Heartbeat,
            rq::UNREGISTER_CLIENT
            | rq::CHECK_CLIENT_CONFIG
            | rq::QUERY_ASSIGNMENT
            | rq::SET_MESSAGE_REQUEST_MODE => QueueKind::ClientManager,
            rq::GET_CONSUMER_LIST_BY_GROUP
            | rq::QUERY_CONSUMER_OFFSET
            | rq::UPDATE_CONSUMER_OFFSET
            | rq::ACK_MESSAGE
            | rq::BATCH_ACK_MESSAGE
            | rq::CHANGE_MESSAGE_INVISIBLETIME
            | rq::POLLING_INFO => QueueKind::ConsumerManager,
            rq::END_TRANSACTION => QueueKind::EndTransaction,
            _ => QueueKind::Admin,
        }
    }

    const ALL: [QueueKind; 9] = [
        QueueKind::Send,
        QueueKind::Pull,
        QueueKind::LitePull,
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
            QueueKind::LitePull => c.lite_pull_thread_pool_queue_capacity,
            QueueKind::Query => c.query_thread_pool_queue_capacity,
            QueueKind::ClientManager => c.client_manager_thread_pool_queue_capacity,
            QueueKind::ConsumerManager => c.consumer_manager_thread_pool_queue_capacity,
            QueueKind::Heartbeat => c.heartbeat_thread_pool_queue_capacity,
            QueueKind::EndTransaction => c.end_transaction_pool_queue_capacity,
            QueueKind::Admin => c.admin_broker_thread_pool_queue_capacity,
        }
    }

    /// Workers of the queues RocketMQ's fast failure cleans, and the longest wait for one.
    fn workers(self, c: &RequestQueueConfig) -> Option<(usize, u64)> {
        match self {
            QueueKind::Send => Some((
                c.send_message_thread_pool_nums,
                c.wait_time_mills_in_send_queue,
            )),
            QueueKind::Pull => Some((
                c.pull_message_thread_pool_nums,
                c.wait_time_mills_in_pull_queue,
            )),
            QueueKind::LitePull => Some((
                c.lite_pull_message_thread_pool_nums,
                c.wait_time_mills_in_lite_pull_queue,
            )),
            QueueKind::Heartbeat => Some((
                c.heartbeat_thread_pool_nums,
                c.wait_time_mills_in_heartbeat_queue,
            )),
            QueueKind::EndTransaction => Some((
                c.end_transaction_thread_pool_nums,
                c.wait_time_mills_in_transaction_queue,
            )),
            _ => None,
        }
    }

    /// Pulls stay counted while they run (and are parked): the queue caps parked polls.
    fn counted_while_running(self) -> bool {
        matches!(self, QueueKind::Pull | QueueKind::LitePull)
    }
}

struct Workers {
    permits: Arc<Semaphore>,
    max_wait: Duration,
}

struct RequestQueue {
    kind: QueueKind,
    capacity: usize,
    /// Requests counted against `capacity`: waiting for a worker (and, for pulls, running),
    /// else every request admitted and not finished.
    depth: Arc<AtomicUsize>,
    /// Requests processed at once: the rest wait, and may time out.
    workers: Option<Workers>,
}

type WorkerSlot = Arc<Mutex<Option<OwnedSemaphorePermit>>>;

tokio::task_local! {
    /// The worker of the request the current task processes.
    static WORKER: WorkerSlot;
}

/// Gives the current request's worker back to its queue (a pull parking for long polling):
/// the next request waiting in that queue may run. Nothing outside an admitted request.
pub fn release_worker() {
    let _ = WORKER.try_with(|w| w.lock().take());
}

/// A request's place in its queue; dropping it frees the place (and the worker).
pub struct Admitted {
    depth: Option<Arc<AtomicUsize>>,
    worker: WorkerSlot,
}

impl Admitted {
    /// Runs `processing` with the request's worker reachable by [`release_worker`].
    pub async fn scope<F: std::future::Future>(&self, processing: F) -> F::Output {
        WORKER.scope(self.worker.clone(), processing).await
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(depth) = self.depth.take() {
            depth.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

type PageCacheProbe = Box<dyn Fn() -> bool + Send + Sync>;

/// The broker's request queues.
pub struct RequestQueues {
    queues: Vec<RequestQueue>,
    fast_failure: bool,
    /// Whether the store's page cache is busy (`isOSPageCacheBusy`); unset: never.
    page_cache_busy: OnceLock<PageCacheProbe>,
}

impl RequestQueues {
    /// Queues sized by `config`.
    pub fn new(config: &RequestQueueConfig) -> Self {
        let queues = QueueKind::ALL
            .iter()
            .map(|&kind| RequestQueue {
                kind,
                capacity: kind.capacity(config).max(1),
                depth: Arc::new(AtomicUsize::new(0)),
                workers: kind.workers(config).map(|(n, wait_ms)| Workers {
                    permits: Arc::new(Semaphore::new(n.max(1))),
                    max_wait: Duration::from_millis(wait_ms),
                }),
            })
            .collect();
        RequestQueues {
            queues,
            fast_failure: config.broker_fast_failure_enable,
            page_cache_busy: OnceLock::new(),
        }
    }

    /// Sets how to tell whether the page cache is busy (the store's `is_os_page_cache_busy`).
    pub fn set_page_cache_probe(&self, probe: impl Fn() -> bool + Send + Sync + 'static) {
        let _ = self.page_cache_busy.set(Box::new(probe));
    }

    fn page_cache_busy(&self) -> bool {
        self.page_cache_busy.get().is_some_and(|busy| busy())
    }

    fn queue(&self, kind: QueueKind) -> &RequestQueue {
        let i = QueueKind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
        &self.queues[i]
    }

    /// Requests of `kind` currently counted against its capacity.
    pub fn depth(&self, kind: QueueKind) -> usize {
        self.queue(kind).depth.load(Ordering::Acquire)
    }

    /// Takes a place for `request` in its queue and waits for a worker; the SYSTEM_BUSY answer
    /// RocketMQ gives when the queue is full, the wait was too long or the page cache is busy.
    pub async fn admit(&self, request: &RemotingCommand) -> Result<Admitted, RemotingCommand> {
        let queue = self.queue(QueueKind::of(request.code));
        let busy =
            |remark: String| RemotingCommand::error_to(request, response::SYSTEM_BUSY, remark);
        if queue.kind == QueueKind::Send && self.page_cache_busy() {
            return Err(busy(REJECT_REQUEST_REMARK.into()));
        }
        let taken = queue
            .depth
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                (d < queue.capacity).then_some(d + 1)
            });
        if taken.is_err() {
            return Err(busy(OVERLOAD_REMARK.into()));
        }
        let mut admitted = Admitted {
            depth: Some(queue.depth.clone()),
            worker: Arc::new(Mutex::new(None)),
        };
        let Some(workers) = &queue.workers else {
            return Ok(admitted);
        };
        // a free worker is the common case: taking it at once spares the wait its timer, whose
        // registration costs a wake-up of the runtime's driver per request
        let permit = match workers.permits.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let acquire = workers.permits.clone().acquire_owned();
                if self.fast_failure {
                    self.wait_for_worker(queue, workers, acquire)
                        .await
                        .map_err(busy)?
                } else {
                    acquire.await.ok()
                }
            }
        };
        if !queue.kind.counted_while_running() {
            // the request runs now: its place in the queue is free for the next one
            if let Some(depth) = admitted.depth.take() {
                depth.fetch_sub(1, Ordering::AcqRel);
            }
        }
        *admitted.worker.lock() = permit;
        Ok(admitted)
    }

    /// Waits for a worker, giving up (with RocketMQ's remark) after the queue's longest wait,
    /// or, for sends, as soon as the page cache is busy.
    async fn wait_for_worker(
        &self,
        queue: &RequestQueue,
        workers: &Workers,
        acquire: impl std::future::Future<
            Output = Result<OwnedSemaphorePermit, tokio::sync::AcquireError>,
        >,
    ) -> Result<Option<OwnedSemaphorePermit>, String> {
        let queued_at = Instant::now();
        let deadline = tokio::time::Instant::now() + workers.max_wait;
        let watch_page_cache =
            queue.kind == QueueKind::Send && self.page_cache_busy.get().is_some();
        tokio::pin!(acquire);
        loop {
            let tick = if watch_page_cache {
                (tokio::time::Instant::now() + PAGE_CACHE_CHECK_INTERVAL).min(deadline)
            } else {
                deadline
            };
            tokio::select! {
                permit = &mut acquire => return Ok(permit.ok()),
                _ = tokio::time::sleep_until(tick) => {}
            }
            let waited = queued_at.elapsed().as_millis();
            let size = queue.depth.load(Ordering::Acquire).saturating_sub(1);
            let tag = if watch_page_cache && self.page_cache_busy() {
                "PCBUSY_CLEAN_QUEUE"
            } else if tokio::time::Instant::now() >= deadline {
                "TIMEOUT_CLEAN_QUEUE"
            } else {
                continue;
            };
            return Err(format!(
                "[{tag}]broker busy, start flow control for a while, period in queue: \
                 {waited}ms, size of queue: {size}"
            ));
        }
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

    fn one_worker_each(wait_ms: u64) -> RequestQueueConfig {
        RequestQueueConfig {
            pull_message_thread_pool_nums: 1,
            lite_pull_message_thread_pool_nums: 1,
            heartbeat_thread_pool_nums: 1,
            end_transaction_thread_pool_nums: 1,
            wait_time_mills_in_pull_queue: wait_ms,
            wait_time_mills_in_lite_pull_queue: wait_ms,
            wait_time_mills_in_heartbeat_queue: wait_ms,
            wait_time_mills_in_transaction_queue: wait_ms,
            ..RequestQueueConfig::default()
        }
    }

    #[tokio::test]
    async fn pulls_heartbeats_and_transaction_ends_that_waited_too_long_are_cleaned() {
        let queues = RequestQueues::new(&one_worker_each(50));
        for code in [
            rq::PULL_MESSAGE,
            rq::LITE_PULL_MESSAGE,
            rq::HEART_BEAT,
            rq::END_TRANSACTION,
        ] {
            let request = RemotingCommand::request(code);
            let running = queues.admit(&request).await.ok().unwrap();
            let late = queues.admit(&request).await.err().unwrap();
            assert_eq!(late.code, response::SYSTEM_BUSY, "{code}");
            let remark = late.remark.unwrap();
            assert!(
                remark.starts_with("[TIMEOUT_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "),
                "{code}: {remark}"
            );
            drop(running);
            assert!(queues.admit(&request).await.is_ok(), "{code}");
        }
        // without fast failure a request waits as long as it takes
        let patient = Arc::new(RequestQueues::new(&RequestQueueConfig {
            broker_fast_failure_enable: false,
            ..one_worker_each(10)
        }));
        let hb = RemotingCommand::request(rq::HEART_BEAT);
        let running = patient.admit(&hb).await.ok().unwrap();
        let q = patient.clone();
        let waiting = tokio::spawn(async move {
            q.admit(&RemotingCommand::request(rq::HEART_BEAT))
                .await
                .is_ok()
        });
        tokio::time::sleep(Duration::from_millis(60)).await;
        drop(running);
        assert!(waiting.await.unwrap());
    }

    #[tokio::test]
    async fn a_parked_pull_gives_its_worker_back_and_stays_counted() {
        let queues = RequestQueues::new(&one_worker_each(50));
        let pull = RemotingCommand::request(rq::PULL_MESSAGE);
        let parked = queues.admit(&pull).await.ok().unwrap();
        parked.scope(async { release_worker() }).await;
        let next = queues.admit(&pull).await.ok().unwrap();
        assert_eq!(
            queues.depth(QueueKind::Pull),
            2,
            "parked pulls count against the capacity"
        );
        drop((parked, next));
        assert_eq!(queues.depth(QueueKind::Pull), 0);
        // outside a request it does nothing
        release_worker();
    }

    #[tokio::test]
    async fn sends_are_cleaned_and_rejected_while_the_page_cache_is_busy() {
        use std::sync::atomic::AtomicBool;
        let queues = Arc::new(RequestQueues::new(&config(1, 10, 60_000)));
        let busy = Arc::new(AtomicBool::new(false));
        let b = busy.clone();
        queues.set_page_cache_probe(move || b.load(Ordering::Acquire));
        let send = RemotingCommand::request(rq::SEND_MESSAGE_V2);
        let running = queues.admit(&send).await.ok().unwrap();
        let q = queues.clone();
        let waiting = tokio::spawn(async move {
            q.admit(&RemotingCommand::request(rq::SEND_MESSAGE_V2))
                .await
                .err()
        });
        while queues.depth(QueueKind::Send) == 0 {
            tokio::task::yield_now().await;
        }
        busy.store(true, Ordering::Release);
        let cleaned = waiting.await.unwrap().unwrap();
        assert_eq!(cleaned.code, response::SYSTEM_BUSY);
        let remark = cleaned.remark.unwrap();
        assert!(
            remark.starts_with("[PCBUSY_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "),
            "{remark}"
        );
        let rejected = queues.admit(&send).await.err().unwrap();
        assert_eq!(rejected.code, response::SYSTEM_BUSY);
        assert_eq!(rejected.remark.as_deref(), Some(REJECT_REQUEST_REMARK));
        // pulls are not sends
        assert!(queues
            .admit(&RemotingCommand::request(rq::PULL_MESSAGE))
            .await
            .is_ok());
        busy.store(false, Ordering::Release);
        drop(running);
        assert!(queues.admit(&send).await.is_ok());
    }
}
