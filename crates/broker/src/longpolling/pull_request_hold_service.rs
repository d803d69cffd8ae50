//! `PullRequestHoldService`: parks pull requests per `topic@queueId` and wakes them when the
//! store dispatches a matching message (`NotifyMessageArrivingListener`).
//!
//! Each parked pull owns a [`HoldTicket`]; waking stores a permit in the ticket's `Notify`, so a
//! message that arrives between registration and the first poll is never missed.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

struct Waiter {
    id: u64,
    /// Tag codes that wake this pull; `None` wakes on any message.
    codes: Option<Arc<BTreeSet<i32>>>,
    notify: Arc<Notify>,
}

/// Parked pull requests by topic and queue.
#[derive(Default)]
pub struct PullRequestHoldService {
    waiters: Mutex<HashMap<String, HashMap<i32, Vec<Waiter>>>>,
    parked: AtomicUsize,
    next_id: AtomicU64,
}

/// A parked pull; dropping it unparks.
pub struct HoldTicket<'a> {
    service: &'a PullRequestHoldService,
    topic: String,
    queue_id: i32,
    id: u64,
    notify: Arc<Notify>,
}

impl HoldTicket<'_> {
    /// Resolves once a matching message arrived (immediately if one already did).
    pub async fn notified(&self) {
        self.notify.notified().await
    }
}

impl Drop for HoldTicket<'_> {
    fn drop(&mut self) {
        self.service.unpark(&self.topic, self.queue_id, self.id);
    }
}

impl PullRequestHoldService {
    /// An empty service.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parks a pull on `topic@queue_id`, woken by messages whose tag code is in `codes`
    /// (`None`: any message).
    pub fn suspend_pull_request(
        &self,
        topic: &str,
        queue_id: i32,
        codes: Option<Arc<BTreeSet<i32>>>,
    ) -> HoldTicket<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let notify = Arc::new(Notify::new());
        self.waiters
            .lock()
            .entry(topic.to_string())
            .or_default()
            .entry(queue_id)
            .or_default()
            .push(Waiter {
                id,
                codes,
                notify: notify.clone(),
            });
        self.parked.fetch_add(1, Ordering::AcqRel);
        HoldTicket {
            service: self,
            topic: topic.to_string(),
            queue_id,
            id,
            notify,
        }
    }

    /// A message was dispatched to `topic@queue_id`: wakes the pulls it matches. `tags_code` of
    /// `None` wakes every pull on the queue. Cheap when nothing is parked.
    pub fn notify_message_arriving(&self, topic: &str, queue_id: i32, tags_code: Option<i64>) {
        if self.parked.load(Ordering::Acquire) == 0 {
            return;
        }
        let waiters = self.waiters.lock();
        let Some(queue) = waiters.get(topic).and_then(|q| q.get(&queue_id)) else {
            return;
        };
        for w in queue {
            let matched = match (&w.codes, tags_code) {
                (None, _) | (_, None) => true,
                (Some(codes), Some(code)) => codes.contains(&(code as i32)),
            };
            if matched {
                w.notify.notify_one();
            }
        }
    }

    /// Wakes every parked pull (shutdown).
    pub fn wake_all(&self) {
        for queues in self.waiters.lock().values() {
            for w in queues.values().flatten() {
                w.notify.notify_one();
            }
        }
    }

    /// Number of parked pulls.
    pub fn parked(&self) -> usize {
        self.parked.load(Ordering::Acquire)
    }

    fn unpark(&self, topic: &str, queue_id: i32, id: u64) {
        let mut waiters = self.waiters.lock();
        let Some(queues) = waiters.get_mut(topic) else {
            return;
        };
        if let Some(list) = queues.get_mut(&queue_id) {
            if let Some(i) = list.iter().position(|w| w.id == id) {
                list.swap_remove(i);
                self.parked.fetch_sub(1, Ordering::AcqRel);
            }
            if list.is_empty() {
                queues.remove(&queue_id);
            }
        }
        if queues.is_empty() {
            waiters.remove(topic);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn wakes_matching_pulls_only() {
        let s = PullRequestHoldService::new();
        let tag_a = Arc::new([2598919].into_iter().collect::<BTreeSet<i32>>());
        let a = s.suspend_pull_request("T", 0, Some(tag_a));
        let any = s.suspend_pull_request("T", 0, None);
        let other_queue = s.suspend_pull_request("T", 1, None);
        assert_eq!(s.parked(), 3);
        s.notify_message_arriving("T", 0, Some(2598920));
        let quick = Duration::from_millis(50);
        assert!(tokio::time::timeout(quick, any.notified()).await.is_ok());
        assert!(tokio::time::timeout(quick, a.notified()).await.is_err());
        assert!(tokio::time::timeout(quick, other_queue.notified())
            .await
            .is_err());
        s.notify_message_arriving("T", 0, Some(2598919));
        assert!(tokio::time::timeout(quick, a.notified()).await.is_ok());
        drop((a, any, other_queue));
        assert_eq!(s.parked(), 0);
        assert!(s.waiters.lock().is_empty());
    }

    #[tokio::test]
    async fn a_wake_before_waiting_is_kept() {
        let s = PullRequestHoldService::new();
        let t = s.suspend_pull_request("T", 3, None);
        s.notify_message_arriving("T", 3, None);
        tokio::time::timeout(Duration::from_millis(50), t.notified())
            .await
            .expect("permit stored");
        s.wake_all();
    }
}
