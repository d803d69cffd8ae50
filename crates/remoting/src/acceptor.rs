//! What every listening port shares (remoting, gRPC, console): the accept loop, with accept
//! errors backed off exponentially and logged once per burst, and the cap on open connections,
//! with refusals logged at most once per 10 s. Each port only says how it serves a connection.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::throttle::LogThrottle;

/// The first pause after a failed `accept`; it doubles on each further failure of a burst.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
/// The longest pause between `accept` attempts while they keep failing.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one "connection limit reached" line per this period and port.
const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until `stopped` turns true (or its sender is dropped),
/// handing each that `limit` admits to `serve` with its slot; the others are closed at once.
/// `limit` names the port in the log ("remoting", "gRPC", ...).
///
/// Accept errors (EMFILE, ENFILE, ENOBUFS...) come in bursts: the first of a burst is logged,
/// the rest are counted and reported once accepting works again, and the loop pauses between
/// attempts, 5 ms doubling up to 1 s, so a full descriptor table does not spin a core.
pub async fn accept_loop(
    listener: TcpListener,
    limit: ConnectionLimit,
    mut stopped: watch::Receiver<bool>,
    mut serve: impl FnMut(TcpStream, SocketAddr, ConnectionSlot),
) {
    let mut errors = AcceptErrors::new(limit.port, listener.local_addr().ok());
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                errors.accepted();
                // dropping a refused stream closes it
                if let Some(slot) = limit.try_admit(peer) {
                    serve(stream, peer, slot);
                }
            }
            Err(e) => {
                let pause = errors.failed(&e);
                tokio::select! {
                    _ = stopped.changed() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

/// The accept errors of one port: the first of a burst is logged, the rest are counted and
/// reported when accepting works again; each asks for a pause that doubles up to 1 s. Ports
/// served by blocking threads (the HA port) use it directly.
pub struct AcceptErrors {
    port: &'static str,
    listen: Option<SocketAddr>,
    failures: u64,
    backoff: Duration,
}

impl AcceptErrors {
    /// No error yet on the port named `port`, bound to `listen`.
    pub fn new(port: &'static str, listen: Option<SocketAddr>) -> Self {
        AcceptErrors {
            port,
            listen,
            failures: 0,
            backoff: ACCEPT_BACKOFF_MIN,
        }
    }

    /// A connection was accepted: ends the current burst, if any.
    pub fn accepted(&mut self) {
        if self.failures > 0 {
            tracing::info!(
                listen = ?self.listen,
                port = self.port,
                failures = self.failures,
                "accepting connections again after a burst of accept errors"
            );
            self.failures = 0;
            self.backoff = ACCEPT_BACKOFF_MIN;
        }
    }

    /// `accept` failed with `e`: how long to pause before the next attempt.
    pub fn failed(&mut self, e: &std::io::Error) -> Duration {
        if self.failures == 0 {
            tracing::warn!(
                listen = ?self.listen,
                port = self.port,
                error = %e,
                "accept failed; retrying with backoff, further errors of this burst are counted, \
                 not logged"
            );
        }
        self.failures += 1;
        let pause = self.backoff;
        self.backoff = (self.backoff * 2).min(ACCEPT_BACKOFF_MAX);
        pause
    }
}

/// The cap on a port's open connections (`serverMaxConnections` on the remoting and gRPC ports).
pub struct ConnectionLimit {
    max: usize,
    open: Arc<AtomicUsize>,
    port: &'static str,
    refusals: LogThrottle,
}

/// One admitted connection; the slot is free again when this is dropped.
pub struct ConnectionSlot(Arc<AtomicUsize>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionLimit {
    /// At most `max` connections open at once on the port named `port`.
    pub fn new(max: usize, port: &'static str) -> Self {
        ConnectionLimit {
            max,
            open: Arc::new(AtomicUsize::new(0)),
            port,
            refusals: LogThrottle::new(),
        }
    }

    /// A slot for a connection from `peer`, or `None` when the port is full: the caller drops
    /// the stream, which closes it. Count from accept, so connections still in their TLS
    /// handshake count too.
    pub fn try_admit(&self, peer: SocketAddr) -> Option<ConnectionSlot> {
        let admitted = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < self.max).then_some(open + 1)
            })
            .is_ok();
        if admitted {
            return Some(ConnectionSlot(self.open.clone()));
        }
        if let Some(suppressed) = self.refusals.check(REFUSAL_LOG_PERIOD) {
            tracing::warn!(
                port = self.port,
                %peer,
                max = self.max,
                refused_since_last_line = suppressed,
                "connection limit reached (serverMaxConnections), closing new connections"
            );
        }
        None
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_port_admits_again_once_a_slot_is_dropped() {
        let limit = ConnectionLimit::new(2, "test");
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let a = limit.try_admit(peer).expect("first slot");
        let _b = limit.try_admit(peer).expect("second slot");
        assert!(limit.try_admit(peer).is_none());
        assert_eq!(limit.open(), 2);
        drop(a);
        assert!(limit.try_admit(peer).is_some());
    }

    #[tokio::test]
    async fn the_loop_serves_each_connection_and_ends_on_stop() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let limit = ConnectionLimit::new(8, "test");
        let task = tokio::spawn(accept_loop(listener, limit, stopped, move |_, peer, _| {
            let _ = tx.send(peer);
        }));
        let client = TcpStream::connect(addr).await.unwrap();
        let served = rx.recv().await.expect("served");
        assert_eq!(served, client.local_addr().unwrap());
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the loop ends on stop")
            .unwrap();
    }
}

#[cfg(test)]
mod backoff_tests {
    use super::*;

    #[test]
    fn pauses_double_to_a_second_and_reset_after_an_accept() {
        let mut errors = AcceptErrors::new("test", None);
        let e = std::io::Error::from_raw_os_error(24);
        let pauses: Vec<_> = (0..10).map(|_| errors.failed(&e).as_millis()).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        errors.accepted();
        assert_eq!(errors.failed(&e), ACCEPT_BACKOFF_MIN);
    }
}
