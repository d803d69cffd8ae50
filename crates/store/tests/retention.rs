//! Retention on a real store: expired CommitLog files go, ConsumeQueues and min offsets follow,
//! a disk above the forced-clean ratio is cleaned, and a full disk refuses puts until space
//! frees. The disk tests mount a tmpfs of their own (they need root and fail if they can't).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use common::*;
use ferrocket_store::{
    disk_partition_space_used_percent, DefaultMessageStore, GetMessageStatus, MessageStoreConfig,
    PutMessageStatus,
};
use ferrocket_testkit::Tmpfs;

const SEGMENT: usize = 64 * 1024;
const BODY: [u8; 1000] = [7u8; 1000];

fn retention_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: SEGMENT,
        mapped_file_size_consume_queue: 20 * 20,
        // not the current hour, and a busy host disk must not trigger a clean either: only the
        // test decides when files go
        delete_when: other_hour(),
        disk_max_used_space_ratio: 95,
        clean_file_forcibly_enable: false,
        clean_resource_interval: 3_600_000,
        delete_commit_log_files_interval: 0,
        delete_consume_queue_files_interval: 0,
        ..config(root)
    }
}

/// An hour of the day twelve hours away from now (in UTC; the clean services use local time, so
/// this holds in every time zone but UTC±12).
fn other_hour() -> String {
    let secs = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("{:02}", (secs / 3600 + 12) % 24)
}

