//! The slave's side of auto-switch HA (`AutoSwitchHAClient`).
//!
//! On connect it sends its 16-byte handshake and waits for the master's: the master's max
//! offset and epochs. It then finds the consistent point of the two epoch lists (see
//! [`consistent_point`]): a local CommitLog longer than that point holds records the master
//! never had; the listener is told and the session ends (the broker reopens its store cut at
//! that point, which is the store's own, crash-safe truncation at open; cutting a live store
//! under its dispatcher and readers is not supported). Otherwise the epochs past the point
//! are dropped and the slave acknowledges its offset at once, which is where the master
//! starts streaming.
//!
//! Then each 36-byte-header frame must start exactly at the local CommitLog end (an empty
//! store takes any start); a frame of a new epoch records that epoch (and its start) in the
//! epoch file; the body is appended and the new end acknowledged (12 bytes), as is the
//! current offset every `haSendHeartbeatInterval`.
//!
//! Unlike RocketMQ's client, an empty replica acknowledges offset 0 right after the
//! handshake instead of at its first periodic report (about `haSendHeartbeatInterval`
//! later): masters accept either, and the new replica starts copying sooner.

use std::io::Write;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferrocket_store::DefaultMessageStore;

use super::epoch_file::consistent_point;
use super::frame::{
    decode_epoch_entries, encode_ack, FrameHeader, SlaveHandshake, STATE_HANDSHAKE, STATE_TRANSFER,
    TRANSFER_HEADER_SIZE,
};
use super::AutoSwitchShared;
use crate::ha_client::{read_from_master, ClientConfig, ClientSignal, READ_MAX_BUFFER_SIZE};
use crate::runtime_stats::{now_millis, ClientStats};
use crate::tls::HaStream;

/// Pause after a handshake that found no epoch in common (RocketMQ: 2 s), on top of the
/// reconnect pause.
const NO_CONSISTENT_POINT_PAUSE: Duration = Duration::from_secs(2);

