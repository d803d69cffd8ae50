//! The set of index files (RocketMQ `IndexService`): load, append, roll, look up, expire.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use ferrocket_protocol::message::property::KEY_SEPARATOR;
use ferrocket_protocol::message::sys_flag::{transaction_value, TRANSACTION_ROLLBACK};
use parking_lot::RwLock;

use super::build_index::DispatchRequest;
use super::index_file::IndexFile;
use crate::checkpoint::StoreCheckpoint;
use crate::config::MessageStoreConfig;
use crate::error::StoreError;

/// CommitLog offsets found for a key, and how far the index reaches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryOffsetResult {
    /// Offsets of records whose key hash matches, newest file first.
    pub phy_offsets: Vec<i64>,
    /// Store time of the newest indexed record.
    pub index_last_update_timestamp: i64,
    /// CommitLog offset of the newest indexed record.
    pub index_last_update_phyoffset: i64,
}

/// Index files, oldest first, plus where the builder stands in the CommitLog.
pub struct IndexService {
    dir: PathBuf,
    hash_slot_num: i32,
    index_num: i32,
    max_msgs_num_batch: usize,
    files: RwLock<Vec<Arc<IndexFile>>>,
    /// CommitLog offset of the next record to index.
    build_offset: AtomicI64,
}

impl std::fmt::Debug for IndexService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexService")
            .field("dir", &self.dir)
            .field("files", &self.files.read().len())
            .field("build_offset", &self.build_offset())
            .finish()
    }
}

/// `topic#key`, the string RocketMQ indexes.
pub(crate) fn build_key(topic: &str, key: &str) -> String {
    let mut s = String::with_capacity(topic.len() + 1 + key.len());
    s.push_str(topic);
    s.push('#');
    s.push_str(key);
    s
}

/// `yyyyMMddHHmmssSSS` of `millis` in local time (RocketMQ `UtilAll.timeMillisToHumanString`).
pub(crate) fn time_millis_to_human_string(millis: i64) -> String {
    use chrono::{Datelike, TimeZone, Timelike};
    let Some(t) = chrono::Local
        .timestamp_opt(millis.div_euclid(1000), 0)
        .earliest()
    else {
        return format!("{millis:017}");
    };
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:03}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        millis.rem_euclid(1000)
    )
}

