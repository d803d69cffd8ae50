//! CONSUMER_SEND_MSG_BACK (36): a consumer returns a message it failed to consume.

use super::command_custom_header::command_header;

command_header! {
    /// `ConsumerSendMsgBackRequestHeader`.
    pub struct ConsumerSendMsgBackRequestHeader {
        /// Commit-log offset of the failed message.
        offset: i64 = "offset",
        /// Consumer group.
        group: String = "group",
        /// 0 lets the broker choose (3 + reconsume times), negative sends to the DLQ.
        delay_level: i32 = "delayLevel" or 0,
        /// The message's original id.
        origin_msg_id: Option<String> = "originMsgId",
        /// The message's original topic.
        origin_topic: Option<String> = "originTopic",
        /// Unit mode.
        unit_mode: bool = "unitMode" or false,
        /// Deliveries before the DLQ (client default 16).
        max_reconsume_times: Option<i32> = "maxReconsumeTimes",
        /// Target broker name.
        broker_name: Option<String> = "bname",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandCustomHeader;
    use crate::RemotingCommand;

    #[test]
    fn decodes_the_java_header() {
        let cmd = RemotingCommand::request(36)
            .with_ext("offset", "1234")
            .with_ext("group", "g")
            .with_ext("delayLevel", "0")
            .with_ext("originMsgId", "AB")
            .with_ext("originTopic", "T")
            .with_ext("unitMode", "false")
            .with_ext("maxReconsumeTimes", "16");
        let h = ConsumerSendMsgBackRequestHeader::decode(&cmd).unwrap();
        assert_eq!(
            (h.offset, h.delay_level, h.max_reconsume_times),
            (1234, 0, Some(16))
        );
    }
}
