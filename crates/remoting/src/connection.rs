//! Drives one connection (TCP, or TLS over TCP) from one task: it reads and dispatches frames,
//! runs the requests, writes the answers, and drains the queue of commands other tasks send on the
//! connection.
//!
//! A request runs inline first: the task polls its handler once, and when that completes (a send
//! under ASYNC_FLUSH, a heartbeat, an offset commit) the answer is encoded straight into the
//! connection's write buffer, to leave with the answers of the other requests of the same read in
//! one write. A handler that has to wait (a flush, a long-polling pull, a replica) stays with the
//! connection's task among its running requests, so a flush that answers a dozen sends of one
//! connection wakes that task once, and their answers leave in one write. A spawned task per
//! request, and a second task per connection for writing, cost a wake-up of another worker thread
//! for most requests (see docs/PERFORMANCE.md, "Where the broker's CPU goes"). Requests still
//! running when the connection closes are spawned to finish on their own, their answers dropped.
//!
//! The task enforces the connection's limits: its read buffer grows as bytes arrive (never to the
//! length a frame announces), partial frames are charged to a budget shared by the server, a
//! started frame must finish before a deadline, a silent connection is closed after the idle
//! timeout, only so many of its requests run at once, and answers the peer does not read stop
//! the task from taking more of its requests.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use ferrocket_protocol::code::response;
use ferrocket_protocol::{RemotingCodec, RemotingCommand};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use tokio_util::codec::{Decoder, Encoder};

use crate::channel::Channel;
use crate::config::PartialFrameBudget;
use crate::throttle::LogThrottle;

/// How many outbound commands may queue per connection before senders wait.
const OUTBOUND_QUEUE: usize = 4096;

/// The read buffer of an idle connection; it grows (doubling, capped at the frame's size) only
/// while bytes of a larger frame keep arriving.
const INITIAL_READ_BUFFER: usize = 8 * 1024;

/// Encoded answers waiting for the socket beyond which the connection runs no more requests
/// inline and takes no more queued commands until the peer has read some.
const WRITE_HIGH_WATER: usize = 1024 * 1024;

/// A drained write buffer larger than this is given back rather than kept for the next answers.
const WRITE_BUFFER_KEEP: usize = 64 * 1024;

/// Answers of running requests taken per wake-up, before the task looks at its socket again.
const ANSWERS_PER_WAKE: usize = 64;

/// What RocketMQ answers when a request cannot be queued; its clients back off and retry.
pub const OVERLOAD_REMARK: &str = "[OVERLOAD]system busy, start flow control for a while";

/// Handles one inbound request of a connection; resolves to the answer to write (already marked
/// as the response to the request), or `None` for no answer.
pub(crate) type OnRequest = Arc<
    dyn Fn(Channel, RemotingCommand) -> BoxFuture<'static, Option<RemotingCommand>> + Send + Sync,
>;

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

/// Milliseconds since the first call, for cheap "last activity" stamps.
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Drives a TCP `stream`; see [`spawn_stream`].
pub(crate) fn spawn(
    stream: TcpStream,
    limits: Limits,
    on_request: OnRequest,
) -> std::io::Result<(Channel, oneshot::Receiver<()>)> {
    let remote = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let _ = stream.set_nodelay(true);
    Ok(spawn_stream(stream, remote, local, limits, on_request))
}

