//! `ferrocket standalone` as a process: ready line, routes through the name server, clean exit.

mod common;

use std::time::Duration;

use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_testkit::{free_port, free_port_block};

#[test]
fn standalone_is_ready_serves_tbw102_and_exits_cleanly_on_sigterm() {
    let ns_port = free_port();
    let broker_port = free_port_block();
    let server = common::standalone()
        .conf("brokerName=broker-standalone")
        .ports(ns_port, broker_port)
        .start();
    let ns_listen = format!("127.0.0.1:{ns_port}");
    let store = server.store.clone();
    let mut p = server.process;
    assert_eq!(
        server.ready_line,
        format!("Ferrocket standalone is ready: name server {ns_listen}, broker 127.0.0.1:{broker_port}")
    );

    assert!(
        store.join("abort").exists(),
        "a running store is marked dirty"
    );

    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt.block_on(async {
        RemotingClient::new()
            .invoke(
                &ns_listen,
                RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC)
                    .with_ext("topic", "TBW102"),
                Duration::from_secs(5),
            )
            .await
            .unwrap()
    });
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
    let route: TopicRouteData = ferrocket_protocol::body::decode(&r.body).unwrap();
    assert_eq!(route.broker_datas[0].broker_name, "broker-standalone");
    assert_eq!(
        route.broker_datas[0].master_addr(),
        Some(format!("127.0.0.1:{broker_port}").as_str())
    );
    assert_eq!(
        route.queue_datas[0].perm & 7,
        7,
        "TBW102 is readable, writable and inheritable"
    );

    p.signal("TERM");
    let status = p.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "{status:?}\n{}", p.stderr_text());
    assert_eq!(
        p.stdout_seen
            .iter()
            .filter(|l| l.contains("is ready"))
            .count(),
        1
    );
    assert!(
        store.join("checkpoint").exists() && store.join("commitlog").is_dir(),
        "the store was created"
    );
    assert!(
        !store.join("abort").exists(),
        "clean shutdown leaves no abort file"
    );
    let logs = p.stderr_text();
    assert!(logs.contains("SIGTERM received"), "{logs}");
}

#[test]
fn standalone_rejects_a_bad_config_value() {
    common::assert_standalone_rejects(
        "autoCreateTopicEnable = sometimes\n",
        &["autoCreateTopicEnable", "sometimes"],
    );
}
