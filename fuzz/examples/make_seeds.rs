//! Writes the seed corpus (`fuzz/corpus/<target>/seed-*`): well-formed inputs for each target,
//! built with Ferrocket's own encoders, so that the fuzzer starts from valid frames, headers,
//! records and store files and mutates from there.
//!
//! `cargo +nightly run --example make_seeds` from `fuzz/`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use ferrocket_protocol::header::pull_message::PullMessageRequestHeader;
use ferrocket_protocol::header::send_message::SendMessageRequestHeader;
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::{encode_batch_body, encode_message_ext, Message, MessageExt};
use ferrocket_protocol::{RemotingCommand, SerializeType};
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, MessageExtBrokerInner, MessageStoreConfig,
};

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(target: &str, seeds: &[Vec<u8>]) {
    let dir = corpus(target);
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i}")), s).unwrap();
    }
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

fn send_header() -> SendMessageRequestHeader {
    SendMessageRequestHeader {
        producer_group: "PG".into(),
        topic: "TopicTest".into(),
        default_topic: "TBW102".into(),
        default_topic_queue_nums: 4,
        queue_id: 1,
        sys_flag: 0,
        born_timestamp: 1_700_000_000_000,
        flag: 0,
        properties: Some("TAGS\u{1}TagA\u{2}KEYS\u{1}k1\u{2}WAIT\u{1}true\u{2}".into()),
        reconsume_times: Some(0),
        unit_mode: Some(false),
        max_reconsume_times: None,
        batch: Some(false),
        broker_name: None,
    }
}

fn pull_header() -> PullMessageRequestHeader {
    PullMessageRequestHeader {
        consumer_group: "CG".into(),
        topic: "TopicTest".into(),
        queue_id: 2,
        queue_offset: 10,
        max_msg_nums: 32,
        sys_flag: 3,
        commit_offset: 5,
        suspend_timeout_millis: 15000,
        subscription: Some("TagA || TagB".into()),
        sub_version: 1,
        expression_type: Some("TAG".into()),
        max_msg_bytes: None,
        broker_name: Some("broker-a".into()),
    }
}

fn commands() -> Vec<RemotingCommand> {
    let mut send = RemotingCommand::request(10).with_body(&b"hello"[..]);
    send_header().write_to(&mut send);
    let mut pull = RemotingCommand::request(11);
    pull_header().write_to(&mut pull);
    pull.serialize_type = SerializeType::RocketMq;
    let mut resp = RemotingCommand::request(0).with_remark("no route for \"T\"");
    resp.flag = 1;
    resp.opaque = 7;
    vec![send, pull, resp]
}

fn ext_lines(code: i32, cmd: &RemotingCommand) -> Vec<u8> {
    let mut s = format!("{code}");
    for (k, v) in cmd.ext_fields.iter() {
        s.push_str(&format!("\n{k}={v}"));
    }
    s.into_bytes()
}

fn message_ext(topic: &str, body: &[u8], offset: i64) -> MessageExt {
    let mut m = MessageExt {
        queue_id: 1,
        queue_offset: offset,
        commit_log_offset: offset * 200,
        born_timestamp: 1_700_000_000_000,
        store_timestamp: 1_700_000_000_005,
        born_host: "10.0.0.1:54321".parse().unwrap(),
        store_host: "127.0.0.1:10911".parse().unwrap(),
        body_crc: ferrocket_protocol::util::crc32(body),
        ..MessageExt::default()
    };
    m.message = Message::new(topic, Bytes::copy_from_slice(body));
    m.message.set_tags("TagA");
    m.message.set_property("KEYS", "order-1");
    m
}

/// Index files of the `index_file` target's capacities (8 slots, 16 entries): empty, partly
/// filled with colliding chains, and full, each prefixed with the target's flag byte.
fn index_seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = Vec::new();
    for (i, fill) in [0usize, 6, 15].into_iter().enumerate() {
        let path = dir.path().join(format!("2026112200000000{i}"));
        let f = ferrocket_store::IndexFile::create(&path, 8, 16, 0, 0).unwrap();
        for k in 0..fill {
            let key = ["T#a", "T#b", "T#order-7"][k % 3];
            assert!(f
                .put_key(key, 100 * k as i64, 1_795_000_000_000 + k as i64 * 1000)
                .unwrap());
        }
        f.flush().unwrap();
        let mut seed = vec![i as u8];
        seed.extend(std::fs::read(&path).unwrap());
        seeds.push(seed);
    }
    seeds
}

