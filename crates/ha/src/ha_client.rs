//! `HAClient`: the slave's connection to its master's HA port.
//!
//! It reports the local CommitLog end (8 bytes, big-endian) right after connecting, every
//! `haSendHeartbeatInterval` and after every append; it reads transfer frames, checks that each
//! starts exactly at the local CommitLog end, and appends the bytes there. Any error, a frame
//! at a different offset or `haHousekeepingInterval` without a byte from the master closes the
//! connection; it reconnects after a pause, reporting its real end again. With the broker's
//! client TLS rule (`tls.enable`, or `tls.server.mode=enforcing`) it connects over TLS.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrocket_store::DefaultMessageStore;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::ha_connection::{REPORT_SIZE, TRANSFER_HEADER_SIZE};
use crate::runtime_stats::{now_millis, ClientStats};
use crate::tls::{self, HaStream};

/// Largest frame body a slave accepts (RocketMQ's 4 MiB read buffer).
pub const READ_MAX_BUFFER_SIZE: usize = 4 * 1024 * 1024;
/// Longest pause between two connection attempts (RocketMQ: 5 s).
const MAX_RECONNECT_PAUSE: Duration = Duration::from_secs(5);
/// Connect timeout (RocketMQ's remoting default).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a blocked read looks at the stop flag and the timers.
const POLL: Duration = Duration::from_millis(100);

/// Settings of the client.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientConfig {
    pub heartbeat_interval: Duration,
    pub housekeeping_interval: Duration,
}

/// Stop flag and wake-up of the client thread.
#[derive(Default)]
pub(crate) struct ClientSignal {
    stopped: Mutex<bool>,
    cond: Condvar,
}

impl ClientSignal {
    /// Sleeps up to `d`; returns whether the client is stopped.
    pub(crate) fn pause(&self, d: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.cond.wait_for(&mut stopped, d);
        }
        *stopped
    }

    pub(crate) fn is_stopped(&self) -> bool {
        *self.stopped.lock()
    }

    /// Ends the pause early (a new master address).
    pub(crate) fn wakeup(&self) {
        self.cond.notify_all();
    }

    pub(crate) fn stop(&self) {
        *self.stopped.lock() = true;
        self.cond.notify_all();
    }
}

/// The classic client loop; returns once `signal` is stopped.
pub(crate) fn run(
    store: Arc<DefaultMessageStore>,
    master_address: Arc<RwLock<Option<String>>>,
    signal: Arc<ClientSignal>,
    cfg: ClientConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    stats: Arc<ClientStats>,
) {
    let session = |socket| Session::new(&store, socket, cfg, &stats).run(&signal);
    connect_loop(&store, &master_address, &signal, cfg, tls, &stats, session);
}

/// Connects to the master, runs `session` on each connection until it fails, and connects
/// again after a pause; returns once `signal` is stopped.
pub(crate) fn connect_loop(
    store: &DefaultMessageStore,
    master_address: &RwLock<Option<String>>,
    signal: &ClientSignal,
    cfg: ClientConfig,
    tls: Option<Arc<rustls::ClientConfig>>,
    stats: &ClientStats,
    session: impl Fn(Box<dyn HaStream>) -> String,
) {
    let pause = cfg.heartbeat_interval.min(MAX_RECONNECT_PAUSE);
    let mut last_failure: Option<String> = None;
    while !signal.is_stopped() {
        let Some(addr) = master_address.read().clone() else {
            signal.pause(pause);
            continue;
        };
        let reason = match connect(&addr, tls.as_ref()) {
            Ok(socket) => {
                tracing::info!(master = %addr, offset = store.get_max_phy_offset(), "connected to the master's HA port");
                stats
                    .last_read_timestamp
                    .store(now_millis(), Ordering::Release);
                let reason = session(socket);
                stats.last_read_timestamp.store(0, Ordering::Release);
                tracing::warn!(master = %addr, reason = %reason, "HA connection to the master closed; reconnecting");
                reason
            }
            Err(e) => {
                let msg = format!("cannot connect to the master's HA port {addr}: {e}");
                if last_failure.as_deref() != Some(msg.as_str()) {
                    tracing::warn!("{msg}");
                }
                msg
            }
        };
        last_failure = Some(reason);
        signal.pause(pause);
    }
}

/// Connects to the master, over TLS when `tls` is set; the socket timeouts bound every read
/// and write, TLS or not.
fn connect(
    addr: &str,
    tls: Option<&Arc<rustls::ClientConfig>>,
) -> std::io::Result<Box<dyn HaStream>> {
    let target = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "no address"))?;
    let socket = TcpStream::connect_timeout(&target, CONNECT_TIMEOUT)?;
    socket.set_nodelay(true)?;
    socket.set_write_timeout(Some(CONNECT_TIMEOUT))?;
    let Some(config) = tls else {
        socket.set_read_timeout(Some(POLL))?;
        return Ok(Box::new(socket));
    };
    socket.set_read_timeout(Some(CONNECT_TIMEOUT))?;
    let stream = tls::connect(socket, config.clone(), addr)?;
    stream.sock.set_read_timeout(Some(POLL))?;
    Ok(Box::new(stream))
}

