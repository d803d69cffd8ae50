//! Crash recovery of the real binary: `ferrocket standalone` is killed with SIGKILL while
//! several producers send, then restarted on the same store, several times over. A checker
//! compares every acknowledged send with what a consumer reads back from offset 0 and prints
//! `acked`, `recovered`, `lost`, `duplicated` (and `corrupted`).
//!
//! A SIGKILL ends the process but not the kernel: pages written into the mapped files survive
//! it under both flush modes, so an acknowledged message must survive too. What differs is
//! what the store finds at restart: the `abort` file is there, recovery takes the abnormal
//! path (scan from the checkpoint, verify every record, truncate a torn tail, rebuild the
//! consume queues) and the consumer must see contiguous queues of intact records.
//!
//! A power loss could also leave a torn record behind, which a SIGKILL alone hardly ever does,
//! so after each kill the test writes one: the first half of a copy of the last record, placed
//! right after it, as an interrupted append would leave it. Under ASYNC_FLUSH an acknowledged
//! record may be lost that way too (its pages never reached the disk), so there the test also
//! tears the second half of the last record itself; that one message, and only that one, may
//! then be missing.
//!
//! After the second kill the test also deletes every consume queue and the checkpoint, so the
//! next start has to rebuild all queues from the whole commit log.
//!
//! `CRASH_SEED=<n>` replays a run (kill moments and message sizes derive from it).

mod common;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_client::{
    Message, MessageBuilder, MessageExt, MessageQueue, Producer, ProducerConfig, PullConsumer,
    PullConsumerConfig, PullStatus, SendStatus,
};
use ferrocket_protocol::message::{
    parse_record, peek_record_header, BLANK_MAGIC, PHYSICAL_OFFSET_POSITION,
};
use ferrocket_protocol::util::crc32;
use ferrocket_testkit::Standalone;
use parking_lot::Mutex;

const TOPICS: [&str; 2] = ["CrashTopicA", "CrashTopicB"];
const QUEUES: i32 = 4;
const CYCLES: usize = 4;
const PRODUCER_TASKS: usize = 4;
const BATCH: usize = 4;
const BROKER_NAME: &str = "broker-crash";

/// xorshift64*: enough randomness for kill moments and sizes, reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        })
        | 1
}

/// The body sent for message `id`: the id, then filler derived from it, 40..1500 bytes in
/// all (below the client's compression threshold, so the stored body is the sent body).
fn body_of(id: &str) -> Vec<u8> {
    let h = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    let len = 40 + (h % 1460) as usize;
    let mut body = format!("{id}|").into_bytes();
    let mut x = h | 1;
    while body.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        body.push(b'a' + (x % 26) as u8);
    }
    body
}

fn id_of(body: &[u8]) -> Option<String> {
    let end = body.iter().position(|b| *b == b'|')?;
    String::from_utf8(body[..end].to_vec()).ok()
}

/// What the producers learned: acknowledged ids with their queue and offset, and ids whose
/// outcome is unknown (the send failed or the broker died before answering).
#[derive(Default)]
struct Ledger {
    acked: HashMap<String, (String, i32, i64)>,
    in_doubt: HashSet<String>,
}

fn start_broker(dir: &Path, store: &Path, flush: &str, cycle: usize) -> Standalone {
    // small segments so that several cycles roll over segment boundaries
    common::standalone()
        .dir(dir)
        .store(store)
        .conf_name(&format!("broker-{cycle}.conf"))
        .commit_log_size(Some(2 * 1024 * 1024))
        .conf(&format!(
            "brokerName={BROKER_NAME}\nflushDiskType={flush}\nmappedFileSizeConsumeQueue={}\n",
            20 * 1024
        ))
        .ready_timeout(Duration::from_secs(120))
        .start()
}

/// Sends until `stop` is raised; every outcome goes into the ledger.
async fn produce(
    producer: Producer,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<AtomicBool>,
    prefix: String,
    batch: bool,
) {
    let mut seq = 0usize;
    while !stop.load(Ordering::Acquire) {
        let topic = TOPICS[seq % TOPICS.len()];
        let n = if batch { BATCH } else { 1 };
        let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{}", seq + i)).collect();
        seq += n;
        let msgs: Vec<Message> = ids
            .iter()
            .map(|id| {
                Message::new(topic, body_of(id))
                    .with_keys(id.clone())
                    .with_tags("crash")
            })
            .collect();
        let r = if batch {
            producer.send_batch(&msgs).await
        } else {
            producer.send(&msgs[0]).await
        };
        let mut l = ledger.lock();
        match r {
            Ok(r) if r.send_status == SendStatus::SendOk => {
                for (i, id) in ids.into_iter().enumerate() {
                    let at = (
                        topic.to_string(),
                        r.message_queue.queue_id,
                        r.queue_offset + i as i64,
                    );
                    l.acked.insert(id, at);
                }
            }
            _ => l.in_doubt.extend(ids),
        }
    }
}

