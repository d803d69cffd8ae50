//! Shared helpers: a broker on a temporary store, a recording name server, request builders.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_broker::{BrokerConfig, BrokerController};
use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, ConsumerData, HeartbeatData, MessageModel, ProducerData,
    SubscriptionData,
};
use ferrocket_protocol::body::topic::RegisterBrokerBody;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::pull_message::pull_sys_flag;
use ferrocket_protocol::header::send_message::SendMessageRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{
    Channel, ClientRequestHandler, RemotingClient, RemotingServer, RequestProcessor,
};
use ferrocket_store::MessageStoreConfig;
use parking_lot::Mutex;
use tempfile::TempDir;
use tokio::sync::mpsc;

/// Pull sysFlag: the subscription travels in the request.
pub const SUBSCRIBE: i32 = pull_sys_flag::SUBSCRIPTION;
/// Pull sysFlag: subscription in the request, long polling allowed.
pub const SUSPEND_AND_SUBSCRIBE: i32 = pull_sys_flag::SUSPEND | pull_sys_flag::SUBSCRIPTION;

/// Generous bound for anything that should happen "at once" on a noisy machine.
pub const PROMPT: Duration = Duration::from_secs(10);
/// Request timeout for test calls.
pub const CALL: Duration = Duration::from_secs(30);

/// Broker settings for tests: loopback, port 0, no name server.
pub fn broker_config() -> BrokerConfig {
    BrokerConfig {
        listen_port: 0,
        bind_address: "127.0.0.1".into(),
        broker_ip1: "127.0.0.1".into(),
        ..Default::default()
    }
}

/// Store settings for tests: small files under `dir`.
pub fn store_config(dir: &std::path::Path) -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: 16 * 1024 * 1024,
        mapped_file_size_consume_queue: 3000 * 20,
        ..MessageStoreConfig::with_root(dir)
    }
}

/// A broker on its own temporary store.
pub struct TestBroker {
    pub broker: Arc<BrokerController>,
    pub addr: String,
    pub dir: TempDir,
}

impl TestBroker {
    /// Starts a broker with `config` on a fresh store.
    pub async fn start_with(config: BrokerConfig) -> TestBroker {
        Self::start_with_store(config, |s| s).await
    }

    /// Starts a broker with `config` and the store settings `store` makes from the test ones.
    pub async fn start_with_store(
        config: BrokerConfig,
        store: impl FnOnce(MessageStoreConfig) -> MessageStoreConfig,
    ) -> TestBroker {
        let dir = tempfile::tempdir().unwrap();
        let broker = BrokerController::start(config, store(store_config(dir.path())))
            .await
            .expect("broker starts");
        let addr = broker.local_addr().to_string();
        TestBroker { broker, addr, dir }
    }

    /// Starts a broker with the test defaults.
    pub async fn start() -> TestBroker {
        Self::start_with(broker_config()).await
    }
}

/// Calls `addr` once on a fresh client.
pub async fn call(client: &RemotingClient, addr: &str, cmd: RemotingCommand) -> RemotingCommand {
    client.invoke(addr, cmd, CALL).await.expect("response")
}

/// A SEND_MESSAGE_V2 request.
pub fn send_v2(topic: &str, queue_id: i32, tags: Option<&str>, body: &[u8]) -> RemotingCommand {
    let mut h = SendMessageRequestHeader::new("test_producer_group", topic);
    h.queue_id = queue_id;
    let mut props = String::new();
    if let Some(t) = tags {
        props.push_str(&format!("TAGS\u{1}{t}\u{2}"));
    }
    props.push_str("WAIT\u{1}true\u{2}");
    h.properties = Some(props);
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2);
    h.encode_v2(&mut cmd.ext_fields);
    cmd.body = bytes::Bytes::copy_from_slice(body);
    cmd
}

/// Sends one message and asserts success; returns the queue offset.
pub async fn send_ok(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
    tags: Option<&str>,
    body: &[u8],
) -> i64 {
    let r = call(client, addr, send_v2(topic, queue_id, tags, body)).await;
    assert_eq!(r.code, response::SUCCESS, "send failed: {:?}", r.remark);
    r.ext("queueOffset").unwrap().parse().unwrap()
}

