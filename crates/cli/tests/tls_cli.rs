//! TLS on a real `ferrocket standalone`: an enforcing broker and name server serve
//! `produce/consume/admin --tls` and close plaintext clients; bad TLS settings, in the broker
//! config or in the TLS config file, stop the start with a message naming them.

mod common;

use std::time::Duration;

use common::ferrocket;
use ferrocket_testkit::run_to_exit;

fn run(args: &[&str], dir: &std::path::Path) -> (bool, String) {
    let (status, out, err) = run_to_exit(ferrocket(args, dir), Duration::from_secs(60));
    (status.success(), format!("{out}\n{err}"))
}

#[test]
fn enforcing_serves_tls_clients_and_refuses_plaintext() {
    let p = common::standalone()
        .conf("tls.server.mode=enforcing")
        .start();
    let ns = p.namesrv.clone();
    let dir = p.dir().to_path_buf();
    let (ok, out) = run(
        &[
            "produce",
            "--tls",
            "--namesrv",
            &ns,
            "--topic",
            "TlsTopic",
            "--count",
            "5",
        ],
        &dir,
    );
    assert!(ok, "{out}");
    let (ok, out) = run(
        &[
            "consume",
            "--tls",
            "--namesrv",
            &ns,
            "--topic",
            "TlsTopic",
            "--group",
            "TlsGroup",
            "--count",
            "5",
            "--brief",
        ],
        &dir,
    );
    assert!(ok, "{out}");
    let (ok, out) = run(&["admin", "--tls", "-n", &ns, "clusterList"], &dir);
    assert!(ok && out.contains("broker-a"), "{out}");

    let (ok, out) = run(
        &[
            "produce",
            "--namesrv",
            &ns,
            "--topic",
            "TlsTopic",
            "--count",
            "1",
            "--timeout-ms",
            "2000",
        ],
        &dir,
    );
    assert!(
        !ok,
        "a plaintext producer was served by an enforcing broker: {out}"
    );
    let (ok, out) = run(&["admin", "-n", &ns, "clusterList"], &dir);
    assert!(!ok, "a plaintext admin client was served: {out}");
}

#[test]
fn bad_tls_settings_stop_the_start() {
    common::assert_standalone_rejects("tls.server.mode=strict", &["tls.server.mode", "strict"]);
    common::assert_standalone_rejects(
        "tls.test.mode.enable=false",
        &["tls.server.certPath", "tls.server.keyPath"],
    );
    let dir = tempfile::tempdir().unwrap();
    let tls_file = dir.path().join("tls.properties");
    std::fs::write(
        &tls_file,
        "tls.server.certPath=/nonexistent/server.pem\ntls.server.keyPath=/nonexistent/server.key\n",
    )
    .unwrap();
    common::assert_standalone_rejects(
        &format!("tls.config.file={}", tls_file.display()),
        &["/nonexistent/server.pem"],
    );
}

#[test]
fn a_stand_alone_name_server_reads_its_tls_settings() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("tls.conf");
    std::fs::write(&conf, "tls.server.mode=enforcing\n").unwrap();
    let listen = format!("127.0.0.1:{}", ferrocket_testkit::free_port());
    let mut ns = ferrocket_testkit::Running::spawn(ferrocket(
        &[
            "namesrv",
            "--listen",
            &listen,
            "--tls-config",
            conf.to_str().unwrap(),
        ],
        dir.path(),
    ));
    ns.wait_stdout("is ready", Duration::from_secs(20));
    let (ok, out) = run(
        &["admin", "--tls", "-n", &listen, "clusterList"],
        dir.path(),
    );
    assert!(ok, "{out}");
    let (ok, out) = run(&["admin", "-n", &listen, "clusterList"], dir.path());
    assert!(
        !ok,
        "a plaintext client was served by an enforcing name server: {out}"
    );
}
