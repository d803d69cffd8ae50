//! `TopicRouteInfoManager`: the queues of a topic across every broker of the cluster, as the name
//! servers route it. The broker-side rebalance of QUERY_ASSIGNMENT assigns queues of all brokers,
//! not only this one's, so a consumer group reads every master of a multi-master cluster.
//!
//! Routes are asked of the name servers at most once per [`ROUTE_TTL`] and topic (RocketMQ polls
//! them every `loadBalancePollNameServerInterval`, 30 s). When no name server answers, the
//! broker's own queues stand in, so that a lone broker keeps assigning.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::body::topic::perm;
use parking_lot::Mutex;

use crate::broker_config::SharedBrokerConfig;
use crate::out_api::NameServerRegistration;

/// How long a route is used before the name servers are asked again.
pub const ROUTE_TTL: Duration = Duration::from_secs(30);
/// Topics whose routes are kept; past it the cache starts over (it only saves name server calls).
const MAX_CACHED_TOPICS: usize = 10_000;

/// A topic's subscribe queues and when the name servers gave them.
type CachedQueues = (Instant, Arc<Vec<MessageQueue>>);

/// Cached subscribe queues per topic.
pub struct TopicRouteInfoManager {
    config: SharedBrokerConfig,
    registration: Arc<NameServerRegistration>,
    cache: Mutex<HashMap<String, CachedQueues>>,
}

impl TopicRouteInfoManager {
    /// Routes asked through the name server connection of `registration`.
    pub fn new(config: SharedBrokerConfig, registration: Arc<NameServerRegistration>) -> Self {
        TopicRouteInfoManager {
            config,
            registration,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Every readable queue of `topic` on every broker, sorted as Java's `MessageQueue`
    /// (RocketMQ `getTopicSubscribeInfo`); `None` when the name servers know no such topic.
    /// Without an answer from them, `local` (this broker's queues) is used and not cached.
    pub async fn subscribe_queues(
        &self,
        topic: &str,
        local: impl FnOnce() -> Vec<MessageQueue>,
    ) -> Option<Arc<Vec<MessageQueue>>> {
        if let Some((at, queues)) = self.cache.lock().get(topic) {
            if at.elapsed() < ROUTE_TTL {
                return Some(queues.clone());
            }
        }
        let addrs = self.config.get().namesrv_addrs();
        let route = self
            .registration
            .outer_api()
            .get_topic_route(&addrs, topic)
            .await;
        let queues = match route {
            Ok(Some(route)) => Arc::new(subscribe_queues(topic, &route)),
            Ok(None) => return None,
            Err(e) => {
                tracing::debug!(topic, error = %e, "no route from the name servers; assigning this broker's queues");
                let mut queues = local();
                queues.sort();
                return Some(Arc::new(queues));
            }
        };
        let mut cache = self.cache.lock();
        if cache.len() >= MAX_CACHED_TOPICS {
            cache.clear();
        }
        cache.insert(topic.to_string(), (Instant::now(), queues.clone()));
        Some(queues)
    }
}

/// The readable queues of a route (RocketMQ `topicRouteData2TopicSubscribeInfo`), sorted.
pub fn subscribe_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut queues: Vec<MessageQueue> = route
        .queue_datas
        .iter()
        .filter(|qd| perm::is_readable(qd.perm))
        .flat_map(|qd| {
            (0..qd.read_queue_nums).map(|id| MessageQueue::new(topic, &qd.broker_name, id))
        })
        .collect();
    queues.sort();
    queues
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::body::route::QueueData;

    #[test]
    fn readable_queues_of_every_broker_sorted() {
        let qd = |name: &str, read, perm| QueueData {
            broker_name: name.into(),
            read_queue_nums: read,
            write_queue_nums: read,
            perm,
            topic_sys_flag: 0,
        };
        let route = TopicRouteData {
            queue_datas: vec![
                qd("broker-b", 2, perm::READ_WRITE),
                qd("broker-a", 2, perm::READ),
                qd("broker-c", 4, perm::WRITE),
            ],
            ..Default::default()
        };
        let got = subscribe_queues("T", &route);
        let want = vec![
            MessageQueue::new("T", "broker-a", 0),
            MessageQueue::new("T", "broker-a", 1),
            MessageQueue::new("T", "broker-b", 0),
            MessageQueue::new("T", "broker-b", 1),
        ];
        assert_eq!(got, want, "write-only broker-c is left out");
    }
}
