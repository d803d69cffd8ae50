//! GET /api/replication: this broker's replica set — the master and its slaves as the name
//! server lists them (`GET_BROKER_CLUSTER_INFO`), each with its role, its CommitLog end and,
//! for a slave, how many bytes it is behind the master — plus this broker's own HA state: a
//! master's slave connections, a slave's HA client (what `mqadmin haStatus` shows).
//!
//! The figures of the other brokers come from their `GET_BROKER_RUNTIME_INFO` and
//! `GET_BROKER_CONFIG`, asked concurrently with the broker's name-server client (signed when
//! ACL is on, over TLS when configured); a broker that does not answer is listed with the
//! error instead of figures.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::broker_view::BrokerView;
use ferrocket_broker::processor::admin_broker_processor::ha_runtime_info;
use ferrocket_protocol::body::route::ClusterInfo;
use ferrocket_protocol::body::topic::KvTable;
use ferrocket_protocol::code::request;
use serde_json::{json, Value};

use crate::http::Response;
use crate::server::ConsoleContext;

/// What is known of one member of the replica set.
#[derive(Debug, Default)]
struct Member {
    id: i64,
    addr: String,
    role: Option<String>,
    max_offset: Option<i64>,
    error: Option<String>,
}

/// GET /api/replication
pub async fn replication(ctx: Arc<ConsoleContext>) -> Response {
    let b = &ctx.broker;
    let (addrs, namesrv_error) = match replica_addrs(b).await {
        Ok(a) => (a, None),
        Err(e) => (BTreeMap::new(), Some(e)),
    };
    let mut members = Vec::new();
    let calls = addrs.iter().map(|(id, addr)| member(b, *id, addr));
    for m in futures::future::join_all(calls).await {
        members.push(m);
    }
    if !members.iter().any(|m| m.addr == b.broker_addr()) {
        // not registered (yet), or the name servers are unreachable: still show this broker
        members.push(local_member(b));
        members.sort_by_key(|m| m.id);
    }
    let gap = b.store_config.ha_max_gap_not_in_sync;
    let master_max = members
        .iter()
        .find(|m| m.id == 0)
        .and_then(|m| m.max_offset);
    let brokers: Vec<Value> = members.iter().map(|m| row(m, master_max, gap)).collect();
    let ha = ha_runtime_info(&b.admin);
    let config = b.broker_config();
    Response::json(&json!({
        "clusterName": config.broker_cluster_name,
        "brokerName": config.broker_name,
        "brokerId": config.broker_id,
        "role": b.store_config.broker_role.as_str(),
        "haMaxGapNotInSync": gap,
        "namesrvError": namesrv_error,
        "brokers": brokers,
        "haConnections": ha.ha_connection_info,
        "haClient": (!ha.master).then_some(ha.ha_client_runtime_info),
    }))
}

/// One row of the replica table: a slave's lag is the master's CommitLog end minus its own
/// (as `clusterList` computes it), in sync below `haMaxGapNotInSync`.
fn row(m: &Member, master_max: Option<i64>, gap: i64) -> Value {
    let lag = match (m.id, master_max, m.max_offset) {
        (0, _, _) => None,
        (_, Some(master), Some(own)) => Some((master - own).max(0)),
        _ => None,
    };
    json!({
        "brokerId": m.id,
        "addr": m.addr,
        "role": m.role,
        "commitLogMaxOffset": m.max_offset,
        "lagBytes": lag,
        "inSync": lag.map(|l| l < gap),
        "error": m.error,
    })
}

/// The ids and addresses of this broker name's members, from the first name server that
/// answers.
async fn replica_addrs(b: &BrokerView) -> Result<BTreeMap<i64, String>, String> {
    let namesrvs = b.broker_config().namesrv_addrs();
    let mut last_error = "no name server configured (namesrvAddr)".to_string();
    for ns in &namesrvs {
        match b
            .outer_api()
            .fetch_body(ns, request::GET_BROKER_CLUSTER_INFO)
            .await
        {
            Ok(body) => {
                let info: ClusterInfo = ferrocket_protocol::body::decode(&body)
                    .map_err(|e| format!("undecodable cluster info from {ns}: {e}"))?;
                return Ok(info
                    .broker_addr_table
                    .get(&b.broker_config().broker_name)
                    .map(|d| d.broker_addrs.clone())
                    .unwrap_or_default());
            }
            Err(e) => last_error = format!("name server {ns}: {e}"),
        }
    }
    Err(last_error)
}

fn local_member(b: &BrokerView) -> Member {
    Member {
        id: b.broker_config().broker_id,
        addr: b.broker_addr(),
        role: Some(b.store_config.broker_role.as_str().to_string()),
        max_offset: Some(b.store.get_max_phy_offset()),
        error: None,
    }
}

/// This broker from memory; another one by asking it.
async fn member(b: &BrokerView, id: i64, addr: &str) -> Member {
    if addr == b.broker_addr() {
        return local_member(b);
    }
    let api = b.outer_api();
    let (stats, config) = futures::join!(
        api.fetch_body(addr, request::GET_BROKER_RUNTIME_INFO),
        api.fetch_body(addr, request::GET_BROKER_CONFIG)
    );
    let mut m = Member {
        id,
        addr: addr.to_string(),
        ..Member::default()
    };
    match stats.and_then(|body| {
        ferrocket_protocol::body::decode::<KvTable>(&body).map_err(|e| e.to_string())
    }) {
        Ok(t) => {
            m.max_offset = t
                .table
                .get("commitLogMaxOffset")
                .and_then(|v| v.parse().ok())
        }
        Err(e) => m.error = Some(e),
    }
    // the role is a broker setting; without it the id tells master from slave
    m.role = config
        .ok()
        .and_then(|body| property(&body, "brokerRole"))
        .or_else(|| Some(if id == 0 { "MASTER" } else { "SLAVE" }.to_string()));
    m
}

/// `key`'s value in a GET_BROKER_CONFIG body (Java properties text).
fn property(body: &[u8], key: &str) -> Option<String> {
    String::from_utf8_lossy(body).lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_measured_against_the_master_and_judged_by_the_gap() {
        let m = |id, max| Member {
            id,
            max_offset: max,
            ..Member::default()
        };
        let r = row(&m(1, Some(700)), Some(1000), 256);
        assert_eq!(r["lagBytes"], 300);
        assert_eq!(r["inSync"], false);
        let r = row(&m(1, Some(900)), Some(1000), 256);
        assert_eq!(r["inSync"], true);
        assert_eq!(
            row(&m(0, Some(1000)), Some(1000), 256)["lagBytes"],
            Value::Null
        );
        assert_eq!(row(&m(2, None), Some(1000), 256)["inSync"], Value::Null);
    }

    #[test]
    fn reads_one_property() {
        let body = b"brokerName=a\nbrokerRole=SYNC_MASTER\n";
        assert_eq!(property(body, "brokerRole").as_deref(), Some("SYNC_MASTER"));
        assert_eq!(property(body, "missing"), None);
    }
}
