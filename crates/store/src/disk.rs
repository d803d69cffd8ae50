//! Disk usage of the store's partitions, measured like RocketMQ's
//! `UtilAll.getDiskPartitionSpaceUsedPercent`.

use std::path::Path;

/// Used fraction (0.0..=1.0, rounded up to hundredths) of the filesystem holding `path`, or
/// -1.0 when it cannot be measured (missing path, failing `statvfs`).
///
/// Space reserved for root counts as used, as in RocketMQ: `used / (used + available)`.
pub fn disk_partition_space_used_percent(path: &Path) -> f64 {
    let Some((total, free, avail)) = filesystem_space(path) else {
        return -1.0;
    };
    if total == 0 {
        return -1.0;
    }
    let used = total.saturating_sub(free);
    let entire = used + avail;
    if entire == 0 {
        return -1.0;
    }
    let round = u64::from(!(used as u128 * 100).is_multiple_of(entire as u128));
    let percent = (used as u128 * 100 / entire as u128) as u64 + round;
    percent as f64 / 100.0
}

/// `(total, free, available to unprivileged users)` bytes of the filesystem holding `path`, or
/// `None` when `statvfs` fails.
#[cfg(unix)]
pub fn filesystem_space(path: &Path) -> Option<(u64, u64, u64)> {
    let st = rustix::fs::statvfs(path).ok()?;
    let unit = st.f_frsize;
    Some((
        st.f_blocks.saturating_mul(unit),
        st.f_bfree.saturating_mul(unit),
        st.f_bavail.saturating_mul(unit),
    ))
}

/// `(total, free, available)` bytes: unknown on this platform.
#[cfg(not(unix))]
pub fn filesystem_space(_path: &Path) -> Option<(u64, u64, u64)> {
    None
}

/// Usage of the CommitLog, ConsumeQueue and index partitions as RocketMQ's send path reports
/// it in a SERVICE_NOT_AVAILABLE remark: `CL:  0.93 CQ:  0.93 INDEX:  0.93`.
pub fn disk_util(config: &crate::MessageStoreConfig) -> String {
    let cl = disk_partition_space_used_percent(&config.commit_log_path());
    let cq = disk_partition_space_used_percent(&config.consume_queue_path());
    let index = disk_partition_space_used_percent(&config.store_path_root_dir.join("index"));
    format!("CL: {cl:5.2} CQ: {cq:5.2} INDEX: {index:5.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_an_existing_path_and_refuses_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let r = disk_partition_space_used_percent(dir.path());
        assert!((0.0..=1.0).contains(&r), "{r}");
        assert_eq!(
            disk_partition_space_used_percent(&dir.path().join("missing")),
            -1.0
        );
        let util = disk_util(&crate::MessageStoreConfig::with_root(dir.path().join("x")));
        assert_eq!(util, "CL: -1.00 CQ: -1.00 INDEX: -1.00");
    }
}
