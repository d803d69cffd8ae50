//! Store settings, named and defaulted like RocketMQ's `MessageStoreConfig`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// When a put is acknowledged relative to the disk flush (`flushDiskType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum FlushDiskType {
    /// Acknowledge after the append; a background thread flushes periodically.
    #[default]
    #[serde(rename = "ASYNC_FLUSH")]
    AsyncFlush,
    /// Acknowledge after a group commit has flushed the record.
    #[serde(rename = "SYNC_FLUSH")]
    SyncFlush,
}

impl FlushDiskType {
    /// RocketMQ's name of the value.
    pub fn as_str(self) -> &'static str {
        match self {
            FlushDiskType::AsyncFlush => "ASYNC_FLUSH",
            FlushDiskType::SyncFlush => "SYNC_FLUSH",
        }
    }
}

impl fmt::Display for FlushDiskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FlushDiskType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "ASYNC_FLUSH" => Ok(FlushDiskType::AsyncFlush),
            "SYNC_FLUSH" => Ok(FlushDiskType::SyncFlush),
            other => Err(format!(
                "unknown flushDiskType '{other}' (expected ASYNC_FLUSH or SYNC_FLUSH)"
            )),
        }
    }
}

/// The replication role of a broker (`brokerRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum BrokerRole {
    /// A master that acknowledges sends without waiting for a slave.
    #[default]
    #[serde(rename = "ASYNC_MASTER")]
    AsyncMaster,
    /// A master that acknowledges a send only once a slave has the record.
    #[serde(rename = "SYNC_MASTER")]
    SyncMaster,
    /// A read-only copy that replicates a master's CommitLog.
    #[serde(rename = "SLAVE")]
    Slave,
}

impl BrokerRole {
    /// RocketMQ's name of the value.
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerRole::AsyncMaster => "ASYNC_MASTER",
            BrokerRole::SyncMaster => "SYNC_MASTER",
            BrokerRole::Slave => "SLAVE",
        }
    }

    /// Whether this is one of the master roles.
    pub fn is_master(self) -> bool {
        !matches!(self, BrokerRole::Slave)
    }
}

impl fmt::Display for BrokerRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BrokerRole {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "ASYNC_MASTER" => Ok(BrokerRole::AsyncMaster),
            "SYNC_MASTER" => Ok(BrokerRole::SyncMaster),
            "SLAVE" => Ok(BrokerRole::Slave),
            other => Err(format!(
                "unknown brokerRole '{other}' (expected ASYNC_MASTER, SYNC_MASTER or SLAVE)"
            )),
        }
    }
}

