//! `ferrocket admin` against a real `ferrocket standalone`: mqadmin's command names, options and
//! table columns, `--json`, and the effect of each command on the broker and name server.

mod common;

use std::path::Path;
use std::time::Duration;

use common::ferrocket;
use ferrocket_client::{Message, Producer, ProducerConfig};
use ferrocket_testkit::{output_within, Running};

use serde_json::Value;

const BROKER: &str = "broker-admin";
const CLUSTER: &str = "DefaultCluster";
/// How long one `ferrocket` command may run.
const RUN: Duration = Duration::from_secs(120);

struct Standalone {
    server: ferrocket_testkit::Standalone,
    namesrv: String,
    broker_addr: String,
}

fn start() -> Standalone {
    let server = common::standalone()
        .conf(&format!("brokerName={BROKER}"))
        .start();
    Standalone {
        namesrv: server.namesrv.clone(),
        broker_addr: format!("127.0.0.1:{}", server.broker_port),
        server,
    }
}

impl Standalone {
    /// Runs `ferrocket admin <args> -n <namesrv>`; returns success and stdout.
    fn admin(&self, args: &[&str]) -> (bool, String) {
        let mut all = vec!["admin"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-n", &self.namesrv]);
        let (ok, out, err) = output_within(ferrocket(&all, self.server.dir()), RUN);
        if !ok {
            eprintln!("ferrocket {all:?} failed: {err}");
        }
        (ok, out)
    }

    /// Runs an admin command that must succeed; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let (ok, out) = self.admin(args);
        assert!(ok, "ferrocket admin {args:?} failed\n{out}");
        out
    }

    /// Runs an admin command with `--json` that must succeed; returns the parsed output.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
    }

    fn run(&self, args: &[&str], dir: &Path) -> String {
        let (ok, out, err) = output_within(ferrocket(args, dir), RUN);
        assert!(ok, "ferrocket {args:?}: {err}");
        out
    }

    fn stop(self) {
        self.server.stop();
    }
}

