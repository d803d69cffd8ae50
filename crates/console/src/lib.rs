//! Ferrocket's web console: a JSON API over the broker's managers, a single-page UI embedded in
//! the binary, and Prometheus metrics at `/metrics`, on one small HTTP server.

pub mod api;
pub mod broker_view;
pub mod disk_usage;
pub mod http;
pub mod metrics;
pub mod router;
pub mod security;
pub mod server;
pub mod tps_history;
pub mod ui;

pub use broker_view::BrokerView;
pub use server::{ConsoleConfig, ConsoleServer};
