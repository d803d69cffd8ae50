//! Drives one connection (TCP, or TLS over TCP): a reader that dispatches frames and a writer that drains a queue.
//!
//! The reader enforces the connection's limits: its buffer grows as bytes arrive (never to the
//! length a frame announces), partial frames are charged to a budget shared by the server, a
//! started frame must finish before a deadline, a silent connection is closed after the idle
//! timeout, and only so many of its requests run at once.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrocket_protocol::code::response;
use ferrocket_protocol::{RemotingCodec, RemotingCommand};
use futures::SinkExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::codec::{Decoder, FramedWrite};

use crate::channel::Channel;
use crate::config::PartialFrameBudget;
use crate::throttle::LogThrottle;

/// How many outbound commands may queue per connection before senders wait.
const OUTBOUND_QUEUE: usize = 4096;

/// The read buffer of an idle connection; it grows (doubling, capped at the frame's size) only
/// while bytes of a larger frame keep arriving.
const INITIAL_READ_BUFFER: usize = 8 * 1024;

/// What RocketMQ answers when a request cannot be queued; its clients back off and retry.
pub const OVERLOAD_REMARK: &str = "[OVERLOAD]system busy, start flow control for a while";

/// The limits one connection enforces (see `ServerConfig` for their meaning).
#[derive(Clone)]
pub(crate) struct Limits {
    pub(crate) idle: Option<Duration>,
    pub(crate) frame_deadline: Option<Duration>,
    pub(crate) max_requests: usize,
    pub(crate) partial_frames: Option<Arc<PartialFrameBudget>>,
}

impl Limits {
    /// Outbound (client) connections: the peer is a server we chose, so no idle or frame
    /// deadline; buffers still grow only as bytes arrive.
    pub(crate) fn client() -> Self {
        Limits {
            idle: None,
            frame_deadline: None,
            max_requests: OUTBOUND_QUEUE,
            partial_frames: None,
        }
    }
}

/// Milliseconds since the first call, for cheap "last activity" stamps shared between tasks.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Splits a TCP `stream` into reader and writer tasks; see [`spawn_stream`].
pub(crate) fn spawn<F, Fut>(
    stream: TcpStream,
    limits: Limits,
    on_request: F,
) -> std::io::Result<(Channel, oneshot::Receiver<()>)>
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let remote = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let _ = stream.set_nodelay(true);
    Ok(spawn_stream(stream, remote, local, limits, on_request))
}

