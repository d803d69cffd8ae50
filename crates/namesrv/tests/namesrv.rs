//! The name server over real loopback sockets, driven the way brokers and clients drive it.

use std::time::{Duration, Instant};

use ferrocket_namesrv::{register_broker_body, NamesrvConfig, NamesrvController};
use ferrocket_protocol::body::route::{ClusterInfo, TopicRouteData};
use ferrocket_protocol::body::topic::{KvTable, RegisterBrokerBody, TopicConfig, TopicList};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::{RemotingCommand, SerializeType};
use ferrocket_remoting::RemotingClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(3);

async fn start() -> NamesrvController {
    start_with(NamesrvConfig::default()).await
}

async fn start_with(config: NamesrvConfig) -> NamesrvController {
    NamesrvController::start(NamesrvConfig {
        listen: "127.0.0.1:0".into(),
        ..config
    })
    .await
    .expect("name server starts")
}

/// A broker's topic table: `TopicTest` (4 queues, perm 6) and `TBW102` (8 queues, perm 7).
fn register_body(counter: i64) -> RegisterBrokerBody {
    let mut body = RegisterBrokerBody::default();
    let w = &mut body.topic_config_serialize_wrapper;
    w.topic_config_table
        .insert("TopicTest".into(), TopicConfig::new("TopicTest", 4));
    let mut tbw = TopicConfig::new("TBW102", 8);
    tbw.perm = 7;
    w.topic_config_table.insert("TBW102".into(), tbw);
    w.data_version.counter = counter;
    w.data_version.timestamp = 1_700_000_000_000;
    body
}

fn register_request(
    broker_name: &str,
    broker_addr: &str,
    body: &RegisterBrokerBody,
) -> RemotingCommand {
    let bytes = ferrocket_protocol::body::encode(body);
    RemotingCommand::request(request::REGISTER_BROKER)
        .with_ext("brokerName", broker_name)
        .with_ext("brokerAddr", broker_addr)
        .with_ext("clusterName", "DefaultCluster")
        .with_ext("haServerAddr", "127.0.0.1:10912")
        .with_ext("brokerId", 0)
        .with_ext("enableActingMaster", false)
        .with_ext("compressed", false)
        .with_ext("bodyCrc32", ferrocket_protocol::util::crc32(&bytes))
        .with_body(bytes)
}

async fn call(client: &RemotingClient, addr: &str, req: RemotingCommand) -> RemotingCommand {
    client
        .invoke(addr, req, TIMEOUT)
        .await
        .expect("name server answers")
}

async fn register(client: &RemotingClient, addr: &str, broker_name: &str, broker_addr: &str) {
    let r = call(
        client,
        addr,
        register_request(broker_name, broker_addr, &register_body(1)),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
}

async fn route(client: &RemotingClient, addr: &str, topic: &str) -> RemotingCommand {
    call(
        client,
        addr,
        RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", topic),
    )
    .await
}

/// Polls until `cond` holds or fails after 5 s.
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn registration_produces_a_route_with_quoted_keys_perms_and_queue_numbers() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new();
    register(&broker, &addr, "broker-a", "127.0.0.1:10911").await;

    let client = RemotingClient::new();
    // the Go client's version (317): a Java name server would answer with bare keys, we never do
    let req = RemotingCommand {
        version: 317,
        ..RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "TopicTest")
    };
    let r = call(&client, &addr, req).await;
    assert_eq!(r.code, response::SUCCESS);
    let text = std::str::from_utf8(&r.body).unwrap();
    assert!(
        text.contains(r#""brokerAddrs":{"0":"127.0.0.1:10911"}"#),
        "{text}"
    );
    let parsed: serde_json::Value = serde_json::from_str(text).expect("standard JSON");
    assert_eq!(parsed["queueDatas"][0]["perm"], 6);
    let route: TopicRouteData = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(route.queue_datas.len(), 1);
    let qd = &route.queue_datas[0];
    assert_eq!(
        (
            qd.broker_name.as_str(),
            qd.read_queue_nums,
            qd.write_queue_nums
        ),
        ("broker-a", 4, 4)
    );
    assert_eq!(route.broker_datas[0].cluster, "DefaultCluster");

    let tbw: TopicRouteData =
        ferrocket_protocol::body::decode(&route_body(&client, &addr, "TBW102").await).unwrap();
    assert_eq!(tbw.queue_datas[0].perm, 7);
    assert_eq!(tbw.queue_datas[0].write_queue_nums, 8);
}

async fn route_body(client: &RemotingClient, addr: &str, topic: &str) -> bytes::Bytes {
    let r = route(client, addr, topic).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    r.body
}

