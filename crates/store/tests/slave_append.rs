//! A slave store fed the master's CommitLog bytes in arbitrary cuts ends up byte-identical,
//! with the same ConsumeQueues, and survives a crash in the middle of a record.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use ferrocket_store::{
    offset_to_file_name, AppendError, BrokerRole, DefaultMessageStore, MessageStoreConfig,
    PutMessageStatus,
};
use ferrocket_testkit::commit_log_files;

fn slave_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        broker_role: BrokerRole::Slave,
        ..config(root)
    }
}

/// Copies the master's CommitLog from `from` into the slave in cuts of `cut` bytes, the way
/// replication frames arrive; returns where it stopped.
fn replicate(
    master: &DefaultMessageStore,
    slave: &DefaultMessageStore,
    mut from: i64,
    cut: usize,
) -> i64 {
    while let Some(data) = master.get_commit_log_data(from) {
        let n = data.len().min(cut);
        slave
            .append_to_commit_log(from, &data[..n])
            .expect("append");
        from += n as i64;
    }
    from
}

/// Waits for the slave's reput thread to dispatch up to `end` (it runs apart from the appends).
fn wait_dispatched(slave: &DefaultMessageStore, end: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while slave.dispatched_max_offset() < end {
        assert!(
            Instant::now() < deadline,
            "dispatched {} of {end}",
            slave.dispatched_max_offset()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert_eq!(slave.dispatched_max_offset(), end);
}

async fn fill(master: &DefaultMessageStore, from: usize, n: usize) {
    for i in from..from + n {
        let body: Vec<u8> = (0..(100 + i * 53 % 700))
            .map(|j| (i + j) as u8 | 1)
            .collect();
        put_ok(
            master,
            msg(&format!("T{}", i % 3), (i % 2) as i32, &body, Some("tag")),
        )
        .await;
    }
}

#[tokio::test]
async fn replicated_bytes_make_an_identical_store() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = open(config(md.path()));
    fill(&master, 0, 400).await; // several 64 KiB segments, with BLANK tails
    let slave = open(slave_config(sd.path()));
    assert_eq!(slave.get_max_phy_offset(), 0);
    let end = replicate(&master, &slave, 0, 777);
    assert_eq!(end, master.get_max_phy_offset());
    assert_eq!(slave.get_max_phy_offset(), end);
    wait_dispatched(&slave, end);
    for t in 0..3 {
        for q in 0..2 {
            let topic = format!("T{t}");
            assert_eq!(
                slave.get_max_offset_in_queue(&topic, q),
                master.get_max_offset_in_queue(&topic, q)
            );
            let (a, b) = (read_all(&master, &topic, q), read_all(&slave, &topic, q));
            assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.msg_id, y.msg_id);
                assert_eq!(x.body, y.body);
            }
        }
    }
    master.shutdown();
    slave.shutdown();
    assert_eq!(commit_log_files(md.path()), commit_log_files(sd.path()));

    // a slave refuses puts of its own: its CommitLog belongs to the master
    let slave = open(slave_config(sd.path()));
    let r = slave.put_message(msg("T0", 0, b"x", None)).await;
    assert_eq!(r.status, PutMessageStatus::ServiceNotAvailable);
}

#[tokio::test]
async fn wrong_offsets_are_refused() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = open(config(md.path()));
    fill(&master, 0, 5).await;
    let slave = open(slave_config(sd.path()));
    let data = master.get_commit_log_data(0).unwrap();
    assert!(matches!(
        slave.append_to_commit_log(100, &data),
        Err(AppendError::NotSegmentStart(100))
    ));
    slave.append_to_commit_log(0, &data[..50]).unwrap();
    assert!(matches!(
        slave.append_to_commit_log(40, &data[50..]),
        Err(AppendError::OffsetMismatch {
            offset: 40,
            local_max: 50
        })
    ));
    let huge = vec![1u8; COMMIT_LOG_FILE_SIZE];
    assert!(matches!(
        slave.append_to_commit_log(50, &huge),
        Err(AppendError::CrossesSegment { .. })
    ));
    assert_eq!(slave.get_max_phy_offset(), 50);
    // the reput thread polls every millisecond: give it time to (not) dispatch
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(slave.dispatched_max_offset(), 0, "no complete record yet");
}

