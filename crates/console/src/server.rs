//! `ConsoleServer`: accepts HTTP connections and answers each with the router.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use ferrocket_broker::BrokerConfig;
use ferrocket_remoting::acceptor::{accept_loop, ConnectionLimit};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::limit::ConcurrencyLimitLayer;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::broker_view::BrokerView;
use crate::http::{Response, MAX_BODY};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
use crate::router;
use crate::security::{ConsoleSecurity, RemoteAddr};
use crate::tps_history::TpsHistory;

/// How long a client may take to send a request's head, also the longest a kept-alive
/// connection may sit idle between requests.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request may take, body upload and handler included (a message search over a
/// large store is the slowest).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Requests handled at once over all connections; more wait for a slot.
const MAX_REQUESTS_IN_FLIGHT: usize = 32;
/// Open connections; more are closed as soon as they are accepted.
const MAX_CONNECTIONS: usize = 256;

/// Where the console listens.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Interface (`consoleListenAddress`).
    pub listen_address: String,
    /// Port (`consolePort`); 0 picks a free one.
    pub port: u16,
}

impl ConsoleConfig {
    /// The console settings of a broker's config, or `None` when `consoleEnable` is false.
    pub fn from_broker_config(c: &BrokerConfig) -> Option<ConsoleConfig> {
        c.console_enable.then(|| ConsoleConfig {
            listen_address: c.console_listen_address.clone(),
            port: c.console_port,
        })
    }
}

/// What every handler sees.
pub struct ConsoleContext {
    /// The broker the console shows: the managers and services it uses.
    pub broker: BrokerView,
    /// Recent per-second throughput.
    pub tps: Arc<TpsHistory>,
}

/// A running console.
pub struct ConsoleServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl ConsoleServer {
    /// Binds `listen_address:port` and serves until [`ConsoleServer::shutdown`].
    pub async fn start(broker: BrokerView, config: &ConsoleConfig) -> io::Result<ConsoleServer> {
        let security =
            ConsoleSecurity::from_config(&broker.broker_config(), &config.listen_address)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let addr = format!("{}:{}", config.listen_address, config.port);
        let listener = TcpListener::bind(&addr).await.map_err(|e| {
            io::Error::new(e.kind(), format!("console cannot listen on {addr}: {e}"))
        })?;
        let local_addr = listener.local_addr()?;
        let tps = Arc::new(TpsHistory::new());
        let (stop, stopped) = watch::channel(false);
        let sampler = tokio::spawn(tps.clone().run(broker.stats.clone(), stop.subscribe()));
        let ctx = Arc::new(ConsoleContext { broker, tps });
        let service = ServiceBuilder::new()
            .layer(ConcurrencyLimitLayer::new(MAX_REQUESTS_IN_FLIGHT))
            .layer(RequestBodyLimitLayer::new(MAX_BODY))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                REQUEST_TIMEOUT,
            ))
            .service(router::app(ctx, Arc::new(security)));
        let limit = ConnectionLimit::new(MAX_CONNECTIONS, "console");
        let acceptor = tokio::spawn(accept_loop(
            listener,
            limit,
            stopped,
            move |stream, peer, slot| {
                // handlers and the audit log see who is calling
                let service = service.clone().map_request(
                    move |mut r: hyper::Request<hyper::body::Incoming>| {
                        r.extensions_mut().insert(RemoteAddr(peer));
                        r
                    },
                );
                tokio::spawn(async move {
                    serve(stream, TowerToHyperService::new(service)).await;
                    drop(slot);
                });
            },
        ));
        tracing::info!(listen = %local_addr, "console listening");
        Ok(ConsoleServer {
            local_addr,
            stop,
            tasks: vec![sampler, acceptor],
        })
    }

    /// The bound address (with the real port when `consolePort` was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting; requests in flight finish on their own.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Serves HTTP/1.1 requests of one connection until the peer closes it or it idles out.
async fn serve<S, B>(stream: TcpStream, service: S)
where
    S: hyper::service::Service<
        hyper::Request<hyper::body::Incoming>,
        Response = hyper::Response<B>,
    >,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let _ = stream.set_nodelay(true);
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "console connection ended");
    }
}

/// Runs a handler that reads mapped files off the reactor threads.
pub async fn blocking<F>(f: F) -> Response
where
    F: FnOnce() -> Response + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Response::error(500, format!("handler failed: {e}")))
}
