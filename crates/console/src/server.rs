//! `ConsoleServer`: accepts HTTP connections and answers each with the router.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_broker::BrokerController;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::http::{read_request, write_response, Response};
use crate::router;
use crate::tps_history::TpsHistory;

/// How long a client may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

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
    pub fn from_broker(broker: &BrokerController) -> Option<ConsoleConfig> {
        let c = broker.broker_config();
        c.console_enable.then(|| ConsoleConfig {
            listen_address: c.console_listen_address.clone(),
            port: c.console_port,
        })
    }
}

/// What every handler sees.
pub struct ConsoleContext {
    /// The broker the console shows.
    pub broker: Arc<BrokerController>,
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
    pub async fn start(
        broker: Arc<BrokerController>,
        config: &ConsoleConfig,
    ) -> io::Result<ConsoleServer> {
        let addr = format!("{}:{}", config.listen_address, config.port);
        let listener = TcpListener::bind(&addr).await.map_err(|e| {
            io::Error::new(e.kind(), format!("console cannot listen on {addr}: {e}"))
        })?;
        let local_addr = listener.local_addr()?;
        let tps = Arc::new(TpsHistory::new());
        let (stop, mut stopped) = watch::channel(false);
        let sampler = tokio::spawn(tps.clone().run(broker.clone(), stop.subscribe()));
        let ctx = Arc::new(ConsoleContext { broker, tps });
        let acceptor = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => {
                            tokio::spawn(serve(ctx.clone(), stream));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "console accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    },
                }
            }
        });
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

async fn serve(ctx: Arc<ConsoleContext>, mut stream: tokio::net::TcpStream) {
    let response = match tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream)).await {
        Err(_) => return,
        Ok(Ok(None)) => return,
        Ok(Err(r)) => r,
        Ok(Ok(Some(request))) => router::route(ctx, request).await,
    };
    if let Err(e) = write_response(&mut stream, &response).await {
        tracing::debug!(error = %e, "console response not delivered");
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
