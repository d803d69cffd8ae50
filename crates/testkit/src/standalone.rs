//! `ferrocket standalone` (name server and broker in one process) on free loopback ports.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{command, free_port, free_port_block, Running};

/// The CommitLog segment size tests use unless they need another: 64 MiB instead of RocketMQ's
/// 1 GiB, so a test store stays small.
const DEFAULT_COMMIT_LOG_SIZE: u64 = 64 * 1024 * 1024;

/// How `ferrocket standalone` is started: its broker.conf, store, ports and environment.
pub struct StandaloneBuilder {
    bin: PathBuf,
    dir: Option<PathBuf>,
    store: Option<PathBuf>,
    conf_name: String,
    broker_ip1: bool,
    commit_log_size: Option<u64>,
    conf: String,
    files: Vec<(PathBuf, String)>,
    ports: Option<(u16, u16)>,
    args: Vec<String>,
    rust_log: Option<String>,
    ready_timeout: Duration,
    envs: Vec<(String, String)>,
}

impl StandaloneBuilder {
    /// Runs in `dir` (broker.conf goes there, the store under `dir/store`) instead of a
    /// temporary directory of its own.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The store root (`--store`); default `<dir>/store`.
    pub fn store(mut self, store: impl Into<PathBuf>) -> Self {
        self.store = Some(store.into());
        self
    }

    /// The file name of the broker.conf written into the directory; default `broker.conf`.
    pub fn conf_name(mut self, name: &str) -> Self {
        self.conf_name = name.to_string();
        self
    }

    /// Leaves `brokerIP1` out of broker.conf (by default it is `127.0.0.1`).
    pub fn without_broker_ip1(mut self) -> Self {
        self.broker_ip1 = false;
        self
    }

    /// `mappedFileSizeCommitLog`; `None` leaves the key out (the broker's default).
    pub fn commit_log_size(mut self, bytes: Option<u64>) -> Self {
        self.commit_log_size = bytes;
        self
    }

    /// Appends broker.conf lines (`key=value`, newline separated).
    pub fn conf(mut self, lines: &str) -> Self {
        if lines.is_empty() {
            return self;
        }
        self.conf.push_str(lines);
        if !self.conf.ends_with('\n') {
            self.conf.push('\n');
        }
        self
    }

    /// Writes `content` to `path` (relative to the store root) before the start, e.g.
    /// `config/topics.json`.
    pub fn file(mut self, path: &str, content: String) -> Self {
        self.files.push((PathBuf::from(path), content));
        self
    }

    /// Name server port and broker listen port to use instead of free ones (to restart on the
    /// same addresses).
    pub fn ports(mut self, namesrv: u16, broker: u16) -> Self {
        self.ports = Some((namesrv, broker));
        self
    }

    /// Extra command-line arguments after the usual ones.
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    /// `RUST_LOG` for the process (default `info`); `None` removes it from the environment.
    pub fn rust_log(mut self, filter: Option<&str>) -> Self {
        self.rust_log = filter.map(str::to_string);
        self
    }

    /// An environment variable for the process (fault injection knobs).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    /// How long to wait for the ready line; default 60 s.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// The broker.conf this builder writes for `listen_port`.
    fn broker_conf(&self, listen_port: u16) -> String {
        // Apache's gRPC default (8081) would be contended by every broker a test suite starts
        // at once; a free port keeps each one's gRPC endpoint its own.
        let mut conf = format!("listenPort={listen_port}\ngrpcServerPort=0\n");
        if self.broker_ip1 {
            conf.push_str("brokerIP1=127.0.0.1\n");
        }
        if let Some(size) = self.commit_log_size {
            conf.push_str(&format!("mappedFileSizeCommitLog={size}\n"));
        }
        conf.push_str(&self.conf);
        conf
    }

