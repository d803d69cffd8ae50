//! The advertised broker address (`brokerIP1`) and the log filter, seen from outside the process.

mod common;

use std::time::Duration;

use common::ferrocket;
use ferrocket_testkit::{free_port, free_port_block, run_to_exit, Standalone, StandaloneBuilder};

const READY: Duration = Duration::from_secs(60);
/// The start-up log line that says which broker address clients are given.
const ADVERTISED: &str = "clients will be told to connect to the broker at";

/// `ferrocket standalone` listening on `port` with `conf` added to its broker config.
fn standalone(port: u16, conf: &str) -> StandaloneBuilder {
    common::standalone().ports(free_port(), port).conf(conf)
}

/// The broker address the ready line announces.
fn broker_in_ready_line(p: &Standalone) -> String {
    p.ready_line
        .rsplit("broker ")
        .next()
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn without_broker_ip1_the_chosen_address_is_announced_and_advertised() {
    let port = free_port_block();
    let mut p = standalone(port, "").without_broker_ip1().start();
    let advertised = broker_in_ready_line(&p);
    p.process.wait_stderr(ADVERTISED, READY);
    let logs = p.stderr_text();
    let line = logs
        .lines()
        .find(|l| l.contains(ADVERTISED))
        .unwrap_or_else(|| panic!("no advertised-address line:\n{logs}"));
    assert!(
        line.contains(&format!("at {advertised} (brokerIP1 not set")),
        "the start-up line and the ready line disagree: {line} vs {advertised}"
    );
    let ip: std::net::IpAddr = advertised
        .rsplit_once(':')
        .unwrap()
        .0
        .trim_matches(['[', ']'])
        .parse()
        .unwrap();
    if line.contains("address of interface") {
        assert!(!ip.is_loopback(), "{line}");
    } else {
        assert!(ip.is_loopback() && line.contains("loopback only"), "{line}");
    }
    assert!(advertised.ends_with(&format!(":{port}")), "{advertised}");
}

#[test]
fn a_configured_broker_ip1_is_used_and_said_to_come_from_the_file() {
    let port = free_port_block();
    let mut p = standalone(port, "bindAddress=127.0.0.1").start();
    assert_eq!(broker_in_ready_line(&p), format!("127.0.0.1:{port}"));
    p.process.wait_stderr(ADVERTISED, READY);
    let logs = p.stderr_text();
    assert!(
        logs.contains(&format!(
            "clients will be told to connect to the broker at 127.0.0.1:{port} (brokerIP1 from the config file)"
        )),
        "{logs}"
    );
    // bound to loopback and advertising loopback is consistent: no warning
    assert!(!logs.contains("fail to connect"), "{logs}");
}

#[test]
fn info_logs_lifecycle_events_not_messages() {
    let port = free_port_block();
    let mut p = standalone(port, "").start();
    let ns = p.namesrv.clone();
    let before = p.stderr_text().lines().count();
    let (status, out, err) = run_to_exit(
        ferrocket(
            &[
                "produce",
                "--namesrv",
                &ns,
                "--topic",
                "LogTopic",
                "--count",
                "500",
            ],
            p.dir(),
        ),
        Duration::from_secs(120),
    );
    assert!(status.success(), "{out}\n{err}");
    std::thread::sleep(Duration::from_millis(500));
    let logs = p.stderr_text();
    let added: Vec<&str> = logs.lines().skip(before).collect();
    // the first send auto-creates the topic (one lifecycle line); 500 sends must add no more
    assert!(
        added.len() < 10,
        "500 sends added {} log lines at info:\n{}",
        added.len(),
        added.join("\n")
    );
    for needle in [
        "name server listening",
        "broker listening",
        "clients will be told",
    ] {
        assert!(logs.contains(needle), "no {needle:?} line:\n{logs}");
    }
    p.process.signal("TERM");
    assert!(p.process.wait_exit(Duration::from_secs(60)).success());
    let logs = p.stderr_text();
    assert!(logs.contains("broker shut down"), "{logs}");
}

#[test]
fn log_level_comes_from_the_config_file_unless_the_flag_overrides_it() {
    // logLevel=warn in the file, no RUST_LOG: no info line at all
    let port = free_port_block();
    let mut p = standalone(port, "logLevel=warn").rust_log(None).start();
    let logs = p.stderr_text();
    assert!(
        !logs.contains(" INFO "),
        "logLevel=warn still logged info:\n{logs}"
    );
    drop(p);

    // --log-level debug wins over the file's logLevel=warn
    let port = free_port_block();
    let mut p = standalone(port, "logLevel=warn")
        .rust_log(None)
        .arg("--log-level")
        .arg("debug")
        .start();
    p.process
        .wait_stderr("logLevel from the config file ignored", READY);
    let logs = p.stderr_text();
    assert!(logs.contains(" INFO "), "{logs}");
    assert!(
        logs.contains("logLevel from the config file ignored"),
        "{logs}"
    );
}

#[test]
fn a_bad_log_level_in_the_config_file_is_an_error_naming_it() {
    common::assert_standalone_rejects("logLevel=[[nonsense\n", &["logLevel", "nonsense"]);
}
