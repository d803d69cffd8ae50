//! The `MessageStoreConfig` keys of a RocketMQ broker properties file.

#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;

use ferrocket_store::{BrokerRole, FlushDiskType, MessageStoreConfig};

use super::keys::{at_least, boolean, config_keys, integer, non_empty, optional, ConfigKey};

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
    "osPageCacheBusyTimeOutMills" => os_page_cache_busy_time_out_mills: at_least(1u64),
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
    "fileReservedTime" => file_reserved_time: integer::<u64>,
    "deleteWhen" => delete_when: non_empty,
    "diskMaxUsedSpaceRatio" => disk_max_used_space_ratio: integer::<u32>,
    "diskSpaceWarningLevelRatio" => disk_space_warning_level_ratio: integer::<u32>,
    "diskSpaceCleanForciblyRatio" => disk_space_clean_forcibly_ratio: integer::<u32>,
    "cleanFileForciblyEnable" => clean_file_forcibly_enable: boolean,
    "cleanResourceInterval" => clean_resource_interval: at_least(1u64),
    "deleteCommitLogFilesInterval" => delete_commit_log_files_interval: integer::<u64>,
    "deleteConsumeQueueFilesInterval" => delete_consume_queue_files_interval: integer::<u64>,
    "destroyMapedFileIntervalForcibly" => destroy_maped_file_interval_forcibly: integer::<u64>,
    "deleteFileBatchMax" => delete_file_batch_max: at_least(1usize),
    "messageIndexEnable" => message_index_enable: boolean,
    "warmMapedFileEnable" => warm_maped_file_enable: boolean,
    "messageIndexSafe" => message_index_safe: boolean,
    "maxHashSlotNum" => max_hash_slot_num: at_least(1i32),
    "maxIndexNum" => max_index_num: at_least(2i32),
    "maxMsgsNumBatch" => max_msgs_num_batch: at_least(1i32),
    "defaultQueryMaxNum" => default_query_max_num: at_least(1i32),
    "timerWheelEnable" => timer_wheel_enable: boolean,
    "timerPrecisionMs" => timer_precision_ms: at_least(1i64),
    "timerMaxDelaySec" => timer_max_delay_sec: at_least(1i64),
    "accessMessageInMemoryMaxRatio" => access_message_in_memory_max_ratio: integer::<u32>,
    "brokerRole" => broker_role: broker_role,
    "haListenPort" => ha_listen_port: integer::<u16>,
    "haSendHeartbeatInterval" => ha_send_heartbeat_interval: at_least(1u64),
    "haHousekeepingInterval" => ha_housekeeping_interval: at_least(1u64),
    "haTransferBatchSize" => ha_transfer_batch_size: at_least(1usize),
    "syncFromLastFile" => sync_from_last_file: boolean,
    "asyncLearner" => async_learner: boolean,
    "haMaxGapNotInSync" => ha_max_gap_not_in_sync: at_least(1i64),
    "haSlaveFallbehindMax" => ha_max_gap_not_in_sync: at_least(1i64),
    "haMasterAddress" => ha_master_address: optional,
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

fn broker_role(v: &str) -> Result<BrokerRole, String> {
    v.parse()
}

fn flush_disk_type(v: &str) -> Result<FlushDiskType, String> {
    v.parse::<FlushDiskType>()
        .map_err(|_| "expected ASYNC_FLUSH or SYNC_FLUSH".to_string())
}

#[cfg(test)]
mod retention_keys {
    use super::*;
    use crate::config::keys::find;

    fn set(c: &mut MessageStoreConfig, key: &str, value: &str) -> Result<(), String> {
        (find(STORE_KEYS, key)
            .unwrap_or_else(|| panic!("{key} is mapped"))
            .apply)(c, value)
    }

    #[test]
    fn retention_and_disk_keys_reach_the_store() {
        let mut c = MessageStoreConfig::default();
        for (k, v) in [
            ("fileReservedTime", "48"),
            ("deleteWhen", "01;02;03"),
            ("diskMaxUsedSpaceRatio", "80"),
            ("diskSpaceWarningLevelRatio", "88"),
            ("diskSpaceCleanForciblyRatio", "70"),
            ("cleanFileForciblyEnable", "false"),
            ("cleanResourceInterval", "5000"),
            ("deleteCommitLogFilesInterval", "0"),
            ("deleteConsumeQueueFilesInterval", "0"),
            ("destroyMapedFileIntervalForcibly", "60000"),
            ("deleteFileBatchMax", "3"),
        ] {
            set(&mut c, k, v).unwrap();
        }
        assert_eq!(c.file_reserved_time, 48);
        assert_eq!(c.delete_when, "01;02;03");
        assert_eq!(c.disk_max_used_space_ratio, 80);
        assert_eq!(c.disk_space_warning_level_ratio, 88);
        assert_eq!(c.disk_space_clean_forcibly_ratio, 70);
        assert!(!c.clean_file_forcibly_enable);
        assert_eq!(c.clean_resource_interval, 5000);
        assert_eq!(c.delete_commit_log_files_interval, 0);
        assert_eq!(c.delete_consume_queue_files_interval, 0);
        assert_eq!(c.destroy_maped_file_interval_forcibly, 60_000);
        assert_eq!(c.delete_file_batch_max, 3);
        assert!(validate(&c).is_ok());
        set(&mut c, "deleteWhen", "4am").unwrap();
        let err = validate(&c).unwrap_err();
        assert!(err.contains("deleteWhen"), "{err}");
        assert!(set(&mut c, "fileReservedTime", "-1").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::find;
    use super::*;

    #[test]
    fn index_keys() {
        let mut c = MessageStoreConfig::default();
        for (k, v) in [
            ("messageIndexEnable", "false"),
            ("messageIndexSafe", "true"),
            ("maxHashSlotNum", "500"),
            ("maxIndexNum", "2000"),
            ("maxMsgsNumBatch", "16"),
            ("defaultQueryMaxNum", "8"),
        ] {
            (find(STORE_KEYS, k).expect(k).apply)(&mut c, v).unwrap();
        }
        assert!(!c.message_index_enable && c.message_index_safe);
        assert_eq!((c.max_hash_slot_num, c.max_index_num), (500, 2000));
        assert_eq!((c.max_msgs_num_batch, c.default_query_max_num), (16, 8));
        assert!((find(STORE_KEYS, "maxIndexNum").unwrap().apply)(&mut c, "1").is_err());
        assert!((find(STORE_KEYS, "maxHashSlotNum").unwrap().apply)(&mut c, "x").is_err());
    }
}
