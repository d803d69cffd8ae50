//! A master and a slave store, each with its HA service, replicating over loopback.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ferrocket_ha::HaTls;
use ferrocket_store::{BrokerRole, DefaultMessageStore, MessageStoreConfig, PutMessageStatus};

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_catches_up_and_follows_byte_for_byte() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = Node::start(md.path(), BrokerRole::AsyncMaster);
    for i in 0..300 {
        assert_eq!(
            master.store.put_message(msg(i)).await.status,
            PutMessageStatus::PutOk
        );
    }
    // an empty slave starts at the master's newest segment, as RocketMQ does
    let newest = master.store.get_max_phy_offset() / SEGMENT as i64 * SEGMENT as i64;
    let slave = Node::start(sd.path(), BrokerRole::Slave);
    slave
        .ha
        .update_master_address(Some(master.addr.to_string()));
    wait_until("catch-up", Duration::from_secs(20), || {
        slave.store.get_max_phy_offset() == master.store.get_max_phy_offset()
    });
    assert_eq!(slave.store.get_min_phy_offset(), newest);
    for i in 300..400 {
        master.store.put_message(msg(i)).await;
    }
    wait_until("follow", Duration::from_secs(20), || {
        master.ha.push_to_slave_max_offset() == master.store.get_max_phy_offset()
    });
    assert_eq!(master.ha.connection_count(), 1);
    assert_eq!(master.ha.in_sync_slave_count(), 1);
    // the slave's reput thread dispatches behind its appends
    wait_until("dispatch", Duration::from_secs(20), || {
        slave.store.dispatched_max_offset() == master.store.get_max_phy_offset()
    });
    master.stop();
    slave.stop();
    let m = commit_log(md.path());
    let s = commit_log(sd.path());
    assert_eq!(
        &m[m.len() - s.len()..],
        &s[..],
        "the slave's files equal the master's newest ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_master_waits_for_the_slave() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = Node::start(md.path(), BrokerRole::SyncMaster);
    // no slave: stored, but SLAVE_NOT_AVAILABLE at once
    let started = Instant::now();
    let r = master.store.put_message(msg(0)).await;
    assert_eq!(r.status, PutMessageStatus::SlaveNotAvailable);
    assert!(started.elapsed() < Duration::from_millis(900));
    let slave = Node::start(sd.path(), BrokerRole::Slave);
    slave
        .ha
        .update_master_address(Some(master.addr.to_string()));
    wait_until("slave connected", Duration::from_secs(10), || {
        master.ha.in_sync_slave_count() == 1
    });
    for i in 1..50 {
        let r = master.store.put_message(msg(i)).await;
        assert_eq!(r.status, PutMessageStatus::PutOk);
        let a = r.append.unwrap();
        // acknowledged means the slave has it
        assert!(slave.store.get_max_phy_offset() >= a.wrote_offset + a.wrote_bytes as i64);
    }
    // the slave goes away mid-stream: the next put times out or finds no slave
    slave.stop();
    wait_until("slave gone", Duration::from_secs(10), || {
        master.ha.connection_count() == 0
    });
    let r = master.store.put_message(msg(99)).await;
    assert_eq!(r.status, PutMessageStatus::SlaveNotAvailable);
    master.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_ahead_of_its_master_is_refused() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // the "slave" was a master with more data than the new master has
    {
        let s = DefaultMessageStore::open(config(sd.path(), BrokerRole::AsyncMaster)).unwrap();
        for i in 0..20 {
            s.put_message(msg(i)).await;
        }
        s.shutdown();
    }
    let master = Node::start(md.path(), BrokerRole::AsyncMaster);
    master.store.put_message(msg(0)).await;
    let slave = Node::start(sd.path(), BrokerRole::Slave);
    let before = slave.store.get_max_phy_offset();
    slave
        .ha
        .update_master_address(Some(master.addr.to_string()));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        master.ha.push_to_slave_max_offset(),
        0,
        "its report is not taken"
    );
    assert_eq!(slave.store.get_max_phy_offset(), before, "nothing appended");
    slave.stop();
    master.stop();
}

