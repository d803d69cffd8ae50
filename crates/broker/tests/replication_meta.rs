//! A master and a slave (`brokerRole=SLAVE`) registered with one name server: the route lists
//! both, the slave learns its master's addresses from the registration answer, pulls the
//! master's metadata (SlaveSynchronize) and persists it, refuses writes as RocketMQ 4.9 does,
//! never moves a consumer's offset; the master suggests the slave for data that left memory.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferrocket_broker::{config_manager, BrokerConfig, BrokerController};
use ferrocket_namesrv::{NamesrvConfig, NamesrvController};
use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::body::subscription_group_config::SubscriptionGroupConfig;
use ferrocket_protocol::body::topic::TopicConfig;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::send_message::SendMessageRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_store::{BrokerRole, MessageStoreConfig};
use tempfile::TempDir;

const TOPIC: &str = "ReplicatedTopic";
const GROUP: &str = "replicated-group";
/// SlaveSynchronize's first round comes 3 s after start; generous on a busy machine.
const SYNC: Duration = Duration::from_secs(30);

async fn namesrv() -> NamesrvController {
    NamesrvController::start(NamesrvConfig {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .await
    .unwrap()
}

fn member_config(namesrv: &str, broker_id: i64) -> BrokerConfig {
    BrokerConfig {
        broker_name: "broker-r".into(),
        broker_id,
        namesrv_addr: Some(namesrv.to_string()),
        ..broker_config()
    }
}

async fn start_member(
    dir: &Path,
    config: BrokerConfig,
    role: BrokerRole,
    tweak: impl FnOnce(&mut MessageStoreConfig),
) -> Arc<BrokerController> {
    let mut store = store_config(dir);
    store.broker_role = role;
    tweak(&mut store);
    BrokerController::start(config, store)
        .await
        .expect("broker starts")
}

/// A slave without name server or master.
async fn start_lone_slave(dir: &Path) -> Arc<BrokerController> {
    let config = BrokerConfig {
        broker_id: 1,
        ..broker_config()
    };
    start_member(dir, config, BrokerRole::Slave, |_| {}).await
}

async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + SYNC;
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn route(client: &RemotingClient, namesrv: &str) -> TopicRouteData {
    let r = call(
        client,
        namesrv,
        RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", TOPIC),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    ferrocket_protocol::body::decode(&r.body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slave_learns_its_master_and_follows_its_metadata() {
    let ns = namesrv().await;
    let ns_addr = ns.local_addr().to_string();
    let master_dir = TempDir::new().unwrap();
    let master = start_member(
        master_dir.path(),
        member_config(&ns_addr, 0),
        BrokerRole::AsyncMaster,
        |_| {},
    )
    .await;
    master
        .topic_config_manager()
        .update_topic_config(TopicConfig::new(TOPIC, 2));
    master
        .subscription_group_manager()
        .update_subscription_group_config(SubscriptionGroupConfig {
            retry_max_times: 5,
            ..SubscriptionGroupConfig::new(GROUP)
        });
    master
        .consumer_offset_manager()
        .commit_offset("test", GROUP, TOPIC, 1, 42);
    master.register_broker_all().await;
    // a delayed message moves the master's delay offset of level 1 (1 s) once delivered
    let client = RemotingClient::new();
    let mut delayed = SendMessageRequestHeader::new("test_producer_group", TOPIC);
    delayed.properties = Some("DELAY\u{1}1\u{2}WAIT\u{1}true\u{2}".into());
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2);
    delayed.encode_v2(&mut cmd.ext_fields);
    cmd.body = bytes::Bytes::from_static(b"later");
    let master_addr = master.local_addr().to_string();
    let r = call(&client, &master_addr, cmd).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let delay_offsets = |b: &Arc<BrokerController>| -> serde_json::Value {
        let body = b.schedule_message_service().encode_offsets();
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["offsetTable"].clone()
    };
    wait_until("the master delivers the delayed message", || {
        delay_offsets(&master)["1"] == 1
    })
    .await;

    let slave_dir = TempDir::new().unwrap();
    let slave = start_member(
        slave_dir.path(),
        member_config(&ns_addr, 1),
        BrokerRole::Slave,
        |_| {},
    )
    .await;

    // the name server routes the group to both, and told the slave where its master is
    let r = route(&client, &ns_addr).await;
    assert_eq!(r.broker_datas.len(), 1, "{r:?}");
    let addrs = &r.broker_datas[0].broker_addrs;
    assert_eq!(addrs.get(&0), Some(&master.broker_addr()), "{r:?}");
    assert_eq!(addrs.get(&1), Some(&slave.broker_addr()), "{r:?}");
    assert_eq!(slave.master_addr(), Some(master.broker_addr()));
    assert_eq!(slave.master_ha_addr(), Some(master.ha_server_addr()));
    assert_eq!(
        master.master_addr(),
        None,
        "a master gets no master address"
    );

    wait_until(
        "the slave takes the master's topics, groups and offsets",
        || {
            slave
                .topic_config_manager()
                .select_topic_config(TOPIC)
                .is_some()
                && slave
                    .subscription_group_manager()
                    .get(GROUP)
                    .is_some_and(|g| g.retry_max_times == 5)
                && slave
                    .consumer_offset_manager()
                    .query_offset(GROUP, TOPIC, 1)
                    == 42
        },
    )
    .await;
    assert_eq!(
        slave.topic_config_manager().data_version(),
        master.topic_config_manager().data_version(),
        "the slave adopts the master's topic data version"
    );
    // persisted on the slave, in RocketMQ's files (topics and groups by the background
    // writer, within its persist bound)
    let slave_root = slave_dir.path();
    let file_has = |path: std::path::PathBuf, what: &str| {
        std::fs::read_to_string(path).is_ok_and(|text| text.contains(what))
    };
    wait_until("the slave's topics.json and subscriptionGroup.json", || {
        file_has(config_manager::topic_config_path(slave_root), TOPIC)
            && file_has(config_manager::subscription_group_path(slave_root), GROUP)
    })
    .await;
    let offsets =
        std::fs::read_to_string(config_manager::consumer_offset_path(slave_root)).unwrap();
    assert!(offsets.contains(&format!("{TOPIC}@{GROUP}")), "{offsets}");
    let delay: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(config_manager::delay_offset_path(slave_root)).unwrap(),
    )
    .unwrap();
    assert_eq!(delay["offsetTable"]["1"], 1, "{delay}");
    assert_eq!(delay["offsetTable"], delay_offsets(&master), "{delay}");

    // a later change on the master reaches the slave on the next round
    master
        .consumer_offset_manager()
        .commit_offset("test", GROUP, TOPIC, 0, 9);
    wait_until("the slave takes a new offset", || {
        slave
            .consumer_offset_manager()
            .query_offset(GROUP, TOPIC, 0)
            == 9
    })
    .await;

    slave.shutdown().await;
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_ha_master_address_wins_over_the_name_server() {
    let ns = namesrv().await;
    let ns_addr = ns.local_addr().to_string();
    let master_dir = TempDir::new().unwrap();
    let master = start_member(
        master_dir.path(),
        member_config(&ns_addr, 0),
        BrokerRole::AsyncMaster,
        |_| {},
    )
    .await;
    let slave_dir = TempDir::new().unwrap();
    let slave = start_member(
        slave_dir.path(),
        member_config(&ns_addr, 1),
        BrokerRole::Slave,
        |s| s.ha_master_address = Some("127.0.0.1:1".into()),
    )
    .await;
    slave.register_broker_all().await;
    assert_eq!(slave.master_ha_addr().as_deref(), Some("127.0.0.1:1"));
    // metadata still comes from the master the name server names
    assert_eq!(slave.master_addr(), Some(master.broker_addr()));
    slave.shutdown().await;
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slave_refuses_writes_with_rocketmq_codes_and_accepts_offset_commits() {
    let dir = TempDir::new().unwrap();
    let slave = start_lone_slave(dir.path()).await;
    let addr = slave.local_addr().to_string();
    let client = RemotingClient::new();

    let r = call(&client, &addr, send_v2(TOPIC, 0, None, b"x")).await;
    assert_eq!(r.code, response::SERVICE_NOT_AVAILABLE);
    let remark = r.remark.unwrap_or_default();
    assert!(remark.contains("messages are put to the slave"), "{remark}");

    let create = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
        .with_ext("topic", TOPIC)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("readQueueNums", 4)
        .with_ext("writeQueueNums", 4)
        .with_ext("perm", 6)
        .with_ext("topicFilterType", "SINGLE_TAG");
    let r = call(&client, &addr, create).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert_eq!(
        r.remark.as_deref(),
        Some("Can't modify topic or subscription group from slave broker, please execute it from master broker.")
    );
    assert!(slave
        .topic_config_manager()
        .select_topic_config(TOPIC)
        .is_none());

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(request::DELETE_SUBSCRIPTIONGROUP).with_ext("groupName", GROUP),
    )
    .await;
    assert_eq!(r.code, response::SYSTEM_ERROR);

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(request::END_TRANSACTION),
    )
    .await;
    assert_eq!(r.code, response::SLAVE_NOT_AVAILABLE);

    let r = call(
        &client,
        &addr,
        RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK),
    )
    .await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert_eq!(r.remark.as_deref(), Some("SERVICE_NOT_AVAILABLE"));

    // offsets are accepted: consumers commit to the slave while the master is away (the
    // topic and group, as all metadata, came from the master)
    slave
        .subscription_group_manager()
        .update_subscription_group_config(SubscriptionGroupConfig::new(GROUP));
    slave
        .topic_config_manager()
        .update_topic_config(TopicConfig::new(TOPIC, 4));
    let commit = offset_request(request::UPDATE_CONSUMER_OFFSET, GROUP, TOPIC, 2)
        .with_ext("commitOffset", 17);
    let r = call(&client, &addr, commit).await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(
        slave
            .consumer_offset_manager()
            .query_offset(GROUP, TOPIC, 2),
        17
    );
    slave.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slave_pull_beyond_its_copy_retries_instead_of_moving_the_offset() {
    let dir = TempDir::new().unwrap();
    let slave = start_lone_slave(dir.path()).await;
    slave
        .topic_config_manager()
        .update_topic_config(TopicConfig::new(TOPIC, 2));
    let addr = slave.local_addr().to_string();
    let client = RemotingClient::new();
    let r = call(
        &client,
        &addr,
        pull(GROUP, TOPIC, 0, 5, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(r.code, response::PULL_RETRY_IMMEDIATELY, "{:?}", r.remark);
    assert_eq!(r.ext("nextBeginOffset"), Some("5"));
    slave.shutdown().await;
}

/// A master with `slaveReadEnable=true`, the topic of one queue and the given
/// `accessMessageInMemoryMaxRatio`.
async fn start_reading_master(dir: &Path, ratio: u32) -> Arc<BrokerController> {
    let config = BrokerConfig {
        slave_read_enable: true,
        ..broker_config()
    };
    let master = start_member(dir, config, BrokerRole::AsyncMaster, |s| {
        s.access_message_in_memory_max_ratio = ratio
    })
    .await;
    master
        .topic_config_manager()
        .update_topic_config(TopicConfig::new(TOPIC, 1));
    master
}

/// The `suggestWhichBrokerId` of a pull from offset 0, which must find messages.
async fn suggestion(client: &RemotingClient, addr: &str) -> String {
    let r = call(
        client,
        addr,
        pull(GROUP, TOPIC, 0, 0, SUBSCRIBE, Some("*"), 0),
    )
    .await;
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    r.ext("suggestWhichBrokerId")
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_suggests_the_slave_for_data_out_of_memory_only_with_slave_read_enable() {
    let client = RemotingClient::new();
    // ratio 0: no byte counts as in memory, every pull reads "old" data
    let dir = TempDir::new().unwrap();
    let master = start_reading_master(dir.path(), 0).await;
    let addr = master.local_addr().to_string();
    for i in 0..3 {
        send_ok(&client, &addr, TOPIC, 0, None, format!("m{i}").as_bytes()).await;
    }
    assert_eq!(
        suggestion(&client, &addr).await,
        "1",
        "whichBrokerWhenConsumeSlowly"
    );
    // without slaveReadEnable the master keeps its consumers
    let mut config = (*master.broker_config()).clone();
    config.slave_read_enable = false;
    master.replace_broker_config(config);
    assert_eq!(
        suggestion(&client, &addr).await,
        "0",
        "without slaveReadEnable"
    );
    master.shutdown().await;

    // the default ratio: fresh data stays on the master (the group's brokerId, 0)
    let dir = TempDir::new().unwrap();
    let master = start_reading_master(dir.path(), 40).await;
    let addr = master.local_addr().to_string();
    send_ok(&client, &addr, TOPIC, 0, None, b"fresh").await;
    assert_eq!(suggestion(&client, &addr).await, "0", "fresh data");
    master.shutdown().await;
}
