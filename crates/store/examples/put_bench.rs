//! Rough put/get throughput of the store on the local disk.
//!
//! `cargo run --release -p ferrocket-store --example put_bench -- [messages] [body bytes] [sync]`

use std::time::Instant;

use bytes::Bytes;
use ferrocket_store::{
    DefaultMessageStore, FlushDiskType, MessageExtBrokerInner, MessageStoreConfig, PutMessageStatus,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1024);
    let sync = args.next().as_deref() == Some("sync");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = MessageStoreConfig {
        flush_disk_type: if sync {
            FlushDiskType::SyncFlush
        } else {
            FlushDiskType::AsyncFlush
        },
        mapped_file_size_commit_log: 256 * 1024 * 1024,
        ..MessageStoreConfig::with_root(dir.path())
    };
    let store = DefaultMessageStore::open(config).expect("store opens");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let body = Bytes::from(vec![b'x'; size]);
    let host = "127.0.0.1:10911".parse().expect("address");

    let started = Instant::now();
    rt.block_on(async {
        for i in 0..count {
            let mut m = MessageExtBrokerInner::new("BenchTopic", (i % 8) as i32, body.clone());
            m.born_host = host;
            m.store_host = host;
            m.set_properties_string("TAGS\u{1}bench\u{2}");
            let r = store.put_message(m).await;
            assert_eq!(r.status, PutMessageStatus::PutOk);
        }
    });
    let put = started.elapsed();

    let started = Instant::now();
    let mut read = 0usize;
    for q in 0..8 {
        let mut offset = 0;
        loop {
            let r = store.get_message("bench", "BenchTopic", q, offset, 32, 256 * 1024, None);
            if r.messages.is_empty() {
                break;
            }
            read += r.messages.len();
            offset = r.next_begin_offset;
        }
    }
    let get = started.elapsed();
    assert_eq!(read, count);
    println!(
        "{count} puts of {size} B ({}): {:.0} msg/s, {:.1} MB/s; gets: {:.0} msg/s",
        if sync { "SYNC_FLUSH" } else { "ASYNC_FLUSH" },
        count as f64 / put.as_secs_f64(),
        (count * size) as f64 / put.as_secs_f64() / 1e6,
        count as f64 / get.as_secs_f64(),
    );
    store.shutdown();
}
