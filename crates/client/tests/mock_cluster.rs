//! The client against an in-process name server and brokers that answer like RocketMQ's, with
//! faults the real broker cannot be asked to produce (error codes on send).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use ferrocket_client::{
    listener_fn, ClientError, ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, MessageBuilder,
    MessageExt, Producer, ProducerConfig, PushConsumer, PushConsumerConfig,
};
use ferrocket_protocol::body::heartbeat::{ConsumerIdList, HeartbeatData};
use ferrocket_protocol::body::route::{BrokerData, QueueData, TopicRouteData};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::pull_message::PullMessageRequestHeader;
use ferrocket_protocol::header::send_message::SendMessageRequestHeader;
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::util::{crc32, create_message_id, now_millis};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{Channel, RemotingServer, RequestProcessor};
use parking_lot::Mutex;

struct MockNamesrv {
    routes: Mutex<HashMap<String, TopicRouteData>>,
}

impl RequestProcessor for MockNamesrv {
    async fn process_request(&self, _ch: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        if req.code != request::GET_ROUTEINFO_BY_TOPIC {
            return Some(ferrocket_remoting::unsupported_request(&req));
        }
        let topic = req.ext("topic").unwrap_or("");
        Some(match self.routes.lock().get(topic) {
            Some(r) => {
                RemotingCommand::response_to(&req, 0).with_body(ferrocket_protocol::body::encode(r))
            }
            None => {
                RemotingCommand::error_to(&req, response::TOPIC_NOT_EXIST, "No topic route info")
            }
        })
    }
}

#[derive(Default)]
struct MockBroker {
    addr: Mutex<Option<SocketAddr>>,
    /// Answer every send with this code when non-zero.
    fail_sends_with: AtomicI32,
    send_requests: AtomicUsize,
    last_send_header: Mutex<Option<SendMessageRequestHeader>>,
    queues: Mutex<HashMap<(String, i32), Vec<Bytes>>>,
    phys: Mutex<i64>,
    consumers: Mutex<BTreeMap<String, BTreeMap<String, Channel>>>,
    offsets: Mutex<HashMap<(String, String, i32), i64>>,
}

impl MockBroker {
    fn store(&self, h: &SendMessageRequestHeader, body: &[u8]) -> (i32, i64, i64) {
        let qid = h.queue_id.max(0);
        let mut queues = self.queues.lock();
        let q = queues.entry((h.topic.clone(), qid)).or_default();
        let queue_offset = q.len() as i64;
        let mut phys = self.phys.lock();
        let props = h.properties.clone().unwrap_or_default();
        let addr = self.addr.lock().unwrap();
        let mut b = BytesMut::new();
        b.put_i32(0);
        b.put_i32(0xDAA320A7u32 as i32);
        b.put_i32(crc32(body));
        b.put_i32(qid);
        b.put_i32(h.flag);
        b.put_i64(queue_offset);
        b.put_i64(*phys);
        b.put_i32(h.sys_flag);
        b.put_i64(h.born_timestamp);
        b.put_slice(&[127, 0, 0, 1]);
        b.put_i32(40000);
        b.put_i64(now_millis());
        b.put_slice(&[127, 0, 0, 1]);
        b.put_i32(addr.port() as i32);
        b.put_i32(0);
        b.put_i64(0);
        b.put_i32(body.len() as i32);
        b.put_slice(body);
        b.put_u8(h.topic.len() as u8);
        b.put_slice(h.topic.as_bytes());
        b.put_u16(props.len() as u16);
        b.put_slice(props.as_bytes());
        let len = b.len();
        b[..4].copy_from_slice(&(len as i32).to_be_bytes());
        q.push(b.freeze());
        let at = *phys;
        *phys += len as i64;
        (qid, queue_offset, at)
    }

