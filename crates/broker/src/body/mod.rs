//! JSON bodies of the admin commands (fastjson field names; standard JSON out).

pub mod connection;
pub mod consume_stats;
pub mod message_queue_map;
pub mod topic_stats;

pub use connection::{Connection, ConsumerConnection, GroupList, ProducerConnection};
pub use consume_stats::{ConsumeStats, OffsetWrapper};
pub use topic_stats::{TopicOffset, TopicStatsTable};