#[tokio::test]
async fn unknown_topic_is_topic_not_exist_with_rocketmq_remark() {
    let ns = start().await;
    let r = route(
        &RemotingClient::new(),
        &ns.local_addr().to_string(),
        "Missing",
    )
    .await;
    assert_eq!(r.code, response::TOPIC_NOT_EXIST);
    let remark = r.remark.unwrap();
    assert!(
        remark.starts_with("No topic route info in name server for the topic: Missing"),
        "{remark}"
    );
    assert!(r.body.is_empty());
}

#[tokio::test]
async fn unregister_removes_the_route() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new();
    register(&broker, &addr, "broker-a", "127.0.0.1:10911").await;
    let r = call(
        &broker,
        &addr,
        RemotingCommand::request(request::UNREGISTER_BROKER)
            .with_ext("brokerName", "broker-a")
            .with_ext("brokerAddr", "127.0.0.1:10911")
            .with_ext("clusterName", "DefaultCluster")
            .with_ext("brokerId", 0),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(
        route(&broker, &addr, "TopicTest").await.code,
        response::TOPIC_NOT_EXIST
    );
    let info: ClusterInfo = cluster_info(&broker, &addr).await;
    assert!(info.broker_addr_table.is_empty() && info.cluster_addr_table.is_empty());
}

#[tokio::test]
async fn silent_broker_expires_and_its_connection_is_closed() {
    let ns = start_with(NamesrvConfig {
        scan_not_active_broker_interval_ms: 50,
        ..Default::default()
    })
    .await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new();
    let req = register_request("broker-a", "127.0.0.1:10911", &register_body(1))
        .with_ext("heartbeatTimeoutMillis", 300);
    assert_eq!(call(&broker, &addr, req).await.code, response::SUCCESS);
    let channel = broker.channel(&addr).await.unwrap();
    let client = RemotingClient::new();
    assert_eq!(
        route(&client, &addr, "TopicTest").await.code,
        response::SUCCESS
    );
    eventually("the silent broker's route to disappear", || async {
        route(&client, &addr, "TopicTest").await.code == response::TOPIC_NOT_EXIST
    })
    .await;
    eventually("the expired broker's connection to close", || {
        let active = channel.is_active();
        async move { !active }
    })
    .await;
}

#[tokio::test]
async fn heartbeat_keeps_a_broker_alive() {
    let ns = start_with(NamesrvConfig {
        scan_not_active_broker_interval_ms: 50,
        ..Default::default()
    })
    .await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new();
    let req = register_request("broker-a", "127.0.0.1:10911", &register_body(1))
        .with_ext("heartbeatTimeoutMillis", 400);
    assert_eq!(call(&broker, &addr, req).await.code, response::SUCCESS);
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let hb = RemotingCommand::request(request::BROKER_HEARTBEAT)
            .with_ext("clusterName", "DefaultCluster")
            .with_ext("brokerAddr", "127.0.0.1:10911")
            .with_ext("brokerName", "broker-a");
        assert_eq!(call(&broker, &addr, hb).await.code, response::SUCCESS);
    }
    assert_eq!(
        route(&broker, &addr, "TopicTest").await.code,
        response::SUCCESS
    );
}

#[tokio::test]
async fn closing_the_broker_connection_unregisters_it() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new();
    register(&broker, &addr, "broker-a", "127.0.0.1:10911").await;
    let client = RemotingClient::new();
    assert_eq!(
        route(&client, &addr, "TopicTest").await.code,
        response::SUCCESS
    );
    broker.close_all().await;
    eventually("the closed broker's route to disappear", || async {
        route(&client, &addr, "TopicTest").await.code == response::TOPIC_NOT_EXIST
    })
    .await;
    // a client connection closing must not touch brokers registered over other connections
    register(&broker, &addr, "broker-a", "127.0.0.1:10911").await;
    client.close_all().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        route(&RemotingClient::new(), &addr, "TopicTest").await.code,
        response::SUCCESS
    );
}

async fn cluster_info(client: &RemotingClient, addr: &str) -> ClusterInfo {
    let r = call(
        client,
        addr,
        RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS);
    ferrocket_protocol::body::decode(&r.body).unwrap()
}

