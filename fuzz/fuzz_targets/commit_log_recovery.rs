//! A store directory whose CommitLog holds arbitrary bytes, opened (recovered) the way the
//! broker opens it after a clean stop or a crash. Opening may fail with an error; if it
//! succeeds, every record the consume queues point to must be a valid record, reads by
//! offset and time must work, and the store must take a new message. Nothing panics.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use ferrocket_protocol::message::parse_record;
use ferrocket_store::{
    offset_to_file_name, DefaultMessageStore, FlushDiskType, MessageExtBrokerInner,
    MessageStoreConfig, PutMessageStatus,
};
use libfuzzer_sys::fuzz_target;

/// The smallest segment the store accepts.
const SEGMENT: usize = 4096;

/// Puts complete without waiting under ASYNC_FLUSH, so polling once or a few times is enough.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let dir = tempfile::tempdir_in(scratch()).unwrap();
    let log_dir = dir.path().join("commitlog");
    std::fs::create_dir_all(&log_dir).unwrap();
    for (i, chunk) in rest.chunks(SEGMENT).take(3).enumerate() {
        let mut seg = vec![0u8; SEGMENT];
        seg[..chunk.len()].copy_from_slice(chunk);
        let name = offset_to_file_name((i * SEGMENT) as i64);
        std::fs::write(log_dir.join(name), seg).unwrap();
    }
    if flags & 1 != 0 {
        std::fs::write(dir.path().join("abort"), b"1").unwrap();
    }
    let config = MessageStoreConfig {
        mapped_file_size_commit_log: SEGMENT,
        mapped_file_size_consume_queue: 20 * 64,
        check_crc_on_recover: flags & 2 != 0,
        flush_disk_type: FlushDiskType::AsyncFlush,
        ..MessageStoreConfig::with_root(dir.path())
    };
    let Ok(store) = DefaultMessageStore::open(config) else {
        return;
    };
    let max_phy = store.get_max_phy_offset();
    assert!(max_phy <= (3 * SEGMENT) as i64);
    for (topic, q) in store.topic_queues() {
        let min = store.get_min_offset_in_queue(&topic, q);
        let max = store.get_max_offset_in_queue(&topic, q);
        assert!(min <= max);
        let r = store.get_message("g", &topic, q, min, 64, 1 << 20, None);
        for b in &r.messages {
            let view = parse_record(b).expect("the consume queue points at a valid record");
            assert_eq!(view.total_size, b.len());
            assert_eq!(view.topic, topic.as_bytes());
        }
        let _ =
            store.get_offset_in_queue_by_time(&topic, q, i64::from(flags) << 32, flags & 4 != 0);
        let _ = store.get_earliest_message_time(&topic, q);
        let _ = store.get_commit_log_offset_in_queue(&topic, q, max - 1);
    }
    for at in [0, i64::from(flags) * 16, max_phy - 1, max_phy] {
        if let Some(b) = store.look_message_by_offset(at) {
            assert!(b.len() >= 8);
        }
    }
    let r = block_on(store.put_message(MessageExtBrokerInner::new("After", 0, &b"x"[..])));
    assert_eq!(
        r.status,
        PutMessageStatus::PutOk,
        "a recovered store takes a message"
    );
    let a = r.append.unwrap();
    let back = store
        .look_message_by_offset(a.wrote_offset)
        .expect("the new message is readable");
    assert_eq!(parse_record(&back).unwrap().body, b"x");
    store.shutdown();
});

/// Memory-backed scratch space when the system has it.
fn scratch() -> std::path::PathBuf {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
