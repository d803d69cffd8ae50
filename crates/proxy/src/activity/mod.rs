//! The activities behind the RPCs, named after Apache's proxy: each takes a decoded request and
//! the broker view and returns the response's content or a [`ProxyError`](crate::status::ProxyError).

pub mod client;
pub mod consumer;
pub mod producer;
pub mod route;
pub mod transaction;
pub mod validator;
