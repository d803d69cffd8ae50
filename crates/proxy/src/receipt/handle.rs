//! One message a push consumer is consuming, as its renewal sees it: the handle the client got,
//! the latest one the server made, and how often it was renewed; the keys it is found by; and
//! the invisible times a renewal and a give-up use.

use ferrocket_protocol::body::subscription_group_config::SubscriptionGroupConfig;

use crate::activity::consumer::ReceiptHandle;
use crate::status::ProxyResult;

/// The invisible time each renewal sets, by the number of renewals so far; the last one repeats
/// (Apache's `RenewStrategyPolicy`): a message consumed for long is renewed less and less often.
const RENEW_DELAYS_MILLIS: [i64; 6] = [
    60_000,    // 1 min
    180_000,   // 3 min
    300_000,   // 5 min
    600_000,   // 10 min
    1_800_000, // 30 min
    3_600_000, // 1 h
];

/// The redelivery delays of a group's default (`CUSTOMIZED`) retry policy, ms: RocketMQ's
/// delay levels 1 s ... 2 h.
const CUSTOMIZED_RETRY_DELAYS_MILLIS: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];
/// The customized policy's first delay is that of the third level: the old delay-level table
/// started at 1 and a first retry used level 3.
const CUSTOMIZED_RETRY_LEVEL_SKIP: usize = 2;
/// Defaults of an `EXPONENTIAL` policy without its parameters: 5 s, doubling, at most 2 h.
const EXPONENTIAL_INITIAL_MILLIS: i64 = 5_000;
const EXPONENTIAL_MAX_MILLIS: i64 = 7_200_000;
const EXPONENTIAL_MULTIPLIER: i64 = 2;
/// Doublings at most, as in RocketMQ (the delay is capped long before).
const EXPONENTIAL_MAX_POWER: u32 = 32;

/// The invisible time of a message's next renewal, after `renew_times` renewals.
pub fn renew_delay_millis(renew_times: u32) -> i64 {
    let last = RENEW_DELAYS_MILLIS.len() - 1;
    RENEW_DELAYS_MILLIS[(renew_times as usize).min(last)]
}

/// The delay before a message delivered `reconsume_times` times before is delivered again, by
/// its group's `groupRetryPolicy` (`CUSTOMIZED` with RocketMQ's levels unless it says otherwise).
pub fn retry_delay_millis(group: &SubscriptionGroupConfig, reconsume_times: i32) -> i64 {
    let policy = &group.group_retry_policy;
    let times = reconsume_times.max(0);
    if policy.get("type").and_then(|t| t.as_str()) == Some("EXPONENTIAL") {
        if let Some(p) = policy
            .get("exponentialRetryPolicy")
            .filter(|p| p.is_object())
        {
            let field =
                |name: &str, default: i64| p.get(name).and_then(|v| v.as_i64()).unwrap_or(default);
            return exponential_delay(
                field("initial", EXPONENTIAL_INITIAL_MILLIS),
                field("max", EXPONENTIAL_MAX_MILLIS),
                field("multiplier", EXPONENTIAL_MULTIPLIER),
                times,
            );
        }
    }
    let custom: Option<Vec<i64>> = policy
        .get("customizedRetryPolicy")
        .and_then(|p| p.get("next"))
        .and_then(|n| n.as_array())
        .map(|next| next.iter().filter_map(|d| d.as_i64()).collect());
    let delays = match &custom {
        Some(next) if !next.is_empty() => next.as_slice(),
        _ => &CUSTOMIZED_RETRY_DELAYS_MILLIS[..],
    };
    let index = (times as usize + CUSTOMIZED_RETRY_LEVEL_SKIP).min(delays.len() - 1);
    delays[index]
}

fn exponential_delay(initial: i64, max: i64, multiplier: i64, times: i32) -> i64 {
    let power = (times as u32).min(EXPONENTIAL_MAX_POWER);
    let factor = multiplier.checked_pow(power).unwrap_or(i64::MAX);
    initial.saturating_mul(factor).min(max)
}

/// Whose handles these are: one client in one consumer group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    /// The client's `x-mq-client-id`.
    pub client_id: String,
    /// The consumer group it received for.
    pub group: String,
}

impl GroupKey {
    /// The key of `client_id` in `group`.
    pub fn new(client_id: &str, group: &str) -> Self {
        GroupKey {
            client_id: client_id.to_string(),
            group: group.to_string(),
        }
    }
}

/// Which message a handle is for: its id and where it was popped from. Every handle of one
/// delivery has the same key, whatever its pop time, so the handle the client holds finds the
/// latest one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HandleKey {
    /// The message id the client was given (and names in its ack).
    pub message_id: String,
    /// The broker the handle names.
    pub broker_name: String,
    /// The queue the message was popped from (of the retry topic for a retried message).
    pub queue_id: i32,
    /// Its offset in that queue.
    pub offset: i64,
    /// Whether it was popped from the group's retry topic.
    pub retry: bool,
}

