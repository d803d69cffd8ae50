//! A message as stored by a broker (RocketMQ `MessageExt`).

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::{Deref, DerefMut};

use super::{property, Message};

/// A stored message: the producer's [`Message`] plus everything the broker adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// Topic, flag, properties and body.
    pub message: Message,
    /// Queue id.
    pub queue_id: i32,
    /// Length of the stored record.
    pub store_size: i32,
    /// Consume-queue offset.
    pub queue_offset: i64,
    /// System flag (see [`super::sys_flag`]).
    pub sys_flag: i32,
    /// Producer timestamp, ms.
    pub born_timestamp: i64,
    /// Producer address.
    pub born_host: SocketAddr,
    /// Broker timestamp, ms.
    pub store_timestamp: i64,
    /// Broker address.
    pub store_host: SocketAddr,
    /// Offset message id: store host and commit-log offset in hex.
    pub msg_id: String,
    /// Commit-log offset of the record.
    pub commit_log_offset: i64,
    /// Masked CRC32 of the stored body.
    pub body_crc: i32,
    /// Delivery attempts so far.
    pub reconsume_times: i32,
    /// Commit-log offset of the half message for transaction commit/rollback records.
    pub prepared_transaction_offset: i64,
}

impl Default for MessageExt {
    fn default() -> Self {
        let unspecified = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0);
        MessageExt {
            message: Message::default(),
            queue_id: 0,
            store_size: 0,
            queue_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            msg_id: String::new(),
            commit_log_offset: 0,
            body_crc: 0,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
        }
    }
}

impl MessageExt {
    /// What Java's `MessageClientExt.getMsgId()` returns: UNIQ_KEY, else the offset id.
    pub fn unique_id(&self) -> &str {
        self.message
            .properties
            .get(property::UNIQ_KEY)
            .unwrap_or(&self.msg_id)
    }

    /// The offset message id (RocketMQ `offsetMsgId`).
    pub fn offset_msg_id(&self) -> &str {
        &self.msg_id
    }
}

impl Deref for MessageExt {
    type Target = Message;

    fn deref(&self) -> &Message {
        &self.message
    }
}

impl DerefMut for MessageExt {
    fn deref_mut(&mut self) -> &mut Message {
        &mut self.message
    }
}
