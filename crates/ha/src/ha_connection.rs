//! `HAConnection`: the master's side of one slave connection.
//!
//! * The read half takes the slave's 8-byte big-endian offset reports; only the last complete
//!   report of a read counts (RocketMQ `ReadSocketService`). The first one is where streaming
//!   starts; each one raises `push2SlaveMaxOffset`. A report past the master's CommitLog end
//!   (a slave ahead of its master, or garbage) closes the connection.
//! * The write half streams frames `[phyOffset: i64][bodySize: i32][body]` of at most
//!   `haTransferBatchSize` body bytes, never across a segment, and an empty frame when idle
//!   for `haSendHeartbeatInterval` (RocketMQ `WriteSocketService`).
//!
//! Over TLS (see [`crate::tls`]) the read half first decides from the slave's first byte and
//! completes the handshake; both halves then share the one TLS stream behind a lock, which the
//! read half takes only once the socket has bytes to read.
//!
//! Either half closing (error, `haHousekeepingInterval` without a report, shutdown) shuts the
//! socket so the other half ends too.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ferrocket_remoting::ServerTls;
use ferrocket_store::DefaultMessageStore;
use parking_lot::Mutex;

use crate::group_transfer::TransferState;
use crate::runtime_stats::{now_millis, ConnectionRuntimeInfo, FlowMonitor};
use crate::tls::{self, ServerStream};

/// Header of a transfer frame: offset (8) + body size (4).
pub const TRANSFER_HEADER_SIZE: usize = 12;
/// A slave's report: its max physical offset.
pub const REPORT_SIZE: usize = 8;
/// How often blocked reads look at the stop flag and the housekeeping deadline.
const POLL: Duration = Duration::from_millis(200);
/// Longest wait for new CommitLog data before looking again (RocketMQ: 100 ms).
const DATA_WAIT: Duration = Duration::from_millis(100);

/// Settings of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionConfig {
    pub heartbeat_interval: Duration,
    pub housekeeping_interval: Duration,
    pub transfer_batch_size: usize,
    pub mapped_file_size: i64,
}

/// State shared by the two halves of one connection.
pub(crate) struct HAConnection {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    socket: TcpStream,
    /// The broker's server TLS; `None` serves plaintext slaves only.
    server_tls: Option<Arc<ServerTls>>,
    /// The TLS stream, once a TLS slave finished its handshake.
    tls: OnceLock<Mutex<ServerStream>>,
    /// First report: where streaming starts (-1 until then).
    slave_request_offset: AtomicI64,
    /// Latest report (`slaveAckOffset`).
    pub(crate) slave_ack_offset: Arc<AtomicI64>,
    /// Where the next frame starts (`nextTransferFromWhere`; -1 before streaming starts).
    transfer_from_where: AtomicI64,
    /// Bytes written to the slave, per second.
    flow: FlowMonitor,
    /// Last frame written / report read, ms since the epoch.
    last_write_timestamp: AtomicI64,
    last_read_timestamp: AtomicI64,
    closed: AtomicBool,
}

impl HAConnection {
    pub(crate) fn new(
        id: u64,
        socket: TcpStream,
        peer: SocketAddr,
        server_tls: Option<Arc<ServerTls>>,
    ) -> Arc<HAConnection> {
        Arc::new(HAConnection {
            id,
            peer,
            socket,
            server_tls,
            tls: OnceLock::new(),
            slave_request_offset: AtomicI64::new(-1),
            slave_ack_offset: Arc::new(AtomicI64::new(-1)),
            transfer_from_where: AtomicI64::new(-1),
            flow: FlowMonitor::default(),
            last_write_timestamp: AtomicI64::new(0),
            last_read_timestamp: AtomicI64::new(0),
            closed: AtomicBool::new(false),
        })
    }

    /// Shuts the socket: both halves end.
    pub(crate) fn close(&self) {
        if !self.closed.swap(true, Ordering::AcqRel) {
            let _ = self.socket.shutdown(Shutdown::Both);
        }
    }

