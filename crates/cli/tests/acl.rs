//! ACL end to end with real `ferrocket` processes: `aclEnable` on a standalone server, requests
//! signed by `ferrocket produce`/`admin` with `--access-key/--secret-key` or the environment, and
//! the start-up errors of a broker that cannot enforce its ACL.

mod common;

use std::time::Duration;

use common::{assert_standalone_rejects, ferrocket};
use ferrocket_testkit::output_within;

const RUN: Duration = Duration::from_secs(60);

const ACL: &str = "accounts:
  - accessKey: adminUser1
    secretKey: adminSecret1
    admin: true
  - accessKey: appUser01
    secretKey: appSecret01
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - AclCliTopic=PUB|SUB
";

struct Server {
    server: ferrocket_testkit::Standalone,
    namesrv: String,
    /// Holds plain_acl.yml and the store; removed when the test ends.
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    start_with(ACL, &[])
}

/// A standalone server enforcing `acl` as plain_acl.yml, with `extra` files (relative path,
/// content) written beside it first.
fn start_with(acl_text: &str, extra: &[(&str, &str)]) -> Server {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let acl = dir.join("plain_acl.yml");
    std::fs::write(&acl, acl_text).unwrap();
    for (path, content) in extra {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let server = common::standalone()
        .dir(&dir)
        .conf(&format!(
            "aclEnable=true\naclPlainFile={}\n\
             innerClientAuthenticationCredentials={{\"accessKey\":\"adminUser1\",\"secretKey\":\"adminSecret1\"}}\n",
            acl.display()
        ))
        .start();
    Server {
        namesrv: server.namesrv.clone(),
        server,
        _dir: tmp,
    }
}

impl Server {
    /// Runs `ferrocket <args>` with extra environment variables; returns success, stdout, stderr.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let mut cmd = ferrocket(args, self.server.dir());
        cmd.env_remove("FERROCKET_ACCESS_KEY")
            .env_remove("FERROCKET_SECRET_KEY");
        for (k, v) in env {
            cmd.env(k, v);
        }
        output_within(cmd, RUN)
    }

    fn produce(&self, topic: &str, keys: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let mut args = vec!["produce", "--namesrv", &self.namesrv, "--topic", topic];
        args.extend_from_slice(keys);
        self.run(&args, env)
    }
}

#[test]
fn cli_signs_with_flags_or_environment_and_refusals_are_reported() {
    let s = start();
    let create = [
        "admin",
        "updateTopic",
        "-t",
        "AclCliTopic",
        "-c",
        "DefaultCluster",
        "-n",
        &s.namesrv,
    ];
    let (ok, _, err) = s.run(&create, &[]);
    assert!(
        !ok && err.contains("code 16: No accessKey is configured"),
        "{err}"
    );
    let app = ["--access-key", "appUser01", "--secret-key", "appSecret01"];
    let mut as_app = create.to_vec();
    as_app.extend_from_slice(&app);
    let (ok, _, err) = s.run(&as_app, &[]);
    assert!(
        !ok && err
            .contains("Need admin permission for request code=17, but accessKey=appUser01 is not"),
        "{err}"
    );
    let (ok, out, err) = s.run(
        &create,
        &[
            ("FERROCKET_ACCESS_KEY", "adminUser1"),
            ("FERROCKET_SECRET_KEY", "adminSecret1"),
        ],
    );
    assert!(ok, "admin account from the environment: {err}");
    assert!(out.contains("success"), "{out}");

    let (ok, _, err) = s.produce("AclCliTopic", &[], &[]);
    assert!(
        !ok && err.contains("code 16: No accessKey is configured"),
        "{err}"
    );
    let (ok, _, err) = s.produce(
        "AclCliTopic",
        &["--access-key", "appUser01", "--secret-key", "wrongSecret"],
        &[],
    );
    assert!(
        !ok && err.contains("Check signature failed for accessKey=appUser01"),
        "{err}"
    );
    let (ok, _, err) = s.produce("OtherTopic", &app, &[]);
    assert!(
        !ok && err.contains("No default permission for topic:OtherTopic"),
        "{err}"
    );
    let (ok, out, err) = s.produce("AclCliTopic", &app, &[]);
    assert!(ok && out.contains("SEND_OK"), "{out}{err}");
    let (ok, _, err) = s.produce("AclCliTopic", &["--access-key", "appUser01"], &[]);
    assert!(!ok && err.contains("go together"), "{err}");

    // nothing refused was stored: the topic holds the one permitted message
    let (ok, out, err) = s.run(
        &[
            "admin",
            "topicStatus",
            "-t",
            "AclCliTopic",
            "-n",
            &s.namesrv,
            "--json",
        ],
        &[
            ("FERROCKET_ACCESS_KEY", "adminUser1"),
            ("FERROCKET_SECRET_KEY", "adminSecret1"),
        ],
    );
    assert!(ok, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    let total: i64 = status["queues"]
        .as_array()
        .map(|queues| queues.iter().filter_map(|q| q["maxOffset"].as_i64()).sum())
        .unwrap_or(-1);
    assert_eq!(total, 1, "{out}");
    s.server.stop();
}

#[test]
fn accounts_of_the_acl_folder_are_in_force() {
    // RocketMQ 4.9.3+ reads every *.yml of conf/acl beside plain_acl.yml
    let s = start_with(
        "accounts:\n  - accessKey: adminUser1\n    secretKey: adminSecret1\n    admin: true\n",
        &[(
            "acl/team.yml",
            "accounts:\n  - accessKey: teamUser01\n    secretKey: teamSecret01\n    defaultTopicPerm: PUB\n",
        )],
    );
    let team = ["--access-key", "teamUser01", "--secret-key", "teamSecret01"];
    let (ok, out, err) = s.produce("AclFolderTopic", &team, &[]);
    assert!(ok && out.contains("SEND_OK"), "{out}{err}");
    let wrong = ["--access-key", "teamUser01", "--secret-key", "notTheSecret"];
    let (ok, _, err) = s.produce("AclFolderTopic", &wrong, &[]);
    assert!(
        !ok && err.contains("Check signature failed for accessKey=teamUser01"),
        "{err}"
    );
    s.server.stop();
}

#[test]
fn broker_that_cannot_enforce_acl_does_not_start() {
    assert_standalone_rejects(
        "aclEnable=true\naclPlainFile=/nonexistent/plain_acl.yml\n",
        &["/nonexistent/plain_acl.yml"],
    );
    assert_standalone_rejects(
        "aclEnable=true\naclPlainFile=/dev/null\n",
        &["innerClientAuthenticationCredentials"],
    );
}
