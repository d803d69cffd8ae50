//! SYNC_FLUSH plumbing (RocketMQ `GroupCommitService` requests and `FlushDiskWatcher`).
//!
//! A put that must wait registers a [`GroupCommitRequest`] and awaits a oneshot channel, so no
//! runtime thread blocks. The flush thread completes requests its flushes cover with PUT_OK;
//! the watcher thread completes those still pending at their deadline with FLUSH_DISK_TIMEOUT,
//! even while the flush thread is stuck in a slow fsync. Whichever comes first wins.

use std::collections::VecDeque;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use crate::result::PutMessageStatus;

/// A message arrival to report to the listener once its record is visible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Topic.
    pub topic: String,
    /// Queue id.
    pub queue_id: i32,
    /// Queue max offset after the message.
    pub max_offset: i64,
    /// Tags code.
    pub tags_code: i64,
}

/// A put waiting for the CommitLog to be flushed up to `next_offset`.
#[derive(Debug)]
pub struct GroupCommitRequest {
    /// Offset just past the put's last record.
    pub next_offset: i64,
    /// When the waiter gets FLUSH_DISK_TIMEOUT.
    pub deadline: Instant,
    waiter: Mutex<Option<oneshot::Sender<PutMessageStatus>>>,
    /// Arrivals to report after the flush.
    pub arrivals: Vec<Arrival>,
}

impl GroupCommitRequest {
    /// A request; `waiter` is `None` for messages that do not wait (WAIT=false).
    pub fn new(
        next_offset: i64,
        deadline: Instant,
        waiter: Option<oneshot::Sender<PutMessageStatus>>,
        arrivals: Vec<Arrival>,
    ) -> Self {
        GroupCommitRequest {
            next_offset,
            deadline,
            waiter: Mutex::new(waiter),
            arrivals,
        }
    }

    /// Answers the waiter unless someone already did.
    pub fn complete(&self, status: PutMessageStatus) {
        if let Some(tx) = self.waiter.lock().take() {
            let _ = tx.send(status);
        }
    }

    /// Whether the waiter still waits.
    pub fn is_pending(&self) -> bool {
        self.waiter.lock().is_some()
    }
}

/// Requests handed from put paths to the flush thread.
#[derive(Debug, Default)]
pub struct GroupCommitQueue {
    state: Mutex<QueueState>,
    cv: Condvar,
}

#[derive(Debug, Default)]
struct QueueState {
    requests: Vec<std::sync::Arc<GroupCommitRequest>>,
    stopped: bool,
    /// While the flush thread sleeps: how many queued requests make it worth waking it
    /// (0 when it is not sleeping).
    wake_at: usize,
}

impl GroupCommitQueue {
    /// Queues a request and wakes the flush thread once enough requests wait.
    pub fn submit(&self, req: std::sync::Arc<GroupCommitRequest>) {
        let mut st = self.state.lock();
        st.requests.push(req);
        let wake = st.wake_at > 0 && st.requests.len() >= st.wake_at;
        drop(st);
        // a wake-up per put would cost a futex call and a context switch per message while
        // the flush thread gathers a group
        if wake {
            self.cv.notify_one();
        }
    }

    /// Wakes the flush thread without a request.
    pub fn wakeup(&self) {
        self.cv.notify_one();
    }

    /// Waits up to `timeout` for requests; returns them and whether the queue is stopped.
    pub fn wait_and_take(
        &self,
        timeout: std::time::Duration,
    ) -> (Vec<std::sync::Arc<GroupCommitRequest>>, bool) {
        let mut st = self.state.lock();
        if st.requests.is_empty() && !st.stopped {
            st.wake_at = 1;
            self.cv.wait_for(&mut st, timeout);
            st.wake_at = 0;
        }
        (std::mem::take(&mut st.requests), st.stopped)
    }

    /// Waits until `group` requests are queued or `until` passes, and returns what is queued
    /// (possibly nothing). The flush thread calls this after taking the first requests of a
    /// group, so that senders answered by the previous flush join the next one.
    pub fn gather(
        &self,
        group: usize,
        until: Instant,
    ) -> (Vec<std::sync::Arc<GroupCommitRequest>>, bool) {
        let mut st = self.state.lock();
        if st.requests.len() < group && !st.stopped {
            st.wake_at = group;
            self.cv.wait_until(&mut st, until);
            st.wake_at = 0;
        }
        (std::mem::take(&mut st.requests), st.stopped)
    }

    /// Stops the flush thread loop.
    pub fn stop(&self) {
        self.state.lock().stopped = true;
        self.cv.notify_all();
    }

    /// Takes every queued request (at shutdown).
    pub fn drain(&self) -> Vec<std::sync::Arc<GroupCommitRequest>> {
        std::mem::take(&mut self.state.lock().requests)
    }
}

/// Times out waiting puts (RocketMQ `FlushDiskWatcher`).
#[derive(Debug, Default)]
pub struct FlushDiskWatcher {
    state: Mutex<(VecDeque<std::sync::Arc<GroupCommitRequest>>, bool)>,
    cv: Condvar,
}

