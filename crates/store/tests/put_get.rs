mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use ferrocket_protocol::message::{parse_record, MessageDecodeError, BLANK_MAGIC};
use ferrocket_protocol::util::{create_message_id, java_hash};
use ferrocket_store::{
    DefaultMessageStore, GetMessageStatus, MessageExtBrokerInner, PutMessageStatus, StoreError,
};
use parking_lot::Mutex;

fn body(i: usize, len: usize) -> Vec<u8> {
    let mut b = format!("message-{i:05}-").into_bytes();
    b.resize(len, b'a' + (i % 26) as u8);
    b
}

#[tokio::test]
async fn round_trip_across_several_segments_with_blank_padding() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let mut wrote = Vec::new();
    for i in 0..300 {
        let r = store
            .put_message(msg("TopicA", 0, &body(i, 1000), Some("TagA")))
            .await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let a = r.append.unwrap();
        assert_eq!(a.logics_offset, i as i64);
        assert_eq!(a.msg_num, 1);
        assert_eq!(a.msg_id, create_message_id(store_host(), a.wrote_offset));
        wrote.push(a);
    }
    let segments = std::fs::read_dir(dir.path().join("commitlog"))
        .unwrap()
        .count();
    assert!(
        segments >= 5,
        "300 KiB of records need several 64 KiB segments, got {segments}"
    );
    assert!(dir
        .path()
        .join("consumequeue/TopicA/0/00000000000000002000")
        .exists());
    assert!(dir
        .path()
        .join("consumequeue/TopicA/0/00000000000000004000")
        .exists());

    // no record crosses a segment boundary
    for a in &wrote {
        let start = a.wrote_offset as usize % COMMIT_LOG_FILE_SIZE;
        assert!(start + a.wrote_bytes as usize + 8 <= COMMIT_LOG_FILE_SIZE);
    }
    assert_eq!(store.get_max_offset_in_queue("TopicA", 0), 300);
    assert_eq!(store.get_min_offset_in_queue("TopicA", 0), 0);

    let all = read_all(&store, "TopicA", 0);
    assert_eq!(all.len(), 300);
    for (i, m) in all.iter().enumerate() {
        assert_eq!(&m.body[..], &body(i, 1000)[..]);
        assert_eq!(m.queue_offset, i as i64);
        assert_eq!(m.commit_log_offset, wrote[i].wrote_offset);
        assert_eq!(m.store_timestamp, wrote[i].store_timestamp);
        assert_eq!(m.tags(), Some("TagA"));
        assert_eq!(m.born_host, born_host());
        assert_eq!(m.store_host, store_host());
        assert_eq!(m.body_crc, ferrocket_protocol::util::crc32(&m.body));
        assert_eq!(m.msg_id, wrote[i].msg_id);
        let look = store.look_message_by_offset(wrote[i].wrote_offset).unwrap();
        assert_eq!(decode(&look).queue_offset, i as i64);
    }
    assert!(store
        .look_message_by_offset(store.get_max_phy_offset())
        .is_none());

    // the first segment ends with a BLANK record covering exactly the rest of the file
    store.shutdown();
    let seg = std::fs::read(dir.path().join("commitlog/00000000000000000000")).unwrap();
    assert_eq!(seg.len(), COMMIT_LOG_FILE_SIZE);
    let mut pos = 0;
    loop {
        match parse_record(&seg[pos..]) {
            Ok(v) => pos += v.total_size,
            Err(MessageDecodeError::BlankRecord { size }) => {
                assert_eq!(size as usize, COMMIT_LOG_FILE_SIZE - pos);
                assert_eq!(&seg[pos + 4..pos + 8], &BLANK_MAGIC.to_be_bytes());
                break;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(
        wrote[1].wrote_offset,
        wrote[0].wrote_offset + wrote[0].wrote_bytes as i64
    );
}

#[tokio::test]
async fn get_message_status_table_and_limits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let r = store.get_message("g", "Nope", 0, 0, 32, 1 << 20, None);
    assert_eq!(
        (r.status, r.next_begin_offset, r.min_offset, r.max_offset),
        (GetMessageStatus::NoMatchedLogicQueue, 0, 0, 0)
    );
    for i in 0..10 {
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        put_ok(&store, msg("T", 1, &body(i, 100), Some(tag))).await;
    }
    let r = store.get_message("g", "T", 1, 10, 32, 1 << 20, None);
    assert_eq!(
        (r.status, r.next_begin_offset, r.max_offset),
        (GetMessageStatus::OffsetOverflowOne, 10, 10)
    );
    let r = store.get_message("g", "T", 1, 15, 32, 1 << 20, None);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::OffsetOverflowBadly, 10)
    );

    let r = store.get_message("g", "T", 1, 3, 4, 1 << 20, None);
    assert_eq!(r.status, GetMessageStatus::Found);
    assert_eq!(r.message_queue_offsets, vec![3, 4, 5, 6]);
    assert_eq!(r.next_begin_offset, 7);
    assert_eq!(
        r.total_size,
        r.messages.iter().map(|m| m.len()).sum::<usize>()
    );

    // byte limit: the first message always comes, then stop before exceeding
    let one = r.messages[0].len() as i32;
    let r = store.get_message("g", "T", 1, 0, 32, one + one / 2, None);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.next_begin_offset, 1);
    let r = store.get_message("g", "T", 1, 0, 32, 1, None);
    assert_eq!(r.messages.len(), 1);

    // tag filter: skipped entries still advance nextBeginOffset
    let even = java_hash("even") as i64;
    let f = move |code: i64| code == even;
    let r = store.get_message("g", "T", 1, 1, 3, 1 << 20, Some(&f));
    assert_eq!(r.message_queue_offsets, vec![2, 4, 6]);
    assert_eq!(r.next_begin_offset, 7);
    let none = |_: i64| false;
    let r = store.get_message("g", "T", 1, 0, 32, 1 << 20, Some(&none));
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::NoMatchedMessage, 10)
    );
    assert!(r.messages.is_empty());

    // an empty queue directory
    store.shutdown();
    drop(store);
    std::fs::create_dir_all(dir.path().join("consumequeue/Empty/0")).unwrap();
    let store = open(config(dir.path()));
    let r = store.get_message("g", "Empty", 0, 5, 32, 1 << 20, None);
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetMessageStatus::NoMessageInQueue, 0)
    );
}

