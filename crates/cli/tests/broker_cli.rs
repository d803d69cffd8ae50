//! `ferrocket broker` as a process: configuration errors, warnings, NAMESRV_ADDR, clean shutdown.

mod common;

use std::time::{Duration, Instant};

use common::ferrocket;
use ferrocket_namesrv::{NamesrvConfig, NamesrvController};
use ferrocket_testkit::{free_port_block, run_to_exit, Running};

const START: Duration = Duration::from_secs(60);

#[test]
fn bad_value_exits_non_zero_naming_the_key_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "brokerName = broker-x\nlistenPort = ten-nine-eleven\n",
    )
    .unwrap();
    let (status, _, err) = run_to_exit(
        ferrocket(
            &["broker", "-c", conf.to_str().unwrap(), "--store", "store"],
            dir.path(),
        ),
        Duration::from_secs(20),
    );
    assert!(!status.success(), "{err}");
    assert!(
        err.contains("listenPort") && err.contains("ten-nine-eleven"),
        "{err}"
    );
    assert!(err.contains("broker.conf:2"), "{err}");
    assert!(
        !dir.path().join("store").exists(),
        "nothing is started on a bad config"
    );
}

#[test]
fn missing_config_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (status, _, err) = run_to_exit(
        ferrocket(&["broker", "-c", "no-such.conf"], dir.path()),
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(err.contains("no-such.conf"), "{err}");
}

/// A name server in this test process, on a free loopback port.
struct LocalNamesrv {
    // declared first so the controller is dropped (shut down) inside its runtime's lifetime
    controller: NamesrvController,
    _runtime: tokio::runtime::Runtime,
}

impl LocalNamesrv {
    fn start() -> LocalNamesrv {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let controller = runtime.block_on(async {
            NamesrvController::start(NamesrvConfig {
                listen: "127.0.0.1:0".into(),
                ..Default::default()
            })
            .await
            .unwrap()
        });
        LocalNamesrv {
            controller,
            _runtime: runtime,
        }
    }

    fn addr(&self) -> String {
        self.controller.local_addr().to_string()
    }

    fn has_route(&self, topic: &str) -> bool {
        self.controller
            .route_info_manager()
            .pickup_topic_route_data(topic)
            .is_some()
    }

    fn wait_until(&self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !cond(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn broker_conf(dir: &std::path::Path, extra: &str) -> (std::path::PathBuf, u16) {
    let port = free_port_block();
    let conf = dir.join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "# a RocketMQ broker.conf\nbrokerClusterName = DefaultCluster\nbrokerName = broker-cli\n\
             brokerId = 0\nbrokerIP1 = 127.0.0.1\nlistenPort = {port}\n{extra}"
        ),
    )
    .unwrap();
    (conf, port)
}

#[test]
fn unknown_key_warns_and_the_broker_starts_registers_and_unregisters_on_sigterm() {
    let ns = LocalNamesrv::start();
    let dir = tempfile::tempdir().unwrap();
    let (conf, port) = broker_conf(dir.path(), "thisKeyIsNotRocketMq = 1\n");
    let store = dir.path().join("store");
    let mut broker = Running::spawn(ferrocket(
        &[
            "broker",
            "-c",
            conf.to_str().unwrap(),
            "-n",
            &ns.addr(),
            "--store",
            store.to_str().unwrap(),
        ],
        dir.path(),
    ));
    let ready = broker.wait_stdout("is ready", START);
    assert!(ready.contains(&format!("127.0.0.1:{port}")), "{ready}");
    // the warning is logged before the ready line but read from another pipe
    broker.wait_stderr("thisKeyIsNotRocketMq", START);
    let logs = broker.stderr_text();
    assert!(
        logs.contains("thisKeyIsNotRocketMq"),
        "the warning names the key:\n{logs}"
    );
    assert!(ns.has_route("TBW102"), "the broker registered TBW102");
    assert!(
        store.join("abort").exists(),
        "a running store is marked dirty"
    );

    broker.signal("TERM");
    let status = broker.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{}", broker.stderr_text());
    ns.wait_until("the broker to unregister", |ns| !ns.has_route("TBW102"));
    assert!(
        store.exists() && !store.join("abort").exists(),
        "clean shutdown removes the abort file"
    );
}

#[test]
fn namesrv_addr_from_the_environment() {
    let ns = LocalNamesrv::start();
    let dir = tempfile::tempdir().unwrap();
    let (conf, _) = broker_conf(dir.path(), "");
    let mut cmd = ferrocket(
        &["broker", "-c", conf.to_str().unwrap(), "--store", "store"],
        dir.path(),
    );
    cmd.env("NAMESRV_ADDR", ns.addr());
    let mut broker = Running::spawn(cmd);
    broker.wait_stdout("is ready", START);
    assert!(ns.has_route("TBW102"));
    broker.signal("INT");
    assert!(
        broker.wait_exit(Duration::from_secs(60)).success(),
        "{}",
        broker.stderr_text()
    );
}
