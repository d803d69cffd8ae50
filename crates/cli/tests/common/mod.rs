//! The `ferrocket` binary Cargo built for these tests, run through `ferrocket-testkit`.

#![allow(dead_code)] // each test file uses a different part of this harness

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ferrocket_testkit::run_to_exit;

/// `ferrocket` with `args` in `dir`, a clean environment for the settings it reads, piped output.
pub fn ferrocket(args: &[&str], dir: &Path) -> Command {
    ferrocket_testkit::command(ferrocket_testkit::ferrocket_bin!(), args, dir)
}

/// A `ferrocket standalone` builder for the binary under test.
pub fn standalone() -> ferrocket_testkit::StandaloneBuilder {
    ferrocket_testkit::Standalone::builder(ferrocket_testkit::ferrocket_bin!())
}

/// Runs `ferrocket standalone` with `conf` as its broker.conf and asserts that it exits on its
/// own within 20 s with a failure whose stderr names each of `named` (the key and the value).
pub fn assert_standalone_rejects(conf: &str, named: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.conf");
    std::fs::write(&path, conf).unwrap();
    let (status, _, err) = run_to_exit(
        ferrocket(
            &[
                "standalone",
                "-c",
                path.to_str().unwrap(),
                "--namesrv-listen",
                "127.0.0.1:0",
            ],
            dir.path(),
        ),
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(named.iter().all(|n| err.contains(n)), "{err}");
}

/// Polls `f` every 200 ms until it yields a value; panics after `wait`.
pub fn eventually<T>(what: &str, wait: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + wait;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
