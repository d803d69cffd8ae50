//! Runs the real `ferrocket standalone` binary for end-to-end tests of the client.

#![allow(dead_code)] // each test file uses a different part of this harness

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A broker listen port whose neighbours (fast port −2, HA port +1) are free too.
pub fn free_port_block() -> u16 {
    loop {
        let p = free_port();
        if p > 2
            && p < 65534
            && (p - 2..=p + 1).all(|q| std::net::TcpListener::bind(("127.0.0.1", q)).is_ok())
        {
            return p;
        }
    }
}

/// The `ferrocket` binary: `$FERROCKET_BIN`, else `ferrocket` in this test's target directory
/// (or `$CARGO_TARGET_DIR`). Panics with instructions when it is missing: a client test cannot
/// depend on another package's binary, so it must have been built first.
pub fn ferrocket_bin() -> PathBuf {
    if let Ok(p) = std::env::var("FERROCKET_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "FERROCKET_BIN={} does not exist; build it with `cargo build -p ferrocket`",
            p.display()
        );
        return p;
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test> -> target/<profile>/ferrocket
        if let Some(profile_dir) = exe.parent().and_then(|d| d.parent()) {
            candidates.push(profile_dir.join("ferrocket"));
        }
    }
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(&dir).join("debug").join("ferrocket"));
        candidates.push(PathBuf::from(&dir).join("release").join("ferrocket"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ferrocket"));
    for c in &candidates {
        if c.is_file() {
            return c.clone();
        }
    }
    panic!(
        "the ferrocket binary was not found (looked at {candidates:?}); build it first with \
         `cargo build -p ferrocket` using the same target directory, or set FERROCKET_BIN"
    );
}

/// A running `ferrocket standalone` (name server + broker) on free loopback ports.
pub struct Standalone {
    child: Child,
    /// Name server address for clients.
    pub namesrv: String,
    /// Broker address.
    pub broker: String,
    _store: tempfile::TempDir,
    stderr: mpsc::Receiver<String>,
}

impl Standalone {
    /// Starts the binary and waits for its ready line.
    pub fn start() -> Standalone {
        Self::start_with("")
    }

    /// Starts the binary with extra broker properties lines and waits for its ready line.
    pub fn start_with(extra_conf: &str) -> Standalone {
        let bin = ferrocket_bin();
        let store = tempfile::tempdir().unwrap();
        let ns_port = free_port();
        let broker_port = free_port_block();
        let conf = store.path().join("broker.conf");
        std::fs::write(
            &conf,
            format!("listenPort={broker_port}\nbrokerIP1=127.0.0.1\nautoCreateTopicEnable=true\n{extra_conf}"),
        )
        .unwrap();
        let data = store.path().join("store");
        let namesrv = format!("127.0.0.1:{ns_port}");
        let mut child = Command::new(&bin)
            .arg("standalone")
            .arg("--store")
            .arg(&data)
            .arg("--namesrv-listen")
            .arg(&namesrv)
            .arg("-c")
            .arg(&conf)
            .env_remove("NAMESRV_ADDR")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let (out_tx, out_rx) = mpsc::channel();
        let (err_tx, err_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = out_tx.send(line);
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            match out_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) if line.contains("Ferrocket standalone is ready") => break,
                Ok(line) => seen.push(line),
                Err(_) => {}
            }
            if let Ok(Some(status)) = child.try_wait() {
                let err: Vec<String> = err_rx.try_iter().collect();
                panic!(
                    "ferrocket standalone exited with {status} before it was ready\nstdout: {seen:?}\nstderr: {err:?}"
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let err: Vec<String> = err_rx.try_iter().collect();
                panic!(
                    "ferrocket standalone not ready after 60 s\nstdout: {seen:?}\nstderr: {err:?}"
                );
            }
        }
        // keep draining stdout so the process never blocks on a full pipe
        std::thread::spawn(move || while out_rx.recv().is_ok() {});
        Standalone {
            child,
            namesrv,
            broker: format!("127.0.0.1:{broker_port}"),
            _store: store,
            stderr: err_rx,
        }
    }

    /// What the server wrote to stderr so far (for failure messages).
    pub fn stderr_so_far(&self) -> Vec<String> {
        self.stderr.try_iter().collect()
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A name unique to this test run (topics, groups).
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