#[tokio::test]
async fn cluster_info_lists_brokers_and_clusters() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new();
    register(&broker, &addr, "broker-a", "127.0.0.1:10911").await;
    register(&broker, &addr, "broker-b", "127.0.0.1:10921").await;
    let info = cluster_info(&broker, &addr).await;
    assert_eq!(info.cluster_addr_table["DefaultCluster"].len(), 2);
    assert_eq!(
        info.broker_addr_table["broker-b"].master_addr(),
        Some("127.0.0.1:10921")
    );
    // and the route of a topic on both brokers lists both
    let route: TopicRouteData =
        ferrocket_protocol::body::decode(&route_body(&broker, &addr, "TopicTest").await).unwrap();
    let names: Vec<_> = route
        .queue_datas
        .iter()
        .map(|q| q.broker_name.as_str())
        .collect();
    assert_eq!(names, ["broker-a", "broker-b"]);
}

#[tokio::test]
async fn topic_lists() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let client = RemotingClient::new();
    register(&client, &addr, "broker-a", "127.0.0.1:10911").await;
    let all = call(
        &client,
        &addr,
        RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    let all: TopicList = ferrocket_protocol::body::decode(&all.body).unwrap();
    assert_eq!(
        all.topic_list.iter().collect::<Vec<_>>(),
        ["TBW102", "TopicTest"]
    );

    let by_cluster = call(
        &client,
        &addr,
        RemotingCommand::request(request::GET_TOPICS_BY_CLUSTER)
            .with_ext("cluster", "DefaultCluster"),
    )
    .await;
    let by_cluster: TopicList = ferrocket_protocol::body::decode(&by_cluster.body).unwrap();
    assert_eq!(by_cluster.topic_list.len(), 2);

    let sys = call(
        &client,
        &addr,
        RemotingCommand::request(request::GET_SYSTEM_TOPIC_LIST_FROM_NS),
    )
    .await;
    let sys: TopicList = ferrocket_protocol::body::decode(&sys.body).unwrap();
    assert!(sys.topic_list.contains("DefaultCluster") && sys.topic_list.contains("broker-a"));
    assert_eq!(sys.broker_addr.as_deref(), Some("127.0.0.1:10911"));

    for code in [
        request::GET_UNIT_TOPIC_LIST,
        request::GET_HAS_UNIT_SUB_TOPIC_LIST,
        request::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST,
    ] {
        let r = call(&client, &addr, RemotingCommand::request(code)).await;
        assert_eq!(r.code, response::SUCCESS);
        assert_eq!(std::str::from_utf8(&r.body).unwrap(), r#"{"topicList":[]}"#);
    }

    let del = call(
        &client,
        &addr,
        RemotingCommand::request(request::DELETE_TOPIC_IN_NAMESRV).with_ext("topic", "TopicTest"),
    )
    .await;
    assert_eq!(del.code, response::SUCCESS);
    assert_eq!(
        route(&client, &addr, "TopicTest").await.code,
        response::TOPIC_NOT_EXIST
    );
}

#[tokio::test]
async fn write_permission_can_be_wiped_and_restored() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let client = RemotingClient::new();
    register(&client, &addr, "broker-a", "127.0.0.1:10911").await;
    let wipe = call(
        &client,
        &addr,
        RemotingCommand::request(request::WIPE_WRITE_PERM_OF_BROKER)
            .with_ext("brokerName", "broker-a"),
    )
    .await;
    assert_eq!(wipe.ext("wipeTopicCount"), Some("2"));
    let r: TopicRouteData =
        ferrocket_protocol::body::decode(&route_body(&client, &addr, "TopicTest").await).unwrap();
    assert_eq!(r.queue_datas[0].perm, 4);
    let add = call(
        &client,
        &addr,
        RemotingCommand::request(request::ADD_WRITE_PERM_OF_BROKER)
            .with_ext("brokerName", "broker-a"),
    )
    .await;
    assert_eq!(add.ext("addTopicCount"), Some("2"));
    let r: TopicRouteData =
        ferrocket_protocol::body::decode(&route_body(&client, &addr, "TopicTest").await).unwrap();
    assert_eq!(r.queue_datas[0].perm, 6);
}

