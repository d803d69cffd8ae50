//! `ReceiptHandleManager`: server-side renewal of the messages a RocketMQ 5 push consumer is
//! consuming (Apache's proxy `DefaultReceiptHandleManager`).
//!
//! A push consumer receives with `auto_renew` and no invisible duration: the message is popped
//! for `defaultInvisibleTimeMills` and recorded here under its client and group. One scheduled
//! task looks every `renewSchedulePeriodMillis` for messages that would become visible within
//! `renewAheadTimeMillis` and extends their invisible time through the broker's POP path (1 min,
//! then 3, 5, 10, 30 min, then hourly), keeping the newest handle. Each renewal makes a new
//! handle and retires the previous one, so the ack, invisible-time change or dead-letter
//! forward of the client, which names the handle it was given, is mapped to the newest handle
//! and ends the renewal. Renewal also ends when:
//!
//! * `renewMaxTimeMillis` has passed since the receive: the message is handed back for a later
//!   delivery, after the delay its group's retry policy gives its next attempt;
//! * `maxRenewRetryTimes` renewals failed in a row, or the broker no longer knows the handle;
//! * the client goes away (NotifyClientTermination, its Telemetry stream closes, or it has not
//!   been heard from for the clients' idle time): its messages become visible
//!   `invisibleTimeMillisWhenClear` later, for the group's other members;
//! * the endpoint stops: every message tracked is handed back the same way.
//!
//! An entry is locked while it is renewed; an ack waits (`lockTimeoutMsInHandleGroup`) for a
//! renewal in flight to end, so it acknowledges the handle that renewal produced.

mod handle;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_broker::broker_config::SharedBrokerConfig;
use ferrocket_broker::client::ConsumerManager;
use ferrocket_broker::service::pop_service::ChangeInvisibleTimeRequest;
use ferrocket_broker::service::PopService;
use ferrocket_broker::subscription::SubscriptionGroupManager;
use ferrocket_broker::ReceiptRenewSettings;
use ferrocket_protocol::util::now_millis;
use futures::StreamExt as _;
use parking_lot::Mutex;
use tokio::sync::watch;

pub use handle::{
    renew_delay_millis, retry_delay_millis, GroupKey, HandleKey, MessageReceiptHandle,
};

use crate::activity::consumer::{ack_request, refused, ReceiptHandle};
use crate::client_settings::GrpcClientSettingsManager;
use crate::status::{ProxyError, ProxyResult};
use crate::v2::Code;
use crate::view::ProxyBrokerView;

/// Messages tracked at once, over all clients. Apache's proxy sets no bound; a push consumer
/// holds at most its cache (1024 messages by default), so this covers hundreds of busy
/// consumers while keeping the table's memory bounded (some 100 MiB at most). Past it a receive
/// with `auto_renew` is refused with TOO_MANY_REQUESTS before anything is popped, and the client
/// retries after its back-off. Dropping the oldest entries instead would let messages still
/// being consumed become visible and be delivered twice, the very thing renewal prevents.
pub const MAX_TRACKED_HANDLES: usize = 262_144;

/// One tracked message; its lock is held while it is renewed, handed back or taken by an ack.
struct Tracked {
    state: tokio::sync::Mutex<TrackedState>,
}

struct TrackedState {
    handle: MessageReceiptHandle,
    /// Taken out of the table: an ack, a give-up or a clear is done with it.
    removed: bool,
}

type Handles = HashMap<HandleKey, Arc<Tracked>>;

#[derive(Default)]
struct Table {
    groups: HashMap<GroupKey, Handles>,
    len: usize,
}

impl Table {
    fn insert(&mut self, key: GroupKey, handle_key: HandleKey, tracked: Arc<Tracked>) {
        if self
            .groups
            .entry(key)
            .or_default()
            .insert(handle_key, tracked)
            .is_none()
        {
            self.len += 1;
        }
    }

    /// Removes the entry of `handle_key`, or only `expected` when given.
    fn remove(
        &mut self,
        key: &GroupKey,
        handle_key: &HandleKey,
        expected: Option<&Arc<Tracked>>,
    ) -> Option<Arc<Tracked>> {
        let handles = self.groups.get_mut(key)?;
        let found = handles.get(handle_key)?;
        if expected.is_some_and(|e| !Arc::ptr_eq(e, found)) {
            return None;
        }
        let removed = handles.remove(handle_key);
        if handles.is_empty() {
            self.groups.remove(key);
        }
        self.len -= 1;
        removed
    }

    fn remove_group(&mut self, key: &GroupKey) -> Vec<Arc<Tracked>> {
        let handles = self.groups.remove(key).unwrap_or_default();
        self.len -= handles.len();
        handles.into_values().collect()
    }
}