/// Drives any byte stream (plain TCP, or TLS over TCP) from one task enforcing `limits`.
/// `on_request` runs for every inbound request; responses complete the channel's pending calls.
/// Returns the channel and a future that resolves when the connection is gone.
pub(crate) fn spawn_stream<S>(
    stream: S,
    remote: SocketAddr,
    local: SocketAddr,
    limits: Limits,
    on_request: OnRequest,
) -> (Channel, oneshot::Receiver<()>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<RemotingCommand>(OUTBOUND_QUEUE);
    let (close_tx, close_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let channel = Channel::new(remote, local, tx, close_tx);
    let connection = Connection {
        channel: channel.clone(),
        on_request,
        in_flight: Arc::new(Semaphore::new(limits.max_requests.max(1))),
        limits,
        last_activity_ms: now_ms(),
        buf: BytesMut::with_capacity(INITIAL_READ_BUFFER),
        charged: 0,
        wbuf: BytesMut::new(),
        outbound: rx,
        running: FuturesUnordered::new(),
        answered: Vec::new(),
    };
    tokio::spawn(async move {
        let channel = connection.channel.clone();
        tokio::select! {
            _ = close_rx => {}
            _ = connection.run(stream) => {}
        }
        channel.mark_closed();
        let _ = done_tx.send(());
    });
    (channel, done_rx)
}

struct Connection {
    channel: Channel,
    on_request: OnRequest,
    in_flight: Arc<Semaphore>,
    limits: Limits,
    last_activity_ms: u64,
    /// Bytes read and not yet decoded.
    buf: BytesMut,
    /// Bytes of `buf`'s capacity charged to the server's partial-frame budget.
    charged: usize,
    /// Encoded commands not yet written.
    wbuf: BytesMut,
    /// Commands other tasks send on this connection.
    outbound: mpsc::Receiver<RemotingCommand>,
    /// Requests that had to wait, each holding its `in_flight` permit.
    running: FuturesUnordered<Running>,
    /// Answers taken from `running`, to encode.
    answered: Vec<Option<RemotingCommand>>,
}

/// Requests still running when the connection goes away finish on their own, as they would
/// have as tasks: a handler is not written to be dropped halfway.
impl Drop for Connection {
    fn drop(&mut self) {
        let running = std::mem::take(&mut self.running);
        if running.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            for request in running {
                runtime.spawn(request);
            }
        }
    }
}

/// A request whose handler had to wait, with its place among the connection's requests.
struct Running {
    work: BoxFuture<'static, Option<RemotingCommand>>,
    code: i32,
    remote: SocketAddr,
    _permit: OwnedSemaphorePermit,
}

impl Future for Running {
    type Output = Option<RemotingCommand>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        poll_request(&mut this.work, this.code, this.remote, cx)
    }
}

/// Polls a request's handler; a panic is logged and ends the request without an answer, as it
/// ended the request's task before (the connection goes on).
fn poll_request(
    work: &mut BoxFuture<'static, Option<RemotingCommand>>,
    code: i32,
    remote: SocketAddr,
    cx: &mut Context<'_>,
) -> Poll<Option<RemotingCommand>> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| work.as_mut().poll(cx))) {
        Ok(poll) => poll,
        Err(panic) => {
            let what = panic_message(panic.as_ref());
            tracing::error!(code, %remote, panic = %what, "request processing panicked");
            Poll::Ready(None)
        }
    }
}

