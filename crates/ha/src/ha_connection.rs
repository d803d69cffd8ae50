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

use std::io::{ErrorKind, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_remoting::ServerTls;
use ferrocket_store::DefaultMessageStore;
use parking_lot::Mutex;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::io::Errno;
use rustix::net::{sendmsg, SendAncillaryBuffer, SendFlags};

use crate::autoswitch::connection::SlaveSide;
use crate::group_transfer::TransferState;
use crate::read_ahead::{self, ReadAhead};
use crate::runtime_stats::{now_millis, ConnectionRuntimeInfo, FlowMonitor};
use crate::tls::{self, ServerStream};

/// Header of a transfer frame: offset (8) + body size (4).
pub const TRANSFER_HEADER_SIZE: usize = 12;
/// A slave's report: its max physical offset.
pub const REPORT_SIZE: usize = 8;
/// How often blocked reads look at the stop flag and the housekeeping deadline.
const POLL: Duration = Duration::from_millis(200);
/// Longest wait for new CommitLog data before looking again (RocketMQ: 100 ms).
pub(crate) const DATA_WAIT: Duration = Duration::from_millis(100);
/// Most frames, and body bytes, sent in one socket write while the slave is behind.
const WRITE_MAX_FRAMES: usize = 64;
const WRITE_MAX_BYTES: usize = 1024 * 1024;

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
    pub(crate) slave_request_offset: AtomicI64,
    /// Latest report (`slaveAckOffset`).
    pub(crate) slave_ack_offset: Arc<AtomicI64>,
    /// Where the next frame starts (`nextTransferFromWhere`; -1 before streaming starts).
    pub(crate) transfer_from_where: AtomicI64,
    /// Bytes written to the slave, per second.
    pub(crate) flow: FlowMonitor,
    /// Last frame written / report read, ms since the epoch.
    pub(crate) last_write_timestamp: AtomicI64,
    last_read_timestamp: AtomicI64,
    /// Auto-switch HA (controller mode): what the slave said in its handshake and the
    /// master's epochs; `None` on classic HA.
    pub(crate) auto_switch: Option<SlaveSide>,
    /// Classic HA: where the stream is and what is queued, shared by the write thread and the
    /// CommitLog writer's non-blocking sends ([`HAConnection::on_appended`]).
    write_side: Mutex<WriteSide>,
    closed: AtomicBool,
}

/// The classic stream's position, taken by whoever writes to the socket.
pub(crate) struct WriteSide {
    frames: Frames<TRANSFER_HEADER_SIZE>,
    /// Where the next frame starts; -1 until the write thread knows where the slave starts.
    next: i64,
    transfer_batch_size: usize,
    /// Frame bytes a non-blocking send left over; the write thread writes them first.
    unsent: Vec<u8>,
}

