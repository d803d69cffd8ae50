//! Brokers in controller mode (`enableControllerMode=true`) with a controller inside the name
//! server, all on loopback: the first broker becomes master and the second its slave; the slave
//! joins the sync state set; `kill -9` of the master elects the slave, which takes writes and
//! is routed to; the old master returns as a slave. Then the reverse with a divergent log: a
//! master written to while its slave is down is killed, the slave is elected, and the old
//! master, restarting, truncates what the new master never had. Every acknowledged message is
//! read back at the queue and offset it was acknowledged at, and both stores end up equal.
//!
//! Replication is RocketMQ 5's auto-switch HA protocol: a second test talks to a master's HA
//! port as a slave written by hand from the protocol's byte layout, and the epoch files are
//! RocketMQ's checkpoint format.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::ferrocket;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_testkit::{free_port, output_within, Running};

const WAIT: Duration = Duration::from_secs(40);
const REPLICA_INFO: i32 = 1004;

struct Cluster {
    dir: tempfile::TempDir,
    namesrv: String,
    controller: String,
    _ns: Running,
    brokers: [Option<Running>; 2],
    ports: [u16; 2],
    rt: tokio::runtime::Runtime,
}

/// One acknowledged send: queue id, queue offset, unique key.
type Acked = (u32, u64, String);

impl Cluster {
    fn new() -> Cluster {
        Cluster::with("")
    }

    /// A cluster whose brokers also have the `extra` properties lines.
    fn with(extra: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let namesrv = format!("127.0.0.1:{}", free_port());
        let controller = format!("127.0.0.1:{}", free_port());
        let conf = dir.path().join("namesrv.conf");
        std::fs::write(
            &conf,
            format!(
                "enableControllerInNamesrv=true\ncontrollerDLegerGroup=g\n\
                 controllerDLegerPeers=n0-{controller}\ncontrollerDLegerSelfId=n0\n\
                 controllerStorePath={}\nscanNotActiveBrokerInterval=500\n",
                dir.path().join("ctl").display()
            ),
        )
        .unwrap();
        let mut ns = Running::spawn(ferrocket(
            &[
                "namesrv",
                "--listen",
                &namesrv,
                "-c",
                conf.to_str().unwrap(),
            ],
            dir.path(),
        ));
        ns.wait_stdout("is ready", WAIT);
        // listenPort - 2 (fast port) and + 1 (HA) must be free too
        let ports = [free_block(), free_block()];
        for (i, port) in ports.iter().enumerate() {
            let conf = format!(
                "brokerClusterName=C\nbrokerName=bs\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\n\
                 listenPort={port}\nhaListenPort={}\nnamesrvAddr={namesrv}\nstorePathRootDir={}\n\
                 enableControllerMode=true\ncontrollerAddr={controller}\nconsoleEnable=false\n\
                 grpcServerEnable=false\nallAckInSyncStateSet=true\ncheckSyncStateSetPeriod=500\n\
                 syncBrokerMetadataPeriod=500\nmapedFileSizeCommitLog=1048576\n{extra}",
                port + 1,
                dir.path().join(format!("store{i}")).display()
            );
            std::fs::write(dir.path().join(format!("b{i}.conf")), conf).unwrap();
        }
        Cluster {
            dir,
            namesrv,
            controller,
            _ns: ns,
            brokers: [None, None],
            ports,
            rt: tokio::runtime::Runtime::new().unwrap(),
        }
    }

    fn start(&mut self, i: usize, role: &str) {
        let conf = self.dir.path().join(format!("b{i}.conf"));
        let mut p = Running::spawn(ferrocket(
            &["broker", "-c", conf.to_str().unwrap()],
            self.dir.path(),
        ));
        p.wait_stdout(&format!("broker id {}, {role}", i + 1), WAIT);
        self.brokers[i] = Some(p);
    }

    fn kill9(&mut self, i: usize) {
        if let Some(p) = self.brokers[i].take() {
            p.signal("KILL");
        }
    }

