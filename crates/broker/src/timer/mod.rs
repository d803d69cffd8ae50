//! Timed delivery by timestamp (RocketMQ 5 timer messages).

pub mod timer_checkpoint;
pub mod timer_message_store;

pub use timer_checkpoint::TimerCheckpoint;
pub use timer_message_store::{TimerMessageStore, TIMER_TOPIC};
