//! Master/slave replication between real `ferrocket broker` processes (classic HA): the
//! slave's CommitLog and ConsumeQueues are byte-identical to the master's, a slave killed while
//! the master takes writes catches up after its restart, and a SYNC_MASTER killed with SIGKILL
//! under load loses no acknowledged message: each one is readable from the slave and from the
//! restarted master.
//!
//! The slave is read with direct PULL_MESSAGE requests to its address.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_client::admin::MQAdminExt;
use ferrocket_client::{ClientError, Message, Producer, ProducerConfig, SendStatus};
use ferrocket_protocol::body::topic::TopicConfig;
use ferrocket_protocol::header::pull_message::{pull_sys_flag, PullMessageRequestHeader};
use ferrocket_testkit::{commit_log_files, ferrocket_bin, NameServer, ReplicaPair};
use parking_lot::Mutex;

const QUEUES: i32 = 4;
/// Short HA intervals so reconnections and timeouts happen within a test.
const HA_CONF: &str =
    "haSendHeartbeatInterval=1000\nhaHousekeepingInterval=5000\nsyncFlushTimeout=3000\n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn body_of(id: &str) -> Vec<u8> {
    let mut b = format!("{id}|").into_bytes();
    let n = 200 + id.len() * 97 % 1500;
    b.extend((0..n).map(|i| b'a' + ((i * 7 + id.len()) % 26) as u8));
    b
}

/// Creates `topic` on each broker; a broker that refuses (a slave that takes its topics from
/// the master) is left to learn it otherwise.
async fn create_topic(namesrv: &str, addrs: &[String], topic: &str) {
    let admin = MQAdminExt::new(namesrv, Duration::from_secs(5)).unwrap();
    for addr in addrs {
        let r = admin
            .create_and_update_topic_config(addr, &TopicConfig::new(topic, QUEUES))
            .await;
        if let Err(e) = r {
            println!("creating {topic} on {addr}: {e}");
        }
    }
    admin.shutdown().await;
}

async fn producer(namesrv: &str) -> Producer {
    let mut cfg = ProducerConfig::new(ferrocket_testkit::unique("ha_producer"), namesrv);
    cfg.send_msg_timeout = Duration::from_secs(5);
    Producer::start(cfg).await.unwrap()
}

/// Every message of every queue of `topic` on the broker at `addr`, by id, with its queue
/// and offset; direct PULL_MESSAGE requests, no route involved.
async fn read_broker(addr: &str, namesrv: &str, topic: &str) -> HashMap<String, (i32, i64)> {
    let admin = MQAdminExt::new(namesrv, Duration::from_secs(5)).unwrap();
    let mut out = HashMap::new();
    for queue_id in 0..QUEUES {
        let mut offset = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(
                Instant::now() < deadline,
                "reading {topic}/{queue_id} on {addr}"
            );
            let header = PullMessageRequestHeader {
                consumer_group: "ha_checker".into(),
                topic: topic.into(),
                queue_id,
                queue_offset: offset,
                max_msg_nums: 32,
                sys_flag: pull_sys_flag::SUBSCRIPTION,
                commit_offset: 0,
                suspend_timeout_millis: 0,
                subscription: Some("*".into()),
                sub_version: 0,
                expression_type: None,
                max_msg_bytes: None,
                broker_name: None,
            };
            let r = match admin
                .api()
                .pull_message(addr, &header, Duration::from_secs(5))
                .await
            {
                Ok(r) => r,
                // a slave that does not know the topic yet
                Err(ClientError::Broker { code: 17, .. }) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => panic!("pull {topic}/{queue_id}@{offset} from {addr}: {e}"),
            };
            if r.msgs.is_empty() {
                break;
            }
            for m in &r.msgs {
                let body = &m.message.body;
                let end = body.iter().position(|b| *b == b'|').expect("id in body");
                let id = String::from_utf8(body[..end].to_vec()).unwrap();
                assert_eq!(&body[..], &body_of(&id)[..], "body of {id} on {addr}");
                out.insert(id, (queue_id, m.queue_offset));
            }
            offset = r.next_begin_offset;
        }
    }
    admin.shutdown().await;
    out
}

fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

async fn send_all(p: &Producer, topic: &str, ids: impl Iterator<Item = String>) {
    for id in ids {
        let r = p.send(&Message::new(topic, body_of(&id))).await.unwrap();
        assert_eq!(r.send_status, SendStatus::SendOk, "{id}");
    }
}