    fn addr(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.ports[i])
    }

    fn store(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("store{i}"))
    }

    /// CONTROLLER_GET_REPLICA_INFO: master id and sync state set.
    fn replica_info(&self) -> Option<(Option<u64>, Vec<u64>)> {
        let cmd = RemotingCommand::request(REPLICA_INFO).with_ext("brokerName", "bs");
        let r = self.rt.block_on(async {
            RemotingClient::new()
                .invoke(&self.controller, cmd, Duration::from_secs(3))
                .await
                .ok()
        })?;
        let body: serde_json::Value = serde_json::from_slice(&r.full_body()).ok()?;
        let set = body["syncStateSet"].as_array()?;
        Some((
            r.ext("masterBrokerId").and_then(|v| v.parse().ok()),
            set.iter().filter_map(|v| v.as_u64()).collect(),
        ))
    }

    fn wait_replicas(&self, master: u64, set: &[u64]) {
        eventually(&format!("master {master} with set {set:?}"), || {
            (self.replica_info()? == (Some(master), set.to_vec())).then_some(())
        });
    }

    /// Sends `count` messages; returns the acknowledged ones and the other statuses.
    fn produce(&self, count: u32) -> (Vec<Acked>, Vec<String>) {
        let n = count.to_string();
        let (_, out, _) = output_within(
            ferrocket(
                &[
                    "produce",
                    "--namesrv",
                    &self.namesrv,
                    "--topic",
                    "TopicFailover",
                    "--count",
                    &n,
                    "--timeout-ms",
                    "2000",
                ],
                self.dir.path(),
            ),
            WAIT,
        );
        let mut acked = Vec::new();
        let mut other = Vec::new();
        for line in out.lines().filter(|l| l.starts_with("SendResult")) {
            let field = |k: &str| {
                let rest = &line[line.find(k).unwrap() + k.len()..];
                rest[..rest.find([',', ']']).unwrap()].to_string()
            };
            if line.contains("sendStatus=SEND_OK") {
                acked.push((
                    field("queueId=").parse().unwrap(),
                    field("queueOffset=").parse().unwrap(),
                    field("msgId="),
                ));
            } else {
                other.push(field("sendStatus="));
            }
        }
        (acked, other)
    }

    /// Every acknowledged message is at its queue offset on the current master.
    fn assert_readable(&self, acked: &[Acked]) {
        for (queue, offset, key) in acked {
            let (q, o) = (queue.to_string(), offset.to_string());
            let (ok, out, err) = output_within(
                ferrocket(
                    &[
                        "admin",
                        "queryMsgByOffset",
                        "-n",
                        &self.namesrv,
                        "-t",
                        "TopicFailover",
                        "-b",
                        "bs",
                        "-i",
                        &q,
                        "-o",
                        &o,
                    ],
                    self.dir.path(),
                ),
                WAIT,
            );
            assert!(
                ok && out.contains(&format!("UNIQ_KEY={key}")),
                "message {key} not at queue {queue} offset {offset}: {out}{err}"
            );
        }
    }

    fn assert_route_master(&self, i: usize) {
        let want = format!("\"0\": \"{}\"", self.addr(i));
        eventually("the route to name the new master", || {
            let (_, out, _) = output_within(
                ferrocket(
                    &[
                        "admin",
                        "topicRoute",
                        "-n",
                        &self.namesrv,
                        "-t",
                        "TopicFailover",
                    ],
                    self.dir.path(),
                ),
                WAIT,
            );
            out.contains(&want).then_some(())
        });
    }

    /// Both commit logs hold the same bytes (the files are zeroed past the end).
    fn wait_stores_equal(&self) {
        eventually("the slave's commit log to equal the master's", || {
            (commit_log(&self.store(0)) == commit_log(&self.store(1))).then_some(())
        });
    }
}

fn commit_log(store: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(store.join("commitlog"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_default())
        .collect()
}

/// A port whose neighbours (fast port below, HA port above) are free as well.
fn free_block() -> u16 {
    loop {
        let p = free_port();
        if p > 2
            && [p - 2, p + 1]
                .iter()
                .all(|q| std::net::TcpListener::bind(("127.0.0.1", *q)).is_ok())
        {
            return p;
        }
    }
}

fn eventually<T>(what: &str, f: impl FnMut() -> Option<T>) -> T {
    common::eventually(what, WAIT, f)
}

#[test]
fn a_broker_set_fails_over_and_a_deposed_master_rejoins_as_slave() {
    let mut c = Cluster::new();
    c.start(0, "master");
    c.start(1, "slave");
    c.wait_replicas(1, &[1, 2]);
    let (mut acked, other) = c.produce(6);
    assert_eq!((acked.len(), other.len()), (6, 0), "{other:?}");
    // the slave takes the topic table from its master periodically
    if let Some(b) = c.brokers[1].as_mut() {
        b.wait_stderr("topic configs taken from the master", WAIT);
    }

    // kill -9 of the master: the controller elects the slave
    c.kill9(0);
    c.wait_replicas(2, &[2]);
    c.assert_route_master(1);
    let (more, other) = c.produce(4);
    assert_eq!((more.len(), other.len()), (4, 0), "{other:?}");
    acked.extend(more);
    c.assert_readable(&acked);

    // the old master returns as a slave and catches up
    c.start(0, "slave");
    c.wait_replicas(2, &[1, 2]);
    c.wait_stores_equal();

    // a divergent tail: the slave goes away, the master stores messages nobody acknowledged,
    // then dies; the slave comes back and is elected; the old master truncates and rejoins
    c.kill9(0);
    let (none, unacked) = c.produce(3);
    assert!(
        none.is_empty() && !unacked.is_empty(),
        "{none:?} {unacked:?}"
    );
    c.kill9(1);
    c.start(0, "");
    c.wait_replicas(1, &[1]);
    c.assert_route_master(0);
    let (more, other) = c.produce(3);
    assert_eq!((more.len(), other.len()), (3, 0), "{other:?}");
    acked.extend(more);
    c.start(1, "slave");
    if let Some(b) = c.brokers[1].as_mut() {
        b.wait_stderr(
            "truncating the commit log to the new master's epoch boundary",
            WAIT,
        );
    }
    c.wait_replicas(1, &[1, 2]);
    c.wait_stores_equal();
    c.assert_readable(&acked);
    // the slave recorded the epochs from the frames: both files agree, in RocketMQ's layout
    eventually("equal epoch files", || {
        let (a, b) = (epoch_lines(&c.store(0)), epoch_lines(&c.store(1)));
        (a == b && a.len() >= 3).then_some(())
    });
}

/// The entry lines of a store's `epochFileCheckpoint`, after checking its count line.
fn epoch_lines(store: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(store.join("epochFileCheckpoint")).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let Some(count) = lines.first().and_then(|l| l.parse::<usize>().ok()) else {
        return Vec::new();
    };
    assert_eq!(lines.len(), count + 2, "count, crc, entries: {text}");
    lines[2..].to_vec()
}

fn read_n(s: &mut std::net::TcpStream, n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).unwrap();
    b
}