impl HAConnection {
    pub(crate) fn new(
        id: u64,
        socket: TcpStream,
        peer: SocketAddr,
        server_tls: Option<Arc<ServerTls>>,
        auto_switch: Option<SlaveSide>,
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
            auto_switch,
            write_side: Mutex::new(WriteSide {
                frames: Frames::default(),
                next: -1,
                transfer_batch_size: 0,
                unsent: Vec::new(),
            }),
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

    pub(crate) fn is_closed(&self) -> bool {
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
    pub(crate) fn half_socket(&self) -> Result<TcpStream, String> {
        self.socket
            .try_clone()
            .map_err(|e| format!("cannot use the socket: {e}"))
    }

    /// Decides from the slave's first byte whether it speaks TLS and completes the handshake;
    /// returns whether the connection is plaintext. A refused slave is closed quietly (the
    /// refusal was logged once).
    pub(crate) fn accept_slave(&self, cfg: ConnectionConfig) -> Result<bool, String> {
        let socket = self.half_socket()?;
        match tls::accept(
            &socket,
            self.server_tls.as_deref(),
            self.peer,
            cfg.housekeeping_interval,
        ) {
            Ok(None) => Ok(true),
            Ok(Some(stream)) => {
                let _ = self.tls.set(Mutex::new(stream));
                Ok(false)
            }
            Err(reason) => {
                self.close();
                Err(reason)
            }
        }
    }

    /// The read half on a thread of its own: offset reports (after [`HAConnection::accept_slave`]).
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
                return silent_slave(cfg);
            }
            let consumed = match &self.auto_switch {
                None => self.consume_reports(&buf[..filled], store, transfer),
                Some(side) => side.consume(self, &buf[..filled], store, transfer),
            };
            match consumed {
                Ok(n) => {
                    buf.copy_within(n..filled, 0);
                    filled -= n;
                }
                Err(reason) => return reason,
            }
        }
    }

    /// The read half of a plaintext classic connection on the runtime: a report wakes a worker
    /// thread, which completes the puts it acknowledges and runs their answers, rather than a
    /// read thread that then has to wake a worker (one thread hand-off fewer per round trip).
    /// The socket becomes non-blocking; the write half waits for room with `poll`.
    pub(crate) async fn read_reports_async(
        self: Arc<Self>,
        store: Arc<DefaultMessageStore>,
        transfer: Arc<TransferState>,
        cfg: ConnectionConfig,
    ) {
        let reason = self.report_loop(&store, &transfer, cfg).await;
        if !self.is_closed() {
            tracing::info!(slave = %self.peer, reason = %reason, "HA connection closed");
        }
        self.close();
    }

    async fn report_loop(
        &self,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
    ) -> String {
        let socket = match self.half_socket().and_then(|s| {
            s.set_nonblocking(true)
                .and_then(|()| tokio::net::TcpStream::from_std(s))
                .map_err(|e| format!("cannot watch the socket: {e}"))
        }) {
            Ok(s) => s,
            Err(e) => return e,
        };
        // at most one partial report is kept between reads
        let mut buf = [0u8; 1024];
        let mut filled = 0usize;
        loop {
            if self.is_closed() {
                return "closed".into();
            }
            let read = tokio::time::timeout(cfg.housekeeping_interval, async {
                socket.readable().await?;
                socket.try_read(&mut buf[filled..])
            });
            match read.await {
                Err(_) => return silent_slave(cfg),
                Ok(Ok(0)) => return "the slave closed the connection".into(),
                Ok(Ok(n)) => {
                    filled += n;
                    self.last_read_timestamp
                        .store(now_millis(), Ordering::Release);
                }
                Ok(Err(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) =>
                {
                    continue
                }
                Ok(Err(e)) => return format!("read failed: {e}"),
            }
            match self.consume_reports(&buf[..filled], store, transfer) {
                Ok(n) => {
                    buf.copy_within(n..filled, 0);
                    filled -= n;
                }
                Err(reason) => return reason,
            }
        }
    }

    /// Classic HA: takes the last complete 8-byte report of `buf`; returns the bytes used.
    fn consume_reports(
        &self,
        buf: &[u8],
        store: &DefaultMessageStore,
        transfer: &TransferState,
    ) -> Result<usize, String> {
        let complete = buf.len() - buf.len() % REPORT_SIZE;
        if complete == 0 {
            return Ok(0);
        }
        let last = &buf[complete - REPORT_SIZE..complete];
        let offset = i64::from_be_bytes(last.try_into().unwrap_or_default());
        self.on_report(offset, store, transfer)?;
        Ok(complete)
    }

    pub(crate) fn on_report(
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

    /// Whether records may be sent outside the write thread: a live plaintext classic connection
    /// (TLS and the auto-switch protocol are written by the write thread only).
    fn streams_directly(&self) -> bool {
        self.auto_switch.is_none() && self.tls.get().is_none() && !self.is_closed()
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
        if let Some(side) = &self.auto_switch {
            return side.write_frames(self, socket, store, transfer, cfg);
        }
        let next = loop {
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
        {
            let mut w = self.write_side.lock();
            w.next = next;
            w.transfer_batch_size = cfg.transfer_batch_size;
        }
        read_ahead::with_read_ahead(store, next, |read_ahead| {
            self.stream_frames(&mut socket, store, transfer, cfg, read_ahead)
        })
    }

    /// The classic protocol's write loop: frames from where the slave is, heartbeats when idle.
    fn stream_frames(
        &self,
        socket: &mut TcpStream,
        store: &DefaultMessageStore,
        transfer: &TransferState,
        cfg: ConnectionConfig,
        read_ahead: &ReadAhead,
    ) -> String {
        loop {
            if self.is_closed() {
                return "closed".into();
            }
            // taken before looking for data: a put that appends after the look and wakes
            // before the wait is not missed
            let seen = transfer.data_generation();
            let mut guard = self.write_side.lock();
            let w = &mut *guard;
            if !w.unsent.is_empty() {
                if let Err(e) = PolledWrite(socket).write_all(&w.unsent) {
                    return format!("write failed: {e}");
                }
                w.unsent.clear();
            }
            let from = w.next;
            w.next = w.frames.fill(store, from, cfg.transfer_batch_size);
            if w.frames.is_full() {
                // the slave is behind: keep the disk reading ahead of the frames
                read_ahead.ahead_of(w.next);
            }
            if w.frames.is_empty() {
                let idle_ms = now_millis() - self.last_write_timestamp.load(Ordering::Acquire);
                if idle_ms < cfg.heartbeat_interval.as_millis() as i64 {
                    drop(guard);
                    transfer.wait_for_data_since(seen, DATA_WAIT);
                    continue;
                }
                w.frames.push(w.next, Bytes::new());
            }
            if let Err(e) = self.send(socket, &mut w.frames, w.next) {
                return e;
            }
        }
    }

    /// Streams the CommitLog's new records to the slave from the calling thread (the CommitLog
    /// writer, right after an append a SYNC_MASTER put waits for), so the write thread need
    /// not be woken for each append. It does not wait for the slave to acknowledge the frames
    /// before (which would hold a put appended meanwhile for up to two round trips). Never
    /// blocks: it gives up when the write thread holds the stream, the slave is behind, the
    /// connection uses TLS or the auto-switch protocol, or the socket takes only part of the
    /// frames (the rest is kept for the write thread). Returns whether everything appended is
    /// on its way; otherwise the caller wakes the write thread.
    pub(crate) fn on_appended(&self, store: &DefaultMessageStore) -> bool {
        if !self.streams_directly() {
            return false;
        }
        let Some(mut guard) = self.write_side.try_lock() else {
            return false;
        };
        let w = &mut *guard;
        if w.next < 0 || !w.unsent.is_empty() {
            return false;
        }
        if store.get_max_phy_offset() - w.next >= WRITE_MAX_BYTES as i64 {
            // a slave that is behind is streamed by the write thread, in large writes
            return false;
        }
        let next = w.frames.fill(store, w.next, w.transfer_batch_size);
        if w.frames.is_empty() {
            return true;
        }
        if w.frames.is_full() {
            w.frames.clear();
            return false;
        }
        let sent = w.frames.wire_len();
        let written = w.frames.write_nonblocking(&self.socket, &mut w.unsent);
        w.frames.clear();
        if let Err(e) = written {
            tracing::info!(slave = %self.peer, error = %e, "HA connection closed: write failed");
            self.close();
            return true;
        }
        w.next = next;
        self.wrote(sent - w.unsent.len(), next);
        w.unsent.is_empty()
    }

    /// Writes the queued frames (over TLS when the slave uses it) and records the progress.
    pub(crate) fn send<const H: usize>(
        &self,
        socket: &mut TcpStream,
        frames: &mut Frames<H>,
        next: i64,
    ) -> Result<(), String> {
        let written = match self.tls.get() {
            None => frames.write_to(&mut PolledWrite(socket)),
            Some(tls) => {
                let mut tls = tls.lock();
                frames.write_to(&mut *tls).and_then(|()| tls.flush())
            }
        };
        let sent = frames.wire_len();
        frames.clear();
        written.map_err(|e| format!("write failed: {e}"))?;
        self.wrote(sent, next);
        Ok(())
    }

    /// Records a write of `bytes` that leaves the stream at `next`.
    fn wrote(&self, bytes: usize, next: i64) {
        self.flow.add(bytes);
        self.transfer_from_where.store(next, Ordering::Release);
        self.last_write_timestamp
            .store(now_millis(), Ordering::Release);
    }
}

/// Transfer frames queued for one socket write: each frame is exactly what RocketMQ's
/// `WriteSocketService` sends (at most `haTransferBatchSize` body bytes, never across a
/// segment); while the slave is behind, up to [`WRITE_MAX_FRAMES`] of them go out in one
/// vectored write, the bodies straight from the CommitLog mapping.
pub(crate) struct Frames<const H: usize> {
    headers: Vec<[u8; H]>,
    bodies: Vec<Bytes>,
}

impl<const H: usize> Default for Frames<H> {
    fn default() -> Self {
        Frames {
            headers: Vec::new(),
            bodies: Vec::new(),
        }
    }
}

impl Frames<TRANSFER_HEADER_SIZE> {
    fn push(&mut self, offset: i64, body: Bytes) {
        self.push_frame(frame_header(offset, body.len()), body);
    }

    /// Queues frames of the CommitLog from `next` on; returns the offset after the last one.
    fn fill(&mut self, store: &DefaultMessageStore, mut next: i64, batch_size: usize) -> i64 {
        let mut bytes = 0usize;
        while !self.at_write_limit(bytes) {
            let Some(data) = store.get_commit_log_data(next) else {
                break;
            };
            let n = data.len().min(batch_size);
            self.push(next, data.slice(..n));
            next += n as i64;
            bytes += n;
        }
        next
    }
}

impl<const H: usize> Frames<H> {
    pub(crate) fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// Whether the last fill stopped at the write limit, i.e. the slave is behind.
    pub(crate) fn is_full(&self) -> bool {
        self.at_write_limit(self.body_len())
    }

    /// Whether one more frame would exceed one socket write, `bytes` being queued.
    pub(crate) fn at_write_limit(&self, bytes: usize) -> bool {
        self.headers.len() >= WRITE_MAX_FRAMES || bytes >= WRITE_MAX_BYTES
    }

    fn body_len(&self) -> usize {
        self.bodies.iter().map(Bytes::len).sum()
    }

    /// Bytes the queued frames take on the wire.
    fn wire_len(&self) -> usize {
        self.headers.len() * H + self.body_len()
    }

    fn clear(&mut self) {
        self.headers.clear();
        self.bodies.clear();
    }

    /// Queues one frame.
    pub(crate) fn push_frame(&mut self, header: [u8; H], body: Bytes) {
        self.headers.push(header);
        self.bodies.push(body);
    }

    /// Writes the queued frames without blocking; what the socket does not take is copied
    /// to `unsent`.
    fn write_nonblocking(&self, socket: &TcpStream, unsent: &mut Vec<u8>) -> std::io::Result<()> {
        let mut slices = self.io_slices();
        let mut rest = &mut slices[..];
        let mut control = SendAncillaryBuffer::default();
        while !rest.is_empty() {
            match sendmsg(
                socket,
                rest,
                &mut control,
                SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
            ) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(Errno::INTR) => {}
                Err(Errno::AGAIN) => {
                    for s in rest.iter() {
                        unsent.extend_from_slice(s);
                    }
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn io_slices(&self) -> Vec<IoSlice<'_>> {
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(2 * self.headers.len());
        for (h, b) in self.headers.iter().zip(&self.bodies) {
            slices.push(IoSlice::new(h));
            if !b.is_empty() {
                slices.push(IoSlice::new(b));
            }
        }
        slices
    }

    /// Writes every queued frame, in order.
    fn write_to(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut slices = self.io_slices();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            match out.write_vectored(rest) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
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

/// Why a connection without reports is closed.
fn silent_slave(cfg: ConnectionConfig) -> String {
    format!(
        "no report from the slave for {} ms (haHousekeepingInterval)",
        cfg.housekeeping_interval.as_millis()
    )
}

/// Blocking writes on a socket the read half made non-blocking: waits for room with `poll`,
/// up to the socket's write timeout per write (as a blocking socket would).
struct PolledWrite<'a>(&'a TcpStream);

impl PolledWrite<'_> {
    fn retry(
        &self,
        mut f: impl FnMut(&TcpStream) -> std::io::Result<usize>,
    ) -> std::io::Result<usize> {
        // looked up only once a write has to wait
        let mut deadline = None;
        loop {
            match f(self.0) {
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let deadline = *deadline.get_or_insert_with(|| {
                        let timeout = self.0.write_timeout().ok().flatten();
                        Instant::now() + timeout.unwrap_or(Duration::from_secs(20))
                    });
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ErrorKind::TimedOut.into());
                    }
                    let wait = Timespec::try_from(left).map_err(|_| ErrorKind::InvalidInput)?;
                    let mut fds = [PollFd::new(self.0, PollFlags::OUT)];
                    match poll(&mut fds, Some(&wait)) {
                        Ok(_) | Err(Errno::INTR) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                other => return other,
            }
        }
    }
}

impl Write for PolledWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.retry(|mut s| s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> std::io::Result<usize> {
        self.retry(|mut s| s.write_vectored(bufs))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
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

/// The 12-byte frame header.
pub(crate) fn frame_header(offset: i64, body_size: usize) -> [u8; TRANSFER_HEADER_SIZE] {
    let mut header = [0u8; TRANSFER_HEADER_SIZE];
    header[..8].copy_from_slice(&offset.to_be_bytes());
    header[8..].copy_from_slice(&(body_size as i32).to_be_bytes());
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_is_big_endian_offset_then_size() {
        let f = frame_header(0x0102_0304_0506_0708, 0x0A0B);
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