fn main() {
    write("index_file", &index_seeds());
    let cmds = commands();
    write(
        "frame",
        &[
            cmds[0].encode().to_vec(),
            cmds[1].encode().to_vec(),
            [cmds[2].encode(), cmds[0].encode()].concat(),
        ],
    );
    write(
        "command",
        &cmds
            .iter()
            .map(|c| c.encode()[4..].to_vec())
            .collect::<Vec<_>>(),
    );
    let mut v2 = RemotingCommand::request(310);
    send_header().write_to(&mut v2);
    let v2_lines = String::from_utf8(ext_lines(310, &v2)).unwrap();
    write(
        "typed_headers",
        &[
            ext_lines(10, &cmds[0]),
            ext_lines(11, &cmds[1]),
            v2_lines.into_bytes(),
            b"14\ntopic=TopicTest\nqueueId=0\nconsumerGroup=CG\ncommitOffset=42".to_vec(),
            b"103\nbrokerName=broker-a\nbrokerAddr=127.0.0.1:10911\nclusterName=DefaultCluster\nhaServerAddr=127.0.0.1:10912\nbrokerId=0\ncompressed=false\nbodyCrc32=0".to_vec(),
            b"37\ntopic=TopicTest\nreadQueueNums=8\nwriteQueueNums=8\nperm=6\ntopicFilterType=SINGLE_TAG\ntopicSysFlag=0\norder=false".to_vec(),
            b"36\ngroup=CG\noffset=1234\ndelayLevel=3\noriginMsgId=0A00000100002A9F0000000000000000\noriginTopic=TopicTest\nmaxReconsumeTimes=16".to_vec(),
        ],
    );

    let a = encode_message_ext(&message_ext("TopicTest", b"Hello RocketMQ", 0)).unwrap();
    let b = encode_message_ext(&message_ext("TopicB", &[7u8; 300], 1)).unwrap();
    let batch = encode_batch_body(&[
        Message::new("TopicTest", Bytes::from_static(b"one")),
        Message::new("TopicTest", Bytes::from_static(b"two")),
    ])
    .unwrap();
    write("stored_records", &[a.clone(), [a, b].concat(), batch]);

    let mut cq = vec![0u8];
    for i in 0..20i64 {
        cq.extend_from_slice(&(i * 150).to_be_bytes());
        cq.extend_from_slice(&150i32.to_be_bytes());
        cq.extend_from_slice(&(i % 3).to_be_bytes());
    }
    let mut cq_late = vec![0x23u8];
    cq_late.extend_from_slice(&cq[1..]);
    write("consume_queue", &[cq, cq_late]);

    write("commit_log_recovery", &store_images());

    write(
        "fastjson",
        &[
            br#"{"brokerDatas":[{"brokerAddrs":{0:"127.0.0.1:10911",1:"127.0.0.1:10921"},"brokerName":"broker-a","cluster":"DefaultCluster"}],"filterServerTable":{},"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}"#.to_vec(),
            br#"{"clientID":"10.0.0.1@1234","consumerDataSet":[{"consumeFromWhere":"CONSUME_FROM_LAST_OFFSET","consumeType":"CONSUME_PASSIVELY","groupName":"CG","messageModel":"CLUSTERING","subscriptionDataSet":[{"classFilterMode":false,"codeSet":[2598919],"expressionType":"TAG","subString":"TagA","subVersion":1,"tagsSet":["TagA"],"topic":"TopicTest"}],"unitMode":false}],"producerDataSet":[{"groupName":"PG"}]}"#.to_vec(),
            br#"{"dataVersion":{"counter":3,"timestamp":1700000000000},"topicConfigTable":{"TopicTest":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"TopicTest","topicSysFlag":0,"writeQueueNums":4}}}"#.to_vec(),
            br#"{"offsetTable":{"TopicTest@CG":{0:12,1:7,2:0,3:5}}}"#.to_vec(),
        ],
    );
}

/// CommitLog segments (flag byte first) written by the store itself: a clean image and the
/// same bytes marked as crashed.
fn store_images() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let config = MessageStoreConfig {
        mapped_file_size_commit_log: 4096,
        mapped_file_size_consume_queue: 20 * 64,
        flush_disk_type: FlushDiskType::AsyncFlush,
        ..MessageStoreConfig::with_root(dir.path())
    };
    let store = DefaultMessageStore::open(config).unwrap();
    for i in 0..24 {
        let topic = if i % 3 == 0 { "TopicB" } else { "TopicTest" };
        let mut m = MessageExtBrokerInner::new(
            topic,
            i % 2,
            vec![b'a' + (i as u8 % 26); 100 + i as usize * 7],
        );
        m.properties_string = format!("TAGS\u{1}Tag{}\u{2}KEYS\u{1}k{i}\u{2}", i % 4);
        let r = block_on(store.put_message(m));
        assert!(r.append.is_some(), "{r:?}");
    }
    store.shutdown();
    let mut files: Vec<_> = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut log = Vec::new();
    for f in files.iter().take(3) {
        log.extend(std::fs::read(f).unwrap());
    }
    // trailing zeros add nothing: the target pads every segment
    while log.last() == Some(&0) {
        log.pop();
    }
    let clean = [&[2u8][..], &log].concat();
    let crashed = [&[3u8][..], &log].concat();
    vec![clean, crashed]
}