#[test]
fn a_master_streams_to_a_hand_written_auto_switch_slave() {
    use std::io::Write;
    let mut c = Cluster::new();
    c.start(0, "master");
    let (acked, other) = c.produce(5);
    assert_eq!((acked.len(), other.len()), (5, 0), "{other:?}");
    let lines = epoch_lines(&c.store(0));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (epoch, start) = lines[0].split_once('-').unwrap();
    let (epoch, start): (i32, i64) = (epoch.parse().unwrap(), start.parse().unwrap());
    assert_eq!(start, 0);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", c.ports[0] + 1)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    // HANDSHAKE, not from the last file, an async learner (never in the sync state set),
    // broker id 5
    s.write_all(&[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5])
        .unwrap();
    let h = read_n(&mut s, 20);
    assert_eq!(
        &h[..8],
        &[0, 0, 0, 1, 0, 0, 0, 12],
        "HANDSHAKE, one epoch entry"
    );
    let master_max = i64::from_be_bytes(h[8..16].try_into().unwrap());
    assert!(master_max > 0);
    assert_eq!(&h[16..20], &epoch.to_be_bytes());
    let entry = read_n(&mut s, 12);
    assert_eq!(&entry[..4], &epoch.to_be_bytes());
    assert_eq!(&entry[4..], &[0; 8]);
    // an empty replica: the master streams from its first byte
    s.write_all(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    let mut copied = Vec::new();
    while (copied.len() as i64) < master_max {
        let f = read_n(&mut s, 36);
        assert_eq!(&f[..4], &[0, 0, 0, 2], "TRANSFER");
        let size = u32::from_be_bytes(f[4..8].try_into().unwrap()) as usize;
        assert_eq!(
            &f[8..16],
            &(copied.len() as i64).to_be_bytes(),
            "contiguous frames"
        );
        assert_eq!(&f[16..20], &epoch.to_be_bytes());
        assert_eq!(&f[20..28], &[0; 8]);
        copied.extend(read_n(&mut s, size));
    }
    assert_eq!(copied.len() as i64, master_max);
    let log = commit_log(&c.store(0));
    assert_eq!(
        &log[0][..copied.len()],
        &copied[..],
        "the master's commit log bytes"
    );
    // acknowledging a learner's copy changes nothing in the sync state set
    s.write_all(&[0, 0, 0, 2]).unwrap();
    s.write_all(&master_max.to_be_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(c.replica_info(), Some((Some(1), vec![1])));
}

#[test]
fn a_divergence_found_in_the_handshake_reopens_the_slave_cut() {
    // no epoch comparison over remoting before opening: the HA handshake finds the divergence
    let mut c = Cluster::with("compareEpochsBeforeOpen=false\n");
    c.start(0, "master");
    c.start(1, "slave");
    c.wait_replicas(1, &[1, 2]);
    let (mut acked, other) = c.produce(4);
    assert_eq!((acked.len(), other.len()), (4, 0), "{other:?}");
    // the slave goes away; the master stores messages nobody acknowledges, then dies
    c.kill9(1);
    let (none, unacked) = c.produce(3);
    assert!(
        none.is_empty() && !unacked.is_empty(),
        "{none:?} {unacked:?}"
    );
    c.kill9(0);
    c.start(1, "");
    c.wait_replicas(2, &[2]);
    let (more, other) = c.produce(3);
    assert_eq!((more.len(), other.len()), (3, 0), "{other:?}");
    acked.extend(more);
    // the old master opens as a slave with its tail, is told in the handshake where the logs
    // part, and reopens cut there
    c.start(0, "slave");
    if let Some(b) = c.brokers[0].as_mut() {
        b.wait_stderr("reopening the broker to cut its commit log", WAIT);
        b.wait_stderr(
            "truncating the commit log to the new master's epoch boundary",
            WAIT,
        );
    }
    c.wait_replicas(2, &[1, 2]);
    c.wait_stores_equal();
    c.assert_readable(&acked);
}