impl HandleKey {
    /// The key of `handle`, a handle of message `message_id`.
    pub fn new(message_id: &str, handle: &ReceiptHandle) -> Self {
        HandleKey {
            message_id: message_id.to_string(),
            broker_name: handle.extra.broker_name.clone(),
            queue_id: handle.extra.queue_id,
            offset: handle.offset,
            retry: handle.extra.retry,
        }
    }
}

/// A message received with `auto_renew` and not yet acknowledged (Apache's
/// `MessageReceiptHandle`).
#[derive(Debug, Clone)]
pub struct MessageReceiptHandle {
    /// The consumer group.
    pub group: String,
    /// The topic the client received from.
    pub topic: String,
    /// The message's id.
    pub message_id: String,
    /// Deliveries of the message before this one.
    pub reconsume_times: i32,
    /// When it was popped, ms: renewal stops `renewMaxTimeMillis` after it.
    pub consume_timestamp_millis: i64,
    /// The newest handle: the one an ack or a renewal must use.
    pub latest: ReceiptHandle,
    /// Renewals done.
    pub renew_times: u32,
    /// Failed renewals since the last one that worked.
    pub renew_retry_times: u32,
}

impl MessageReceiptHandle {
    /// The message of `raw_handle`, just popped for `group` from `topic`.
    pub fn new(
        group: &str,
        topic: &str,
        message_id: &str,
        reconsume_times: i32,
        raw_handle: &str,
    ) -> ProxyResult<Self> {
        let latest = ReceiptHandle::decode(raw_handle)?;
        Ok(MessageReceiptHandle {
            group: group.to_string(),
            topic: topic.to_string(),
            message_id: message_id.to_string(),
            reconsume_times,
            consume_timestamp_millis: latest.extra.pop_time,
            latest,
            renew_times: 0,
            renew_retry_times: 0,
        })
    }

    /// The key the handle is found by.
    pub fn key(&self) -> HandleKey {
        HandleKey::new(&self.message_id, &self.latest)
    }

    /// When the message becomes visible again unless renewed, ms.
    pub fn next_visible_millis(&self) -> i64 {
        self.latest.extra.pop_time + self.latest.extra.invisible_time
    }

    /// A renewal produced `latest`.
    pub fn renewed(&mut self, latest: ReceiptHandle) {
        self.latest = latest;
        self.renew_times = self.renew_times.saturating_add(1);
        self.renew_retry_times = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewals_grow_to_an_hour() {
        assert_eq!(renew_delay_millis(0), 60_000);
        assert_eq!(renew_delay_millis(3), 600_000);
        assert_eq!(renew_delay_millis(5), 3_600_000);
        assert_eq!(renew_delay_millis(u32::MAX), 3_600_000);
    }

    #[test]
    fn give_ups_follow_the_group_retry_policy() {
        let mut group = SubscriptionGroupConfig::new("g");
        assert_eq!(retry_delay_millis(&group, 0), 10_000);
        assert_eq!(retry_delay_millis(&group, -4), 10_000);
        assert_eq!(retry_delay_millis(&group, 1), 30_000);
        assert_eq!(retry_delay_millis(&group, 99), 7_200_000);
        group.group_retry_policy = serde_json::json!({
            "type": "CUSTOMIZED", "customizedRetryPolicy": {"next": [100, 200, 300, 400]}
        });
        assert_eq!(retry_delay_millis(&group, 0), 300);
        assert_eq!(retry_delay_millis(&group, 5), 400);
        group.group_retry_policy = serde_json::json!({"type": "EXPONENTIAL"});
        assert_eq!(
            retry_delay_millis(&group, 0),
            10_000,
            "no parameters: the default"
        );
        group.group_retry_policy = serde_json::json!({
            "type": "EXPONENTIAL",
            "exponentialRetryPolicy": {"initial": 1000, "max": 60000, "multiplier": 3}
        });
        assert_eq!(retry_delay_millis(&group, 0), 1_000);
        assert_eq!(retry_delay_millis(&group, 2), 9_000);
        assert_eq!(retry_delay_millis(&group, 40), 60_000);
    }

    #[test]
    fn every_handle_of_a_delivery_has_one_key() {
        let first = "7 1700000000000 30000 3 0 broker-a 2 9 12345";
        let renewed = "9 1700000020000 60000 3 0 broker-a 2 9 12345";
        let mut m = MessageReceiptHandle::new("g", "t", "ID", 0, first).unwrap();
        assert_eq!(m.consume_timestamp_millis, 1_700_000_000_000);
        assert_eq!(m.next_visible_millis(), 1_700_000_030_000);
        let key = m.key();
        m.renewed(ReceiptHandle::decode(renewed).unwrap());
        assert_eq!(m.key(), key);
        assert_eq!(
            (m.renew_times, m.next_visible_millis()),
            (1, 1_700_000_080_000)
        );
        let other = ReceiptHandle::decode("7 1700000000000 30000 3 0 broker-a 2 10 12400").unwrap();
        assert_ne!(HandleKey::new("ID", &other), key);
    }
}
