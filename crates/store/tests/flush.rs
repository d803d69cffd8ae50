mod common;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ferrocket_store::{
    DefaultMessageStore, DiskFlusher, GetMessageStatus, MappedFile, MessageExtBrokerInner,
    PutMessageStatus,
};
use parking_lot::Mutex;

/// Counts flushes and can be made slow or failing while a test runs.
#[derive(Default)]
struct TestFlusher {
    delay_ms: AtomicUsize,
    fail: AtomicBool,
    calls: AtomicUsize,
}

impl DiskFlusher for TestFlusher {
    fn flush(&self, file: &MappedFile, offset: usize, len: usize) -> io::Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(
            self.delay_ms.load(Ordering::SeqCst) as u64
        ));
        if self.fail.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected flush failure"));
        }
        file.sync_range(offset, len)
    }
}

fn open_with(
    cfg: ferrocket_store::MessageStoreConfig,
    f: &Arc<TestFlusher>,
) -> Arc<DefaultMessageStore> {
    DefaultMessageStore::open_with_flusher(cfg, f.clone()).unwrap()
}

fn no_wait(mut m: MessageExtBrokerInner) -> MessageExtBrokerInner {
    m.set_properties_string(format!("{}WAIT\u{1}false\u{2}", m.properties_string));
    m
}

#[tokio::test]
async fn sync_flush_acknowledges_after_the_record_is_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let flusher = Arc::new(TestFlusher::default());
    let store = open_with(sync_config(dir.path()), &flusher);
    for i in 0..20 {
        let r = store
            .put_message(msg("T", 0, format!("m{i}").as_bytes(), None))
            .await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let a = r.append.unwrap();
        assert!(store.get_flushed_phy_offset() >= a.wrote_offset + a.wrote_bytes as i64);
        // visible to consumers as soon as acknowledged
        let g = store.get_message("g", "T", 0, i, 1, 1 << 20, None);
        assert_eq!(g.status, GetMessageStatus::Found);
    }
    assert!(flusher.calls.load(Ordering::SeqCst) > 0);
    let r = store
        .put_messages((0..3).map(|i| msg("T", 1, &[i], None)).collect())
        .await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
}