/// A record found in the CommitLog: segment path, segment start offset, position, size.
struct Located {
    path: std::path::PathBuf,
    file_from: i64,
    pos: usize,
    size: usize,
}

/// The newest record of the CommitLog under `store`, walking every segment.
fn last_record(store: &Path) -> Option<Located> {
    let mut files: Vec<_> = std::fs::read_dir(store.join("commitlog"))
        .ok()?
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut last = None;
    for path in files {
        let data = std::fs::read(&path).unwrap();
        let file_from: i64 = path.file_name()?.to_str()?.parse().ok()?;
        let mut pos = 0;
        while let Some((size, magic)) = peek_record_header(&data[pos..]) {
            if magic == BLANK_MAGIC || size <= 0 || pos + size as usize > data.len() {
                break;
            }
            // the kill itself may have torn the newest record: stop at the first incomplete one
            let complete = parse_record(&data[pos..]).is_ok_and(|v| {
                v.physical_offset == file_from + pos as i64 && crc32(v.body) == v.body_crc
            });
            if !complete {
                return last;
            }
            last = Some(Located {
                path: path.clone(),
                file_from,
                pos,
                size: size as usize,
            });
            pos += size as usize;
        }
    }
    last
}

/// Simulates what a power loss can leave at the end of the CommitLog: a torn, never
/// acknowledged append after the last record and, with `tear_last`, a torn last record.
/// Returns whether a torn append was written, and the id of the torn last record.
fn tear_tail(store: &Path, tear_last: bool) -> (bool, Option<String>) {
    use std::os::unix::fs::FileExt;
    let Some(at) = last_record(store) else {
        return (false, None);
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&at.path)
        .unwrap();
    let mut record = vec![0u8; at.size];
    file.read_exact_at(&mut record, at.pos as u64).unwrap();
    let id = id_of(parse_record(&record).unwrap().body).unwrap();
    let end = at.pos + at.size;
    let append = end + at.size + 8 <= file.metadata().unwrap().len() as usize;
    if append {
        let mut torn = record.clone();
        let phy = at.file_from + end as i64;
        torn[PHYSICAL_OFFSET_POSITION..PHYSICAL_OFFSET_POSITION + 8]
            .copy_from_slice(&phy.to_be_bytes());
        file.write_all_at(&torn[..at.size / 2], end as u64).unwrap();
    }
    if !tear_last {
        return (append, None);
    }
    let half = at.size / 2;
    file.write_all_at(&vec![0u8; at.size - half], (at.pos + half) as u64)
        .unwrap();
    (true, Some(id))
}

/// The checker's verdict over every queue.
#[derive(Debug, Default)]
struct Report {
    acked: usize,
    recovered: usize,
    lost: usize,
    lost_ids: Vec<String>,
    duplicated: usize,
    corrupted: usize,
    in_doubt_stored: usize,
    records: usize,
    problems: Vec<String>,
}

/// Reads every queue from offset 0 and checks each record against what was sent.
async fn check(namesrv: &str, ledger: &Ledger, group: &str) -> Report {
    let consumer = PullConsumer::start(PullConsumerConfig::new(group, namesrv))
        .await
        .expect("pull consumer starts");
    let mut seen: HashMap<String, Vec<(String, i32, i64)>> = HashMap::new();
    let mut report = Report::default();
    for topic in TOPICS {
        let queues = consumer
            .fetch_message_queues(topic)
            .await
            .unwrap_or_else(|e| panic!("route of {topic}: {e}"));
        assert_eq!(queues.len(), QUEUES as usize, "queues of {topic}");
        for mq in queues {
            read_queue(&consumer, &mq, &mut seen, &mut report).await;
        }
    }
    consumer.shutdown().await;

    report.acked = ledger.acked.len();
    for (id, at) in &ledger.acked {
        match seen.get(id) {
            Some(places) if places.contains(at) => report.recovered += 1,
            Some(places) => {
                report.recovered += 1;
                report.problems.push(format!(
                    "{id} was acknowledged at {at:?} but found at {places:?}"
                ));
            }
            None => {
                report.lost += 1;
                report.lost_ids.push(id.clone());
            }
        }
    }
    report.duplicated = seen.values().map(|p| p.len() - 1).sum();
    report.in_doubt_stored = ledger
        .in_doubt
        .iter()
        .filter(|id| seen.contains_key(*id))
        .count();
    for id in seen.keys() {
        if !ledger.acked.contains_key(id) && !ledger.in_doubt.contains(id) {
            report
                .problems
                .push(format!("{id} was read but never sent"));
        }
    }
    report
}

