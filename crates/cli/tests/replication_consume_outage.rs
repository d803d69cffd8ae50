//! `ferrocket consume` (the Rust client) through a master outage: a SYNC_MASTER and its slave
//! are real `ferrocket broker` processes; the consumer keeps running while the master is killed
//! with SIGKILL, reads the replicated backlog from the slave and commits its offsets there, and
//! after the master's restart consumes what is sent next, committing to the master again.
//!
//! The bound on duplicates is Apache's (docs/REPLICATION.md, "Consumer offsets across a master
//! outage"): a running consumer reads a committed offset from a broker only when a queue is newly
//! assigned to it, and an outage of the master reassigns nothing (the route keeps the queues while
//! the slave is registered; the group keeps its one member), so no message is consumed twice.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::ferrocket;
use ferrocket_client::admin::MQAdminExt;
use ferrocket_client::{Message, Producer, ProducerConfig, SendStatus};
use ferrocket_protocol::body::topic::TopicConfig;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_testkit::{ferrocket_bin, NameServer, ReplicaPair, Running};

const TOPIC: &str = "OutageTopic";
const GROUP: &str = "outage-readers";
const QUEUES: i32 = 4;
/// Messages per phase: consumed from the master, left as a backlog for the slave, sent after
/// the master's restart.
const BATCH: usize = 40;
/// Apache's duplicates in this scenario (see the file comment): none.
const DUPLICATE_BOUND: usize = 0;
const HA_CONF: &str =
    "haSendHeartbeatInterval=1000\nhaHousekeepingInterval=5000\nsyncFlushTimeout=3000\n";
const WAIT: Duration = Duration::from_secs(60);

fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// QUERY_CONSUMER_OFFSET (the group's committed offset) or GET_MAX_OFFSET of every queue;
/// -1 where the broker does not answer.
fn offsets(rt: &tokio::runtime::Runtime, addr: &str, code: i32) -> Vec<i64> {
    rt.block_on(async {
        let client = RemotingClient::new();
        let mut out = Vec::new();
        for queue_id in 0..QUEUES {
            let cmd = RemotingCommand::request(code)
                .with_ext("consumerGroup", GROUP)
                .with_ext("topic", TOPIC)
                .with_ext("queueId", queue_id);
            let offset = match client.invoke(addr, cmd, Duration::from_secs(3)).await {
                Ok(r) if r.code == response::SUCCESS => {
                    r.ext("offset").and_then(|o| o.parse().ok()).unwrap_or(-1)
                }
                _ => -1,
            };
            out.push(offset);
        }
        out
    })
}

/// The group has committed every queue up to its end on `addr`.
fn committed_up_to_end(rt: &tokio::runtime::Runtime, addr: &str) -> bool {
    let committed = offsets(rt, addr, request::QUERY_CONSUMER_OFFSET);
    !committed.contains(&-1) && committed == offsets(rt, addr, request::GET_MAX_OFFSET)
}

