//! Ferrocket's Rust client for RocketMQ-compatible brokers: a `Producer`, a `PushConsumer`
//! (clustering, rebalance, long polling) and a lite `PullConsumer`, sharing a
//! `ClientInstance` (routes, heartbeats) and `MQClientApi` (one function per remote call).

pub mod admin;
pub mod api;
pub mod config;
pub mod consumer;
pub mod error;
pub mod header;
pub mod instance;
pub mod message;
pub mod producer;
pub mod pull_result;
pub mod route;
pub mod validators;

pub use config::ClientConfig;
pub use consumer::listener::{listener_fn, ConsumeConcurrentlyStatus, MessageListener};
pub use consumer::pull::{PullConsumer, PullConsumerConfig};
pub use consumer::push::{PushConsumer, PushConsumerConfig};
pub use error::{ClientError, Result};
pub use ferrocket_acl::SessionCredentials;
pub use ferrocket_protocol::body::heartbeat::ConsumeFromWhere;
pub use ferrocket_protocol::body::queue::MessageQueue;
pub use message::{describe, Message, MessageBuilder, MessageExt};
pub use producer::{Producer, ProducerConfig, SendResult, SendStatus};
pub use pull_result::{PullResult, PullStatus};
