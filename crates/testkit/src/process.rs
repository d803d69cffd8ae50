//! Running a `ferrocket` process: its output line by line, signals, exit waits, kill on drop.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `bin` with `args` in `dir`: `NAMESRV_ADDR` removed, `RUST_LOG=info`, no stdin, piped output.
pub fn command(bin: impl AsRef<Path>, args: &[&str], dir: &Path) -> Command {
    let mut cmd = Command::new(bin.as_ref());
    cmd.args(args)
        .current_dir(dir)
        .env_remove("NAMESRV_ADDR")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A running process whose stdout and stderr are collected line by line; killed when dropped.
pub struct Running {
    /// The process.
    pub child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    /// Stdout lines collected so far.
    pub stdout_seen: Vec<String>,
    /// Stderr lines collected so far.
    pub stderr_seen: Vec<String>,
}

/// Reads `stream` on a thread of its own, so the process never blocks on a full pipe.
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
    /// Starts `cmd` (whose stdout and stderr must be piped).
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        let stdout = pump(child.stdout.take().expect("stdout is piped"));
        let stderr = pump(child.stderr.take().expect("stderr is piped"));
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
        self.wait_line(false, needle, timeout)
    }

    /// Waits for a stderr (log) line containing `needle`, like [`Running::wait_stdout`]: the
    /// two pipes are read apart, so a log line written before a stdout line may arrive after it.
    pub fn wait_stderr(&mut self, needle: &str, timeout: Duration) -> String {
        if let Some(line) = self.stderr_seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        self.wait_line(true, needle, timeout)
    }

    fn wait_line(&mut self, on_stderr: bool, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let (rx, seen) = if on_stderr {
                (&self.stderr, &mut self.stderr_seen)
            } else {
                (&self.stdout, &mut self.stdout_seen)
            };
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    seen.push(line.clone());
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

    /// Lowers (or raises) the process's open-file limit while it runs, as `ulimit -n` would
    /// have before it started.
    pub fn set_open_files_limit(&self, limit: u64) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).expect("a child pid");
        let rlimit = rustix::process::Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        };
        rustix::process::prlimit(Some(pid), rustix::process::Resource::Nofile, rlimit)
            .expect("prlimit on the child");
    }

    /// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM` for the peak).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the process is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }

    /// Open file descriptors of the process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("the process is running")
            .count()
    }

    /// Everything written to stdout and stderr so far, one line each.
    pub fn output_lines(&mut self) -> Vec<String> {
        self.drain();
        self.stdout_seen
            .iter()
            .chain(&self.stderr_seen)
            .cloned()
            .collect()
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

/// Runs `cmd` to its end and returns success, the whole stdout and stderr (read to EOF, so
/// nothing printed just before the exit is lost); panics if it runs longer than `timeout`.
pub fn output_within(mut cmd: Command, timeout: Duration) -> (bool, String, String) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.output());
    });
    let out = rx
        .recv_timeout(timeout)
        .unwrap_or_else(|_| panic!("ferrocket did not exit within {timeout:?}"))
        .expect("ferrocket could not be started");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        command("sh", &["-c", script], Path::new("."))
    }

    #[test]
    fn output_is_collected_and_a_signal_ends_the_process() {
        let mut p = Running::spawn(sh(
            "echo starting; echo warn >&2; echo is ready; exec sleep 60",
        ));
        assert_eq!(p.wait_stdout("ready", Duration::from_secs(20)), "is ready");
        assert_eq!(p.stdout_seen, ["starting", "is ready"]);
        assert_eq!(p.wait_stderr("wa", Duration::from_secs(20)), "warn");
        p.signal("TERM");
        let status = p.wait_exit(Duration::from_secs(20));
        assert!(!status.success());
        assert_eq!(p.stderr_text(), "warn");
    }

    #[test]
    #[should_panic(expected = "before printing")]
    fn an_exit_before_the_awaited_line_panics() {
        Running::spawn(sh("echo bye; exit 3")).wait_stdout("ready", Duration::from_secs(20));
    }

    #[test]
    fn run_to_exit_and_output_within_give_status_and_output() {
        let (status, out, err) =
            run_to_exit(sh("echo a; echo b >&2; exit 2"), Duration::from_secs(20));
        assert_eq!(
            (status.code(), out.as_str(), err.as_str()),
            (Some(2), "a", "b")
        );
        let (ok, out, err) = output_within(sh("printf x; printf y >&2"), Duration::from_secs(20));
        assert_eq!((ok, out.as_str(), err.as_str()), (true, "x", "y"));
    }
}