async fn read_queue(
    consumer: &PullConsumer,
    mq: &MessageQueue,
    seen: &mut HashMap<String, Vec<(String, i32, i64)>>,
    report: &mut Report,
) {
    let max = consumer.max_offset(mq).await.expect("max offset");
    let mut offset = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while offset < max {
        assert!(Instant::now() < deadline, "reading {mq:?} takes too long");
        let r = consumer
            .pull(mq, "*", offset, 32)
            .await
            .unwrap_or_else(|e| panic!("pull {mq:?} at {offset}: {e}"));
        if r.status != PullStatus::Found {
            report.problems.push(format!(
                "{mq:?}: {} at offset {offset} below max {max} (min {})",
                r.status, r.min_offset
            ));
            return;
        }
        for (i, m) in r.msgs.iter().enumerate() {
            let expected_offset = offset + i as i64;
            if m.queue_offset != expected_offset {
                report.problems.push(format!(
                    "{mq:?}: queue offset {} where {expected_offset} was expected",
                    m.queue_offset
                ));
            }
            report.records += 1;
            match verify(m, &mq.topic) {
                Ok(id) => seen.entry(id).or_default().push((
                    mq.topic.clone(),
                    mq.queue_id,
                    m.queue_offset,
                )),
                Err(why) => {
                    report.corrupted += 1;
                    report
                        .problems
                        .push(format!("{mq:?} offset {}: {why}", m.queue_offset));
                }
            }
        }
        offset = r.next_begin_offset;
    }
}

/// The id of an intact record, or why it is not.
fn verify(m: &MessageExt, topic: &str) -> Result<String, String> {
    let body = &m.message.body;
    if crc32(body) != m.body_crc {
        return Err(format!("body CRC {} != stored {}", crc32(body), m.body_crc));
    }
    let id = id_of(body).ok_or("body carries no id")?;
    if body[..] != body_of(&id)[..] {
        return Err(format!("body of {id} differs from the one sent"));
    }
    if m.message.keys() != Some(id.as_str()) {
        return Err(format!("KEYS {:?} != {id}", m.message.keys()));
    }
    if m.message.topic != topic {
        return Err(format!("topic {} in queue of {topic}", m.message.topic));
    }
    Ok(id)
}

fn print_report(flush: &str, cycle: usize, r: &Report) {
    println!(
        "[{flush}] after crash {cycle}: acked={} recovered={} lost={} duplicated={} corrupted={} \
         (records={}, unacknowledged but stored={})",
        r.acked, r.recovered, r.lost, r.duplicated, r.corrupted, r.records, r.in_doubt_stored
    );
}

