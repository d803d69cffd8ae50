//! The audit log of administrative requests on a real `ferrocket standalone`: a change made with
//! an admin request code is logged with the remote address, the code and the outcome; ordinary
//! traffic is not.

mod common;

use std::time::{Duration, Instant};

use common::ferrocket;
use ferrocket_testkit::run_to_exit;

#[test]
fn admin_changes_are_audited_with_who_and_from_where() {
    let mut p = common::standalone().start();
    let ns = p.namesrv.clone();
    let dir = p.dir().to_path_buf();
    let run = |args: &[&str]| {
        let (status, out, err) = run_to_exit(ferrocket(args, &dir), Duration::from_secs(60));
        assert!(status.success(), "{args:?}: {out}\n{err}");
    };
    run(&[
        "produce",
        "--namesrv",
        &ns,
        "--topic",
        "PlainTopic",
        "--count",
        "3",
    ]);
    run(&[
        "admin",
        "-n",
        &ns,
        "updateTopic",
        "-c",
        "DefaultCluster",
        "-t",
        "AuditTopic",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    run(&[
        "admin",
        "-n",
        &ns,
        "deleteTopic",
        "-c",
        "DefaultCluster",
        "-t",
        "AuditTopic",
    ]);

    let deadline = Instant::now() + Duration::from_secs(10);
    let audit = loop {
        let audit: Vec<String> = p
            .stderr_text()
            .lines()
            .filter(|l| l.contains("admin request"))
            .map(str::to_string)
            .collect();
        let seen = |name: &str| audit.iter().any(|l| l.contains(name));
        if (seen("UPDATE_AND_CREATE_TOPIC")
            && seen("DELETE_TOPIC_IN_BROKER")
            && seen("DELETE_TOPIC_IN_NAMESRV"))
            || Instant::now() > deadline
        {
            break audit;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    for name in [
        "UPDATE_AND_CREATE_TOPIC",
        "DELETE_TOPIC_IN_BROKER",
        "DELETE_TOPIC_IN_NAMESRV",
    ] {
        let line = audit
            .iter()
            .find(|l| l.contains(&format!("request=\"{name}\"")))
            .unwrap_or_else(|| panic!("no audit line for {name}: {audit:#?}"));
        assert!(line.contains("remote=127.0.0.1:"), "{line}");
        assert!(line.contains("response_code=0"), "{line}");
    }
    assert!(
        !audit.iter().any(|l| l.contains("SEND_MESSAGE")),
        "sends are not admin requests: {audit:#?}"
    );
}