#[test]
fn slave_copies_the_commit_log_byte_for_byte_and_catches_up_after_a_restart() {
    let rt = runtime();
    let ns = NameServer::start(&ferrocket_bin!());
    let mut pair = ReplicaPair::start(
        &ferrocket_bin!(),
        &ns.addr,
        "broker-ha",
        "ASYNC_MASTER",
        HA_CONF,
    );
    let topic = ferrocket_testkit::unique("HaTopic");
    let addrs = [pair.master.addr(), pair.slave.addr()];
    rt.block_on(create_topic(&ns.addr, &addrs, &topic));
    let p = rt.block_on(producer(&ns.addr));
    // more than one 1 MiB segment
    rt.block_on(send_all(&p, &topic, (0..2400).map(|i| format!("a{i}"))));
    let (master_store, slave_store) = (pair.master.store.clone(), pair.slave.store.clone());
    wait_until(
        "the slave's commit log equals the master's",
        Duration::from_secs(60),
        || commit_log_files(&master_store) == commit_log_files(&slave_store),
    );
    assert!(commit_log_files(&slave_store).len() >= 2);

    // the slave dies; the master keeps taking writes; the restarted slave catches up
    pair.slave.kill9();
    rt.block_on(send_all(&p, &topic, (0..800).map(|i| format!("b{i}"))));
    pair.slave.start();
    wait_until(
        "the restarted slave caught up",
        Duration::from_secs(60),
        || commit_log_files(&master_store) == commit_log_files(&slave_store),
    );
    let on_master = rt.block_on(read_broker(&pair.master.addr(), &ns.addr, &topic));
    let on_slave = rt.block_on(read_broker(&pair.slave.addr(), &ns.addr, &topic));
    assert_eq!(on_master.len(), 3200);
    assert_eq!(
        on_slave, on_master,
        "same messages at the same queue offsets"
    );
    rt.block_on(p.shutdown());

    // stopped cleanly, the consume queues the slave built are the master's, byte for byte
    pair.slave.stop();
    pair.master.stop();
    let topic_dir = |store: &Path| store.join("consumequeue").join(&topic);
    let cq = files_under(&topic_dir(&master_store));
    assert!(cq.len() >= QUEUES as usize, "{:?}", cq.keys());
    assert_eq!(files_under(&topic_dir(&slave_store)), cq);
    assert_eq!(
        commit_log_files(&master_store),
        commit_log_files(&slave_store)
    );
}

#[derive(Default)]
struct Ledger {
    acked: HashMap<String, (i32, i64)>,
    other: HashMap<String, String>,
}

async fn produce_until(
    p: Producer,
    topic: String,
    prefix: String,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut i = 0;
    while !stop.load(Ordering::Acquire) {
        let id = format!("{prefix}-{i}");
        i += 1;
        let r = p.send(&Message::new(topic.as_str(), body_of(&id))).await;
        let mut l = ledger.lock();
        match r {
            Ok(r) if r.send_status == SendStatus::SendOk => {
                l.acked
                    .insert(id, (r.message_queue.queue_id, r.queue_offset));
            }
            Ok(r) => {
                l.other.insert(id, r.send_status.to_string());
            }
            Err(e) => {
                l.other.insert(id, e.to_string());
            }
        }
    }
}

#[test]
fn a_sync_master_killed_under_load_loses_no_acknowledged_message() {
    let rt = runtime();
    let ns = NameServer::start(&ferrocket_bin!());
    let mut pair = ReplicaPair::start(
        &ferrocket_bin!(),
        &ns.addr,
        "broker-sync",
        "SYNC_MASTER",
        HA_CONF,
    );
    let topic = ferrocket_testkit::unique("SyncTopic");
    let addrs = [pair.master.addr(), pair.slave.addr()];
    rt.block_on(create_topic(&ns.addr, &addrs, &topic));
    let probe = rt.block_on(producer(&ns.addr));
    // SEND_OK only once the slave is connected and acknowledging
    wait_until(
        "a SYNC_MASTER send acknowledged by the slave",
        Duration::from_secs(30),
        || {
            rt.block_on(probe.send(&Message::new(topic.as_str(), body_of("probe"))))
                .is_ok_and(|r| r.send_status == SendStatus::SendOk)
        },
    );
    rt.block_on(probe.shutdown());
    // the slave learns the topic from its master (SlaveSynchronize) before the master dies
    rt.block_on(read_broker(&pair.slave.addr(), &ns.addr, &topic));

    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut tasks = Vec::new();
    for t in 0..4 {
        let p = rt.block_on(producer(&ns.addr));
        tasks.push(rt.spawn(produce_until(
            p,
            topic.clone(),
            format!("p{t}"),
            stop.clone(),
            ledger.clone(),
        )));
    }
    wait_until("load", Duration::from_secs(60), || {
        ledger.lock().acked.len() >= 1500
    });
    pair.master.kill9();
    stop.store(true, Ordering::Release);
    for t in tasks {
        rt.block_on(t).unwrap();
    }
    let ledger = std::mem::take(&mut *ledger.lock());
    println!(
        "acknowledged {}, not acknowledged {}",
        ledger.acked.len(),
        ledger.other.len()
    );
    assert!(ledger.acked.len() >= 1500);

    let check = |on: &HashMap<String, (i32, i64)>, who: &str| {
        let lost: Vec<_> = ledger
            .acked
            .iter()
            .filter(|(id, at)| on.get(*id) != Some(at))
            .collect();
        assert!(
            lost.is_empty(),
            "{} acknowledged messages missing on the {who}: {:?}",
            lost.len(),
            &lost[..lost.len().min(5)]
        );
    };
    let on_slave = rt.block_on(read_broker(&pair.slave.addr(), &ns.addr, &topic));
    check(&on_slave, "slave");
    pair.master.start();
    let on_master = rt.block_on(read_broker(&pair.master.addr(), &ns.addr, &topic));
    check(&on_master, "restarted master");
    pair.slave.stop();
    pair.master.stop();
}