    /// Starts the process and waits for its ready line; panics with its output if it exits
    /// first or is not ready in time.
    pub fn start(self) -> Standalone {
        let (tmp, dir) = match &self.dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir().unwrap();
                let d = t.path().to_path_buf();
                (Some(t), d)
            }
        };
        let store = self.store.clone().unwrap_or_else(|| dir.join("store"));
        for (path, content) in &self.files {
            let p = store.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        let (ns_port, broker_port) = self
            .ports
            .unwrap_or_else(|| (free_port(), free_port_block()));
        let conf = dir.join(&self.conf_name);
        std::fs::write(&conf, self.broker_conf(broker_port)).unwrap();
        let namesrv_listen = format!("127.0.0.1:{ns_port}");
        let mut args = vec![
            "standalone",
            "--store",
            store.to_str().unwrap(),
            "--namesrv-listen",
            &namesrv_listen,
            "-c",
            conf.to_str().unwrap(),
        ];
        args.extend(self.args.iter().map(String::as_str));
        let mut cmd = command(&self.bin, &args, &dir);
        match &self.rust_log {
            Some(filter) => cmd.env("RUST_LOG", filter),
            None => cmd.env_remove("RUST_LOG"),
        };
        cmd.envs(self.envs.iter().map(|(k, v)| (k, v)));
        let mut process = Running::spawn(cmd);
        let ready_line = process.wait_stdout("is ready", self.ready_timeout);
        let field = |after: &str| -> String {
            let rest = &ready_line[ready_line.find(after).expect(after) + after.len()..];
            rest.split([',', ' ']).next().unwrap().to_string()
        };
        Standalone {
            namesrv: field("name server "),
            broker: field("broker "),
            broker_port,
            ready_line,
            store,
            dir,
            process,
            _tmp: tmp,
        }
    }
}

/// A running `ferrocket standalone`; killed when dropped.
pub struct Standalone {
    /// The process (output, signals, exit).
    pub process: Running,
    /// Name server address, as the ready line gives it.
    pub namesrv: String,
    /// Broker address, as the ready line gives it (the advertised one).
    pub broker: String,
    /// The broker's `listenPort`.
    pub broker_port: u16,
    /// The ready line.
    pub ready_line: String,
    /// The store root.
    pub store: PathBuf,
    dir: PathBuf,
    // dropped after `process`, so the directory outlives the process
    _tmp: Option<tempfile::TempDir>,
}

impl Standalone {
    /// A builder for `bin` (see [`crate::ferrocket_bin!`]) with the defaults: a temporary
    /// directory, free ports, `brokerIP1=127.0.0.1`, a 64 MiB CommitLog segment,
    /// `RUST_LOG=info` and 60 s to get ready.
    pub fn builder(bin: impl Into<PathBuf>) -> StandaloneBuilder {
        StandaloneBuilder {
            bin: bin.into(),
            dir: None,
            store: None,
            conf_name: "broker.conf".to_string(),
            broker_ip1: true,
            commit_log_size: Some(DEFAULT_COMMIT_LOG_SIZE),
            conf: String::new(),
            files: Vec::new(),
            ports: None,
            args: Vec::new(),
            rust_log: Some("info".to_string()),
            ready_timeout: Duration::from_secs(60),
            envs: Vec::new(),
        }
    }

    /// The directory it runs in (broker.conf is there).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stderr collected so far, joined.
    pub fn stderr_text(&mut self) -> String {
        self.process.stderr_text()
    }

    /// SIGTERM, then waits for the exit and asserts it is clean.
    pub fn stop(mut self) {
        self.process.signal("TERM");
        let status = self.process.wait_exit(Duration::from_secs(120));
        assert!(status.success(), "{status}\n{}", self.process.stderr_text());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_conf_has_the_defaults_then_the_extra_lines() {
        let b = Standalone::builder("ferrocket")
            .conf("brokerName=b1")
            .conf("a=1\n");
        assert_eq!(
            b.broker_conf(10911),
            "listenPort=10911\ngrpcServerPort=0\nbrokerIP1=127.0.0.1\nmappedFileSizeCommitLog=67108864\nbrokerName=b1\na=1\n"
        );
        let b = Standalone::builder("ferrocket")
            .without_broker_ip1()
            .commit_log_size(None);
        assert_eq!(b.broker_conf(10911), "listenPort=10911\ngrpcServerPort=0\n");
    }
}