#[tokio::test]
async fn offset_too_small_after_old_consume_queue_segments_are_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    for i in 0..150 {
        put_ok(&store, msg("T", 0, &body(i, 10), None)).await;
    }
    store.shutdown();
    drop(store);
    std::fs::remove_file(dir.path().join("consumequeue/T/0/00000000000000000000")).unwrap();
    let store = open(config(dir.path()));
    assert_eq!(store.get_min_offset_in_queue("T", 0), 100);
    assert_eq!(store.get_max_offset_in_queue("T", 0), 150);
    let r = store.get_message("g", "T", 0, 5, 32, 1 << 20, None);
    assert_eq!(
        (r.status, r.next_begin_offset, r.min_offset),
        (GetMessageStatus::OffsetTooSmall, 100, 100)
    );
    let r = store.get_message("g", "T", 0, 100, 1, 1 << 20, None);
    assert_eq!(decode(&r.messages[0]).body, Bytes::from(body(100, 10)));
    let r = store.put_message(msg("T", 0, b"next", None)).await;
    assert_eq!(r.append.unwrap().logics_offset, 150);
}

#[tokio::test]
async fn offsets_by_time_and_store_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    assert_eq!(store.get_earliest_message_time("T", 0), -1);
    assert_eq!(store.get_offset_in_queue_by_time("T", 0, 0, false), 0);
    let mut times = Vec::new();
    for batch in 0..3 {
        for j in 0..3 {
            let r = store
                .put_message(msg("T", 0, &body(batch * 3 + j, 10), None))
                .await;
            times.push(r.append.unwrap().store_timestamp);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(store.get_earliest_message_time("T", 0), times[0]);
    assert_eq!(store.get_message_store_timestamp("T", 0, 4), times[4]);
    assert_eq!(store.get_message_store_timestamp("T", 0, 9), -1);

    let t1 = times[3]; // first of the second group
    let lower = store.get_offset_in_queue_by_time("T", 0, t1, false);
    let upper = store.get_offset_in_queue_by_time("T", 0, t1, true);
    assert_eq!(times[lower as usize], t1);
    assert!(lower == 0 || times[lower as usize - 1] < t1);
    assert_eq!(times[upper as usize], t1);
    assert!(upper == 8 || times[upper as usize + 1] > t1);
    // between groups: lower = first after, upper = last before
    let gap = times[2] + 1;
    assert!(gap < times[3]);
    let lower = store.get_offset_in_queue_by_time("T", 0, gap, false);
    let upper = store.get_offset_in_queue_by_time("T", 0, gap, true);
    assert!(times[lower as usize] > gap && times[lower as usize - 1] < gap);
    assert!(times[upper as usize] < gap && times[upper as usize + 1] > gap);
    // outside the range
    assert_eq!(
        store.get_offset_in_queue_by_time("T", 0, times[8] + 1000, false),
        9
    );
    assert_eq!(
        store.get_offset_in_queue_by_time("T", 0, times[8] + 1000, true),
        8
    );
    assert_eq!(
        store.get_offset_in_queue_by_time("T", 0, times[0] - 1000, false),
        0
    );
    assert_eq!(
        store.get_offset_in_queue_by_time("T", 0, times[0] - 1000, true),
        0
    );
}

#[tokio::test]
async fn many_queues_keep_their_own_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    for round in 0..20 {
        for t in 0..5 {
            for q in 0..4 {
                let r = store
                    .put_message(msg(
                        &format!("Topic{t}"),
                        q,
                        format!("{t}/{q}/{round}").as_bytes(),
                        None,
                    ))
                    .await;
                assert_eq!(r.append.unwrap().logics_offset, round as i64);
            }
        }
    }
    let queues = store.topic_queues();
    assert_eq!(queues.len(), 20);
    assert_eq!(queues[0], ("Topic0".to_string(), 0));
    for t in 0..5 {
        for q in 0..4 {
            let topic = format!("Topic{t}");
            let all = read_all(&store, &topic, q);
            let bodies: Vec<String> = all
                .iter()
                .map(|m| String::from_utf8_lossy(&m.body).into_owned())
                .collect();
            let expected: Vec<String> = (0..20).map(|r| format!("{t}/{q}/{r}")).collect();
            assert_eq!(bodies, expected);
            assert!(all.iter().all(|m| m.topic == topic && m.queue_id == q));
        }
    }
}

