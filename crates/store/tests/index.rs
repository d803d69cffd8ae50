//! The key index: lookups across several index files and time ranges, and its rebuild after
//! a clean restart, after a crash and after a torn CommitLog tail.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use ferrocket_protocol::message::Properties;
use ferrocket_store::{DefaultMessageStore, IndexFile, MessageExtBrokerInner, MessageStoreConfig};

/// Index files of 7 entries and 5 slots: a handful of messages fills several files, and
/// different keys share slots.
fn index_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        max_hash_slot_num: 5,
        max_index_num: 8,
        ..config(root)
    }
}

fn keyed(topic: &str, i: usize, keys: &str) -> MessageExtBrokerInner {
    let mut m = MessageExtBrokerInner::new(topic, (i % 2) as i32, Bytes::from(format!("body-{i}")));
    m.born_host = born_host();
    m.store_host = store_host();
    let mut p = Properties::new();
    p.insert("KEYS", keys);
    p.insert("UNIQ_KEY", format!("UNIQ-{topic}-{i:06}"));
    m.set_properties(&p);
    m
}

/// Sends `n` messages with keys `k{i%3} all`; returns (offset, store time) of each.
async fn send(store: &DefaultMessageStore, topic: &str, from: usize, n: usize) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for i in from..from + n {
        let r = store
            .put_message(keyed(topic, i, &format!("k{} all", i % 3)))
            .await;
        let a = r.append.expect("stored");
        out.push((a.wrote_offset, a.store_timestamp));
    }
    out
}

fn wait_indexed(store: &DefaultMessageStore) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.index_service().build_offset() < store.get_max_phy_offset() {
        assert!(
            Instant::now() < deadline,
            "the index did not catch up: {} of {}",
            store.index_service().build_offset(),
            store.get_max_phy_offset()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn offsets(store: &DefaultMessageStore, topic: &str, key: &str, begin: i64, end: i64) -> Vec<i64> {
    let r = store.query_message(topic, key, 64, begin, end);
    r.messages
        .iter()
        .map(|b| decode(b).commit_log_offset)
        .collect()
}

fn every(puts: &[(i64, i64)], pick: impl Fn(usize) -> bool) -> Vec<i64> {
    puts.iter()
        .enumerate()
        .filter(|(i, _)| pick(*i))
        .map(|(_, p)| p.0)
        .collect()
}

/// Entries over all index files (each message adds its UNIQ_KEY and two keys).
fn entry_count(store: &DefaultMessageStore) -> usize {
    store
        .index_service()
        .files()
        .iter()
        .map(|f| f.entries_phy_offsets().len())
        .sum()
}

fn index_file_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("index"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn finds_keys_across_several_files_and_time_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(index_config(dir.path()));
    let early = send(&store, "TopicA", 0, 12).await;
    // index times have a resolution of one second
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let late = send(&store, "TopicA", 12, 12).await;
    let other = send(&store, "TopicB", 0, 3).await;
    wait_indexed(&store);
    let puts: Vec<(i64, i64)> = early.iter().chain(&late).copied().collect();

    let names = index_file_names(dir.path());
    assert!(
        names.len() >= 10,
        "27 messages x 3 keys fill many 7-entry files: {names:?}"
    );
    assert!(names
        .iter()
        .all(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit())));
    let size = std::fs::metadata(dir.path().join("index").join(&names[0]))
        .unwrap()
        .len();
    assert_eq!(size, 40 + 5 * 4 + 8 * 20);
    assert_eq!(size as usize, IndexFile::file_size(5, 8));
    assert_eq!(entry_count(&store), 27 * 3);

    assert_eq!(
        offsets(&store, "TopicA", "all", 0, i64::MAX),
        every(&puts, |_| true)
    );
    assert_eq!(
        offsets(&store, "TopicA", "k1", 0, i64::MAX),
        every(&puts, |i| i % 3 == 1)
    );
    assert_eq!(
        offsets(&store, "TopicB", "all", 0, i64::MAX).len(),
        3,
        "topics are apart"
    );
    assert_eq!(
        offsets(&store, "TopicA", "UNIQ-TopicA-000017", 0, i64::MAX),
        vec![puts[17].0]
    );
    assert!(offsets(&store, "TopicA", "k9", 0, i64::MAX).is_empty());
    assert!(offsets(&store, "TopicC", "all", 0, i64::MAX).is_empty());

    let early_end = early.iter().map(|p| p.1).max().unwrap();
    assert_eq!(
        offsets(&store, "TopicA", "all", 0, early_end),
        every(&puts, |i| i < 12),
        "up to the end of the first batch"
    );
    assert_eq!(
        offsets(&store, "TopicA", "k2", early_end + 1000, i64::MAX),
        every(&puts, |i| i >= 12 && i % 3 == 2),
        "from after the first batch"
    );
    let r = store.query_message("TopicA", "all", 5, 0, i64::MAX);
    assert_eq!(r.messages.len(), 5, "maxNum caps the result");
    let newest = other.last().unwrap();
    assert_eq!(r.index_last_update_phyoffset, newest.0);
    assert_eq!(r.index_last_update_timestamp, newest.1);
}

#[tokio::test]
async fn restarts_resume_the_index_without_gaps_or_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(index_config(dir.path()));
    let mut puts = send(&store, "T", 0, 10).await;
    wait_indexed(&store);
    drop(store);

    // records stored while the index was switched off are indexed at the next start
    let store = open(MessageStoreConfig {
        message_index_enable: false,
        ..index_config(dir.path())
    });
    puts.extend(send(&store, "T", 10, 10).await);
    drop(store);

    let store = open(index_config(dir.path()));
    puts.extend(send(&store, "T", 20, 10).await);
    wait_indexed(&store);
    assert_eq!(
        offsets(&store, "T", "all", 0, i64::MAX),
        every(&puts, |_| true)
    );
    assert_eq!(entry_count(&store), 30 * 3, "nothing indexed twice");
    drop(store);

    let store = open(index_config(dir.path()));
    wait_indexed(&store);
    assert_eq!(entry_count(&store), 30 * 3);
    assert_eq!(
        offsets(&store, "T", "k0", 0, i64::MAX),
        every(&puts, |i| i % 3 == 0)
    );
}

