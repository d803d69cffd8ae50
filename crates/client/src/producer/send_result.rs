//! `SendResult` and `SendStatus`.

use ferrocket_protocol::body::queue::MessageQueue;

/// How the broker stored a message (`SendStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// Stored.
    SendOk,
    /// Stored, but the synchronous flush timed out.
    FlushDiskTimeout,
    /// Stored, but replication to the slave timed out.
    FlushSlaveTimeout,
    /// Stored, but no slave is available for synchronous replication.
    SlaveNotAvailable,
}

impl SendStatus {
    /// The Java enum name.
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::SendOk => "SEND_OK",
            SendStatus::FlushDiskTimeout => "FLUSH_DISK_TIMEOUT",
            SendStatus::FlushSlaveTimeout => "FLUSH_SLAVE_TIMEOUT",
            SendStatus::SlaveNotAvailable => "SLAVE_NOT_AVAILABLE",
        }
    }
}

impl std::fmt::Display for SendStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a successful send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResult {
    /// Store status.
    pub send_status: SendStatus,
    /// The message's UNIQ_KEY (comma-joined for batches).
    pub msg_id: String,
    /// The broker's offset message id.
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub message_queue: MessageQueue,
    /// Its consume-queue offset (the first one for batches).
    pub queue_offset: i64,
    /// The broker's `transactionId` field, if any.
    pub transaction_id: Option<String>,
    /// The broker's region.
    pub region_id: String,
    /// Whether the broker has tracing on.
    pub trace_on: bool,
}

/// Printed like Java's `SendResult.toString()`.
impl std::fmt::Display for SendResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SendResult [sendStatus={}, msgId={}, offsetMsgId={}, messageQueue={}, queueOffset={}]",
            self.send_status,
            self.msg_id,
            self.offset_msg_id,
            self.message_queue,
            self.queue_offset
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_the_java_quickstart() {
        let r = SendResult {
            send_status: SendStatus::SendOk,
            msg_id: "AC1100020001".into(),
            offset_msg_id: "7F00000100002A9F0000000000000000".into(),
            message_queue: MessageQueue::new("TopicTest", "broker-a", 1),
            queue_offset: 0,
            transaction_id: None,
            region_id: "DefaultRegion".into(),
            trace_on: true,
        };
        assert_eq!(
            r.to_string(),
            "SendResult [sendStatus=SEND_OK, msgId=AC1100020001, offsetMsgId=7F00000100002A9F0000000000000000, \
             messageQueue=MessageQueue [topic=TopicTest, brokerName=broker-a, queueId=1], queueOffset=0]"
        );
    }
}
