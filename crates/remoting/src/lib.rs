//! Async TCP transport for RocketMQ remoting commands: a server that dispatches requests to a
//! processor, and a client with per-address connections and opaque-matched responses.

pub mod acceptor;
pub mod audit;
mod channel;
mod client;
mod config;
mod connection;
mod error;
mod server;
mod throttle;
pub mod tls;

pub use channel::Channel;
pub use client::{ClientRequestHandler, RemotingClient};
pub use config::{ServerConfig, FD_RESERVE};
pub use connection::{panic_message, OVERLOAD_REMARK};
pub use error::RemotingError;
pub use server::{RemotingServer, RequestProcessor};
pub use tls::{ClientAuth, ServerTls, TlsError, TlsMode, TlsSettings};
pub use tokio_rustls::TlsConnector;

use ferrocket_protocol::{code::response, RemotingCommand};

/// The reply RocketMQ gives for a request code nobody handles.
pub fn unsupported_request(request: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::error_to(
        request,
        response::REQUEST_CODE_NOT_SUPPORTED,
        format!(" request type {} not supported", request.code),
    )
}
