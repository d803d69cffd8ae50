//! Retention (RocketMQ `CleanCommitLogService`, `CleanConsumeQueueService` and the disk-space
//! check): expired CommitLog segments are deleted at the `deleteWhen` hours or when the disk
//! fills up, ConsumeQueue segments and min offsets follow the CommitLog's new start, and puts
//! are refused while the disk is above `diskSpaceWarningLevelRatio`.

mod commit_log;
mod consume_queue;
mod delete_when;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::default_message_store::StoreInner;

pub(crate) use commit_log::is_space_full;
pub(crate) use delete_when::parse_delete_when;

/// First disk check after start, and its period (RocketMQ's fixed 1 s / 10 s schedule).
const DISK_CHECK_FIRST: Duration = Duration::from_secs(1);
const DISK_CHECK_INTERVAL: Duration = Duration::from_secs(10);
/// Runs of the clean services that an explicit request forces (RocketMQ
/// `MAX_MANUAL_DELETE_FILE_TIMES`).
const MAX_MANUAL_DELETE_FILE_TIMES: i32 = 20;

/// Retention state shared by the put path and the clean thread.
#[derive(Debug, Default)]
pub(crate) struct CleanState {
    /// RocketMQ's DISK_FULL running flag: puts get SERVICE_NOT_AVAILABLE while set.
    disk_full: AtomicBool,
    /// Set by the last space check when the disk is above the forced-clean ratio.
    clean_immediately: AtomicBool,
    /// CommitLog min offset the ConsumeQueues were last cleaned against.
    last_physical_min_offset: AtomicI64,
    /// Clean runs still forced by [`CleanState::execute_delete_files_manually`].
    manual_delete_times: AtomicI32,
}

impl CleanState {
    /// Whether puts are refused for lack of disk space.
    pub(crate) fn is_disk_full(&self) -> bool {
        self.disk_full.load(Ordering::Acquire)
    }

    /// Raises DISK_FULL, logging the first time.
    pub(crate) fn mark_disk_full(&self, why: &str) {
        if !self.disk_full.swap(true, Ordering::AcqRel) {
            tracing::error!(
                reason = why,
                "disk full: puts are refused until space frees"
            );
        }
    }

    /// Clears DISK_FULL, logging when it was set.
    pub(crate) fn mark_disk_ok(&self, why: &str) {
        if self.disk_full.swap(false, Ordering::AcqRel) {
            tracing::info!(reason = why, "disk space OK: puts are accepted again");
        }
    }

    /// Makes the next clean runs delete expired files whatever the hour.
    pub(crate) fn execute_delete_files_manually(&self) {
        self.manual_delete_times
            .store(MAX_MANUAL_DELETE_FILE_TIMES, Ordering::Release);
        tracing::info!("executeDeleteFilesManually was invoked");
    }
}

/// Ratios as fractions, clamped the way RocketMQ clamps them.
pub(crate) struct Ratios {
    /// Above this puts are refused (DISK_FULL) and files deleted at once.
    pub warning: f64,
    /// Above this files are deleted whatever their age.
    pub clean_forcibly: f64,
    /// Above this expired files are deleted at any hour.
    pub max_used: f64,
}

impl Ratios {
    pub(crate) fn of(config: &crate::MessageStoreConfig) -> Ratios {
        let pct = |v: u32, lo: u32, hi: u32| f64::from(v.clamp(lo, hi)) / 100.0;
        Ratios {
            warning: pct(config.disk_space_warning_level_ratio, 35, 90),
            clean_forcibly: pct(config.disk_space_clean_forcibly_ratio, 30, 85),
            max_used: pct(config.disk_max_used_space_ratio, 10, 95),
        }
    }
}

/// One run of both clean services (RocketMQ `cleanFilesPeriodically`).
pub(crate) fn clean_files_periodically(inner: &StoreInner) {
    commit_log::run(inner);
    consume_queue::run(inner);
}

/// The clean thread: the disk check every 10 s and the clean services every
/// `cleanResourceInterval` (RocketMQ waits 60 s before the first clean; here it is one interval).
pub(crate) fn run(inner: &Arc<StoreInner>) {
    let clean_every = Duration::from_millis(inner.config.clean_resource_interval.max(1));
    let start = Instant::now();
    let mut next_disk = start + DISK_CHECK_FIRST;
    let mut next_clean = start + clean_every;
    loop {
        let now = Instant::now();
        let next = next_disk.min(next_clean);
        if inner.signal.wait(next.saturating_duration_since(now)) {
            return;
        }
        let now = Instant::now();
        if now >= next_disk {
            is_space_full(inner);
            next_disk = now + DISK_CHECK_INTERVAL;
        }
        if now >= next_clean {
            clean_files_periodically(inner);
            next_clean = Instant::now() + clean_every;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_defaults_match_rocketmq() {
        let c = crate::MessageStoreConfig::default();
        assert_eq!(c.file_reserved_time, 72);
        assert_eq!(c.delete_when, "04");
        assert_eq!(c.disk_max_used_space_ratio, 75);
        assert_eq!(c.clean_resource_interval, 10_000);
        assert_eq!(c.delete_commit_log_files_interval, 100);
        assert_eq!(c.delete_consume_queue_files_interval, 100);
        assert_eq!(c.destroy_maped_file_interval_forcibly, 120_000);
        assert_eq!(c.delete_file_batch_max, 10);
        assert!(c.clean_file_forcibly_enable);
        let v = serde_json::to_value(&c).unwrap();
        for key in [
            "fileReservedTime",
            "deleteWhen",
            "diskMaxUsedSpaceRatio",
            "diskSpaceWarningLevelRatio",
            "diskSpaceCleanForciblyRatio",
            "cleanFileForciblyEnable",
            "cleanResourceInterval",
            "deleteCommitLogFilesInterval",
            "deleteConsumeQueueFilesInterval",
            "destroyMapedFileIntervalForcibly",
            "deleteFileBatchMax",
        ] {
            assert!(v.get(key).is_some(), "{key}");
        }
        let mut bad = c.clone();
        bad.delete_when = "4am".into();
        assert!(bad.validate().is_err());
    }

    #[test]
    fn ratios_are_clamped_like_rocketmq() {
        let mut c = crate::MessageStoreConfig::with_root("/r");
        let r = Ratios::of(&c);
        assert_eq!(
            (r.warning, r.clean_forcibly, r.max_used),
            (0.90, 0.85, 0.75)
        );
        c.disk_space_warning_level_ratio = 99;
        c.disk_space_clean_forcibly_ratio = 1;
        c.disk_max_used_space_ratio = 100;
        let r = Ratios::of(&c);
        assert_eq!(
            (r.warning, r.clean_forcibly, r.max_used),
            (0.90, 0.30, 0.95)
        );
    }

    #[test]
    fn disk_full_flag_round_trip() {
        let s = CleanState::default();
        assert!(!s.is_disk_full());
        s.mark_disk_full("test");
        assert!(s.is_disk_full());
        s.mark_disk_ok("test");
        assert!(!s.is_disk_full());
    }
}