#[test]
fn bad_input_on_the_ha_port_closes_only_that_connection() {
    let rt = runtime();
    let ns = NameServer::start(&ferrocket_bin!());
    let mut pair = ReplicaPair::start(
        &ferrocket_bin!(),
        &ns.addr,
        "broker-bad",
        "SYNC_MASTER",
        HA_CONF,
    );
    let topic = ferrocket_testkit::unique("BadTopic");
    rt.block_on(create_topic(&ns.addr, &[pair.master.addr()], &topic));
    let p = rt.block_on(producer(&ns.addr));
    wait_until("the slave acknowledges", Duration::from_secs(30), || {
        rt.block_on(p.send(&Message::new(topic.as_str(), body_of("x"))))
            .is_ok_and(|r| r.send_status == SendStatus::SendOk)
    });
    let ha = format!("127.0.0.1:{}", pair.master.ha_port);
    let closed = |mut s: TcpStream| {
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => return e.kind() == std::io::ErrorKind::ConnectionReset,
            }
        }
    };
    // garbage, an offset far beyond the end, half a report left hanging
    let mut garbage = TcpStream::connect(&ha).unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut beyond = TcpStream::connect(&ha).unwrap();
    beyond.write_all(&(1i64 << 40).to_be_bytes()).unwrap();
    let mut half = TcpStream::connect(&ha).unwrap();
    half.write_all(&[0, 0, 0, 0]).unwrap();
    assert!(closed(garbage));
    assert!(closed(beyond));
    assert!(closed(half), "closed after haHousekeepingInterval");
    // the real slave still acknowledges every send
    rt.block_on(send_all(&p, &topic, (0..50).map(|i| format!("c{i}"))));
    // the log line and the closed socket race: wait for the line
    pair.master.wait_stderr(
        "beyond this master's commit log end",
        Duration::from_secs(10),
    );
    rt.block_on(p.shutdown());
    pair.slave.stop();
    pair.master.stop();
}

#[test]
fn an_enforcing_pair_replicates_over_tls_and_refuses_plaintext_slaves() {
    let rt = runtime();
    let ns = NameServer::start(&ferrocket_bin!());
    let mut pair = ReplicaPair::start(
        &ferrocket_bin!(),
        &ns.addr,
        "broker-tls",
        "SYNC_MASTER",
        &format!("{HA_CONF}tls.server.mode=enforcing\ntls.enable=true\n"),
    );
    let topic = ferrocket_testkit::unique("TlsHaTopic");
    let admin = MQAdminExt::new(&ns.addr, Duration::from_secs(5))
        .unwrap()
        .with_tls(true)
        .unwrap();
    rt.block_on(async {
        let r = admin
            .create_and_update_topic_config(&pair.master.addr(), &TopicConfig::new(&topic, QUEUES))
            .await;
        r.unwrap();
        admin.shutdown().await;
    });
    let mut cfg = ProducerConfig::new(ferrocket_testkit::unique("ha_tls_producer"), &ns.addr);
    cfg.send_msg_timeout = Duration::from_secs(5);
    cfg.client.use_tls = true;
    let p = rt.block_on(Producer::start(cfg)).unwrap();
    // SEND_OK from a SYNC_MASTER: the slave acknowledged over the TLS HA connection
    wait_until("the slave acknowledges", Duration::from_secs(30), || {
        rt.block_on(p.send(&Message::new(topic.as_str(), body_of("x"))))
            .is_ok_and(|r| r.send_status == SendStatus::SendOk)
    });
    rt.block_on(send_all(&p, &topic, (0..300).map(|i| format!("t{i}"))));

    // a classic plaintext slave's first report is closed
    let mut plain = TcpStream::connect(format!("127.0.0.1:{}", pair.master.ha_port)).unwrap();
    plain.write_all(&0i64.to_be_bytes()).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut buf = [0u8; 64];
    let r = plain.read(&mut buf);
    assert!(
        matches!(&r, Ok(0))
            || matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "a plaintext slave is closed without a frame: {r:?}"
    );
    rt.block_on(send_all(&p, &topic, (0..10).map(|i| format!("u{i}"))));
    rt.block_on(p.shutdown());
    let (master_store, slave_store) = (pair.master.store.clone(), pair.slave.store.clone());
    wait_until(
        "the slave's commit log equals the master's",
        Duration::from_secs(60),
        || commit_log_files(&master_store) == commit_log_files(&slave_store),
    );
    pair.master.wait_stderr(
        "plaintext HA connection while tls.server.mode is enforcing; closed",
        Duration::from_secs(10),
    );
    pair.slave.stop();
    pair.master.stop();
    assert_eq!(
        commit_log_files(&master_store),
        commit_log_files(&slave_store)
    );
}
