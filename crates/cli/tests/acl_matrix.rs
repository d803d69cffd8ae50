//! Every code the ACL decision tables guard (`ferrocket_acl::broker_decision` Admin and Resources,
//! `namesrv_decision` Admin), found by scanning the tables, so a code added to them is covered
//! here without editing this file; on every remoting port of a real `ferrocket standalone` (the
//! broker's listen port, its fast port listenPort - 2, the name server), sent unsigned, wrongly
//! signed and signed by an account without the permission. Each is refused NO_PERMISSION with
//! RocketMQ's remark, and the broker's and name server's state and files stay as they were.
//! (The official Java client does the same for the hand-written rows of `AclMatrixTest`.)

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use ferrocket_acl::{AclDecision, SessionCredentials};
use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

const ADMIN: (&str, &str) = ("matrixAdmin1", "matrixAdminSecret1");
const USER: (&str, &str) = ("matrixUser01", "matrixUserSecret1");
const TOPIC: &str = "AclMatrixTopic";
const GROUP: &str = "aclMatrixGroup";
const CALL: Duration = Duration::from_secs(10);

const ACL: &str = "accounts:
  - accessKey: matrixAdmin1
    secretKey: matrixAdminSecret1
    admin: true
  - accessKey: matrixUser01
    secretKey: matrixUserSecret1
    defaultTopicPerm: DENY
    defaultGroupPerm: DENY
";

/// A request of `code` naming the test topic and group under every field name the permission
/// model reads (a heartbeat carries them in its body).
fn request(code: i32) -> RemotingCommand {
    let mut r = RemotingCommand::request(code);
    for (k, v) in [
        ("topic", TOPIC),
        ("b", TOPIC),
        ("originTopic", TOPIC),
        ("a", "aclMatrixProducer"),
        ("group", GROUP),
        ("consumerGroup", GROUP),
        ("groupName", GROUP),
        ("queueId", "0"),
        ("commitOffset", "99"),
        ("accessKey", USER.0),
        ("secretKey", "takeover01"),
        ("admin", "true"),
        ("globalWhiteAddrs", "*"),
        ("namespace", "aclMatrixNs"),
        ("key", "k"),
        ("value", "evil"),
        ("brokerName", "broker-a"),
    ] {
        r.ext_fields.insert(k, v);
    }
    if code == ferrocket_protocol::code::request::HEART_BEAT {
        r.body = format!(
            r#"{{"clientID":"c","consumerDataSet":[{{"groupName":"{GROUP}","subscriptionDataSet":[{{"topic":"{TOPIC}","subString":"*"}}]}}],"producerDataSet":[]}}"#
        )
        .into_bytes()
        .into();
    } else {
        r.body = b"brokerPermission=4\n"[..].into();
    }
    r
}

fn signed(mut r: RemotingCommand, (ak, sk): (&str, &str)) -> RemotingCommand {
    SessionCredentials::new(ak, sk).sign(&mut r);
    r
}

/// RocketMQ's remark for the unprivileged account: not admin, or DENY on the first resource.
fn unprivileged_remark(r: &RemotingCommand) -> String {
    if ferrocket_acl::permission::needs_admin(r.code) {
        return format!(
            "Need admin permission for request code={}, but accessKey={} is not",
            r.code, USER.0
        );
    }
    let needed = ferrocket_acl::resource::needed_resources(r).unwrap();
    let (first, _) = needed.first().expect("a Resources code names a resource");
    match first.strip_prefix("%RETRY%") {
        Some(g) => format!("No default permission for group:{g}"),
        None => format!("No default permission for topic:{first}"),
    }
}

/// Response text independent of JSON map order; version stamps that move on their own dropped.
fn normalized(r: &RemotingCommand) -> String {
    let body = String::from_utf8_lossy(&r.body);
    let mut tokens: Vec<&str> = body
        .split([',', '{', '}', '[', ']'])
        .filter(|t| {
            !(t.starts_with("\"counter\"")
                || t.starts_with("\"timestamp\"")
                || t.starts_with("\"stateVersion\""))
        })
        .collect();
    tokens.sort_unstable();
    format!("{}:{}", r.code, tokens.join("|"))
}

/// A snapshot entry: its name, the request code that reads it, the request's fields.
type Read = (&'static str, i32, &'static [(&'static str, &'static str)]);

