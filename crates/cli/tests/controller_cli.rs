//! `ferrocket controller`: three controller processes on loopback elect a leader, replicate the
//! broker-set metadata through their Raft log, survive `kill -9` of the leader and recover
//! their state from disk.

mod common;

use std::time::Duration;

use common::ferrocket;
use ferrocket_controller::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_testkit::{free_port, Running};

const WAIT: Duration = Duration::from_secs(30);

struct Quorum {
    dir: tempfile::TempDir,
    addrs: Vec<String>,
    procs: Vec<Option<Running>>,
}

impl Quorum {
    fn new() -> Quorum {
        let dir = tempfile::tempdir().unwrap();
        let addrs: Vec<String> = (0..3)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        let peers: Vec<String> = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("n{i}-{a}"))
            .collect();
        for i in 0..3 {
            let conf = format!(
                "controllerDLegerGroup=group1\ncontrollerDLegerPeers={}\ncontrollerDLegerSelfId=n{i}\n\
                 controllerStorePath={}\nscanNotActiveBrokerInterval=500\nscanInactiveMasterInterval=500\n\
                 electionTimeoutMillis=600\nsnapshotThreshold=3\n",
                peers.join(";"),
                dir.path().join(format!("store{i}")).display()
            );
            std::fs::write(dir.path().join(format!("c{i}.conf")), conf).unwrap();
        }
        let mut q = Quorum {
            dir,
            addrs,
            procs: vec![None, None, None],
        };
        for i in 0..3 {
            q.start(i);
        }
        q
    }

    fn start(&mut self, i: usize) {
        let conf = self.dir.path().join(format!("c{i}.conf"));
        let mut p = Running::spawn(ferrocket(
            &["controller", "-c", conf.to_str().unwrap()],
            self.dir.path(),
        ));
        p.wait_stdout("controller is ready", WAIT);
        self.procs[i] = Some(p);
    }

    fn kill9(&mut self, i: usize) {
        if let Some(p) = self.procs[i].take() {
            p.signal("KILL");
            drop(p);
        }
    }

    fn stop(&mut self, i: usize) {
        if let Some(mut p) = self.procs[i].take() {
            p.signal("TERM");
            assert!(
                p.wait_exit(Duration::from_secs(10)).success(),
                "{}",
                p.stderr_text()
            );
        }
    }
}

