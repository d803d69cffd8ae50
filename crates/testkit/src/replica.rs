//! Master/slave pairs of real `ferrocket broker` processes (classic HA), with a name server
//! process, each broker on its own free ports and its own store.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{command, free_port, free_port_block, Running};

/// CommitLog segment size of replication tests: small, so catching up crosses segments.
pub const REPLICA_COMMIT_LOG_SIZE: u64 = 1024 * 1024;

/// A `ferrocket namesrv` on a free loopback port; killed when dropped.
pub struct NameServer {
    /// The process.
    pub process: Running,
    /// `127.0.0.1:port`.
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl NameServer {
    /// Starts a name server and waits until it is ready.
    pub fn start(bin: &Path) -> NameServer {
        let dir = tempfile::tempdir().unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let kv = dir.path().join("kvConfig.json");
        let mut cmd = command(
            bin,
            &[
                "namesrv",
                "--listen",
                &addr,
                "--kv-config",
                kv.to_str().unwrap(),
            ],
            dir.path(),
        );
        cmd.env("RUST_LOG", "warn");
        let mut process = Running::spawn(cmd);
        process.wait_stdout("is ready", Duration::from_secs(60));
        NameServer {
            process,
            addr,
            _dir: dir,
        }
    }
}

/// One broker of a replica group: its broker.conf, store and ports stay the same across
/// restarts.
pub struct BrokerNode {
    bin: PathBuf,
    /// Directory holding broker.conf and the store.
    pub dir: PathBuf,
    /// The store root.
    pub store: PathBuf,
    /// `listenPort`.
    pub port: u16,
    /// HA listen port (`listenPort + 1`).
    pub ha_port: u16,
    namesrv: String,
    /// The running process, if started.
    pub process: Option<Running>,
}

impl BrokerNode {
    /// A broker in `dir` with broker.conf `conf` (ports, brokerIP1, console off and the
    /// segment size are added here).
    pub fn new(bin: &Path, dir: PathBuf, namesrv: &str, conf: &str) -> BrokerNode {
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port_block();
        let store = dir.join("store");
        let full = format!(
            "listenPort={port}\nbrokerIP1=127.0.0.1\nconsoleEnable=false\n\
             mappedFileSizeCommitLog={REPLICA_COMMIT_LOG_SIZE}\nmappedFileSizeConsumeQueue=6000\n\
             maxHashSlotNum=1000\nmaxIndexNum=4000\n{conf}\n"
        );
        std::fs::write(dir.join("broker.conf"), full).unwrap();
        BrokerNode {
            bin: bin.to_path_buf(),
            dir,
            store,
            port,
            ha_port: port + 1,
            namesrv: namesrv.to_string(),
            process: None,
        }
    }

    /// `127.0.0.1:listenPort`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the process and waits for its ready line.
    pub fn start(&mut self) {
        assert!(self.process.is_none(), "already running");
        let conf = self.dir.join("broker.conf");
        let mut cmd = command(
            &self.bin,
            &[
                "broker",
                "-c",
                conf.to_str().unwrap(),
                "--store",
                self.store.to_str().unwrap(),
                "-n",
                &self.namesrv,
            ],
            &self.dir,
        );
        cmd.env("RUST_LOG", "info");
        let mut process = Running::spawn(cmd);
        process.wait_stdout("is ready", Duration::from_secs(60));
        self.process = Some(process);
    }

    /// SIGKILL: no flush, no unregistration, the abort file stays.
    pub fn kill9(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.signal("KILL");
            p.wait_exit(Duration::from_secs(30));
        }
    }

    /// SIGTERM and a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.signal("TERM");
            let status = p.wait_exit(Duration::from_secs(120));
            assert!(status.success(), "{status}\n{}", p.stderr_text());
        }
    }

    /// Stderr collected so far.
    pub fn stderr_text(&mut self) -> String {
        self.process
            .as_mut()
            .map(|p| p.stderr_text())
            .unwrap_or_default()
    }

    /// The first stderr line containing `needle`, waiting up to `timeout`; panics after it,
    /// or when the broker is not running.
    pub fn wait_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        self.process
            .as_mut()
            .expect("the broker is running")
            .wait_stderr(needle, timeout)
    }
}

/// A master and its slave (`brokerId=1`, `haMasterAddress` = the master's HA port) of one
/// `brokerName`, registered with `namesrv`.
pub struct ReplicaPair {
    /// The master (`brokerId=0`).
    pub master: BrokerNode,
    /// The slave.
    pub slave: BrokerNode,
    _dir: tempfile::TempDir,
}

impl ReplicaPair {
    /// Starts the master (`brokerRole=master_role`) then the slave. `extra` is added to both
    /// broker.conf files (e.g. short HA intervals).
    pub fn start(
        bin: &Path,
        namesrv: &str,
        broker_name: &str,
        master_role: &str,
        extra: &str,
    ) -> ReplicaPair {
        let dir = tempfile::tempdir().unwrap();
        let mut master = BrokerNode::new(
            bin,
            dir.path().join("master"),
            namesrv,
            &format!("brokerName={broker_name}\nbrokerId=0\nbrokerRole={master_role}\n{extra}"),
        );
        let mut slave = BrokerNode::new(
            bin,
            dir.path().join("slave"),
            namesrv,
            &format!(
                "brokerName={broker_name}\nbrokerId=1\nbrokerRole=SLAVE\n\
                 haMasterAddress=127.0.0.1:{}\n{extra}",
                master.ha_port
            ),
        );
        master.start();
        slave.start();
        ReplicaPair {
            master,
            slave,
            _dir: dir,
        }
    }
}

/// The CommitLog files of a store, by name, with their bytes, leaving out trailing files that
/// hold only zeros: segments created ahead of need by a master's allocator, which its slave,
/// appending what it receives, has no reason to have yet.
pub fn commit_log_files(store: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(store.join("commitlog"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut files: Vec<(String, Vec<u8>)> = files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    while files
        .last()
        .is_some_and(|(_, bytes)| bytes.iter().all(|&b| b == 0))
    {
        files.pop();
    }
    files
}