/// A message due for renewal, found by a scan.
struct Due {
    next_visible_millis: i64,
    key: GroupKey,
    handle_key: HandleKey,
    tracked: Arc<Tracked>,
}

/// The messages of push consumers whose invisible time the server extends.
pub struct ReceiptHandleManager {
    table: Mutex<Table>,
    pop: Arc<PopService>,
    config: SharedBrokerConfig,
    groups: Arc<SubscriptionGroupManager>,
    consumers: Arc<ConsumerManager>,
    clients: Arc<GrpcClientSettingsManager>,
}

impl ReceiptHandleManager {
    /// A manager renewing through `broker`'s POP path; a client is alive while `clients` has
    /// heard from it and it is a member of its group in `broker`'s consumer manager.
    pub fn new(broker: &ProxyBrokerView, clients: Arc<GrpcClientSettingsManager>) -> Self {
        ReceiptHandleManager {
            table: Mutex::new(Table::default()),
            pop: broker.pop.clone(),
            config: broker.config.clone(),
            groups: broker.groups.clone(),
            consumers: broker.consumers.clone(),
            clients,
        }
    }

    fn settings(&self) -> ReceiptRenewSettings {
        self.config.get().receipt_renew.clone()
    }

    /// Whether receives with `auto_renew` are renewed (`enableProxyAutoRenew`).
    pub fn enabled(&self) -> bool {
        self.config.get().receipt_renew.enable_proxy_auto_renew
    }

    /// The invisible time of a receive with `auto_renew` (`defaultInvisibleTimeMills`).
    pub fn default_invisible_time_millis(&self) -> i64 {
        let millis = self.config.get().receipt_renew.default_invisible_time_mills;
        i64::try_from(millis).unwrap_or(i64::MAX)
    }

