//! The Raft storage of a controller: a file-backed log (with the vote) and the state machine
//! holding the [`ReplicasInfoManager`], with snapshots written beside the log.
//!
//! Every write is flushed to disk on tokio's blocking pool before openraft is told it is durable,
//! so the async reactor threads never wait on fsync.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{self, File, OpenOptions};
use std::io::{Cursor, Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, OptionalSend, RaftLogReader, RaftSnapshotBuilder,
    SnapshotMeta, StorageError, StorageIOError, StoredMembership, Vote,
};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::replicas_info_manager::{ControllerEvent, ReplicasInfoManager};

/// What one Raft log entry carries: the events of one controller request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventBatch {
    pub events: Vec<ControllerEvent>,
}

/// What applying an entry returns (nothing: the answer was computed before replicating).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied;

openraft::declare_raft_types!(
    /// The controller's Raft types: node ids are positions in `controllerDLegerPeers`.
    pub TypeConfig:
        D = EventBatch,
        R = Applied,
);

pub type NodeId = u64;
type StorageResult<T> = Result<T, StorageError<NodeId>>;

/// Log records are `len (u32 LE) | crc32 (u32 LE) | JSON`; the first bad or short record ends the
/// log (a write torn by a crash).
const LOG_FILE: &str = "raft.log";
const VOTE_FILE: &str = "vote.json";
const SNAPSHOT_FILE: &str = "snapshot.json";
/// A log record larger than this is taken as corruption.
const MAX_RECORD_BYTES: usize = 64 << 20;

#[derive(Serialize, Deserialize)]
enum Record {
    Purged(LogId<NodeId>),
    Entry(Entry<TypeConfig>),
}

fn io_err(e: impl std::fmt::Display) -> StorageError<NodeId> {
    StorageIOError::write(&std::io::Error::other(e.to_string())).into()
}

fn encode_record(record: &Record, out: &mut Vec<u8>) -> std::io::Result<()> {
    let json = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
    out.extend_from_slice(&json);
    Ok(())
}

/// Writes `bytes` to `path` through a fsynced temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Runs a blocking disk write on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> StorageResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io_err)?
        .map_err(io_err)
}

/// The log as readers see it; never locked across disk I/O.
struct LogMem {
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
}

impl LogMem {
    /// The whole log file as it should be after a truncate or a purge.
    fn encode_all(&self) -> std::io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let records = self
            .last_purged
            .map(Record::Purged)
            .into_iter()
            .chain(self.entries.values().cloned().map(Record::Entry));
        for r in records {
            encode_record(&r, &mut buf)?;
        }
        Ok(buf)
    }
}

/// The open log file, used only on the blocking pool.
struct LogFile {
    dir: PathBuf,
    file: File,
}

impl LogFile {
    /// Replaces the log file with `bytes` (fsynced, then renamed into place).
    fn rewrite(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.dir.join(LOG_FILE);
        write_atomically(&path, bytes)?;
        self.file = OpenOptions::new().append(true).open(&path)?;
        Ok(())
    }
}

/// The file-backed Raft log and vote. Openraft serializes the writes (`&mut self`); the file
/// lock is only taken on the blocking pool, the memory lock only briefly and never across I/O.
#[derive(Clone)]
pub struct LogStore {
    mem: Arc<Mutex<LogMem>>,
    file: Arc<Mutex<LogFile>>,
}

/// Reads the records of `bytes`, returning them and the length of the valid prefix.
fn decode_records(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while bytes.len() - pos >= 8 {
        let len = u32::from_le_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]])
            as usize;
        let crc = u32::from_le_bytes([
            bytes[pos + 4],
            bytes[pos + 5],
            bytes[pos + 6],
            bytes[pos + 7],
        ]);
        if len > MAX_RECORD_BYTES || bytes.len() - pos - 8 < len {
            break;
        }
        let body = &bytes[pos + 8..pos + 8 + len];
        if crc32fast::hash(body) != crc {
            break;
        }
        match serde_json::from_slice(body) {
            Ok(r) => out.push(r),
            Err(_) => break,
        }
        pos += 8 + len;
    }
    (out, pos)
}