#[tokio::test]
async fn a_slave_that_crashes_inside_a_record_recovers_to_a_record_boundary() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = open(config(md.path()));
    fill(&master, 0, 100).await;
    let slave = open(slave_config(sd.path()));
    let mid = replicate(&master, &slave, 0, 1000);
    // half of the next record arrives, then the slave dies without shutting down
    fill(&master, 100, 1).await;
    let next = master.get_commit_log_data(mid).unwrap();
    slave
        .append_to_commit_log(mid, &next[..next.len() / 2])
        .unwrap();
    // the image of a slave killed at this point: mapped bytes reach the page cache
    let copy = tempfile::tempdir().unwrap();
    crash_image(sd.path(), copy.path());
    assert!(copy.path().join("abort").exists());
    drop(slave);
    let slave = open(slave_config(copy.path()));
    assert_eq!(
        slave.get_max_phy_offset(),
        mid,
        "the torn record is dropped"
    );
    let end = replicate(&master, &slave, slave.get_max_phy_offset(), 4096);
    assert_eq!(end, master.get_max_phy_offset());
    wait_dispatched(&slave, end);
    assert_eq!(
        read_all(&slave, "T1", 0).len(),
        read_all(&master, "T1", 0).len()
    );
    master.shutdown();
    slave.shutdown();
    let name = offset_to_file_name(0);
    let m = commit_log_files(md.path());
    let s = commit_log_files(copy.path());
    assert_eq!(
        m.iter().find(|f| f.0 == name),
        s.iter().find(|f| f.0 == name)
    );
    assert_eq!(m, s);
}

/// Puts `n` messages whose KEYS are `k{i % 3} all`.
async fn fill_keyed(master: &DefaultMessageStore, from: usize, n: usize) {
    for i in from..from + n {
        let mut m = msg("K", (i % 2) as i32, format!("body-{i}").as_bytes(), None);
        let props = format!("{}KEYS\u{1}k{} all\u{2}", m.properties_string, i % 3);
        m.set_properties_string(props);
        put_ok(master, m).await;
    }
}

/// Waits until the index covers everything up to `end`.
fn wait_indexed(store: &DefaultMessageStore, end: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.index_service().build_offset() < end {
        assert!(
            Instant::now() < deadline,
            "indexed {} of {end}",
            store.index_service().build_offset()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn found(store: &DefaultMessageStore, key: &str) -> Vec<i64> {
    let r = store.query_message("K", key, 1000, 0, i64::MAX);
    let mut offsets: Vec<i64> = r
        .messages
        .iter()
        .map(|b| decode(b).commit_log_offset)
        .collect();
    offsets.sort_unstable();
    offsets
}

/// Replicates from `from` in cuts of `cut` bytes and waits until both stores have indexed
/// everything; checks that the slave finds the `records` records with the key `all`, as the
/// master does. Returns the end.
fn replicate_indexed(
    master: &DefaultMessageStore,
    slave: &DefaultMessageStore,
    from: i64,
    cut: usize,
    records: usize,
) -> i64 {
    let end = replicate(master, slave, from, cut);
    wait_dispatched(slave, end);
    wait_indexed(master, end);
    wait_indexed(slave, end);
    assert_eq!(found(slave, "all").len(), records);
    assert_eq!(found(slave, "all"), found(master, "all"));
    end
}

#[tokio::test]
async fn a_slave_indexes_what_it_replicates_and_rebuilds_a_lost_index() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = open(config(md.path()));
    fill_keyed(&master, 0, 50).await; // queries return at most 64
    let slave = open(slave_config(sd.path()));
    let end = replicate_indexed(&master, &slave, 0, 99, 50);
    assert_eq!(found(&slave, "k1"), found(&master, "k1"));
    let uniq = decode(&master.query_message("K", "k2", 1, 0, i64::MAX).messages[0]);
    let uniq = uniq.properties.get("UNIQ_KEY").unwrap().to_string();
    assert_eq!(found(&slave, &uniq).len(), 1, "by UNIQ_KEY");
    slave.shutdown();

    // the index is lost: the restarted slave rebuilds it from its CommitLog, then goes on
    // indexing what it receives
    std::fs::remove_dir_all(sd.path().join("index")).unwrap();
    let slave = open(slave_config(sd.path()));
    fill_keyed(&master, 50, 12).await;
    replicate_indexed(&master, &slave, end, 4096, 62);
    assert_eq!(found(&slave, "k0"), found(&master, "k0"));
    master.shutdown();
    slave.shutdown();
}
