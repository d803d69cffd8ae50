//! `ProducerClient`: a producer the broker reaches without a remoting connection, such as a
//! RocketMQ 5 client on the gRPC port, which hears from the broker on its Telemetry stream.
//!
//! The broker only needs such a producer for the check-back of its group's transactions, so the
//! trait is that one call; the transport that serves the producer implements it and registers
//! it with the [`ProducerManager`](super::ProducerManager) under each group it produces for.

use std::sync::Arc;

use ferrocket_protocol::header::transaction::CheckTransactionStateRequestHeader;
use ferrocket_protocol::message::MessageExt;
use ferrocket_remoting::Channel;

/// A check-back could not be handed to the producer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transaction check not delivered to producer {client_id}: {reason}")]
pub struct ProducerClientError {
    /// The producer.
    pub client_id: String,
    /// Why (stream closed, queue full, ...).
    pub reason: String,
}

/// A producer served by another transport than the remoting port.
pub trait ProducerClient: Send + Sync {
    /// The client's id (`x-mq-client-id` on the gRPC port).
    fn client_id(&self) -> &str;

    /// Whether the producer can still be reached.
    fn is_active(&self) -> bool;

    /// Asks the producer to resolve the half message `message` (under its real topic and
    /// queue, with the offsets of the half message in `header`). Returns once the request is
    /// on its way; the answer comes back as an end of transaction.
    fn check_transaction_state(
        &self,
        header: CheckTransactionStateRequestHeader,
        message: MessageExt,
    ) -> Result<(), ProducerClientError>;
}

/// Where a producer of a group is reached.
#[derive(Clone)]
pub enum ProducerChannel {
    /// A remoting connection: the broker sends it CHECK_TRANSACTION_STATE.
    Remoting(Channel),
    /// A producer of another transport.
    Client(Arc<dyn ProducerClient>),
}
