//! Startup recovery (RocketMQ `recoverNormally` / `recoverAbnormally`).
//!
//! 1. Each ConsumeQueue finds where its valid entries end.
//! 2. The CommitLog is scanned from a starting segment, verifying every record (magic,
//!    lengths, physical offset, body CRC); each valid record is replayed into its
//!    ConsumeQueue (idempotent). The first invalid record ends the log.
//! 3. Everything past that end is dropped: later segments deleted, the last one cut (and
//!    zeroed past the end after a crash), ConsumeQueue entries pointing past it truncated.
//!
//! After a clean shutdown the scan starts at the segment holding the newest dispatched record
//! and only records after it are replayed. After a crash it starts at the newest segment whose
//! first record is older than the checkpoint (or the first segment) and replays everything.

use std::sync::{Arc, LazyLock};

use ferrocket_protocol::message::sys_flag::{
    transaction_value, TRANSACTION_COMMIT, TRANSACTION_NOT_TYPE,
};
use ferrocket_protocol::message::{find_property_bytes, property, PropertyFinder, RecordView};
use ferrocket_protocol::util::tags_code;

use crate::commit_log::{CommitLog, RecordCheck};
use crate::consume_queue_table::QueueCache;
use crate::default_message_store::StoreInner;
use crate::error::StoreError;
use crate::mapped_file::MappedFile;

/// Topic whose ConsumeQueue tags code is the delivery time.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

/// The tags code a record's ConsumeQueue entry carries.
pub(crate) fn tags_code_of(view: &RecordView<'_>, topic: &str, delay_levels: &[i64]) -> i64 {
    // only the value looked up is decoded, not the whole properties string
    let lookup =
        |name: &str| find_property_bytes(view.properties, name).map(String::from_utf8_lossy);
    if topic == SCHEDULE_TOPIC {
        let level = lookup(property::DELAY)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if level > 0 && !delay_levels.is_empty() {
            let delay = delay_levels[level.min(delay_levels.len()) - 1];
            return view.store_timestamp + delay;
        }
        return view.store_timestamp;
    }
    static TAGS: LazyLock<PropertyFinder> = LazyLock::new(|| PropertyFinder::new(property::TAGS));
    tags_code(
        TAGS.find(view.properties)
            .map(String::from_utf8_lossy)
            .as_deref(),
    )
}

fn first_record_store_time(file: &MappedFile, check_crc: bool) -> Option<i64> {
    match CommitLog::check_record(file, 0, check_crc) {
        RecordCheck::Message(v) if v.store_timestamp > 0 => Some(v.store_timestamp),
        _ => None,
    }
}

pub(crate) fn recover(inner: &StoreInner, abnormal: bool) -> Result<(), StoreError> {
    let io = |e| StoreError::io(inner.config.store_path_root_dir.clone(), e);
    for cq in inner.consume_queues.all() {
        cq.recover(abnormal).map_err(io)?;
    }
    let files = inner.commit_log.queue().mapped_files();
    if files.is_empty() {
        if !inner.consume_queues.all().is_empty() {
            tracing::warn!("commit log is empty: deleting every consume queue");
            inner.consume_queues.destroy_all().map_err(io)?;
        }
        return Ok(());
    }
    let check_crc = inner.config.check_crc_on_recover;
    let (start, replay_from) = scan_start(inner, &files, abnormal, check_crc);
    tracing::info!(
        abnormal,
        start_offset = files[start].file_from_offset(),
        "recovering commit log"
    );

    let mut scan = scan(inner, &files[start..], check_crc, replay_from)?;
    if let Some(at) = inner.config.truncate_commit_log_at {
        if (0..scan.process_offset).contains(&at) {
            tracing::warn!(
                from = scan.process_offset,
                to = at,
                "truncating the commit log to the new master's epoch boundary"
            );
            scan.process_offset = at;
            scan.corruption = Some("past the new master's epoch boundary".into());
        }
    }
    if let Some(reason) = &scan.corruption {
        tracing::warn!(offset = scan.process_offset, reason = %reason, "commit log ends with an invalid record; truncating");
    }
    truncate_past_end(inner, &scan, abnormal)?;
    inner.reput.reset(scan.process_offset);
    let mut state = inner.commit_log.lock();
    inner
        .commit_log
        .set_last_store_timestamp(&mut state, scan.last_store_timestamp);
    inner.last_dispatched_timestamp.store(
        scan.last_store_timestamp,
        std::sync::atomic::Ordering::Release,
    );
    tracing::info!(
        max_phy_offset = scan.process_offset,
        replayed = scan.replayed,
        "commit log recovered"
    );
    Ok(())
}

