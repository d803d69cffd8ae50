//! Consumer offset headers: QUERY_CONSUMER_OFFSET (14) and UPDATE_CONSUMER_OFFSET (15).

use super::command_custom_header::command_header;

command_header! {
    /// `QueryConsumerOffsetRequestHeader`.
    pub struct QueryConsumerOffsetRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// Topic.
        topic: String = "topic",
        /// Queue.
        queue_id: i32 = "queueId",
        /// When false, an unknown offset is QUERY_NOT_FOUND even on a young queue.
        set_zero_if_not_found: Option<bool> = "setZeroIfNotFound",
    }
}

command_header! {
    /// `QueryConsumerOffsetResponseHeader`.
    pub struct QueryConsumerOffsetResponseHeader {
        /// The committed offset.
        offset: i64 = "offset",
    }
}

command_header! {
    /// `UpdateConsumerOffsetRequestHeader`.
    pub struct UpdateConsumerOffsetRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// Topic.
        topic: String = "topic",
        /// Queue.
        queue_id: i32 = "queueId",
        /// Next offset to consume.
        commit_offset: i64 = "commitOffset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HeaderError;
    use crate::header::CommandCustomHeader;
    use crate::RemotingCommand;

    #[test]
    fn query_header_reads_optional_flag() {
        let cmd = RemotingCommand::request(14)
            .with_ext("consumerGroup", "g")
            .with_ext("topic", "T")
            .with_ext("queueId", "3");
        let h = QueryConsumerOffsetRequestHeader::decode(&cmd).unwrap();
        assert_eq!(h.queue_id, 3);
        assert_eq!(h.set_zero_if_not_found, None);
        let h =
            QueryConsumerOffsetRequestHeader::decode(&cmd.with_ext("setZeroIfNotFound", "false"))
                .unwrap();
        assert_eq!(h.set_zero_if_not_found, Some(false));
    }

    #[test]
    fn update_header_requires_the_offset() {
        let cmd = RemotingCommand::request(15)
            .with_ext("consumerGroup", "g")
            .with_ext("topic", "T")
            .with_ext("queueId", "0");
        assert_eq!(
            UpdateConsumerOffsetRequestHeader::decode(&cmd),
            Err(HeaderError::Missing("commitOffset"))
        );
    }
}
