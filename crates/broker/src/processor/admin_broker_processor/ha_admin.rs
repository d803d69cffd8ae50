//! GET_BROKER_HA_STATUS (RocketMQ 5.x): replication state for `mqadmin haStatus`.

use ferrocket_protocol::body::ha_runtime_info::{
    HAClientRuntimeInfo, HAConnectionRuntimeInfo, HARuntimeInfo,
};
use ferrocket_protocol::RemotingCommand;

use super::ok_json;
use crate::service::AdminService;

pub(super) fn get_broker_ha_status(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    ok_json(&request, &ha_runtime_info(ctx))
}

/// The replication state of `broker`. Per-second transfer rates and the slave's read/write
/// timestamps are not tracked by the HA service and read 0; `transferFromWhere` is the
/// acknowledged offset, where the next transfer to that slave resumes.
pub fn ha_runtime_info(ctx: &AdminService) -> HARuntimeInfo {
    let ha = &ctx.ha;
    let max = ctx.store.get_max_phy_offset();
    if ctx.slave {
        return HARuntimeInfo {
            ha_client_runtime_info: HAClientRuntimeInfo {
                master_addr: ha.master_address(),
                max_offset: max,
                ..Default::default()
            },
            ..Default::default()
        };
    }
    let gap = ctx.store.config().ha_max_gap_not_in_sync;
    let connections: Vec<HAConnectionRuntimeInfo> = ha
        .slave_acks()
        .into_iter()
        .map(|(addr, ack)| {
            let ack = ack.max(0);
            let diff = (max - ack).max(0);
            HAConnectionRuntimeInfo {
                addr: addr.to_string(),
                slave_ack_offset: ack,
                diff,
                in_sync: diff < gap,
                transferred_byte_in_second: 0,
                transfer_from_where: ack,
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