impl LogStore {
    /// Opens (or creates) the log in `dir`, dropping a torn tail.
    pub fn open(dir: &Path) -> std::io::Result<LogStore> {
        fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let mut bytes = Vec::new();
        if path.exists() {
            File::open(&path)?.read_to_end(&mut bytes)?;
        }
        let (records, valid) = decode_records(&bytes);
        if valid < bytes.len() {
            tracing::warn!(path = %path.display(), valid, total = bytes.len(), "dropping a torn tail of the controller log");
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(valid as u64)?;
            f.sync_all()?;
        }
        let mut entries = BTreeMap::new();
        let mut last_purged = None;
        for r in records {
            match r {
                Record::Purged(id) => {
                    entries.retain(|i, _| *i > id.index);
                    last_purged = Some(id);
                }
                Record::Entry(e) => {
                    // A later entry at an index replaces what followed it (a truncate).
                    let index = e.log_id.index;
                    entries.retain(|i, _| *i < index);
                    entries.insert(index, e);
                }
            }
        }
        let vote = match fs::read(dir.join(VOTE_FILE)) {
            Ok(b) => serde_json::from_slice(&b).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(LogStore {
            mem: Arc::new(Mutex::new(LogMem {
                entries,
                last_purged,
                vote,
            })),
            file: Arc::new(Mutex::new(LogFile {
                dir: dir.to_path_buf(),
                file,
            })),
        })
    }
}

impl LogStore {
    async fn rewrite(&self, bytes: Vec<u8>) -> StorageResult<()> {
        let file = self.file.clone();
        blocking(move || file.lock().rewrite(&bytes)).await
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> StorageResult<Vec<Entry<TypeConfig>>> {
        let mem = self.mem.lock();
        Ok(mem.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> StorageResult<LogState<TypeConfig>> {
        let mem = self.mem.lock();
        let last = mem
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(mem.last_purged);
        Ok(LogState {
            last_purged_log_id: mem.last_purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> StorageResult<()> {
        let file = self.file.clone();
        let json = serde_json::to_vec(vote).map_err(io_err)?;
        blocking(move || {
            let f = file.lock();
            write_atomically(&f.dir.join(VOTE_FILE), &json)
        })
        .await?;
        self.mem.lock().vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> StorageResult<Option<Vote<NodeId>>> {
        Ok(self.mem.lock().vote)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> StorageResult<()>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry<TypeConfig>> = entries.into_iter().collect();
        let mut buf = Vec::new();
        for e in &entries {
            encode_record(&Record::Entry(e.clone()), &mut buf).map_err(io_err)?;
        }
        let file = self.file.clone();
        let result = blocking(move || {
            let mut f = file.lock();
            f.file.write_all(&buf)?;
            f.file.sync_data()
        })
        .await;
        if result.is_ok() {
            let mut mem = self.mem.lock();
            for e in entries {
                mem.entries.insert(e.log_id.index, e);
            }
        }
        match &result {
            Ok(()) => callback.log_io_completed(Ok(())),
            Err(e) => callback.log_io_completed(Err(std::io::Error::other(e.to_string()))),
        }
        result
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let bytes = {
            let mut mem = self.mem.lock();
            mem.entries.retain(|i, _| *i < log_id.index);
            mem.encode_all().map_err(io_err)?
        };
        self.rewrite(bytes).await
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> StorageResult<()> {
        let bytes = {
            let mut mem = self.mem.lock();
            mem.entries.retain(|i, _| *i > log_id.index);
            mem.last_purged = Some(log_id);
            mem.encode_all().map_err(io_err)?
        };
        self.rewrite(bytes).await
    }
}

/// The state every controller applies, in log order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AppliedState {
    pub last_applied: Option<LogId<NodeId>>,
    pub membership: StoredMembership<NodeId, BasicNode>,
    pub replicas: ReplicasInfoManager,
}

#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

/// The state machine: the applied state, shared with the request processor, and the last
/// snapshot.
#[derive(Clone)]
pub struct StateMachineStore {
    state: Arc<RwLock<AppliedState>>,
    dir: PathBuf,
    snapshot: Arc<Mutex<Option<StoredSnapshot>>>,
}

impl StateMachineStore {
    /// Opens the state machine in `dir`, restoring the last snapshot if there is one.
    pub fn open(dir: &Path) -> std::io::Result<StateMachineStore> {
        fs::create_dir_all(dir)?;
        let (state, snapshot) = match fs::read(dir.join(SNAPSHOT_FILE)) {
            Ok(b) => {
                let snap: StoredSnapshot =
                    serde_json::from_slice(&b).map_err(std::io::Error::other)?;
                let state: AppliedState =
                    serde_json::from_slice(&snap.data).map_err(std::io::Error::other)?;
                (state, Some(snap))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (AppliedState::default(), None),
            Err(e) => return Err(e),
        };
        Ok(StateMachineStore {
            state: Arc::new(RwLock::new(state)),
            dir: dir.to_path_buf(),
            snapshot: Arc::new(Mutex::new(snapshot)),
        })
    }

    /// The applied state, for reading.
    pub fn state(&self) -> Arc<RwLock<AppliedState>> {
        self.state.clone()
    }

    async fn persist_snapshot(&self, snap: StoredSnapshot) -> StorageResult<()> {
        let json = serde_json::to_vec(&snap).map_err(io_err)?;
        let path = self.dir.join(SNAPSHOT_FILE);
        blocking(move || write_atomically(&path, &json)).await?;
        *self.snapshot.lock() = Some(snap);
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> StorageResult<Snapshot<TypeConfig>> {
        let (data, meta) = {
            let s = self.state.read();
            let data = serde_json::to_vec(&*s).map_err(io_err)?;
            let id = s
                .last_applied
                .map_or("0-0".into(), |l| format!("{}-{}", l.leader_id, l.index));
            let meta = SnapshotMeta {
                last_log_id: s.last_applied,
                last_membership: s.membership.clone(),
                snapshot_id: id,
            };
            (data, meta)
        };
        self.persist_snapshot(StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        })
        .await?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = StateMachineStore;

    async fn applied_state(
        &mut self,
    ) -> StorageResult<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>)> {
        let s = self.state.read();
        Ok((s.last_applied, s.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> StorageResult<Vec<Applied>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut s = self.state.write();
        let mut out = Vec::new();
        for e in entries {
            s.last_applied = Some(e.log_id);
            match e.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(batch) => {
                    for ev in &batch.events {
                        s.replicas.apply_event(ev);
                    }
                }
                EntryPayload::Membership(m) => {
                    s.membership = StoredMembership::new(Some(e.log_id), m);
                }
            }
            out.push(Applied);
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> StorageResult<Box<Cursor<Vec<u8>>>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> StorageResult<()> {
        let data = snapshot.into_inner();
        let state: AppliedState = serde_json::from_slice(&data).map_err(io_err)?;
        *self.state.write() = state;
        self.persist_snapshot(StoredSnapshot {
            meta: meta.clone(),
            data,
        })
        .await
    }

    async fn get_current_snapshot(&mut self) -> StorageResult<Option<Snapshot<TypeConfig>>> {
        Ok(self.snapshot.lock().as_ref().map(|s| Snapshot {
            meta: s.meta.clone(),
            snapshot: Box::new(Cursor::new(s.data.clone())),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openraft::CommittedLeaderId;

    fn entry(term: u64, index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 0), index),
            payload: EntryPayload::Blank,
        }
    }

    fn write(dir: &Path, entries: &[Entry<TypeConfig>]) {
        let mut buf = Vec::new();
        for e in entries {
            encode_record(&Record::Entry(e.clone()), &mut buf).unwrap();
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(LOG_FILE))
            .unwrap();
        f.write_all(&buf).unwrap();
    }

    #[tokio::test]
    async fn the_log_reopens_without_its_torn_tail_and_keeps_truncates_and_purges() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &[entry(1, 1), entry(1, 2), entry(1, 3)]);
        // A crash in the middle of a record.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join(LOG_FILE))
            .unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
        let mut log = LogStore::open(dir.path()).unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id.map(|l| l.index), Some(3));
        log.truncate(entry(1, 3).log_id).await.unwrap();
        log.purge(entry(1, 1).log_id).await.unwrap();
        // A new term's entry at index 3 (as after a truncate) is appended by hand here.
        write(dir.path(), &[entry(2, 3)]);
        let mut log = LogStore::open(dir.path()).unwrap();
        let state = log.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(1));
        let got = log.try_get_log_entries(0..10).await.unwrap();
        let ids: Vec<(u64, u64)> = got
            .iter()
            .map(|e| (e.log_id.leader_id.term, e.log_id.index))
            .collect();
        assert_eq!(ids, vec![(1, 2), (2, 3)]);
    }
}
