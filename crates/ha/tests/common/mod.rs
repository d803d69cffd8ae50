//! Helpers shared by the HA tests: in-process stores with their HA service on loopback.
#![allow(dead_code)] // each test file uses a part

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_ha::{HAService, HaTls};
use ferrocket_protocol::message::Properties;
use ferrocket_store::{BrokerRole, DefaultMessageStore, MessageExtBrokerInner, MessageStoreConfig};

pub const SEGMENT: usize = 64 * 1024;

pub fn config(root: &Path, role: BrokerRole) -> MessageStoreConfig {
    MessageStoreConfig {
        broker_role: role,
        mapped_file_size_commit_log: SEGMENT,
        mapped_file_size_consume_queue: 20 * 200,
        max_hash_slot_num: 64,
        max_index_num: 1024,
        ha_send_heartbeat_interval: 200,
        ha_housekeeping_interval: 2000,
        ha_transfer_batch_size: 4000,
        sync_flush_timeout: 1000,
        ..MessageStoreConfig::with_root(root)
    }
}

pub struct Node {
    pub store: Arc<DefaultMessageStore>,
    pub ha: Arc<HAService>,
    pub addr: SocketAddr,
}

impl Node {
    pub fn start(root: &Path, role: BrokerRole) -> Node {
        Node::start_with_tls(root, role, HaTls::default())
    }

    pub fn start_with_tls(root: &Path, role: BrokerRole, tls: HaTls) -> Node {
        Node::start_with_config(config(root, role), tls)
    }

    pub fn start_with_config(config: MessageStoreConfig, tls: HaTls) -> Node {
        let store = DefaultMessageStore::open(config).unwrap();
        let ha = HAService::new(store.clone()).unwrap();
        let addr = ha.start_with_tls("127.0.0.1:0", tls).unwrap();
        Node { store, ha, addr }
    }

    /// Makes this slave replicate from `master`.
    pub fn follow(&self, master: &Node) {
        self.ha.update_master_address(Some(master.addr.to_string()));
    }

    pub fn stop(self) {
        self.ha.shutdown();
        self.store.shutdown();
    }
}

pub fn msg(i: usize) -> MessageExtBrokerInner {
    let body: Vec<u8> = (0..(150 + i * 31 % 500))
        .map(|j| (i + j) as u8 | 1)
        .collect();
    let mut m =
        MessageExtBrokerInner::new(format!("T{}", i % 2), (i % 3) as i32, Bytes::from(body));
    m.born_host = "10.0.0.1:5000".parse().unwrap();
    m.store_host = "127.0.0.1:10911".parse().unwrap();
    let mut p = Properties::new();
    p.insert("TAGS", "t");
    m.set_properties(&p);
    m
}

pub fn wait_until(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + deadline;
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn commit_log(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<_> = std::fs::read_dir(root.join("commitlog"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v.into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect()
}

pub fn closed_by_peer(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 65536];
    loop {
        match s.read(&mut b) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}
