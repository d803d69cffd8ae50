//! `RemotingClient`: one connection per remote address, request/response by opaque.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::RemotingCommand;
use tokio::net::TcpStream;
use tokio::sync::Mutex as AsyncMutex;
use tokio_rustls::TlsConnector;

use crate::channel::Channel;
use crate::connection;
use crate::error::RemotingError;
use crate::tls;

/// Answers requests a server sends to this client (e.g. NOTIFY_CONSUMER_IDS_CHANGED).
pub type ClientRequestHandler = Arc<
    dyn Fn(
            Channel,
            RemotingCommand,
        ) -> Pin<Box<dyn Future<Output = Option<RemotingCommand>> + Send>>
        + Send
        + Sync,
>;

/// Connects lazily to each address and reuses the connection while it lives.
#[derive(Clone)]
pub struct RemotingClient {
    channels: Arc<AsyncMutex<HashMap<String, Channel>>>,
    handler: Option<ClientRequestHandler>,
    connect_timeout: Duration,
    tls: Option<TlsConnector>,
}

impl Default for RemotingClient {
    fn default() -> Self {
        Self::new()
    }
}

impl RemotingClient {
    /// A client that ignores server-initiated requests.
    pub fn new() -> Self {
        RemotingClient {
            channels: Arc::new(AsyncMutex::new(HashMap::new())),
            handler: None,
            connect_timeout: Duration::from_secs(3),
            tls: None,
        }
    }

    /// This client, connecting with TLS through `connector` from now on.
    pub fn with_tls(mut self, connector: TlsConnector) -> Self {
        self.tls = Some(connector);
        self
    }

    /// A client that hands server-initiated requests to `handler`.
    pub fn with_handler(handler: ClientRequestHandler) -> Self {
        RemotingClient {
            handler: Some(handler),
            ..Self::new()
        }
    }

    /// The live channel to `addr`, connecting if needed.
    pub async fn channel(&self, addr: &str) -> Result<Channel, RemotingError> {
        let mut channels = self.channels.lock().await;
        if let Some(ch) = channels.get(addr) {
            if ch.is_active() {
                return Ok(ch.clone());
            }
        }
        let connect = TcpStream::connect(addr);
        let stream = match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(source)) => {
                return Err(RemotingError::Connect {
                    addr: addr.to_string(),
                    source,
                })
            }
            Err(_) => {
                return Err(RemotingError::Timeout {
                    addr: addr.to_string(),
                    millis: self.connect_timeout.as_millis() as u64,
                })
            }
        };
        let handler = self.handler.clone();
        let on_request: connection::OnRequest =
            Arc::new(move |ch: Channel, req: RemotingCommand| {
                let handler = handler.clone();
                Box::pin(async move {
                    let oneway = req.is_oneway();
                    let opaque = req.opaque;
                    let mut reply = match &handler {
                        Some(h) => h(ch, req).await?,
                        None => return None,
                    };
                    if oneway {
                        return None;
                    }
                    reply.opaque = opaque;
                    reply.mark_response();
                    Some(reply)
                })
            });
        let channel = match &self.tls {
            None => connection::spawn(stream, connection::Limits::client(), on_request)?.0,
            Some(connector) => {
                let (remote, local) = (stream.peer_addr()?, stream.local_addr()?);
                let _ = stream.set_nodelay(true);
                let stream = tls::connect(connector, addr, stream)
                    .await
                    .map_err(|source| RemotingError::Connect {
                        addr: addr.to_string(),
                        source,
                    })?;
                connection::spawn_stream(
                    stream,
                    remote,
                    local,
                    connection::Limits::client(),
                    on_request,
                )
                .0
            }
        };
        channels.insert(addr.to_string(), channel.clone());
        Ok(channel)
    }

    /// Sends `request` to `addr` and waits up to `timeout` for the response.
    pub async fn invoke(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        let channel = self.channel(addr).await?;
        let result = channel.invoke(request, timeout).await;
        if matches!(result, Err(RemotingError::ConnectionClosed(_))) {
            self.channels.lock().await.remove(addr);
        }
        result
    }

    /// Sends a one-way request to `addr`.
    pub async fn invoke_oneway(
        &self,
        addr: &str,
        request: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.channel(addr).await?.send_oneway(request).await
    }

    /// Closes every connection.
    pub async fn close_all(&self) {
        for (_, ch) in self.channels.lock().await.drain() {
            ch.close();
        }
    }
}
