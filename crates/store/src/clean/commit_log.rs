//! CleanCommitLogService: deletes CommitLog segments older than `fileReservedTime`, at the
//! `deleteWhen` hours or when the disk is above `diskMaxUsedSpaceRatio`, and any segment but the
//! newest when the disk is above the forced-clean ratio (`cleanFileForciblyEnable`).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use super::delete_when::is_it_time_to_do;
use super::Ratios;
use crate::default_message_store::StoreInner;
use crate::disk::disk_partition_space_used_percent;

/// One run: delete what the time or the disk space says to delete.
pub(super) fn run(inner: &StoreInner) {
    let config = &inner.config;
    let time_up = is_it_time_to_do(&config.delete_when);
    let space_to_delete = is_space_to_delete(inner);
    let manual = inner
        .clean
        .manual_delete_times
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n > 0).then_some(n - 1)
        })
        .is_ok();
    if !(time_up || space_to_delete || manual) {
        return;
    }
    let clean_at_once =
        config.clean_file_forcibly_enable && inner.clean.clean_immediately.load(Ordering::Acquire);
    tracing::debug!(
        file_reserved_hours = config.file_reserved_time,
        time_up,
        space_to_delete,
        manual,
        clean_at_once,
        "begin to delete expired commit log files"
    );
    let expired = Duration::from_secs(config.file_reserved_time.saturating_mul(3600));
    let deleted = delete_expired_file_by_time(inner, expired, clean_at_once);
    if deleted == 0 && space_to_delete {
        tracing::warn!("disk space will be full soon, but no commit log file could be deleted");
    }
}

/// Deletes the oldest segments whose last write is `expired` ago (all of them but the newest
/// when `clean_at_once`), stopping at the first one still to keep so no hole is left.
fn delete_expired_file_by_time(
    inner: &StoreInner,
    expired: Duration,
    clean_at_once: bool,
) -> usize {
    let queue = inner.commit_log.queue();
    let files = queue.mapped_files();
    // the newest segment is the one being written: never deleted
    let candidates = files.len().saturating_sub(1);
    let pause = Duration::from_millis(inner.config.delete_commit_log_files_interval);
    let now = SystemTime::now();
    let mut deleted = 0;
    for (i, f) in files.iter().take(candidates).enumerate() {
        let expired_now =
            clean_at_once || last_modified(f.path()).is_some_and(|m| m + expired <= now);
        if !expired_now || !queue.remove_first(f) {
            break;
        }
        if let Err(e) = f.destroy() {
            tracing::warn!(path = %f.path().display(), error = %e, "cannot delete commit log file");
        } else {
            tracing::info!(path = %f.path().display(), "deleted expired commit log file");
        }
        deleted += 1;
        if deleted >= inner.config.delete_file_batch_max.max(1) {
            break;
        }
        if !pause.is_zero() && i + 1 < candidates && inner.signal.wait(pause) {
            break;
        }
    }
    deleted
}

fn last_modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The consume queue directory's usage, or the root's before that directory exists.
fn logics_ratio(inner: &StoreInner) -> f64 {
    let r = disk_partition_space_used_percent(&inner.config.consume_queue_path());
    if r >= 0.0 {
        return r;
    }
    disk_partition_space_used_percent(&inner.config.store_path_root_dir)
}

/// RocketMQ `isSpaceToDelete`: updates DISK_FULL and the forced-clean flag from the CommitLog
/// and ConsumeQueue partitions; true when they are above `diskMaxUsedSpaceRatio`.
fn is_space_to_delete(inner: &StoreInner) -> bool {
    let ratios = Ratios::of(&inner.config);
    let state = &inner.clean;
    state.clean_immediately.store(false, Ordering::Release);
    let physic = disk_partition_space_used_percent(&inner.config.commit_log_path());
    let logics = logics_ratio(inner);
    for (what, used) in [("commit log", physic), ("consume queue", logics)] {
        if used > ratios.warning {
            state.mark_disk_full(&format!(
                "{what} disk used {used:.2}, above diskSpaceWarningLevelRatio"
            ));
            state.clean_immediately.store(true, Ordering::Release);
            return true;
        }
        if used > ratios.clean_forcibly {
            state.clean_immediately.store(true, Ordering::Release);
            return true;
        }
        state.mark_disk_ok(&format!("{what} disk used {used:.2}"));
    }
    if physic < 0.0 || physic > ratios.max_used {
        tracing::info!(
            used = physic,
            "commit log disk maybe full soon, so reclaim space"
        );
        return true;
    }
    if logics < 0.0 || logics > ratios.max_used {
        tracing::info!(
            used = logics,
            "consume queue disk maybe full soon, so reclaim space"
        );
        return true;
    }
    false
}

/// RocketMQ `isSpaceFull`, run every 10 s: DISK_FULL follows the CommitLog partition's usage.
pub(crate) fn is_space_full(inner: &StoreInner) -> bool {
    let ratios = Ratios::of(&inner.config);
    let physic = disk_partition_space_used_percent(&inner.config.commit_log_path());
    if physic > ratios.warning {
        inner.clean.mark_disk_full(&format!(
            "commit log disk used {physic:.2}, above diskSpaceWarningLevelRatio {:.2}",
            ratios.warning
        ));
        true
    } else {
        inner
            .clean
            .mark_disk_ok(&format!("commit log disk used {physic:.2}"));
        false
    }
}