async fn put_n(store: &DefaultMessageStore, topic: &str, n: usize) {
    for _ in 0..n {
        let r = store.put_message(msg(topic, 0, &BODY, None)).await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn offset_of(p: &Path) -> i64 {
    p.file_name().unwrap().to_str().unwrap().parse().unwrap()
}

/// Start of the CommitLog file being written.
fn active_segment(store: &DefaultMessageStore) -> i64 {
    let max = store.get_max_phy_offset();
    max - max % store.config().mapped_file_size_commit_log as i64
}

fn age_files(dir: &Path, hours: u64) {
    let then = SystemTime::now() - Duration::from_secs(hours * 3600);
    for p in files_in(dir) {
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_modified(then).unwrap();
    }
}

/// Checks that the queue starts exactly at the first entry whose record is still stored,
/// that a pull from below it is told where to go, and that it reads from there.
fn assert_queue_follows_commit_log(store: &DefaultMessageStore, topic: &str) -> i64 {
    let min_phy = store.get_min_phy_offset();
    let min = store.get_min_offset_in_queue(topic, 0);
    assert!(min > 0, "the queue min offset moved");
    assert!(store.get_commit_log_offset_in_queue(topic, 0, min) >= min_phy);
    let g = store.get_message("g", topic, 0, 0, 32, 1 << 20, None);
    assert_eq!(g.status, GetMessageStatus::OffsetTooSmall);
    assert_eq!(g.next_begin_offset, min);
    let g = store.get_message("g", topic, 0, min, 1, 1 << 20, None);
    assert_eq!(g.status, GetMessageStatus::Found);
    assert_eq!(decode(&g.messages[0]).queue_offset, min);
    min
}

#[tokio::test]
async fn files_older_than_file_reserved_time_go_and_queues_follow() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = retention_config(dir.path());
    let cl_dir = cfg.commit_log_path();
    let cq_dir = cfg.consume_queue_path().join("T").join("0");
    let store = open(cfg.clone());
    put_n(&store, "T", 300).await;
    let segments = files_in(&cl_dir).len();
    assert!(segments >= 5, "{segments} segments");
    let cq_files = files_in(&cq_dir).len();

    // young files stay, whatever the hour
    store.execute_delete_files_manually();
    store.clean_files_now();
    assert_eq!(store.get_min_phy_offset(), 0);
    assert_eq!(store.get_min_offset_in_queue("T", 0), 0);

    // older than fileReservedTime (72 h): deleted, except the newest (active) file
    age_files(&cl_dir, 73);
    store.clean_files_now();
    let active = active_segment(&store);
    assert_eq!(store.get_min_phy_offset(), active);
    let left = files_in(&cl_dir);
    assert!(
        left.iter().all(|p| offset_of(p) >= active),
        "only the active file (and one made ahead) is left: {left:?}"
    );
    let min = assert_queue_follows_commit_log(&store, "T");
    assert!(
        files_in(&cq_dir).len() < cq_files,
        "consume queue files below the commit log start are deleted"
    );

    // writes go on, and a restart keeps the new starts
    put_n(&store, "T", 5).await;
    let max = store.get_max_offset_in_queue("T", 0);
    store.shutdown();
    drop(store);
    let store = open(cfg);
    assert_eq!(store.get_min_offset_in_queue("T", 0), min);
    assert_eq!(store.get_max_offset_in_queue("T", 0), max);
    assert_queue_follows_commit_log(&store, "T");
}

#[tokio::test]
async fn the_clean_thread_runs_at_the_delete_when_hours() {
    let dir = tempfile::tempdir().unwrap();
    let all_hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let cfg = MessageStoreConfig {
        file_reserved_time: 0,
        delete_when: all_hours.join(";"),
        clean_resource_interval: 100,
        ..retention_config(dir.path())
    };
    let store = open(cfg);
    put_n(&store, "T", 200).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.get_min_phy_offset() < active_segment(&store)
        || store.get_min_offset_in_queue("T", 0) == 0
    {
        assert!(
            Instant::now() < deadline,
            "the clean thread deleted nothing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_queue_follows_commit_log(&store, "T");
}

fn disk_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: 2 * 1024 * 1024,
        mapped_file_size_consume_queue: 20 * 1000,
        // on the test's own small filesystem RocketMQ's disk ratios apply again
        disk_max_used_space_ratio: 75,
        clean_file_forcibly_enable: true,
        ..retention_config(root)
    }
}

async fn put_bytes(store: &Arc<DefaultMessageStore>, topic: &str, bytes: usize) -> usize {
    let body = vec![3u8; 16 * 1024];
    let n = bytes / body.len();
    for _ in 0..n {
        let r = store.put_message(msg(topic, 0, &body, None)).await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
    }
    n
}

#[tokio::test]
async fn above_the_forced_clean_ratio_young_files_are_deleted() {
    let fs = Tmpfs::mount(64);
    let cfg = disk_config(&fs.path().join("store"));
    let store = open(cfg.clone());
    put_bytes(&store, "T", 16 * 1024 * 1024).await;
    let before = files_in(&cfg.commit_log_path()).len();
    // 87 % used: above diskSpaceCleanForciblyRatio (85), below the warning level (90)
    fs.fill_to_measured("filler", 0.87, disk_partition_space_used_percent);
    let used = disk_partition_space_used_percent(fs.path());
    assert!(used > 0.85 && used <= 0.90, "used {used}");
    store.clean_files_now();
    assert!(!store.is_disk_full());
    let after = files_in(&cfg.commit_log_path()).len();
    assert!(after < before, "{before} -> {after} files");
    assert!(store.get_min_phy_offset() > 0);
    assert_queue_follows_commit_log(&store, "T");
}

#[tokio::test]
async fn a_full_disk_refuses_puts_keeps_data_readable_and_recovers() {
    let fs = Tmpfs::mount(64);
    let cfg = MessageStoreConfig {
        clean_file_forcibly_enable: false,
        ..disk_config(&fs.path().join("store"))
    };
    let store = open(cfg.clone());
    let n = put_bytes(&store, "T", 4 * 1024 * 1024).await as i64;
    let filler = fs.fill_to_measured("filler", 0.95, disk_partition_space_used_percent);
    store.clean_files_now();
    assert!(
        store.is_disk_full(),
        "used {}",
        disk_partition_space_used_percent(fs.path())
    );
    let r = store.put_message(msg("T", 0, b"refused", None)).await;
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert!(
        store.disk_util().starts_with("CL:  0.9"),
        "{}",
        store.disk_util()
    );
    // nothing stored is lost or damaged, and reads go on
    assert_eq!(store.get_min_phy_offset(), 0);
    let all = read_all(&store, "T", 0);
    assert_eq!(all.len() as i64, n);
    assert!(all.iter().all(|m| m.body.len() == 16 * 1024));

    // ENOSPC while creating a segment is refused the same way, without a partial record
    let max_phy = store.get_max_phy_offset();
    std::fs::remove_file(&filler).unwrap();
    store.clean_files_now();
    assert!(!store.is_disk_full());
    let rest = fs.fill_to_measured("filler", 1.0, disk_partition_space_used_percent);
    let mut refused = false;
    for _ in 0..300 {
        let r = store
            .put_message(msg("T", 0, &[5u8; 16 * 1024], None))
            .await;
        if r.status == PutMessageStatus::ServiceNotAvailable {
            refused = true;
            break;
        }
        assert_eq!(r.status, PutMessageStatus::PutOk);
    }
    assert!(refused, "a put on a disk with no space left is refused");
    assert!(store.is_disk_full());
    let stored = read_all(&store, "T", 0).len() as i64;
    assert_eq!(store.get_max_offset_in_queue("T", 0), stored);
    assert!(store.get_max_phy_offset() >= max_phy);

    // space frees: the next check clears DISK_FULL and puts are accepted again
    std::fs::remove_file(&rest).unwrap();
    store.clean_files_now();
    assert!(!store.is_disk_full());
    let r = store.put_message(msg("T", 0, b"after", None)).await;
    assert_eq!(r.status, PutMessageStatus::PutOk);
    let all = read_all(&store, "T", 0);
    assert_eq!(all.len() as i64, stored + 1);
    assert_eq!(&all.last().unwrap().body[..], b"after");

    // and everything survives a restart
    store.shutdown();
    drop(store);
    let store = open(cfg);
    assert_eq!(read_all(&store, "T", 0).len() as i64, stored + 1);
}

/// Disk blocks allocated under `dir`, in bytes.
fn allocated_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        total += if meta.is_dir() {
            allocated_bytes(&entry.path())
        } else {
            meta.blocks() * 512
        };
    }
    total
}