/// Sends `prefix-0..count`, each body once; a send that is not SEND_OK (no master in the
/// route yet, no slave acknowledgement yet) is retried under a new body, so that every body
/// the consumer sees twice is a real duplicate. Returns the acknowledged bodies.
fn send_batch(
    rt: &tokio::runtime::Runtime,
    producer: &Producer,
    prefix: &str,
    count: usize,
) -> Vec<String> {
    let mut acked = Vec::new();
    let mut attempt = 0;
    let deadline = Instant::now() + WAIT;
    while acked.len() < count {
        assert!(Instant::now() < deadline, "sending {prefix}: {acked:?}");
        let body = format!("{prefix}-{attempt}");
        attempt += 1;
        match rt.block_on(producer.send(&Message::new(TOPIC, body.clone().into_bytes()))) {
            Ok(r) if r.send_status == SendStatus::SendOk => acked.push(body),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    acked
}

/// Consumed bodies and how often each was printed.
fn consumed(consumer: &mut Running) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for line in consumer.output_lines() {
        if let Some((_, body)) = line.split_once(" body=") {
            *out.entry(body.to_string()).or_insert(0) += 1;
        }
    }
    out
}

/// Waits until the consumer printed each of `bodies`; on timeout, fails with its log.
fn wait_consumed(consumer: &mut Running, bodies: &[String], what: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let seen = consumed(consumer);
        let missing: Vec<_> = bodies.iter().filter(|b| !seen.contains_key(*b)).collect();
        if missing.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out: {what}; missing {missing:?}\nconsumer log:\n{}",
            consumer.stderr_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn consume_keeps_reading_from_the_slave_through_a_master_outage() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ns = NameServer::start(&ferrocket_bin!());
    let mut pair = ReplicaPair::start(
        &ferrocket_bin!(),
        &ns.addr,
        "broker-a",
        "SYNC_MASTER",
        HA_CONF,
    );
    let (master, slave) = (pair.master.addr(), pair.slave.addr());
    println!("master {master}, slave {slave}");
    rt.block_on(async {
        let admin = MQAdminExt::new(&ns.addr, Duration::from_secs(5)).unwrap();
        admin
            .create_and_update_topic_config(&master, &TopicConfig::new(TOPIC, QUEUES))
            .await
            .unwrap();
        admin.shutdown().await;
    });
    // SlaveSynchronize copies the topic within 10 s; a slave without it cannot serve it
    wait_until("the slave takes the topic from its master", WAIT, || {
        rt.block_on(RemotingClient::new().invoke(
            &slave,
            RemotingCommand::request(request::GET_ALL_TOPIC_CONFIG),
            Duration::from_secs(3),
        ))
        .is_ok_and(|r| String::from_utf8_lossy(&r.body).contains(TOPIC))
    });
    let mut producer_config =
        ProducerConfig::new(ferrocket_testkit::unique("outage_producer"), &ns.addr);
    producer_config.client.poll_name_server_interval = Duration::from_secs(1);
    producer_config.send_msg_timeout = Duration::from_secs(3);
    let producer = rt.block_on(Producer::start(producer_config)).unwrap();

    let mut consumer = Running::spawn(ferrocket(
        &[
            "consume",
            "--namesrv",
            &ns.addr,
            "--topic",
            TOPIC,
            "--group",
            GROUP,
            "--brief",
            "--poll-name-server-interval-ms",
            "1000",
            "--persist-consumer-offset-interval-ms",
            "1000",
        ],
        dir.path(),
    ));
    consumer.wait_stderr("started in group", WAIT);

    // consumed from the master
    let first = send_batch(&rt, &producer, "first", BATCH);
    wait_consumed(&mut consumer, &first, "the first batch consumed");
    // a backlog the consumer has not seen: acknowledged, so on the slave, when the master dies
    consumer.signal("STOP");
    let backlog = send_batch(&rt, &producer, "backlog", BATCH);
    pair.master.kill9();
    consumer.signal("CONT");
    wait_consumed(
        &mut consumer,
        &backlog,
        "the backlog consumed from the slave",
    );
    wait_until("offsets committed on the slave", WAIT, || {
        committed_up_to_end(&rt, &slave)
    });

    // the master returns; what is sent next is consumed and committed on the master
    pair.master.start();
    let after = send_batch(&rt, &producer, "after", BATCH);
    wait_consumed(
        &mut consumer,
        &after,
        "the batch sent after the restart consumed",
    );
    wait_until("offsets committed on the restarted master", WAIT, || {
        committed_up_to_end(&rt, &master)
    });
    wait_until("the slave copies the master's offsets", WAIT, || {
        committed_up_to_end(&rt, &slave)
    });

    let seen = consumed(&mut consumer);
    let acked: HashSet<&String> = first.iter().chain(&backlog).chain(&after).collect();
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "ferrocket consume outage: {} acknowledged, {} consumed, {} consumed more than once",
        acked.len(),
        seen.len(),
        twice.len()
    );
    assert!(
        twice.len() == DUPLICATE_BOUND,
        "{} messages consumed more than once: {twice:?}",
        twice.len()
    );
    rt.block_on(producer.shutdown());
    consumer.signal("TERM");
    assert!(
        consumer.wait_exit(WAIT).success(),
        "{}",
        consumer.stderr_text()
    );
    pair.slave.stop();
    pair.master.stop();
}
