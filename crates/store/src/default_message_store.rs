//! The message store (RocketMQ `DefaultMessageStore`): puts, gets, offsets and lifecycle.
//!
//! ConsumeQueue entries are written in the put path, right after the CommitLog append and
//! under the same put lock, instead of by a separate reput thread. The put lock already
//! orders records, so entries land in queue order with no extra synchronization, and a
//! message is readable through [`DefaultMessageStore::get_message`] the moment its put
//! returns, without a wake-up hop through another thread. Writing an entry is a 20-byte copy
//! into a mapped page, small next to the record copy itself. Recovery replays the CommitLog
//! through the same idempotent entry writer, which is what the reput thread does in RocketMQ.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_protocol::message::property::PROPERTY_SEPARATOR;
use ferrocket_protocol::message::sys_flag::{
    transaction_value, TRANSACTION_COMMIT, TRANSACTION_NOT_TYPE,
};
use ferrocket_protocol::message::{
    encode_with_layout, MessageEncodeError, StoredMessageLayout, StoredRecord,
    END_FILE_MIN_BLANK_LENGTH, MAX_PROPERTIES_LEN,
};
use ferrocket_protocol::util::{crc32, create_message_id, now_millis};
use parking_lot::{Mutex, RwLock};
use tokio::sync::oneshot;

use crate::allocate::{MappedFileAllocator, SegmentSlot, SegmentSpec, ALLOCATE_WAIT_TIMEOUT};
use crate::checkpoint::StoreCheckpoint;
use crate::clean::{self, CleanState};
use crate::commit_log::CommitLog;
use crate::commit_log_writer::PutQueue;
use crate::config::{BrokerRole, FlushDiskType, MessageStoreConfig};
use crate::consume_queue::{ConsumeQueue, CqBuffer, CqUnit, CQ_STORE_UNIT_SIZE};
use crate::consume_queue_table::ConsumeQueueTable;
use crate::error::StoreError;
use crate::flush::DiskFlusher;
use crate::group_commit::{
    Arrival, FlushDiskWatcher, GroupCommitQueue, GroupCommitRequest, ServiceSignal,
};
use crate::index::{self, IndexService, QueryMessageResult};
use crate::latency_histogram::LatencyHistogram;
use crate::mapped_file_queue::MappedFileQueue;
use crate::message_filter::MessageFilter;
use crate::message_inner::MessageExtBrokerInner;
use crate::recovery;
use crate::replica::SlaveAckWaiter;
use crate::reput::{self, AppendError, ReputOffset};
use crate::result::{
    AppendMessageResult, GetMessageResult, GetMessageStatus, PutMessageResult, PutMessageStatus,
};
use crate::services;

/// Called when a message becomes readable: `(topic, queue id, queue max offset, tags code)`.
pub type MessageArrivingListener = Arc<dyn Fn(&str, i32, i64, i64) + Send + Sync>;

/// Extra room a whole record may take beyond `maxMessageSize` of body (RocketMQ: 64 KiB).
const RECORD_OVERHEAD_ALLOWANCE: usize = 64 * 1024;
/// Upper bound of one pull's bytes (RocketMQ `MAX_PULL_MSG_SIZE`).
const MAX_PULL_MSG_SIZE: usize = 128 * 1024 * 1024;
/// Entries a pull may scan past its start, in bytes (RocketMQ `maxFilterMessageSize`).
const MAX_FILTER_MESSAGE_SIZE: usize = 16000;

/// How much one pull may return and scan.
struct PullLimits {
    max_msg_nums: usize,
    max_pull_size: usize,
    max_filter: usize,
    max_transfer_bytes: usize,
    max_transfer_count: usize,
}

impl PullLimits {
    fn new(config: &MessageStoreConfig, max_msg_nums: i32, max_total_bytes: i32) -> Self {
        PullLimits {
            max_msg_nums: max_msg_nums.max(0) as usize,
            max_pull_size: (max_total_bytes.max(100) as usize).min(MAX_PULL_MSG_SIZE),
            max_filter: MAX_FILTER_MESSAGE_SIZE.max(max_msg_nums.max(0) as usize * 20),
            max_transfer_bytes: config.max_transfer_bytes_on_message_in_memory,
            max_transfer_count: config.max_transfer_count_on_message_in_memory,
        }
    }

    /// Whether `result` can take no record of `size` more bytes.
    fn is_full(&self, result: &GetMessageResult, size: usize) -> bool {
        let (bytes, count) = (result.total_size, result.messages.len());
        if bytes > 0 && count > 0 {
            let full = count + 1 > self.max_msg_nums
                || bytes + size > self.max_pull_size
                || bytes + size > self.max_transfer_bytes
                || count > self.max_transfer_count.saturating_sub(1);
            if full {
                return true;
            }
        }
        result.total_size >= self.max_pull_size
    }
}

/// Sizes and CRC of a message, computed before taking the put lock.
pub(crate) struct Prepared {
    layout: StoredMessageLayout,
    body_crc: i32,
}

/// A message to append, with its sizes and CRC.
pub(crate) type PutItem = (MessageExtBrokerInner, Prepared);

/// Messages of one put (one topic queue) for the CommitLog writer thread, and where to answer.
pub(crate) struct PutJob {
    msgs: Vec<PutItem>,
    wait: bool,
    reply: oneshot::Sender<(Result<Appended, PutMessageStatus>, Vec<PutItem>)>,
}

/// What an append produced.
pub(crate) struct Appended {
    result: AppendMessageResult,
    dispatched: bool,
    flush_wait: Option<oneshot::Receiver<PutMessageStatus>>,
}

/// Why an append did not happen.
enum AppendFailure {
    /// Refused with this status.
    Status(PutMessageStatus),
    /// A segment file it needs is still being created: wait for `offset` in `slot` with the
    /// put lock released, then try again.
    SegmentNotReady {
        what: &'static str,
        slot: Arc<SegmentSlot>,
        spec: SegmentSpec,
    },
}

impl From<PutMessageStatus> for AppendFailure {
    fn from(s: PutMessageStatus) -> Self {
        AppendFailure::Status(s)
    }
}

/// Threads creating segments (RocketMQ has one; a few creations in flight measured no faster).
const ALLOCATOR_THREADS: usize = 1;

/// Marks the put lock as held from creation to drop (RocketMQ's `beginTimeInLock`).
struct LockTimer<'a>(&'a AtomicI64);

impl<'a> LockTimer<'a> {
    fn start(begin: &'a AtomicI64) -> Self {
        begin.store(now_millis(), Ordering::Release);
        LockTimer(begin)
    }
}

impl Drop for LockTimer<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

