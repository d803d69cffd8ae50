//! Runs the real `ferrocket standalone` binary with its console on a free port, and talks
//! HTTP to it.

#![allow(dead_code)] // each test file uses a different part of this harness

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to start on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `ferrocket standalone` builder for the binary under test.
pub fn standalone() -> ferrocket_testkit::StandaloneBuilder {
    ferrocket_testkit::Standalone::builder(ferrocket_testkit::ferrocket_bin!())
}

/// A running `ferrocket standalone` with its console.
pub struct Standalone {
    server: ferrocket_testkit::Standalone,
    /// Name server address.
    pub namesrv: String,
    /// Broker address.
    pub broker: String,
    /// `http://127.0.0.1:PORT`, or `None` when the console is off.
    pub console: Option<String>,
    /// Every stdout line up to the ready line.
    pub stdout_lines: Vec<String>,
}

impl Standalone {
    /// Starts with the console on a free port and `extra` broker properties.
    pub fn start(extra: &str) -> Standalone {
        Self::start_with_files(extra, &[])
    }

    /// [`Standalone::start`] with `files` (path under the store root, content) written first,
    /// e.g. `config/topics.json`.
    pub fn start_with_files(extra: &str, files: &[(&str, String)]) -> Standalone {
        let mut builder = standalone()
            .conf("consolePort=0\nconsoleListenAddress=127.0.0.1")
            .conf(extra)
            .ready_timeout(START_TIMEOUT);
        for (path, content) in files {
            builder = builder.file(path, content.clone());
        }
        let server = builder.start();
        let lines = server.process.stdout_seen.clone();
        let end = lines.iter().position(|l| l.contains("is ready")).unwrap();
        let stdout_lines = lines[..=end].to_vec();
        Standalone {
            namesrv: server.namesrv.clone(),
            broker: server.broker.clone(),
            console: console_url(&stdout_lines),
            stdout_lines,
            server,
        }
    }

    /// The console base URL; panics when the console is off.
    pub fn url(&self) -> &str {
        self.console.as_deref().expect("the console is on")
    }

    /// Stderr collected so far.
    pub fn stderr_so_far(&mut self) -> String {
        self.server.stderr_text()
    }

    /// The first stderr line containing `needle`, waiting up to `timeout` (panics after).
    pub fn wait_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        self.server.process.wait_stderr(needle, timeout)
    }
}

/// The console base URL from a `Console: URL` line among `stdout`.
pub fn console_url(stdout: &[String]) -> Option<String> {
    stdout
        .iter()
        .find_map(|l| l.strip_prefix("Console: "))
        .map(|url| url.trim_end_matches('/').to_string())
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