#[tokio::test]
async fn batches_get_consecutive_offsets_in_one_segment() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    put_ok(&store, msg("T", 0, b"single", None)).await;
    // fill most of the first segment so the batch has to move to the next one whole
    for i in 0..60 {
        put_ok(&store, msg("Other", 0, &body(i, 1000), None)).await;
    }
    let batch: Vec<MessageExtBrokerInner> = (0..5)
        .map(|i| msg("T", 0, &body(i, 900), Some("b")))
        .collect();
    let r = store.put_messages(batch).await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let a = r.append.unwrap();
    assert_eq!((a.logics_offset, a.msg_num), (1, 5));
    let ids: Vec<&str> = a.msg_id.split(',').collect();
    assert_eq!(ids.len(), 5);
    let start = a.wrote_offset as usize % COMMIT_LOG_FILE_SIZE;
    assert!(start + a.wrote_bytes as usize <= COMMIT_LOG_FILE_SIZE);
    let r = store.get_message("g", "T", 0, 1, 32, 1 << 20, None);
    assert_eq!(r.message_queue_offsets, vec![1, 2, 3, 4, 5]);
    for (i, b) in r.messages.iter().enumerate() {
        let m = decode(b);
        assert_eq!(m.msg_id, ids[i]);
        assert_eq!(&m.body[..], &body(i, 900)[..]);
    }

    let mixed = vec![msg("T", 0, b"a", None), msg("T", 1, b"b", None)];
    assert_eq!(
        store.put_messages(mixed).await.status,
        PutMessageStatus::MessageIllegal
    );
    assert_eq!(
        store.put_messages(vec![]).await.status,
        PutMessageStatus::MessageIllegal
    );
    let mut delayed = msg("T", 0, b"a", None);
    delayed.set_properties_string("DELAY\u{1}3\u{2}");
    assert_eq!(
        store.put_messages(vec![delayed]).await.status,
        PutMessageStatus::MessageIllegal
    );
    // a level of 0 or below is no delay (a DLQ-bound retry carries DELAY=-1)
    let mut undelayed = msg("T", 0, b"a", None);
    undelayed.set_properties_string("DELAY\u{1}-1\u{2}");
    assert_eq!(
        store.put_messages(vec![undelayed]).await.status,
        PutMessageStatus::PutOk
    );
}

