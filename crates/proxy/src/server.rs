//! `GrpcServer`: the gRPC port. TLS and plaintext share it, as on Apache's proxy: the first byte
//! of a connection decides (0x16 starts a TLS handshake record) under `tls.server.mode`.
//! Connections are HTTP/2 only; a plaintext HTTP/1.x request is answered
//! `505 HTTP Version Not Supported` and closed, anything else that is not HTTP/2 is closed.
//!
//! Bounds, as on the remoting port: at most `serverMaxConnections` connections (the next ones
//! are closed at accept); a connection must show what it speaks and finish its TLS handshake
//! within `serverFrameReadTimeoutMillis`; at most `serverMaxRequestsPerConnection` streams
//! (calls) per connection, refused by HTTP/2 beyond; request messages up to
//! `grpcMaxInboundMessageSize` (larger ones are refused with OUT_OF_RANGE without being
//! buffered); header blocks up to 64 KiB; a connection that sends nothing for
//! `serverChannelMaxIdleTimeSeconds` is closed (live clients answer the PINGs sent every quarter
//! of it).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ferrocket_protocol::util::now_millis;

use ferrocket_remoting::acceptor::{accept_loop, ConnectionLimit, ConnectionSlot};
use ferrocket_remoting::tls::{self, ServerStream};
use ferrocket_remoting::TlsError;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tonic::codegen::Service;

use crate::application::GrpcMessagingApplication;
use crate::auth::AclMessagingService;
use crate::config::GrpcServerConfig;
use crate::context::PeerAddr;
use crate::v2::messaging_service_server::MessagingServiceServer;
use crate::view::ProxyBrokerView;

/// How long a PING may go unanswered before the connection is closed.
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// How long calls in flight may finish when the server stops.
const GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(5);
/// The start of the HTTP/2 connection preface a plaintext gRPC client sends first.
const H2_PREFACE_START: &[u8] = b"PRI * HTTP/2.0";
/// Bytes looked at to tell HTTP/2 from HTTP/1.x.
const SNIFF_BYTES: usize = 16;
/// What a plaintext HTTP/1.x request gets.
const HTTP1_ANSWER: &[u8] = b"HTTP/1.1 505 HTTP Version Not Supported\r\n\
Content-Type: text/plain\r\nConnection: close\r\nContent-Length: 68\r\n\r\n\
this port serves gRPC (HTTP/2), apache.rocketmq.v2.MessagingService\n";

/// The gRPC port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GrpcServerError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr} (grpcServerPort): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The TLS settings are unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A running gRPC port.
pub struct GrpcServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl GrpcServer {
    /// Binds `config.listen` and serves the MessagingService of `broker` on it.
    pub async fn start(
        config: GrpcServerConfig,
        broker: ProxyBrokerView,
    ) -> Result<GrpcServer, GrpcServerError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| GrpcServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| GrpcServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let acl = broker.acl.clone();
        let application = GrpcMessagingApplication::new(broker, local_addr.port());
        let (stop, stopped) = watch::channel(false);
        application.receipts().start(stopped.clone());
        let service = MessagingServiceServer::new(AclMessagingService::new(application, acl))
            .max_decoding_message_size(config.max_inbound_message_size)
            .max_encoding_message_size(config.max_inbound_message_size);
        let limit = ConnectionLimit::new(config.max_connections, "gRPC");
        let config = Arc::new(config);
        let stop_connections = stopped.clone();
        tokio::spawn(accept_loop(
            listener,
            limit,
            stopped,
            move |stream, peer, slot| {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_connection(
                    stream,
                    peer,
                    config.clone(),
                    service.clone(),
                    stop_connections.clone(),
                    slot,
                ));
            },
        ));
        Ok(GrpcServer { local_addr, stop })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting; connections finish their calls in flight for a few seconds, then close.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

type Messaging = MessagingServiceServer<AclMessagingService>;