async fn snapshot(
    client: &RemotingClient,
    broker: &str,
    namesrv: &str,
    files: &[std::path::PathBuf],
) -> BTreeMap<String, String> {
    let mut s = BTreeMap::new();
    let broker_reads: [Read; 7] = [
        ("topics", 21, &[]),
        ("groups", 201, &[]),
        ("offsets", 43, &[]),
        ("brokerConfig", 26, &[]),
        ("messages", 202, &[("topic", TOPIC)]),
        ("consumers", 203, &[("consumerGroup", GROUP)]),
        ("acl", 54, &[]),
    ];
    for (name, code, fields) in broker_reads {
        let mut r = RemotingCommand::request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        let reply = client.invoke(broker, signed(r, ADMIN), CALL).await.unwrap();
        s.insert(name.to_string(), normalized(&reply));
    }
    let ns_reads: [Read; 4] = [
        ("routes", 105, &[("topic", TOPIC)]),
        ("clusters", 106, &[]),
        ("kv", 219, &[("namespace", "aclMatrixNs")]),
        ("namesrvConfig", 319, &[]),
    ];
    for (name, code, fields) in ns_reads {
        let mut r = RemotingCommand::request(code);
        for (k, v) in fields {
            r.ext_fields.insert(*k, *v);
        }
        let reply = client.invoke(namesrv, r, CALL).await.unwrap();
        s.insert(name.to_string(), normalized(&reply));
    }
    for f in files {
        s.insert(f.display().to_string(), std::fs::read_to_string(f).unwrap());
    }
    s
}

fn guarded(decision: fn(i32) -> Option<AclDecision>, kinds: &[AclDecision]) -> Vec<i32> {
    (0..=4_000)
        .chain(200_000..=200_300)
        .filter(|&c| decision(c).is_some_and(|d| kinds.contains(&d)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_guarded_code_is_refused_on_every_port_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let acl = dir.join("plain_acl.yml");
    std::fs::write(&acl, ACL).unwrap();
    let server = common::standalone()
        .dir(&dir)
        .conf(&format!(
            "aclEnable=true\naclPlainFile={}\n\
             innerClientAuthenticationCredentials={{\"accessKey\":\"{}\",\"secretKey\":\"{}\"}}\n",
            acl.display(),
            ADMIN.0,
            ADMIN.1
        ))
        .start();
    let client = RemotingClient::new();
    let (broker, namesrv) = (server.broker.clone(), server.namesrv.clone());
    let fast = format!("127.0.0.1:{}", server.broker_port - 2);
    let files = vec![acl.clone(), dir.join("broker.conf")];
    assert!(
        files[1].exists(),
        "the broker's properties file is where the test expects it"
    );

    // something for the refused codes to (not) change
    let mut create = RemotingCommand::request(17);
    for (k, v) in [
        ("topic", TOPIC),
        ("defaultTopic", "TBW102"),
        ("readQueueNums", "4"),
        ("writeQueueNums", "4"),
        ("perm", "6"),
        ("topicFilterType", "SINGLE_TAG"),
        ("topicSysFlag", "0"),
        ("order", "false"),
    ] {
        create.ext_fields.insert(k, v);
    }
    let r = client
        .invoke(&broker, signed(create, ADMIN), CALL)
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);

    let broker_codes = guarded(
        ferrocket_acl::broker_decision,
        &[AclDecision::Admin, AclDecision::Resources],
    );
    let namesrv_codes = guarded(ferrocket_acl::namesrv_decision, &[AclDecision::Admin]);
    assert!(
        broker_codes.len() >= 20 && namesrv_codes.len() >= 9,
        "{broker_codes:?} {namesrv_codes:?}"
    );
    let targets = [
        ("broker listen port", broker.as_str(), &broker_codes),
        ("broker fast port", fast.as_str(), &broker_codes),
        ("name server", namesrv.as_str(), &namesrv_codes),
    ];

    let mut failures = Vec::new();
    let mut before = snapshot(&client, &broker, &namesrv, &files).await;
    for (port, addr, codes) in targets {
        for &code in codes.iter() {
            let unprivileged = signed(request(code), USER);
            let expected_unprivileged = unprivileged_remark(&unprivileged);
            let ways = [
                (
                    "unsigned",
                    request(code),
                    "No accessKey is configured".to_string(),
                ),
                (
                    "wrongly signed",
                    signed(request(code), (USER.0, "notTheSecret1")),
                    format!("Check signature failed for accessKey={}", USER.0),
                ),
                (
                    "signed without permission",
                    unprivileged,
                    expected_unprivileged,
                ),
            ];
            for (way, req, expected) in ways {
                let reply = client.invoke(addr, req, CALL).await.unwrap();
                if reply.code != response::NO_PERMISSION
                    || reply.remark.as_deref() != Some(&expected)
                {
                    failures.push(format!(
                        "code {code} {way} on {port}: {} {:?}, expected {expected:?}",
                        reply.code, reply.remark
                    ));
                }
            }
            let after = snapshot(&client, &broker, &namesrv, &files).await;
            for (k, v) in &before {
                if after.get(k) != Some(v) {
                    failures.push(format!("code {code} on {port} changed {k}"));
                }
            }
            before = after;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    server.stop();
}