/// State shared by the store handle and its service threads.
pub(crate) struct StoreInner {
    pub(crate) config: MessageStoreConfig,
    pub(crate) commit_log: CommitLog,
    pub(crate) consume_queues: ConsumeQueueTable,
    pub(crate) checkpoint: StoreCheckpoint,
    pub(crate) flusher: Arc<dyn DiskFlusher>,
    pub(crate) group_commit: GroupCommitQueue,
    pub(crate) watcher: FlushDiskWatcher,
    pub(crate) signal: ServiceSignal,
    pub(crate) delay_levels: Vec<i64>,
    /// Store time of the newest record whose ConsumeQueue work is done.
    pub(crate) last_dispatched_timestamp: AtomicI64,
    /// Slave: end of the last replicated record whose ConsumeQueue entry is written.
    pub(crate) reput: ReputOffset,
    /// Retention and disk-space state (DISK_FULL).
    pub(crate) clean: CleanState,
    /// Duration of CommitLog flushes that wrote something.
    pub(crate) flush_latency: LatencyHistogram,
    /// The key index (RocketMQ `IndexService`).
    pub(crate) index_service: IndexService,
    /// Creates CommitLog and ConsumeQueue segments ahead of need (RocketMQ
    /// `AllocateMappedFileService`).
    pub(crate) allocator: Arc<MappedFileAllocator>,
    /// When the put lock was taken for an append (ms since the epoch), 0 while it is free
    /// (RocketMQ `beginTimeInLock`).
    begin_time_in_lock: AtomicI64,
    /// Fault injection: extra time every append holds the put lock.
    slow_put: Option<Duration>,
    listener: RwLock<Option<MessageArrivingListener>>,
    /// SYNC_MASTER: waits for a slave acknowledgement after each append.
    slave_ack_waiter: RwLock<Option<Arc<dyn SlaveAckWaiter>>>,
    shutdown: AtomicBool,
    writeable: AtomicBool,
    /// Puts wait for `release_puts` (`puts_fenced_at_open`).
    puts_fenced: AtomicBool,
    /// Puts waiting for the CommitLog writer thread.
    pub(crate) put_queue: PutQueue<PutJob>,
}

/// The message store. Cheap to share (`Arc`), safe to use from any thread.
pub struct DefaultMessageStore {
    inner: Arc<StoreInner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    lock_file: Mutex<Option<File>>,
    shut_down: Mutex<bool>,
}

impl std::fmt::Debug for DefaultMessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultMessageStore")
            .field("root", &self.inner.config.store_path_root_dir)
            .field("max_phy_offset", &self.get_max_phy_offset())
            .finish()
    }
}

/// Terminates a properties string with the separator RocketMQ's encoder ends it with; a
/// non-zero last byte lets recovery tell a complete properties block from a torn one.
fn normalize_properties(msg: &mut MessageExtBrokerInner) {
    let p = &mut msg.properties_string;
    if !p.is_empty() && !p.ends_with(PROPERTY_SEPARATOR) {
        p.push(PROPERTY_SEPARATOR);
    }
}

fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && topic != "." && topic != ".." && !topic.contains(['/', '\\', '\0'])
}

/// Where an append puts its records: CommitLog and queue offsets, and the store time.
struct Placement {
    dispatched: bool,
    base_queue_offset: i64,
    base_phy: i64,
    store_timestamp: i64,
}

