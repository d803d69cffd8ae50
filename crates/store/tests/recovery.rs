mod common;

use std::fs::OpenOptions;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::time::Duration;

use common::*;
use ferrocket_protocol::message::MAGIC_V1;
use ferrocket_store::{offset_to_file_name, AppendMessageResult, DefaultMessageStore};

fn body(i: usize) -> Vec<u8> {
    // varied, never all-zero bodies so a zeroed tail breaks the CRC
    (0..(200 + i * 37 % 900))
        .map(|j| (i * 7 + j) as u8 | 1)
        .collect()
}

async fn fill(store: &DefaultMessageStore, n: usize) -> Vec<(String, i32, AppendMessageResult)> {
    let mut out = Vec::new();
    for i in 0..n {
        let topic = format!("T{}", i % 3);
        let q = (i % 4) as i32;
        let r = store
            .put_message(msg(&topic, q, &body(i), Some("tag")))
            .await;
        out.push((topic, q, r.append.unwrap()));
    }
    out
}

fn segment_path(root: &Path, offset: i64) -> std::path::PathBuf {
    let size = COMMIT_LOG_FILE_SIZE as i64;
    root.join("commitlog")
        .join(offset_to_file_name(offset - offset % size))
}

/// Checks that exactly `puts[..keep]` survived, in every queue, with their offsets.
fn assert_exactly(
    store: &DefaultMessageStore,
    puts: &[(String, i32, AppendMessageResult)],
    keep: usize,
) {
    let expected_end = puts
        .get(keep)
        .map(|(_, _, a)| a.wrote_offset)
        .unwrap_or_else(|| {
            puts.last()
                .map(|(_, _, a)| a.wrote_offset + a.wrote_bytes as i64)
                .unwrap_or(0)
        });
    assert_eq!(
        store.get_max_phy_offset(),
        expected_end,
        "commit log ends after the last complete record"
    );
    let mut queues: Vec<(String, i32)> = puts.iter().map(|(t, q, _)| (t.clone(), *q)).collect();
    queues.sort();
    queues.dedup();
    for (t, q) in queues {
        let want: Vec<i64> = puts[..keep]
            .iter()
            .filter(|(pt, pq, _)| *pt == t && *pq == q)
            .map(|(_, _, a)| a.wrote_offset)
            .collect();
        let got: Vec<i64> = read_all(store, &t, q)
            .iter()
            .map(|m| m.commit_log_offset)
            .collect();
        assert_eq!(got, want, "queue {t}-{q}");
        assert_eq!(store.get_max_offset_in_queue(&t, q), want.len() as i64);
    }
}

#[tokio::test]
async fn clean_restart_keeps_every_message_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 200).await;
    let max_phy = store.get_max_phy_offset();
    drop(store); // Drop shuts down cleanly
    assert!(!dir.path().join("abort").exists());
    let store = open(config(dir.path()));
    assert_eq!(store.get_max_phy_offset(), max_phy);
    assert_eq!(store.get_min_phy_offset(), 0);
    assert_exactly(&store, &puts, puts.len());
    // appends continue where they stopped
    let r = store
        .put_message(msg("T0", 0, b"after restart", None))
        .await;
    let a = r.append.unwrap();
    assert!(a.wrote_offset % COMMIT_LOG_FILE_SIZE as i64 == 0 || a.wrote_offset == max_phy);
    assert_eq!(a.logics_offset, store.get_max_offset_in_queue("T0", 0) - 1);
    assert!(a.store_timestamp >= puts.last().unwrap().2.store_timestamp);
}

#[tokio::test]
async fn recovers_everything_from_a_crash_image() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 150).await;
    crash_image(dir.path(), image.path());
    assert!(image.path().join("abort").exists());
    let recovered = open(config(image.path()));
    assert_exactly(&recovered, &puts, puts.len());
}

#[tokio::test]
async fn a_half_written_last_record_is_dropped_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 120).await;
    let (_, _, last) = &puts[119];
    // cut points inside the last record, from its first byte to its last
    let size = last.wrote_bytes as u64;
    for cut in [0, 4, 8, 30, 84, 90, size / 2, size - 2, size - 1] {
        let image = tempfile::tempdir().unwrap();
        crash_image(dir.path(), image.path());
        let seg = segment_path(image.path(), last.wrote_offset);
        let pos = (last.wrote_offset % COMMIT_LOG_FILE_SIZE as i64) as u64;
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(pos + cut)
            .unwrap();
        let recovered = open(config(image.path()));
        assert_exactly(&recovered, &puts, 119);
        // the freed queue offset and position are reused
        let (t, q, _) = &puts[119];
        let r = recovered
            .put_message(msg(t, *q, b"replacement", None))
            .await;
        let a = r.append.unwrap();
        assert_eq!(a.wrote_offset, last.wrote_offset, "cut {cut}");
        assert_eq!(a.logics_offset, last.logics_offset, "cut {cut}");
    }
}