/// Store settings. Serialized names are RocketMQ's property keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageStoreConfig {
    /// Root of the store (`storePathRootDir`, default `~/store`).
    pub store_path_root_dir: PathBuf,
    /// CommitLog directory (`storePathCommitLog`); `None` means `{root}/commitlog`.
    pub store_path_commit_log: Option<PathBuf>,
    /// CommitLog segment size in bytes (`mappedFileSizeCommitLog`, 1 GiB).
    pub mapped_file_size_commit_log: usize,
    /// ConsumeQueue segment size in bytes, a multiple of 20 (`mappedFileSizeConsumeQueue`).
    pub mapped_file_size_consume_queue: usize,
    /// ASYNC_FLUSH or SYNC_FLUSH (`flushDiskType`).
    pub flush_disk_type: FlushDiskType,
    /// How long a SYNC_FLUSH put waits for its flush, ms (`syncFlushTimeout`).
    pub sync_flush_timeout: u64,
    /// The put lock held longer than this (ms) means the OS page cache is busy
    /// (`osPageCacheBusyTimeOutMills`, 1000): waiting sends are answered SYSTEM_BUSY
    /// `[PCBUSY_CLEAN_QUEUE]` and new ones `[REJECTREQUEST]`.
    pub os_page_cache_busy_time_out_mills: u64,
    /// Async flush period, ms (`flushIntervalCommitLog`).
    pub flush_interval_commit_log: u64,
    /// Dirty 4 KiB pages needed before an async flush (`flushCommitLogLeastPages`).
    pub flush_commit_log_least_pages: usize,
    /// Period of an async flush of everything dirty, ms (`flushCommitLogThoroughInterval`).
    pub flush_commit_log_thorough_interval: u64,
    /// ConsumeQueue flush period, ms (`flushIntervalConsumeQueue`).
    pub flush_interval_consume_queue: u64,
    /// Dirty pages needed before a ConsumeQueue flush (`flushConsumeQueueLeastPages`).
    pub flush_consume_queue_least_pages: usize,
    /// Period of a full ConsumeQueue flush and checkpoint, ms (`flushConsumeQueueThoroughInterval`).
    pub flush_consume_queue_thorough_interval: u64,
    /// Largest accepted body in bytes (`maxMessageSize`, 4 MiB).
    pub max_message_size: usize,
    /// Verify body CRCs while recovering (`checkCRCOnRecover`).
    #[serde(rename = "checkCRCOnRecover")]
    pub check_crc_on_recover: bool,
    /// Controller mode: on open, drop the CommitLog past this offset (where a deposed master's
    /// log diverges from the new master's epochs). Not a RocketMQ key; set by the broker.
    #[serde(skip)]
    pub truncate_commit_log_at: Option<i64>,
    /// Controller mode: refuse puts (SERVICE_NOT_AVAILABLE) from open until
    /// `DefaultMessageStore::release_puts`, so that a new master records its epoch at the end
    /// of its log before the first record of that epoch. Not a RocketMQ key; set by the broker.
    #[serde(skip)]
    pub puts_fenced_at_open: bool,
    /// Controller mode: replicate with RocketMQ 5's auto-switch HA protocol, this being the
    /// broker's controller-assigned id (sent in a slave's handshake). Not a RocketMQ key; set
    /// by the broker. `None` runs classic HA.
    #[serde(skip)]
    pub ha_auto_switch_broker_id: Option<i64>,
    /// Controller mode: an empty slave starts at its master's last CommitLog file instead of
    /// its first (`syncFromLastFile`).
    pub sync_from_last_file: bool,
    /// Controller mode: this slave never joins the sync state set (`asyncLearner`).
    pub async_learner: bool,
    /// Most bytes one pull returns (`maxTransferBytesOnMessageInMemory`).
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// Most messages one pull returns (`maxTransferCountOnMessageInMemory`).
    pub max_transfer_count_on_message_in_memory: usize,
    /// Share of physical memory (percent) the newest CommitLog bytes are assumed to occupy in the
    /// page cache (`accessMessageInMemoryMaxRatio`); older messages count as "on disk".
    pub access_message_in_memory_max_ratio: u32,
    /// Delay levels, e.g. `1s 5s 10s 30s 1m ...` (`messageDelayLevel`); used to rebuild the
    /// delivery-time tags code of `SCHEDULE_TOPIC_XXXX` entries during recovery.
    pub message_delay_level: String,
    /// Hours a CommitLog segment is kept after its last write (`fileReservedTime`, 72).
    pub file_reserved_time: u64,
    /// Hours of the day, `;`-separated, when expired segments are deleted (`deleteWhen`, "04").
    pub delete_when: String,
    /// Disk usage percent above which expired segments are deleted at any hour
    /// (`diskMaxUsedSpaceRatio`, 75; RocketMQ clamps it to 10..=95).
    pub disk_max_used_space_ratio: u32,
    /// Disk usage percent above which puts are refused (`diskSpaceWarningLevelRatio`, 90).
    pub disk_space_warning_level_ratio: u32,
    /// Disk usage percent above which segments are deleted whatever their age
    /// (`diskSpaceCleanForciblyRatio`, 85).
    pub disk_space_clean_forcibly_ratio: u32,
    /// Whether a disk above the forced-clean ratio deletes unexpired segments
    /// (`cleanFileForciblyEnable`).
    pub clean_file_forcibly_enable: bool,
    /// Period of the clean services, ms (`cleanResourceInterval`).
    pub clean_resource_interval: u64,
    /// Pause between two CommitLog segment deletions, ms (`deleteCommitLogFilesInterval`).
    pub delete_commit_log_files_interval: u64,
    /// Pause after a queue had segments deleted, ms (`deleteConsumeQueueFilesInterval`).
    pub delete_consume_queue_files_interval: u64,
    /// Accepted for compatibility (`destroyMapedFileIntervalForcibly`): deleting a segment never
    /// waits for readers here, since an unlinked file stays readable through its mapping.
    pub destroy_maped_file_interval_forcibly: u64,
    /// Most CommitLog segments deleted in one clean run (`deleteFileBatchMax`, 10).
    pub delete_file_batch_max: usize,
    /// Build the key index under `{root}/index` (`messageIndexEnable`).
    pub message_index_enable: bool,
    /// Write zeros into the commit log ahead of the writer, off the put path
    /// (`warmMapedFileEnable`; Ferrocket's default true, RocketMQ's false: see `warm.rs`).
    pub warm_maped_file_enable: bool,
    /// Hash slots per index file (`maxHashSlotNum`).
    pub max_hash_slot_num: i32,
    /// Entries per index file (`maxIndexNum`).
    pub max_index_num: i32,
    /// Most offsets one index lookup returns (`maxMsgsNumBatch`).
    pub max_msgs_num_batch: i32,
    /// After a crash, start CommitLog recovery early enough for the index checkpoint too
    /// (`messageIndexSafe`).
    pub message_index_safe: bool,
    /// Cap of a unique-key QUERY_MESSAGE (`defaultQueryMaxNum`).
    pub default_query_max_num: i32,
    /// Accept timer messages (TIMER_DELIVER_MS / TIMER_DELAY_SEC / TIMER_DELAY_MS) (`timerWheelEnable`).
    pub timer_wheel_enable: bool,
    /// Granularity of TIMER_OUT_MS in ms (`timerPrecisionMs`).
    pub timer_precision_ms: i64,
    /// Longest accepted timer delay in seconds (`timerMaxDelaySec`).
    pub timer_max_delay_sec: i64,
    /// ASYNC_MASTER, SYNC_MASTER or SLAVE (`brokerRole`).
    pub broker_role: BrokerRole,
    /// Port of the HA (replication) listener (`haListenPort`); 0 means "remoting port + 1",
    /// which is what the broker resolves it to at start (an explicit value wins, as in 5.1+).
    pub ha_listen_port: u16,
    /// Period of the slave's offset reports and of the master's empty frames, ms
    /// (`haSendHeartbeatInterval`, 5000).
    pub ha_send_heartbeat_interval: u64,
    /// Silence after which either side closes an HA connection, ms (`haHousekeepingInterval`,
    /// 20000).
    pub ha_housekeeping_interval: u64,
    /// Largest body of one transfer frame, bytes (`haTransferBatchSize`, 32 KiB).
    pub ha_transfer_batch_size: usize,
    /// A slave more than this many bytes behind the master is not in sync (`haMaxGapNotInSync`,
    /// `haSlaveFallbehindMax` in 4.9; 256 MiB).
    pub ha_max_gap_not_in_sync: i64,
    /// Fixed `host:port` of the master's HA listener for a slave (`haMasterAddress`); without it
    /// the slave learns the address from the name server.
    pub ha_master_address: Option<String>,
}