#[tokio::test]
async fn illegal_messages_are_refused_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_message_size = 2048;
    let store = open(cfg);
    let r = store.put_message(msg("T", 0, &[7u8; 2049], None)).await;
    assert_eq!(
        (r.status, r.append),
        (PutMessageStatus::MessageIllegal, None)
    );
    let mut big_props = msg("T", 0, b"x", None);
    big_props.properties_string = "K\u{1}".to_string() + &"v".repeat(40_000) + "\u{2}";
    assert_eq!(
        store.put_message(big_props).await.status,
        PutMessageStatus::PropertiesSizeExceeded
    );
    for topic in ["", "a/b", "..", "x\0y"] {
        assert_eq!(
            store.put_message(msg(topic, 0, b"x", None)).await.status,
            PutMessageStatus::MessageIllegal
        );
    }
    let mut long_topic = msg("T", 0, b"x", None);
    long_topic.topic = "t".repeat(40_000);
    assert_eq!(
        store.put_message(long_topic).await.status,
        PutMessageStatus::MessageIllegal
    );
    assert_eq!(store.get_max_phy_offset(), 0, "nothing was written");

    // a record larger than a segment can never be stored
    let dir2 = tempfile::tempdir().unwrap();
    let mut cfg = config(dir2.path());
    cfg.max_message_size = 1 << 20;
    let store = open(cfg);
    let r = store
        .put_message(msg("T", 0, &vec![1u8; COMMIT_LOG_FILE_SIZE], None))
        .await;
    assert_eq!(r.status, PutMessageStatus::MessageIllegal);
    put_ok(&store, msg("T", 0, b"still fine", None)).await;
}

#[tokio::test]
async fn v2_topics_and_ipv6_hosts_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let topic = format!("%RETRY%{}", "g".repeat(150));
    let mut m = msg(&topic, 0, b"retry", None);
    m.born_host = "[::1]:5000".parse().unwrap();
    m.store_host = "[fe80::1]:10911".parse().unwrap();
    put_ok(&store, m).await;
    let r = store.get_message("g", &topic, 0, 0, 1, 1 << 20, None);
    let d = decode(&r.messages[0]);
    assert_eq!(d.topic, topic);
    assert_eq!(d.msg_id.len(), 56);
    assert_eq!(
        &r.messages[0][4..8],
        &ferrocket_protocol::message::MAGIC_V2.to_be_bytes()
    );
    assert_eq!(
        store.get_message_store_timestamp(&topic, 0, 0),
        d.store_timestamp
    );
}

#[tokio::test]
async fn listener_hears_every_arrival_and_half_messages_stay_out_of_queues() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = heard.clone();
    store.set_message_arriving_listener(Arc::new(move |t: &str, q, max, code| {
        h.lock().push((t.to_string(), q, max, code));
    }));
    put_ok(&store, msg("T", 2, b"a", Some("TagA"))).await;
    put_ok(&store, msg("T", 2, b"b", None)).await;
    let mut half = msg("T", 3, b"half", None);
    half.sys_flag = ferrocket_protocol::message::sys_flag::TRANSACTION_PREPARED;
    let r = store.put_message(half).await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let a = r.append.unwrap();
    assert_eq!(a.logics_offset, 0);
    assert_eq!(
        *heard.lock(),
        vec![
            ("T".to_string(), 2, 1, java_hash("TagA") as i64),
            ("T".to_string(), 2, 2, 0)
        ]
    );
    assert_eq!(store.topic_queues(), vec![("T".to_string(), 2)]);
    let half = decode(&store.look_message_by_offset(a.wrote_offset).unwrap());
    assert_eq!(&half.body[..], b"half");
}

