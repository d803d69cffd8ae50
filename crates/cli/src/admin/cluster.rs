//! clusterList, brokerStatus, getBrokerConfig, updateBrokerConfig.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ferrocket_client::admin::{master_addrs_of, MQAdminExt};
use serde_json::json;

use super::output::{front, human_millis, line, Report};

/// The brokers a command addresses: `-b` one broker, or `-c` every master of a cluster.
pub(super) async fn targets(
    admin: &MQAdminExt,
    broker: Option<&str>,
    cluster: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    match (broker, cluster) {
        (Some(b), _) => Ok(vec![b.trim().to_string()]),
        (None, Some(c)) => {
            let info = admin.examine_broker_cluster_info().await?;
            if !info.cluster_addr_table.contains_key(c.trim()) {
                anyhow::bail!("cluster [{}] not found in the name server", c.trim());
            }
            Ok(master_addrs_of(&info, Some(c.trim())).into_iter().collect())
        }
        (None, None) => anyhow::bail!("one of -b (brokerAddr) or -c (clusterName) is required"),
    }
}

/// `clusterList` options.
#[derive(clap::Args)]
pub struct ClusterListArgs {
    /// Only this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

pub(super) async fn cluster_list(admin: &MQAdminExt, a: ClusterListArgs) -> anyhow::Result<Report> {
    let info = admin.examine_broker_cluster_info().await?;
    let mut text = String::new();
    cluster_list_header(&mut text);
    let mut rows = Vec::new();
    for (cluster, brokers) in &info.cluster_addr_table {
        if a.cluster.as_deref().is_some_and(|c| c != cluster) {
            continue;
        }
        for broker_name in brokers {
            let Some(data) = info.broker_addr_table.get(broker_name) else {
                continue;
            };
            // ids ascend: the master (0) comes first, its CommitLog end measures the slaves' lag
            let mut master_max: Option<i64> = None;
            for (id, addr) in &data.broker_addrs {
                let kv = admin
                    .fetch_broker_runtime_stats(addr)
                    .await
                    .map(|t| t.table)
                    .unwrap_or_default();
                let max_offset = kv
                    .get("commitLogMaxOffset")
                    .and_then(|v| v.parse::<i64>().ok());
                let lag = replication_lag(*id, master_max, max_offset);
                if *id == 0 {
                    master_max = max_offset;
                }
                let place = RowPlace {
                    cluster,
                    broker_name,
                    id: *id,
                    addr,
                };
                rows.push(broker_row(&mut text, &place, &kv, lag));
            }
        }
    }
    Ok(Report::new(text, json!(rows)))
}

/// The column titles of `clusterList`.
fn cluster_list_header(text: &mut String) {
    line!(
        text,
        "{:<22}  {:<22}  {:<4}  {:<22} {:<16}  {:>16}  {:>30}  {:<22}  {:<11}  {:<12}  {:<8}  {:>12}  {:<10}",
        "#Cluster Name",
        "#Broker Name",
        "#BID",
        "#Addr",
        "#Version",
        "#InTPS(LOAD)",
        "#OutTPS(LOAD)",
        "#Timer(Progress)",
        "#PCWait(ms)",
        "#Hour",
        "#SPACE",
        "#Lag(bytes)",
        "#ACTIVATED"
    );
}

/// Which broker a `clusterList` row describes.
struct RowPlace<'a> {
    cluster: &'a str,
    broker_name: &'a str,
    id: i64,
    addr: &'a str,
}

