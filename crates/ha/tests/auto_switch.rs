//! Auto-switch HA (controller mode) between in-process stores on loopback, and against a
//! master and a slave written by hand from the protocol description (byte layouts of
//! RocketMQ 5's `AutoSwitchHAClient` / `AutoSwitchHAConnection`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_ha::{AutoSwitchListener, EpochFile, HAService};
use ferrocket_store::{BrokerRole, DefaultMessageStore, PutMessageStatus};
use parking_lot::Mutex;

mod common;
use common::*;

/// Records what the HA service reports.
#[derive(Default)]
struct Recorder {
    acks: Mutex<Vec<(u64, i64)>>,
    truncations: Mutex<Vec<i64>>,
}

impl AutoSwitchListener for Recorder {
    fn on_slave_ack(&self, slave_id: u64, offset: i64, _caught_up: bool) {
        self.acks.lock().push((slave_id, offset));
    }
    fn confirm_offset(&self, master_max: i64) -> i64 {
        master_max - 1
    }
    fn on_truncation_needed(&self, offset: i64) {
        self.truncations.lock().push(offset);
    }
}

fn node(root: &Path, role: BrokerRole, id: i64, sync_from_last_file: bool) -> Node {
    let mut cfg = config(root, role);
    cfg.ha_auto_switch_broker_id = Some(id);
    cfg.sync_from_last_file = sync_from_last_file;
    let store = DefaultMessageStore::open(cfg).unwrap();
    let ha = HAService::new(store.clone()).unwrap();
    let addr = ha.start("127.0.0.1:0").unwrap();
    Node { store, ha, addr }
}

async fn put(store: &DefaultMessageStore, range: std::ops::Range<usize>) {
    for i in range {
        assert_eq!(
            store.put_message(msg(i)).await.status,
            PutMessageStatus::PutOk
        );
    }
}