/// Splits any byte stream (plain TCP, or TLS over TCP) into reader and writer tasks, the reader
/// enforcing `limits`. `on_request` runs (spawned) for every inbound request; responses complete
/// the channel's pending calls. Returns the channel and a future that resolves when the
/// connection is gone.
pub(crate) fn spawn_stream<S, F, Fut>(
    stream: S,
    remote: SocketAddr,
    local: SocketAddr,
    limits: Limits,
    on_request: F,
) -> (Channel, oneshot::Receiver<()>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (read_half, write_half) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<RemotingCommand>(OUTBOUND_QUEUE);
    let (close_tx, close_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let channel = Channel::new(remote, local, tx, close_tx);
    let activity = Arc::new(AtomicU64::new(now_ms()));

    let writer_channel = channel.clone();
    let writer_activity = activity.clone();
    let writer = tokio::spawn(async move {
        let mut sink = FramedWrite::new(write_half, RemotingCodec::new());
        while let Some(cmd) = rx.recv().await {
            if let Err(e) = sink.feed(cmd).await {
                tracing::warn!(remote = %writer_channel.remote_addr(), error = %e, "write failed");
                break;
            }
            // batch whatever else is already queued into the same flush
            while let Ok(more) = rx.try_recv() {
                if let Err(e) = sink.feed(more).await {
                    tracing::warn!(remote = %writer_channel.remote_addr(), error = %e, "write failed");
                    return;
                }
            }
            if SinkExt::<RemotingCommand>::flush(&mut sink).await.is_err() {
                break;
            }
            writer_activity.store(now_ms(), Ordering::Relaxed);
        }
    });

    let reader = Reader {
        channel: channel.clone(),
        on_request: Arc::new(on_request),
        in_flight: Arc::new(Semaphore::new(limits.max_requests.max(1))),
        limits,
        activity,
        buf: BytesMut::with_capacity(INITIAL_READ_BUFFER),
        charged: 0,
    };
    tokio::spawn(async move {
        let channel = reader.channel.clone();
        tokio::select! {
            _ = close_rx => {}
            _ = reader.run(read_half) => {}
        }
        channel.mark_closed();
        writer.abort();
        let _ = done_tx.send(());
    });
    (channel, done_rx)
}

struct Reader<F> {
    channel: Channel,
    on_request: Arc<F>,
    in_flight: Arc<Semaphore>,
    limits: Limits,
    activity: Arc<AtomicU64>,
    buf: BytesMut,
    /// Bytes of `buf`'s capacity charged to the server's partial-frame budget.
    charged: usize,
}

/// Why a reader stopped.
enum Stop {
    Eof,
    Error(String),
    Idle,
    FrameDeadline(Duration),
    Budget,
}

impl<F, Fut> Reader<F>
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    async fn run<R: AsyncRead + Unpin>(mut self, mut read_half: R) {
        let stop = self.read_loop(&mut read_half).await;
        self.uncharge();
        let remote = self.channel.remote_addr();
        match stop {
            Stop::Eof => {}
            Stop::Error(e) => tracing::warn!(%remote, error = %e, "closing the connection"),
            Stop::Idle => tracing::info!(%remote, "closing an idle connection"),
            Stop::FrameDeadline(d) => tracing::warn!(
                %remote,
                buffered = self.buf.len(),
                "closing the connection: a frame was not completed within {} ms",
                d.as_millis()
            ),
            Stop::Budget => {
                static THROTTLE: LogThrottle = LogThrottle::new();
                if let Some(suppressed) = THROTTLE.check(Duration::from_secs(10)) {
                    tracing::warn!(
                        %remote,
                        suppressed,
                        "closing the connection: partial frames of all connections exceed \
                         serverPartialFrameBytesLimit"
                    );
                }
            }
        }
    }

    async fn read_loop<R: AsyncRead + Unpin>(&mut self, read_half: &mut R) -> Stop {
        let mut frame_started: Option<Instant> = None;
        // whether the buffer was empty before the last read: then its bytes start a new frame
        let mut was_empty = true;
        loop {
            let decoded = match self.dispatch_complete_frames().await {
                Ok(n) => n,
                Err(stop) => return stop,
            };
            if self.buf.is_empty() {
                frame_started = None;
            } else if decoded > 0 || was_empty {
                frame_started = Some(Instant::now());
            }
            if !self.make_room() {
                return Stop::Budget;
            }
            was_empty = self.buf.is_empty();
            let deadline = self.deadline(frame_started);
            let read = match deadline {
                Some(at) => {
                    match tokio::time::timeout_at(at.into(), read_half.read_buf(&mut self.buf))
                        .await
                    {
                        Ok(r) => r,
                        Err(_) => match (frame_started, self.limits.frame_deadline) {
                            (Some(_), Some(d)) => return Stop::FrameDeadline(d),
                            _ if self.idle_for()
                                >= self.limits.idle.unwrap_or_default().as_millis() as u64 =>
                            {
                                return Stop::Idle
                            }
                            _ => continue, // the writer was active: look again later
                        },
                    }
                }
                None => read_half.read_buf(&mut self.buf).await,
            };
            match read {
                Ok(0) => return Stop::Eof,
                Ok(_) => self.activity.store(now_ms(), Ordering::Relaxed),
                Err(e) => return Stop::Error(e.to_string()),
            }
        }
    }

    /// When the next read must have happened: the frame deadline while a frame is partly
    /// read, else the idle timeout counted from the last traffic either way.
    fn deadline(&self, frame_started: Option<Instant>) -> Option<Instant> {
        if let (Some(started), Some(d)) = (frame_started, self.limits.frame_deadline) {
            return Some(started + d);
        }
        let idle = self.limits.idle?;
        let since = Duration::from_millis(self.idle_for());
        Some(Instant::now() + idle.saturating_sub(since))
    }

    fn idle_for(&self) -> u64 {
        now_ms().saturating_sub(self.activity.load(Ordering::Relaxed))
    }

    /// Decodes and dispatches every complete frame in the buffer; returns how many.
    async fn dispatch_complete_frames(&mut self) -> Result<usize, Stop> {
        let mut codec = RemotingCodec::new();
        let mut n = 0;
        loop {
            match codec.decode(&mut self.buf) {
                Ok(Some(cmd)) => {
                    n += 1;
                    self.dispatch(cmd).await;
                }
                Ok(None) => return Ok(n),
                Err(e) => return Err(Stop::Error(format!("malformed frame: {e}"))),
            }
        }
    }

    async fn dispatch(&self, cmd: RemotingCommand) {
        if cmd.is_response() {
            self.channel.complete(cmd);
            return;
        }
        match self.in_flight.clone().try_acquire_owned() {
            Ok(permit) => {
                let work = (self.on_request)(self.channel.clone(), cmd);
                tokio::spawn(async move {
                    work.await;
                    drop(permit);
                });
            }
            Err(_) => {
                // RocketMQ's answer to a full queue; waiting here for room in the outbound
                // queue stops reading from a peer that does not read its answers
                if !cmd.is_oneway() {
                    let mut busy = RemotingCommand::error_to(
                        &cmd,
                        response::SYSTEM_BUSY,
                        format!(
                            "{OVERLOAD_REMARK}, requests in flight on this connection: {}",
                            self.limits.max_requests
                        ),
                    );
                    busy.opaque = cmd.opaque;
                    busy.serialize_type = cmd.serialize_type;
                    busy.mark_response();
                    let _ = self.channel.send(busy).await;
                }
            }
        }
    }

    /// Ensures the buffer has room for the next read, growing it towards the size of the frame
    /// in progress (never beyond what it announced) and charging growth to the budget. False
    /// when the budget refuses.
    fn make_room(&mut self) -> bool {
        let len = self.buf.len();
        if len == 0 && self.buf.capacity() > INITIAL_READ_BUFFER {
            // the last frame is done: give its memory back
            self.buf = BytesMut::with_capacity(INITIAL_READ_BUFFER);
        }
        // the frame length was checked against 16 MiB when the frames were decoded
        let total = RemotingCodec::frame_length(&self.buf)
            .ok()
            .flatten()
            .unwrap_or(INITIAL_READ_BUFFER)
            .max(INITIAL_READ_BUFFER);
        if self.buf.capacity() > len {
            self.recharge();
            return true;
        }
        let target = (self.buf.capacity() * 2)
            .max(len + INITIAL_READ_BUFFER)
            .min(total.max(len + 1));
        if let Some(budget) = &self.limits.partial_frames {
            if target > INITIAL_READ_BUFFER {
                let extra = target.saturating_sub(self.charged);
                if !budget.try_charge(extra) {
                    return false;
                }
                self.charged += extra;
            }
        }
        let mut grown = BytesMut::with_capacity(target);
        grown.extend_from_slice(&self.buf);
        self.buf = grown;
        self.recharge();
        true
    }

    /// What the buffer should be charged: its capacity beyond the initial buffer every
    /// connection has.
    fn to_charge(&self) -> usize {
        if self.limits.partial_frames.is_some() && self.buf.capacity() > INITIAL_READ_BUFFER {
            self.buf.capacity()
        } else {
            0
        }
    }

    /// Returns budget the buffer no longer holds.
    fn recharge(&mut self) {
        let want = self.to_charge();
        if want < self.charged {
            if let Some(budget) = &self.limits.partial_frames {
                budget.release(self.charged - want);
            }
            self.charged = want;
        }
    }

    fn uncharge(&mut self) {
        if let Some(budget) = &self.limits.partial_frames {
            budget.release(self.charged);
        }
        self.charged = 0;
        self.buf = BytesMut::new();
    }
}
