//! `Channel`: one live connection, usable to reply, to push one-way commands and to call the peer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::RemotingCommand;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

use crate::error::RemotingError;

static NEXT_CHANNEL_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_OPAQUE: AtomicI32 = AtomicI32::new(1);

/// Allocates a process-wide request id.
pub(crate) fn next_opaque() -> i32 {
    NEXT_OPAQUE.fetch_add(1, Ordering::Relaxed)
}

pub(crate) type ResponseTable = Mutex<HashMap<i32, oneshot::Sender<RemotingCommand>>>;

pub(crate) struct ChannelInner {
    pub(crate) id: u64,
    pub(crate) remote: SocketAddr,
    pub(crate) local: SocketAddr,
    pub(crate) outbound: mpsc::Sender<RemotingCommand>,
    pub(crate) pending: ResponseTable,
    pub(crate) active: AtomicBool,
    pub(crate) close: Mutex<Option<oneshot::Sender<()>>>,
}

/// A cheap, cloneable handle on a connection.
#[derive(Clone)]
pub struct Channel {
    pub(crate) inner: Arc<ChannelInner>,
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channel")
            .field("id", &self.inner.id)
            .field("remote", &self.inner.remote)
            .finish()
    }
}

impl PartialEq for Channel {
    fn eq(&self, other: &Self) -> bool {
        self.inner.id == other.inner.id
    }
}

impl Eq for Channel {}

impl std::hash::Hash for Channel {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.inner.id.hash(state)
    }
}

impl Channel {
    pub(crate) fn new(
        remote: SocketAddr,
        local: SocketAddr,
        outbound: mpsc::Sender<RemotingCommand>,
        close: oneshot::Sender<()>,
    ) -> Channel {
        Channel {
            inner: Arc::new(ChannelInner {
                id: NEXT_CHANNEL_ID.fetch_add(1, Ordering::Relaxed),
                remote,
                local,
                outbound,
                pending: Mutex::new(HashMap::new()),
                active: AtomicBool::new(true),
                close: Mutex::new(Some(close)),
            }),
        }
    }

    /// A process-unique id for this connection.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.inner.remote
    }

    /// Our side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// False once the connection has closed.
    pub fn is_active(&self) -> bool {
        self.inner.active.load(Ordering::Acquire)
    }

    /// Closes the connection.
    pub fn close(&self) {
        if let Some(tx) = self.inner.close.lock().take() {
            let _ = tx.send(());
        }
    }

    /// Queues a command for writing (a response, or a request whose reply is not awaited).
    pub async fn send(&self, cmd: RemotingCommand) -> Result<(), RemotingError> {
        self.inner
            .outbound
            .send(cmd)
            .await
            .map_err(|_| RemotingError::ConnectionClosed(self.inner.remote.to_string()))
    }

    /// Sends a one-way request (flag bit 1 set, fresh opaque).
    pub async fn send_oneway(&self, mut cmd: RemotingCommand) -> Result<(), RemotingError> {
        cmd.opaque = next_opaque();
        cmd.mark_oneway();
        self.send(cmd).await
    }

    /// Sends a request and waits for the response with the same opaque.
    pub async fn invoke(
        &self,
        mut cmd: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let opaque = next_opaque();
        cmd.opaque = opaque;
        let (tx, rx) = oneshot::channel();
        self.inner.pending.lock().insert(opaque, tx);
        let addr = self.inner.remote.to_string();
        if let Err(e) = self.send(cmd).await {
            self.inner.pending.lock().remove(&opaque);
            return Err(e);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(_)) => Err(RemotingError::ConnectionClosed(addr)),
            Err(_) => {
                self.inner.pending.lock().remove(&opaque);
                Err(RemotingError::Timeout {
                    addr,
                    millis: timeout.as_millis() as u64,
                })
            }
        }
    }

    /// Routes a response to the caller waiting for it; unknown opaques are dropped, as in RocketMQ.
    pub(crate) fn complete(&self, response: RemotingCommand) {
        let waiter = self.inner.pending.lock().remove(&response.opaque);
        match waiter {
            Some(tx) => {
                let _ = tx.send(response);
            }
            None => tracing::debug!(
                remote = %self.inner.remote,
                opaque = response.opaque,
                "response with unknown opaque dropped"
            ),
        }
    }

    pub(crate) fn mark_closed(&self) {
        self.inner.active.store(false, Ordering::Release);
        // dropping the senders wakes every waiter with ConnectionClosed
        self.inner.pending.lock().clear();
    }
}