/// Serves one connection: decide TLS or plaintext, then HTTP/2 until either side closes or the
/// server stops.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    config: Arc<GrpcServerConfig>,
    service: Messaging,
    mut stopped: watch::Receiver<bool>,
    _slot: ConnectionSlot,
) {
    let io = match tokio::time::timeout(config.handshake_timeout, accept(stream, &config)).await {
        Ok(Some(io)) => io,
        Ok(None) => return,
        Err(_) => {
            tracing::debug!(%peer, "gRPC connection silent or slow in its handshake; closed");
            return;
        }
    };
    let handler =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(PeerAddr(peer));
            let mut service = service.clone();
            async move { service.call(request).await }
        });
    let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    http2
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.max_concurrent_streams)
        .max_header_list_size(config.max_header_list_size)
        .keep_alive_interval(config.keep_alive_interval())
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT);
    let last_read = Arc::new(AtomicI64::new(now_millis()));
    let io = ActivityIo {
        inner: io,
        last_read_ms: last_read.clone(),
    };
    let connection = http2.serve_connection(TokioIo::new(io), handler);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "gRPC connection ended with an error");
            }
        }
        _ = until_idle(&last_read, config.idle_timeout) => {
            tracing::info!(remote = %peer, "closing an idle gRPC connection");
        }
        _ = until_stopped(&mut stopped) => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACEFUL_SHUTDOWN, connection).await;
        }
    }
}

/// Returns once nothing was read for `idle` (never when `None`): a peer that stalls in the
/// middle of its preface or a frame holds its connection no longer than that.
async fn until_idle(last_read_ms: &AtomicI64, idle: Option<Duration>) {
    let Some(idle) = idle else {
        return std::future::pending().await;
    };
    let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
    loop {
        let quiet_ms = now_millis() - last_read_ms.load(Ordering::Relaxed);
        if quiet_ms >= idle_ms {
            return;
        }
        let left = u64::try_from(idle_ms - quiet_ms).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(left.max(1))).await;
    }
}

/// A connection that notes when it last read anything.
struct ActivityIo {
    inner: ServerStream,
    last_read_ms: Arc<AtomicI64>,
}

impl AsyncRead for ActivityIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.last_read_ms.store(now_millis(), Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for ActivityIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Returns once the server is told to stop (never, if the server is gone without saying so).
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    if stopped.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The connection after the TLS decision shared with the remoting port, or `None` when it is
/// refused, fails its handshake, or is plaintext but not HTTP/2.
async fn accept(stream: TcpStream, config: &GrpcServerConfig) -> Option<ServerStream> {
    let stream = match tls::accept_server(stream, &config.tls).await? {
        tls @ ServerStream::Tls(_) => return Some(tls),
        ServerStream::Plain(stream) => stream,
    };
    let mut first = [0u8; SNIFF_BYTES];
    let n = stream.peek(&mut first).await.ok()?;
    let seen = &first[..n];
    let common = seen.len().min(H2_PREFACE_START.len());
    if n > 0 && seen[..common] == H2_PREFACE_START[..common] {
        return Some(ServerStream::Plain(stream));
    }
    if looks_like_http1(seen) {
        answer_http1(stream).await;
    }
    None
}

/// `GET /`, `POST /x`, ...: an upper-case method and a space.
fn looks_like_http1(bytes: &[u8]) -> bool {
    let method_len = bytes.iter().take_while(|b| b.is_ascii_uppercase()).count();
    method_len > 0 && bytes.get(method_len) == Some(&b' ')
}

/// Reads what the client sent (so closing does not reset the connection before it reads the
/// answer), answers 505 and closes.
async fn answer_http1(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(100), async {
        while let Ok(n) = stream.try_read(&mut sink) {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    let _ = stream.write_all(HTTP1_ANSWER).await;
    let _ = stream.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut sink)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http1_requests_are_told_apart_from_http2() {
        assert!(looks_like_http1(b"GET / HTTP/1.1\r\n"));
        assert!(looks_like_http1(b"POST /apache"));
        assert!(!looks_like_http1(b"PRI* HTTP/2.0"));
        assert!(!looks_like_http1(b"\x00\x00\x00\x10"));
        let body_len = HTTP1_ANSWER.len()
            - HTTP1_ANSWER
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4)
                .unwrap();
        assert_eq!(body_len, 68);
    }
}
