//! What the push consumer hands messages to.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::message::MessageExt;

/// The listener's verdict on a batch (`ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeConcurrentlyStatus {
    /// Consumed; the offset moves past the batch.
    ConsumeSuccess,
    /// Not consumed; the messages are sent back to the broker for a later retry.
    ReconsumeLater,
}

/// A boxed future returned by a listener.
pub type ListenerFuture = Pin<Box<dyn Future<Output = ConsumeConcurrentlyStatus> + Send>>;

/// A concurrent message listener: called with batches of messages of one queue, in queue order.
pub type MessageListener = Arc<dyn Fn(Vec<MessageExt>) -> ListenerFuture + Send + Sync>;

/// Wraps an async closure as a [`MessageListener`].
pub fn listener_fn<F, Fut>(f: F) -> MessageListener
where
    F: Fn(Vec<MessageExt>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ConsumeConcurrentlyStatus> + Send + 'static,
{
    Arc::new(move |msgs| Box::pin(f(msgs)))
}
