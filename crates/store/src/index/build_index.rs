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
use crate::index::index_file::IndexFile;
use crate::mapped_file::SequentialPrefetch;

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

/// The service loop of a master; returns when the store stops. (A slave indexes on its reput
/// thread, through an [`IndexCursor`] of its own.)
pub(crate) fn run(inner: &Arc<StoreInner>) {
    let mut cursor = IndexCursor::start(inner);
    loop {
        cursor.catch_up(inner);
        if inner.signal.wait(BUILD_INTERVAL) {
            return;
        }
    }
}

/// Where indexing stands: the next record to index and how many of its keys the index already
/// holds. The master's index thread moves it over the CommitLog on its own; a slave's reput
/// thread moves it along the records it dispatches (RocketMQ's `ReputMessageService` calls the
/// index dispatcher after the ConsumeQueue one), so each replicated record is parsed once,
/// while its bytes are still in the CPU's caches.
#[derive(Debug)]
pub(crate) struct IndexCursor {
    next: i64,
    skip_keys: usize,
    /// The index file appended to during the current run of records (dropped by `publish`).
    newest: Option<Arc<IndexFile>>,
    /// A failure was logged and nothing was indexed since.
    reported_stall: bool,
}

impl IndexCursor {
    /// At the newest indexed record, published as the build offset.
    pub(crate) fn start(inner: &StoreInner) -> Self {
        let (next, skip_keys) = start_offset(inner);
        tracing::info!(from = next, "index builder started");
        let mut cursor = IndexCursor {
            next,
            skip_keys,
            newest: None,
            reported_stall: false,
        };
        cursor.publish(inner);
        cursor
    }

    /// Indexes every record from the cursor to the dispatched end, reading them from the
    /// CommitLog; a failure is logged once and retried on the next call.
    pub(crate) fn catch_up(&mut self, inner: &StoreInner) {
        match catch_up(inner, self.next, std::mem::take(&mut self.skip_keys)) {
            Ok(n) => {
                self.next = n;
                self.reported_stall = false;
            }
            Err((n, reason)) => self.stall(inner, n, &reason),
        }
        self.publish(inner);
    }

    /// The record at `phy`, parsed by the caller, ends at `end` (`view` is `None` for the
    /// blank end of a segment): indexes it if the cursor stands there, else leaves it to
    /// [`Self::catch_up`]. The caller publishes the build offset with [`Self::publish`].
    pub(crate) fn follow(
        &mut self,
        inner: &StoreInner,
        view: Option<&RecordView<'_>>,
        phy: i64,
        end: i64,
    ) {
        if self.next != phy {
            return;
        }
        let indexed = view.map_or(Ok(()), |v| {
            let skip_keys = std::mem::take(&mut self.skip_keys);
            dispatch(inner, v, phy, skip_keys, &mut self.newest)
        });
        match indexed {
            Ok(()) => {
                self.next = end;
                self.reported_stall = false;
            }
            Err(e) => self.stall(inner, phy, &e.to_string()),
        }
    }

    /// Whether the cursor is behind `offset` (a failed record, or a restart behind the
    /// dispatched end).
    pub(crate) fn is_behind(&self, offset: i64) -> bool {
        self.next < offset
    }

    /// Publishes how far the index goes, for queries and status.
    pub(crate) fn publish(&mut self, inner: &StoreInner) {
        self.newest = None;
        inner.index_service.set_build_offset(self.next);
    }

    fn stall(&mut self, inner: &StoreInner, at: i64, reason: &str) {
        self.next = at;
        // resume inside the record without indexing its first keys twice
        if inner.index_service.last_indexed_phy_offset() == Some(at) {
            self.skip_keys = inner.index_service.entries_at_tail(at);
        }
        if !self.reported_stall {
            tracing::error!(offset = at, reason = %reason, "index builder cannot go on; retrying");
            self.reported_stall = true;
        }
    }
}

/// Indexes every record from `next` to the CommitLog end; returns the new position, or the
/// position it is stuck at with the reason.
fn catch_up(inner: &StoreInner, mut next: i64, mut skip_keys: usize) -> Result<i64, (i64, String)> {
    let mut since_check = 0u32;
    let mut prefetch = SequentialPrefetch::default();
    let mut newest = None;
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
        // the records ahead were written by another thread: ask the CPU for them now, so that
        // parsing them later does not wait on memory
        prefetch.advance(&file, pos);
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
            dispatch(
                inner,
                &view,
                next,
                std::mem::take(&mut skip_keys),
                &mut newest,
            )
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
    newest: &mut Option<Arc<IndexFile>>,
) -> std::io::Result<()> {
    // only the values looked up are decoded, not the whole properties string
    static KEYS: LazyLock<PropertyFinder> = LazyLock::new(|| PropertyFinder::new(property::KEYS));
    static UNIQ_KEY: LazyLock<PropertyFinder> =
        LazyLock::new(|| PropertyFinder::new(property::UNIQ_KEY));
    let keys: Option<Cow<'_, str>> = KEYS.find(view.properties).map(utf8_lossy);
    let uniq_key = UNIQ_KEY.find(view.properties).map(utf8_lossy);
    let topic = utf8_lossy(view.topic);
    let req = DispatchRequest {
        topic: &topic,
        keys: keys.as_deref(),
        uniq_key: uniq_key.as_deref(),
        commit_log_offset: phy,
        store_timestamp: view.store_timestamp,
        sys_flag: view.sys_flag,
        skip_keys,
    };
    inner
        .index_service
        .build_index(&req, &inner.checkpoint, newest)
}

/// `String::from_utf8_lossy`, with the common case (valid UTF-8, checked by the faster
/// validator) borrowed at once.
fn utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes), Cow::Borrowed)
}
