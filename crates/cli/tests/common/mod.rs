//! Running the real `ferrocket` binary in tests: free ports, ready lines, signals, exit codes.

#![allow(dead_code)] // each test file uses a different part of this harness

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
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

/// A broker listen port whose neighbours are free too (RocketMQ derives ports from it).
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

/// `ferrocket` with `args`, a clean environment for the settings it reads, piped output.
pub fn ferrocket(args: &[&str], dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrocket"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NAMESRV_ADDR")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A running `ferrocket` whose stdout and stderr are collected line by line.
pub struct Running {
    pub child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    pub stdout_seen: Vec<String>,
    pub stderr_seen: Vec<String>,
}

fn pump(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Running {
    /// Starts `cmd`.
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd.spawn().expect("ferrocket starts");
        let stdout = pump(child.stdout.take().unwrap());
        let stderr = pump(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
            stdout_seen: Vec::new(),
            stderr_seen: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Ok(l) = self.stderr.try_recv() {
            self.stderr_seen.push(l);
        }
        while let Ok(l) = self.stdout.try_recv() {
            self.stdout_seen.push(l);
        }
    }

    /// Waits for a stdout line containing `needle`; panics with the output so far on timeout
    /// or if the process exits first.
    pub fn wait_stdout(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            match self.stdout.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    self.stdout_seen.push(line.clone());
                    if line.contains(needle) {
                        self.drain();
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(100));
                    self.drain();
                    panic!(
                        "ferrocket exited ({:?}) before printing {needle:?}\nstdout: {:#?}\nstderr: {:#?}",
                        self.child.try_wait(),
                        self.stdout_seen,
                        self.stderr_seen
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() > deadline {
                self.drain();
                panic!(
                    "no {needle:?} within {timeout:?}\nstdout: {:#?}\nstderr: {:#?}",
                    self.stdout_seen, self.stderr_seen
                );
            }
        }
    }

    /// Sends `signal` (e.g. "TERM") to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits for the exit status; panics (after killing it) on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                self.drain();
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                self.drain();
                panic!(
                    "ferrocket did not exit within {timeout:?}\nstdout: {:#?}\nstderr: {:#?}",
                    self.stdout_seen, self.stderr_seen
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything written to stderr so far, joined.
    pub fn stderr_text(&mut self) -> String {
        self.drain();
        self.stderr_seen.join("\n")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `cmd` to completion (with a timeout) and returns status, stdout and stderr.
pub fn run_to_exit(cmd: Command, timeout: Duration) -> (ExitStatus, String, String) {
    let mut r = Running::spawn(cmd);
    let status = r.wait_exit(timeout);
    let out = r.stdout_seen.join("\n");
    let err = r.stderr_text();
    (status, out, err)
}