fn call(
    rt: &tokio::runtime::Runtime,
    addr: &str,
    code: i32,
    ext: &[(&'static str, &str)],
    body: &[u8],
) -> Option<RemotingCommand> {
    let mut cmd = RemotingCommand::request(code);
    for (k, v) in ext {
        cmd = cmd.with_ext(*k, *v);
    }
    if !body.is_empty() {
        cmd = cmd.with_body(body.to_vec());
    }
    rt.block_on(async {
        RemotingClient::new()
            .invoke(addr, cmd, Duration::from_secs(3))
            .await
            .ok()
    })
}

fn eventually<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    common::eventually(what, WAIT, f)
}

/// The leader's index among `alive`, once every one of them names the same leader.
fn leader(rt: &tokio::runtime::Runtime, q: &Quorum, alive: &[usize]) -> usize {
    eventually("an agreed leader", || {
        let mut leaders = Vec::new();
        for &i in alive {
            let r = call(
                rt,
                &q.addrs[i],
                request::CONTROLLER_GET_METADATA_INFO,
                &[],
                b"",
            )?;
            assert_eq!(r.code, response::SUCCESS);
            assert_eq!(r.ext("group"), Some("group1"));
            leaders.push((
                r.ext("controllerLeaderAddress")?.to_string(),
                r.ext("isLeader") == Some("true"),
                i,
            ));
        }
        let addr = &leaders[0].0;
        let agreed = leaders.iter().all(|(a, _, _)| a == addr);
        let leading: Vec<usize> = leaders.iter().filter(|l| l.1).map(|l| l.2).collect();
        (agreed && leading.len() == 1 && &q.addrs[leading[0]] == addr).then(|| leading[0])
    })
}

fn local_state(rt: &tokio::runtime::Runtime, addr: &str) -> Option<serde_json::Value> {
    let r = call(rt, addr, request::LOCAL_REPLICAS_INFO, &[], b"")?;
    serde_json::from_slice(&r.body).ok()
}

fn apply_and_register(rt: &tokio::runtime::Runtime, addr: &str, id: &str, broker_addr: &str) {
    let code = format!("{broker_addr};1700000000000");
    let r = call(
        rt,
        addr,
        request::CONTROLLER_APPLY_BROKER_ID,
        &[
            ("clusterName", "c1"),
            ("brokerName", "broker-a"),
            ("appliedBrokerId", id),
            ("registerCheckCode", &code),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let r = call(
        rt,
        addr,
        request::CONTROLLER_REGISTER_BROKER,
        &[
            ("clusterName", "c1"),
            ("brokerName", "broker-a"),
            ("brokerId", id),
            ("brokerAddress", broker_addr),
        ],
        b"",
    )
    .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
}

fn elect(rt: &tokio::runtime::Runtime, addr: &str, id: &str, designate: bool) -> RemotingCommand {
    let d = designate.to_string();
    call(
        rt,
        addr,
        request::CONTROLLER_ELECT_MASTER,
        &[
            ("clusterName", "c1"),
            ("brokerName", "broker-a"),
            ("brokerId", id),
            ("designateElect", &d),
        ],
        b"",
    )
    .unwrap()
}

fn heartbeat(
    rt: &tokio::runtime::Runtime,
    client: &RemotingClient,
    addr: &str,
    id: &str,
    timeout_ms: &str,
) {
    heartbeat_from(
        rt,
        client,
        addr,
        id,
        timeout_ms,
        &format!("127.0.0.1:1091{id}"),
    );
}

fn heartbeat_from(
    rt: &tokio::runtime::Runtime,
    client: &RemotingClient,
    addr: &str,
    id: &str,
    timeout_ms: &str,
    broker_addr: &str,
) {
    let cmd = RemotingCommand::request(request::BROKER_HEARTBEAT)
        .with_ext("clusterName", "c1")
        .with_ext("brokerName", "broker-a")
        .with_ext("brokerAddr", broker_addr)
        .with_ext("brokerId", id)
        .with_ext("heartbeatTimeoutMills", timeout_ms);
    let r = rt
        .block_on(client.invoke(addr, cmd, Duration::from_secs(3)))
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
}

/// Every controller in `which` has applied a state satisfying `check`.
fn replicated(
    rt: &tokio::runtime::Runtime,
    q: &Quorum,
    which: &[usize],
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) {
    for &i in which {
        eventually(&format!("{what} on controller {i}"), || {
            local_state(rt, &q.addrs[i]).filter(|s| check(&s["replicas"]))
        });
    }
}

fn master(s: &serde_json::Value) -> (Option<u64>, i64) {
    let sync = &s["sync_state_set_info_table"]["broker-a"];
    (
        sync["master_broker_id"].as_u64(),
        sync["master_epoch"].as_i64().unwrap_or(-1),
    )
}

fn broker_ids(s: &serde_json::Value) -> Vec<String> {
    s["replica_info_table"]["broker-a"]["brokers"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// Accepts one connection on `listener` and decodes the first frame sent on it.
fn read_one_request(listener: &std::net::TcpListener) -> RemotingCommand {
    use std::io::Read;
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    let mut len = [0u8; 4];
    conn.read_exact(&mut len).unwrap();
    let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
    conn.read_exact(&mut frame).unwrap();
    RemotingCommand::decode(frame.into()).unwrap()
}

#[test]
fn three_controllers_replicate_fail_over_and_recover() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut q = Quorum::new();
    let first = leader(&rt, &q, &[0, 1, 2]);
    let follower = (first + 1) % 3;

    // A follower refuses events and names no result, as RocketMQ's controllers do.
    let r = call(
        &rt,
        &q.addrs[follower],
        request::CONTROLLER_GET_NEXT_BROKER_ID,
        &[("clusterName", "c1"), ("brokerName", "broker-a")],
        b"",
    )
    .unwrap();
    assert_eq!(r.code, response::CONTROLLER_NOT_LEADER);

    let la = q.addrs[first].clone();
    apply_and_register(&rt, &la, "1", "127.0.0.1:10911");
    apply_and_register(&rt, &la, "2", "127.0.0.1:10912");
    let r = elect(&rt, &la, "1", false);
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.ext("masterBrokerId"), Some("1"));
    assert_eq!(r.ext("masterEpoch"), Some("1"));
    // Master 1 adds its live replica 2 to the sync state set.
    let hb = RemotingClient::new();
    heartbeat(&rt, &hb, &la, "1", "60000");
    heartbeat(&rt, &hb, &la, "2", "60000");
    let r = call(
        &rt,
        &la,
        request::CONTROLLER_ALTER_SYNC_STATE_SET,
        &[
            ("brokerName", "broker-a"),
            ("masterBrokerId", "1"),
            ("masterEpoch", "1"),
        ],
        br#"{"syncStateSet":[1,2],"syncStateSetEpoch":1}"#,
    )
    .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(r.ext("newSyncStateSetEpoch"), Some("2"));
    replicated(&rt, &q, &[0, 1, 2], "master 1 of two replicas", |s| {
        master(s) == (Some(1), 1)
            && broker_ids(s) == ["1", "2"]
            && s["sync_state_set_info_table"]["broker-a"]["sync_state_set"]
                == serde_json::json!([1, 2])
    });

    // kill -9 the leader: the other two elect a new one that keeps the state and takes writes.
    q.kill9(first);
    let alive: Vec<usize> = (0..3).filter(|i| *i != first).collect();
    let second = leader(&rt, &q, &alive);
    let lb = q.addrs[second].clone();
    let r = call(
        &rt,
        &lb,
        request::CONTROLLER_GET_REPLICA_INFO,
        &[("brokerName", "broker-a")],
        b"",
    )
    .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(
        (r.ext("masterBrokerId"), r.ext("masterEpoch")),
        (Some("1"), Some("1"))
    );
    apply_and_register(&rt, &lb, "3", "127.0.0.1:10913");
    let broker2 = RemotingClient::new();
    heartbeat(&rt, &broker2, &lb, "2", "1500");
    let r = elect(&rt, &lb, "2", true);
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    assert_eq!(
        (r.ext("masterBrokerId"), r.ext("masterEpoch")),
        (Some("2"), Some("2"))
    );

    // More sets while it is down: with snapshotThreshold=3 the leader snapshots and purges.
    for n in 0..8 {
        let name = format!("set-{n}");
        let r = call(
            &rt,
            &lb,
            request::CONTROLLER_APPLY_BROKER_ID,
            &[
                ("clusterName", "c1"),
                ("brokerName", &name),
                ("appliedBrokerId", "1"),
                ("registerCheckCode", "127.0.0.1:20000;1"),
            ],
            b"",
        )
        .unwrap();
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    }

    // The killed controller comes back and catches up from its store and the leader.
    q.start(first);
    replicated(&rt, &q, &[0, 1, 2], "master 2 of three replicas", |s| {
        master(s) == (Some(2), 2)
            && broker_ids(s) == ["1", "2", "3"]
            && s["replica_info_table"].as_object().map(|t| t.len()) == Some(9)
    });
    let restarted = q.procs[first].as_mut().unwrap().stderr_text();
    assert!(
        restarted.contains("install complete snapshot"),
        "the entries it missed were purged, so it needed the leader's snapshot:\n{restarted}"
    );

    // The master's heartbeats stop: with enableElectUncleanMaster the live replica 3 (outside
    // the sync state set) becomes master, recorded through Raft.
    let leader_now = leader(&rt, &q, &[0, 1, 2]);
    let lc = q.addrs[leader_now].clone();
    let r = call(
        &rt,
        &lc,
        request::UPDATE_CONTROLLER_CONFIG,
        &[],
        b"enableElectUncleanMaster=true\n",
    )
    .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let r = call(&rt, &lc, request::GET_CONTROLLER_CONFIG, &[], b"").unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("enableElectUncleanMaster=true\n"));
    let r = call(
        &rt,
        &lc,
        request::UPDATE_CONTROLLER_CONFIG,
        &[],
        b"configStorePath=/tmp/x\n",
    )
    .unwrap();
    assert_eq!(r.code, response::NO_PERMISSION);
    // Broker 3 "listens" here, to receive NOTIFY_BROKER_ROLE_CHANGED.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let broker3_addr = listener.local_addr().unwrap().to_string();
    let broker3 = RemotingClient::new();
    heartbeat_from(&rt, &broker3, &lc, "3", "60000", &broker3_addr);
    heartbeat(&rt, &broker2, &lc, "2", "1500");
    drop(broker2);
    replicated(
        &rt,
        &q,
        &[0, 1, 2],
        "master 3 after master 2 went silent",
        |s| master(s) == (Some(3), 3),
    );
    let notice = read_one_request(&listener);
    assert_eq!(notice.code, request::NOTIFY_BROKER_ROLE_CHANGED);
    assert_eq!(notice.ext("masterBrokerId"), Some("3"));
    assert_eq!(notice.ext("masterEpoch"), Some("3"));
    let body: serde_json::Value = serde_json::from_slice(&notice.body).unwrap();
    assert_eq!(body["syncStateSet"], serde_json::json!([3]));

    // All three stop and start again: the state comes back from their logs.
    for i in 0..3 {
        q.stop(i);
    }
    for i in 0..3 {
        q.start(i);
    }
    let l = leader(&rt, &q, &[0, 1, 2]);
    replicated(&rt, &q, &[0, 1, 2], "the state after a full restart", |s| {
        master(s) == (Some(3), 3) && broker_ids(s) == ["1", "2", "3"]
    });
    let body = serde_json::to_vec(&["broker-a"]).unwrap();
    let r = call(
        &rt,
        &q.addrs[l],
        request::CONTROLLER_GET_SYNC_STATE_DATA,
        &[],
        &body,
    )
    .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    let info = &v["replicasInfoTable"]["broker-a"];
    assert_eq!(info["masterBrokerId"], 3);
    assert_eq!(info["masterAddress"], "127.0.0.1:10913");
    assert_eq!(info["inSyncReplicas"].as_array().unwrap().len(), 1);
    assert_eq!(info["notInSyncReplicas"].as_array().unwrap().len(), 2);
    // With snapshotThreshold=3 every controller has taken snapshots of the state by now.
    for i in 0..3 {
        let snap = q.dir.path().join(format!("store{i}")).join("snapshot.json");
        assert!(snap.exists(), "{}", snap.display());
    }
}

#[test]
fn the_name_server_embeds_a_controller_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let ns = format!("127.0.0.1:{}", free_port());
    let ctl = format!("127.0.0.1:{}", free_port());
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &conf,
        format!(
            "enableControllerInNamesrv=true\ncontrollerDLegerGroup=g\ncontrollerDLegerPeers=n0-{ctl}\n\
             controllerDLegerSelfId=n0\ncontrollerStorePath={}\n",
            dir.path().join("store").display()
        ),
    )
    .unwrap();
    let mut p = Running::spawn(ferrocket(
        &["namesrv", "--listen", &ns, "-c", conf.to_str().unwrap()],
        dir.path(),
    ));
    p.wait_stdout("is ready", WAIT);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let leader = eventually("a one-controller quorum to lead", || {
        let r = call(&rt, &ctl, request::CONTROLLER_GET_METADATA_INFO, &[], b"")?;
        (r.ext("isLeader") == Some("true"))
            .then(|| r.ext("controllerLeaderAddress").map(String::from))
    });
    assert_eq!(leader.as_deref(), Some(ctl.as_str()));
    let r = call(
        &rt,
        &ctl,
        request::CONTROLLER_GET_NEXT_BROKER_ID,
        &[("clusterName", "c"), ("brokerName", "b")],
        b"",
    )
    .unwrap();
    assert_eq!(r.ext("nextBrokerId"), Some("1"));
    // The name server still answers on its own port.
    let r = call(
        &rt,
        &ns,
        ferrocket_protocol::code::request::GET_BROKER_CLUSTER_INFO,
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(r.code, response::SUCCESS);
}
