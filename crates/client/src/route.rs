//! From a topic route to the queues a producer writes (`TopicPublishInfo`) and the queues a
//! consumer reads (`MQClientInstance.topicRouteData2TopicSubscribeInfo`).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::body::topic::perm;

/// The queues a producer may write for one topic, with the round-robin cursor.
#[derive(Debug)]
pub struct TopicPublishInfo {
    /// True when the route carried `orderTopicConf`.
    pub order_topic: bool,
    /// Writable queues, ordered by broker name then queue id.
    pub message_queues: Vec<MessageQueue>,
    /// The route this was built from.
    pub route: TopicRouteData,
    send_which_queue: AtomicUsize,
}

impl TopicPublishInfo {
    /// Builds the publish info of `topic` from its route (`topicRouteData2TopicPublishInfo`).
    pub fn from_route(topic: &str, route: &TopicRouteData) -> TopicPublishInfo {
        let mut queues = Vec::new();
        let mut order_topic = false;
        match route.order_topic_conf.as_deref().filter(|c| !c.is_empty()) {
            Some(conf) => {
                order_topic = true;
                for item in conf.split(';') {
                    if let Some((broker, nums)) = item.split_once(':') {
                        let nums: i32 = nums.trim().parse().unwrap_or(0);
                        for q in 0..nums {
                            queues.push(MessageQueue::new(topic, broker.trim(), q));
                        }
                    }
                }
            }
            None => {
                let mut datas = route.queue_datas.clone();
                datas.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
                for qd in datas.iter().filter(|qd| perm::is_writeable(qd.perm)) {
                    let has_master = route
                        .broker_datas
                        .iter()
                        .any(|bd| bd.broker_name == qd.broker_name && bd.master_addr().is_some());
                    if !has_master {
                        continue;
                    }
                    for q in 0..qd.write_queue_nums {
                        queues.push(MessageQueue::new(topic, qd.broker_name.as_str(), q));
                    }
                }
            }
        }
        TopicPublishInfo {
            order_topic,
            message_queues: queues,
            route: route.clone(),
            send_which_queue: AtomicUsize::new(rand::random::<u16>() as usize),
        }
    }

    /// True when there is at least one writable queue.
    pub fn ok(&self) -> bool {
        !self.message_queues.is_empty()
    }

    /// The next queue in round-robin order; on a retry, one on another broker than
    /// `last_broker` if possible (`TopicPublishInfo.selectOneMessageQueue`).
    pub fn select_one_message_queue(&self, last_broker: Option<&str>) -> Option<&MessageQueue> {
        let n = self.message_queues.len();
        if n == 0 {
            return None;
        }
        if let Some(last) = last_broker {
            for _ in 0..n {
                let i = self.send_which_queue.fetch_add(1, Ordering::Relaxed) % n;
                let mq = &self.message_queues[i];
                if mq.broker_name != last {
                    return Some(mq);
                }
            }
        }
        let i = self.send_which_queue.fetch_add(1, Ordering::Relaxed) % n;
        Some(&self.message_queues[i])
    }
}

/// The readable queues of `topic` (`readQueueNums` of each QueueData with PERM_READ).
pub fn subscribe_queues(topic: &str, route: &TopicRouteData) -> BTreeSet<MessageQueue> {
    let mut set = BTreeSet::new();
    for qd in route
        .queue_datas
        .iter()
        .filter(|qd| perm::is_readable(qd.perm))
    {
        for q in 0..qd.read_queue_nums {
            set.insert(MessageQueue::new(topic, qd.broker_name.as_str(), q));
        }
    }
    set
}