impl Default for MessageStoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        MessageStoreConfig {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * crate::consume_queue::CQ_STORE_UNIT_SIZE,
            flush_disk_type: FlushDiskType::AsyncFlush,
            sync_flush_timeout: 5000,
            os_page_cache_busy_time_out_mills: 1000,
            flush_interval_commit_log: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval: 10_000,
            flush_interval_consume_queue: 1000,
            flush_consume_queue_least_pages: 2,
            flush_consume_queue_thorough_interval: 60_000,
            max_message_size: 4 * 1024 * 1024,
            check_crc_on_recover: true,
            truncate_commit_log_at: None,
            puts_fenced_at_open: false,
            ha_auto_switch_broker_id: None,
            sync_from_last_file: false,
            async_learner: false,
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            access_message_in_memory_max_ratio: 40,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .to_string(),
            file_reserved_time: 72,
            delete_when: "04".to_string(),
            disk_max_used_space_ratio: 75,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: true,
            clean_resource_interval: 10_000,
            delete_commit_log_files_interval: 100,
            delete_consume_queue_files_interval: 100,
            destroy_maped_file_interval_forcibly: 120_000,
            delete_file_batch_max: 10,
            message_index_enable: true,
            warm_maped_file_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 5_000_000 * 4,
            max_msgs_num_batch: 64,
            message_index_safe: false,
            default_query_max_num: 32,
            timer_wheel_enable: true,
            timer_precision_ms: 1000,
            timer_max_delay_sec: 3 * 24 * 3600,
            broker_role: BrokerRole::AsyncMaster,
            ha_listen_port: 0,
            ha_send_heartbeat_interval: 5000,
            ha_housekeeping_interval: 20_000,
            ha_transfer_batch_size: 32 * 1024,
            ha_max_gap_not_in_sync: 256 * 1024 * 1024,
            ha_master_address: None,
        }
    }
}

