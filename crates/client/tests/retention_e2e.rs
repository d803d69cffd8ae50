//! Retention and a full disk, end to end against the real `ferrocket standalone` binary:
//! a consumer whose offset was deleted by retention is moved to the queue's new min offset
//! (PULL_OFFSET_MOVED) and continues; on a full disk (a tmpfs of the test's own) sends are
//! refused with SERVICE_NOT_AVAILABLE, reads go on, and sends resume once space frees.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{recorder, unique, wait_until, Standalone};
use ferrocket_client::{
    ConsumeFromWhere, Message, MessageExt, MessageQueue, Producer, ProducerConfig, PullConsumer,
    PullConsumerConfig, PullStatus, PushConsumer, PushConsumerConfig, SendStatus,
};
use ferrocket_testkit::Tmpfs;

/// SERVICE_NOT_AVAILABLE.
const SERVICE_NOT_AVAILABLE: i32 = 14;

/// `ferrocket standalone` on the store `data`, with its broker.conf in `conf_dir` and
/// `extra_conf` lines (the CommitLog segment size is set by each test).
fn start(data: &Path, conf_dir: &Path, extra_conf: &str) -> Standalone {
    common::standalone()
        .dir(conf_dir)
        .store(data)
        .commit_log_size(None)
        .rust_log(Some("info"))
        .conf(extra_conf)
        .start()
}

fn producer(server: &Standalone) -> ProducerConfig {
    let mut c = ProducerConfig::new(unique("producer"), server.namesrv.as_str());
    c.send_msg_timeout = Duration::from_secs(10);
    c
}

fn push_config(server: &Standalone, group: &str, topic: &str) -> PushConsumerConfig {
    let mut c = PushConsumerConfig::new(group, server.namesrv.as_str());
    c.subscribe(topic, "*");
    c.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    c.rebalance_interval = Duration::from_secs(2);
    c
}