    fn pull(&self, h: &PullMessageRequestHeader) -> (Vec<Bytes>, i64) {
        let queues = self.queues.lock();
        let q = queues
            .get(&(h.topic.clone(), h.queue_id))
            .cloned()
            .unwrap_or_default();
        let from = h.queue_offset.max(0) as usize;
        let to = (from + h.max_msg_nums.max(0) as usize).min(q.len());
        let records = if from < to {
            q[from..to].to_vec()
        } else {
            Vec::new()
        };
        (records, q.len() as i64)
    }

    async fn notify_group(&self, group: &str) {
        let channels: Vec<Channel> = self
            .consumers
            .lock()
            .get(group)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        for ch in channels {
            let note = RemotingCommand::request(request::NOTIFY_CONSUMER_IDS_CHANGED)
                .with_ext("consumerGroup", group);
            let _ = ch.send_oneway(note).await;
        }
    }
}

impl RequestProcessor for MockBroker {
    async fn process_request(&self, ch: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        match req.code {
            request::SEND_MESSAGE_V2 | request::SEND_MESSAGE => {
                self.send_requests.fetch_add(1, Ordering::SeqCst);
                let h = SendMessageRequestHeader::decode_for_code(&req).expect("send header");
                *self.last_send_header.lock() = Some(h.clone());
                let fail = self.fail_sends_with.load(Ordering::SeqCst);
                if fail != 0 {
                    return Some(RemotingCommand::error_to(&req, fail, "injected failure"));
                }
                let (qid, qoff, phys) = self.store(&h, &req.body);
                let addr = self.addr.lock().unwrap();
                Some(
                    RemotingCommand::response_to(&req, 0)
                        .with_ext("msgId", create_message_id(addr, phys))
                        .with_ext("queueId", qid)
                        .with_ext("queueOffset", qoff)
                        .with_ext("MSG_REGION", "DefaultRegion")
                        .with_ext("TRACE_ON", "true"),
                )
            }
            request::SEND_BATCH_MESSAGE => {
                self.send_requests.fetch_add(1, Ordering::SeqCst);
                let h = SendMessageRequestHeader::decode_for_code(&req).expect("batch header");
                assert_eq!(h.batch, Some(true));
                // split the inner records (size, magic, crc, flag, body, properties) and store each
                let mut rest = &req.body[..];
                let mut ids = Vec::new();
                let mut first = None;
                let mut qid = 0;
                while rest.len() >= 4 {
                    let size = i32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
                    let rec = &rest[..size];
                    let flag = i32::from_be_bytes(rec[12..16].try_into().unwrap());
                    let blen = i32::from_be_bytes(rec[16..20].try_into().unwrap()) as usize;
                    let body = &rec[20..20 + blen];
                    let plen =
                        i16::from_be_bytes(rec[20 + blen..22 + blen].try_into().unwrap()) as usize;
                    let props = std::str::from_utf8(&rec[22 + blen..22 + blen + plen]).unwrap();
                    let inner = SendMessageRequestHeader {
                        flag,
                        properties: Some(props.to_string()),
                        ..h.clone()
                    };
                    let (q, qoff, phys) = self.store(&inner, body);
                    qid = q;
                    first.get_or_insert(qoff);
                    ids.push(create_message_id(self.addr.lock().unwrap(), phys));
                    rest = &rest[size..];
                }
                Some(
                    RemotingCommand::response_to(&req, 0)
                        .with_ext("msgId", ids.join(","))
                        .with_ext("queueId", qid)
                        .with_ext("queueOffset", first.unwrap_or(0)),
                )
            }
            request::PULL_MESSAGE => {
                let h = PullMessageRequestHeader::decode(&req).expect("pull header");
                // a short long-poll keeps idle consumers from spinning
                let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
                loop {
                    let (records, max) = self.pull(&h);
                    if !records.is_empty() || tokio::time::Instant::now() >= deadline {
                        let next = h.queue_offset + records.len() as i64;
                        let code = if records.is_empty() {
                            response::PULL_NOT_FOUND
                        } else {
                            0
                        };
                        let mut resp = RemotingCommand::response_to(&req, code)
                            .with_ext("suggestWhichBrokerId", 0)
                            .with_ext("nextBeginOffset", next)
                            .with_ext("minOffset", 0)
                            .with_ext("maxOffset", max);
                        let mut body = BytesMut::new();
                        for r in records {
                            body.extend_from_slice(&r);
                        }
                        resp.body = body.freeze();
                        return Some(resp);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            request::HEART_BEAT => {
                let hb: HeartbeatData =
                    ferrocket_protocol::body::decode(&req.body).expect("heartbeat body");
                let mut changed = Vec::new();
                {
                    let mut consumers = self.consumers.lock();
                    for c in &hb.consumer_data_set {
                        let members = consumers.entry(c.group_name.clone()).or_default();
                        if members.insert(hb.client_id.clone(), ch.clone()).is_none() {
                            changed.push(c.group_name.clone());
                        }
                    }
                }
                for g in changed {
                    self.notify_group(&g).await;
                }
                Some(RemotingCommand::response_to(&req, 0))
            }
            request::UNREGISTER_CLIENT => {
                let id = req.ext("clientID").unwrap_or("").to_string();
                if let Some(g) = req.ext("consumerGroup").map(str::to_string) {
                    let removed = self
                        .consumers
                        .lock()
                        .get_mut(&g)
                        .and_then(|m| m.remove(&id))
                        .is_some();
                    if removed {
                        self.notify_group(&g).await;
                    }
                }
                Some(RemotingCommand::response_to(&req, 0))
            }
            request::GET_CONSUMER_LIST_BY_GROUP => {
                let g = req.ext("consumerGroup").unwrap_or("");
                let ids: Vec<String> = self
                    .consumers
                    .lock()
                    .get(g)
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                Some(RemotingCommand::response_to(&req, 0).with_body(
                    ferrocket_protocol::body::encode(&ConsumerIdList {
                        consumer_id_list: ids,
                    }),
                ))
            }
            request::QUERY_CONSUMER_OFFSET | request::UPDATE_CONSUMER_OFFSET => {
                let key = (
                    req.ext("consumerGroup").unwrap_or("").to_string(),
                    req.ext("topic").unwrap_or("").to_string(),
                    req.ext_parse::<i32>("queueId").unwrap_or(0),
                );
                if req.code == request::UPDATE_CONSUMER_OFFSET {
                    self.offsets
                        .lock()
                        .insert(key, req.ext_parse("commitOffset").unwrap());
                    return Some(RemotingCommand::response_to(&req, 0));
                }
                Some(match self.offsets.lock().get(&key) {
                    Some(o) => RemotingCommand::response_to(&req, 0).with_ext("offset", o),
                    None => RemotingCommand::error_to(&req, response::QUERY_NOT_FOUND, "Not found"),
                })
            }
            request::GET_MAX_OFFSET => {
                let key = (
                    req.ext("topic").unwrap_or("").to_string(),
                    req.ext_parse::<i32>("queueId").unwrap_or(0),
                );
                let n = self.queues.lock().get(&key).map(|q| q.len()).unwrap_or(0);
                Some(RemotingCommand::response_to(&req, 0).with_ext("offset", n))
            }
            _ => Some(ferrocket_remoting::unsupported_request(&req)),
        }
    }
}

struct Cluster {
    namesrv: Arc<MockNamesrv>,
    namesrv_addr: String,
    brokers: Vec<(String, Arc<MockBroker>, String)>,
    _servers: Vec<RemotingServer>,
}

impl Cluster {
    async fn start(broker_names: &[&str]) -> Cluster {
        let namesrv = Arc::new(MockNamesrv {
            routes: Mutex::new(HashMap::new()),
        });
        let ns_server = RemotingServer::bind("127.0.0.1:0", namesrv.clone())
            .await
            .unwrap();
        let mut servers = vec![];
        let namesrv_addr = ns_server.local_addr().to_string();
        servers.push(ns_server);
        let mut brokers = Vec::new();
        for name in broker_names {
            let b = Arc::new(MockBroker::default());
            let s = RemotingServer::bind("127.0.0.1:0", b.clone())
                .await
                .unwrap();
            *b.addr.lock() = Some(s.local_addr());
            brokers.push((name.to_string(), b, s.local_addr().to_string()));
            servers.push(s);
        }
        Cluster {
            namesrv,
            namesrv_addr,
            brokers,
            _servers: servers,
        }
    }

    /// Registers `topic` with `queues` queues on every broker.
    fn add_topic(&self, topic: &str, queues: i32, perm: i32) {
        let route = TopicRouteData {
            order_topic_conf: None,
            queue_datas: self
                .brokers
                .iter()
                .map(|(n, _, _)| QueueData {
                    broker_name: n.clone(),
                    read_queue_nums: queues,
                    write_queue_nums: queues,
                    perm,
                    topic_sys_flag: 0,
                })
                .collect(),
            broker_datas: self
                .brokers
                .iter()
                .map(|(n, _, a)| BrokerData {
                    cluster: "DefaultCluster".into(),
                    broker_name: n.clone(),
                    broker_addrs: [(0, a.clone())].into(),
                    enable_acting_master: false,
                })
                .collect(),
            filter_server_table: Default::default(),
        };
        self.namesrv.routes.lock().insert(topic.to_string(), route);
    }

    fn broker(&self, name: &str) -> &Arc<MockBroker> {
        &self.brokers.iter().find(|(n, _, _)| n == name).unwrap().1
    }
}

fn producer_config(c: &Cluster) -> ProducerConfig {
    ProducerConfig::new("mock_producer", c.namesrv_addr.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_retries_retryable_codes_on_another_broker() {
    let c = Cluster::start(&["broker-a", "broker-b"]).await;
    c.add_topic("T", 4, 6);
    c.broker("broker-a")
        .fail_sends_with
        .store(response::SERVICE_NOT_AVAILABLE, Ordering::SeqCst);
    let p = Producer::start(producer_config(&c)).await.unwrap();
    for i in 0..20 {
        let r = p.send(&Message::new("T", format!("m{i}"))).await.unwrap();
        assert_eq!(
            r.message_queue.broker_name, "broker-b",
            "send {i} ends on the healthy broker"
        );
    }
    assert!(
        c.broker("broker-a").send_requests.load(Ordering::SeqCst) > 0,
        "broker-a was tried"
    );
    assert_eq!(
        c.broker("broker-b").send_requests.load(Ordering::SeqCst),
        20
    );

    // a non-retryable code is returned at once, without trying the other broker
    c.broker("broker-a")
        .fail_sends_with
        .store(response::MESSAGE_ILLEGAL, Ordering::SeqCst);
    c.broker("broker-b")
        .fail_sends_with
        .store(response::MESSAGE_ILLEGAL, Ordering::SeqCst);
    let before: usize = c
        .brokers
        .iter()
        .map(|(_, b, _)| b.send_requests.load(Ordering::SeqCst))
        .sum();
    let err = p.send(&Message::new("T", "x")).await.unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(response::MESSAGE_ILLEGAL),
        "{err}"
    );
    let after: usize = c
        .brokers
        .iter()
        .map(|(_, b, _)| b.send_requests.load(Ordering::SeqCst))
        .sum();
    assert_eq!(after - before, 1);

    // every attempt failing with a retryable code makes exactly three attempts
    c.broker("broker-a")
        .fail_sends_with
        .store(response::SYSTEM_BUSY, Ordering::SeqCst);
    c.broker("broker-b")
        .fail_sends_with
        .store(response::SYSTEM_BUSY, Ordering::SeqCst);
    let err = p.send(&Message::new("T", "y")).await.unwrap_err();
    assert_eq!(err.response_code(), Some(response::SYSTEM_BUSY), "{err}");
    let last: usize = c
        .brokers
        .iter()
        .map(|(_, b, _)| b.send_requests.load(Ordering::SeqCst))
        .sum();
    assert_eq!(last - after, 3);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_topic_falls_back_to_tbw102_with_four_queues() {
    let c = Cluster::start(&["broker-a"]).await;
    c.add_topic("TBW102", 8, 7);
    // RocketMQ's binary header on every request, as its benchmark tools use
    let mut config = producer_config(&c);
    config.client.serialize_type = ferrocket_protocol::SerializeType::RocketMq;
    let p = Producer::start(config).await.unwrap();
    let queues = p.fetch_publish_message_queues("NewTopic").await.unwrap();
    assert_eq!(queues.len(), 4);
    assert!(queues
        .iter()
        .all(|q| q.topic == "NewTopic" && q.broker_name == "broker-a"));
    let r = p
        .send(&Message::new("NewTopic", "hello").with_tags("TagA"))
        .await
        .unwrap();
    assert_eq!(r.message_queue.topic, "NewTopic");
    let h = c
        .broker("broker-a")
        .last_send_header
        .lock()
        .clone()
        .unwrap();
    assert_eq!(h.default_topic, "TBW102");
    assert_eq!(h.default_topic_queue_nums, 4);
    assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
    let props = h.properties.unwrap();
    assert!(props.contains("TAGS\u{1}TagA\u{2}"), "{props:?}");
    assert!(
        props.contains(&format!("UNIQ_KEY\u{1}{}\u{2}", r.msg_id)),
        "{props:?}"
    );
    assert!(props.contains("WAIT\u{1}true\u{2}"), "{props:?}");

    let missing = Producer::start(producer_config(&Cluster::start(&["broker-a"]).await))
        .await
        .unwrap();
    let err = missing
        .send(&Message::new("Nowhere", "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NoRoute(_)), "{err}");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_consumers_commit_offsets_and_rebalance_on_notification() {
    let c = Cluster::start(&["broker-a"]).await;
    c.add_topic("T", 4, 6);
    c.add_topic("%RETRY%g", 1, 6);
    let p = Producer::start(producer_config(&c)).await.unwrap();
    for i in 0..40 {
        p.send(&Message::new("T", format!("m{i}"))).await.unwrap();
    }

    let config = || {
        let mut cfg = PushConsumerConfig::new("g", c.namesrv_addr.as_str());
        cfg.subscribe("T", "*");
        cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
        // only a notification can trigger the second rebalance within the test
        cfg.rebalance_interval = Duration::from_secs(600);
        cfg.client.persist_consumer_offset_interval = Duration::from_millis(200);
        cfg
    };
    let seen = Arc::new(Mutex::new(Vec::<MessageExt>::new()));
    let s = seen.clone();
    let a = PushConsumer::start(
        config(),
        listener_fn(move |m: Vec<MessageExt>| {
            let s = s.clone();
            async move {
                s.lock().extend(m);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        }),
    )
    .await
    .unwrap();
    let broker = c.broker("broker-a").clone();
    let committed = || -> i64 {
        (0..4)
            .map(|q| {
                broker
                    .offsets
                    .lock()
                    .get(&("g".into(), "T".into(), q))
                    .copied()
                    .unwrap_or(0)
            })
            .sum()
    };
    for _ in 0..100 {
        if seen.lock().len() >= 40 && committed() == 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen.lock().len(), 40);
    assert_eq!(
        committed(),
        40,
        "offsets reach the broker through UPDATE_CONSUMER_OFFSET"
    );
    let t_queues = |pc: &PushConsumer| {
        pc.assigned_queues()
            .iter()
            .filter(|q| q.topic == "T")
            .count()
    };
    assert_eq!(t_queues(&a), 4);

    let b = PushConsumer::start(
        config(),
        listener_fn(|_m: Vec<MessageExt>| async { ConsumeConcurrentlyStatus::ConsumeSuccess }),
    )
    .await
    .unwrap();
    let mut split = false;
    for _ in 0..50 {
        if t_queues(&a) == 2 && t_queues(&b) == 2 {
            split = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        split,
        "a: {:?}, b: {:?}",
        a.assigned_queues(),
        b.assigned_queues()
    );
    b.shutdown().await;
    a.shutdown().await;
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_oneway_and_callback_sends_reach_the_broker() {
    let c = Cluster::start(&["broker-a"]).await;
    c.add_topic("T", 1, 6);
    let p = Producer::start(producer_config(&c)).await.unwrap();
    let batch: Vec<Message> = (0..3)
        .map(|i| Message::new("T", format!("b{i}")).with_tags(format!("Tag{i}")))
        .collect();
    let r = p.send_batch(&batch).await.unwrap();
    let ids: Vec<&str> = r.msg_id.split(',').collect();
    assert_eq!(ids.len(), 3, "one UNIQ_KEY per inner message");
    assert_eq!(r.offset_msg_id.split(',').count(), 3);
    assert_eq!(r.queue_offset, 0);

    p.send_oneway(&Message::new("T", "oneway")).await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    p.send_with_callback(Message::new("T", "callback"), move |r| {
        let _ = tx.send(r);
    });
    let r = rx.await.unwrap().unwrap();
    assert_eq!(r.message_queue.queue_id, 0);

    let broker = c.broker("broker-a").clone();
    for _ in 0..50 {
        if broker
            .queues
            .lock()
            .get(&("T".to_string(), 0))
            .map(Vec::len)
            == Some(5)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stored = broker
        .queues
        .lock()
        .get(&("T".to_string(), 0))
        .cloned()
        .unwrap();
    assert_eq!(stored.len(), 5);
    let msgs = ferrocket_client::message::decode_messages_bytes(
        &stored.concat().into(),
        &Default::default(),
    )
    .unwrap();
    let bodies: Vec<String> = msgs
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    assert_eq!(&bodies[..3], ["b0", "b1", "b2"]);
    assert!(bodies.contains(&"oneway".to_string()) && bodies.contains(&"callback".to_string()));
    assert_eq!(msgs[1].tags(), Some("Tag1"));
    assert_eq!(msgs[2].unique_id(), ids[2]);

    let mixed = vec![Message::new("T", "x"), Message::new("U", "y")];
    assert!(matches!(
        p.send_batch(&mixed).await,
        Err(ClientError::IllegalMessage(_))
    ));
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_started_before_its_topic_exists_picks_it_up() {
    let c = Cluster::start(&["broker-a"]).await;
    let mut cfg = PushConsumerConfig::new("late", c.namesrv_addr.as_str());
    cfg.subscribe("Late", "*");
    cfg.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    cfg.rebalance_interval = Duration::from_secs(600);
    cfg.client.poll_name_server_interval = Duration::from_millis(200);
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let consumer = PushConsumer::start(
        cfg,
        listener_fn(move |m: Vec<MessageExt>| {
            let s = s.clone();
            async move {
                s.fetch_add(m.len(), Ordering::SeqCst);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        }),
    )
    .await
    .unwrap();
    assert!(consumer.assigned_queues().is_empty());
    c.add_topic("Late", 2, 6);
    let p = Producer::start(producer_config(&c)).await.unwrap();
    for i in 0..10 {
        p.send(&Message::new("Late", format!("m{i}")))
            .await
            .unwrap();
    }
    for _ in 0..100 {
        if seen.load(Ordering::SeqCst) >= 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen.load(Ordering::SeqCst), 10);
    consumer.shutdown().await;
    p.shutdown().await;
}