/// A PULL_MESSAGE request.
pub fn pull(
    group: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
    sys_flag: i32,
    subscription: Option<&str>,
    suspend_ms: i64,
) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::PULL_MESSAGE)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id)
        .with_ext("queueOffset", offset)
        .with_ext("maxMsgNums", 32)
        .with_ext("sysFlag", sys_flag)
        .with_ext("commitOffset", 0)
        .with_ext("suspendTimeoutMillis", suspend_ms)
        .with_ext("subVersion", 0)
        .with_ext("expressionType", "TAG");
    if let Some(s) = subscription {
        cmd = cmd.with_ext("subscription", s);
    }
    cmd
}

/// Splits a pull body into (topic, tags, body) triples, reading the V1 record layout.
pub fn decode_records(mut data: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    fn i32_at(b: &[u8], at: usize) -> i32 {
        i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }
    let mut out = Vec::new();
    while data.len() >= 4 {
        let total = i32_at(data, 0) as usize;
        let rec = &data[..total];
        let sys_flag = i32_at(rec, 36);
        let born_len = if sys_flag & 0x10 != 0 { 20 } else { 8 };
        let store_len = if sys_flag & 0x20 != 0 { 20 } else { 8 };
        let mut p = 4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + born_len + 8 + store_len + 4 + 8;
        let body_len = i32_at(rec, p) as usize;
        p += 4;
        let body = rec[p..p + body_len].to_vec();
        p += body_len;
        let topic_len = rec[p] as usize;
        p += 1;
        let topic = String::from_utf8(rec[p..p + topic_len].to_vec()).unwrap();
        p += topic_len;
        let props_len = u16::from_be_bytes([rec[p], rec[p + 1]]) as usize;
        p += 2;
        let props = String::from_utf8(rec[p..p + props_len].to_vec()).unwrap();
        let tags = props
            .split('\u{2}')
            .filter_map(|kv| kv.split_once('\u{1}'))
            .find(|(k, _)| *k == "TAGS")
            .map(|(_, v)| v.to_string());
        out.push((topic, tags, body));
        data = &data[total..];
    }
    out
}

/// What the recording name server saw.
#[derive(Default)]
pub struct NamesrvLog {
    /// (broker address, topic names) of every REGISTER_BROKER.
    pub registrations: Vec<(String, Vec<String>)>,
    /// broker addresses of every UNREGISTER_BROKER.
    pub unregistrations: Vec<String>,
}

/// A name server that records registrations and answers SUCCESS.
pub struct RecordingNamesrv {
    pub log: Arc<Mutex<NamesrvLog>>,
    pub server: RemotingServer,
}

struct Recorder(Arc<Mutex<NamesrvLog>>);

impl RequestProcessor for Recorder {
    async fn process_request(
        &self,
        _channel: Channel,
        req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        match req.code {
            request::REGISTER_BROKER => {
                let body: RegisterBrokerBody =
                    ferrocket_protocol::body::decode(&req.body).expect("register body");
                let topics = body
                    .topic_config_serialize_wrapper
                    .topic_config_table
                    .keys()
                    .cloned()
                    .collect();
                self.0.lock().registrations.push((
                    req.ext("brokerAddr").unwrap_or_default().to_string(),
                    topics,
                ));
            }
            request::UNREGISTER_BROKER => {
                self.0
                    .lock()
                    .unregistrations
                    .push(req.ext("brokerAddr").unwrap_or_default().to_string());
            }
            _ => {}
        }
        Some(RemotingCommand::response_to(&req, response::SUCCESS))
    }
}

impl RecordingNamesrv {
    /// Listens on a free loopback port.
    pub async fn start() -> RecordingNamesrv {
        let log = Arc::new(Mutex::new(NamesrvLog::default()));
        let server = RemotingServer::bind("127.0.0.1:0", Arc::new(Recorder(log.clone())))
            .await
            .unwrap();
        RecordingNamesrv { log, server }
    }

    /// `ip:port`.
    pub fn addr(&self) -> String {
        self.server.local_addr().to_string()
    }