    /// What `haStatus` shows about this connection.
    pub(crate) fn runtime_info(&self) -> ConnectionRuntimeInfo {
        ConnectionRuntimeInfo {
            addr: self.peer,
            slave_ack_offset: self.slave_ack_offset.load(Ordering::Acquire),
            transfer_from_where: self.transfer_from_where.load(Ordering::Acquire),
            transferred_byte_in_second: self.flow.transferred_byte_in_second(),
            last_write_timestamp: self.last_write_timestamp.load(Ordering::Acquire),
            last_read_timestamp: self.last_read_timestamp.load(Ordering::Acquire),
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Runs one half (`read_reports` or `write_frames`) until it ends, then closes both.
    pub(crate) fn run_half(
        &self,
        half: fn(&Self, &DefaultMessageStore, &TransferState, ConnectionConfig) -> String,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
    ) {
        let reason = half(self, store, transfer, cfg);
        if !self.is_closed() {
            tracing::info!(slave = %self.peer, reason = %reason, "HA connection closed");
        }
        self.close();
    }

    /// The socket for one half.
    fn half_socket(&self) -> Result<TcpStream, String> {
        self.socket
            .try_clone()
            .map_err(|e| format!("cannot use the socket: {e}"))
    }

    /// The read half: offset reports.
    pub(crate) fn read_reports(
        &self,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
    ) -> String {
        let mut socket = match self.half_socket() {
            Ok(s) => s,
            Err(e) => return e,
        };
        match tls::accept(
            &socket,
            self.server_tls.as_deref(),
            self.peer,
            cfg.housekeeping_interval,
        ) {
            Ok(None) => {}
            Ok(Some(stream)) => {
                let _ = self.tls.set(Mutex::new(stream));
            }
            Err(reason) => {
                // refused and logged once; closed quietly
                self.close();
                return reason;
            }
        }
        if let Err(e) = socket.set_read_timeout(Some(POLL)) {
            return format!("cannot set a read timeout: {e}");
        }
        // at most one partial report is kept between reads
        let mut buf = [0u8; 1024];
        let mut filled = 0usize;
        let mut last_read = Instant::now();
        let mut tls_pending = false;
        loop {
            if self.is_closed() {
                return "closed".into();
            }
            let read = match self.tls.get() {
                None => socket.read(&mut buf[filled..]),
                Some(tls) => read_tls(tls, &socket, &mut buf[filled..], &mut tls_pending),
            };
            match read {
                Ok(0) => return "the slave closed the connection".into(),
                Ok(n) => {
                    filled += n;
                    last_read = Instant::now();
                    self.last_read_timestamp
                        .store(now_millis(), Ordering::Release);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => return format!("read failed: {e}"),
            }
            if last_read.elapsed() > cfg.housekeeping_interval {
                return format!(
                    "no report from the slave for {} ms (haHousekeepingInterval)",
                    cfg.housekeeping_interval.as_millis()
                );
            }
            let complete = filled - filled % REPORT_SIZE;
            if complete == 0 {
                continue;
            }
            let last = &buf[complete - REPORT_SIZE..complete];
            let offset = i64::from_be_bytes(last.try_into().unwrap_or_default());
            buf.copy_within(complete..filled, 0);
            filled -= complete;
            if let Err(reason) = self.on_report(offset, store, transfer) {
                return reason;
            }
        }
    }

    fn on_report(
        &self,
        offset: i64,
        store: &DefaultMessageStore,
        transfer: &TransferState,
    ) -> Result<(), String> {
        let master_max = store.get_max_phy_offset();
        if offset < 0 {
            tracing::warn!(slave = %self.peer, offset, "slave reported a negative offset; closing");
            return Err(format!("invalid offset report {offset}"));
        }
        if offset > master_max {
            tracing::error!(
                slave = %self.peer,
                slave_offset = offset,
                master_max_offset = master_max,
                "slave reports an offset beyond this master's commit log end; refusing it \
                 (a slave ahead of its master holds data the master does not have: check the \
                 pairing, or clean the slave's store)"
            );
            return Err(format!(
                "slave offset {offset} is ahead of the master's {master_max}"
            ));
        }
        self.slave_ack_offset.store(offset, Ordering::Release);
        if self.slave_request_offset.load(Ordering::Acquire) < 0 {
            self.slave_request_offset.store(offset, Ordering::Release);
            tracing::info!(slave = %self.peer, offset, "slave requests the commit log");
        }
        transfer.notify_transfer_some(offset);
        Ok(())
    }

    /// The write half: transfer frames.
    pub(crate) fn write_frames(
        &self,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
    ) -> String {
        let mut socket = match self.half_socket() {
            Ok(s) => s,
            Err(e) => return e,
        };
        // a slave that stops reading is dropped, not waited for forever
        if let Err(e) = socket.set_write_timeout(Some(cfg.housekeeping_interval)) {
            return format!("cannot set a write timeout: {e}");
        }
        let mut next = loop {
            if self.is_closed() {
                return "closed".into();
            }
            let requested = self.slave_request_offset.load(Ordering::Acquire);
            if requested >= 0 {
                break start_offset(requested, store.get_max_phy_offset(), cfg.mapped_file_size);
            }
            transfer.wait_for_data(DATA_WAIT);
        };
        tracing::info!(slave = %self.peer, from = next, "streaming the commit log to the slave");
        self.transfer_from_where.store(next, Ordering::Release);
        let mut frame = Vec::with_capacity(TRANSFER_HEADER_SIZE + cfg.transfer_batch_size);
        let mut last_write = Instant::now();
        loop {
            if self.is_closed() {
                return "closed".into();
            }
            frame.clear();
            match store.get_commit_log_data(next) {
                Some(data) => {
                    let n = data.len().min(cfg.transfer_batch_size);
                    encode_header(&mut frame, next, n);
                    frame.extend_from_slice(&data[..n]);
                    next += n as i64;
                }
                None if last_write.elapsed() >= cfg.heartbeat_interval => {
                    encode_header(&mut frame, next, 0);
                }
                None => {
                    transfer.wait_for_data(DATA_WAIT);
                    continue;
                }
            }
            let written = match self.tls.get() {
                None => socket.write_all(&frame),
                Some(tls) => {
                    let mut tls = tls.lock();
                    tls.write_all(&frame).and_then(|()| tls.flush())
                }
            };
            if let Err(e) = written {
                return format!("write failed: {e}");
            }
            last_write = Instant::now();
            self.flow.add(frame.len());
            self.transfer_from_where.store(next, Ordering::Release);
            self.last_write_timestamp
                .store(now_millis(), Ordering::Release);
        }
    }
}

/// Reads decrypted report bytes. The lock is taken only once the socket has bytes (or
/// `pending`: the last read filled `buf`, so rustls may hold more), so the write half is not
/// kept waiting by an idle slave; a blocked read still ends at the socket's read timeout.
fn read_tls(
    tls: &Mutex<ServerStream>,
    socket: &TcpStream,
    buf: &mut [u8],
    pending: &mut bool,
) -> std::io::Result<usize> {
    if !*pending {
        socket.peek(&mut [0u8; 1])?;
    }
    let n = tls.lock().read(buf)?;
    *pending = n == buf.len();
    Ok(n)
}

/// Where streaming starts: the reported offset, or for an empty slave (0) the first byte of
/// the master's newest CommitLog segment, as RocketMQ does.
pub(crate) fn start_offset(requested: i64, master_max: i64, mapped_file_size: i64) -> i64 {
    if requested == 0 {
        (master_max - master_max.rem_euclid(mapped_file_size)).max(0)
    } else {
        requested
    }
}

/// Appends the 12-byte frame header.
pub(crate) fn encode_header(frame: &mut Vec<u8>, offset: i64, body_size: usize) {
    frame.extend_from_slice(&offset.to_be_bytes());
    frame.extend_from_slice(&(body_size as i32).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_big_endian_offset_then_size() {
        let mut f = Vec::new();
        encode_header(&mut f, 0x0102_0304_0506_0708, 0x0A0B);
        assert_eq!(f, [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0x0A, 0x0B]);
    }

    #[test]
    fn an_empty_slave_starts_at_the_newest_segment() {
        assert_eq!(start_offset(0, 0, 1024), 0);
        assert_eq!(start_offset(0, 3000, 1024), 2048);
        assert_eq!(start_offset(0, 2048, 1024), 2048);
        assert_eq!(start_offset(100, 3000, 1024), 100);
    }
}
