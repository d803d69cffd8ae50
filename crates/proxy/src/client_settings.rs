//! `GrpcClientSettingsManager`: the settings each v5 client sent on its Telemetry stream, with
//! the server-side values merged in, by client id. Heartbeat and NotifyClientTermination find
//! the client here; a client not heard from for [`CLIENT_IDLE_TIME`] is forgotten.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::status::{ProxyError, ProxyResult};
use crate::v2::settings::PubSub;
use crate::v2::{
    retry_policy, ClientType, Code, CustomizedBackoff, ExponentialBackoff, Metric, RetryPolicy,
    Settings,
};
use crate::view::ProxyBrokerView;

/// How long a client's settings are kept without a heartbeat or a settings message (Apache's
/// `grpcClientIdleTimeMills`, 120 s; the clients heartbeat every 10 s).
pub const CLIENT_IDLE_TIME: Duration = Duration::from_secs(120);

/// Clients remembered at once; past it new clients are refused until idle ones expire.
pub const MAX_CLIENTS: usize = 65_536;

/// Send attempts a producer is told to make (`grpcClientProducerMaxAttempts`).
const PRODUCER_MAX_ATTEMPTS: i32 = 3;
/// A producer's first retry back-off (`grpcClientProducerBackoffInitialMillis`).
const PRODUCER_BACKOFF_INITIAL: Duration = Duration::from_millis(10);
/// A producer's longest back-off (`grpcClientProducerBackoffMaxMillis`).
const PRODUCER_BACKOFF_MAX: Duration = Duration::from_millis(1000);
/// Its multiplier (`grpcClientProducerBackoffMultiplier`).
const PRODUCER_BACKOFF_MULTIPLIER: f32 = 2.0;
/// Messages one receive asks for (`grpcClientConsumerLongPollingBatchSize`).
const CONSUMER_RECEIVE_BATCH_SIZE: i32 = 32;
/// Longest long poll of a receive (`grpcClientConsumerMaxLongPollingTimeoutMillis`).
const CONSUMER_LONG_POLLING_TIMEOUT: Duration = Duration::from_secs(20);
/// Redelivery delays of a consumer group's retries, seconds: RocketMQ's eighteen delay levels
/// (1 s ... 2 h), the customized back-off Apache's proxy tells consumers by default.
const CONSUMER_RETRY_DELAYS_SECS: [i64; 18] = [
    1, 5, 10, 30, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 1200, 1800, 3600, 7200,
];

struct Client {
    settings: Settings,
    last_seen: Instant,
}

/// Settings of the connected v5 clients.
#[derive(Default)]
pub struct GrpcClientSettingsManager {
    clients: Mutex<HashMap<String, Client>>,
}

fn duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

impl GrpcClientSettingsManager {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the settings `client_id` sent and returns them with the server's values merged
    /// in: what the client must be told back on its Telemetry stream.
    pub fn update(
        &self,
        client_id: &str,
        settings: Settings,
        broker: &ProxyBrokerView,
    ) -> ProxyResult<Settings> {
        let merged = merge(settings, broker)?;
        let now = Instant::now();
        let mut clients = self.clients.lock();
        clients.retain(|_, c| now.duration_since(c.last_seen) < CLIENT_IDLE_TIME);
        if clients.len() >= MAX_CLIENTS && !clients.contains_key(client_id) {
            return Err(ProxyError::new(
                Code::TooManyRequests,
                format!("this server already serves {MAX_CLIENTS} clients"),
            ));
        }
        clients.insert(
            client_id.to_string(),
            Client {
                settings: merged.clone(),
                last_seen: now,
            },
        );
        Ok(merged)
    }

    /// The settings of `client_id`, marking it seen; `None` when it never sent any (or was
    /// forgotten).
    pub fn touch(&self, client_id: &str) -> Option<Settings> {
        let mut clients = self.clients.lock();
        let client = clients.get_mut(client_id)?;
        client.last_seen = Instant::now();
        Some(client.settings.clone())
    }

