//! Segment files come from the allocator thread, ahead of need: the put path (an async task)
//! never creates one, and a segment created ahead but never used is harmless at restart.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use ferrocket_store::{offset_to_file_name, MappedFile};

fn segment(root: &Path, offset: i64) -> PathBuf {
    root.join("commitlog").join(offset_to_file_name(offset))
}

fn cq_segment(root: &Path, topic: &str, queue_id: i32, offset: i64) -> PathBuf {
    root.join("consumequeue")
        .join(topic)
        .join(queue_id.to_string())
        .join(offset_to_file_name(offset))
}

async fn wait_exists(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never created",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn body(i: usize) -> Vec<u8> {
    (0..(300 + i * 37 % 700))
        .map(|j| (i + j) as u8 | 1)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_a_mapped_file_on_an_async_worker_panics_in_debug_builds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let created = tokio::spawn(async move { MappedFile::create(&d, 0, 4096).map(|_| ()) }).await;
    let d = dir.path().to_path_buf();
    let sparse =
        tokio::spawn(async move { MappedFile::create_sparse(&d, 4096, 4096).map(|_| ()) }).await;
    if cfg!(debug_assertions) {
        for outcome in [created, sparse] {
            let panic = outcome.unwrap_err().into_panic();
            let message = panic.downcast_ref::<String>().unwrap();
            assert!(
                message.starts_with("creating a mapped file on an async worker thread"),
                "{message}"
            );
        }
    } else {
        assert!(created.unwrap().is_ok() && sparse.unwrap().is_ok());
    }
    // the blocking pool may
    let d = dir.path().to_path_buf();
    ferrocket_store::blocking::run_blocking(move || MappedFile::create(&d, 8192, 4096).map(|_| ()))
        .await
        .unwrap()
        .unwrap();
}

/// Puts from async tasks roll across many CommitLog and ConsumeQueue segments: each one comes
/// from the allocator (a segment created inline would trip the debug guard inside the task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn puts_in_async_tasks_roll_across_segments_created_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let mut tasks = Vec::new();
    for t in 0..4usize {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = 0;
            for i in 0..150 {
                let (phy, _) = put_ok(&store, msg("Roll", (t % 2) as i32, &body(i), None)).await;
                last = last.max(phy);
            }
            last
        }));
    }
    let mut max_phy = 0;
    for t in tasks {
        max_phy = max_phy.max(t.await.unwrap());
    }
    let size = COMMIT_LOG_FILE_SIZE as i64;
    let last_segment = max_phy / size * size;
    assert!(
        last_segment >= 3 * size,
        "the puts rolled over several segments"
    );
    for off in (0..=last_segment).step_by(size as usize) {
        assert!(segment(dir.path(), off).exists());
    }
    // the segment after the one in use is already there
    wait_exists(&segment(dir.path(), last_segment + size)).await;
    // 300 entries per queue: three consume queue segments each, and the fourth made ahead
    for q in 0..2 {
        assert_eq!(read_all(&store, "Roll", q).len(), 300);
        for n in 0..3 {
            assert!(cq_segment(dir.path(), "Roll", q, n * CQ_FILE_SIZE as i64).exists());
        }
    }
    store.shutdown();
    // shutdown deletes segments created ahead and never used
    assert!(!segment(dir.path(), last_segment + size).exists());
}

async fn fill(store: &ferrocket_store::DefaultMessageStore, n: usize) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(put_ok(store, msg("T", 0, &body(i), None)).await);
    }
    out
}

/// A crash leaves the segment created ahead of need in the directory, unused (all zeros), or
/// half created (no length yet, or shorter than a segment): recovery ends the log where the
/// data ends and the next put lands there, as with RocketMQ's trailing empty file.
#[tokio::test]
async fn a_segment_created_ahead_and_never_used_does_not_confuse_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 160).await;
    let (end_phy, _) = *puts.last().unwrap();
    let size = COMMIT_LOG_FILE_SIZE as i64;
    let ahead = (end_phy / size + 1) * size;
    wait_exists(&segment(dir.path(), ahead)).await;
    // the consume queue asked for its next segment past half of the current one
    wait_exists(&cq_segment(dir.path(), "T", 0, CQ_FILE_SIZE as i64 * 2)).await;
    let next_put_offset = store.get_max_phy_offset();

    for damage in ["unused", "empty", "short"] {
        let image = tempfile::tempdir().unwrap();
        crash_image(dir.path(), image.path());
        let seg = segment(image.path(), ahead);
        match damage {
            "empty" => std::fs::File::create(&seg).unwrap().set_len(0).unwrap(),
            "short" => std::fs::File::create(&seg).unwrap().set_len(4096).unwrap(),
            _ => {}
        }
        let recovered = open(config(image.path()));
        assert_eq!(recovered.get_max_phy_offset(), next_put_offset, "{damage}");
        let all = read_all(&recovered, "T", 0);
        assert_eq!(all.len(), puts.len(), "{damage}");
        for (m, (phy, qoff)) in all.iter().zip(&puts) {
            assert_eq!((m.commit_log_offset, m.queue_offset), (*phy, *qoff));
        }
        let (phy, qoff) = put_ok(&recovered, msg("T", 0, b"after", None)).await;
        assert_eq!(
            (phy, qoff),
            (next_put_offset, puts.len() as i64),
            "{damage}"
        );
        // fill on into the segment that was created ahead
        let more = fill(&recovered, 60).await;
        assert!(more.last().unwrap().0 >= ahead, "{damage}");
        let all = read_all(&recovered, "T", 0);
        assert_eq!(all.len(), puts.len() + 61, "{damage}");
    }
}