    /// Waits until a registration lists `topic`.
    pub async fn wait_for_topic(&self, topic: &str) -> bool {
        let deadline = tokio::time::Instant::now() + PROMPT;
        while tokio::time::Instant::now() < deadline {
            if self
                .log
                .lock()
                .registrations
                .iter()
                .any(|(_, t)| t.iter().any(|x| x == topic))
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

/// An offset request (14, 15, 30, 31, 32) for one queue.
pub fn offset_request(code: i32, group: &str, topic: &str, queue_id: i32) -> RemotingCommand {
    RemotingCommand::request(code)
        .with_ext("consumerGroup", group)
        .with_ext("topic", topic)
        .with_ext("queueId", queue_id)
}

/// A consumer heartbeat for `group` subscribing to `topics` and its retry topic.
pub fn heartbeat(
    group: &str,
    client_id: &str,
    model: MessageModel,
    topics: &[&str],
) -> RemotingCommand {
    let mut subs: Vec<SubscriptionData> = topics
        .iter()
        .map(|t| SubscriptionData::tag(*t, "*"))
        .collect();
    subs.push(SubscriptionData::tag(format!("%RETRY%{group}"), "*"));
    let data = HeartbeatData {
        client_id: client_id.into(),
        producer_data_set: vec![ProducerData {
            group_name: "CLIENT_INNER_PRODUCER".into(),
        }],
        consumer_data_set: vec![ConsumerData {
            group_name: group.into(),
            consume_type: ConsumeType::ConsumePassively,
            message_model: model,
            consume_from_where: ConsumeFromWhere::ConsumeFromFirstOffset,
            subscription_data_set: subs,
            unit_mode: false,
        }],
        heartbeat_fingerprint: 0,
        without_sub: false,
    };
    RemotingCommand::request(request::HEART_BEAT).with_body(ferrocket_protocol::body::encode(&data))
}

/// A client that forwards every request the broker sends it.
pub fn notifying_client() -> (RemotingClient, mpsc::UnboundedReceiver<RemotingCommand>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handler: ClientRequestHandler = Arc::new(move |_ch: Channel, req: RemotingCommand| {
        let _ = tx.send(req);
        Box::pin(async { None })
    });
    (RemotingClient::with_handler(handler), rx)
}

/// GET_CONSUMER_LIST_BY_GROUP.
pub async fn consumer_ids(client: &RemotingClient, addr: &str, group: &str) -> RemotingCommand {
    call(
        client,
        addr,
        RemotingCommand::request(request::GET_CONSUMER_LIST_BY_GROUP)
            .with_ext("consumerGroup", group),
    )
    .await
}

/// Pulls `topic` queue `queue_id` from `offset` until something is found or `PROMPT` passes.
pub async fn pull_until_found(
    client: &RemotingClient,
    addr: &str,
    topic: &str,
    queue_id: i32,
    offset: i64,
) -> RemotingCommand {
    let deadline = Instant::now() + PROMPT;
    loop {
        let r = call(
            client,
            addr,
            pull("waiter", topic, queue_id, offset, SUBSCRIBE, Some("*"), 0),
        )
        .await;
        if r.code == response::SUCCESS || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A transactional (half) send.
pub fn half_message(topic: &str, group: &str, body: &[u8]) -> RemotingCommand {
    let mut cmd = send_v2(topic, 0, None, body);
    let props = format!(
        "{}TRAN_MSG\u{1}true\u{2}PGROUP\u{1}{group}\u{2}",
        cmd.ext("i").unwrap()
    );
    cmd.ext_fields.insert("i", props);
    cmd.ext_fields.insert("f", "4");
    cmd
}

/// END_TRANSACTION for the half message `send` answered.
pub fn end_transaction(group: &str, send: &RemotingCommand, commit: bool) -> RemotingCommand {
    let (_, commit_log_offset) =
        ferrocket_protocol::util::decode_message_id(send.ext("msgId").unwrap()).unwrap();
    RemotingCommand::request(request::END_TRANSACTION)
        .with_ext("producerGroup", group)
        .with_ext("tranStateTableOffset", send.ext("queueOffset").unwrap())
        .with_ext("commitLogOffset", commit_log_offset)
        .with_ext("commitOrRollback", if commit { 8 } else { 12 })
        .with_ext("fromTransactionCheck", "false")
        .with_ext("msgId", send.ext("transactionId").unwrap())
}