#[tokio::test]
async fn delete_topics_drops_queues_and_restarts_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    put_ok(&store, msg("Gone", 0, b"1", None)).await;
    put_ok(&store, msg("Kept", 0, b"2", None)).await;
    store.delete_topics(&["Gone".to_string(), "Unknown".to_string()]);
    assert!(!dir.path().join("consumequeue/Gone").exists());
    assert_eq!(store.topic_queues(), vec![("Kept".to_string(), 0)]);
    let r = store.get_message("g", "Gone", 0, 0, 32, 1 << 20, None);
    assert_eq!(r.status, GetMessageStatus::NoMatchedLogicQueue);
    let (_, qoff) = put_ok(&store, msg("Gone", 0, b"3", None)).await;
    assert_eq!(qoff, 0);
}

#[tokio::test]
async fn shutdown_refuses_puts_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    put_ok(&store, msg("T", 0, b"x", None)).await;
    assert!(dir.path().join("abort").exists());
    assert!(dir.path().join("lock").exists());
    store.shutdown();
    store.shutdown();
    assert!(!dir.path().join("abort").exists());
    assert!(!store.is_writeable());
    let r = store.put_message(msg("T", 0, b"y", None)).await;
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    // reads still work on a shut down store
    assert_eq!(read_all(&store, "T", 0).len(), 1);
}

#[test]
fn a_second_store_on_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    match DefaultMessageStore::open(config(dir.path())) {
        Err(StoreError::Locked(_)) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
    drop(store);
    drop(open(config(dir.path())));
}

#[test]
fn put_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let f = store.put_message(msg("T", 0, b"x", None));
    assert_send(&f);
    let g = store.put_messages(vec![msg("T", 0, b"x", None)]);
    assert_send(&g);
    fn assert_sync<T: Send + Sync>() {}
    assert_sync::<DefaultMessageStore>();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_puts_keep_queue_offsets_dense() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let mut tasks = Vec::new();
    for t in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..100 {
                put_ok(&store, msg("T", 0, format!("{t}-{i}").as_bytes(), None)).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = read_all(&store, "T", 0);
    assert_eq!(all.len(), 400);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, m)| m.queue_offset == i as i64));
    assert!(all
        .windows(2)
        .all(|w| w[0].commit_log_offset < w[1].commit_log_offset));
}

#[tokio::test]
async fn failing_segment_creation_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.flush_interval_commit_log = 3_600_000;
    let store = open(cfg);
    put_ok(&store, msg("T", 0, b"first", None)).await;
    let cl = dir.path().join("commitlog");
    // taking the first segment asked the allocator for the second: it is created ahead, so
    // the failure shows when the third one is needed
    let second = cl.join(format!("{:020}", COMMIT_LOG_FILE_SIZE));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !second.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "second segment never created"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let moved = dir.path().join("commitlog.moved");
    std::fs::rename(&cl, &moved).unwrap();
    std::fs::write(&cl, b"not a directory").unwrap();
    let mut status = PutMessageStatus::PutOk;
    for i in 0..200 {
        status = store
            .put_message(msg("T", 0, &body(i, 1000), None))
            .await
            .status;
        if status != PutMessageStatus::PutOk {
            break;
        }
    }
    assert_eq!(status, PutMessageStatus::CreateMappedFileFailed);
    std::fs::remove_file(&cl).unwrap();
    std::fs::rename(&moved, &cl).unwrap();
    // nothing was written for the refused put: the segment stays open for what still fits,
    // and the next roll closes it with a BLANK
    let (phy, _) = put_ok(&store, msg("T", 0, b"after", None)).await;
    assert!(phy > COMMIT_LOG_FILE_SIZE as i64 && phy < 2 * COMMIT_LOG_FILE_SIZE as i64);
    let (phy, _) = put_ok(&store, msg("T", 0, &body(1, 1000), None)).await;
    assert_eq!(phy, 2 * COMMIT_LOG_FILE_SIZE as i64);
    let all = read_all(&store, "T", 0);
    assert_eq!(&all[all.len() - 2].body[..], b"after");
}

/// A controller-mode master opens with its puts fenced until its epoch is recorded: nothing is
/// stored before `release_puts`, everything after.
#[tokio::test]
async fn puts_fenced_at_open_wait_for_release_puts() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.puts_fenced_at_open = true;
    let store = open(c);
    let r = store.put_message(msg("TopicA", 0, b"early", None)).await;
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert_eq!(store.get_max_phy_offset(), 0);
    store.release_puts();
    let r = store.put_message(msg("TopicA", 0, b"after", None)).await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert_eq!(r.append.unwrap().wrote_offset, 0);
}