#[tokio::test]
async fn garbage_after_the_last_record_is_ignored_and_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 40).await;
    let (_, _, last) = &puts[39];
    let end = last.wrote_offset + last.wrote_bytes as i64;

    // random junk, and junk that starts like a record
    let mut looks_valid = Vec::new();
    looks_valid.extend_from_slice(&500i32.to_be_bytes());
    looks_valid.extend_from_slice(&MAGIC_V1.to_be_bytes());
    looks_valid.extend((0..492).map(|i| (i * 13) as u8));
    let junk: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    for garbage in [junk, looks_valid] {
        let image = tempfile::tempdir().unwrap();
        crash_image(dir.path(), image.path());
        let seg = segment_path(image.path(), end);
        let mut f = OpenOptions::new().write(true).open(&seg).unwrap();
        f.seek(SeekFrom::Start((end % COMMIT_LOG_FILE_SIZE as i64) as u64))
            .unwrap();
        f.write_all(&garbage).unwrap();
        drop(f);
        let recovered = open(config(image.path()));
        assert_exactly(&recovered, &puts, 40);
        drop(recovered);
        let bytes = std::fs::read(&seg).unwrap();
        let from = (end % COMMIT_LOG_FILE_SIZE as i64) as usize;
        assert!(
            bytes[from..].iter().all(|b| *b == 0),
            "stale bytes past the end are wiped"
        );
    }
}

#[tokio::test]
async fn a_corrupted_middle_record_ends_the_log_there() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 60).await;
    crash_image(dir.path(), image.path());
    // flip one body byte of record 50 (its CRC no longer matches)
    let a = &puts[50].2;
    let seg = segment_path(image.path(), a.wrote_offset);
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = (a.wrote_offset % COMMIT_LOG_FILE_SIZE as i64) as usize + 100;
    bytes[at] ^= 0xFF;
    std::fs::write(&seg, bytes).unwrap();
    let recovered = open(config(image.path()));
    assert_exactly(&recovered, &puts, 50);
}

#[tokio::test]
async fn lost_later_segments_truncate_consume_queues() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 200).await;
    crash_image(dir.path(), image.path());
    // the newest segment (and the preallocated one after it) never reached the disk
    let last_seg_start = puts.last().unwrap().2.wrote_offset / COMMIT_LOG_FILE_SIZE as i64
        * COMMIT_LOG_FILE_SIZE as i64;
    for e in std::fs::read_dir(image.path().join("commitlog")).unwrap() {
        let p = e.unwrap().path();
        let start: i64 = p.file_name().unwrap().to_str().unwrap().parse().unwrap();
        if start >= last_seg_start {
            std::fs::remove_file(p).unwrap();
        }
    }
    let keep = puts
        .iter()
        .position(|(_, _, a)| a.wrote_offset >= last_seg_start)
        .unwrap();
    assert_eq!(puts[keep].2.wrote_offset, last_seg_start);
    let recovered = open(config(image.path()));
    // the previous segment ends with its BLANK, so the log ends at the lost segment's start
    assert_exactly(&recovered, &puts, keep);
    let r = recovered.put_message(msg("T1", 1, b"x", None)).await;
    assert_eq!(r.append.unwrap().wrote_offset, last_seg_start);
}

#[tokio::test]
async fn missing_consume_queues_are_rebuilt_from_the_commit_log() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let puts = fill(&store, 150).await;
    crash_image(dir.path(), image.path());
    std::fs::remove_dir_all(image.path().join("consumequeue")).unwrap();
    std::fs::write(image.path().join("checkpoint"), [0u8; 4096]).unwrap();
    let recovered = open(config(image.path()));
    assert_exactly(&recovered, &puts, puts.len());
}

#[tokio::test]
async fn consume_queue_tails_lost_after_the_checkpoint_are_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.flush_commit_log_thorough_interval = 0;
    cfg.flush_consume_queue_thorough_interval = 0;
    let store = open(cfg.clone());
    let mut puts = fill(&store, 150).await;
    // let the flush services persist everything and the checkpoint age past its 3 s margin
    tokio::time::sleep(Duration::from_millis(3300)).await;
    puts.extend(fill(&store, 90).await);
    crash_image(dir.path(), image.path());
    // every consume queue loses its last three entries (pages that never reached the disk)
    for entry in walk(&image.path().join("consumequeue")) {
        let bytes = std::fs::read(&entry).unwrap();
        let used = bytes
            .chunks(20)
            .take_while(|c| c.iter().any(|b| *b != 0))
            .count();
        if used == 0 {
            continue;
        }
        let mut f = OpenOptions::new().write(true).open(&entry).unwrap();
        let from = used.saturating_sub(3) * 20;
        f.seek(SeekFrom::Start(from as u64)).unwrap();
        f.write_all(&vec![0u8; (used * 20) - from]).unwrap();
    }
    cfg.store_path_root_dir = image.path().to_path_buf();
    let recovered = open(cfg);
    assert_exactly(&recovered, &puts, puts.len());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn repeated_crashes_never_resurrect_stale_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let mut puts = fill(&store, 30).await;
    crash_image(dir.path(), first.path());
    drop(store);
    // crash 1: the last two records are torn away
    let (_, _, a) = &puts[28];
    let seg = segment_path(first.path(), a.wrote_offset);
    let pos = (a.wrote_offset % COMMIT_LOG_FILE_SIZE as i64) as u64;
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(pos + 10)
        .unwrap();
    puts.truncate(28);
    let store = open(config(first.path()));
    // a short record now sits where longer ones were
    let r = store.put_message(msg("T0", 0, b"short", None)).await;
    puts.push(("T0".into(), 0, r.append.unwrap()));
    crash_image(first.path(), second.path());
    drop(store);
    let recovered = open(config(second.path()));
    assert_exactly(&recovered, &puts, puts.len());
}