thread_local! {
    /// Where a put encodes its records before writing them through the file.
    static PUT_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A put scratch buffer larger than this (a large batch) is given back after the put.
const PUT_SCRATCH_KEEP: usize = 1024 * 1024;

/// Encodes `msgs` back to back into `region`, the unpublished tail of a CommitLog segment.
fn encode_records(
    region: &mut [u8],
    msgs: &[PutItem],
    placement: &Placement,
) -> Result<(), AppendFailure> {
    let mut at = 0;
    for (i, (m, p)) in msgs.iter().enumerate() {
        let rec = StoredRecord {
            body_crc: p.body_crc,
            queue_id: m.queue_id,
            flag: m.flag,
            queue_offset: if placement.dispatched {
                placement.base_queue_offset + i as i64
            } else {
                0
            },
            physical_offset: placement.base_phy + at as i64,
            sys_flag: m.sys_flag,
            born_timestamp: m.born_timestamp,
            born_host: m.born_host,
            store_timestamp: placement.store_timestamp,
            store_host: m.store_host,
            reconsume_times: m.reconsume_times,
            prepared_transaction_offset: m.prepared_transaction_offset,
            body: &m.body,
            topic: m.topic.as_bytes(),
            properties: m.properties_string.as_bytes(),
        };
        at += encode_with_layout(&mut region[at..], &rec, &p.layout).map_err(|e| {
            tracing::error!(error = %e, "record encoding failed");
            AppendFailure::Status(PutMessageStatus::UnknownError)
        })?;
    }
    Ok(())
}

/// The message ids of records written from `base_phy`, comma-separated as a batch answers.
fn message_ids(msgs: &[PutItem], base_phy: i64) -> String {
    let mut msg_id = String::with_capacity(msgs.len() * 33);
    let mut phy = base_phy;
    for (m, p) in msgs {
        if !msg_id.is_empty() {
            msg_id.push(',');
        }
        msg_id.push_str(&create_message_id(m.store_host, phy));
        phy += p.layout.total_size() as i64;
    }
    msg_id
}

impl StoreInner {
    /// The shared state over loaded files, with every flag at its starting value.
    fn new(
        config: MessageStoreConfig,
        files: LoadedFiles,
        flusher: Arc<dyn DiskFlusher>,
        index_service: IndexService,
        allocator: Arc<MappedFileAllocator>,
    ) -> Self {
        let puts_fenced = AtomicBool::new(config.puts_fenced_at_open);
        StoreInner {
            config,
            commit_log: files.commit_log,
            consume_queues: files.consume_queues,
            checkpoint: files.checkpoint,
            flusher,
            group_commit: GroupCommitQueue::default(),
            watcher: FlushDiskWatcher::default(),
            signal: ServiceSignal::default(),
            delay_levels: files.delay_levels,
            last_dispatched_timestamp: AtomicI64::new(0),
            reput: ReputOffset::default(),
            clean: CleanState::default(),
            flush_latency: LatencyHistogram::new(),
            index_service,
            allocator,
            begin_time_in_lock: AtomicI64::new(0),
            slow_put: crate::disk_fault_injection::slow_put_from_env(),
            listener: RwLock::new(None),
            slave_ack_waiter: RwLock::new(None),
            shutdown: AtomicBool::new(false),
            writeable: AtomicBool::new(true),
            puts_fenced,
            put_queue: PutQueue::default(),
        }
    }

    pub(crate) fn is_writeable(&self) -> bool {
        self.writeable.load(Ordering::Acquire)
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    pub(crate) fn mark_not_writeable(&self, why: &str) {
        if self.writeable.swap(false, Ordering::AcqRel) {
            tracing::error!(reason = why, "message store is no longer writeable");
        }
    }

    fn prepare(&self, msg: &MessageExtBrokerInner) -> Result<Prepared, PutMessageStatus> {
        if !valid_topic(&msg.topic) {
            return Err(PutMessageStatus::MessageIllegal);
        }
        if msg.body.len() > self.config.max_message_size {
            return Err(PutMessageStatus::MessageIllegal);
        }
        if msg.properties_string.len() > MAX_PROPERTIES_LEN {
            return Err(PutMessageStatus::PropertiesSizeExceeded);
        }
        let layout = StoredMessageLayout::new(
            msg.body.len(),
            msg.topic.len(),
            msg.properties_string.len(),
            msg.born_host.is_ipv6(),
            msg.store_host.is_ipv6(),
        )
        .map_err(|e| match e {
            MessageEncodeError::PropertiesTooLong(_) => PutMessageStatus::PropertiesSizeExceeded,
            _ => PutMessageStatus::MessageIllegal,
        })?;
        let total = layout.total_size();
        if total > self.config.max_message_size + RECORD_OVERHEAD_ALLOWANCE
            || total + END_FILE_MIN_BLANK_LENGTH > self.commit_log.file_size()
        {
            return Err(PutMessageStatus::MessageIllegal);
        }
        Ok(Prepared {
            layout,
            body_crc: crc32(&msg.body),
        })
    }

    /// Appends the records of `msgs` (one topic queue) and writes their ConsumeQueue entries,
    /// all under the put lock. SYNC_FLUSH requests are queued under the lock too, so shutdown
    /// (which takes the lock once after raising its flag) never misses one.
    fn append(&self, msgs: &[PutItem], wait: bool) -> Result<Appended, AppendFailure> {
        let first = &msgs.first().ok_or(PutMessageStatus::MessageIllegal)?.0;
        let total: usize = msgs.iter().map(|(_, p)| p.layout.total_size()).sum();
        let dispatched = matches!(
            transaction_value(first.sys_flag),
            TRANSACTION_NOT_TYPE | TRANSACTION_COMMIT
        );

        let mut state = self.commit_log.lock();
        let in_lock = LockTimer::start(&self.begin_time_in_lock);
        if let Some(delay) = self.slow_put {
            crate::disk_fault_injection::stall(delay);
        }
        self.check_accepting_puts()?;
        let now = now_millis().max(state.last_store_timestamp);
        let (cq, base_queue_offset) = self.reserve_queue_entries(first, dispatched, msgs.len())?;
        // the next segment is asked for as soon as one is taken, unless the disk is full
        let ahead = !self.clean.is_disk_full();
        let file = self
            .commit_log
            .segment_for_append(&mut state, total, ahead)
            .map_err(|e| self.append_failure("commit log", self.commit_log.queue(), 0, &e))?;
        let wrote = file.wrote_position();
        let base_phy = file.file_from_offset() + wrote as i64;
        file.begin_write(wrote + total);
        let placement = Placement {
            dispatched,
            base_queue_offset,
            base_phy,
            store_timestamp: now,
        };
        self.write_records(&file, wrote, total, msgs, &placement)?;
        file.set_wrote_position(wrote + total);
        self.commit_log.set_last_store_timestamp(&mut state, now);

        if let Some(cq) = &cq {
            self.write_queue_entries(cq, msgs, base_phy, base_queue_offset);
        }
        self.last_dispatched_timestamp.store(now, Ordering::Release);

        let next_offset = base_phy + total as i64;
        let flush_wait = if self.config.flush_disk_type == FlushDiskType::SyncFlush {
            self.submit_group_commit(msgs, dispatched, base_queue_offset, next_offset, wait)
        } else {
            None
        };
        drop(in_lock);
        drop(state);

        Ok(Appended {
            result: AppendMessageResult {
                wrote_offset: base_phy,
                wrote_bytes: total as i32,
                msg_id: message_ids(msgs, base_phy),
                store_timestamp: now,
                logics_offset: base_queue_offset,
                msg_num: msgs.len() as i32,
            },
            dispatched,
            flush_wait,
        })
    }

    /// Encodes the records of `msgs` (`total` bytes) at `wrote` in `file`, under the put lock.
    ///
    /// Under SYNC_FLUSH they are encoded into a buffer and written through the file (`pwrite`),
    /// not stored into the mapping: every group commit's `msync` write-protects the pages it
    /// wrote back that are mapped writable, which interrupts every CPU to flush its TLB, and
    /// the next put into the same page faults to make it writable again. Pages written through
    /// the file are never mapped writable. Under ASYNC_FLUSH, flushed twice a second, the two
    /// ways cost the same (docs/PERFORMANCE.md, "One task per connection (tried, reverted), and
    /// group commit through the file").
    fn write_records(
        &self,
        file: &crate::MappedFile,
        wrote: usize,
        total: usize,
        msgs: &[PutItem],
        placement: &Placement,
    ) -> Result<(), AppendFailure> {
        if self.config.flush_disk_type != FlushDiskType::SyncFlush {
            // SAFETY: the put lock makes this the only writer, and the range lies past the
            // published write position, so no reader sees it until `set_wrote_position`.
            let region = unsafe { file.region_mut(wrote, total) };
            return encode_records(region, msgs, placement);
        }
        PUT_SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            scratch.resize(total, 0);
            encode_records(scratch, msgs, placement)?;
            let written = file.write_at(wrote, scratch);
            if scratch.capacity() > PUT_SCRATCH_KEEP {
                *scratch = Vec::new();
            }
            written.map_err(|e| {
                tracing::error!(error = %e, file = %file.path().display(), "writing the commit log failed");
                AppendFailure::Status(PutMessageStatus::UnknownError)
            })
        })
    }

    /// Under the put lock: refuses puts while shutting down, not writeable, on a full disk or
    /// on a slave.
    fn check_accepting_puts(&self) -> Result<(), PutMessageStatus> {
        // a slave's CommitLog is the master's byte for byte: only replication writes it
        if self.shutdown.load(Ordering::Acquire)
            || self.puts_fenced.load(Ordering::Acquire)
            || !self.is_writeable()
            || self.clean.is_disk_full()
            || !self.config.broker_role.is_master()
        {
            return Err(PutMessageStatus::ServiceNotAvailable);
        }
        Ok(())
    }

    /// Under the put lock: the ConsumeQueue the records go to, with room made for `count`
    /// entries, and the queue offset of the first one.
    fn reserve_queue_entries(
        &self,
        first: &MessageExtBrokerInner,
        dispatched: bool,
        count: usize,
    ) -> Result<(Option<Arc<ConsumeQueue>>, i64), AppendFailure> {
        // half and rollback records get no consume queue entry (and queue offset 0)
        let cq = dispatched.then(|| {
            self.consume_queues
                .find_or_create(&first.topic, first.queue_id)
        });
        let base_queue_offset = cq.as_ref().map_or(0, |cq| cq.max_offset_in_queue());
        if let Some(cq) = &cq {
            // room for the entries first: a full disk then stores nothing rather than a record
            // no queue points to
            cq.reserve_room(base_queue_offset, count).map_err(|e| {
                let q = cq.mapped_file_queue();
                let start = base_queue_offset * CQ_STORE_UNIT_SIZE as i64;
                self.append_failure("consume queue", q, start, &e)
            })?;
        }
        Ok((cq, base_queue_offset))
    }

    /// Under the put lock, after the records are published: their ConsumeQueue entries. A
    /// failed write stops the store taking puts.
    fn write_queue_entries(
        &self,
        cq: &ConsumeQueue,
        msgs: &[PutItem],
        base_phy: i64,
        base_queue_offset: i64,
    ) {
        let mut phy = base_phy;
        for (i, (m, p)) in msgs.iter().enumerate() {
            let size = p.layout.total_size();
            let qoff = base_queue_offset + i as i64;
            if let Err(e) = cq.put_message_position_info(phy, size as i32, m.tags_code, qoff) {
                tracing::error!(topic = %m.topic, queue_id = m.queue_id, error = %e, "consume queue write failed");
                self.mark_not_writeable("consume queue write failed");
                break;
            }
            phy += size as i64;
        }
    }

    /// What a failed segment lookup means for the put: wait for a segment still being created,
    /// or refuse.
    fn append_failure(
        &self,
        what: &'static str,
        queue: &MappedFileQueue,
        start_offset: i64,
        e: &io::Error,
    ) -> AppendFailure {
        if e.kind() == io::ErrorKind::WouldBlock {
            return AppendFailure::SegmentNotReady {
                what,
                slot: queue.slot().clone(),
                spec: queue.spec(queue.next_segment_offset(start_offset)),
            };
        }
        AppendFailure::Status(self.segment_creation_failed(what, e))
    }

    /// The writer thread: waits, without the put lock, for the allocator to deliver a segment
    /// until `until`; the status to answer when it did not.
    fn wait_for_segment(
        &self,
        what: &'static str,
        slot: &SegmentSlot,
        spec: SegmentSpec,
        until: Instant,
    ) -> Result<(), PutMessageStatus> {
        let timeout = until.saturating_duration_since(Instant::now());
        let offset = spec.offset;
        match slot.create_or_wait(&spec, timeout) {
            Ok(true) => Ok(()),
            Ok(false) => {
                tracing::error!(
                    offset,
                    timeout_ms = ALLOCATE_WAIT_TIMEOUT.as_millis() as u64,
                    "no {what} segment was created in time"
                );
                Err(PutMessageStatus::CreateMappedFileFailed)
            }
            Err(e) => Err(self.segment_creation_failed(what, &e)),
        }
    }

    /// The writer thread: appends one put, waiting for a segment still being created.
    fn append_waiting_for_segments(
        &self,
        msgs: &[PutItem],
        wait: bool,
    ) -> Result<Appended, PutMessageStatus> {
        let mut deadline = None;
        loop {
            match self.append(msgs, wait) {
                Ok(a) => return Ok(a),
                Err(AppendFailure::Status(status)) => return Err(status),
                Err(AppendFailure::SegmentNotReady { what, slot, spec }) => {
                    let until =
                        *deadline.get_or_insert_with(|| Instant::now() + ALLOCATE_WAIT_TIMEOUT);
                    self.wait_for_segment(what, &slot, spec, until)?;
                }
            }
        }
    }

    /// The CommitLog writer thread body (commit_log_writer.rs): appends queued puts in arrival
    /// order until the queue is stopped and empty.
    pub(crate) fn run_commit_log_writer(&self) {
        let mut batch = Vec::new();
        let mut held = Vec::new();
        let sync_master = self.config.broker_role == BrokerRole::SyncMaster;
        while self.put_queue.take_into(&mut batch) {
            for job in batch.drain(..) {
                let PutJob { msgs, wait, reply } = job;
                let appended = self.append_waiting_for_segments(&msgs, wait);
                if sync_master && wait && appended.is_ok() {
                    // answered once the whole batch is appended and on its way to the slaves
                    // (`records_appended`): the replication round trip starts first, as it is
                    // what these puts wait for
                    held.push((reply, (appended, msgs)));
                } else {
                    // the sender may be gone (its connection closed): the record stays stored
                    let _ = reply.send((appended, msgs));
                }
            }
            if !held.is_empty() {
                if let Some(waiter) = self.slave_ack_waiter.read().as_ref() {
                    waiter.records_appended();
                }
                for (reply, answer) in held.drain(..) {
                    let _ = reply.send(answer);
                }
            }
        }
    }

    /// A segment could not be created: on a full disk DISK_FULL is raised (the disk check
    /// clears it once space frees) and the put is refused like any put on a full disk.
    fn segment_creation_failed(&self, what: &str, e: &io::Error) -> PutMessageStatus {
        tracing::error!(error = %e, "cannot create a {what} segment");
        if e.kind() == io::ErrorKind::StorageFull {
            self.clean.mark_disk_full(&format!(
                "no space left on device creating a {what} segment"
            ));
            PutMessageStatus::ServiceNotAvailable
        } else {
            PutMessageStatus::CreateMappedFileFailed
        }
    }

    fn submit_group_commit(
        &self,
        msgs: &[PutItem],
        dispatched: bool,
        base_queue_offset: i64,
        next_offset: i64,
        wait: bool,
    ) -> Option<oneshot::Receiver<PutMessageStatus>> {
        let arrivals: Vec<Arrival> = if dispatched && self.listener.read().is_some() {
            msgs.iter()
                .enumerate()
                .map(|(i, (m, _))| Arrival {
                    topic: m.topic.clone(),
                    queue_id: m.queue_id,
                    max_offset: base_queue_offset + i as i64 + 1,
                    tags_code: m.tags_code,
                })
                .collect()
        } else {
            Vec::new()
        };
        let deadline = Instant::now() + Duration::from_millis(self.config.sync_flush_timeout);
        if wait {
            let (tx, rx) = oneshot::channel();
            let req = Arc::new(GroupCommitRequest::new(
                next_offset,
                deadline,
                Some(tx),
                arrivals,
            ));
            self.watcher.add(req.clone());
            self.group_commit.submit(req);
            Some(rx)
        } else {
            if arrivals.is_empty() {
                self.group_commit.wakeup();
            } else {
                self.group_commit.submit(Arc::new(GroupCommitRequest::new(
                    next_offset,
                    deadline,
                    None,
                    arrivals,
                )));
            }
            None
        }
    }

    pub(crate) fn notify_arrival(
        &self,
        topic: &str,
        queue_id: i32,
        max_offset: i64,
        tags_code: i64,
    ) {
        if let Some(l) = self.arrival_listener() {
            l(topic, queue_id, max_offset, tags_code);
        }
    }

    /// The long-polling listener, for a caller that tells it about a run of records.
    pub(crate) fn arrival_listener(&self) -> Option<MessageArrivingListener> {
        self.listener.read().clone()
    }

    async fn put(&self, msgs: Vec<PutItem>, wait: bool) -> PutMessageResult {
        let (tx, rx) = oneshot::channel();
        let job = PutJob {
            msgs,
            wait,
            reply: tx,
        };
        if self.put_queue.submit(job).is_err() {
            let status = if self.shutdown.load(Ordering::Acquire) {
                PutMessageStatus::ServiceNotAvailable
            } else {
                PutMessageStatus::OsPageCacheBusy
            };
            return PutMessageResult::failure(status);
        }
        let (appended, msgs) = match rx.await {
            Ok((Ok(appended), msgs)) => (appended, msgs),
            Ok((Err(status), _)) => return PutMessageResult::failure(status),
            Err(_) => return PutMessageResult::failure(PutMessageStatus::ServiceNotAvailable),
        };
        let mut status = match appended.flush_wait {
            Some(rx) => rx.await.unwrap_or(PutMessageStatus::FlushDiskTimeout),
            None => PutMessageStatus::PutOk,
        };
        if wait && self.config.broker_role == BrokerRole::SyncMaster {
            // as in RocketMQ 4.9, a replica failure overrides the flush result
            let replica = self.wait_for_slave(&appended.result).await;
            if replica != PutMessageStatus::PutOk {
                status = replica;
            }
        }
        if self.config.flush_disk_type == FlushDiskType::AsyncFlush && appended.dispatched {
            let base = appended.result.logics_offset;
            for (i, (m, _)) in msgs.iter().enumerate() {
                self.notify_arrival(&m.topic, m.queue_id, base + i as i64 + 1, m.tags_code);
            }
        }
        PutMessageResult {
            status,
            append: Some(appended.result),
        }
    }

    /// SYNC_MASTER: waits until a slave has the appended records (no waiter installed, i.e. no
    /// HA service: SLAVE_NOT_AVAILABLE, as a master without slaves answers).
    async fn wait_for_slave(&self, appended: &AppendMessageResult) -> PutMessageStatus {
        let waiter = self.slave_ack_waiter.read().clone();
        let Some(waiter) = waiter else {
            return PutMessageStatus::SlaveNotAvailable;
        };
        let next_offset = appended.wrote_offset + i64::from(appended.wrote_bytes);
        let timeout = Duration::from_millis(self.config.sync_flush_timeout);
        waiter.wait_for_slave_ack(next_offset, timeout).await
    }

    /// Flushes the CommitLog and advances the checkpoint when everything got flushed.
    pub(crate) fn flush_commit_log(&self, least_pages: usize) -> io::Result<bool> {
        let ts = self.commit_log.last_store_timestamp();
        let (started, from) = (Instant::now(), self.commit_log.flushed_where());
        let all = self.commit_log.flush(least_pages, &*self.flusher)?;
        if self.commit_log.flushed_where() > from {
            self.flush_latency.observe(started.elapsed());
        }
        if all && ts > 0 {
            self.checkpoint.set_physic_msg_timestamp(ts);
        }
        Ok(all)
    }

    /// Flushes every ConsumeQueue; after a complete flush advances and persists the checkpoint.
    pub(crate) fn flush_consume_queues(&self, least_pages: usize) -> bool {
        let ts = self.last_dispatched_timestamp.load(Ordering::Acquire);
        let mut all = true;
        for cq in self.consume_queues.all() {
            match cq.flush(least_pages, &*self.flusher) {
                Ok(done) => all &= done,
                Err(e) => {
                    tracing::error!(topic = cq.topic(), queue_id = cq.queue_id(), error = %e, "consume queue flush failed");
                    all = false;
                }
            }
        }
        if all && ts > 0 {
            self.checkpoint.set_logics_msg_timestamp(ts);
        }
        if let Err(e) = self.checkpoint.flush() {
            tracing::error!(error = %e, "checkpoint flush failed");
            return false;
        }
        all
    }

    /// Queue max offset as consumers may see it: under SYNC_FLUSH only flushed records count.
    fn visible_max_offset(&self, cq: &ConsumeQueue) -> i64 {
        let max = cq.max_offset_in_queue();
        if self.config.flush_disk_type != FlushDiskType::SyncFlush {
            return max;
        }
        let limit = self.commit_log.flushed_where();
        let visible = |o: i64| {
            cq.get(o)
                .is_some_and(|u| u.is_blank() || u.phy_offset + u.size as i64 <= limit)
        };
        let (mut lo, mut hi) = (cq.min_offset_in_queue(), max);
        if hi <= lo || visible(hi - 1) {
            return max;
        }
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if visible(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn store_time_of(&self, cq: &ConsumeQueue, offset: i64) -> i64 {
        match cq.get(offset) {
            Some(u) if u.is_valid() && !u.is_blank() => {
                self.commit_log.pickup_store_timestamp(u.phy_offset, u.size)
            }
            _ => -1,
        }
    }
}

impl DefaultMessageStore {
    /// Opens the store under `config.store_path_root_dir`: loads and recovers the files and
    /// starts the flush threads.
    pub fn open(config: MessageStoreConfig) -> Result<Arc<Self>, StoreError> {
        Self::open_with_flusher(config, crate::disk_fault_injection::flusher_from_env())
    }

    /// [`DefaultMessageStore::open`] with a replacement for the flush step (tests use it to
    /// simulate slow or failing disks).
    pub fn open_with_flusher(
        config: MessageStoreConfig,
        flusher: Arc<dyn DiskFlusher>,
    ) -> Result<Arc<Self>, StoreError> {
        config.validate().map_err(StoreError::InvalidConfig)?;
        let root = config.store_path_root_dir.clone();
        std::fs::create_dir_all(&root).map_err(|e| StoreError::io(&root, e))?;
        let lock_file = lock_store(&config.lock_file_path())?;
        let commit_log_dir = config.commit_log_path();
        std::fs::create_dir_all(&commit_log_dir).map_err(|e| StoreError::io(&commit_log_dir, e))?;

        let abort_path = config.abort_file_path();
        let abnormal = abort_path.exists();
        let files = LoadedFiles::load(&config, commit_log_dir)?;
        let index_service = IndexService::new(&config);
        // segments are created by the allocator thread from now on, recovery's included
        let (allocator, allocator_threads) = spawn_allocator(&root)?;
        files.commit_log.queue().set_allocator(allocator.clone());
        files.consume_queues.set_allocator(allocator.clone());
        let inner = Arc::new(StoreInner::new(
            config,
            files,
            flusher,
            index_service,
            allocator,
        ));
        if abnormal {
            tracing::warn!(root = %root.display(), "abort file found: the last shutdown was not clean, recovering");
        }
        if let Err(e) = recover_and_mark_running(&inner, abnormal, &abort_path) {
            inner.allocator.stop();
            for t in allocator_threads {
                let _ = t.join();
            }
            return Err(e);
        }
        // the first sends find their segment ready
        let log = inner.commit_log.queue();
        if !inner.clean.is_disk_full() && (inner.config.broker_role.is_master() || !log.is_empty())
        {
            log.request_next(0);
        }

        // created before the service threads: a failed spawn then shuts the store down on drop
        let store = Arc::new(DefaultMessageStore {
            inner: inner.clone(),
            threads: Mutex::new(Vec::new()),
            lock_file: Mutex::new(Some(lock_file)),
            shut_down: Mutex::new(false),
        });
        let threads = spawn_services(&inner, &root, allocator_threads)?;
        *store.threads.lock() = threads;
        tracing::info!(
            root = %root.display(),
            max_phy_offset = store.get_max_phy_offset(),
            queues = store.inner.consume_queues.all().len(),
            "message store opened"
        );
        Ok(store)
    }

    /// Whether an append has held the put lock longer than `osPageCacheBusyTimeOutMills`
    /// (RocketMQ `isOSPageCacheBusy`): the page cache is not keeping up, sends should back off.
    pub fn is_os_page_cache_busy(&self) -> bool {
        let begin = self.inner.begin_time_in_lock.load(Ordering::Acquire);
        if begin == 0 {
            return false;
        }
        let held = now_millis() - begin;
        // a clock step backwards or a bogus value is not a busy page cache
        held > self.inner.config.os_page_cache_busy_time_out_mills as i64 && held < 10_000_000
    }

    /// The configuration in use.
    pub fn config(&self) -> &MessageStoreConfig {
        &self.inner.config
    }

    /// Installs the listener told about every message that becomes readable (long polling).
    pub fn set_message_arriving_listener(&self, listener: MessageArrivingListener) {
        *self.inner.listener.write() = Some(listener);
    }

    /// Slave: appends CommitLog bytes replicated from the master at `offset`, which must be
    /// the local CommitLog end (or a segment boundary in an empty store), and writes the
    /// ConsumeQueue entries of the records they complete. Creates segment files: call it from a
    /// blocking thread, never from an async task.
    pub fn append_to_commit_log(&self, offset: i64, data: &[u8]) -> Result<(), AppendError> {
        self.inner.append_to_commit_log(offset, data)
    }

    /// Master: the CommitLog bytes from `offset` to the written end of the segment holding
    /// it, zero-copy (what one replication frame is cut from).
    pub fn get_commit_log_data(&self, offset: i64) -> Option<Bytes> {
        self.inner.commit_log_data(offset)
    }

    /// Master: reads up to `len` CommitLog bytes from `offset` (within its segment, up to the
    /// written end) into the page cache by touching one byte per page, so that the page faults,
    /// and the kernel read-ahead they start, wait for the disk on the calling thread rather than
    /// on the one that sends the bytes to a slave. Returns the bytes covered (0 at the end).
    /// Blocks on the disk: for a dedicated thread.
    pub fn read_commit_log_ahead(&self, offset: i64, len: usize) -> usize {
        crate::blocking::debug_assert_blocking_allowed("reading the CommitLog ahead");
        let Some(data) = self.inner.commit_log_data(offset) else {
            return 0;
        };
        let n = data.len().min(len);
        for at in (0..n).step_by(crate::OS_PAGE_SIZE) {
            std::hint::black_box(data[at]);
        }
        n
    }

    /// End of the last record whose ConsumeQueue entry is written (the CommitLog end on a
    /// master; on a slave the end of the last complete replicated record).
    pub fn dispatched_max_offset(&self) -> i64 {
        self.inner.dispatched_max_offset()
    }

    /// Installs what a SYNC_MASTER put waits on for a slave acknowledgement (the HA service).
    pub fn set_slave_ack_waiter(&self, waiter: Arc<dyn SlaveAckWaiter>) {
        *self.inner.slave_ack_waiter.write() = Some(waiter);
    }

    /// Stores one message. Under SYNC_FLUSH (and WAIT not "false") the future completes when
    /// a flush covers the record, or with FLUSH_DISK_TIMEOUT after `syncFlushTimeout`.
    pub async fn put_message(&self, mut msg: MessageExtBrokerInner) -> PutMessageResult {
        normalize_properties(&mut msg);
        let prepared = match self.inner.prepare(&msg) {
            Ok(p) => p,
            Err(s) => return PutMessageResult::failure(s),
        };
        let wait = msg.wait_store_msg_ok();
        self.inner.put(vec![(msg, prepared)], wait).await
    }

    /// Stores a batch for one topic queue: consecutive queue offsets, all in one segment.
    /// Transactional messages and delay levels are refused (MESSAGE_ILLEGAL).
    pub async fn put_messages(&self, batch: Vec<MessageExtBrokerInner>) -> PutMessageResult {
        let Some(first) = batch.first() else {
            return PutMessageResult::failure(PutMessageStatus::MessageIllegal);
        };
        let storable = batch.iter().all(|m| {
            m.topic == first.topic
                && m.queue_id == first.queue_id
                && transaction_value(m.sys_flag) == TRANSACTION_NOT_TYPE
                && m.delay_time_level() <= 0
        });
        if !storable {
            return PutMessageResult::failure(PutMessageStatus::MessageIllegal);
        }
        let wait = first.wait_store_msg_ok();
        let mut items = Vec::with_capacity(batch.len());
        let mut total = 0usize;
        for mut m in batch {
            normalize_properties(&mut m);
            match self.inner.prepare(&m) {
                Ok(p) => {
                    total += p.layout.total_size();
                    items.push((m, p));
                }
                Err(s) => return PutMessageResult::failure(s),
            }
        }
        if total > self.inner.config.max_message_size + RECORD_OVERHEAD_ALLOWANCE
            || total + END_FILE_MIN_BLANK_LENGTH > self.inner.commit_log.file_size()
        {
            return PutMessageResult::failure(PutMessageStatus::MessageIllegal);
        }
        self.inner.put(items, wait).await
    }

    /// Reads up to `max_msg_nums` records of a queue from `offset` (RocketMQ `getMessage`),
    /// skipping entries `filter` rejects by tags code or by the stored record.
    #[allow(clippy::too_many_arguments)]
    pub fn get_message(
        &self,
        _group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_msg_nums: i32,
        max_total_bytes: i32,
        filter: Option<&dyn MessageFilter>,
    ) -> GetMessageResult {
        let (units, min, max) = match self.locate_pull(topic, queue_id, offset) {
            Ok(found) => found,
            Err(answer) => return answer,
        };
        let limits = PullLimits::new(&self.inner.config, max_msg_nums, max_total_bytes);
        let mut result =
            GetMessageResult::empty(GetMessageStatus::NoMatchedMessage, offset, min, max);
        let mut next_phy_file_start = i64::MIN;
        for i in 0..units.count() {
            let queue_offset = offset + i as i64;
            if queue_offset >= max {
                break;
            }
            let Some(unit) = units.get(i) else { break };
            if i * 20 > limits.max_filter {
                break;
            }
            if limits.is_full(&result, unit.size.max(0) as usize) {
                break;
            }
            result.next_begin_offset = queue_offset + 1;
            if unit.is_blank()
                || (next_phy_file_start != i64::MIN && unit.phy_offset < next_phy_file_start)
            {
                continue;
            }
            if filter.is_some_and(|f| !f.is_matched_by_consume_queue(unit.tags_code)) {
                continue;
            }
            next_phy_file_start = self.read_pulled(&mut result, &unit, queue_offset, filter);
        }
        result
    }

    /// The ConsumeQueue entries a pull from `offset` starts at, with the queue's min and max
    /// offsets; or the answer when there is nothing to read there.
    fn locate_pull(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<(CqBuffer, i64, i64), GetMessageResult> {
        let Some(cq) = self.inner.consume_queues.find(topic, queue_id) else {
            return Err(GetMessageResult::empty(
                GetMessageStatus::NoMatchedLogicQueue,
                0,
                0,
                0,
            ));
        };
        let min = cq.min_offset_in_queue();
        let max = self.inner.visible_max_offset(&cq);
        let empty = |status, next| Err(GetMessageResult::empty(status, next, min, max));
        if max == 0 {
            return empty(GetMessageStatus::NoMessageInQueue, 0);
        }
        if offset < min {
            return empty(GetMessageStatus::OffsetTooSmall, min);
        }
        if offset == max {
            return empty(GetMessageStatus::OffsetOverflowOne, offset);
        }
        if offset > max {
            return empty(GetMessageStatus::OffsetOverflowBadly, max);
        }
        let Some(units) = cq.get_index_buffer(offset) else {
            return empty(GetMessageStatus::OffsetFoundNull, cq.roll_next_file(offset));
        };
        Ok((units, min, max))
    }

    /// Reads the record `unit` points to into `result` unless `filter` rejects it. Returns
    /// where the next CommitLog segment starts when the record's segment is gone (entries
    /// before it are skipped), else `i64::MIN`.
    fn read_pulled(
        &self,
        result: &mut GetMessageResult,
        unit: &CqUnit,
        queue_offset: i64,
        filter: Option<&dyn MessageFilter>,
    ) -> i64 {
        match self
            .inner
            .commit_log
            .get_message(unit.phy_offset, unit.size)
        {
            Some(b) if filter.is_some_and(|f| !f.is_matched_by_commit_log(&b)) => i64::MIN,
            Some(b) => {
                result.total_size += b.len();
                result.messages.push(b);
                result.message_queue_offsets.push(queue_offset);
                result.status = GetMessageStatus::Found;
                i64::MIN
            }
            None => {
                if result.total_size == 0 {
                    result.status = GetMessageStatus::MessageWasRemoving;
                }
                self.inner.commit_log.roll_next_file(unit.phy_offset)
            }
        }
    }

    /// Records of `topic` carrying `key` (a KEYS key or the UNIQ_KEY) stored within
    /// `[begin, end]`, from the index (RocketMQ `queryMessage`).
    pub fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> QueryMessageResult {
        let i = &self.inner;
        index::query_message(
            &i.index_service,
            &i.commit_log,
            topic,
            key,
            max_num,
            begin,
            end,
        )
    }

    /// The key index.
    pub fn index_service(&self) -> &IndexService {
        &self.inner.index_service
    }

    /// The next queue offset to be written (what consumers see as max).
    pub fn get_max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .consume_queues
            .find(topic, queue_id)
            .map(|cq| self.inner.visible_max_offset(&cq))
            .unwrap_or(0)
    }

    /// The first readable queue offset.
    pub fn get_min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.inner
            .consume_queues
            .find(topic, queue_id)
            .map(|cq| cq.min_offset_in_queue())
            .unwrap_or(0)
    }

    /// The CommitLog offset of the record at a queue offset (0 if none).
    pub fn get_commit_log_offset_in_queue(&self, topic: &str, queue_id: i32, offset: i64) -> i64 {
        self.inner
            .consume_queues
            .find(topic, queue_id)
            .and_then(|cq| cq.get(offset))
            .filter(|u| u.is_valid() && !u.is_blank())
            .map(|u| u.phy_offset)
            .unwrap_or(0)
    }

    /// Whether the message at a queue offset is still in the memory-resident tail of the
    /// CommitLog (RocketMQ's `checkInDiskByConsumeOffset`, negated); false when there is none.
    pub fn check_in_mem_by_consume_offset(&self, topic: &str, queue_id: i32, offset: i64) -> bool {
        let unit = self
            .inner
            .consume_queues
            .find(topic, queue_id)
            .and_then(|cq| cq.get(offset))
            .filter(|u| u.is_valid() && !u.is_blank());
        unit.is_some_and(|u| {
            crate::memory_residency::is_in_memory(
                u.phy_offset,
                self.get_max_phy_offset(),
                self.inner.config.access_message_in_memory_max_ratio,
            )
        })
    }

    /// Queue offset for a time (RocketMQ boundary semantics): the first message stored at or
    /// after `timestamp_ms` (lower), or the last one stored at or before it (`upper`).
    pub fn get_offset_in_queue_by_time(
        &self,
        topic: &str,
        queue_id: i32,
        timestamp_ms: i64,
        upper: bool,
    ) -> i64 {
        let Some(cq) = self.inner.consume_queues.find(topic, queue_id) else {
            return 0;
        };
        let min = cq.min_offset_in_queue();
        let max = self.inner.visible_max_offset(&cq);
        if max <= min {
            return 0;
        }
        let min_phy = self.get_min_phy_offset();
        let time = |o: i64| -> Option<i64> {
            let u = cq.get(o)?;
            if u.is_blank() || u.phy_offset < min_phy {
                return Some(i64::MIN);
            }
            let t = self
                .inner
                .commit_log
                .pickup_store_timestamp(u.phy_offset, u.size);
            (t >= 0).then_some(t)
        };
        let Some(last) = time(max - 1) else { return 0 };
        if last < timestamp_ms {
            return if upper { max - 1 } else { max };
        }
        let Some(first) = time(min) else { return 0 };
        if first > timestamp_ms {
            return if upper { 0 } else { min };
        }
        // store times never decrease along a queue
        let partition = |pred: &dyn Fn(i64) -> bool| -> Option<i64> {
            let (mut lo, mut hi) = (min, max);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if pred(time(mid)?) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            Some(lo)
        };
        if upper {
            partition(&|t| t <= timestamp_ms)
                .map(|o| o - 1)
                .unwrap_or(0)
        } else {
            partition(&|t| t < timestamp_ms).unwrap_or(0)
        }
    }

    /// Store time of the first readable message of a queue (-1 if none).
    pub fn get_earliest_message_time(&self, topic: &str, queue_id: i32) -> i64 {
        let Some(cq) = self.inner.consume_queues.find(topic, queue_id) else {
            return -1;
        };
        self.inner.store_time_of(&cq, cq.min_offset_in_queue())
    }

    /// Store time of the message at a queue offset (-1 if none).
    pub fn get_message_store_timestamp(&self, topic: &str, queue_id: i32, offset: i64) -> i64 {
        let Some(cq) = self.inner.consume_queues.find(topic, queue_id) else {
            return -1;
        };
        self.inner.store_time_of(&cq, offset)
    }

    /// Store time of the oldest record in the CommitLog (-1 when empty), RocketMQ's
    /// `getEarliestMessageTime()`. Reads the oldest file's first page, which is likely cold:
    /// call it off the async reactor.
    pub fn get_earliest_message_time_in_commit_log(&self) -> i64 {
        let min = self.get_min_phy_offset();
        if min < 0 {
            return -1;
        }
        self.inner.commit_log.pickup_store_timestamp(min, i32::MAX)
    }

    /// The whole record at a CommitLog offset, zero-copy.
    pub fn look_message_by_offset(&self, commit_log_offset: i64) -> Option<Bytes> {
        self.inner
            .commit_log
            .look_message_by_offset(commit_log_offset)
    }

    /// Offset just past the newest CommitLog record.
    pub fn get_max_phy_offset(&self) -> i64 {
        self.inner.commit_log.max_offset()
    }

    /// First CommitLog offset held (-1 when the CommitLog is empty).
    pub fn get_min_phy_offset(&self) -> i64 {
        self.inner.commit_log.min_offset()
    }

    /// How long CommitLog flushes take.
    pub fn flush_latency(&self) -> &LatencyHistogram {
        &self.inner.flush_latency
    }

    /// The master's flushed offset kept in the checkpoint (`getMasterFlushedOffset`; 0 unless
    /// a controller-mode broker wrote it).
    pub fn get_master_flushed_offset(&self) -> i64 {
        self.inner.checkpoint.master_flushed_offset()
    }

    /// CommitLog offset up to which everything is on disk.
    pub fn get_flushed_phy_offset(&self) -> i64 {
        self.inner.commit_log.flushed_where()
    }

    /// Deletes the consume queues of `topics` (their records stay in the CommitLog).
    pub fn delete_topics(&self, topics: &[String]) {
        // the put lock keeps puts (on a slave: the reput thread) from writing into a queue
        // being deleted; lock order: reput offset, then put lock
        let _reput = self.inner.reput.offset.lock();
        let _guard = self.inner.commit_log.lock();
        for t in topics {
            match self.inner.consume_queues.delete_topic(t) {
                Ok(true) => tracing::info!(topic = %t, "deleted topic consume queues"),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(topic = %t, error = %e, "cannot delete topic consume queues")
                }
            }
        }
    }

    /// Every `(topic, queue id)` with a consume queue, sorted.
    pub fn topic_queues(&self) -> Vec<(String, i32)> {
        self.inner.consume_queues.topic_queues()
    }

    /// Whether puts are accepted.
    pub fn is_writeable(&self) -> bool {
        self.inner.is_writeable() && !self.inner.shutdown.load(Ordering::Acquire)
    }

    /// Lets puts in after an open with `puts_fenced_at_open` (a no-op otherwise).
    pub fn release_puts(&self) {
        self.inner.puts_fenced.store(false, Ordering::Release);
    }

    /// Whether puts are refused for lack of disk space (RocketMQ's DISK_FULL running flag).
    pub fn is_disk_full(&self) -> bool {
        self.inner.clean.is_disk_full()
    }

    /// Partition usage as RocketMQ reports it in a SERVICE_NOT_AVAILABLE remark.
    pub fn disk_util(&self) -> String {
        crate::disk::disk_util(&self.inner.config)
    }

    /// Makes the next clean runs delete expired files whatever the hour (RocketMQ
    /// `executeDeleteFilesManually`).
    pub fn execute_delete_files_manually(&self) {
        self.inner.clean.execute_delete_files_manually();
    }

    /// Runs the clean services once now, then checks the disk (what the clean thread does
    /// every `cleanResourceInterval`).
    pub fn clean_files_now(&self) {
        clean::clean_files_periodically(&self.inner);
        clean::is_space_full(&self.inner);
    }

    /// Stops the services, flushes everything, writes the checkpoint and removes the `abort`
    /// file (kept if something failed, so the next start recovers). Idempotent.
    pub fn shutdown(&self) {
        let mut done = self.shut_down.lock();
        if *done {
            return;
        }
        *done = true;
        let inner = &self.inner;
        inner.shutdown.store(true, Ordering::Release);
        // puts still queued are refused (the flag is up), and every append in flight (and its
        // group-commit request) completes before this returns
        inner.put_queue.stop();
        drop(inner.commit_log.lock());

        inner.signal.stop();
        inner.group_commit.stop();
        inner.watcher.stop();
        inner.allocator.stop();
        for t in self.threads.lock().drain(..) {
            if t.join().is_err() {
                tracing::error!("a store service thread panicked");
            }
        }

        inner.index_service.flush_all(&inner.checkpoint);
        let mut clean = inner.is_writeable();
        let mut flushed = false;
        for attempt in 0..10 {
            match inner.flush_commit_log(0) {
                Ok(true) => {
                    flushed = true;
                    break;
                }
                Ok(false) => {}
                Err(e) => tracing::error!(attempt, error = %e, "final commit log flush failed"),
            }
        }
        clean &= flushed;
        let flushed_where = inner.commit_log.flushed_where();
        for req in inner.group_commit.drain() {
            req.complete(if req.next_offset <= flushed_where {
                PutMessageStatus::PutOk
            } else {
                PutMessageStatus::FlushDiskTimeout
            });
        }
        clean &= inner.flush_consume_queues(0);
        // segments created ahead and never used go: the next start finds only used ones
        inner.commit_log.queue().discard_preallocated();
        for cq in inner.consume_queues.all() {
            cq.mapped_file_queue().discard_preallocated();
        }
        if clean {
            if let Err(e) = std::fs::remove_file(inner.config.abort_file_path()) {
                tracing::warn!(error = %e, "cannot remove the abort file");
            }
        } else {
            tracing::warn!("unclean shutdown: the abort file stays for recovery at the next start");
        }
        self.lock_file.lock().take();
        tracing::info!(root = %inner.config.store_path_root_dir.display(), "message store shut down");
    }
}