/// The index in `files` of the segment the scan starts at, and the physical offset from which
/// records are replayed into their ConsumeQueues (`i64::MIN`: all of them).
fn scan_start(
    inner: &StoreInner,
    files: &[Arc<MappedFile>],
    abnormal: bool,
    check_crc: bool,
) -> (usize, i64) {
    let dispatch_from = inner
        .consume_queues
        .all()
        .iter()
        .map(|cq| cq.max_physic_offset())
        .max()
        .unwrap_or(-1);
    if abnormal {
        let min_ts = if inner.config.message_index_enable && inner.config.message_index_safe {
            inner.checkpoint.min_timestamp_index()
        } else {
            inner.checkpoint.min_timestamp()
        };
        let start = files
            .iter()
            .rposition(|f| first_record_store_time(f, check_crc).is_some_and(|t| t <= min_ts))
            .unwrap_or(0);
        (start, i64::MIN)
    } else if dispatch_from >= 0 {
        let start = files
            .iter()
            .rposition(|f| f.file_from_offset() <= dispatch_from)
            .unwrap_or(0);
        (start, dispatch_from)
    } else {
        (files.len() - 1, i64::MIN)
    }
}

/// Drops what lies past the scanned end: CommitLog bytes (zeroed after a crash or an invalid
/// record) and ConsumeQueue entries pointing there.
fn truncate_past_end(inner: &StoreInner, scan: &Scan, abnormal: bool) -> Result<(), StoreError> {
    let io = |e| StoreError::io(inner.config.store_path_root_dir.clone(), e);
    inner
        .commit_log
        .queue()
        .truncate_dirty_files(scan.process_offset, abnormal || scan.corruption.is_some())
        .map_err(io)?;
    inner
        .commit_log
        .queue()
        .set_flushed_where(scan.process_offset);

    let min_phy = inner.commit_log.min_offset();
    for cq in inner.consume_queues.all() {
        cq.truncate_dirty_logic_files(scan.process_offset)
            .map_err(io)?;
        cq.correct_min_offset(min_phy);
    }
    Ok(())
}

struct Scan {
    process_offset: i64,
    corruption: Option<String>,
    last_store_timestamp: i64,
    replayed: u64,
}