async fn send_n(p: &Producer, topic: &str, mq: &MessageQueue, n: usize, body: &[u8]) {
    for _ in 0..n {
        let r = p
            .send_to_queue(&Message::new(topic, body.to_vec()), mq)
            .await
            .unwrap();
        assert_eq!(r.send_status, SendStatus::SendOk);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_behind_the_min_offset_is_moved_forward_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let mut server = start(
        &dir.path().join("store"),
        dir.path(),
        &format!(
            "mappedFileSizeCommitLog=65536\nmappedFileSizeConsumeQueue=400\n\
             fileReservedTime=0\ndeleteWhen={}\ncleanResourceInterval=200\n\
             deleteCommitLogFilesInterval=0\ndeleteConsumeQueueFilesInterval=0\n",
            hours.join(";")
        ),
    );
    let topic = unique("RetentionTopic");
    let group = unique("behind_group");
    let p = Producer::start(producer(&server)).await.unwrap();
    let mq = p.fetch_publish_message_queues(&topic).await.unwrap()[0].clone();
    send_n(&p, &topic, &mq, 10, b"early").await;

    // the group consumes the first 10 and stops with its offset at 10
    let (listener, seen) = recorder();
    let c = PushConsumer::start(push_config(&server, &group, &topic), listener)
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(60), || c.committed_offset(&mq)
            == Some(10))
        .await
    );
    c.shutdown().await;
    assert_eq!(seen.lock().len(), 10);

    // 300 more messages fill several commit log files; retention deletes the old ones
    let body = vec![b'x'; 1000];
    send_n(&p, &topic, &mq, 300, &body).await;
    let puller = PullConsumer::start(PullConsumerConfig::new(
        unique("probe"),
        server.namesrv.as_str(),
    ))
    .await
    .unwrap();
    // wait until the clean runs are done: the min offset is past 10 and stays put for 3 s
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut min, mut since) = (-1, Instant::now());
    loop {
        let r = puller.pull(&mq, "*", 0, 1).await.unwrap();
        if r.status == PullStatus::OffsetIllegal && r.next_begin_offset > 10 {
            assert_eq!(r.next_begin_offset, r.min_offset);
            if r.min_offset != min {
                (min, since) = (r.min_offset, Instant::now());
            } else if since.elapsed() >= Duration::from_secs(3) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "retention never settled the queue's min offset past 10: {r:?}\n{}",
            server.process.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(min < 310);

    // the group comes back at offset 10: it is moved to the min offset and reads on from there
    let (listener, seen) = recorder();
    let c = PushConsumer::start(push_config(&server, &group, &topic), listener)
        .await
        .unwrap();
    let done = wait_until(Duration::from_secs(90), || {
        seen.lock().iter().any(|m| m.queue_offset == 309)
    })
    .await;
    let offsets: BTreeSet<i64> = seen.lock().iter().map(|m| m.queue_offset).collect();
    assert!(
        done,
        "the consumer did not continue: got {offsets:?}\n{}",
        server.process.stderr_text()
    );
    assert_eq!(offsets, (min..310).collect::<BTreeSet<_>>());
    assert!(
        wait_until(Duration::from_secs(30), || c.committed_offset(&mq)
            == Some(310))
        .await
    );
    c.shutdown().await;

    // the broker recorded the correction in OFFSET_MOVED_EVENT, tagged with the group
    let events_mq = MessageQueue::new("OFFSET_MOVED_EVENT", mq.broker_name.as_str(), 0);
    let events = puller
        .pull(&events_mq, group.as_str(), 0, 32)
        .await
        .unwrap();
    let bodies: Vec<String> = events
        .msgs
        .iter()
        .map(|m| String::from_utf8_lossy(&m.body).into_owned())
        .collect();
    let expected = format!(
        r#"{{"consumerGroup":"{group}","messageQueue":{{"brokerName":"{}","queueId":{},"topic":"{topic}"}},"offsetNew":{min},"offsetRequest":10}}"#,
        mq.broker_name, mq.queue_id
    );
    assert!(bodies.contains(&expected), "{expected} not in {bodies:?}");
    puller.shutdown().await;
    p.shutdown().await;
}

async fn pull_all(c: &PullConsumer, mq: &MessageQueue) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let r = c.pull(mq, "*", offset, 32).await.unwrap();
        if r.status != PullStatus::Found {
            return out;
        }
        offset = r.next_begin_offset;
        out.extend(r.msgs);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_sends_keeps_reads_and_resumes_when_space_frees() {
    let fs = Tmpfs::mount(64);
    let conf_dir = tempfile::tempdir().unwrap();
    let data = fs.path().join("store");
    let conf = "mappedFileSizeCommitLog=2097152\nmappedFileSizeConsumeQueue=20000\n\
                cleanFileForciblyEnable=false\n";
    let server = start(&data, conf_dir.path(), conf);
    let topic = unique("FullDiskTopic");
    let p = Producer::start(producer(&server)).await.unwrap();
    let mq = p.fetch_publish_message_queues(&topic).await.unwrap()[0].clone();
    let body = vec![b'd'; 16 * 1024];
    send_n(&p, &topic, &mq, 100, &body).await;

    let filler = fs.fill_to("filler", 0.95);
    let deadline = Instant::now() + Duration::from_secs(60);
    let err = loop {
        match p
            .send_to_queue(&Message::new(topic.as_str(), "x"), &mq)
            .await
        {
            Err(e) if e.response_code() == Some(SERVICE_NOT_AVAILABLE) => break e,
            other => {
                assert!(other.is_ok(), "{other:?}");
                assert!(
                    Instant::now() < deadline,
                    "sends still accepted on a {:.2} full disk",
                    fs.used()
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let text = err.to_string();
    assert!(
        text.contains("the broker's disk is full [CL:  0.9"),
        "{text}"
    );
    let accepted_before_full = {
        // what got in before the refusal: 100 plus the probes that were accepted
        let c = PullConsumer::start(PullConsumerConfig::new(
            unique("reader"),
            server.namesrv.as_str(),
        ))
        .await
        .unwrap();
        let all = pull_all(&c, &mq).await;
        assert!(all.len() >= 100);
        assert!(all[..100]
            .iter()
            .all(|m| m.body.as_ref() == body.as_slice()));
        c.shutdown().await;
        all.len()
    };

    // space frees: sends are accepted again without a restart
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match p
            .send_to_queue(&Message::new(topic.as_str(), "after"), &mq)
            .await
        {
            Ok(r) => {
                assert_eq!(r.send_status, SendStatus::SendOk);
                break;
            }
            Err(e) => {
                assert_eq!(e.response_code(), Some(SERVICE_NOT_AVAILABLE), "{e}");
                assert!(
                    Instant::now() < deadline,
                    "sends still refused after space freed"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    p.shutdown().await;
    server.stop();

    // nothing stored was damaged: a restart reads every message back
    let server = start(&data, conf_dir.path(), conf);
    let c = PullConsumer::start(PullConsumerConfig::new(
        unique("reader"),
        server.namesrv.as_str(),
    ))
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let all = loop {
        // the route comes back once the restarted broker registers
        match c.pull(&mq, "*", 0, 1).await {
            Ok(_) => break pull_all(&c, &mq).await,
            Err(e) => {
                assert!(Instant::now() < deadline, "{e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    assert_eq!(all.len(), accepted_before_full + 1);
    assert_eq!(all.last().unwrap().body.as_ref(), b"after");
    c.shutdown().await;
}