/// The message a panic carried (`panic!` with a literal or a formatted string).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Takes the answers of running requests that are done, up to [`ANSWERS_PER_WAKE`]; pending
/// while none is.
fn take_answers(
    running: &mut FuturesUnordered<Running>,
    answered: &mut Vec<Option<RemotingCommand>>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    while answered.len() < ANSWERS_PER_WAKE {
        match running.poll_next_unpin(cx) {
            Poll::Ready(Some(answer)) => answered.push(answer),
            Poll::Ready(None) | Poll::Pending => break,
        }
    }
    if answered.is_empty() {
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

/// Why a connection stopped.
enum Stop {
    Eof,
    Error(String),
    Idle,
    FrameDeadline(Duration),
    Budget,
}

/// What woke the connection's task.
enum Event {
    Wrote(std::io::Result<usize>),
    Answered,
    Queued(Option<RemotingCommand>),
    Read(std::io::Result<usize>),
    Timer,
}

impl Connection {
    async fn run<S: AsyncRead + AsyncWrite>(mut self, stream: S) {
        let stop = self.drive(stream).await;
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

    async fn drive<S: AsyncRead + AsyncWrite>(&mut self, stream: S) -> Stop {
        let (mut read_half, mut write_half) = tokio::io::split(stream);
        let mut frame_started: Option<Instant> = None;
        // whether the buffer was empty before the last read: then its bytes start a new frame
        let mut was_empty = true;
        let mut read_happened = false;
        // fires at the earliest deadline, or earlier: then it is set again (see `on_timer`)
        let timer = tokio::time::sleep(Duration::from_secs(24 * 3600));
        tokio::pin!(timer);
        loop {
            let decoded = match self.dispatch_complete_frames() {
                Ok(n) => n,
                Err(stop) => return stop,
            };
            if self.buf.is_empty() {
                frame_started = None;
            } else if decoded > 0 || (read_happened && was_empty) {
                frame_started = Some(Instant::now());
            }
            if !self.make_room() {
                return Stop::Budget;
            }
            was_empty = self.buf.is_empty();
            let stalled = self.stalled();
            if stalled {
                // the frame waits for us, not for the peer: its deadline starts when we read again
                frame_started = frame_started.map(|_| Instant::now());
            }
            let deadline = self.deadline(frame_started);
            if let Some(at) = deadline {
                if at < timer.deadline().into_std() {
                    timer.as_mut().reset(at.into());
                }
            }
            let event = tokio::select! {
                biased;
                w = write_half.write(&self.wbuf), if !self.wbuf.is_empty() => Event::Wrote(w),
                _ = std::future::poll_fn(|cx| take_answers(&mut self.running, &mut self.answered, cx)),
                    if !self.running.is_empty() && self.wbuf.len() < WRITE_HIGH_WATER => Event::Answered,
                cmd = self.outbound.recv(), if self.wbuf.len() < WRITE_HIGH_WATER => Event::Queued(cmd),
                r = read_half.read_buf(&mut self.buf), if !stalled => Event::Read(r),
                _ = &mut timer, if deadline.is_some() => Event::Timer,
            };
            read_happened = matches!(event, Event::Read(_));
            if let Event::Timer = event {
                if let Some(stop) = self.expired(frame_started.filter(|_| !stalled)) {
                    return stop;
                }
                let later = self.deadline(frame_started).unwrap_or_else(Instant::now);
                timer.as_mut().reset(later.into());
            } else if let Err(stop) = self.on_event(event) {
                return stop;
            }
        }
    }

    fn on_event(&mut self, event: Event) -> Result<(), Stop> {
        match event {
            Event::Wrote(Ok(0)) => {
                return Err(Stop::Error("the socket accepts no more bytes".into()))
            }
            Event::Wrote(Ok(n)) => self.wrote(n),
            Event::Wrote(Err(e)) => return Err(Stop::Error(format!("write failed: {e}"))),
            Event::Answered => self.encode_answers(),
            Event::Queued(Some(cmd)) => self.encode_queued(cmd),
            // the channel holds a sender as long as this task runs
            Event::Queued(None) | Event::Read(Ok(0)) => return Err(Stop::Eof),
            Event::Read(Ok(_)) => self.last_activity_ms = now_ms(),
            Event::Read(Err(e)) => return Err(Stop::Error(e.to_string())),
            Event::Timer => {}
        }
        Ok(())
    }

    /// The stop a deadline that passed calls for, if one did.
    fn expired(&self, frame_started: Option<Instant>) -> Option<Stop> {
        if let (Some(started), Some(d)) = (frame_started, self.limits.frame_deadline) {
            if started.elapsed() >= d {
                return Some(Stop::FrameDeadline(d));
            }
        }
        let idle = self.limits.idle?;
        (self.idle_for() >= idle.as_millis() as u64).then_some(Stop::Idle)
    }

    /// When the next byte must have moved: the frame deadline while a frame is partly read, else
    /// the idle timeout counted from the last traffic either way.
    fn deadline(&self, frame_started: Option<Instant>) -> Option<Instant> {
        if let (Some(started), Some(d)) = (frame_started, self.limits.frame_deadline) {
            return Some(started + d);
        }
        let idle = self.limits.idle?;
        let since = Duration::from_millis(self.idle_for());
        Some(Instant::now() + idle.saturating_sub(since))
    }

    fn idle_for(&self) -> u64 {
        now_ms().saturating_sub(self.last_activity_ms)
    }

    /// True while the peer leaves answers unread and every request slot is taken: the task
    /// then reads and decodes nothing more, as a blocked writer would.
    fn stalled(&self) -> bool {
        self.wbuf.len() >= WRITE_HIGH_WATER && self.in_flight.available_permits() == 0
    }

    fn wrote(&mut self, n: usize) {
        self.wbuf.advance(n);
        self.last_activity_ms = now_ms();
        if self.wbuf.is_empty() && self.wbuf.capacity() > WRITE_BUFFER_KEEP {
            self.wbuf = BytesMut::new();
        }
    }

    fn encode_answers(&mut self) {
        let mut answered = std::mem::take(&mut self.answered);
        for answer in answered.drain(..).flatten() {
            self.encode(&answer);
        }
        self.answered = answered;
    }

    /// Encodes a queued command and whatever else is queued already, up to the high water mark.
    fn encode_queued(&mut self, cmd: RemotingCommand) {
        self.encode(&cmd);
        while self.wbuf.len() < WRITE_HIGH_WATER {
            match self.outbound.try_recv() {
                Ok(more) => self.encode(&more),
                Err(_) => break,
            }
        }
    }

    fn encode(&mut self, cmd: &RemotingCommand) {
        if let Err(e) = RemotingCodec::new().encode(cmd, &mut self.wbuf) {
            tracing::warn!(
                remote = %self.channel.remote_addr(),
                code = cmd.code,
                error = %e,
                "dropping a command that cannot be sent"
            );
        }
    }

    /// Decodes and dispatches every complete frame in the buffer, unless the connection stalls;
    /// returns how many.
    fn dispatch_complete_frames(&mut self) -> Result<usize, Stop> {
        let mut codec = RemotingCodec::new();
        let mut n = 0;
        while !self.stalled() {
            match codec.decode(&mut self.buf) {
                Ok(Some(cmd)) => {
                    n += 1;
                    self.dispatch(cmd);
                }
                Ok(None) => break,
                Err(e) => return Err(Stop::Error(format!("malformed frame: {e}"))),
            }
        }
        Ok(n)
    }

    fn dispatch(&mut self, cmd: RemotingCommand) {
        if cmd.is_response() {
            self.channel.complete(cmd);
            return;
        }
        match self.in_flight.clone().try_acquire_owned() {
            Ok(permit) => self.run_request(cmd, permit),
            Err(_) => {
                // RocketMQ's answer to a full queue
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
                    self.encode(&busy);
                }
            }
        }
    }

    /// Runs a request's handler inline until it first has to wait; it goes on among the
    /// connection's running requests from there.
    fn run_request(&mut self, cmd: RemotingCommand, permit: OwnedSemaphorePermit) {
        let code = cmd.code;
        let remote = self.channel.remote_addr();
        let mut work = (self.on_request)(self.channel.clone(), cmd);
        if self.wbuf.len() < WRITE_HIGH_WATER {
            // A no-op waker: a handler that is not ready joins `running`, which polls it again
            // with its own waker, and that replaces this one wherever it was registered.
            let mut cx = Context::from_waker(futures::task::noop_waker_ref());
            if let Poll::Ready(reply) = poll_request(&mut work, code, remote, &mut cx) {
                drop(permit);
                if let Some(reply) = reply {
                    self.encode(&reply);
                }
                return;
            }
        }
        // (past the high water mark the handler waits, unpolled, until the peer reads answers)
        self.running.push(Running {
            work,
            code,
            remote,
            _permit: permit,
        });
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
