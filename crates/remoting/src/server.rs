//! `RemotingServer`: accepts connections and hands each request to a `RequestProcessor`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_protocol::RemotingCommand;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};

use crate::channel::Channel;
use crate::connection;
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
    /// Binds `addr` and serves plaintext connections with `processor` on the current runtime.
    pub async fn bind<P: RequestProcessor>(
        addr: &str,
        processor: Arc<P>,
    ) -> std::io::Result<RemotingServer> {
        Self::bind_with_tls(addr, processor, None).await
    }

    /// [`RemotingServer::bind`], with TLS per `tls` (its mode decides per connection).
    pub async fn bind_with_tls<P: RequestProcessor>(
        addr: &str,
        processor: Arc<P>,
        tls: Option<Arc<ServerTls>>,
    ) -> std::io::Result<RemotingServer> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stopped.changed() => break,
                    a = listener.accept() => a,
                };
                let (stream, peer) = match accepted {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if let Some(tls) = &tls {
                    // the first byte decides between TLS and plaintext: wait for it off the loop
                    let (tls, processor) = (tls.clone(), processor.clone());
                    tokio::spawn(async move {
                        let Ok(local) = stream.local_addr() else {
                            return;
                        };
                        let _ = stream.set_nodelay(true);
                        if let Some(stream) = tls::accept(stream, &tls).await {
                            let (channel, done) =
                                connection::spawn_stream(stream, peer, local, handler(&processor));
                            opened(processor, channel, done);
                        }
                    });
                    continue;
                }
                match connection::spawn(stream, handler(&processor)) {
                    Ok((channel, done)) => opened(processor.clone(), channel, done),
                    Err(e) => tracing::warn!(peer = %peer, error = %e, "connection setup failed"),
                }
            }
        });
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

/// The request handler of a connection served by `processor`.
fn handler<P: RequestProcessor>(
    processor: &Arc<P>,
) -> impl Fn(Channel, RemotingCommand) -> futures::future::BoxFuture<'static, ()> + Send + Sync + 'static
{
    let p = processor.clone();
    move |ch: Channel, req: RemotingCommand| {
        let p = p.clone();
        Box::pin(async move { dispatch(&*p, ch, req).await })
    }
}

/// Tells `processor` about a new connection, and about its end when `done` fires.
fn opened<P: RequestProcessor>(processor: Arc<P>, channel: Channel, done: oneshot::Receiver<()>) {
    tracing::debug!(peer = %channel.remote_addr(), "connection accepted");
    processor.on_channel_open(&channel);
    tokio::spawn(async move {
        let _ = done.await;
        tracing::debug!(peer = %channel.remote_addr(), "connection closed");
        processor.on_channel_close(&channel);
    });
}

async fn dispatch<P: RequestProcessor>(processor: &P, channel: Channel, request: RemotingCommand) {
    let oneway = request.is_oneway();
    let opaque = request.opaque;
    let serialize_type = request.serialize_type;
    let reply = processor.process_request(channel.clone(), request).await;
    if oneway {
        return;
    }
    if let Some(mut reply) = reply {
        reply.opaque = opaque;
        reply.mark_response();
        reply.serialize_type = serialize_type;
        let _ = channel.send(reply).await;
    }
}