#[test]
fn topics_messages_groups_and_write_permission() {
    let s = start();
    let b = s.broker_addr.clone();

    let out = s.ok(&["clusterList"]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    for col in [
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS(LOAD)",
        "#ACTIVATED",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(CLUSTER) && row.contains(BROKER) && row.contains(&b),
        "{row}"
    );
    assert!(row.trim_end().ends_with("true"), "{row}");

    let out = s.ok(&[
        "updateTopic",
        "-c",
        CLUSTER,
        "-t",
        "AdminTopic",
        "-r",
        "4",
        "-w",
        "4",
    ]);
    assert!(
        out.contains(&format!("create topic to {b} success.")),
        "{out}"
    );
    assert!(
        out.contains(
            "TopicConfig [topicName=AdminTopic, readQueueNums=4, writeQueueNums=4, perm=RW-"
        ),
        "{out}"
    );
    assert!(s.ok(&["topicList"]).lines().any(|l| l == "AdminTopic"));
    let topics = s.json(&["topicList"]);
    assert!(
        topics.as_array().unwrap().iter().any(|t| t == "AdminTopic"),
        "{topics}"
    );
    let route = s.json(&["topicRoute", "-t", "AdminTopic"]);
    assert_eq!(route["queueDatas"][0]["writeQueueNums"], 4, "{route}");
    assert_eq!(
        route["brokerDatas"][0]["brokerAddrs"]["0"],
        b.as_str(),
        "{route}"
    );

    let out = s.ok(&[
        "sendMessage",
        "-t",
        "AdminTopic",
        "-p",
        "hello admin",
        "-k",
        "order-1",
        "-c",
        "TagA",
        "-b",
        BROKER,
        "-i",
        "0",
    ]);
    assert!(
        out.starts_with("#Broker Name") && out.contains("SEND_OK"),
        "{out}"
    );
    let sent = s.json(&[
        "sendMessage",
        "-t",
        "AdminTopic",
        "-p",
        "second",
        "-k",
        "order-2",
        "-b",
        BROKER,
        "-i",
        "3",
    ]);
    assert_eq!(sent["sendStatus"], "SEND_OK");
    assert_eq!(sent["queueId"], 3);
    let uniq = sent["msgId"].as_str().unwrap().to_string();
    let offset_id = sent["offsetMsgId"].as_str().unwrap().to_string();

    let out = s.ok(&["topicStatus", "-t", "AdminTopic"]);
    assert!(
        out.starts_with("#Broker Name")
            && out.contains("#Min Offset")
            && out.contains("#Last Updated"),
        "{out}"
    );
    let status = s.json(&["topicStatus", "-t", "AdminTopic"]);
    let total: i64 = status["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["maxOffset"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 2, "{status}");

    let out = s.ok(&["queryMsgById", "-i", &offset_id]);
    assert!(
        out.contains(&format!("OffsetID:            {offset_id}")),
        "{out}"
    );
    assert!(
        out.contains("Topic:               AdminTopic")
            && out.contains("Keys:                [order-2]"),
        "{out}"
    );
    assert!(out.contains("Queue ID:            3"), "{out}");
    let by_key = s.ok(&["queryMsgByKey", "-t", "AdminTopic", "-k", "order-2"]);
    assert!(
        by_key.starts_with("#Message ID") && by_key.contains(&uniq),
        "{by_key}"
    );
    assert_eq!(
        s.json(&["queryMsgByKey", "-t", "AdminTopic", "-k", "order-1"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let out = s.ok(&["queryMsgByUniqueKey", "-t", "AdminTopic", "-i", &uniq]);
    assert!(
        out.contains(&format!("OffsetID:            {offset_id}")),
        "{out}"
    );
    let at = s.json(&[
        "queryMsgByOffset",
        "-t",
        "AdminTopic",
        "-b",
        BROKER,
        "-i",
        "3",
        "-o",
        "0",
    ]);
    assert_eq!(at["msgId"], uniq.as_str());
    assert_eq!(at["body"], "second");
    let printed = s.ok(&["printMsg", "-t", "AdminTopic"]);
    assert!(
        printed.contains(&format!("MSGID: {uniq}")) && printed.contains("BODY: hello admin"),
        "{printed}"
    );
    let consumed = s.json(&["consumeMessage", "-t", "AdminTopic", "-c", "10"]);
    assert_eq!(consumed.as_array().unwrap().len(), 2, "{consumed}");

    let out = s.ok(&["updateSubGroup", "-b", &b, "-g", "AdminGroup", "-r", "3"]);
    assert!(
        out.contains(&format!("create subscription group to {b} success.")),
        "{out}"
    );
    assert!(
        out.contains("groupName=AdminGroup") && out.contains("retryMaxTimes=3"),
        "{out}"
    );
    let out = s.ok(&[
        "deleteSubGroup",
        "-c",
        CLUSTER,
        "-g",
        "AdminGroup",
        "-r",
        "true",
    ]);
    assert!(out.contains(&format!("delete subscription group [AdminGroup] from broker [{b}] in cluster [{CLUSTER}] success.")), "{out}");

    let out = s.ok(&["brokerStatus", "-b", &b]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("brokerVersionDesc") && l.ends_with(": V5_3_3")),
        "{out}"
    );
    let cfg = s.json(&["getBrokerConfig", "-b", &b]);
    assert_eq!(cfg[&b]["brokerName"], BROKER, "{cfg}");
    let out = s.ok(&["getBrokerConfig", "-c", CLUSTER]);
    assert!(
        out.contains(&format!("============Master: {b}============")),
        "{out}"
    );

    // A broker registration carrying changed topic configs rewrites the routes, as in RocketMQ, and
    // may land between the wipe and the send: then the route shows write permission again and the
    // wipe is repeated.
    let mut refused = false;
    for _ in 0..3 {
        let out = s.ok(&["wipeWritePerm", "-b", BROKER]);
        assert!(
            out.contains(&format!(
                "wipe write perm of broker[{BROKER}] in name server[{}] OK",
                s.namesrv
            )),
            "{out}"
        );
        let (sent, out) = s.admin(&["sendMessage", "-t", "AdminTopic", "-p", "refused"]);
        if !sent {
            assert!(out.contains("Failed"), "{out}");
            refused = true;
            break;
        }
        let route = s.json(&["topicRoute", "-t", "AdminTopic"]);
        assert_eq!(
            route["queueDatas"][0]["perm"].as_i64().unwrap() & 2,
            2,
            "a send succeeded while the route had no write permission\n{route}"
        );
    }
    assert!(
        refused,
        "a broker without write permission takes no message"
    );
    let out = s.ok(&["addWritePerm", "-b", BROKER]);
    assert!(
        out.contains(&format!(
            "add write perm of broker[{BROKER}] in name server[{}] OK",
            s.namesrv
        )),
        "{out}"
    );
    assert_eq!(
        s.json(&["sendMessage", "-t", "AdminTopic", "-p", "accepted"])["sendStatus"],
        "SEND_OK"
    );

    let out = s.ok(&["deleteTopic", "-t", "AdminTopic", "-c", CLUSTER]);
    assert!(
        out.contains(&format!(
            "delete topic [AdminTopic] from cluster [{CLUSTER}] success."
        )),
        "{out}"
    );
    assert!(
        out.contains("delete topic [AdminTopic] from NameServer success."),
        "{out}"
    );
    assert!(!s.ok(&["topicList"]).lines().any(|l| l == "AdminTopic"));
    let (found, _) = s.admin(&["topicRoute", "-t", "AdminTopic"]);
    assert!(!found, "a deleted topic has no route");
    s.stop();
}

#[test]
fn consumer_progress_connections_and_offset_resets() {
    let s = start();
    let ns = s.namesrv.clone();
    let dir = s.server.dir().to_path_buf();
    s.ok(&[
        "updateTopic",
        "-b",
        &s.broker_addr,
        "-t",
        "ResetTopic",
        "-r",
        "2",
        "-w",
        "2",
    ]);
    s.run(
        &[
            "produce",
            "--namesrv",
            &ns,
            "--topic",
            "ResetTopic",
            "--count",
            "10",
            "--group",
            "AdminProducer",
        ],
        &dir,
    );
    s.run(
        &[
            "consume",
            "--namesrv",
            &ns,
            "--topic",
            "ResetTopic",
            "--group",
            "ResetGroup",
            "--count",
            "10",
            "--brief",
        ],
        &dir,
    );

    let out = s.ok(&["consumerProgress", "-g", "ResetGroup"]);
    let header = out.lines().next().unwrap();
    for col in [
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Diff",
        "#Inflight",
        "#LastTime",
    ] {
        assert!(header.contains(col), "{header}");
    }
    assert!(out.contains("Consume Diff Total: 0"), "{out}");
    let progress = s.json(&["consumerProgress", "-g", "ResetGroup", "-t", "ResetTopic"]);
    assert_eq!(progress["diffTotal"], 0, "{progress}");

    // no member online: the committed offsets are rewritten (mqadmin's fallback)
    let out = s.ok(&[
        "resetOffsetByTime",
        "-g",
        "ResetGroup",
        "-t",
        "ResetTopic",
        "-s",
        "0",
    ]);
    assert!(
        out.starts_with("#brokerName") && out.contains("#resetOffset"),
        "{out}"
    );
    let progress = s.json(&["consumerProgress", "-g", "ResetGroup", "-t", "ResetTopic"]);
    assert_eq!(progress["diffTotal"], 10, "{progress}");
    let skipped = s.json(&[
        "skipAccumulatedMessage",
        "-g",
        "ResetGroup",
        "-t",
        "ResetTopic",
    ]);
    assert_eq!(skipped["online"], false, "{skipped}");
    let progress = s.json(&["consumerProgress", "-g", "ResetGroup", "-t", "ResetTopic"]);
    assert_eq!(progress["diffTotal"], 0, "{progress}");

    // a member online: the broker resets through INVOKE_BROKER_TO_RESET_OFFSET
    let mut member = Running::spawn(ferrocket(
        &[
            "consume",
            "--namesrv",
            &ns,
            "--topic",
            "ResetTopic",
            "--group",
            "ResetGroup",
            "--brief",
        ],
        &dir,
    ));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let connection = loop {
        let (ok, out) = s.admin(&["consumerConnection", "-g", "ResetGroup", "--json"]);
        if ok {
            break serde_json::from_str::<Value>(&out).unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the consumer never showed up"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(
        connection["connectionSet"].as_array().unwrap().len(),
        1,
        "{connection}"
    );
    assert_eq!(connection["messageModel"], "CLUSTERING");
    let all = s.ok(&["consumerProgress"]);
    assert!(
        all.starts_with("#Group") && all.contains("#Diff Total"),
        "{all}"
    );
    let listed = s.json(&["consumerProgress"]);
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["group"] == "ResetGroup")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(row["count"], 1, "{listed}");
    assert_eq!(row["model"], "CLUSTERING", "{listed}");
    let by_cluster = s.json(&["topicList", "-c"]);
    let reset_topic = by_cluster
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["topic"] == "ResetTopic")
        .unwrap_or_else(|| panic!("{by_cluster}"));
    assert_eq!(reset_topic["clusterName"], CLUSTER);
    assert!(reset_topic["consumerGroups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "ResetGroup"));
    let out = s.ok(&["consumerConnection", "-g", "ResetGroup"]);
    assert!(
        out.starts_with("#ClientId")
            && out.contains("Below is subscription:")
            && out.contains("ResetTopic"),
        "{out}"
    );
    let reset = s.json(&[
        "resetOffsetByTime",
        "-g",
        "ResetGroup",
        "-t",
        "ResetTopic",
        "-s",
        "0",
    ]);
    assert_eq!(reset["online"], true, "{reset}");
    let offsets: Vec<i64> = reset["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, vec![0, 0], "{reset}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    let producer = rt
        .block_on(Producer::start(ProducerConfig::new(
            "LiveProducer",
            ns.as_str(),
        )))
        .unwrap();
    rt.block_on(async {
        producer
            .send(&Message::new("ResetTopic", "from a live producer"))
            .await
            .unwrap();
        producer.instance().send_heartbeat_to_all_brokers().await;
    });
    let out = s.ok(&[
        "producerConnection",
        "-g",
        "LiveProducer",
        "-t",
        "ResetTopic",
    ]);
    assert!(out.starts_with("0001  ") && out.contains("V5_3_3"), "{out}");
    let pc = s.json(&[
        "producerConnection",
        "-g",
        "LiveProducer",
        "-t",
        "ResetTopic",
    ]);
    assert_eq!(pc["connectionSet"].as_array().unwrap().len(), 1, "{pc}");
    rt.block_on(producer.shutdown());
    member.signal("TERM");
    member.wait_exit(Duration::from_secs(60));

    // one queue, to a given offset, with no member online
    let out = s.ok(&[
        "resetOffsetByTime",
        "-g",
        "ResetGroup",
        "-t",
        "ResetTopic",
        "-s",
        "now",
        "-b",
        &s.broker_addr,
        "-q",
        "1",
        "-o",
        "2",
    ]);
    assert!(out.contains("reset consumer offset to 2"), "{out}");
    let progress = s.json(&["consumerProgress", "-g", "ResetGroup", "-t", "ResetTopic"]);
    let queue1 = progress["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["topic"] == "ResetTopic" && q["queueId"] == 1)
        .unwrap_or_else(|| panic!("{progress}"));
    assert_eq!(queue1["consumerOffset"], 2, "{progress}");
    s.stop();
}

/// Sends to `topic` until a send is accepted (`accepted`) or refused (not `accepted`): a new
/// broker permission reaches the routes with the next registration.
fn wait_for_sends(s: &Standalone, topic: &str, accepted: bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.admin(&["sendMessage", "-t", topic, "-p", "probe"]).0 != accepted {
        assert!(
            std::time::Instant::now() < deadline,
            "sends to {topic} never became {}",
            if accepted { "accepted" } else { "refused" }
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn update_broker_config_applies_live_saves_to_the_config_file_and_survives_a_restart() {
    // the directory outlives the first process: the second one starts from its files
    let tmp = tempfile::tempdir().unwrap();
    let server = common::standalone()
        .dir(tmp.path())
        .conf(&format!("brokerName={BROKER}"))
        .start();
    let s = Standalone {
        namesrv: server.namesrv.clone(),
        broker_addr: format!("127.0.0.1:{}", server.broker_port),
        server,
    };
    let b = s.broker_addr.clone();
    let conf = s.server.dir().join("broker.conf");
    s.ok(&["updateTopic", "-t", "ConfTopic", "-c", CLUSTER]);
    assert_eq!(
        s.json(&["sendMessage", "-t", "ConfTopic", "-p", "before"])["sendStatus"],
        "SEND_OK"
    );

    // a live key: read-only brokerPermission is registered at once and sends are refused
    let out = s.ok(&[
        "updateBrokerConfig",
        "-b",
        &b,
        "-k",
        "brokerPermission",
        "-v",
        "4",
    ]);
    assert!(out.contains("update broker config success"), "{out}");
    assert_eq!(
        s.json(&["getBrokerConfig", "-b", &b])[&b]["brokerPermission"],
        "4"
    );
    let saved = std::fs::read_to_string(&conf).unwrap();
    assert!(saved.lines().any(|l| l == "brokerPermission=4"), "{saved}");
    wait_for_sends(&s, "ConfTopic", false);
    s.ok(&[
        "updateBrokerConfig",
        "-c",
        CLUSTER,
        "-k",
        "brokerPermission",
        "-v",
        "6",
    ]);
    wait_for_sends(&s, "ConfTopic", true);

    // a key read at start is saved and reported as such; unknown keys and bad values are refused
    s.ok(&[
        "updateBrokerConfig",
        "-b",
        &b,
        "-k",
        "defaultTopicQueueNums",
        "-v",
        "3",
    ]);
    let (ok, out) = s.admin(&["updateBrokerConfig", "-b", &b, "-k", "noSuchKey", "-v", "1"]);
    assert!(!ok, "{out}");
    let (ok, out) = s.admin(&[
        "updateBrokerConfig",
        "-b",
        &b,
        "-k",
        "brokerPermission",
        "-v",
        "9",
    ]);
    assert!(!ok, "{out}");
    let saved = std::fs::read_to_string(&conf).unwrap();
    assert!(saved.lines().any(|l| l == "brokerPermission=6"), "{saved}");
    assert!(
        saved.lines().any(|l| l == "defaultTopicQueueNums=3"),
        "{saved}"
    );
    assert!(!saved.contains("noSuchKey"), "{saved}");

    // the file is what the next start reads
    let dir = s.server.dir().to_path_buf();
    let store = s.server.store.clone();
    let (ns_port, broker_port) = (
        s.namesrv
            .rsplit(':')
            .next()
            .unwrap()
            .parse::<u16>()
            .unwrap(),
        s.server.broker_port,
    );
    let saved_conf = std::fs::read_to_string(&conf).unwrap();
    s.stop();
    let again = common::standalone()
        .dir(&dir)
        .store(&store)
        .conf_name("restarted.conf")
        .conf(&saved_conf)
        .ports(ns_port, broker_port)
        .start();
    let addr = format!("127.0.0.1:{broker_port}");
    let (ok, out, err) = output_within(
        ferrocket(
            &[
                "admin",
                "getBrokerConfig",
                "-b",
                &addr,
                "--json",
                "-n",
                &again.namesrv,
            ],
            &dir,
        ),
        RUN,
    );
    assert!(ok, "{err}");
    let cfg: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cfg[&addr]["defaultTopicQueueNums"], "3", "{cfg}");
    assert_eq!(cfg[&addr]["brokerPermission"], "6", "{cfg}");
    again.stop();
}