impl MessageStoreConfig {
    /// A default configuration rooted at `root`.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        MessageStoreConfig {
            store_path_root_dir: root.into(),
            ..MessageStoreConfig::default()
        }
    }

    /// The CommitLog directory: `storePathCommitLog`, else `{root}/commitlog`.
    ///
    /// RocketMQ allows several directories separated by `,`; only the first is used here.
    pub fn commit_log_path(&self) -> PathBuf {
        match &self.store_path_commit_log {
            Some(p) => {
                let s = p.to_string_lossy();
                match s.split(',').map(str::trim).find(|d| !d.is_empty()) {
                    Some(first) => PathBuf::from(first),
                    None => self.store_path_root_dir.join("commitlog"),
                }
            }
            None => self.store_path_root_dir.join("commitlog"),
        }
    }

    /// The HA listen port: `haListenPort` when set, else `listen_port + 1`.
    pub fn resolved_ha_listen_port(&self, listen_port: u16) -> u16 {
        if self.ha_listen_port > 0 {
            self.ha_listen_port
        } else {
            listen_port.wrapping_add(1)
        }
    }

    /// `{root}/consumequeue`.
    pub fn consume_queue_path(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// `{root}/index`.
    pub fn index_path(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
    }

    /// `{root}/checkpoint`.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.store_path_root_dir.join("checkpoint")
    }

    /// `{root}/abort`.
    pub fn abort_file_path(&self) -> PathBuf {
        self.store_path_root_dir.join("abort")
    }

    /// `{root}/lock`.
    pub fn lock_file_path(&self) -> PathBuf {
        self.store_path_root_dir.join("lock")
    }

    /// Delay of each level in ms, parsed from `message_delay_level`.
    pub fn delay_levels_millis(&self) -> Result<Vec<i64>, String> {
        self.message_delay_level
            .split_whitespace()
            .map(|t| {
                let (num, unit) = t.split_at(t.len() - 1);
                let factor = match unit {
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return Err(format!("bad delay level '{t}'")),
                };
                num.parse::<i64>()
                    .map(|n| n * factor)
                    .map_err(|_| format!("bad delay level '{t}'"))
            })
            .collect()
    }

    /// Checks the values the store cannot work with.
    pub fn validate(&self) -> Result<(), String> {
        let cq = crate::consume_queue::CQ_STORE_UNIT_SIZE;
        let size = self.mapped_file_size_consume_queue;
        if size < cq || size / cq * cq != size {
            return Err(format!(
                "mappedFileSizeConsumeQueue {} is not a positive multiple of {cq}",
                self.mapped_file_size_consume_queue
            ));
        }
        if self.mapped_file_size_commit_log < 4096
            || self.mapped_file_size_commit_log > i32::MAX as usize
        {
            return Err(format!(
                "mappedFileSizeCommitLog {} must be between 4096 and {}",
                self.mapped_file_size_commit_log,
                i32::MAX
            ));
        }
        crate::clean::parse_delete_when(&self.delete_when)?;
        if self.max_hash_slot_num <= 0 || self.max_index_num <= 1 {
            return Err(format!(
                "maxHashSlotNum ({}) must be positive and maxIndexNum ({}) above 1",
                self.max_hash_slot_num, self.max_index_num
            ));
        }
        // RocketMQ's HAClient reads a frame, its 12-byte header included, into a 4 MiB buffer
        // and waits forever for a larger one
        const MAX_BATCH: usize = 4 * 1024 * 1024 - 12;
        if self.ha_transfer_batch_size == 0 || self.ha_transfer_batch_size > MAX_BATCH {
            return Err(format!(
                "haTransferBatchSize {} must be between 1 and {MAX_BATCH} (a RocketMQ slave \
                 reads a frame and its 12-byte header into a 4 MiB buffer)",
                self.ha_transfer_batch_size
            ));
        }
        self.delay_levels_millis().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rocketmq() {
        let c = MessageStoreConfig::default();
        assert_eq!(c.mapped_file_size_commit_log, 1_073_741_824);
        assert_eq!(c.access_message_in_memory_max_ratio, 40);
        assert_eq!(c.mapped_file_size_consume_queue, 6_000_000);
        assert_eq!(c.flush_disk_type, FlushDiskType::AsyncFlush);
        assert_eq!(c.max_message_size, 4_194_304);
        assert_eq!(c.delay_levels_millis().unwrap().len(), 18);
        assert_eq!(c.delay_levels_millis().unwrap()[17], 7_200_000);
        assert!(c.validate().is_ok());
        assert!(c.store_path_root_dir.ends_with("store"));
        assert_eq!(c.commit_log_path(), c.store_path_root_dir.join("commitlog"));
        assert!(c.message_index_enable && !c.message_index_safe);
        assert_eq!(
            (c.max_hash_slot_num, c.max_index_num),
            (5_000_000, 20_000_000)
        );
        assert_eq!((c.max_msgs_num_batch, c.default_query_max_num), (64, 32));
        assert_eq!(c.broker_role, BrokerRole::AsyncMaster);
        assert_eq!(
            (c.ha_send_heartbeat_interval, c.ha_housekeeping_interval),
            (5000, 20_000)
        );
        assert_eq!(c.ha_transfer_batch_size, 32_768);
        assert_eq!(c.ha_max_gap_not_in_sync, 268_435_456);
        assert_eq!(c.resolved_ha_listen_port(10911), 10912);
        let explicit = MessageStoreConfig {
            ha_listen_port: 30912,
            ..MessageStoreConfig::default()
        };
        assert_eq!(explicit.resolved_ha_listen_port(10911), 30912);
        let batch = |ha_transfer_batch_size| MessageStoreConfig {
            ha_transfer_batch_size,
            ..MessageStoreConfig::default()
        };
        // a frame and its header must fit a RocketMQ slave's 4 MiB read buffer
        assert!(batch(4 * 1024 * 1024 - 12).validate().is_ok());
        assert!(batch(4 * 1024 * 1024 - 11).validate().is_err());
        assert_eq!("SLAVE".parse::<BrokerRole>(), Ok(BrokerRole::Slave));
        assert!("LEADER".parse::<BrokerRole>().is_err());
    }

    #[test]
    fn serializes_with_rocketmq_keys() {
        let c = MessageStoreConfig {
            flush_disk_type: FlushDiskType::SyncFlush,
            ..MessageStoreConfig::with_root("/r")
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["flushDiskType"], "SYNC_FLUSH");
        assert_eq!(v["checkCRCOnRecover"], true);
        assert_eq!(v["mappedFileSizeCommitLog"], 1_073_741_824u64);
        let back: MessageStoreConfig =
            serde_json::from_str(r#"{"storePathRootDir":"/x","syncFlushTimeout":7}"#).unwrap();
        assert_eq!(back.sync_flush_timeout, 7);
        assert_eq!(back.flush_interval_commit_log, 500);
        assert_eq!(
            "SYNC_FLUSH".parse::<FlushDiskType>(),
            Ok(FlushDiskType::SyncFlush)
        );
        assert!("x".parse::<FlushDiskType>().is_err());
    }

    #[test]
    fn commit_log_path_takes_the_first_of_several() {
        let mut c = MessageStoreConfig::with_root("/r");
        c.store_path_commit_log = Some(PathBuf::from("/a/cl, /b/cl"));
        assert_eq!(c.commit_log_path(), PathBuf::from("/a/cl"));
    }

    #[test]
    fn validation() {
        let mut c = MessageStoreConfig::with_root("/r");
        c.mapped_file_size_consume_queue = 30;
        assert!(c.validate().is_err());
        c.mapped_file_size_consume_queue = 2000;
        c.message_delay_level = "1x".into();
        assert!(c.validate().is_err());
    }
}