/// Consume queue files are sparse, as RocketMQ's: 200 queues of 6 MB files fit on a 32 MiB
/// disk. A sparse file's blocks are allocated before any write into them, so a write into a
/// new block on a completely full disk is refused (ENOSPC, DISK_FULL) instead of faulting the
/// process with SIGBUS, and the queues go on once space frees.
#[tokio::test]
async fn a_completely_full_disk_pauses_consume_queue_dispatch_without_faulting() {
    let fs = Tmpfs::mount(32);
    let cfg = MessageStoreConfig {
        mapped_file_size_commit_log: 4 * 1024 * 1024,
        mapped_file_size_consume_queue: 300_000 * 20,
        clean_file_forcibly_enable: false,
        delete_when: other_hour(),
        ..config(&fs.path().join("store"))
    };
    let store = open(cfg.clone());
    for t in 0..50 {
        for q in 0..4 {
            put_ok(&store, msg(&format!("T{t}"), q, b"x", None)).await;
        }
    }
    let cq_bytes = allocated_bytes(&cfg.consume_queue_path());
    assert!(
        cq_bytes <= 200 * 8 * 1024,
        "200 queues allocate {cq_bytes} bytes"
    );

    let filler = fill_completely(fs.path(), "filler");
    // a new queue needs a fresh block: refused, nothing half-written
    let r = store.put_message(msg("Fresh", 0, b"refused", None)).await;
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
    assert!(store.is_disk_full());
    assert_eq!(store.get_max_offset_in_queue("Fresh", 0), 0);
    assert_eq!(read_all(&store, "T7", 3).len(), 1, "reads go on");

    std::fs::remove_file(&filler).unwrap();
    store.clean_files_now();
    assert!(!store.is_disk_full());
    put_ok(&store, msg("Fresh", 0, b"after", None)).await;
    // a queue growing past its first block allocates the next ones as it goes
    for _ in 0..500 {
        put_ok(&store, msg("T0", 0, b"y", None)).await;
    }
    assert_eq!(read_all(&store, "Fresh", 0).len(), 1);
    assert_eq!(read_all(&store, "T0", 0).len(), 501);
    store.shutdown();
    drop(store);
    let store = open(cfg);
    assert_eq!(read_all(&store, "T0", 0).len(), 501);
    assert_eq!(&read_all(&store, "Fresh", 0)[0].body[..], b"after");
    store.shutdown();
}

/// The same protection at the queue itself: appending entries into a sparse file on a full
/// disk fails with an error once the allocated blocks are used up, never with a fault.
#[test]
fn a_consume_queue_on_a_full_disk_fails_appends_without_faulting() {
    let fs = Tmpfs::mount(8);
    let cq = ferrocket_store::ConsumeQueue::new(fs.path(), "T", 0, 300_000 * 20);
    assert!(cq.put_message_position_info(0, 10, 0, 0).unwrap());
    let filler = fill_completely(fs.path(), "filler");
    let mut appended = 1;
    let err = loop {
        match cq.put_message_position_info(appended * 10, 10, 0, appended) {
            Ok(true) => appended += 1,
            Ok(false) => panic!("entry {appended} refused as a duplicate"),
            Err(e) => break e,
        }
        assert!(appended < 300_000, "a full disk never refused an entry");
    };
    assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{err}");
    assert_eq!(cq.max_offset_in_queue(), appended);
    std::fs::remove_file(&filler).unwrap();
    // the blocks of an unlinked file come back when the kernel lets go of its last page
    // references, which can trail the unlink by a moment: wait for the space, boundedly
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let appended_after_free = loop {
        match cq.put_message_position_info(appended * 10, 10, 0, appended) {
            Err(e)
                if e.kind() == std::io::ErrorKind::StorageFull
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other,
        }
    };
    assert!(appended_after_free.unwrap());
    assert_eq!(cq.get(appended).unwrap().phy_offset, appended * 10);
}