#[tokio::test]
async fn kv_config() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let c = RemotingClient::new();
    let put = RemotingCommand::request(request::PUT_KV_CONFIG)
        .with_ext("namespace", "ORDER_TOPIC_CONFIG")
        .with_ext("key", "TopicTest")
        .with_ext("value", "broker-a:4");
    assert_eq!(call(&c, &addr, put).await.code, response::SUCCESS);
    let get = || {
        RemotingCommand::request(request::GET_KV_CONFIG)
            .with_ext("namespace", "ORDER_TOPIC_CONFIG")
            .with_ext("key", "TopicTest")
    };
    let r = call(&c, &addr, get()).await;
    assert_eq!(
        (r.code, r.ext("value")),
        (response::SUCCESS, Some("broker-a:4"))
    );
    let list = call(
        &c,
        &addr,
        RemotingCommand::request(request::GET_KVLIST_BY_NAMESPACE)
            .with_ext("namespace", "ORDER_TOPIC_CONFIG"),
    )
    .await;
    let table: KvTable = ferrocket_protocol::body::decode(&list.body).unwrap();
    assert_eq!(table.table["TopicTest"], "broker-a:4");

    // a registering broker is handed the ORDER_TOPIC_CONFIG namespace
    let reg = call(
        &c,
        &addr,
        register_request("broker-a", "127.0.0.1:10911", &register_body(1)),
    )
    .await;
    let table: KvTable = ferrocket_protocol::body::decode(&reg.body).unwrap();
    assert_eq!(table.table.len(), 1);

    let del = RemotingCommand::request(request::DELETE_KV_CONFIG)
        .with_ext("namespace", "ORDER_TOPIC_CONFIG")
        .with_ext("key", "TopicTest");
    assert_eq!(call(&c, &addr, del).await.code, response::SUCCESS);
    assert_eq!(call(&c, &addr, get()).await.code, response::QUERY_NOT_FOUND);
    let list = call(
        &c,
        &addr,
        RemotingCommand::request(request::GET_KVLIST_BY_NAMESPACE)
            .with_ext("namespace", "ORDER_TOPIC_CONFIG"),
    )
    .await;
    assert_eq!(list.code, response::QUERY_NOT_FOUND);
    let bad = RemotingCommand::request(request::PUT_KV_CONFIG).with_ext("key", "k");
    assert_eq!(call(&c, &addr, bad).await.code, response::SYSTEM_ERROR);
}

#[tokio::test]
async fn order_topic_conf_is_added_to_routes_when_enabled() {
    let ns = start_with(NamesrvConfig {
        order_message_enable: true,
        ..Default::default()
    })
    .await;
    let addr = ns.local_addr().to_string();
    let c = RemotingClient::new();
    register(&c, &addr, "broker-a", "127.0.0.1:10911").await;
    ns.kv_config_manager()
        .put_kv_config("ORDER_TOPIC_CONFIG", "TopicTest", "broker-a:4");
    let r: TopicRouteData =
        ferrocket_protocol::body::decode(&route_body(&c, &addr, "TopicTest").await).unwrap();
    assert_eq!(r.order_topic_conf.as_deref(), Some("broker-a:4"));
}

#[tokio::test]
async fn unknown_code_is_request_code_not_supported() {
    let ns = start().await;
    let r = call(
        &RemotingClient::new(),
        &ns.local_addr().to_string(),
        RemotingCommand::request(10),
    )
    .await;
    assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(r.remark.as_deref(), Some(" request type 10 not supported"));
}

#[tokio::test]
async fn missing_header_field_is_system_error_naming_it() {
    let ns = start().await;
    let r = call(
        &RemotingClient::new(),
        &ns.local_addr().to_string(),
        RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC),
    )
    .await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("topic"));
}

#[tokio::test]
async fn garbage_bytes_close_only_that_connection() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let broker = RemotingClient::new();
    register(&broker, &addr, "broker-a", "127.0.0.1:10911").await;
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"\x00\x00\x00\x10\x07garbage-garbage!")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(TIMEOUT, sock.read(&mut buf))
        .await
        .expect("the name server closes a connection that sent garbage")
        .unwrap_or(0);
    assert_eq!(n, 0);
    // the broker's own connection and registration are untouched
    assert!(broker.channel(&addr).await.unwrap().is_active());
    assert_eq!(
        route(&broker, &addr, "TopicTest").await.code,
        response::SUCCESS
    );
}

#[tokio::test]
async fn compressed_registration_and_crc_check() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let c = RemotingClient::new();
    let compressed = register_broker_body::encode_compressed(&register_body(1));
    let req = RemotingCommand::request(request::REGISTER_BROKER)
        .with_ext("brokerName", "broker-z")
        .with_ext("brokerAddr", "127.0.0.1:20911")
        .with_ext("clusterName", "DefaultCluster")
        .with_ext("haServerAddr", "127.0.0.1:20912")
        .with_ext("brokerId", 0)
        .with_ext("compressed", true)
        .with_ext("bodyCrc32", ferrocket_protocol::util::crc32(&compressed))
        .with_body(compressed);
    assert_eq!(call(&c, &addr, req).await.code, response::SUCCESS);
    let r: TopicRouteData =
        ferrocket_protocol::body::decode(&route_body(&c, &addr, "TBW102").await).unwrap();
    assert_eq!(r.queue_datas[0].perm, 7);

    let bad = register_request("broker-y", "127.0.0.1:30911", &register_body(1))
        .with_ext("bodyCrc32", 12345);
    let r = call(&c, &addr, bad).await;
    assert_eq!(
        (r.code, r.remark.as_deref()),
        (response::SYSTEM_ERROR, Some("crc32 not match"))
    );
    assert_eq!(cluster_info(&c, &addr).await.broker_addr_table.len(), 1);
}

