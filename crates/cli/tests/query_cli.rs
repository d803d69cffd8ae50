//! QUERY_MESSAGE and VIEW_MESSAGE_BY_ID against a real `ferrocket standalone`, with index files
//! small enough that the keys spread over several of them, across a clean restart and `kill -9`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use ferrocket_client::{Message, Producer, ProducerConfig};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::query_message::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::decode_messages;
use ferrocket_protocol::util::decode_message_id;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_testkit::Standalone;
use ferrocket_testkit::{free_port, free_port_block};

const TOPIC: &str = "QueryCliTopic";
const WAIT: Duration = Duration::from_secs(60);

fn start(dir: &Path, ns_port: u16, broker_port: u16) -> Standalone {
    common::standalone()
        .dir(dir)
        .ports(ns_port, broker_port)
        .conf("brokerName=broker-query\nmaxHashSlotNum=16\nmaxIndexNum=40")
        .ready_timeout(WAIT)
        .start()
}

async fn query(
    client: &RemotingClient,
    addr: &str,
    key: &str,
    max_num: i32,
    unique: bool,
) -> (i32, Vec<ferrocket_protocol::message::MessageExt>, i64) {
    let mut cmd = RemotingCommand::request(request::QUERY_MESSAGE);
    QueryMessageRequestHeader {
        topic: TOPIC.into(),
        key: key.into(),
        max_num,
        begin_timestamp: 0,
        end_timestamp: i64::MAX,
    }
    .write_to(&mut cmd);
    if unique {
        cmd = cmd.with_ext(UNIQUE_KEY_QUERY, "true");
    }
    let r = client
        .invoke(addr, cmd, WAIT)
        .await
        .expect("QUERY_MESSAGE answered");
    let h = QueryMessageResponseHeader::decode(&r).expect("response header");
    let msgs = decode_messages(&r.full_body()).expect("stored records");
    (r.code, msgs, h.index_last_update_phyoffset)
}

/// Keys found for `key`, once the index has caught up (the query is retried until it answers
/// `expected` records or the wait runs out).
async fn query_until(
    client: &RemotingClient,
    addr: &str,
    key: &str,
    expected: usize,
) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (code, msgs, _) = query(client, addr, key, 64, false).await;
        if msgs.len() >= expected || Instant::now() > deadline {
            assert_eq!(code, response::SUCCESS, "query {key}");
            let mut bodies: Vec<String> = msgs
                .iter()
                .map(|m| String::from_utf8_lossy(&m.message.body).into_owned())
                .collect();
            bodies.sort();
            return bodies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn bodies(range: impl Iterator<Item = usize>) -> Vec<String> {
    let mut v: Vec<String> = range.map(|i| format!("query-body-{i:04}")).collect();
    v.sort();
    v
}

#[test]
fn query_by_key_unique_key_and_offset_id_survive_restart_and_kill() {
    let dir = tempfile::tempdir().unwrap();
    let (ns_port, broker_port) = (free_port(), free_port_block());
    let mut s = start(dir.path(), ns_port, broker_port);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = RemotingClient::new();

    // 30 messages x 3 keys (UNIQ_KEY, "even"/"odd", "k{i}") fill several 39-entry index files
    let sent = rt.block_on(async {
        let producer =
            Producer::start(ProducerConfig::new("query_cli_producer", s.namesrv.clone()))
                .await
                .unwrap();
        let mut sent = Vec::new();
        for i in 0..30usize {
            let mut m = Message::new(TOPIC, format!("query-body-{i:04}").into_bytes());
            let parity = if i % 2 == 0 { "even" } else { "odd" };
            m.set_keys([parity.to_string(), format!("k{i}")]);
            sent.push(producer.send(&m).await.expect("sent"));
        }
        producer.shutdown().await;
        sent
    });
    let check = |s: &Standalone, label: &str| {
        rt.block_on(async {
            assert_eq!(
                query_until(&client, &s.broker, "even", 15).await,
                bodies((0..30).step_by(2)),
                "{label}"
            );
            assert_eq!(
                query_until(&client, &s.broker, "k7", 1).await,
                bodies(7..8),
                "{label}"
            );
            let (code, msgs, _) = query(&client, &s.broker, "odd", 4, false).await;
            assert_eq!(
                (code, msgs.len()),
                (response::SUCCESS, 4),
                "{label}: maxNum caps"
            );
            // unique key: the message id the producer got back
            let (code, msgs, last) = query(&client, &s.broker, &sent[12].msg_id, 1000, true).await;
            assert_eq!(code, response::SUCCESS, "{label}");
            assert_eq!(msgs.len(), 1);
            assert_eq!(msgs[0].message.body.as_ref(), b"query-body-0012");
            assert!(last > 0, "{label}: index progress is reported");
            let (code, msgs, _) = query(&client, &s.broker, "no-such-key", 32, false).await;
            assert_eq!(
                (code, msgs.len()),
                (response::QUERY_NOT_FOUND, 0),
                "{label}"
            );
            // offset message id
            let (_, offset) = decode_message_id(&sent[21].offset_msg_id).expect("offset msg id");
            let mut cmd = RemotingCommand::request(request::VIEW_MESSAGE_BY_ID);
            ViewMessageRequestHeader {
                topic: Some(TOPIC.into()),
                offset,
            }
            .write_to(&mut cmd);
            let r = client.invoke(&s.broker, cmd, WAIT).await.unwrap();
            assert_eq!(r.code, response::SUCCESS, "{label}");
            let m = decode_messages(&r.full_body()).unwrap();
            assert_eq!(m[0].message.body.as_ref(), b"query-body-0021");
            assert_eq!(m[0].offset_msg_id(), sent[21].offset_msg_id);
        })
    };
    check(&s, "running");
    let files = std::fs::read_dir(dir.path().join("store/index"))
        .unwrap()
        .count();
    assert!(files >= 2, "keys spread over several index files ({files})");

    s.process.signal("TERM");
    assert!(s.process.wait_exit(WAIT).success());
    let mut s = start(dir.path(), ns_port, broker_port);
    check(&s, "after a clean restart");

    s.process.signal("KILL");
    s.process.wait_exit(WAIT);
    assert!(dir.path().join("store/abort").exists());
    let s = start(dir.path(), ns_port, broker_port);
    check(&s, "after kill -9");
    rt.block_on(client.close_all());
}