/// The route a producer uses for a topic the name server does not know yet: TBW102's route
/// with queue numbers capped at `default_topic_queue_nums`.
pub fn default_topic_route(
    mut tbw102: TopicRouteData,
    default_topic_queue_nums: i32,
) -> TopicRouteData {
    for qd in &mut tbw102.queue_datas {
        let n = default_topic_queue_nums.min(qd.read_queue_nums);
        qd.read_queue_nums = n;
        qd.write_queue_nums = n;
    }
    tbw102
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrocket_protocol::body::route::{BrokerData, QueueData};

    fn route() -> TopicRouteData {
        let bd = |name: &str, addr: Option<&str>| BrokerData {
            cluster: "DefaultCluster".into(),
            broker_name: name.into(),
            broker_addrs: addr.map(|a| (0, a.to_string())).into_iter().collect(),
            enable_acting_master: false,
        };
        let qd = |name: &str, r, w, perm| QueueData {
            broker_name: name.into(),
            read_queue_nums: r,
            write_queue_nums: w,
            perm,
            topic_sys_flag: 0,
        };
        TopicRouteData {
            order_topic_conf: None,
            // deliberately unsorted: the publish list is ordered by broker name
            queue_datas: vec![
                qd("broker-b", 2, 2, 6),
                qd("broker-a", 4, 3, 6),
                qd("broker-c", 2, 2, 4),
                qd("broker-d", 1, 1, 6),
            ],
            broker_datas: vec![
                bd("broker-a", Some("127.0.0.1:10911")),
                bd("broker-b", Some("127.0.0.1:10921")),
                bd("broker-c", Some("127.0.0.1:10931")),
                bd("broker-d", None),
            ],
            filter_server_table: Default::default(),
        }
    }

    #[test]
    fn publish_queues_are_writable_sorted_and_need_a_master() {
        let info = TopicPublishInfo::from_route("T", &route());
        let names: Vec<String> = info
            .message_queues
            .iter()
            .map(|q| format!("{}:{}", q.broker_name, q.queue_id))
            .collect();
        assert_eq!(
            names,
            [
                "broker-a:0",
                "broker-a:1",
                "broker-a:2",
                "broker-b:0",
                "broker-b:1"
            ]
        );
        assert!(!info.order_topic);
    }

    #[test]
    fn order_topic_conf_overrides_the_queue_datas() {
        let mut r = route();
        r.order_topic_conf = Some("broker-x:2;broker-y:1".into());
        let info = TopicPublishInfo::from_route("T", &r);
        assert!(info.order_topic);
        assert_eq!(info.message_queues.len(), 3);
        assert_eq!(
            info.message_queues[2],
            MessageQueue::new("T", "broker-y", 0)
        );
    }

    #[test]
    fn selection_is_round_robin_and_avoids_the_failed_broker() {
        let info = TopicPublishInfo::from_route("T", &route());
        let first: Vec<MessageQueue> = (0..5)
            .map(|_| info.select_one_message_queue(None).unwrap().clone())
            .collect();
        let distinct: BTreeSet<_> = first.iter().collect();
        assert_eq!(
            distinct.len(),
            5,
            "five consecutive picks cover the five queues"
        );
        for _ in 0..10 {
            assert_eq!(
                info.select_one_message_queue(Some("broker-a"))
                    .unwrap()
                    .broker_name,
                "broker-b"
            );
        }
        let empty = TopicPublishInfo::from_route("T", &TopicRouteData::default());
        assert!(empty.select_one_message_queue(None).is_none());
    }

    #[test]
    fn subscribe_queues_use_read_queue_nums_of_readable_brokers() {
        let qs = subscribe_queues("T", &route());
        assert_eq!(qs.len(), 4 + 2 + 2 + 1);
        assert!(qs.contains(&MessageQueue::new("T", "broker-a", 3)));
    }

    #[test]
    fn tbw102_route_is_capped_at_the_default_queue_nums() {
        let mut r = route();
        r.queue_datas = vec![QueueData {
            broker_name: "broker-a".into(),
            read_queue_nums: 8,
            write_queue_nums: 8,
            perm: 7,
            topic_sys_flag: 0,
        }];
        let capped = default_topic_route(r, 4);
        let info = TopicPublishInfo::from_route("NewTopic", &capped);
        assert_eq!(info.message_queues.len(), 4);
        assert!(info.message_queues.iter().all(|q| q.topic == "NewTopic"));
    }
}
