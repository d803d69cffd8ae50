//! Ferrocket's gRPC endpoint for the RocketMQ 5 clients: `apache.rocketmq.v2.MessagingService`
//! (from apache/rocketmq-apis) served by the broker itself, as Apache's proxy serves it in its
//! local mode.
//!
//! * [`GrpcServer`] listens on `grpcServerPort`, takes TLS and plaintext HTTP/2 on the same port
//!   (a TLS record starts with 0x16), and bounds connections and streams.
//! * With `aclEnable`, [`auth::AclMessagingService`] checks each call against the broker's
//!   plain_acl.yml (ACL 1.0) before it is served.
//! * [`GrpcMessagingApplication`] answers the RPCs: it checks the request's metadata and hands
//!   each call to an activity (`activity::route`, `activity::producer`, `activity::consumer`,
//!   `activity::client`),
//!   which calls the broker's services through a [`ProxyBrokerView`].
//! * Errors are answered the way Apache's proxy answers them: a normal response whose
//!   `status` carries a v2 [`v2::Code`]; only the Telemetry stream and transport-level faults
//!   (oversized messages, unknown methods) use gRPC status codes.

pub mod activity;
pub mod application;
pub mod auth;
pub mod client_settings;
pub mod config;
pub mod consumer_client;
pub mod context;
pub mod receipt;
pub mod server;
pub mod status;
pub mod telemetry;
pub mod transaction;
pub mod view;

pub use application::GrpcMessagingApplication;
pub use config::GrpcServerConfig;
pub use server::{GrpcServer, GrpcServerError};
pub use view::ProxyBrokerView;

/// The messages and the service of `apache/rocketmq/v2/{definition,service}.proto`, generated at
/// build time from the vendored protos (see `proto/README.md`).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod v2 {
    tonic::include_proto!("apache.rocketmq.v2");
}