fn scan(
    inner: &StoreInner,
    files: &[Arc<MappedFile>],
    check_crc: bool,
    replay_from: i64,
) -> Result<Scan, StoreError> {
    let mut out = Scan {
        process_offset: files[0].file_from_offset(),
        corruption: None,
        last_store_timestamp: 0,
        replayed: 0,
    };
    let mut queues = QueueCache::default();
    for file in files {
        let mut pos = 0usize;
        loop {
            match CommitLog::check_record(file, pos, check_crc) {
                RecordCheck::Message(view) => {
                    let phy = file.file_from_offset() + pos as i64;
                    out.last_store_timestamp = out.last_store_timestamp.max(view.store_timestamp);
                    if phy >= replay_from && dispatch(inner, &mut queues, &view, phy)? {
                        out.replayed += 1;
                    }
                    pos += view.total_size;
                    out.process_offset = phy + view.total_size as i64;
                }
                RecordCheck::Blank => {
                    out.process_offset = file.file_from_offset() + file.file_size() as i64;
                    break;
                }
                RecordCheck::End => {
                    out.process_offset = file.file_from_offset() + pos as i64;
                    return Ok(out);
                }
                RecordCheck::Corrupt(reason) => {
                    out.process_offset = file.file_from_offset() + pos as i64;
                    out.corruption = Some(reason);
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

fn dispatch(
    inner: &StoreInner,
    queues: &mut QueueCache,
    view: &RecordView<'_>,
    phy: i64,
) -> Result<bool, StoreError> {
    dispatch_record(inner, queues, view, phy).map(|written| written.is_some())
}

/// Writes the ConsumeQueue entry of the record at `phy` (none for half and rollback
/// records); returns `(topic, queue id, queue offset, tags code)` when an entry was written.
pub(crate) fn dispatch_record<'a>(
    inner: &StoreInner,
    queues: &mut QueueCache,
    view: &RecordView<'a>,
    phy: i64,
) -> Result<Option<(&'a str, i32, i64, i64)>, StoreError> {
    if !matches!(
        transaction_value(view.sys_flag),
        TRANSACTION_NOT_TYPE | TRANSACTION_COMMIT
    ) {
        return Ok(None);
    }
    // check_record and parse_record guarantee UTF-8
    let topic = std::str::from_utf8(view.topic).unwrap_or_default();
    let cq = queues.find_or_create(&inner.consume_queues, topic, view.queue_id);
    let code = tags_code_of(view, topic, &inner.delay_levels);
    let written = cq
        .put_message_position_info(phy, view.total_size as i32, code, view.queue_offset)
        .map_err(|e| StoreError::io(inner.config.consume_queue_path(), e))?;
    Ok(written.then_some((topic, view.queue_id, view.queue_offset, code)))
}

#[cfg(test)]
mod tests {
    use ferrocket_protocol::message::{encode_stored_record_into, StoredRecord};
    use ferrocket_protocol::util::crc32;

    use crate::{offset_to_file_name, DefaultMessageStore, MessageStoreConfig};

    /// Apache RocketMQ brokers may store a properties string without the trailing separator;
    /// such a record is complete and must survive recovery.
    #[test]
    fn keeps_records_whose_properties_lack_a_trailing_separator() {
        let dir = tempfile::tempdir().unwrap();
        let body = b"written by another broker";
        let host = "127.0.0.1:10911".parse().unwrap();
        let mut segment = vec![0u8; 4096];
        let mut at = 0;
        for (i, props) in ["TAGS\u{1}TagA", "KEYS\u{1}k\u{2}TAGS\u{1}TagB\u{2}"]
            .iter()
            .enumerate()
        {
            let rec = StoredRecord {
                body_crc: crc32(body),
                queue_id: 0,
                flag: 0,
                queue_offset: i as i64,
                physical_offset: at as i64,
                sys_flag: 0,
                born_timestamp: 1_700_000_000_000,
                born_host: host,
                store_timestamp: 1_700_000_000_001,
                store_host: host,
                reconsume_times: 0,
                prepared_transaction_offset: 0,
                body,
                topic: b"Migrated",
                properties: props.as_bytes(),
            };
            at += encode_stored_record_into(&mut segment[at..], &rec).unwrap();
        }
        let log = dir.path().join("commitlog");
        std::fs::create_dir_all(&log).unwrap();
        std::fs::write(log.join(offset_to_file_name(0)), &segment).unwrap();
        let config = MessageStoreConfig {
            mapped_file_size_commit_log: 4096,
            mapped_file_size_consume_queue: 20 * 16,
            ..MessageStoreConfig::with_root(dir.path())
        };
        let store = DefaultMessageStore::open(config).unwrap();
        assert_eq!(store.get_max_phy_offset(), at as i64);
        assert_eq!(store.get_max_offset_in_queue("Migrated", 0), 2);
        let got = store.get_message("g", "Migrated", 0, 0, 10, 1 << 20, None);
        assert_eq!(got.messages.len(), 2);
        assert!(store.look_message_by_offset(0).is_some());
        for inside in [1, 4, 8, 20] {
            assert!(
                store.look_message_by_offset(inside).is_none(),
                "an offset inside a record is no record"
            );
        }
    }
}