/// Writes one broker's `clusterList` line from its runtime stats `kv` and returns its JSON row.
fn broker_row(
    text: &mut String,
    place: &RowPlace<'_>,
    kv: &BTreeMap<String, String>,
    lag: Option<i64>,
) -> serde_json::Value {
    let get = |k: &str| kv.get(k).cloned().unwrap_or_default();
    let first_num = |k: &str| {
        get(k)
            .split(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (tps_in, tps_out) = (first_num("putTps"), first_num("getTransferredTps"));
    let active = get("brokerActive") == "true";
    let version = get("brokerVersionDesc");
    let hour = kv
        .get("earliestMessageTimeStamp")
        .and_then(|v| v.parse::<i64>().ok())
        .map(|t| (super::output::now_millis() - t) as f64 / 3_600_000.0)
        .unwrap_or(0.0);
    let space = kv
        .get("commitLogDiskRatio")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    let or_n = |k: &str| kv.get(k).cloned().unwrap_or_else(|| "N".into());
    line!(
        text,
        "{:<22}  {:<22}  {:<4}  {:<22} {:<16}  {:>16}  {:>30}  {:<22}  {:>11}  {:<12}  {:<8}  {:>12}  {:>10}",
        place.cluster,
        place.broker_name,
        place.id,
        place.addr,
        version,
        format!(
            "{:9.2}({},{}ms)",
            tps_in,
            get("sendThreadPoolQueueSize"),
            get("sendThreadPoolQueueHeadWaitTimeMills")
        ),
        format!(
            "{:9.2}({},{}ms|{},{}ms)",
            tps_out,
            get("pullThreadPoolQueueSize"),
            get("pullThreadPoolQueueHeadWaitTimeMills"),
            or_n("ackThreadPoolQueueSize"),
            or_n("ackThreadPoolQueueHeadWaitTimeMills")
        ),
        "0-0(0.0w, 0.0, 0.0)",
        get("pageCacheLockTimeMills"),
        format!("{hour:.2}"),
        format!("{space:.4}"),
        lag.map_or_else(|| "-".to_string(), |l| l.to_string()),
        active
    );
    json!({
        "clusterName": place.cluster,
        "brokerName": place.broker_name,
        "brokerId": place.id,
        "addr": place.addr,
        "version": version,
        "inTps": tps_in,
        "outTps": tps_out,
        "activated": active,
        "replicationLagBytes": lag,
    })
}

/// A slave's replication lag: bytes between its CommitLog end and its master's, both read by
/// this command (`None` for a master, or when either end is unknown).
fn replication_lag(id: i64, master_max: Option<i64>, slave_max: Option<i64>) -> Option<i64> {
    if id == 0 {
        return None;
    }
    Some((master_max? - slave_max?).max(0))
}

/// `brokerStatus` options.
#[derive(clap::Args)]
pub struct BrokerStatusArgs {
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

pub(super) async fn broker_status(
    admin: &MQAdminExt,
    a: BrokerStatusArgs,
) -> anyhow::Result<Report> {
    let addrs = targets(admin, a.broker.as_deref(), a.cluster.as_deref()).await?;
    let mut text = String::new();
    let mut out = BTreeMap::new();
    for addr in addrs {
        let table = admin.fetch_broker_runtime_stats(&addr).await?.table;
        for (k, v) in &table {
            if a.cluster.is_some() && a.broker.is_none() {
                line!(text, "{:<24} {:<32}: {}", addr, k, v);
            } else {
                line!(text, "{:<32}: {}", k, v);
            }
        }
        out.insert(addr, table);
    }
    Ok(Report::new(text, json!(out)))
}

/// `haStatus` options.
#[derive(clap::Args)]
pub struct HaStatusArgs {
    /// Broker address (a master or a slave).
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

/// mqadmin 5.x `haStatus`: on a master its slave connections, on a slave its HA client, in
/// mqadmin's layout (times in UTC).
pub(super) async fn ha_status(admin: &MQAdminExt, a: HaStatusArgs) -> anyhow::Result<Report> {
    let addrs = targets(admin, a.broker.as_deref(), a.cluster.as_deref()).await?;
    let mut text = String::new();
    let mut out = BTreeMap::new();
    for addr in addrs {
        let info = admin.get_broker_ha_status(&addr).await?;
        if info.master {
            line!(text, "\n#MasterAddr\t{addr}");
            line!(
                text,
                "#MasterCommitLogMaxOffset\t{}",
                info.master_commit_log_max_offset
            );
            line!(text, "#SlaveNum\t{}", info.ha_connection_info.len());
            line!(text, "#InSyncSlaveNum\t{}", info.in_sync_slave_nums);
            line!(
                text,
                "{:<32}  {:<16} {:>16} {:>16} {:>16} {:>16}",
                "#SlaveAddr",
                "#SlaveAckOffset",
                "#Diff",
                "#TransferSpeed(KB/s)",
                "#Status",
                "#TransferFromWhere"
            );
            for c in &info.ha_connection_info {
                line!(
                    text,
                    "{:<32}  {:<16} {:>16} {:>16.2} {:>16} {:>16}",
                    c.addr,
                    c.slave_ack_offset,
                    c.diff,
                    c.transferred_byte_in_second as f64 / 1024.0,
                    if c.in_sync { "OK" } else { "Fall Behind" },
                    c.transfer_from_where
                );
            }
        } else {
            let c = &info.ha_client_runtime_info;
            line!(
                text,
                "\n#MasterAddr\t{}",
                c.master_addr.as_deref().unwrap_or("null")
            );
            line!(text, "#CommitLogMaxOffset\t{}", c.max_offset);
            line!(
                text,
                "#TransferSpeed(KB/s)\t{:.2}",
                c.transferred_byte_in_second as f64 / 1024.0
            );
            line!(
                text,
                "#LastReadTime\t{}",
                human_millis(c.last_read_timestamp)
            );
            line!(
                text,
                "#LastWriteTime\t{}",
                human_millis(c.last_write_timestamp)
            );
            line!(text, "#MasterFlushOffset\t{}", c.master_flush_offset);
        }
        out.insert(addr, serde_json::to_value(&info)?);
    }
    Ok(Report::new(text, json!(out)))
}

/// `getBrokerConfig` options.
#[derive(clap::Args)]
pub struct GetBrokerConfigArgs {
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
}

pub(super) async fn get_broker_config(
    admin: &MQAdminExt,
    a: GetBrokerConfigArgs,
) -> anyhow::Result<Report> {
    let addrs = targets(admin, a.broker.as_deref(), a.cluster.as_deref()).await?;
    let mut text = String::new();
    let mut out = BTreeMap::new();
    for addr in addrs {
        let config = admin.get_broker_config(&addr).await?;
        if a.cluster.is_some() && a.broker.is_none() {
            line!(text, "============Master: {addr}============");
        } else {
            line!(text, "============{addr}============");
        }
        if config.is_empty() {
            line!(text, "Broker[{addr}] has no config property!");
        }
        for (k, v) in &config {
            line!(text, "{:<50}=  {}", front(k, 50), v);
        }
        line!(text, "");
        out.insert(addr, config);
    }
    Ok(Report::new(text, json!(out)))
}

/// `updateBrokerConfig` options.
#[derive(clap::Args)]
pub struct UpdateBrokerConfigArgs {
    /// Broker address.
    #[arg(short = 'b', long = "brokerAddr")]
    broker: Option<String>,
    /// Every master of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    cluster: Option<String>,
    /// Setting name.
    #[arg(short = 'k', long = "key")]
    key: String,
    /// New value.
    #[arg(short = 'v', long = "value")]
    value: String,
}

pub(super) async fn update_broker_config(
    admin: &MQAdminExt,
    a: UpdateBrokerConfigArgs,
) -> anyhow::Result<Report> {
    let addrs = targets(admin, a.broker.as_deref(), a.cluster.as_deref()).await?;
    let settings = BTreeMap::from([(a.key.trim().to_string(), a.value.trim().to_string())]);
    let mut text = String::new();
    for addr in &addrs {
        admin.update_broker_config(addr, &settings).await?;
        line!(text, "update broker config success, {addr}");
    }
    Ok(Report::new(
        text,
        json!({"updated": addrs, "key": a.key.trim(), "value": a.value.trim()}),
    ))
}
