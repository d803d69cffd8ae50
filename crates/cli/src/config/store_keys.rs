//! The `MessageStoreConfig` keys of a RocketMQ broker properties file.

#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;

use ferrocket_store::{FlushDiskType, MessageStoreConfig};

use super::keys::{at_least, boolean, config_keys, integer, non_empty, ConfigKey};

/// Every `MessageStoreConfig` key Ferrocket reads, with its parser. The `maped...` spellings are
/// the names older RocketMQ releases used.
pub const STORE_KEYS: &[ConfigKey<MessageStoreConfig>] = config_keys!(MessageStoreConfig;
    "storePathRootDir" => store_path_root_dir: path,
    "storePathCommitLog" => store_path_commit_log: optional_path,
    "mappedFileSizeCommitLog" => mapped_file_size_commit_log: at_least(1usize),
    "mapedFileSizeCommitLog" => mapped_file_size_commit_log: at_least(1usize),
    "mappedFileSizeConsumeQueue" => mapped_file_size_consume_queue: at_least(1usize),
    "mapedFileSizeConsumeQueue" => mapped_file_size_consume_queue: at_least(1usize),
    "flushDiskType" => flush_disk_type: flush_disk_type,
    "syncFlushTimeout" => sync_flush_timeout: at_least(1u64),
    "flushIntervalCommitLog" => flush_interval_commit_log: at_least(1u64),
    "flushCommitLogLeastPages" => flush_commit_log_least_pages: integer::<usize>,
    "flushCommitLogThoroughInterval" => flush_commit_log_thorough_interval: at_least(1u64),
    "flushIntervalConsumeQueue" => flush_interval_consume_queue: at_least(1u64),
    "flushConsumeQueueLeastPages" => flush_consume_queue_least_pages: integer::<usize>,
    "flushConsumeQueueThoroughInterval" => flush_consume_queue_thorough_interval: at_least(1u64),
    "maxMessageSize" => max_message_size: at_least(1usize),
    "checkCRCOnRecover" => check_crc_on_recover: boolean,
    "maxTransferBytesOnMessageInMemory" => max_transfer_bytes_on_message_in_memory: at_least(1usize),
    "maxTransferCountOnMessageInMemory" => max_transfer_count_on_message_in_memory: at_least(1usize),
    "messageDelayLevel" => message_delay_level: non_empty,
    "accessMessageInMemoryMaxRatio" => access_message_in_memory_max_ratio: integer::<u32>,
);

/// Sets `storePathRootDir`.
pub fn set_root_dir(store: &mut MessageStoreConfig, dir: PathBuf) {
    store.store_path_root_dir = dir;
}

/// `storePathRootDir`.
#[cfg(test)]
pub fn root_dir(store: &MessageStoreConfig) -> &Path {
    &store.store_path_root_dir
}

/// Checks the combinations the store cannot work with (file sizes, delay levels).
pub fn validate(store: &MessageStoreConfig) -> Result<(), String> {
    store.validate()
}

fn path(v: &str) -> Result<PathBuf, String> {
    if v.is_empty() {
        Err("expected a directory".into())
    } else {
        Ok(PathBuf::from(v))
    }
}

fn optional_path(v: &str) -> Result<Option<PathBuf>, String> {
    Ok((!v.is_empty()).then(|| PathBuf::from(v)))
}

fn flush_disk_type(v: &str) -> Result<FlushDiskType, String> {
    v.parse::<FlushDiskType>()
        .map_err(|_| "expected ASYNC_FLUSH or SYNC_FLUSH".to_string())
}