/// One connection to the master.
pub(crate) struct Session<'a> {
    store: &'a DefaultMessageStore,
    stats: &'a ClientStats,
    shared: &'a AutoSwitchShared,
    socket: Box<dyn HaStream>,
    cfg: ClientConfig,
    buf: Vec<u8>,
    filled: usize,
    /// HANDSHAKE until the master's handshake is processed, then TRANSFER.
    state: i32,
    reported: i64,
    /// The epoch of the last frame (`currentReceivedEpoch`).
    received_epoch: i32,
    last_write: Instant,
    last_read: Instant,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        store: &'a DefaultMessageStore,
        socket: Box<dyn HaStream>,
        cfg: ClientConfig,
        stats: &'a ClientStats,
        shared: &'a AutoSwitchShared,
    ) -> Self {
        Session {
            store,
            stats,
            shared,
            socket,
            cfg,
            buf: vec![0; TRANSFER_HEADER_SIZE + READ_MAX_BUFFER_SIZE],
            filled: 0,
            state: STATE_HANDSHAKE,
            reported: store.get_max_phy_offset(),
            received_epoch: -1,
            last_write: Instant::now(),
            last_read: Instant::now(),
        }
    }

    /// Runs until an error; returns the reason.
    pub(crate) fn run(&mut self, signal: &ClientSignal) -> String {
        let handshake = SlaveHandshake {
            sync_from_last_file: self.shared.sync_from_last_file,
            async_learner: self.shared.async_learner,
            broker_id: self.shared.local_broker_id,
        };
        if let Err(e) = self.write(&handshake.encode()) {
            return format!("sending the handshake failed: {e}");
        }
        loop {
            if signal.is_stopped() {
                return "shutting down".into();
            }
            if self.state == STATE_TRANSFER
                && self.last_write.elapsed() >= self.cfg.heartbeat_interval
            {
                if let Err(e) = self.report(self.reported) {
                    return e;
                }
            }
            let read = read_from_master(
                &mut self.socket,
                &mut self.buf,
                &mut self.filled,
                &mut self.last_read,
                self.stats,
                self.cfg.housekeeping_interval,
            );
            match read {
                Ok(true) => {
                    if let Err(e) = self.dispatch() {
                        return e;
                    }
                }
                Ok(false) => {}
                Err(e) => return e,
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.socket.write_all(bytes)?;
        self.socket.flush()?;
        self.last_write = Instant::now();
        self.stats
            .last_write_timestamp
            .store(now_millis(), Ordering::Release);
        Ok(())
    }

    /// The 12-byte TRANSFER acknowledgement of `offset`.
    fn report(&mut self, offset: i64) -> Result<(), String> {
        self.write(&encode_ack(offset))
            .map_err(|e| format!("reporting offset {offset} failed: {e}"))?;
        self.reported = offset;
        Ok(())
    }

    /// Handles every complete frame in the buffer, then acknowledges new data.
    fn dispatch(&mut self) -> Result<(), String> {
        let mut at = 0usize;
        while let Some(h) = FrameHeader::decode(&self.buf[at..self.filled]) {
            let size = usize::try_from(h.body_size)
                .ok()
                .filter(|s| *s <= READ_MAX_BUFFER_SIZE)
                .ok_or_else(|| {
                    format!(
                        "frame announces {} bytes: not an auto-switch HA stream",
                        h.body_size
                    )
                })?;
            if h.state != self.state {
                tracing::error!(
                    master_state = h.state,
                    slave_state = self.state,
                    offset = h.offset,
                    "state not matched: the master is not in the state this slave is in"
                );
                return Err(format!(
                    "frame of state {} while in state {}",
                    h.state, self.state
                ));
            }
            let body = at + h.header_len();
            if self.filled - body < size {
                break; // body not complete yet
            }
            if h.state == STATE_HANDSHAKE {
                let entries = decode_epoch_entries(&self.buf[body..body + size]);
                self.on_handshake(h.offset, &entries)?;
            } else {
                self.on_transfer(&h, body..body + size)?;
            }
            at = body + size;
        }
        self.buf.copy_within(at..self.filled, 0);
        self.filled -= at;
        let max = self.store.get_max_phy_offset();
        if self.state == STATE_TRANSFER && max > self.reported {
            self.report(max)?;
        }
        Ok(())
    }

    /// The master's handshake (`doTruncate`): compare epochs, drop what diverged, start.
    fn on_handshake(&mut self, master_max: i64, master: &[(i32, i64)]) -> Result<(), String> {
        let local = self.shared.epochs.entries();
        let local_max = self.store.get_max_phy_offset();
        tracing::info!(master_max, master_epochs = ?master, local_max, local_epochs = ?local,
            "master handshake received");
        let start = if local.is_empty() || local_max == 0 {
            // a new replica (or one whose log was cut to nothing): nothing to compare, and
            // epochs without any byte behind them are stale
            self.shared
                .epochs
                .truncate_suffix(0)
                .map_err(|e| e.to_string())?;
            local_max
        } else {
            let Some(point) = consistent_point(&local, local_max, master, master_max) else {
                tracing::error!(master_epochs = ?master, local_epochs = ?local,
                    "no epoch in common with the master: this replica cannot follow it (its \
                     store must be cleaned)");
                std::thread::sleep(NO_CONSISTENT_POINT_PAUSE);
                return Err("no consistent point with the master's epochs".into());
            };
            if point < local_max {
                tracing::warn!(
                    consistent_point = point,
                    local_max,
                    "the local commit log diverges from the master's; it must be truncated"
                );
                if let Some(l) = self.shared.listener() {
                    l.on_truncation_needed(point);
                }
                return Err(format!("the local commit log must be cut at {point} first"));
            }
            self.shared
                .epochs
                .truncate_suffix(point)
                .map_err(|e| e.to_string())?;
            point
        };
        self.state = STATE_TRANSFER;
        self.report(start)
    }

    /// A TRANSFER frame: the body goes exactly at the local end.
    fn on_transfer(&mut self, h: &FrameHeader, body: Range<usize>) -> Result<(), String> {
        let local = self.store.get_max_phy_offset();
        if local != 0 && local != h.offset {
            tracing::error!(
                master_offset = h.offset,
                local_offset = local,
                "master pushed offset not equal the max phy offset in slave"
            );
            return Err(format!(
                "frame at {} but the local commit log ends at {local}",
                h.offset
            ));
        }
        if h.epoch != self.received_epoch {
            self.received_epoch = h.epoch;
            self.shared
                .epochs
                .append(h.epoch, h.epoch_start_offset)
                .map_err(|e| e.to_string())?;
        }
        if !body.is_empty() {
            self.store
                .append_to_commit_log(h.offset, &self.buf[body])
                .map_err(|e| format!("cannot append the frame at {}: {e}", h.offset))?;
        }
        let confirm = h.confirm_offset.min(self.store.get_max_phy_offset());
        self.shared.confirm_offset.store(confirm, Ordering::Release);
        Ok(())
    }
}