/// One connection to the master.
struct Session<'a> {
    store: &'a DefaultMessageStore,
    stats: &'a ClientStats,
    socket: Box<dyn HaStream>,
    cfg: ClientConfig,
    /// Received bytes not yet consumed: at most one header and a 4 MiB body.
    buf: Vec<u8>,
    filled: usize,
    reported: i64,
    last_write: Instant,
    last_read: Instant,
}

impl<'a> Session<'a> {
    fn new(
        store: &'a DefaultMessageStore,
        socket: Box<dyn HaStream>,
        cfg: ClientConfig,
        stats: &'a ClientStats,
    ) -> Self {
        Session {
            store,
            stats,
            socket,
            cfg,
            buf: vec![0; TRANSFER_HEADER_SIZE + READ_MAX_BUFFER_SIZE],
            filled: 0,
            reported: store.get_max_phy_offset(),
            last_write: Instant::now(),
            last_read: Instant::now(),
        }
    }

    /// Runs until an error; returns the reason.
    fn run(&mut self, signal: &ClientSignal) -> String {
        // report at once, so the master starts streaming without a heartbeat's delay
        if let Err(e) = self.report(self.reported) {
            return e;
        }
        loop {
            if signal.is_stopped() {
                return "shutting down".into();
            }
            if self.last_write.elapsed() >= self.cfg.heartbeat_interval {
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

    fn report(&mut self, offset: i64) -> Result<(), String> {
        self.socket
            .write_all(&offset.to_be_bytes()[..REPORT_SIZE])
            .and_then(|()| self.socket.flush())
            .map_err(|e| format!("reporting offset {offset} failed: {e}"))?;
        self.reported = offset;
        self.last_write = Instant::now();
        self.stats
            .last_write_timestamp
            .store(now_millis(), Ordering::Release);
        Ok(())
    }

    /// Appends every complete frame in the buffer, then acknowledges.
    fn dispatch(&mut self) -> Result<(), String> {
        let mut at = 0usize;
        while self.filled - at >= TRANSFER_HEADER_SIZE {
            let head = &self.buf[at..at + TRANSFER_HEADER_SIZE];
            let offset = i64::from_be_bytes(head[..8].try_into().unwrap_or_default());
            let size = i32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= READ_MAX_BUFFER_SIZE)
                .ok_or_else(|| {
                    format!("frame at {offset} announces {size} bytes: not a RocketMQ HA stream")
                })?;
            let local = self.store.get_max_phy_offset();
            if local != 0 && local != offset {
                tracing::error!(
                    master_offset = offset,
                    local_offset = local,
                    "master pushed offset not equal the max phy offset in slave"
                );
                return Err(format!(
                    "frame at {offset} but the local commit log ends at {local}"
                ));
            }
            if self.filled - at - TRANSFER_HEADER_SIZE < size {
                break; // body not complete yet
            }
            let body = at + TRANSFER_HEADER_SIZE;
            if size > 0 {
                self.store
                    .append_to_commit_log(offset, &self.buf[body..body + size])
                    .map_err(|e| format!("cannot append the frame at {offset}: {e}"))?;
            }
            at = body + size;
        }
        self.buf.copy_within(at..self.filled, 0);
        self.filled -= at;
        let max = self.store.get_max_phy_offset();
        if max > self.reported {
            self.report(max)?;
        }
        Ok(())
    }
}

/// One read from the master into `buf[*filled..]`: `Ok(true)` when bytes arrived (counted in
/// `stats`), `Ok(false)` when the read timed out, the reason when the connection is over: the
/// master closed it, the read failed, or the master has been silent for longer than
/// `housekeeping` (`haHousekeepingInterval`). Shared by the classic and the auto-switch HA client.
pub(crate) fn read_from_master(
    socket: &mut Box<dyn HaStream>,
    buf: &mut [u8],
    filled: &mut usize,
    last_read: &mut Instant,
    stats: &ClientStats,
    housekeeping: Duration,
) -> Result<bool, String> {
    match socket.read(&mut buf[*filled..]) {
        Ok(0) => Err("the master closed the connection".into()),
        Ok(n) => {
            *filled += n;
            *last_read = Instant::now();
            stats.flow.add(n);
            stats
                .last_read_timestamp
                .store(now_millis(), Ordering::Release);
            Ok(true)
        }
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
            ) =>
        {
            if last_read.elapsed() > housekeeping {
                return Err(format!(
                    "nothing from the master for {} ms (haHousekeepingInterval)",
                    housekeeping.as_millis()
                ));
            }
            Ok(false)
        }
        Err(e) => Err(format!("read failed: {e}")),
    }
}
