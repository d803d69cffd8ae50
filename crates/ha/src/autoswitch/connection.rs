//! The master's side of one auto-switch slave connection (`AutoSwitchHAConnection`).
//!
//! * Read half: the slave's 16-byte handshake (taken only whole) and 12-byte acknowledgements.
//!   Each acknowledgement raises the connection's ack offset (per slave id, for the sync state
//!   set and the sends waiting for its members) and goes to the [`AutoSwitchListener`].
//! * Write half: waits for the handshake, answers with the master's max offset and epochs,
//!   waits for the first acknowledgement, then streams 36-byte-header frames from where the
//!   slave stands (an empty slave: the CommitLog's first byte, or its last file's first byte
//!   with `isSyncFromLastFile`). A frame never crosses a CommitLog file nor an epoch boundary;
//!   an idle connection sends an empty frame every `haSendHeartbeatInterval`.
//!
//! [`AutoSwitchListener`]: super::AutoSwitchListener

use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_store::DefaultMessageStore;

use super::frame::{
    decode_slave_frame, encode_master_handshake, FrameHeader, SlaveFrame,
    MASTER_HANDSHAKE_HEADER_SIZE, STATE_TRANSFER, TRANSFER_HEADER_SIZE,
};
use super::AutoSwitchShared;
use crate::group_transfer::TransferState;
use crate::ha_connection::{ConnectionConfig, Frames, HAConnection, DATA_WAIT};
use crate::read_ahead;

/// How often the write half looks for the slave's handshake (RocketMQ: 10 ms).
const HANDSHAKE_POLL: Duration = Duration::from_millis(10);
/// Pause when no epoch covers the slave's start offset (RocketMQ: 500 ms).
const NO_EPOCH_WAIT: Duration = Duration::from_millis(500);

/// What a connection knows about its auto-switch slave.
pub(crate) struct SlaveSide {
    shared: Arc<AutoSwitchShared>,
    /// The slave's broker id from its handshake (-1 before), shared with the waiting sends.
    pub(crate) slave_id: Arc<AtomicI64>,
    async_learner: AtomicBool,
    sync_from_last_file: AtomicBool,
    /// A handshake arrived and was not answered yet.
    handshake_pending: AtomicBool,
    /// The master's max offset at the last transfer (`lastMasterMaxOffset`).
    last_master_max_offset: AtomicI64,
    /// An offset without an epoch was already reported (once per connection).
    reported_no_epoch: AtomicBool,
}

impl SlaveSide {
    pub(crate) fn new(shared: Arc<AutoSwitchShared>) -> SlaveSide {
        SlaveSide {
            shared,
            slave_id: Arc::new(AtomicI64::new(-1)),
            async_learner: AtomicBool::new(false),
            sync_from_last_file: AtomicBool::new(false),
            handshake_pending: AtomicBool::new(false),
            last_master_max_offset: AtomicI64::new(i64::MAX),
            reported_no_epoch: AtomicBool::new(false),
        }
    }

    /// Read half: takes every complete slave frame of `buf`; returns the bytes used.
    pub(crate) fn consume(
        &self,
        conn: &HAConnection,
        buf: &[u8],
        store: &DefaultMessageStore,
        transfer: &TransferState,
    ) -> Result<usize, String> {
        let mut at = 0;
        loop {
            let frame = decode_slave_frame(&buf[at..])
                .map_err(|state| format!("the slave sent a frame of unknown state {state}"))?;
            let Some((frame, len)) = frame else {
                return Ok(at);
            };
            at += len;
            match frame {
                SlaveFrame::Handshake(h) => {
                    tracing::info!(slave = %conn.peer, slave_broker_id = h.broker_id,
                        sync_from_last_file = h.sync_from_last_file, async_learner = h.async_learner,
                        "slave handshake received");
                    self.slave_id.store(h.broker_id, Ordering::Release);
                    self.async_learner.store(h.async_learner, Ordering::Release);
                    self.sync_from_last_file
                        .store(h.sync_from_last_file, Ordering::Release);
                    self.handshake_pending.store(true, Ordering::Release);
                }
                SlaveFrame::Ack(offset) => {
                    conn.on_report(offset, store, transfer)?;
                    self.on_ack(offset);
                }
            }
        }
    }