#[tokio::test]
async fn empty_commit_log_drops_stale_consume_queues() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    fill(&store, 5).await;
    drop(store);
    std::fs::remove_dir_all(dir.path().join("commitlog")).unwrap();
    let store = open(config(dir.path()));
    assert!(store.topic_queues().is_empty());
    assert_eq!(store.get_max_phy_offset(), 0);
    assert_eq!(store.get_min_phy_offset(), -1);
    let (phy, qoff) = put_ok(&store, msg("T0", 0, b"fresh", None)).await;
    assert_eq!((phy, qoff), (0, 0));
}

#[test]
fn a_segment_of_the_wrong_size_in_the_middle_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cl = dir.path().join("commitlog");
    std::fs::create_dir_all(&cl).unwrap();
    std::fs::write(cl.join(offset_to_file_name(0)), vec![0u8; 100]).unwrap();
    std::fs::write(
        cl.join(offset_to_file_name(COMMIT_LOG_FILE_SIZE as i64)),
        vec![1u8; COMMIT_LOG_FILE_SIZE],
    )
    .unwrap();
    let err = DefaultMessageStore::open(config(dir.path())).unwrap_err();
    assert!(
        matches!(err, ferrocket_store::StoreError::Corrupted { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn every_cut_point_of_the_last_record_recovers_exactly_the_complete_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(config(dir.path()));
    let mut puts = Vec::new();
    for i in 0..5 {
        let r = store
            .put_message(msg("T", 0, &body(i)[..64], Some("t")))
            .await;
        puts.push(("T".to_string(), 0, r.append.unwrap()));
    }
    let base = tempfile::tempdir().unwrap();
    crash_image(dir.path(), base.path());
    let last = puts[4].2.clone();
    let pos = (last.wrote_offset % COMMIT_LOG_FILE_SIZE as i64) as u64;
    for cut in 0..last.wrote_bytes as u64 {
        let image = tempfile::tempdir().unwrap();
        crash_image(base.path(), image.path());
        let seg = segment_path(image.path(), last.wrote_offset);
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(pos + cut)
            .unwrap();
        let recovered = open(config(image.path()));
        assert_eq!(
            recovered.get_max_phy_offset(),
            last.wrote_offset,
            "cut at byte {cut}"
        );
        assert_eq!(
            recovered.get_max_offset_in_queue("T", 0),
            4,
            "cut at byte {cut}"
        );
    }
}

#[test]
fn lost_pages_keep_exactly_the_records_before_them() {
    use proptest::test_runner::{Config, TestRunner};

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = tempfile::tempdir().unwrap();
    let puts = rt.block_on(async {
        let store = open(config(dir.path()));
        let puts = fill(&store, 100).await;
        crash_image(dir.path(), base.path());
        puts
    });
    let last = puts.last().unwrap().2.clone();
    let seg_start = last.wrote_offset - last.wrote_offset % COMMIT_LOG_FILE_SIZE as i64;
    let pages = COMMIT_LOG_FILE_SIZE / 4096;
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    runner
        .run(&(0..pages), |page| {
            let image = tempfile::tempdir().unwrap();
            crash_image(base.path(), image.path());
            let seg = segment_path(image.path(), seg_start);
            let mut f = OpenOptions::new().write(true).open(&seg).unwrap();
            f.seek(SeekFrom::Start((page * 4096) as u64)).unwrap();
            f.write_all(&[0u8; 4096]).unwrap();
            drop(f);
            let lost_from = seg_start + (page * 4096) as i64;
            let keep = puts
                .iter()
                .position(|(_, _, a)| a.wrote_offset + a.wrote_bytes as i64 > lost_from)
                .unwrap_or(puts.len());
            let recovered = open(config(image.path()));
            assert_exactly(&recovered, &puts, keep);
            Ok(())
        })
        .unwrap();
}
