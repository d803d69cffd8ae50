//! `ferrocket broker` as a master and a slave (`brokerRole=SLAVE`): the slave copies what the
//! master took, and when the master stops `ferrocket consume` (the Rust client) reads every
//! message from the slave and commits its offsets there.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::ferrocket;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_testkit::{free_port, free_port_block, run_to_exit, Running};

const START: Duration = Duration::from_secs(60);
const TOPIC: &str = "ReplicaTopic";
const GROUP: &str = "replica-readers";
const MESSAGES: usize = 20;

fn start_broker(dir: &Path, namesrv: &str, id: i64, port: u16) -> Running {
    let role = if id == 0 { "ASYNC_MASTER" } else { "SLAVE" };
    let conf = dir.join(format!("broker-{id}.conf"));
    std::fs::write(
        &conf,
        format!(
            "brokerClusterName=ReplicaCluster\nbrokerName=broker-a\nbrokerId={id}\n\
             brokerRole={role}\nlistenPort={port}\nbrokerIP1=127.0.0.1\nnamesrvAddr={namesrv}\n\
             mappedFileSizeCommitLog=4194304\nconsoleEnable=false\ndefaultTopicQueueNums=4\n"
        ),
    )
    .unwrap();
    let store = dir.join(format!("store-{id}"));
    let mut broker = Running::spawn(ferrocket(
        &[
            "broker",
            "-c",
            conf.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
        dir,
    ));
    broker.wait_stdout("is ready", START);
    broker
}

fn runtime_value(rt: &tokio::runtime::Runtime, addr: &str, key: &str) -> Option<i64> {
    rt.block_on(async {
        let client = RemotingClient::new();
        let r = client
            .invoke(
                addr,
                RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO),
                Duration::from_secs(5),
            )
            .await
            .ok()?;
        let v: serde_json::Value = ferrocket_protocol::body::decode(&r.body).ok()?;
        v["table"][key].as_str()?.parse().ok()
    })
}