    /// Hands an acknowledgement to the listener (not an async learner's: it never joins the
    /// sync state set).
    fn on_ack(&self, offset: i64) {
        let id = self.slave_id.load(Ordering::Acquire);
        if id < 0 || self.async_learner.load(Ordering::Acquire) {
            return;
        }
        let caught_up = offset >= self.last_master_max_offset.load(Ordering::Acquire);
        if let Some(l) = self.shared.listener() {
            l.on_slave_ack(id as u64, offset, caught_up);
        }
    }

    /// Write half: handshake, then frames; returns why it ended.
    pub(crate) fn write_frames(
        &self,
        conn: &HAConnection,
        mut socket: TcpStream,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
    ) -> String {
        while !self.handshake_pending.swap(false, Ordering::AcqRel) {
            if conn.is_closed() {
                return "closed".into();
            }
            std::thread::sleep(HANDSHAKE_POLL);
        }
        let epochs = self.shared.epochs.entries();
        let max = store.get_max_phy_offset();
        let handshake = encode_master_handshake(max, &epochs);
        let mut header = [0u8; MASTER_HANDSHAKE_HEADER_SIZE];
        header.copy_from_slice(&handshake[..MASTER_HANDSHAKE_HEADER_SIZE]);
        let mut frames = Frames::<MASTER_HANDSHAKE_HEADER_SIZE>::default();
        let body = Bytes::copy_from_slice(&handshake[MASTER_HANDSHAKE_HEADER_SIZE..]);
        frames.push_frame(header, body);
        if let Err(e) = conn.send(&mut socket, &mut frames, -1) {
            return e;
        }
        tracing::info!(slave = %conn.peer, max_offset = max, epochs = ?epochs, "handshake sent to the slave");
        let next = match self.start_offset(conn, store, transfer, cfg) {
            Ok(n) => n,
            Err(e) => return e,
        };
        tracing::info!(slave = %conn.peer, from = next, "streaming the commit log to the slave");
        conn.transfer_from_where.store(next, Ordering::Release);
        self.stream(conn, socket, store, transfer, cfg, next)
    }

    /// Waits for the slave's first acknowledgement and returns where streaming starts: where
    /// the slave stands, or for an empty slave the CommitLog's first byte (its last file's
    /// with `isSyncFromLastFile`), once an epoch covers it.
    fn start_offset(
        &self,
        conn: &HAConnection,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
    ) -> Result<i64, String> {
        let mut warned = false;
        loop {
            if conn.is_closed() {
                return Err("closed".into());
            }
            let requested = conn.slave_request_offset.load(Ordering::Acquire);
            if requested < 0 {
                transfer.wait_for_data(HANDSHAKE_POLL);
                continue;
            }
            let start = if requested > 0 {
                requested
            } else if self.sync_from_last_file.load(Ordering::Acquire) {
                let max = store.get_max_phy_offset();
                (max - max.rem_euclid(cfg.mapped_file_size)).max(0)
            } else {
                store.get_min_phy_offset()
            };
            if epoch_at(&self.shared.epochs.entries(), start).is_some() {
                return Ok(start);
            }
            if !warned {
                warned = true;
                tracing::warn!(slave = %conn.peer, offset = start,
                    "no epoch entry covers the slave's start offset yet; waiting");
            }
            std::thread::sleep(NO_EPOCH_WAIT);
        }
    }

    /// Streams frames from `next` until the connection ends.
    fn stream(
        &self,
        conn: &HAConnection,
        mut socket: TcpStream,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
        next: i64,
    ) -> String {
        read_ahead::with_read_ahead(store, next, |read_ahead| {
            let mut next = next;
            let mut frames = Frames::<TRANSFER_HEADER_SIZE>::default();
            let mut last_write = Instant::now();
            loop {
                if conn.is_closed() {
                    return "closed".into();
                }
                // taken before looking for data: a put that appends after the look and wakes
                // before the wait is not missed
                let seen = transfer.data_generation();
                next = self.fill(&mut frames, store, next, cfg.transfer_batch_size);
                if frames.is_full() {
                    // the slave is behind: keep the disk reading ahead of the frames
                    read_ahead.ahead_of(next);
                }
                if frames.is_empty() {
                    // nothing to send: a slave holding everything sent counts as caught up
                    let ack = conn.slave_ack_offset.load(Ordering::Acquire);
                    if ack >= next {
                        self.on_ack(ack);
                    }
                    if last_write.elapsed() < cfg.heartbeat_interval {
                        transfer.wait_for_data_since(seen, DATA_WAIT);
                        continue;
                    }
                    let Some(h) = self.heartbeat(store, next) else {
                        transfer.wait_for_data_since(seen, DATA_WAIT);
                        continue;
                    };
                    frames.push_frame(h, Bytes::new());
                }
                if let Err(e) = conn.send(&mut socket, &mut frames, next) {
                    return e;
                }
                last_write = Instant::now();
            }
        })
    }

