//! The index builder (RocketMQ `CommitLogDispatcherBuildIndex`, fed the way `ReputMessageService`
//! feeds it): a service thread that follows the CommitLog from the last indexed record and adds
//! each record's keys. Puts never wait for it; a query sees a record once the builder passed it.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ferrocket_protocol::message::{
    parse_record, peek_record_header, property, PropertyFinder, RecordView, BLANK_MAGIC,
};

use crate::default_message_store::StoreInner;

/// Pause between catch-up rounds (RocketMQ's reput service sleeps 1 ms).
const BUILD_INTERVAL: Duration = Duration::from_millis(1);
/// Records indexed between checks for shutdown.
const SHUTDOWN_CHECK_EVERY: u32 = 1024;

/// What the index needs of one record (RocketMQ `DispatchRequest`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DispatchRequest<'a> {
    pub topic: &'a str,
    pub keys: Option<&'a str>,
    pub uniq_key: Option<&'a str>,
    pub commit_log_offset: i64,
    pub store_timestamp: i64,
    pub sys_flag: i32,
    /// Keys of the record already in the index (a restart in the middle of its keys).
    pub skip_keys: usize,
}

/// Where the builder starts: at the newest indexed record (whose keys may be partly indexed,
/// `skip` of them), else at the first record.
pub(crate) fn start_offset(inner: &StoreInner) -> (i64, usize) {
    let min = inner.commit_log.min_offset().max(0);
    match inner.index_service.last_indexed_phy_offset() {
        Some(end) if end >= min => (end, inner.index_service.entries_at_tail(end)),
        _ => (min, 0),
    }
}

/// The service loop; returns when the store stops.
pub(crate) fn run(inner: &Arc<StoreInner>) {
    let (mut next, mut skip_keys) = start_offset(inner);
    inner.index_service.set_build_offset(next);
    tracing::info!(from = next, "index builder started");
    let mut reported_stall = false;
    loop {
        match catch_up(inner, next, std::mem::take(&mut skip_keys)) {
            Ok(n) => {
                next = n;
                reported_stall = false;
            }
            Err((n, reason)) => {
                next = n;
                // resume inside the record without indexing its first keys twice
                if inner.index_service.last_indexed_phy_offset() == Some(n) {
                    skip_keys = inner.index_service.entries_at_tail(n);
                }
                if !reported_stall {
                    tracing::error!(offset = n, reason = %reason, "index builder cannot go on; retrying");
                    reported_stall = true;
                }
            }
        }
        inner.index_service.set_build_offset(next);
        if inner.signal.wait(BUILD_INTERVAL) {
            return;
        }
    }
}

/// Indexes every record from `next` to the CommitLog end; returns the new position, or the
/// position it is stuck at with the reason.
fn catch_up(inner: &StoreInner, mut next: i64, mut skip_keys: usize) -> Result<i64, (i64, String)> {
    let mut since_check = 0u32;
    // read the dispatched end once per stretch of records (on a master it looks up the newest
    // segment), and again only when the stretch is done
    let mut end = inner.dispatched_max_offset();
    loop {
        if next >= end {
            end = inner.dispatched_max_offset();
            if next >= end {
                return Ok(next);
            }
        }
        let Some(file) = inner.commit_log.queue().find_mapped_file_by_offset(next) else {
            // the segment was deleted: skip to what is left
            let min = inner.commit_log.min_offset();
            if min > next {
                next = min;
                continue;
            }
            return Err((next, "no commit log segment holds the offset".into()));
        };
        let pos = (next - file.file_from_offset()) as usize;
        // only published bytes are read: a record is complete once its header is visible
        let Some((size, magic)) = file.read(pos, 8).and_then(peek_record_header) else {
            return Ok(next);
        };
        if magic == BLANK_MAGIC {
            next = file.file_from_offset() + file.file_size() as i64;
        } else {
            let view = usize::try_from(size)
                .ok()
                .and_then(|size| file.read(pos, size))
                .ok_or_else(|| (next, format!("record of {size} bytes is not readable")))
                .and_then(|b| parse_record(b).map_err(|e| (next, e.to_string())))?;
            dispatch(inner, &view, next, std::mem::take(&mut skip_keys))
                .map_err(|e| (next, e.to_string()))?;
            next += view.total_size as i64;
        }
        inner.index_service.set_build_offset(next);
        since_check += 1;
        if since_check >= SHUTDOWN_CHECK_EVERY {
            since_check = 0;
            if inner.is_shutting_down() {
                return Ok(next);
            }
        }
    }
}

fn dispatch(
    inner: &StoreInner,
    view: &RecordView<'_>,
    phy: i64,
    skip_keys: usize,
) -> std::io::Result<()> {
    // only the values looked up are decoded, not the whole properties string
    static KEYS: LazyLock<PropertyFinder> = LazyLock::new(|| PropertyFinder::new(property::KEYS));
    static UNIQ_KEY: LazyLock<PropertyFinder> =
        LazyLock::new(|| PropertyFinder::new(property::UNIQ_KEY));
    let keys: Option<Cow<'_, str>> = KEYS.find(view.properties).map(String::from_utf8_lossy);
    let uniq_key = UNIQ_KEY.find(view.properties).map(String::from_utf8_lossy);
    let topic = String::from_utf8_lossy(view.topic);
    let req = DispatchRequest {
        topic: &topic,
        keys: keys.as_deref(),
        uniq_key: uniq_key.as_deref(),
        commit_log_offset: phy,
        store_timestamp: view.store_timestamp,
        sys_flag: view.sys_flag,
        skip_keys,
    };
    inner.index_service.build_index(&req, &inner.checkpoint)
}