#[tokio::test]
async fn a_crash_keeps_the_checkpointed_files_and_rebuilds_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let store = open(index_config(dir.path()));
    let puts = send(&store, "T", 0, 25).await;
    wait_indexed(&store);
    crash_image(dir.path(), image.path());
    drop(store);

    // the newest file is not covered by the checkpoint: tear it the way a lost page would
    let names = index_file_names(image.path());
    let newest = image.path().join("index").join(names.last().unwrap());
    let mut raw = std::fs::read(&newest).unwrap();
    let len = raw.len();
    raw[len - 60..].fill(0xEE);
    std::fs::write(&newest, raw).unwrap();

    let recovered = open(index_config(image.path()));
    wait_indexed(&recovered);
    assert_eq!(
        offsets(&recovered, "T", "all", 0, i64::MAX),
        every(&puts, |_| true)
    );
    assert_eq!(
        entry_count(&recovered),
        25 * 3,
        "nothing lost, nothing doubled"
    );
    for f in recovered.index_service().files() {
        let o = f.entries_phy_offsets();
        assert!(
            o.windows(2).all(|w| w[0] <= w[1]),
            "entries in commit log order"
        );
    }
}

#[tokio::test]
async fn a_torn_commit_log_tail_takes_its_index_entries_along() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let store = open(index_config(dir.path()));
    let puts = send(&store, "T", 0, 12).await;
    wait_indexed(&store);
    crash_image(dir.path(), image.path());
    drop(store);

    // cut the last record in half
    let (last, _) = puts[11];
    let seg = image
        .path()
        .join("commitlog")
        .join(ferrocket_store::offset_to_file_name(
            last - last % COMMIT_LOG_FILE_SIZE as i64,
        ));
    let mut raw = std::fs::read(&seg).unwrap();
    let pos = (last % COMMIT_LOG_FILE_SIZE as i64) as usize;
    raw[pos + 40..pos + 200].fill(0);
    std::fs::write(&seg, raw).unwrap();
    // as if every index file were checkpointed: only the commit log end decides
    let recovered = open(index_config(image.path()));
    assert_eq!(recovered.get_max_phy_offset(), last);
    // a new record takes the lost one's offset and keys
    let again = recovered
        .put_message(keyed("T", 11, "fresh all"))
        .await
        .append
        .unwrap();
    assert_eq!(again.wrote_offset, last);
    wait_indexed(&recovered);
    let mut want = every(&puts, |i| i < 11);
    want.push(last);
    assert_eq!(offsets(&recovered, "T", "all", 0, i64::MAX), want);
    assert_eq!(offsets(&recovered, "T", "fresh", 0, i64::MAX), vec![last]);
    assert!(offsets(&recovered, "T", "k2", 0, i64::MAX)
        .iter()
        .all(|o| *o < last));
}

#[tokio::test]
async fn keys_with_equal_hashes_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(index_config(dir.path()));
    // "Aa" and "BB" have the same Java hash code, and so do "T#Aa" and "T#BB"
    let aa = put_ok(&store, keyed("T", 0, "Aa")).await.0;
    let bb = put_ok(&store, keyed("T", 1, "BB")).await.0;
    wait_indexed(&store);
    let files = store.index_service().files();
    let r = files
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            f.select_phy_offset(&mut out, "T#Aa", 32, 0, i64::MAX);
            out
        })
        .max_by_key(Vec::len)
        .unwrap();
    assert_eq!(r.len(), 2, "the index file alone cannot tell them apart");
    assert_eq!(offsets(&store, "T", "Aa", 0, i64::MAX), vec![aa]);
    assert_eq!(offsets(&store, "T", "BB", 0, i64::MAX), vec![bb]);
}

/// Index files are sparse: on a disk with no block left, creating or growing one must fail the
/// indexing step (retried later), not fault the process with SIGBUS on a write through the map.
#[tokio::test]
async fn a_completely_full_disk_pauses_indexing_without_faulting() {
    let fs = ferrocket_testkit::Tmpfs::mount(32);
    let cfg = MessageStoreConfig {
        mapped_file_size_commit_log: 4 * 1024 * 1024,
        // a new index file every few messages: each needs fresh blocks
        max_hash_slot_num: 64,
        max_index_num: 16,
        // no clean service may free space behind the test's back
        clean_file_forcibly_enable: false,
        ..index_config(&fs.path().join("store"))
    };
    let store = DefaultMessageStore::open(cfg.clone()).unwrap();
    send(&store, "T", 0, 10).await;
    wait_indexed(&store);

    let filler = fill_completely(fs.path(), "filler");
    // the commit log file in use is preallocated, so these still store; indexing them needs
    // new index files, which the full disk refuses
    let stored = send(&store, "T", 10, 40).await;
    assert_eq!(stored.len(), 40);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        store.index_service().build_offset() < store.get_max_phy_offset(),
        "indexing waits for space"
    );

    std::fs::remove_file(&filler).unwrap();
    wait_indexed(&store);
    let found = store.query_message("T", "UNIQ-T-000049", 8, 0, i64::MAX);
    assert_eq!(
        found.messages.len(),
        1,
        "the last message is indexed once space frees"
    );
    let all = store.query_message("T", "all", 64, 0, i64::MAX);
    assert_eq!(all.messages.len(), 50);
    store.shutdown();
}