    /// Queues frames from `next` on, each within one CommitLog file and one epoch; returns
    /// the offset after the last one.
    fn fill(
        &self,
        frames: &mut Frames<TRANSFER_HEADER_SIZE>,
        store: &DefaultMessageStore,
        mut next: i64,
        batch_size: usize,
    ) -> i64 {
        let epochs = self.shared.epochs.entries();
        let max = store.get_max_phy_offset();
        let confirm = self.confirm_offset(max);
        let mut bytes = 0usize;
        while !frames.at_write_limit(bytes) {
            let Some(data) = store.get_commit_log_data(next).filter(|d| !d.is_empty()) else {
                break;
            };
            let Some((epoch, start, end)) = epoch_at(&epochs, next) else {
                if !self.reported_no_epoch.swap(true, Ordering::AcqRel) {
                    tracing::error!(offset = next, epochs = ?epochs,
                        "no epoch entry covers this commit log offset; not streaming it");
                }
                break;
            };
            let in_epoch = end.map_or(usize::MAX, |e| (e - next) as usize);
            let n = data.len().min(batch_size).min(in_epoch);
            assert!(n > 0, "an epoch covering {next} ends after it");
            let header = FrameHeader {
                state: STATE_TRANSFER,
                body_size: n as i32,
                offset: next,
                epoch,
                epoch_start_offset: start,
                confirm_offset: confirm,
            };
            frames.push_frame(header.encode_transfer(), data.slice(..n));
            next += n as i64;
            bytes += n;
        }
        if !frames.is_empty() {
            // `updateLastTransferInfo`: an ack reaching this has everything sent so far
            self.last_master_max_offset.store(max, Ordering::Release);
        }
        next
    }

    /// An empty frame at `next`: the epoch covering it, else the first one; none without
    /// epochs (RocketMQ's slave would record a bogus epoch from it).
    fn heartbeat(
        &self,
        store: &DefaultMessageStore,
        next: i64,
    ) -> Option<[u8; TRANSFER_HEADER_SIZE]> {
        let epochs = self.shared.epochs.entries();
        let (epoch, start) = epoch_at(&epochs, next)
            .map(|(e, s, _)| (e, s))
            .or_else(|| epochs.first().copied())?;
        let header = FrameHeader {
            state: STATE_TRANSFER,
            body_size: 0,
            offset: next,
            epoch,
            epoch_start_offset: start,
            confirm_offset: self.confirm_offset(store.get_max_phy_offset()),
        };
        Some(header.encode_transfer())
    }

    fn confirm_offset(&self, max: i64) -> i64 {
        self.shared
            .listener()
            .map_or(max, |l| l.confirm_offset(max))
    }
}

/// The epoch entry covering `offset` (`findEpochEntryByOffset`): its epoch, start and end
/// (`None` for the last entry, which has no end yet).
pub(crate) fn epoch_at(entries: &[(i32, i64)], offset: i64) -> Option<(i32, i64, Option<i64>)> {
    entries.iter().enumerate().find_map(|(i, &(epoch, start))| {
        let end = entries.get(i + 1).map(|n| n.1);
        (start <= offset && end.is_none_or(|e| offset < e)).then_some((epoch, start, end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_belongs_to_the_epoch_that_starts_at_or_before_it() {
        let e = [(1, 0), (3, 500)];
        assert_eq!(epoch_at(&e, 0), Some((1, 0, Some(500))));
        assert_eq!(epoch_at(&e, 499), Some((1, 0, Some(500))));
        assert_eq!(epoch_at(&e, 500), Some((3, 500, None)));
        assert_eq!(epoch_at(&e, 1 << 40), Some((3, 500, None)));
        assert_eq!(epoch_at(&[(2, 100)], 50), None);
        assert_eq!(epoch_at(&[], 0), None);
    }
}