    /// Messages tracked now.
    pub fn len(&self) -> usize {
        self.table.lock().len
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Starts the renewal task; it hands every message back and ends when `stopped` turns
    /// true or its sender goes away.
    pub fn start(self: &Arc<Self>, stopped: watch::Receiver<bool>) {
        tokio::spawn(self.clone().run(stopped));
    }

    async fn run(self: Arc<Self>, mut stopped: watch::Receiver<bool>) {
        loop {
            let period = Duration::from_millis(self.settings().renew_schedule_period_millis);
            tokio::select! {
                _ = tokio::time::sleep(period) => {}
                _ = stopped.changed() => break,
            }
            if *stopped.borrow() {
                break;
            }
            self.scan().await;
        }
        self.clear_all().await;
    }

    /// Whether `client_id` may receive with `auto_renew` for `group` now: it must be a live
    /// member of the group (its messages would be handed back at the next scan otherwise;
    /// MESSAGE_NOT_FOUND, as Apache's proxy answers a client it has no channel of) and the
    /// table must have room ([`MAX_TRACKED_HANDLES`]).
    pub fn admit(&self, client_id: &str, group: &str) -> ProxyResult<()> {
        if !self.is_alive(&GroupKey::new(client_id, group)) {
            return Err(ProxyError::new(
                Code::MessageNotFound,
                format!("The client [{client_id}] is disconnected."),
            ));
        }
        if self.len() >= MAX_TRACKED_HANDLES {
            return Err(ProxyError::new(
                Code::TooManyRequests,
                format!("{MAX_TRACKED_HANDLES} messages are being renewed already"),
            ));
        }
        Ok(())
    }

    fn is_alive(&self, key: &GroupKey) -> bool {
        self.clients.is_alive(&key.client_id)
            && self
                .consumers
                .find_channel(&key.group, &key.client_id)
                .is_some()
    }

    /// Tracks a message `client_id` received with `auto_renew`.
    pub fn add(&self, client_id: &str, handle: MessageReceiptHandle) {
        let key = GroupKey::new(client_id, &handle.group);
        let handle_key = handle.key();
        let tracked = Arc::new(Tracked {
            state: tokio::sync::Mutex::new(TrackedState {
                handle,
                removed: false,
            }),
        });
        self.table.lock().insert(key, handle_key, tracked);
    }

    /// Stops renewing the message `raw_handle` (a handle the client was given) is for and
    /// returns its newest handle, which the client's ack or change must use instead; `None`
    /// when the message is not tracked. A renewal in flight is waited for, up to
    /// `lockTimeoutMsInHandleGroup` (then INTERNAL_SERVER_ERROR, and it stays tracked).
    pub async fn remove(
        &self,
        client_id: &str,
        group: &str,
        message_id: &str,
        raw_handle: &str,
    ) -> ProxyResult<Option<String>> {
        let Ok(handle) = ReceiptHandle::decode(raw_handle) else {
            return Ok(None);
        };
        let key = GroupKey::new(client_id, group);
        let handle_key = HandleKey::new(message_id, &handle);
        let Some(tracked) = self.table.lock().remove(&key, &handle_key, None) else {
            return Ok(None);
        };
        let wait = Duration::from_millis(self.settings().lock_timeout_ms_in_handle_group);
        let Ok(mut state) = tokio::time::timeout(wait, tracked.state.lock()).await else {
            self.table.lock().insert(key, handle_key, tracked.clone());
            return Err(ProxyError::new(
                Code::InternalServerError,
                "try to remove and get handle failed",
            ));
        };
        if state.removed {
            return Ok(None);
        }
        state.removed = true;
        Ok(Some(state.handle.latest.raw.clone()))
    }

    /// `client_id` terminated: its messages of `group` (of every group when `None`) are handed
    /// back to be delivered to another member soon.
    pub fn clear_client(self: &Arc<Self>, client_id: &str, group: Option<&str>) {
        let cleared: Vec<Arc<Tracked>> = {
            let mut table = self.table.lock();
            let keys: Vec<GroupKey> = table
                .groups
                .keys()
                .filter(|k| k.client_id == client_id && group.is_none_or(|g| k.group == g))
                .cloned()
                .collect();
            keys.iter().flat_map(|k| table.remove_group(k)).collect()
        };
        if !cleared.is_empty() {
            let manager = self.clone();
            tokio::spawn(async move { manager.hand_back(cleared).await });
        }
    }

    /// One round of the renewal task: hands back the messages of clients that went away, then
    /// renews the messages about to become visible, the most urgent first.
    pub async fn scan(&self) {
        let settings = self.settings();
        let keys: Vec<GroupKey> = self.table.lock().groups.keys().cloned().collect();
        let gone: Vec<GroupKey> = keys.into_iter().filter(|k| !self.is_alive(k)).collect();
        if !gone.is_empty() {
            let cleared: Vec<Arc<Tracked>> = {
                let mut table = self.table.lock();
                gone.iter().flat_map(|k| table.remove_group(k)).collect()
            };
            tracing::info!(
                consumers = gone.len(),
                messages = cleared.len(),
                "consumers went away: their messages are handed back"
            );
            self.hand_back(cleared).await;
        }
        let mut due = self.due(now_millis() + settings.renew_ahead_time_millis as i64);
        due.sort_by_key(|d| d.next_visible_millis);
        let room = settings.renew_max_thread_pool_nums + settings.renew_thread_pool_queue_capacity;
        if due.len() > room {
            tracing::warn!(
                due = due.len(),
                room,
                "renewals beyond the queue wait for the next scan"
            );
            due.truncate(room);
        }
        let settings = &settings;
        futures::stream::iter(due)
            .for_each_concurrent(settings.renew_max_thread_pool_nums, |d| async move {
                self.renew(&d, settings).await;
            })
            .await;
    }

    /// The messages that become visible before `deadline_millis` and are not being worked on.
    fn due(&self, deadline_millis: i64) -> Vec<Due> {
        let table = self.table.lock();
        let mut due = Vec::new();
        for (key, handles) in &table.groups {
            for (handle_key, tracked) in handles {
                // a locked entry is being renewed or acknowledged right now
                let Ok(state) = tracked.state.try_lock() else {
                    continue;
                };
                let next_visible_millis = state.handle.next_visible_millis();
                if !state.removed && next_visible_millis <= deadline_millis {
                    due.push(Due {
                        next_visible_millis,
                        key: key.clone(),
                        handle_key: handle_key.clone(),
                        tracked: tracked.clone(),
                    });
                }
            }
        }
        due
    }

    async fn renew(&self, due: &Due, settings: &ReceiptRenewSettings) {
        let Ok(mut state) = due.tracked.state.try_lock() else {
            return;
        };
        if state.removed {
            return;
        }
        if !self.renew_locked(&mut state.handle, settings).await {
            state.removed = true;
            let removed = self
                .table
                .lock()
                .remove(&due.key, &due.handle_key, Some(&due.tracked));
            drop(removed);
        }
    }

    /// Renews one message, or gives it up; false when it is no longer to be tracked.
    async fn renew_locked(
        &self,
        handle: &mut MessageReceiptHandle,
        settings: &ReceiptRenewSettings,
    ) -> bool {
        if handle.renew_retry_times >= settings.max_renew_retry_times {
            tracing::warn!(handle = %handle.latest.raw, "renewal failed too often; given up");
            return false;
        }
        let consumed_millis = now_millis() - handle.consume_timestamp_millis;
        if consumed_millis >= settings.renew_max_time_millis as i64 {
            self.give_up(handle).await;
            return false;
        }
        match self
            .change_invisible(handle, renew_delay_millis(handle.renew_times))
            .await
        {
            Ok(latest) => {
                handle.renewed(latest);
                true
            }
            Err(e) if e.code == Code::InvalidReceiptHandle => {
                tracing::warn!(handle = %handle.latest.raw, error = %e.message, "renewal refused; given up");
                false
            }
            Err(e) => {
                handle.renew_retry_times += 1;
                tracing::warn!(handle = %handle.latest.raw, error = %e.message, "renewal failed");
                true
            }
        }
    }

    /// `renewMaxTimeMillis` passed: the message becomes visible again after the delay its
    /// group's retry policy gives its next delivery, as if its consumption had failed.
    async fn give_up(&self, handle: &MessageReceiptHandle) {
        let Some(group) = self.groups.find_subscription_group_config(&handle.group) else {
            tracing::warn!(group = %handle.group, "no subscription group; renewal stopped");
            return;
        };
        let delay = retry_delay_millis(&group, handle.reconsume_times);
        if let Err(e) = self.change_invisible(handle, delay).await {
            tracing::warn!(handle = %handle.latest.raw, error = %e.message, "handing back a message renewed for too long failed");
        }
    }

    /// Hands `cleared` back: visible again `invisibleTimeMillisWhenClear` from now.
    async fn hand_back(&self, cleared: Vec<Arc<Tracked>>) {
        let settings = self.settings();
        let wait = Duration::from_millis(settings.lock_timeout_ms_in_handle_group);
        let invisible = settings.invisible_time_millis_when_clear as i64;
        futures::stream::iter(cleared)
            .for_each_concurrent(settings.renew_max_thread_pool_nums, |tracked| async move {
                let Ok(mut state) = tokio::time::timeout(wait, tracked.state.lock()).await else {
                    return;
                };
                if state.removed {
                    return;
                }
                state.removed = true;
                if let Err(e) = self.change_invisible(&state.handle, invisible).await {
                    tracing::debug!(handle = %state.handle.latest.raw, error = %e.message, "handing back failed");
                }
            })
            .await;
    }

    async fn clear_all(&self) {
        let cleared: Vec<Arc<Tracked>> = {
            let mut table = self.table.lock();
            let keys: Vec<GroupKey> = table.groups.keys().cloned().collect();
            keys.iter().flat_map(|k| table.remove_group(k)).collect()
        };
        self.hand_back(cleared).await;
    }

    /// Changes the invisible time of `handle`'s message to `invisible_millis` from now and
    /// returns the new handle.
    async fn change_invisible(
        &self,
        handle: &MessageReceiptHandle,
        invisible_millis: i64,
    ) -> ProxyResult<ReceiptHandle> {
        let latest = &handle.latest;
        let changed = self
            .pop
            .change_invisible_time(ChangeInvisibleTimeRequest {
                ack: ack_request(&handle.group, &handle.topic, latest),
                invisible_time_millis: invisible_millis,
            })
            .await
            .map_err(refused)?;
        let raw = ReceiptHandle::encode(&changed.handle.build(), latest.commit_log_offset);
        ReceiptHandle::decode(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(raw: &str) -> Arc<Tracked> {
        let handle = MessageReceiptHandle::new("g", "t", "ID", 0, raw).unwrap();
        Arc::new(Tracked {
            state: tokio::sync::Mutex::new(TrackedState {
                handle,
                removed: false,
            }),
        })
    }

    #[test]
    fn the_table_counts_what_it_tracks() {
        let mut table = Table::default();
        let (a, b) = (GroupKey::new("c1", "g"), GroupKey::new("c2", "g"));
        let first = tracked("0 1700000000000 60000 3 0 broker-a 1 5 100");
        let key = first.state.try_lock().unwrap().handle.key();
        table.insert(a.clone(), key.clone(), first.clone());
        table.insert(a.clone(), key.clone(), first.clone());
        assert_eq!(table.len, 1, "the same message replaces its entry");
        let other = tracked("0 1700000000000 60000 3 0 broker-a 1 6 200");
        let other_key = other.state.try_lock().unwrap().handle.key();
        table.insert(a.clone(), other_key, other.clone());
        table.insert(b.clone(), key.clone(), first.clone());
        assert_eq!(table.len, 3);

        assert!(
            table.remove(&a, &key, Some(&other)).is_none(),
            "not that entry"
        );
        assert!(table.remove(&a, &key, Some(&first)).is_some());
        assert!(table.remove(&a, &key, None).is_none(), "already removed");
        assert_eq!(table.remove_group(&a).len(), 1);
        assert_eq!(table.len, 1);
        assert!(table.remove(&b, &key, None).is_some());
        assert_eq!((table.len, table.groups.len()), (0, 0));
    }
}