impl IndexService {
    /// An empty service over `{root}/index` with the configured capacities.
    pub fn new(config: &MessageStoreConfig) -> Self {
        IndexService {
            dir: config.index_path(),
            hash_slot_num: config.max_hash_slot_num,
            index_num: config.max_index_num,
            max_msgs_num_batch: config.max_msgs_num_batch.max(1) as usize,
            files: RwLock::new(Vec::new()),
            build_offset: AtomicI64::new(0),
        }
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Maps the existing files. After a crash (`last_exit_ok` false) a file ending after the
    /// checkpoint's `indexMsgTimestamp` may be incomplete and is deleted, as RocketMQ does, and
    /// so is a file that is not full: only full files are flushed before the checkpoint moves.
    /// Any file pointing past the recovered CommitLog end goes too. The builder then re-indexes
    /// the CommitLog from where the remaining files end.
    pub fn load(
        &self,
        last_exit_ok: bool,
        index_msg_timestamp: i64,
        commit_log_max_offset: i64,
    ) -> Result<(), StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| StoreError::io(&self.dir, e))?;
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|e| StoreError::io(&self.dir, e))?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect();
        paths.sort();
        let mut files: Vec<Arc<IndexFile>> = Vec::new();
        for path in paths {
            let f = match IndexFile::open(&path, self.hash_slot_num, self.index_num) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    tracing::warn!(file = %path.display(), error = %e, "ignoring an unusable index file (other capacities or a damaged header); keys it held are not found");
                    continue;
                }
                Err(e) => return Err(StoreError::io(&path, e)),
            };
            let h = f.header();
            let torn =
                !last_exit_ok && (h.end_timestamp > index_msg_timestamp || !f.is_write_full());
            let past_end = h.has_entries() && h.end_phy_offset >= commit_log_max_offset;
            if torn || past_end {
                tracing::info!(file = %path.display(), torn, past_end, "deleting an index file; it is rebuilt from the commit log");
                f.destroy().map_err(|e| StoreError::io(&path, e))?;
                continue;
            }
            tracing::info!(file = %path.display(), entries = h.index_count - 1, "loaded index file");
            files.push(Arc::new(f));
        }
        *self.files.write() = files;
        Ok(())
    }

    /// Every file, oldest first.
    pub fn files(&self) -> Vec<Arc<IndexFile>> {
        self.files.read().clone()
    }

    /// CommitLog offset of the next record the builder indexes.
    pub fn build_offset(&self) -> i64 {
        self.build_offset.load(Ordering::Acquire)
    }

    pub(crate) fn set_build_offset(&self, offset: i64) {
        self.build_offset.store(offset, Ordering::Release);
    }

    /// CommitLog offset of the newest indexed record, if any record is indexed.
    pub fn last_indexed_phy_offset(&self) -> Option<i64> {
        let files = self.files.read();
        let h = files.last()?.header();
        (h.has_entries() || h.end_phy_offset > 0).then_some(h.end_phy_offset)
    }

    /// How many entries at the end of the index point at `phy_offset` (the keys of that record
    /// already indexed, in the order [`Self::build_index`] adds them).
    pub(crate) fn entries_at_tail(&self, phy_offset: i64) -> usize {
        let mut n = 0;
        for f in self.files().iter().rev() {
            let (at, whole_file) = f.count_tail_entries(phy_offset);
            n += at;
            if !whole_file {
                break;
            }
        }
        n
    }

    /// Adds the keys of one record: `topic#uniqKey` and `topic#key` for each of its keys.
    /// Rolled-back transactional records and records the index already covers are skipped.
    /// When a file fills up it is flushed and the checkpoint's `indexMsgTimestamp` advanced.
    ///
    /// `newest` keeps the file appended to between the records of a run, so that each record
    /// does not look it up again (start a run with `None`). Only the builder creates files and
    /// retention never deletes the newest, so the file kept stays the newest until it fills.
    pub(crate) fn build_index(
        &self,
        req: &DispatchRequest<'_>,
        checkpoint: &StoreCheckpoint,
        newest: &mut Option<Arc<IndexFile>>,
    ) -> io::Result<()> {
        let mut file = match newest.take() {
            Some(f) if !f.is_write_full() => f,
            _ => self.get_and_create_last_index_file(checkpoint)?,
        };
        let indexed = self.put_keys(req, checkpoint, &mut file);
        *newest = Some(file);
        indexed
    }

    fn put_keys(
        &self,
        req: &DispatchRequest<'_>,
        checkpoint: &StoreCheckpoint,
        file: &mut Arc<IndexFile>,
    ) -> io::Result<()> {
        if req.commit_log_offset < file.header().end_phy_offset {
            return Ok(());
        }
        if transaction_value(req.sys_flag) == TRANSACTION_ROLLBACK {
            return Ok(());
        }
        let uniq = req.uniq_key.filter(|k| !k.is_empty());
        let keys = req
            .keys
            .into_iter()
            .flat_map(|k| k.split(KEY_SEPARATOR))
            .filter(|k| !k.is_empty());
        for key in uniq.into_iter().chain(keys).skip(req.skip_keys) {
            let idx_key = build_key(req.topic, key);
            while !file.put_key(&idx_key, req.commit_log_offset, req.store_timestamp)? {
                tracing::debug!(file = %file.file_name(), "index file is full, creating another one");
                *file = self.get_and_create_last_index_file(checkpoint)?;
            }
        }
        Ok(())
    }

    /// The file to append to: the newest one, or a new one when it is full (RocketMQ
    /// `getAndCreateLastIndexFile`). A file that just filled up is flushed here. Only the
    /// builder thread appends, so creating a file needs no lock beyond the list's.
    fn get_and_create_last_index_file(
        &self,
        checkpoint: &StoreCheckpoint,
    ) -> io::Result<Arc<IndexFile>> {
        let prev = {
            let files = self.files.read();
            match files.last() {
                Some(f) if !f.is_write_full() => return Ok(f.clone()),
                other => other.cloned(),
            }
        };
        let (end_phy, end_ts) = prev
            .as_ref()
            .map(|p| {
                let h = p.header();
                (h.end_phy_offset, h.end_timestamp)
            })
            .unwrap_or((0, 0));
        let path = self.next_file_path(prev.as_deref());
        let file = Arc::new(IndexFile::create(
            &path,
            self.hash_slot_num,
            self.index_num,
            end_phy,
            end_ts,
        )?);
        self.files.write().push(file.clone());
        tracing::info!(file = %path.display(), "created index file");
        if let Some(prev) = prev {
            Self::flush_file(&prev, checkpoint);
        }
        Ok(file)
    }

    /// A path named by the current time, later than every existing name.
    fn next_file_path(&self, prev: Option<&IndexFile>) -> PathBuf {
        let last = prev.map(|p| p.file_name()).unwrap_or_default();
        let mut millis = ferrocket_protocol::util::now_millis();
        loop {
            let name = time_millis_to_human_string(millis);
            let path = self.dir.join(&name);
            if name > last && !path.exists() {
                return path;
            }
            millis += 1;
        }
    }

    /// Flushes one file; a full one also advances and persists `indexMsgTimestamp`.
    fn flush_file(f: &IndexFile, checkpoint: &StoreCheckpoint) {
        let full_until = f.is_write_full().then(|| f.header().end_timestamp);
        if let Err(e) = f.flush() {
            tracing::error!(file = %f.path().display(), error = %e, "index file flush failed");
            return;
        }
        if let Some(ts) = full_until.filter(|t| *t > 0) {
            checkpoint.set_index_msg_timestamp(ts);
            if let Err(e) = checkpoint.flush() {
                tracing::error!(error = %e, "checkpoint flush failed");
            }
        }
    }

    /// Offsets of records indexed under `topic#key` stored within `[begin, end]`, at most
    /// `min(max_num, maxMsgsNumBatch)`, searching the newest files first (RocketMQ
    /// `queryOffset`).
    pub fn query_offset(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryOffsetResult {
        let max_num = max_num.min(self.max_msgs_num_batch);
        let mut result = QueryOffsetResult {
            phy_offsets: Vec::with_capacity(max_num),
            ..QueryOffsetResult::default()
        };
        let files = self.files();
        let Some(last) = files.last() else {
            return result;
        };
        let h = last.header();
        result.index_last_update_timestamp = h.end_timestamp;
        result.index_last_update_phyoffset = h.end_phy_offset;
        let idx_key = build_key(topic, key);
        for f in files.iter().rev() {
            if f.is_time_matched(begin, end) {
                f.select_phy_offset(&mut result.phy_offsets, &idx_key, max_num, begin, end);
            }
            if f.header().begin_timestamp < begin || result.phy_offsets.len() >= max_num {
                break;
            }
        }
        result
    }

    /// Deletes the files (all but the newest) whose entries all lie before `offset`, the
    /// CommitLog's new minimum (RocketMQ `deleteExpiredFile`).
    pub fn delete_expired_file(&self, offset: i64) {
        let expired: Vec<Arc<IndexFile>> = {
            let files = self.files.read();
            let keep_last = files.len().saturating_sub(1);
            files[..keep_last]
                .iter()
                .take_while(|f| f.header().end_phy_offset < offset)
                .cloned()
                .collect()
        };
        if expired.is_empty() {
            return;
        }
        self.files
            .write()
            .retain(|f| !expired.iter().any(|e| Arc::ptr_eq(e, f)));
        for f in expired {
            match f.destroy() {
                Ok(()) => tracing::info!(file = %f.path().display(), "deleted expired index file"),
                Err(e) => {
                    tracing::warn!(file = %f.path().display(), error = %e, "cannot delete index file")
                }
            }
        }
    }

    /// Flushes every file (at shutdown).
    pub fn flush_all(&self, checkpoint: &StoreCheckpoint) {
        for f in self.files() {
            Self::flush_file(&f, checkpoint);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_local_time_to_the_millisecond() {
        let name = time_millis_to_human_string(1_700_000_000_123);
        assert_eq!(name.len(), 17);
        assert!(name.ends_with("123"));
        assert!(name.starts_with("2023111"), "{name}");
        assert!(time_millis_to_human_string(1_700_000_001_000) > name);
    }

    #[test]
    fn keys_are_topic_hash_key() {
        assert_eq!(build_key("TopicA", "order-1"), "TopicA#order-1");
    }
}