impl Drop for DefaultMessageStore {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The store files loaded at open, before recovery.
struct LoadedFiles {
    commit_log: CommitLog,
    consume_queues: ConsumeQueueTable,
    checkpoint: StoreCheckpoint,
    delay_levels: Vec<i64>,
}

impl LoadedFiles {
    /// Maps the CommitLog and ConsumeQueue segments, opens the checkpoint and parses the delay
    /// levels.
    fn load(
        config: &MessageStoreConfig,
        commit_log_dir: std::path::PathBuf,
    ) -> Result<Self, StoreError> {
        let commit_log = CommitLog::new(commit_log_dir, config.mapped_file_size_commit_log);
        commit_log.load()?;
        let consume_queues = ConsumeQueueTable::new(
            config.consume_queue_path(),
            config.mapped_file_size_consume_queue,
        );
        consume_queues.load()?;
        let checkpoint = StoreCheckpoint::open(&config.checkpoint_path())?;
        let delay_levels = config
            .delay_levels_millis()
            .map_err(StoreError::InvalidConfig)?;
        Ok(LoadedFiles {
            commit_log,
            consume_queues,
            checkpoint,
            delay_levels,
        })
    }
}

/// Starts the segment allocator threads; stops the allocator again if one cannot start.
fn spawn_allocator(
    root: &Path,
) -> Result<(Arc<MappedFileAllocator>, Vec<JoinHandle<()>>), StoreError> {
    let allocator = Arc::new(MappedFileAllocator::default());
    let mut allocator_threads = Vec::with_capacity(ALLOCATOR_THREADS);
    for _ in 0..ALLOCATOR_THREADS {
        let a = allocator.clone();
        let spawned = std::thread::Builder::new()
            .name("AllocateMappedFileService".into())
            .spawn(move || a.run());
        match spawned {
            Ok(t) => allocator_threads.push(t),
            Err(e) => {
                allocator.stop();
                return Err(StoreError::io(root, e));
            }
        }
    }
    Ok((allocator, allocator_threads))
}

/// Recovers the CommitLog and ConsumeQueues, loads the index, then writes the abort file that
/// a clean shutdown removes.
fn recover_and_mark_running(
    inner: &Arc<StoreInner>,
    abnormal: bool,
    abort_path: &Path,
) -> Result<(), StoreError> {
    recovery::recover(inner, abnormal)
        .and_then(|()| {
            inner.index_service.load(
                !abnormal,
                inner.checkpoint.index_msg_timestamp(),
                inner.commit_log.max_offset(),
            )
        })
        .and_then(|()| {
            std::fs::write(abort_path, std::process::id().to_string())
                .map_err(|e| StoreError::io(abort_path, e))
        })
}

/// Starts the flush, clean and index service threads, appended to `threads`.
fn spawn_services(
    inner: &Arc<StoreInner>,
    root: &Path,
    mut threads: Vec<JoinHandle<()>>,
) -> Result<Vec<JoinHandle<()>>, StoreError> {
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
            .map_err(|e| StoreError::io(root, e))
    };
    let i = inner.clone();
    threads.push(spawn(
        "CommitLogWriter",
        Box::new(move || i.run_commit_log_writer()),
    )?);
    let i = inner.clone();
    match inner.config.flush_disk_type {
        FlushDiskType::AsyncFlush => {
            threads.push(spawn(
                "FlushRealTimeService",
                Box::new(move || services::flush_real_time(&i)),
            )?);
        }
        FlushDiskType::SyncFlush => {
            threads.push(spawn(
                "GroupCommitService",
                Box::new(move || services::group_commit(&i)),
            )?);
            let i = inner.clone();
            threads.push(spawn(
                "FlushDiskWatcher",
                Box::new(move || i.watcher.run()),
            )?);
        }
    }
    let i = inner.clone();
    threads.push(spawn(
        "FlushConsumeQueueService",
        Box::new(move || services::flush_consume_queue(&i)),
    )?);
    let i = inner.clone();
    threads.push(spawn(
        "CleanCommitLogService",
        Box::new(move || clean::run(&i)),
    )?);
    if !inner.config.broker_role.is_master() {
        let i = inner.clone();
        threads.push(spawn(
            "ReputMessageService",
            Box::new(move || reput::run_reput_service(&i)),
        )?);
    }
    if inner.config.warm_maped_file_enable && inner.config.broker_role.is_master() {
        // a slave appends whole pages with `pwrite`, which needs no warming
        let i = inner.clone();
        threads.push(spawn(
            "WarmMappedFileService",
            Box::new(move || crate::warm::run_warm_service(&i)),
        )?);
    }
    // a slave's reput thread indexes what it dispatches
    if inner.config.message_index_enable && inner.config.broker_role.is_master() {
        let i = inner.clone();
        threads.push(spawn(
            "IndexService",
            Box::new(move || index::run_build_index_service(&i)),
        )?);
    }
    Ok(threads)
}

/// Takes the exclusive `lock` file (RocketMQ writes "lock" into it).
fn lock_store(path: &Path) -> Result<File, StoreError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    try_lock(&file).map_err(|e| {
        if e.kind() == io::ErrorKind::WouldBlock {
            StoreError::Locked(path.to_path_buf())
        } else {
            StoreError::io(path, e)
        }
    })?;
    file.write_all(b"lock")
        .map_err(|e| StoreError::io(path, e))?;
    Ok(file)
}

/// An exclusive advisory lock (`flock`), refused at once when another process holds it; the
/// lock dies with the descriptor.
fn try_lock(file: &File) -> io::Result<()> {
    file.try_lock().map_err(io::Error::from)
}