#[tokio::test]
async fn slow_flush_reports_flush_disk_timeout_but_keeps_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let flusher = Arc::new(TestFlusher::default());
    let mut cfg = sync_config(dir.path());
    cfg.sync_flush_timeout = 100;
    let store = open_with(cfg, &flusher);
    flusher.delay_ms.store(1500, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let started = Instant::now();
    let r = store.put_message(msg("T", 0, b"slow", None)).await;
    let waited = started.elapsed();
    assert_eq!(r.status, PutMessageStatus::FlushDiskTimeout);
    assert!(r.is_ok(), "FLUSH_DISK_TIMEOUT still means stored");
    assert!(
        waited >= Duration::from_millis(90) && waited < Duration::from_millis(1200),
        "{waited:?}"
    );
    let a = r.append.unwrap();
    assert!(store.look_message_by_offset(a.wrote_offset).is_some());
    // under SYNC_FLUSH consumers see it once the slow flush lands
    flusher.delay_ms.store(0, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let g = store.get_message("g", "T", 0, 0, 1, 1 << 20, None);
        if g.status == GetMessageStatus::Found {
            break;
        }
        assert_eq!(g.status, GetMessageStatus::NoMessageInQueue);
        assert!(Instant::now() < deadline, "never became visible");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(store.get_max_offset_in_queue("T", 0), 1);
}

#[tokio::test]
async fn messages_that_do_not_wait_are_acknowledged_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let flusher = Arc::new(TestFlusher::default());
    let mut cfg = sync_config(dir.path());
    cfg.sync_flush_timeout = 2000;
    let store = open_with(cfg, &flusher);
    flusher.delay_ms.store(1000, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(30)).await;
    let started = Instant::now();
    let r = store
        .put_message(no_wait(msg("T", 0, b"fire and forget", None)))
        .await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    assert!(
        started.elapsed() < Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    flusher.delay_ms.store(0, Ordering::SeqCst);
}

#[tokio::test]
async fn sync_flush_tells_the_listener_after_the_flush() {
    let dir = tempfile::tempdir().unwrap();
    let flusher = Arc::new(TestFlusher::default());
    let store = open_with(sync_config(dir.path()), &flusher);
    let heard = Arc::new(Mutex::new(Vec::new()));
    let h = heard.clone();
    let s = Arc::downgrade(&store);
    store.set_message_arriving_listener(Arc::new(move |t: &str, q, max, _code| {
        // the message must already be readable when the listener runs
        let visible = s.upgrade().map(|s| s.get_max_offset_in_queue(t, q));
        h.lock().push((max, visible));
    }));
    store.put_message(msg("T", 0, b"a", None)).await;
    store.put_message(no_wait(msg("T", 0, b"b", None))).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while heard.lock().len() < 2 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let heard = heard.lock().clone();
    assert_eq!(heard[0], (1, Some(1)));
    assert_eq!(heard[1].0, 2);
    assert!(heard[1].1.unwrap() >= 2);
}

#[tokio::test]
async fn failing_flush_makes_the_store_refuse_writes_and_keeps_the_abort_file() {
    let dir = tempfile::tempdir().unwrap();
    let flusher = Arc::new(TestFlusher::default());
    let mut cfg = sync_config(dir.path());
    cfg.sync_flush_timeout = 200;
    let store = open_with(cfg, &flusher);
    put_ok(&store, msg("T", 0, b"ok", None)).await;
    flusher.fail.store(true, Ordering::SeqCst);
    let r = store.put_message(msg("T", 0, b"doomed", None)).await;
    assert_eq!(r.status, PutMessageStatus::FlushDiskTimeout);
    let r = store.put_message(msg("T", 0, b"refused", None)).await;
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert!(!store.is_writeable());
    store.shutdown();
    assert!(dir.path().join("abort").exists());
    drop(store);
    // the next start recovers both stored messages
    flusher.fail.store(false, Ordering::SeqCst);
    let store = open_with(config(dir.path()), &flusher);
    assert_eq!(read_all(&store, "T", 0).len(), 2);
}

#[tokio::test]
async fn async_flush_catches_up_in_the_background_and_advances_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let flusher = Arc::new(TestFlusher::default());
    let mut cfg = config(dir.path());
    cfg.flush_commit_log_thorough_interval = 100;
    let store = open_with(cfg, &flusher);
    // the put never waits, even with a slow disk
    flusher.delay_ms.store(1000, Ordering::SeqCst);
    let started = Instant::now();
    let mut last = None;
    for i in 0..50 {
        last = Some(put_ok(&store, msg("T", 0, &[i; 100], None)).await);
    }
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    flusher.delay_ms.store(0, Ordering::SeqCst);
    let max = store.get_max_phy_offset();
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.get_flushed_phy_offset() < max {
        assert!(
            Instant::now() < deadline,
            "background flush never caught up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(last.is_some());
    let last_ts = store.get_message_store_timestamp("T", 0, 49);
    store.shutdown();
    let cp = std::fs::read(dir.path().join("checkpoint")).unwrap();
    assert_eq!(cp.len(), 4096);
    let physic = i64::from_be_bytes(cp[0..8].try_into().unwrap());
    let logics = i64::from_be_bytes(cp[8..16].try_into().unwrap());
    assert_eq!(physic, last_ts);
    assert_eq!(logics, last_ts);
}

/// Under SYNC_FLUSH puts write their records through the file rather than the mapping: readers
/// of the mapping see them, across pages and segments, and a restart after a crash recovers them.
#[tokio::test]
async fn sync_flush_records_written_through_the_file_are_read_and_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(sync_config(dir.path()));
    let body = |i: usize| vec![(i % 251) as u8; 1 + (i * 397) % 9000];
    let mut expected = Vec::new();
    for i in 0..120 {
        put_ok(&store, msg("T", 0, &body(i), None)).await;
        expected.push(body(i));
    }
    let batch: Vec<_> = (120..130).map(|i| msg("T", 0, &body(i), None)).collect();
    let r = store.put_messages(batch).await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    expected.extend((120..130).map(body));
    assert!(
        store.get_max_phy_offset() > 2 * COMMIT_LOG_FILE_SIZE as i64,
        "the test must cross segments"
    );
    let bodies = |s: &DefaultMessageStore| -> Vec<Vec<u8>> {
        read_all(s, "T", 0)
            .into_iter()
            .map(|m| m.body.to_vec())
            .collect()
    };
    assert_eq!(bodies(&store), expected);
    let crashed = tempfile::tempdir().unwrap();
    crash_image(dir.path(), crashed.path());
    drop(store);
    let recovered = open(config(crashed.path()));
    assert_eq!(bodies(&recovered), expected);
}
