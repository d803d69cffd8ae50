//! `ConsumerClient`: a consumer the broker reaches without a remoting connection, such as a
//! RocketMQ 5 client on the gRPC port, which hears from the broker on its Telemetry stream.
//!
//! The broker needs such a consumer only when an admin tool asks about it: its running info
//! (GET_CONSUMER_RUNNING_INFO) or a direct consumption (CONSUME_MESSAGE_DIRECTLY). The
//! transport that serves the consumer implements the trait and registers the client with the
//! [`ConsumerManager`](super::ConsumerManager) under its group.

use std::sync::Arc;

use ferrocket_protocol::body::consumer_running_info::{
    ConsumeMessageDirectlyResult, ConsumerRunningInfo,
};
use ferrocket_protocol::message::MessageExt;
use tokio::sync::oneshot;

use super::ClientChannelInfo;

/// A request the consumer could not take, or its failed answer: the response code and remark
/// the admin tool gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("consumer answered code {code}: {remark}")]
pub struct ConsumerClientError {
    /// RocketMQ response code.
    pub code: i32,
    /// Why.
    pub remark: String,
}

/// Where a consumer's answer arrives; the broker bounds the wait.
pub type ConsumerAnswer<T> = oneshot::Receiver<Result<T, ConsumerClientError>>;

/// A consumer served by another transport than the remoting port.
pub trait ConsumerClient: Send + Sync {
    /// The client's id (`x-mq-client-id` on the gRPC port).
    fn client_id(&self) -> &str;

    /// Whether the consumer can still be reached.
    fn is_active(&self) -> bool;

    /// Asks for the consumer's running info, with its thread dump when `jstack_enable`.
    fn consumer_running_info(
        &self,
        jstack_enable: bool,
    ) -> Result<ConsumerAnswer<ConsumerRunningInfo>, ConsumerClientError>;

    /// Asks the consumer to consume `message` now and say how it went.
    fn consume_message_directly(
        &self,
        message: MessageExt,
    ) -> Result<ConsumerAnswer<ConsumeMessageDirectlyResult>, ConsumerClientError>;
}

/// Where one member of a consumer group is reached.
#[derive(Clone)]
pub enum ConsumerChannel {
    /// A remoting connection: the broker forwards the admin request on it.
    Remoting(ClientChannelInfo),
    /// A consumer of another transport.
    Client(Arc<dyn ConsumerClient>),
}