fn ha_status(rt: &tokio::runtime::Runtime, addr: &str) -> serde_json::Value {
    rt.block_on(async {
        let r = RemotingClient::new()
            .invoke(
                addr,
                RemotingCommand::request(request::GET_BROKER_HA_STATUS),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        serde_json::from_slice(&r.body).unwrap()
    })
}

fn committed_on(rt: &tokio::runtime::Runtime, addr: &str) -> i64 {
    rt.block_on(async {
        let client = RemotingClient::new();
        let mut sum = 0;
        for queue_id in 0..4 {
            let cmd = RemotingCommand::request(request::QUERY_CONSUMER_OFFSET)
                .with_ext("consumerGroup", GROUP)
                .with_ext("topic", TOPIC)
                .with_ext("queueId", queue_id);
            let r = client
                .invoke(addr, cmd, Duration::from_secs(5))
                .await
                .unwrap();
            if r.code == response::SUCCESS {
                sum += r.ext("offset").unwrap().parse::<i64>().unwrap();
            }
        }
        sum
    })
}

fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn consume_reads_from_the_slave_while_the_master_is_down() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ns_addr = format!("127.0.0.1:{}", free_port());
    let mut ns = Running::spawn(ferrocket(&["namesrv", "--listen", &ns_addr], dir.path()));
    ns.wait_stdout("is ready", START);

    let master_port = free_port_block();
    let master_addr = format!("127.0.0.1:{master_port}");
    let mut master = start_broker(dir.path(), &ns_addr, 0, master_port);
    let (status, out, err) = run_to_exit(
        ferrocket(
            &[
                "produce",
                "--namesrv",
                &ns_addr,
                "--topic",
                TOPIC,
                "--count",
                &MESSAGES.to_string(),
                "--body",
                "replica-{i}",
            ],
            dir.path(),
        ),
        START,
    );
    assert!(status.success(), "{out}\n{err}");

    // the slave starts empty and catches up
    let slave_port = free_port_block();
    let slave_addr = format!("127.0.0.1:{slave_port}");
    let mut slave = start_broker(dir.path(), &ns_addr, 1, slave_port);
    let master_max = runtime_value(&rt, &master_addr, "commitLogMaxOffset").unwrap();
    assert!(master_max > 0);
    wait_until("the slave copies the commit log", START, || {
        runtime_value(&rt, &slave_addr, "commitLogMaxOffset") == Some(master_max)
    });

    // and takes the topic from the master (SlaveSynchronize) before the master goes
    slave.wait_stderr("topic configs taken from the master", START);

    // operators see the pair: clusterList shows the slave with no lag, haStatus both sides
    let (status, out, err) = run_to_exit(
        ferrocket(
            &["admin", "clusterList", "-n", &ns_addr, "--json"],
            dir.path(),
        ),
        START,
    );
    assert!(status.success(), "{out}\n{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let slave_row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["brokerId"] == 1)
        .unwrap_or_else(|| panic!("no slave row: {out}"));
    assert_eq!(slave_row["addr"], slave_addr.as_str(), "{out}");
    assert_eq!(slave_row["replicationLagBytes"], 0, "{out}");
    let master_ha = ha_status(&rt, &master_addr);
    assert_eq!(master_ha["master"], true, "{master_ha}");
    assert_eq!(
        master_ha["masterCommitLogMaxOffset"], master_max,
        "{master_ha}"
    );
    assert_eq!(master_ha["haConnectionInfo"][0]["diff"], 0, "{master_ha}");
    assert_eq!(master_ha["inSyncSlaveNums"], 1, "{master_ha}");
    let conn = &master_ha["haConnectionInfo"][0];
    assert_eq!(conn["slaveAckOffset"], master_max, "{master_ha}");
    assert_eq!(conn["transferFromWhere"], master_max, "{master_ha}");
    assert_eq!(conn["inSync"], true, "{master_ha}");
    assert!(
        conn["transferredByteInSecond"].as_i64().unwrap() >= 0,
        "{master_ha}"
    );
    let slave_ha = ha_status(&rt, &slave_addr);
    assert_eq!(slave_ha["master"], false, "{slave_ha}");
    assert_eq!(
        slave_ha["haClientRuntimeInfo"]["masterAddr"],
        format!("127.0.0.1:{}", master_port + 1),
        "{slave_ha}"
    );
    assert_eq!(
        slave_ha["haClientRuntimeInfo"]["maxOffset"], master_max,
        "{slave_ha}"
    );
    // the client is connected: it read from and reported to the master within the last
    // heartbeat interval (5 s) or so
    let now = ferrocket_protocol::util::now_millis();
    for key in ["lastReadTimestamp", "lastWriteTimestamp"] {
        let t = slave_ha["haClientRuntimeInfo"][key].as_i64().unwrap();
        assert!(now - t < 30_000 && t <= now + 1_000, "{key}: {slave_ha}");
    }
    // ferrocket admin haStatus prints what mqadmin 5.x does
    let admin = |addr: &str| {
        let (status, out, err) = run_to_exit(
            ferrocket(
                &["admin", "haStatus", "-n", &ns_addr, "-b", addr],
                dir.path(),
            ),
            START,
        );
        assert!(status.success(), "{out}\n{err}");
        out
    };
    let out = admin(&master_addr);
    assert!(
        out.contains(&format!("#MasterCommitLogMaxOffset\t{master_max}\n")),
        "{out}"
    );
    assert!(out.contains("#SlaveNum\t1\n#InSyncSlaveNum\t1\n"), "{out}");
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no slave row: {out}"))
        .split_whitespace()
        .collect();
    let end = master_max.to_string();
    assert_eq!(
        [row[1], row[2], row[4], row[5]],
        [end.as_str(), "0", "OK", end.as_str()],
        "{out}"
    );
    let out = admin(&slave_addr);
    assert!(
        out.contains(&format!("#MasterAddr\t127.0.0.1:{}\n", master_port + 1)),
        "{out}"
    );
    assert!(
        out.contains(&format!("#CommitLogMaxOffset\t{master_max}\n")),
        "{out}"
    );

    // brokerStatus: a 5.x slave runs no special services; both sides dispatched everything
    let active = |addr: &str| {
        rt.block_on(async {
            let r = RemotingClient::new()
                .invoke(
                    addr,
                    RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO),
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
            let v: serde_json::Value = ferrocket_protocol::body::decode(&r.body).unwrap();
            v["table"]["brokerActive"].as_str().unwrap().to_string()
        })
    };
    assert_eq!(active(&master_addr), "true");
    assert_eq!(active(&slave_addr), "false");
    for addr in [&master_addr, &slave_addr] {
        assert_eq!(runtime_value(&rt, addr, "dispatchBehindBytes"), Some(0));
    }
    // the slave copied the master's oldest record, so both report its store time
    let earliest = runtime_value(&rt, &master_addr, "earliestMessageTimeStamp").unwrap();
    assert!(now - earliest < 120_000 && earliest <= now, "{earliest}");
    assert_eq!(
        runtime_value(&rt, &slave_addr, "earliestMessageTimeStamp"),
        Some(earliest)
    );
    master.signal("TERM");
    assert!(
        master.wait_exit(START).success(),
        "{}",
        master.stderr_text()
    );

    let (status, out, err) = run_to_exit(
        ferrocket(
            &[
                "consume",
                "--namesrv",
                &ns_addr,
                "--topic",
                TOPIC,
                "--group",
                GROUP,
                "--count",
                &MESSAGES.to_string(),
                "--brief",
            ],
            dir.path(),
        ),
        START,
    );
    assert!(status.success(), "{out}\n{err}\n{}", slave.stderr_text());
    for i in 0..MESSAGES {
        assert!(
            out.contains(&format!("replica-{i}")),
            "replica-{i} missing:\n{out}"
        );
    }
    // the consumer committed its offsets to the slave
    wait_until("offsets committed on the slave", START, || {
        committed_on(&rt, &slave_addr) == MESSAGES as i64
    });

    slave.signal("TERM");
    assert!(slave.wait_exit(START).success(), "{}", slave.stderr_text());
    ns.signal("TERM");
    ns.wait_exit(START);
}
