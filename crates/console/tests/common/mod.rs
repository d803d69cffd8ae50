//! Runs the real `ferrocket standalone` binary with its console on a free port, and talks
//! HTTP to it.

#![allow(dead_code)] // each test file uses a different part of this harness

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to start on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

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

/// The `ferrocket` binary: `$FERROCKET_BIN`, else `ferrocket` next to this test's target
/// directory (or in `$CARGO_TARGET_DIR`). Panics with instructions when it is missing.
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
        if let Some(profile_dir) = exe.parent().and_then(|d| d.parent()) {
            candidates.push(profile_dir.join("ferrocket"));
        }
    }
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(&dir).join("debug").join("ferrocket"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ferrocket"));
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the ferrocket binary was not found (looked at {candidates:?}); build it first \
                 with `cargo build -p ferrocket` using the same target directory, or set FERROCKET_BIN"
            )
        })
}

/// A running `ferrocket standalone` with its console.
pub struct Standalone {
    child: Child,
    /// Name server address.
    pub namesrv: String,
    /// Broker address.
    pub broker: String,
    /// `http://127.0.0.1:PORT`, or `None` when the console is off.
    pub console: Option<String>,
    /// Every stdout line up to the ready line.
    pub stdout_lines: Vec<String>,
    _store: tempfile::TempDir,
    stderr: mpsc::Receiver<String>,
}

impl Standalone {
    /// Starts with the console on a free port and `extra` broker properties.
    pub fn start(extra: &str) -> Standalone {
        Self::start_with_files(extra, &[])
    }

    /// [`Standalone::start`] with `files` (path under the store root, content) written first,
    /// e.g. `config/topics.json`.
    pub fn start_with_files(extra: &str, files: &[(&str, String)]) -> Standalone {
        let store = tempfile::tempdir().unwrap();
        for (path, content) in files {
            let p = store.path().join("store").join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        let conf = store.path().join("broker.conf");
        let config = format!(
            "listenPort={}\nconsolePort=0\nconsoleListenAddress=127.0.0.1\n{extra}\n",
            free_port_block()
        );
        std::fs::write(&conf, config).unwrap();
        let namesrv_listen = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(ferrocket_bin())
            .arg("standalone")
            .arg("--store")
            .arg(store.path().join("store"))
            .arg("--namesrv-listen")
            .arg(&namesrv_listen)
            .arg("-c")
            .arg(&conf)
            .env_remove("NAMESRV_ADDR")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ferrocket starts");
        let (tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let (etx, stderr) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let deadline = Instant::now() + START_TIMEOUT;
        let mut lines = Vec::new();
        let ready = loop {
            match stdout.recv_timeout(Duration::from_millis(100)) {
                Ok(l) => {
                    lines.push(l.clone());
                    if l.contains("is ready") {
                        break l;
                    }
                }
                Err(_) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let err: Vec<String> = stderr.try_iter().collect();
                    panic!(
                        "standalone did not become ready: {lines:?}\n{}",
                        err.join("\n")
                    );
                }
                Err(_) => {}
            }
        };
        let field = |s: &str, after: &str| -> String {
            let rest = &s[s.find(after).expect(after) + after.len()..];
            rest.split([',', ' ']).next().unwrap().to_string()
        };
        let console = lines
            .iter()
            .find_map(|l| l.strip_prefix("Console: "))
            .map(|url| url.trim_end_matches('/').to_string());
        Standalone {
            child,
            namesrv: field(&ready, "name server "),
            broker: field(&ready, "broker "),
            console,
            stdout_lines: lines,
            _store: store,
            stderr,
        }
    }

    /// The console base URL; panics when the console is off.
    pub fn url(&self) -> &str {
        self.console.as_deref().expect("the console is on")
    }

    /// Stderr collected so far.
    pub fn stderr_so_far(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Standalone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Status and body of an HTTP request (`Connection: close`) with a JSON body.
pub fn http(method: &str, url: &str, body: Option<&Value>) -> (u16, String) {
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    http_with_type(method, url, "application/json", &payload)
}

/// Status and body of an HTTP request with a body of `content_type`.
pub fn http_with_type(method: &str, url: &str, content_type: &str, payload: &str) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host).expect("console accepts connections");
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .expect("a complete HTTP response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// GET returning JSON; panics unless 200.
pub fn get_json(url: &str) -> Value {
    let (status, body) = http("GET", url, None);
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// POST a JSON body returning JSON; panics unless 200.
pub fn post_json(url: &str, body: &Value) -> Value {
    let (status, text) = http("POST", url, Some(body));
    assert_eq!(status, 200, "POST {url}: {text}");
    serde_json::from_str(&text).unwrap()
}

/// The value of an unlabelled or labelled sample in a Prometheus exposition, if present.
pub fn metric(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

/// Polls `cond` every 100 ms until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}