impl FlushDiskWatcher {
    /// Watches `req` until it completes or its deadline passes.
    ///
    /// Deadlines come from one constant timeout, so a new request never expires before the
    /// ones already queued: the watcher, asleep until the front's deadline, only needs a
    /// wake-up when the queue was empty. Requests already answered are dropped from the front
    /// here, which keeps the queue short without waking the watcher for every put.
    pub fn add(&self, req: std::sync::Arc<GroupCommitRequest>) {
        let mut st = self.state.lock();
        while st.0.front().is_some_and(|r| !r.is_pending()) {
            st.0.pop_front();
        }
        debug_assert!(
            st.0.back().is_none_or(|last| last.deadline <= req.deadline),
            "flush deadlines must not decrease"
        );
        let was_empty = st.0.is_empty();
        st.0.push_back(req);
        drop(st);
        if was_empty {
            self.cv.notify_one();
        }
    }

    /// The watcher thread body; returns after [`FlushDiskWatcher::stop`].
    pub fn run(&self) {
        let mut st = self.state.lock();
        loop {
            if st.1 {
                return;
            }
            while st.0.front().is_some_and(|r| !r.is_pending()) {
                st.0.pop_front();
            }
            // deadlines come from one constant timeout, so the queue is ordered by deadline
            match st.0.front().map(|r| r.deadline) {
                Some(deadline) if deadline <= Instant::now() => {
                    if let Some(r) = st.0.pop_front() {
                        r.complete(PutMessageStatus::FlushDiskTimeout);
                    }
                }
                Some(deadline) => {
                    self.cv.wait_until(&mut st, deadline);
                }
                None => {
                    self.cv.wait(&mut st);
                }
            }
        }
    }

    /// Ends [`FlushDiskWatcher::run`].
    pub fn stop(&self) {
        self.state.lock().1 = true;
        self.cv.notify_all();
    }
}

/// A stop flag that sleeping service threads wait on.
#[derive(Debug, Default)]
pub struct ServiceSignal {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl ServiceSignal {
    /// Sleeps up to `timeout`; true if the service must stop.
    pub fn wait(&self, timeout: std::time::Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.cv.wait_for(&mut stopped, timeout);
        }
        *stopped
    }

    /// Tells every waiting service to stop.
    pub fn stop(&self) {
        *self.stopped.lock() = true;
        self.cv.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn watcher_times_out_pending_requests_only() {
        let w = Arc::new(FlushDiskWatcher::default());
        let t = {
            let w = w.clone();
            std::thread::spawn(move || w.run())
        };
        let (tx1, rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        let now = Instant::now();
        let r1 = Arc::new(GroupCommitRequest::new(
            1,
            now + Duration::from_millis(30),
            Some(tx1),
            vec![],
        ));
        let r2 = Arc::new(GroupCommitRequest::new(
            2,
            now + Duration::from_millis(30),
            Some(tx2),
            vec![],
        ));
        w.add(r1.clone());
        w.add(r2.clone());
        r1.complete(PutMessageStatus::PutOk);
        assert_eq!(rx1.blocking_recv(), Ok(PutMessageStatus::PutOk));
        assert_eq!(rx2.blocking_recv(), Ok(PutMessageStatus::FlushDiskTimeout));
        assert!(now.elapsed() >= Duration::from_millis(30));
        r2.complete(PutMessageStatus::PutOk); // too late, ignored
        w.stop();
        t.join().unwrap();
    }

    #[test]
    fn queue_hands_over_requests_and_stops() {
        let q = GroupCommitQueue::default();
        let (reqs, stopped) = q.wait_and_take(Duration::from_millis(1));
        assert!(reqs.is_empty() && !stopped);
        q.submit(Arc::new(GroupCommitRequest::new(
            5,
            Instant::now(),
            None,
            vec![],
        )));
        let (reqs, _) = q.wait_and_take(Duration::from_secs(5));
        assert_eq!(reqs.len(), 1);
        q.stop();
        assert!(q.wait_and_take(Duration::from_secs(5)).1);
        let s = ServiceSignal::default();
        assert!(!s.wait(Duration::from_millis(1)));
        s.stop();
        assert!(s.wait(Duration::from_secs(5)));
    }

    #[test]
    fn watcher_queue_drops_answered_requests_on_add() {
        let w = FlushDiskWatcher::default();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut answered = Vec::new();
        for offset in 0..100 {
            let (tx, rx) = oneshot::channel();
            let r = Arc::new(GroupCommitRequest::new(offset, deadline, Some(tx), vec![]));
            w.add(r.clone());
            r.complete(PutMessageStatus::PutOk);
            answered.push(rx);
        }
        // only the last one is still queued: every add dropped the answered ones before it
        assert_eq!(w.state.lock().0.len(), 1);
        assert!(answered
            .into_iter()
            .all(|mut rx| rx.try_recv() == Ok(PutMessageStatus::PutOk)));
    }

    #[test]
    fn gather_returns_once_the_group_is_queued_or_at_the_deadline() {
        let q = Arc::new(GroupCommitQueue::default());
        let req = || Arc::new(GroupCommitRequest::new(1, Instant::now(), None, vec![]));
        // nothing arrives: back at the deadline with nothing
        let (reqs, stopped) = q.gather(2, Instant::now() + Duration::from_millis(5));
        assert!(reqs.is_empty() && !stopped);
        // the second request of a group of two wakes the gathering thread
        let submitter = {
            let q = q.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                q.submit(req());
                q.submit(req());
            })
        };
        let (reqs, _) = q.gather(2, Instant::now() + Duration::from_secs(30));
        submitter.join().unwrap();
        let mut got = reqs.len();
        while got < 2 {
            got += q.wait_and_take(Duration::from_secs(5)).0.len();
        }
        assert_eq!(got, 2);
        q.stop();
        assert!(q.gather(5, Instant::now() + Duration::from_secs(30)).1);
    }
}