#[tokio::test]
async fn query_data_version_reports_changes() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let c = RemotingClient::new();
    register(&c, &addr, "broker-a", "127.0.0.1:10911").await;
    let query = |counter: i64| {
        let mut v = register_body(counter)
            .topic_config_serialize_wrapper
            .data_version;
        v.counter = counter;
        RemotingCommand::request(request::QUERY_DATA_VERSION)
            .with_ext("brokerName", "broker-a")
            .with_ext("brokerAddr", "127.0.0.1:10911")
            .with_ext("clusterName", "DefaultCluster")
            .with_ext("brokerId", 0)
            .with_body(ferrocket_protocol::body::encode(&v))
    };
    let same = call(&c, &addr, query(1)).await;
    assert_eq!(
        (same.code, same.ext("changed")),
        (response::SUCCESS, Some("false"))
    );
    assert!(!same.body.is_empty());
    let changed = call(&c, &addr, query(2)).await;
    assert_eq!(changed.ext("changed"), Some("true"));
}

#[tokio::test]
async fn namesrv_config_can_be_read_and_updated() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let c = RemotingClient::new();
    let get = || RemotingCommand::request(request::GET_NAMESRV_CONFIG);
    let text = String::from_utf8(call(&c, &addr, get()).await.body.to_vec()).unwrap();
    assert!(text.contains("enableAllTopicList=true"), "{text}");
    let upd = RemotingCommand::request(request::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"enableAllTopicList=false\n"[..]);
    assert_eq!(call(&c, &addr, upd).await.code, response::SUCCESS);
    let all = call(
        &c,
        &addr,
        RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER),
    )
    .await;
    assert_eq!(
        (all.code, all.remark.as_deref()),
        (response::SYSTEM_ERROR, Some("disable"))
    );
    let black = RemotingCommand::request(request::UPDATE_NAMESRV_CONFIG)
        .with_body(&b"kvConfigPath=/tmp/x\n"[..]);
    assert_eq!(call(&c, &addr, black).await.code, response::NO_PERMISSION);
}

#[tokio::test]
async fn binary_header_requests_are_answered_in_kind() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let c = RemotingClient::new();
    register(&c, &addr, "broker-a", "127.0.0.1:10911").await;
    let mut req =
        RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "TopicTest");
    req.serialize_type = SerializeType::RocketMq;
    let r = call(&c, &addr, req).await;
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(r.serialize_type, SerializeType::RocketMq);
}

#[tokio::test]
async fn independent_name_servers_each_hold_the_routes_registered_with_them() {
    let (a, b) = (start().await, start().await);
    let broker = RemotingClient::new();
    for ns in [&a, &b] {
        register(
            &broker,
            &ns.local_addr().to_string(),
            "broker-a",
            "127.0.0.1:10911",
        )
        .await;
    }
    let client = RemotingClient::new();
    for ns in [&a, &b] {
        assert_eq!(
            route(&client, &ns.local_addr().to_string(), "TopicTest")
                .await
                .code,
            response::SUCCESS
        );
    }
    a.shutdown();
    assert_eq!(
        route(&client, &b.local_addr().to_string(), "TopicTest")
            .await
            .code,
        response::SUCCESS
    );
}

#[tokio::test]
async fn shutdown_stops_accepting_and_closes_connections() {
    let ns = start().await;
    let addr = ns.local_addr().to_string();
    let c = RemotingClient::new();
    let ch = c.channel(&addr).await.unwrap();
    ns.shutdown();
    ns.shutdown();
    eventually("the open connection to close", || {
        let active = ch.is_active();
        async move { !active }
    })
    .await;
    assert!(RemotingClient::new()
        .invoke(
            &addr,
            RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
            Duration::from_millis(500)
        )
        .await
        .is_err());
}

#[tokio::test]
async fn bind_failure_names_the_address() {
    let first = start().await;
    let addr = first.local_addr().to_string();
    let err = NamesrvController::start(NamesrvConfig {
        listen: addr.clone(),
        ..Default::default()
    })
    .await
    .err()
    .expect("the port is taken");
    assert!(err.to_string().contains(&addr), "{err}");
}
