//! Drives one TCP connection: a reader that dispatches frames and a writer that drains a queue.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_protocol::{RemotingCodec, RemotingCommand};
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::channel::Channel;

/// How many outbound commands may queue per connection before senders wait.
const OUTBOUND_QUEUE: usize = 4096;

/// Splits a TCP `stream` into reader and writer tasks; see [`spawn_stream`].
pub(crate) fn spawn<F, Fut>(
    stream: TcpStream,
    on_request: F,
) -> std::io::Result<(Channel, oneshot::Receiver<()>)>
where
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let remote = stream.peer_addr()?;
    let local = stream.local_addr()?;
    let _ = stream.set_nodelay(true);
    Ok(spawn_stream(stream, remote, local, on_request))
}

/// Splits any byte stream (plain TCP, or TLS over TCP) into reader and writer tasks.
/// `on_request` runs (spawned) for every inbound request; responses complete the channel's
/// pending calls. Returns the channel and a future that resolves when the connection is gone.
pub(crate) fn spawn_stream<S, F, Fut>(
    stream: S,
    remote: SocketAddr,
    local: SocketAddr,
    on_request: F,
) -> (Channel, oneshot::Receiver<()>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
    F: Fn(Channel, RemotingCommand) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (read_half, write_half) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<RemotingCommand>(OUTBOUND_QUEUE);
    let (close_tx, mut close_rx) = oneshot::channel::<()>();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let channel = Channel::new(remote, local, tx, close_tx);

    let writer_channel = channel.clone();
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
        }
    });

    let reader_channel = channel.clone();
    let on_request = Arc::new(on_request);
    tokio::spawn(async move {
        let mut frames = FramedRead::new(read_half, RemotingCodec::new());
        loop {
            tokio::select! {
                _ = &mut close_rx => break,
                next = frames.next() => match next {
                    None => break,
                    Some(Err(e)) => {
                        tracing::warn!(
                            remote = %reader_channel.remote_addr(),
                            error = %e,
                            "malformed frame, closing the connection"
                        );
                        break;
                    }
                    Some(Ok(cmd)) => {
                        if cmd.is_response() {
                            reader_channel.complete(cmd);
                        } else {
                            tokio::spawn(on_request(reader_channel.clone(), cmd));
                        }
                    }
                }
            }
        }
        reader_channel.mark_closed();
        writer.abort();
        let _ = done_tx.send(());
    });
    (channel, done_rx)
}