fn crash_cycles(flush: &str) {
    let seed = seed();
    println!("[{flush}] CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let tear_last = flush == "ASYNC_FLUSH";
    let mut torn: HashSet<String> = HashSet::new();
    let mut tore = false;

    for cycle in 1..=CYCLES {
        let mut broker = start_broker(dir.path(), &store, flush, cycle);
        if cycle > 1 {
            // the recovery lines are logged before the ready line but read from another pipe
            let last_recovery_line = if tore {
                "commit log ends with an invalid record; truncating"
            } else {
                "abort file found"
            };
            broker
                .process
                .wait_stderr(last_recovery_line, Duration::from_secs(60));
            let logs = broker.process.stderr_text();
            assert!(
                logs.contains("abort file found"),
                "restart after SIGKILL takes the abnormal recovery path:\n{logs}"
            );
            assert!(
                !tore || logs.contains("commit log ends with an invalid record; truncating"),
                "recovery cuts the torn tail:\n{logs}"
            );
            let r = rt.block_on(check(
                &broker.namesrv,
                &ledger.lock(),
                &format!("check-{cycle}"),
            ));
            print_report(flush, cycle - 1, &r);
            assert_consistent(flush, &r, &torn);
        }

        let stop = Arc::new(AtomicBool::new(false));
        let load = Duration::from_millis(1500 + rng.below(2500));
        let namesrv = broker.namesrv.clone();
        let tasks = rt.block_on(async {
            let mut cfg = ProducerConfig::new(format!("crash-producer-{cycle}"), namesrv);
            cfg.retry_times_when_send_failed = 0;
            cfg.send_msg_timeout = Duration::from_secs(5);
            let producer = Producer::start(cfg).await.expect("producer starts");
            let tasks: Vec<_> = (0..PRODUCER_TASKS)
                .map(|t| {
                    tokio::spawn(produce(
                        producer.clone(),
                        ledger.clone(),
                        stop.clone(),
                        format!("c{cycle}p{t}"),
                        t == 0,
                    ))
                })
                .collect();
            (producer, tasks)
        });
        std::thread::sleep(load);
        broker.process.signal("KILL");
        stop.store(true, Ordering::Release);
        let status = broker.process.wait_exit(Duration::from_secs(30));
        assert!(!status.success(), "SIGKILL ends the broker: {status:?}");
        let (appended, torn_id) = tear_tail(&store, tear_last);
        tore = appended;
        torn.extend(torn_id);
        if cycle == 2 {
            // lose every consume queue and the checkpoint: the next start must rebuild the
            // queues from the whole commit log, at the same queue offsets
            std::fs::remove_dir_all(store.join("consumequeue")).unwrap();
            std::fs::remove_file(store.join("checkpoint")).unwrap();
        }
        rt.block_on(async {
            let (producer, tasks) = tasks;
            for t in tasks {
                tokio::time::timeout(Duration::from_secs(60), t)
                    .await
                    .expect("producers stop once the broker is gone")
                    .unwrap();
            }
            producer.shutdown().await;
        });
        let l = ledger.lock();
        println!(
            "[{flush}] cycle {cycle}: killed after {load:?}; acked so far {}, in doubt {}",
            l.acked.len(),
            l.in_doubt.len()
        );
        assert!(
            !l.acked.is_empty(),
            "the producers got acknowledgements before the kill"
        );
    }

    // the last restart: everything is checked, then the broker must take new sends
    let mut broker = start_broker(dir.path(), &store, flush, CYCLES + 1);
    let r = rt.block_on(check(&broker.namesrv, &ledger.lock(), "check-final"));
    print_report(flush, CYCLES, &r);
    assert_consistent(flush, &r, &torn);
    rt.block_on(async {
        let producer = Producer::start(ProducerConfig::new("crash-after", broker.namesrv.clone()))
            .await
            .unwrap();
        for topic in TOPICS {
            let id = format!("after-{topic}");
            let sent = producer
                .send(&Message::new(topic, body_of(&id)).with_keys(id.clone()))
                .await
                .expect("the recovered broker takes new sends");
            assert_eq!(sent.send_status, SendStatus::SendOk);
            let consumer =
                PullConsumer::start(PullConsumerConfig::new("after", broker.namesrv.clone()))
                    .await
                    .unwrap();
            let got = consumer
                .pull(&sent.message_queue, "*", sent.queue_offset, 1)
                .await
                .unwrap();
            assert_eq!(got.status, PullStatus::Found);
            assert_eq!(verify(&got.msgs[0], topic), Ok(id));
            consumer.shutdown().await;
        }
        producer.shutdown().await;
    });
    broker.process.signal("TERM");
    let status = broker.process.wait_exit(Duration::from_secs(60));
    assert!(
        status.success(),
        "{status:?}\n{}",
        broker.process.stderr_text()
    );
    assert!(
        !store.join("abort").exists(),
        "clean shutdown removes the abort file"
    );
}

fn assert_consistent(flush: &str, r: &Report, torn: &HashSet<String>) {
    assert!(
        r.problems.is_empty(),
        "[{flush}] store inconsistent after recovery:\n{}",
        r.problems.join("\n")
    );
    assert_eq!(r.corrupted, 0, "[{flush}] corrupted records");
    assert_eq!(r.recovered + r.lost, r.acked);
    // a process crash leaves the page cache to the kernel, so even ASYNC_FLUSH keeps every
    // acknowledged record but the ones the test tore on purpose
    let unexpected: Vec<&String> = r.lost_ids.iter().filter(|id| !torn.contains(*id)).collect();
    assert!(
        unexpected.is_empty(),
        "[{flush}] acknowledged messages lost: {unexpected:?}"
    );
    if flush == "SYNC_FLUSH" {
        assert_eq!(r.lost, 0, "[{flush}] acknowledged messages lost");
    }
}

#[test]
fn sync_flush_loses_no_acknowledged_message_across_sigkill() {
    crash_cycles("SYNC_FLUSH");
}

#[test]
fn async_flush_recovers_a_consistent_store_across_sigkill() {
    crash_cycles("ASYNC_FLUSH");
}
