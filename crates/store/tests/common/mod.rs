#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use ferrocket_protocol::message::{decode_message, MessageExt, Properties};
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, MessageExtBrokerInner, MessageStoreConfig, PutMessageStatus,
};

pub const COMMIT_LOG_FILE_SIZE: usize = 64 * 1024;
pub const CQ_FILE_SIZE: usize = 20 * 100;

pub fn config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: COMMIT_LOG_FILE_SIZE,
        mapped_file_size_consume_queue: CQ_FILE_SIZE,
        flush_interval_commit_log: 20,
        flush_interval_consume_queue: 50,
        // small index files, so copying a store directory stays cheap
        max_hash_slot_num: 64,
        max_index_num: 1024,
        ..MessageStoreConfig::with_root(root)
    }
}

pub fn sync_config(root: &Path) -> MessageStoreConfig {
    MessageStoreConfig {
        flush_disk_type: FlushDiskType::SyncFlush,
        ..config(root)
    }
}

pub fn born_host() -> SocketAddr {
    "10.0.0.1:54321".parse().unwrap()
}

pub fn store_host() -> SocketAddr {
    "127.0.0.1:10911".parse().unwrap()
}

pub fn msg(topic: &str, queue_id: i32, body: &[u8], tags: Option<&str>) -> MessageExtBrokerInner {
    let mut m = MessageExtBrokerInner::new(topic, queue_id, Bytes::copy_from_slice(body));
    m.born_host = born_host();
    m.store_host = store_host();
    let mut p = Properties::new();
    if let Some(t) = tags {
        p.insert("TAGS", t);
    }
    static NEXT: AtomicU64 = AtomicU64::new(0);
    p.insert(
        "UNIQ_KEY",
        format!("UNIQ{:028X}", NEXT.fetch_add(1, Ordering::Relaxed)),
    );
    m.set_properties(&p);
    m
}

pub fn open(cfg: MessageStoreConfig) -> Arc<DefaultMessageStore> {
    DefaultMessageStore::open(cfg).expect("store opens")
}

pub async fn put_ok(store: &DefaultMessageStore, m: MessageExtBrokerInner) -> (i64, i64) {
    let r = store.put_message(m).await;
    assert_eq!(r.status, PutMessageStatus::PutOk, "{r:?}");
    let a = r.append.unwrap();
    (a.wrote_offset, a.logics_offset)
}

pub fn decode(b: &[u8]) -> MessageExt {
    let (m, n) = decode_message(b).expect("a valid stored record");
    assert_eq!(n, b.len());
    m
}

/// Bodies of every message of a queue, read through get_message.
pub fn read_all(store: &DefaultMessageStore, topic: &str, queue_id: i32) -> Vec<MessageExt> {
    let mut out = Vec::new();
    let mut offset = store.get_min_offset_in_queue(topic, queue_id);
    loop {
        let r = store.get_message("g", topic, queue_id, offset, 32, 1 << 20, None);
        if r.messages.is_empty() {
            break;
        }
        for b in &r.messages {
            out.push(decode(b));
        }
        offset = r.next_begin_offset;
    }
    out
}

/// A copy of a running store's directory, as a crash would leave it (abort file included).
pub fn crash_image(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            crash_image(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Writes `name` until the filesystem refuses another byte; returns its path.
pub fn fill_completely(dir: &Path, name: &str) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [7u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}
