//! GET_BROKER_HA_STATUS (RocketMQ 5.x): replication state for `mqadmin haStatus`.

use ferrocket_protocol::body::ha_runtime_info::{
    HAClientRuntimeInfo, HAConnectionRuntimeInfo, HARuntimeInfo,
};
use ferrocket_protocol::RemotingCommand;
use ferrocket_store::disk_partition_space_used_percent;

use super::ok_json;
use crate::service::AdminService;

pub(super) fn get_broker_ha_status(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    ok_json(&request, &ha_runtime_info(ctx))
}

/// GET_BROKER_RUNTIME_INFO: the statistics table, with `earliestMessageTimeStamp` (the store
/// time of the CommitLog's oldest record, which `clusterList` turns into `#Hour`) read on the
/// blocking pool because the oldest file is usually not in memory.
pub(super) async fn get_broker_runtime_info(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let store = ctx.store.clone();
    let earliest = ferrocket_store::blocking::run_blocking(move || {
        store.get_earliest_message_time_in_commit_log()
    })
    .await
    .unwrap_or(-1);
    super::stats_admin::get_broker_runtime_info(ctx, request, earliest)
}

/// The replication state of `broker`, field for field as RocketMQ 5.x's
/// `DefaultHAService.getRuntimeInfo`: on a master one entry per slave connection (its socket
/// address, last report, `diff` = CommitLog end − report, in sync when `diff` <
/// `haMaxGapNotInSync`, bytes sent in the last second, where the next frame starts); on a slave
/// its HA client (master address, CommitLog end, bytes received in the last second, last read
/// and write times, the master flushed offset kept in the checkpoint). The HA threads keep these
/// figures in atomics; this only loads them.
pub fn ha_runtime_info(ctx: &AdminService) -> HARuntimeInfo {
    let ha = &ctx.ha;
    let store = &ctx.store;
    let max = store.get_max_phy_offset();
    if ctx.slave {
        let client = ha.client_runtime_info();
        return HARuntimeInfo {
            ha_client_runtime_info: HAClientRuntimeInfo {
                master_addr: client.master_address,
                transferred_byte_in_second: client.transferred_byte_in_second,
                max_offset: max,
                last_read_timestamp: client.last_read_timestamp,
                last_write_timestamp: client.last_write_timestamp,
                master_flush_offset: store.get_master_flushed_offset(),
            },
            ..Default::default()
        };
    }
    let gap = ctx.store.config().ha_max_gap_not_in_sync;
    let connections: Vec<HAConnectionRuntimeInfo> = ha
        .connection_runtime_info()
        .into_iter()
        .map(|c| {
            let diff = max - c.slave_ack_offset;
            HAConnectionRuntimeInfo {
                addr: c.addr.to_string(),
                slave_ack_offset: c.slave_ack_offset,
                diff,
                in_sync: diff < gap,
                transferred_byte_in_second: c.transferred_byte_in_second,
                transfer_from_where: c.transfer_from_where,
            }
        })
        .collect();
    HARuntimeInfo {
        master: true,
        master_commit_log_max_offset: max,
        in_sync_slave_nums: connections.iter().filter(|c| c.in_sync).count() as i32,
        ha_connection_info: connections,
        ha_client_runtime_info: HAClientRuntimeInfo::default(),
    }
}

/// The GET_BROKER_RUNTIME_INFO keys whose values tell a master from a slave and how far each
/// is, as RocketMQ 5.x's `prepareRuntimeInfo` and `DefaultMessageStore.getRuntimeInfo` compute
/// them (neither 4.9 nor 5.x emits a key of its own for replication: `commitLogMaxOffset` of a
/// slave against its master's is the lag, and `mqadmin haStatus` has the rest):
/// `brokerActive` (5.x `isSpecialServiceRunning`: the schedule, transaction-check and revive
/// services run on a master only), `commitLogMinOffset` / `commitLogMaxOffset`,
/// `dispatchBehindBytes` (CommitLog bytes not yet in a ConsumeQueue: a slave that received
/// more than it indexed), and the disk ratios `clusterList` shows as `#SPACE`. Only
/// atomics and one `statvfs` per path.
pub(super) fn replication_runtime_keys(ctx: &AdminService) -> Vec<(String, String)> {
    let store = &ctx.store;
    let config = store.config();
    let max = store.get_max_phy_offset();
    let commit_log_path = config.commit_log_path();
    let commit_log_ratio = disk_partition_space_used_percent(&commit_log_path);
    vec![
        ("brokerActive".into(), (!ctx.slave).to_string()),
        (
            "commitLogMinOffset".into(),
            store.get_min_phy_offset().to_string(),
        ),
        ("commitLogMaxOffset".into(), max.to_string()),
        (
            "dispatchBehindBytes".into(),
            (max - store.dispatched_max_offset()).max(0).to_string(),
        ),
        ("commitLogDiskRatio".into(), commit_log_ratio.to_string()),
        (
            format!("commitLogDiskRatio_{}", commit_log_path.display()),
            commit_log_ratio.to_string(),
        ),
        (
            "consumeQueueDiskRatio".into(),
            disk_partition_space_used_percent(&config.consume_queue_path()).to_string(),
        ),
    ]
}

/// The replication settings GET_BROKER_CONFIG lists (RocketMQ lists every store setting; these
/// tell an operator, `mqadmin getBrokerConfig` or the console which role a broker runs in and
/// where it replicates from).
pub(super) fn replication_config_keys(ctx: &AdminService) -> Vec<(&'static str, String)> {
    let store = ctx.store.config();
    let mut keys = vec![
        ("brokerRole", store.broker_role.as_str().to_string()),
        (
            "haListenPort",
            ctx.ha
                .local_addr()
                .map_or(store.ha_listen_port, |a| a.port())
                .to_string(),
        ),
        (
            "haSendHeartbeatInterval",
            store.ha_send_heartbeat_interval.to_string(),
        ),
        (
            "haHousekeepingInterval",
            store.ha_housekeeping_interval.to_string(),
        ),
        (
            "haTransferBatchSize",
            store.ha_transfer_batch_size.to_string(),
        ),
        (
            "haMaxGapNotInSync",
            store.ha_max_gap_not_in_sync.to_string(),
        ),
        (
            "slaveReadEnable",
            ctx.config.get().slave_read_enable.to_string(),
        ),
    ];
    if let Some(addr) = &store.ha_master_address {
        keys.push(("haMasterAddress", addr.clone()));
    }
    keys
}
