//! `RemotingServer`: accepts connections and hands each request to a `RequestProcessor`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_protocol::RemotingCommand;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::acceptor::{accept_loop, ConnectionLimit, ConnectionSlot};
use crate::channel::Channel;
use crate::config::{PartialFrameBudget, ServerConfig};
use crate::connection::{self, Limits, OnRequest};
use crate::tls::{self, ServerTls};

/// Handles the requests of a server.
pub trait RequestProcessor: Send + Sync + 'static {
    /// Handles one request; `None` means "no reply" (one-way requests, or nothing to say).
    ///
    /// Requests of one connection run concurrently, so a long-polling pull may wait here.
    fn process_request(
        &self,
        channel: Channel,
        request: RemotingCommand,
    ) -> impl Future<Output = Option<RemotingCommand>> + Send;

    /// Called once when a connection closes, for any reason.
    fn on_channel_close(&self, _channel: &Channel) {}

    /// Called once when a connection is accepted.
    fn on_channel_open(&self, _channel: &Channel) {}
}

/// A listening server; dropping it does not stop it, `shutdown` does.
pub struct RemotingServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl RemotingServer {
    /// Binds `addr` and serves plaintext connections with `processor` on the current runtime,
    /// with the default [`ServerConfig`].
    pub async fn bind<P: RequestProcessor>(
        addr: &str,
        processor: Arc<P>,
    ) -> std::io::Result<RemotingServer> {
        Self::bind_with_options(addr, processor, ServerConfig::default(), None).await
    }

    /// [`RemotingServer::bind`], with TLS per `tls` (its mode decides per connection).
    pub async fn bind_with_tls<P: RequestProcessor>(
        addr: &str,
        processor: Arc<P>,
        tls: Option<Arc<ServerTls>>,
    ) -> std::io::Result<RemotingServer> {
        Self::bind_with_options(addr, processor, ServerConfig::default(), tls).await
    }

    /// Binds `addr` and serves plaintext connections with `processor`, enforcing `config`'s limits.
    pub async fn bind_with<P: RequestProcessor>(
        addr: &str,
        processor: Arc<P>,
        config: ServerConfig,
    ) -> std::io::Result<RemotingServer> {
        Self::bind_with_options(addr, processor, config, None).await
    }

    /// Binds `addr` and serves connections with `processor`, enforcing `config`'s limits, with
    /// TLS per `tls` when given.
    pub async fn bind_with_options<P: RequestProcessor>(
        addr: &str,
        processor: Arc<P>,
        config: ServerConfig,
        tls: Option<Arc<ServerTls>>,
    ) -> std::io::Result<RemotingServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let acceptor = Acceptor {
            max_connections: config.effective_max_connections(),
            limits: Limits {
                idle: config.idle_timeout(),
                frame_deadline: config.frame_deadline(),
                max_requests: config.max_requests_per_connection.max(1),
                partial_frames: Some(Arc::new(PartialFrameBudget::new(
                    config.partial_frame_bytes_limit,
                ))),
            },
            tls,
        };
        tokio::spawn(acceptor.run(listener, processor, stopped));
        Ok(RemotingServer { local_addr, stop })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting new connections; existing ones keep running until closed.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

struct Acceptor {
    max_connections: usize,
    limits: Limits,
    tls: Option<Arc<ServerTls>>,
}

impl Acceptor {
    async fn run<P: RequestProcessor>(
        self,
        listener: TcpListener,
        processor: Arc<P>,
        stopped: watch::Receiver<bool>,
    ) {
        let stop = stopped.clone();
        let limit = ConnectionLimit::new(self.max_connections, "remoting");
        accept_loop(listener, limit, stopped, |stream, peer, slot| {
            self.serve(stream, peer, slot, &processor, &stop)
        })
        .await;
    }

    fn serve<P: RequestProcessor>(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        open: ConnectionSlot,
        processor: &Arc<P>,
        stopped: &watch::Receiver<bool>,
    ) {
        let Some(tls) = self.tls.clone() else {
            match connection::spawn(stream, self.limits.clone(), handler(processor)) {
                Ok((channel, done)) => opened(processor.clone(), channel, done, open),
                Err(e) => tracing::warn!(peer = %peer, error = %e, "connection setup failed"),
            }
            return;
        };
        // the first byte decides between TLS and plaintext: wait for it (and the handshake) off
        // the accept loop, within the idle timeout, so a silent peer holds nothing for long
        let (limits, processor) = (self.limits.clone(), processor.clone());
        let mut stop = stopped.clone();
        tokio::spawn(async move {
            let Ok(local) = stream.local_addr() else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let handshake = tls::accept_server(stream, &tls);
            let wait = async {
                match limits.idle.or(limits.frame_deadline) {
                    Some(limit) => match tokio::time::timeout(limit, handshake).await {
                        Ok(accepted) => accepted,
                        Err(_) => {
                            // the same line as a served connection that goes quiet
                            tracing::info!(remote = %peer, "closing an idle connection");
                            None
                        }
                    },
                    None => handshake.await,
                }
            };
            // a server that stops drops connections still deciding, as it closes the others
            let accepted = tokio::select! {
                a = wait => a,
                _ = async {
                    // a dropped sender is not a stop: keep deciding
                    if stop.wait_for(|stopped| *stopped).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => None,
            };
            if let Some(stream) = accepted {
                let (channel, done) =
                    connection::spawn_stream(stream, peer, local, limits, handler(&processor));
                opened(processor, channel, done, open);
            }
        });
    }
}

/// The request handler of a connection served by `processor`.
fn handler<P: RequestProcessor>(processor: &Arc<P>) -> OnRequest {
    let p = processor.clone();
    Arc::new(move |ch: Channel, req: RemotingCommand| {
        let p = p.clone();
        Box::pin(async move { dispatch(&*p, ch, req).await })
    })
}

/// Tells `processor` about a new connection, and about its end when `done` fires; `slot` is
/// released then.
fn opened<P: RequestProcessor>(
    processor: Arc<P>,
    channel: Channel,
    done: oneshot::Receiver<()>,
    slot: ConnectionSlot,
) {
    tracing::debug!(peer = %channel.remote_addr(), "connection accepted");
    processor.on_channel_open(&channel);
    tokio::spawn(async move {
        let _ = done.await;
        drop(slot);
        tracing::debug!(peer = %channel.remote_addr(), "connection closed");
        processor.on_channel_close(&channel);
    });
}

/// Runs `request` through `processor`; the answer, marked as the response to `request` (none
/// for a one-way request).
async fn dispatch<P: RequestProcessor>(
    processor: &P,
    channel: Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let oneway = request.is_oneway();
    let opaque = request.opaque;
    let serialize_type = request.serialize_type;
    let mut reply = processor.process_request(channel, request).await?;
    if oneway {
        return None;
    }
    reply.opaque = opaque;
    reply.mark_response();
    reply.serialize_type = serialize_type;
    Some(reply)
}