    /// Whether `client_id` sent its settings and was heard from within [`CLIENT_IDLE_TIME`];
    /// asking does not count as hearing from it.
    pub fn is_alive(&self, client_id: &str) -> bool {
        self.clients
            .lock()
            .get(client_id)
            .is_some_and(|c| c.last_seen.elapsed() < CLIENT_IDLE_TIME)
    }

    /// Forgets `client_id`; returns its settings if it was known.
    pub fn remove(&self, client_id: &str) -> Option<Settings> {
        self.clients.lock().remove(client_id).map(|c| c.settings)
    }

    /// Clients remembered now.
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }

    /// Whether no client is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The settings a client is told: its own, with the server's retry policy, limits and
/// consumption parameters, as Apache's proxy merges them.
fn merge(mut settings: Settings, broker: &ProxyBrokerView) -> ProxyResult<Settings> {
    let client_type = settings
        .client_type
        .and_then(|t| ClientType::try_from(t).ok())
        .unwrap_or(ClientType::Unspecified);
    match (client_type, settings.pub_sub.take()) {
        (ClientType::Producer, Some(PubSub::Publishing(mut publishing))) => {
            publishing.max_body_size = i32::try_from(broker.max_message_size).unwrap_or(i32::MAX);
            publishing.validate_message_type = true;
            settings.pub_sub = Some(PubSub::Publishing(publishing));
            settings.backoff_policy = Some(producer_retry_policy());
        }
        (
            ClientType::PushConsumer | ClientType::SimpleConsumer,
            Some(PubSub::Subscription(mut subscription)),
        ) => {
            let group = subscription
                .group
                .as_ref()
                .map(|g| g.name.clone())
                .unwrap_or_default();
            let config = broker.groups.find_subscription_group_config(&group);
            let (fifo, retry_max_times) = config
                .map(|c| (c.consume_message_orderly, c.retry_max_times))
                .unwrap_or((false, 16));
            subscription.fifo = Some(fifo);
            subscription.receive_batch_size = Some(CONSUMER_RECEIVE_BATCH_SIZE);
            subscription.long_polling_timeout = Some(duration(CONSUMER_LONG_POLLING_TIMEOUT));
            settings.pub_sub = Some(PubSub::Subscription(subscription));
            settings.backoff_policy = Some(consumer_retry_policy(retry_max_times));
        }
        (t, _) => {
            return Err(ProxyError::new(
                Code::UnrecognizedClientType,
                format!(
                    "settings of a {} client need {}",
                    t.as_str_name(),
                    match t {
                        ClientType::Producer => "publishing",
                        ClientType::PushConsumer | ClientType::SimpleConsumer => "a subscription",
                        _ => "a known client type (PRODUCER, PUSH_CONSUMER or SIMPLE_CONSUMER)",
                    }
                ),
            ))
        }
    }
    settings.metric = Some(Metric {
        on: false,
        endpoints: None,
    });
    Ok(settings)
}

fn producer_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: PRODUCER_MAX_ATTEMPTS,
        strategy: Some(retry_policy::Strategy::ExponentialBackoff(
            ExponentialBackoff {
                initial: Some(duration(PRODUCER_BACKOFF_INITIAL)),
                max: Some(duration(PRODUCER_BACKOFF_MAX)),
                multiplier: PRODUCER_BACKOFF_MULTIPLIER,
            },
        )),
    }
}

fn consumer_retry_policy(retry_max_times: i32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: retry_max_times.saturating_add(1).max(1),
        strategy: Some(retry_policy::Strategy::CustomizedBackoff(
            CustomizedBackoff {
                next: CONSUMER_RETRY_DELAYS_SECS
                    .iter()
                    .map(|s| prost_types::Duration {
                        seconds: *s,
                        nanos: 0,
                    })
                    .collect(),
            },
        )),
    }
}