fn read_frame(s: &mut TcpStream) -> (i64, Vec<u8>) {
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    let off = i64::from_be_bytes(head[..8].try_into().unwrap());
    let size = i32::from_be_bytes(head[8..].try_into().unwrap()) as usize;
    let mut body = vec![0; size];
    s.read_exact(&mut body).unwrap();
    (off, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_the_ha_port_closes_only_that_connection() {
    let (md, sd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = Node::start(md.path(), BrokerRole::AsyncMaster);
    for i in 0..30 {
        master.store.put_message(msg(i)).await;
    }
    let end = master.store.get_max_phy_offset();
    assert!(end > 4000);
    let slave = Node::start(sd.path(), BrokerRole::Slave);
    slave
        .ha
        .update_master_address(Some(master.addr.to_string()));
    wait_until("catch-up", Duration::from_secs(10), || {
        slave.store.get_max_phy_offset() == end
    });

    // a raw client speaking the protocol gets the frames a slave gets
    let mut raw = TcpStream::connect(master.addr).unwrap();
    raw.write_all(&0i64.to_be_bytes()).unwrap();
    let (off, body) = read_frame(&mut raw);
    assert_eq!(off, 0);
    assert_eq!(body.len(), 4000, "haTransferBatchSize caps a frame");
    drop(raw);

    // an offset beyond the end
    let mut beyond = TcpStream::connect(master.addr).unwrap();
    beyond.write_all(&(end + 1_000_000).to_be_bytes()).unwrap();
    assert!(closed_by_peer(&mut beyond));
    // garbage: a negative offset
    let mut garbage = TcpStream::connect(master.addr).unwrap();
    garbage
        .write_all(b"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8junk")
        .unwrap();
    assert!(closed_by_peer(&mut garbage));
    // half a report and then silence: closed after haHousekeepingInterval
    let mut half = TcpStream::connect(master.addr).unwrap();
    half.write_all(&[0, 0, 0]).unwrap();
    assert!(closed_by_peer(&mut half));

    // the real slave kept its connection and still follows
    for i in 30..40 {
        master.store.put_message(msg(i)).await;
    }
    wait_until("follow", Duration::from_secs(10), || {
        slave.store.get_max_phy_offset() == master.store.get_max_phy_offset()
    });
    wait_until("closed connections removed", Duration::from_secs(5), || {
        master.ha.connection_count() == 1
    });
    // the slave reports after it appends: its acknowledgement follows its copy
    wait_until("acknowledged", Duration::from_secs(5), || {
        master.ha.slave_acks()[0].1 == master.store.get_max_phy_offset()
    });
    slave.stop();
    master.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slave_drops_a_master_that_sends_garbage_or_half_frames() {
    let sd = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let fake = listener.local_addr().unwrap();
    let slave = Node::start(sd.path(), BrokerRole::Slave);
    slave.ha.update_master_address(Some(fake.to_string()));
    let accept = |l: &std::net::TcpListener| {
        let (mut s, _) = l.accept().unwrap();
        let mut report = [0u8; 8];
        s.read_exact(&mut report).unwrap();
        assert_eq!(i64::from_be_bytes(report), 0, "an empty slave reports 0");
        s
    };
    // a frame announcing a negative size
    let mut s = accept(&listener);
    let mut frame = 0i64.to_be_bytes().to_vec();
    frame.extend_from_slice(&(-5i32).to_be_bytes());
    s.write_all(&frame).unwrap();
    assert!(closed_by_peer(&mut s));
    // a frame that does not start on a segment boundary of an empty store
    let mut s = accept(&listener);
    let mut frame = 100i64.to_be_bytes().to_vec();
    frame.extend_from_slice(&4i32.to_be_bytes());
    frame.extend_from_slice(b"abcd");
    s.write_all(&frame).unwrap();
    assert!(closed_by_peer(&mut s));
    // half a frame, then silence: dropped after haHousekeepingInterval, nothing appended
    let mut s = accept(&listener);
    let mut frame = 0i64.to_be_bytes().to_vec();
    frame.extend_from_slice(&1000i32.to_be_bytes());
    frame.extend_from_slice(&[1u8; 10]);
    s.write_all(&frame).unwrap();
    assert!(closed_by_peer(&mut s));
    assert_eq!(slave.store.get_max_phy_offset(), 0);
    slave.stop();
}

/// A SYNC_MASTER streams a put's records from the CommitLog writer without blocking; what the
/// socket cannot take at once is left to the write thread. A hand-written slave with a small
/// receive window acknowledges the master's end at once but reads nothing while the sends go on,
/// so the master's socket fills with the slave less than one write thread batch behind; the
/// stream it then reads is contiguous and byte-identical to the master's CommitLog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_master_keeps_the_stream_whole_when_the_socket_fills() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let md = tempfile::tempdir().unwrap();
    // the write thread waits for the silent slave while the sends go on: however slow this
    // machine, the slave must not be dropped for it
    let master = Node::start_with_config(
        MessageStoreConfig {
            ha_housekeeping_interval: 60_000,
            ..config(md.path(), BrokerRole::SyncMaster)
        },
        HaTls::default(),
    );
    let fd = rustix::net::socket(
        rustix::net::AddressFamily::INET,
        rustix::net::SocketType::STREAM,
        None,
    )
    .unwrap();
    rustix::net::sockopt::set_socket_recv_buffer_size(&fd, 4096).unwrap();
    rustix::net::connect(&fd, &master.addr).unwrap();
    let mut slave = TcpStream::from(fd);
    slave.write_all(&0i64.to_be_bytes()).unwrap();
    wait_until("slave connected", Duration::from_secs(10), || {
        master.ha.connection_count() == 1
    });
    // reports the master's end (never more) every millisecond, read or not
    let (store, mut reports) = (master.store.clone(), slave.try_clone().unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let stop_reports = stop.clone();
    let reporter = std::thread::spawn(move || {
        while !stop_reports.load(Ordering::Acquire) {
            let end = store.get_max_phy_offset();
            if reports.write_all(&end.to_be_bytes()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    // 6 MB in groups of 200 KB: more than the socket holds, each group less than a batch of
    // the write thread
    let body = bytes::Bytes::from(vec![7u8; 20_000]);
    for wave in 0..30 {
        let mut puts = tokio::task::JoinSet::new();
        for i in 0..10 {
            let (store, mut m) = (master.store.clone(), msg(wave * 10 + i));
            m.body = body.clone();
            puts.spawn(async move { store.put_message(m).await.status });
        }
        while let Some(status) = puts.join_next().await {
            assert_eq!(status.unwrap(), PutMessageStatus::PutOk);
        }
    }
    let end = master.store.get_max_phy_offset();
    let reader = std::thread::spawn(move || {
        // an empty slave is streamed from the newest segment at the time streaming starts
        let (start, mut got) = read_frame(&mut slave);
        while start + (got.len() as i64) < end {
            let (off, body) = read_frame(&mut slave);
            assert_eq!(
                off,
                start + got.len() as i64,
                "frames follow each other without a gap"
            );
            got.extend_from_slice(&body);
        }
        (start as usize, got)
    });
    let (start, got) = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    stop.store(true, Ordering::Release);
    reporter.join().unwrap();
    assert_eq!(
        master.ha.connection_count(),
        1,
        "the slave was never dropped"
    );
    master.stop();
    let log: Vec<u8> = commit_log(md.path())
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect();
    assert_eq!((start + got.len()) as i64, end);
    assert!(
        got == log[start..start + got.len()],
        "the stream equals the master's CommitLog"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_master_answers_flush_slave_timeout_until_its_slave_acknowledges() {
    let md = tempfile::tempdir().unwrap();
    let timeout = Duration::from_secs(3);
    let master = Node::start_with_config(
        MessageStoreConfig {
            sync_flush_timeout: timeout.as_millis() as u64,
            ha_housekeeping_interval: 60_000,
            ..config(md.path(), BrokerRole::SyncMaster)
        },
        HaTls::default(),
    );
    // a hand-written slave, in sync, that acknowledges only when told to
    let mut slave = TcpStream::connect(master.addr).unwrap();
    slave.write_all(&0i64.to_be_bytes()).unwrap();
    wait_until("slave connected", Duration::from_secs(10), || {
        master.ha.in_sync_slave_count() == 1
    });
    let drain = {
        let mut s = slave.try_clone().unwrap();
        std::thread::spawn(move || std::io::copy(&mut s, &mut std::io::sink()))
    };

    // not acknowledged: FLUSH_SLAVE_TIMEOUT after syncFlushTimeout, with where it was stored
    let started = Instant::now();
    let r = master.store.put_message(msg(0)).await;
    assert_eq!(r.status, PutMessageStatus::FlushSlaveTimeout);
    let waited = started.elapsed();
    assert!(waited >= timeout, "answered after {waited:?}");
    assert!(waited < timeout + Duration::from_secs(2), "{waited:?}");
    let a = r.append.expect("the record was appended");
    assert_eq!(
        a.wrote_offset + a.wrote_bytes as i64,
        master.store.get_max_phy_offset()
    );
    assert!(!a.msg_id.is_empty());

    // acknowledged: PUT_OK as soon as the slave reports the end
    let put = tokio::spawn({
        let store = master.store.clone();
        async move { store.put_message(msg(1)).await.status }
    });
    let end = a.wrote_offset + a.wrote_bytes as i64;
    wait_until("appended", Duration::from_secs(10), || {
        master.store.get_max_phy_offset() > end
    });
    let started = Instant::now();
    slave
        .write_all(&master.store.get_max_phy_offset().to_be_bytes())
        .unwrap();
    assert_eq!(put.await.unwrap(), PutMessageStatus::PutOk);
    assert!(started.elapsed() < timeout, "{:?}", started.elapsed());

    master.stop();
    drop(slave);
    let _ = drain.join();
}