fn read_exact(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    s.read_exact(&mut b).unwrap();
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_copies_the_whole_log_and_the_epochs_across_an_epoch_change() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = node(md.path(), BrokerRole::AsyncMaster, 1, false);
    let recorder = Arc::new(Recorder::default());
    master.ha.set_auto_switch_listener(recorder.clone());
    let epochs = master.ha.epoch_file().unwrap();
    epochs.begin_epoch(1, 0).unwrap();
    put(&master.store, 0..300).await;
    // a second mastership starts mid-file: frames must stop at its first byte
    let boundary = master.store.get_max_phy_offset();
    epochs.begin_epoch(2, boundary).unwrap();
    put(&master.store, 300..500).await;
    assert!(master.store.get_max_phy_offset() > SEGMENT as i64 * 2);

    let slave = node(sd.path(), BrokerRole::Slave, 2, false);
    slave.follow(&master);
    wait_until("catch-up", Duration::from_secs(20), || {
        slave.store.get_max_phy_offset() == master.store.get_max_phy_offset()
    });
    // unlike classic HA, an empty replica starts at the master's first byte
    assert_eq!(slave.store.get_min_phy_offset(), 0);
    assert_eq!(
        slave.ha.epoch_file().unwrap().entries(),
        vec![(1, 0), (2, boundary)]
    );
    let end = master.store.get_max_phy_offset();
    wait_until("ack by id", Duration::from_secs(10), || {
        master.ha.group_transfer().member_acks() == vec![(2, end)]
            && recorder.acks.lock().last() == Some(&(2, end))
    });
    // the confirm offset travels in the frame headers
    wait_until("confirm offset", Duration::from_secs(10), || {
        slave.ha.slave_confirm_offset() == end - 1
    });
    master.stop();
    slave.stop();
    assert_eq!(commit_log(md.path()), commit_log(sd.path()));
    let text = std::fs::read_to_string(sd.path().join("epochFileCheckpoint")).unwrap();
    assert!(text.starts_with("2\n"), "{text}");
    assert!(text.ends_with(&format!("\n1-0\n2-{boundary}\n")), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_answers_a_hand_written_slave() {
    let md = tempfile::tempdir().unwrap();
    let master = node(md.path(), BrokerRole::AsyncMaster, 1, false);
    master.ha.epoch_file().unwrap().begin_epoch(3, 0).unwrap();
    put(&master.store, 0..20).await;
    let end = master.store.get_max_phy_offset();
    let mut s = TcpStream::connect(master.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // handshake: HANDSHAKE, not from the last file, not a learner, broker id 9; sent in two
    // parts: the master waits for all 16 bytes
    s.write_all(&[0, 0, 0, 1, 0, 0, 0, 0]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.write_all(&[0, 0, 0, 0, 0, 0, 0, 9]).unwrap();
    let h = read_exact(&mut s, 20);
    assert_eq!(&h[..8], &[0, 0, 0, 1, 0, 0, 0, 12]);
    assert_eq!(&h[8..16], &end.to_be_bytes());
    assert_eq!(&h[16..20], &[0, 0, 0, 3]);
    assert_eq!(read_exact(&mut s, 12), [0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0]);
    // TRANSFER ack of offset 0: an empty replica
    s.write_all(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    let f = read_exact(&mut s, 36);
    assert_eq!(&f[..4], &[0, 0, 0, 2]);
    let size = u32::from_be_bytes(f[4..8].try_into().unwrap()) as usize;
    assert!(
        size > 0 && size <= 4000,
        "haTransferBatchSize bounds a frame: {size}"
    );
    assert_eq!(&f[8..16], &[0; 8], "offset 0");
    assert_eq!(&f[16..20], &[0, 0, 0, 3], "epoch 3");
    assert_eq!(&f[20..28], &[0; 8], "epoch 3 starts at 0");
    assert_eq!(
        &f[28..36],
        &end.to_be_bytes(),
        "confirm offset: no listener, all"
    );
    let body = read_exact(&mut s, size);
    assert_eq!(
        &body[..],
        &master.store.get_commit_log_data(0).unwrap()[..size]
    );
    // the slave's acknowledgement is recorded under its id
    s.write_all(&[0, 0, 0, 2]).unwrap();
    s.write_all(&(size as i64).to_be_bytes()).unwrap();
    wait_until("ack", Duration::from_secs(5), || {
        master.ha.group_transfer().member_acks() == vec![(9, size as i64)]
    });
    // an unknown state closes the connection
    s.write_all(&[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    assert!(closed_by_peer(&mut s));
    master.stop();
}

/// Accepts the slave and checks its handshake (broker id `id`, from the last file).
fn accept_slave(l: &TcpListener, id: u8) -> TcpStream {
    let (mut s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let h = read_exact(&mut s, 16);
    assert_eq!(h, [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, id]);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_follows_a_hand_written_master() {
    let (scratch, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // real records to stream
    let source =
        DefaultMessageStore::open(config(scratch.path(), BrokerRole::AsyncMaster)).unwrap();
    put(&source, 0..5).await;
    let data = source.get_commit_log_data(0).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let slave = node(sd.path(), BrokerRole::Slave, 7, true);
    slave
        .ha
        .update_master_address(Some(l.local_addr().unwrap().to_string()));
    let mut s = accept_slave(&l, 7);
    #[rustfmt::skip]
    let handshake = [
        0, 0, 0, 1, 0, 0, 0, 12,
        0, 0, 0, 0, 0, 0, 0x10, 0,          // master max offset 4096
        0, 0, 0, 5,                          // last epoch 5
        0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0,  // epoch 5 from 0
    ];
    s.write_all(&handshake).unwrap();
    // an empty replica acknowledges 0
    assert_eq!(read_exact(&mut s, 12), [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut frame = vec![0, 0, 0, 2];
    frame.extend_from_slice(&(data.len() as i32).to_be_bytes());
    frame.extend_from_slice(&[0; 8]); // offset 0
    frame.extend_from_slice(&[0, 0, 0, 5]); // epoch 5
    frame.extend_from_slice(&[0; 8]); // epoch start 0
    frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0x40]); // confirm offset 64
    frame.extend_from_slice(&data);
    s.write_all(&frame).unwrap();
    let mut ack = vec![0, 0, 0, 2];
    ack.extend_from_slice(&(data.len() as i64).to_be_bytes());
    assert_eq!(read_exact(&mut s, 12), ack);
    assert_eq!(slave.store.get_max_phy_offset(), data.len() as i64);
    assert_eq!(slave.ha.epoch_file().unwrap().entries(), vec![(5, 0)]);
    assert_eq!(slave.ha.slave_confirm_offset(), 64);
    // a frame that is not at the slave's end ends the connection
    let mut bad = frame[..36].to_vec();
    bad[8..16].copy_from_slice(&7i64.to_be_bytes());
    bad[4..8].copy_from_slice(&[0; 4]);
    s.write_all(&bad).unwrap();
    assert!(closed_by_peer(&mut s));
    slave.stop();
    source.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_divergent_slave_asks_to_be_cut_at_the_consistent_point() {
    let sd = tempfile::tempdir().unwrap();
    let (first_end, end) = {
        let store = DefaultMessageStore::open(config(sd.path(), BrokerRole::AsyncMaster)).unwrap();
        put(&store, 0..10).await;
        let first_end = store.get_max_phy_offset();
        put(&store, 10..20).await;
        let end = store.get_max_phy_offset();
        store.shutdown();
        (first_end, end)
    };
    // it led epoch 1 from 0, then epoch 3 from `first_end` (never seen by the new master,
    // which led epoch 2 from 100)
    EpochFile::open(sd.path())
        .unwrap()
        .save(&[(1, 0), (3, first_end)])
        .unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let slave = node(sd.path(), BrokerRole::Slave, 2, true);
    let recorder = Arc::new(Recorder::default());
    slave.ha.set_auto_switch_listener(recorder.clone());
    slave
        .ha
        .update_master_address(Some(l.local_addr().unwrap().to_string()));
    let mut s = accept_slave(&l, 2);
    let mut handshake = vec![0, 0, 0, 1, 0, 0, 0, 24];
    handshake.extend_from_slice(&(end * 2).to_be_bytes());
    handshake.extend_from_slice(&[0, 0, 0, 2]);
    handshake.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    handshake.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 100]);
    s.write_all(&handshake).unwrap();
    // no acknowledgement: the connection ends and the broker is asked to cut at 100
    assert!(closed_by_peer(&mut s));
    assert_eq!(recorder.truncations.lock().first(), Some(&100));
    assert!(end > 100);
    assert_eq!(
        slave.store.get_max_phy_offset(),
        end,
        "nothing cut in place"
    );
    slave.stop();
}
