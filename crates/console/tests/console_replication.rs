//! The console of a master and of its slave (real `ferrocket namesrv` and `ferrocket broker`
//! processes): `/api/replication` lists the replica set with each slave's lag and the HA state
//! of the broker asked, and `/api/config` shows each broker's real role.

mod common;

use std::time::Duration;

use common::{get_json, post_json, wait_until};
use ferrocket_testkit::{BrokerNode, NameServer, ReplicaPair};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);
const CONSOLE: &str = "consoleEnable=true\nconsolePort=0\nconsoleListenAddress=127.0.0.1";

fn console_of(node: &BrokerNode) -> String {
    common::console_url(&node.process.as_ref().unwrap().stdout_seen)
        .expect("a 'Console:' line before the ready line")
}

#[test]
fn the_console_shows_the_slaves_of_a_master_with_their_lag() {
    let bin = ferrocket_testkit::ferrocket_bin!();
    let ns = NameServer::start(&bin);
    let mut pair = ReplicaPair::start(&bin, &ns.addr, "console-ha", "SYNC_MASTER", CONSOLE);
    let (master_url, slave_url) = (console_of(&pair.master), console_of(&pair.slave));
    let (master_addr, slave_addr) = (pair.master.addr(), pair.slave.addr());

    // a SYNC_MASTER refuses sends (SLAVE_NOT_AVAILABLE) until its slave has reported
    let connected = wait_until(WAIT, || {
        get_json(&format!("{master_url}/api/replication"))["haConnections"][0]["slaveAckOffset"]
            .as_i64()
            .is_some_and(|o| o >= 0)
    });
    assert!(connected, "the slave never connected");
    let topic = "ConsoleReplicaTopic";
    post_json(
        &format!("{master_url}/api/topic"),
        &json!({"topic": topic, "readQueueNums": 2, "writeQueueNums": 2, "perm": 6, "order": false}),
    );
    for i in 0..10 {
        // 200 only for SEND_OK: on a SYNC_MASTER once the slave has the message
        post_json(
            &format!("{master_url}/api/message/send"),
            &json!({"topic": topic, "body": format!("replicated {i}")}),
        );
    }
    let master_max = get_json(&format!("{master_url}/api/overview"))["commitLogMaxOffset"]
        .as_i64()
        .unwrap();
    assert!(master_max > 0);

    // the master's view: both members from the name server, the slave 0 bytes behind, and
    // its HA connection acknowledged up to the end
    let mut r = Value::Null;
    let caught_up = wait_until(WAIT, || {
        r = get_json(&format!("{master_url}/api/replication"));
        r["brokers"].as_array().map_or(0, Vec::len) == 2
            && r["brokers"][1]["lagBytes"] == 0
            && r["haConnections"][0]["slaveAckOffset"] == master_max
    });
    assert!(caught_up, "{r}");
    assert_eq!(r["role"], "SYNC_MASTER", "{r}");
    assert_eq!(r["brokerName"], "console-ha", "{r}");
    let master_row = &r["brokers"][0];
    assert_eq!(master_row["brokerId"], 0, "{r}");
    assert_eq!(master_row["addr"], master_addr.as_str(), "{r}");
    assert_eq!(master_row["role"], "SYNC_MASTER", "{r}");
    assert_eq!(master_row["commitLogMaxOffset"], master_max, "{r}");
    assert_eq!(master_row["lagBytes"], Value::Null, "{r}");
    let slave_row = &r["brokers"][1];
    assert_eq!(slave_row["brokerId"], 1, "{r}");
    assert_eq!(slave_row["addr"], slave_addr.as_str(), "{r}");
    assert_eq!(slave_row["role"], "SLAVE", "{r}");
    assert_eq!(slave_row["commitLogMaxOffset"], master_max, "{r}");
    assert_eq!(slave_row["inSync"], true, "{r}");
    assert_eq!(slave_row["error"], Value::Null, "{r}");
    let conn = &r["haConnections"][0];
    assert_eq!(conn["diff"], 0, "{r}");
    assert_eq!(conn["inSync"], true, "{r}");
    assert_eq!(conn["transferFromWhere"], master_max, "{r}");
    assert_eq!(r["haClient"], Value::Null, "{r}");
    assert_eq!(r["namesrvError"], Value::Null, "{r}");

    // the slave's view: the same members, and its HA client connected to the master
    let s = get_json(&format!("{slave_url}/api/replication"));
    assert_eq!(s["role"], "SLAVE", "{s}");
    assert_eq!(s["brokers"][1]["lagBytes"], 0, "{s}");
    assert_eq!(s["brokers"][0]["role"], "SYNC_MASTER", "{s}");
    let client = &s["haClient"];
    assert_eq!(
        client["masterAddr"],
        format!("127.0.0.1:{}", pair.master.ha_port),
        "{s}"
    );
    assert_eq!(client["maxOffset"], master_max, "{s}");
    assert!(client["lastReadTimestamp"].as_i64().unwrap() > 0, "{s}");
    assert_eq!(s["haConnections"], json!([]), "{s}");

    // /metrics: the master's per-slave figures, the slave's HA client
    let (_, exposition) = common::http("GET", &format!("{master_url}/metrics"), None);
    for family in [
        "ferrocket_ha_slave_lag_bytes{",
        "ferrocket_ha_slave_transfer_bytes_per_second{",
    ] {
        assert!(
            exposition.lines().any(|l| l.starts_with(family)),
            "{family}: {exposition}"
        );
    }
    let (_, exposition) = common::http("GET", &format!("{slave_url}/metrics"), None);
    let last_read = common::metric(
        &exposition,
        "ferrocket_ha_client_last_read_timestamp_seconds",
    );
    assert!(last_read.is_some_and(|t| t > 1.0e9), "{exposition}");
    assert!(
        common::metric(&exposition, "ferrocket_ha_client_received_bytes_per_second").is_some(),
        "{exposition}"
    );

    // /api/config shows each broker's role as configured
    let c = get_json(&format!("{slave_url}/api/config"));
    assert_eq!(c["cluster"]["brokers"][0]["role"], "SLAVE", "{c}");

    // with the slave gone the master lists itself alone and has no slave connection
    pair.slave.stop();
    let alone = wait_until(WAIT, || {
        r = get_json(&format!("{master_url}/api/replication"));
        r["brokers"].as_array().map_or(0, Vec::len) == 1 && r["haConnections"] == json!([])
    });
    assert!(alone, "{r}");
    pair.master.stop();
}
