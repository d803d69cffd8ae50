//! `ferrocket namesrv` as a process.

mod common;

use std::time::Duration;

use common::ferrocket;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_testkit::{free_port, run_to_exit, Running};

#[test]
fn namesrv_serves_and_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut ns = Running::spawn(ferrocket(&["namesrv", "--listen", &listen], dir.path()));
    let ready = ns.wait_stdout("is ready", Duration::from_secs(20));
    assert_eq!(ready, format!("Ferrocket name server is ready: {listen}"));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt.block_on(async {
        RemotingClient::new()
            .invoke(
                &listen,
                RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
                Duration::from_secs(3),
            )
            .await
            .unwrap()
    });
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(
        &r.body[..],
        br#"{"brokerAddrTable":{},"clusterAddrTable":{}}"#
    );

    ns.signal("INT");
    let status = ns.wait_exit(Duration::from_secs(10));
    assert!(
        status.success(),
        "exit status {status:?}\n{}",
        ns.stderr_text()
    );
    let logs = ns.stderr_text();
    assert!(logs.contains("name server listening"), "{logs}");
    assert!(logs.contains("SIGINT received"), "{logs}");
}

#[test]
fn namesrv_reports_a_taken_port() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (status, _, err) = run_to_exit(
        ferrocket(&["namesrv", "--listen", &addr], dir.path()),
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(err.contains(&addr), "{err}");
}

#[test]
fn namesrv_config_file_sets_the_connection_limits() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("namesrv.conf");
    std::fs::write(
        &conf,
        "serverChannelMaxIdleTimeSeconds=1\norderMessageEnable=true\n",
    )
    .unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut ns = Running::spawn(ferrocket(
        &["namesrv", "--listen", &listen, "-c", conf.to_str().unwrap()],
        dir.path(),
    ));
    ns.wait_stdout("is ready", Duration::from_secs(20));
    // a connection that never says anything is closed after the configured second
    let mut idle = std::net::TcpStream::connect(&listen).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 1];
    let read = std::io::Read::read(&mut idle, &mut buf);
    assert!(matches!(read, Ok(0)), "{read:?}");
    ns.wait_stderr("closing an idle connection", Duration::from_secs(5));
    ns.signal("TERM");
    assert!(ns.wait_exit(Duration::from_secs(10)).success());

    std::fs::write(&conf, "serverMaxRequestsPerConnection=0\n").unwrap();
    let (status, _, err) = run_to_exit(
        ferrocket(
            &[
                "namesrv",
                "--listen",
                "127.0.0.1:0",
                "-c",
                conf.to_str().unwrap(),
            ],
            dir.path(),
        ),
        Duration::from_secs(20),
    );
    assert!(!status.success());
    assert!(
        err.contains("serverMaxRequestsPerConnection") && err.contains("'0'"),
        "{err}"
    );
}
