//! Admin headers (mqadmin → broker): topics, subscription groups, statistics, connections.

use super::command_custom_header::command_header;

command_header! {
    /// `CreateTopicRequestHeader` (UPDATE_AND_CREATE_TOPIC, 17).
    pub struct CreateTopicRequestHeader {
        /// Topic to create or update.
        topic: String = "topic",
        /// Template topic (informational).
        default_topic: String = "defaultTopic" or "TBW102".to_string(),
        /// Read queues.
        read_queue_nums: i32 = "readQueueNums" or 16,
        /// Write queues.
        write_queue_nums: i32 = "writeQueueNums" or 16,
        /// Permission bits.
        perm: i32 = "perm" or 6,
        /// `SINGLE_TAG` or `MULTI_TAG`.
        topic_filter_type: String = "topicFilterType" or "SINGLE_TAG".to_string(),
        /// Topic sysFlag.
        topic_sys_flag: Option<i32> = "topicSysFlag",
        /// Ordered topic.
        order: bool = "order" or false,
        /// Attribute changes, `+key=value,-key,…`.
        attributes: Option<String> = "attributes",
        /// Overwrite attributes even when they may not change.
        force: bool = "force" or false,
    }
}

command_header! {
    /// `DeleteTopicRequestHeader` (DELETE_TOPIC_IN_BROKER, 215).
    pub struct DeleteTopicRequestHeader {
        /// Topic to delete.
        topic: String = "topic",
    }
}

command_header! {
    /// `GetTopicConfigRequestHeader` (GET_TOPIC_CONFIG, 351).
    pub struct GetTopicConfigRequestHeader {
        /// Topic.
        topic: String = "topic",
    }
}

command_header! {
    /// `GetAllTopicConfigResponseHeader` (GET_ALL_TOPIC_CONFIG, 21).
    pub struct GetAllTopicConfigResponseHeader {
        /// Number of topics in the body.
        total_topic_num: Option<i32> = "totalTopicNum",
    }
}

command_header! {
    /// `DeleteSubscriptionGroupRequestHeader` (DELETE_SUBSCRIPTIONGROUP, 207).
    pub struct DeleteSubscriptionGroupRequestHeader {
        /// Group to delete.
        group_name: String = "groupName",
        /// Also drop the group's consumer offsets.
        clean_offset: bool = "cleanOffset" or false,
    }
}

command_header! {
    /// `GetConsumeStatsRequestHeader` (GET_CONSUME_STATS, 208).
    pub struct GetConsumeStatsRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// One topic; absent means every topic the group has offsets for.
        topic: Option<String> = "topic",
        /// `;`-separated topics.
        topic_list: Option<String> = "topicList",
    }
}

command_header! {
    /// `GetTopicStatsInfoRequestHeader` (GET_TOPIC_STATS_INFO, 202).
    pub struct GetTopicStatsInfoRequestHeader {
        /// Topic.
        topic: String = "topic",
    }
}

command_header! {
    /// `GetConsumerConnectionListRequestHeader` (GET_CONSUMER_CONNECTION_LIST, 203).
    pub struct GetConsumerConnectionListRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// `GetProducerConnectionListRequestHeader` (GET_PRODUCER_CONNECTION_LIST, 204).
    pub struct GetProducerConnectionListRequestHeader {
        /// Producer group.
        producer_group: String = "producerGroup",
    }
}

command_header! {
    /// `GetConsumerRunningInfoRequestHeader` (GET_CONSUMER_RUNNING_INFO, 307): sent by an admin
    /// tool to the broker, which forwards it unchanged to the consumer.
    pub struct GetConsumerRunningInfoRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// The member asked.
        client_id: String = "clientId",
        /// Whether the answer carries the client's thread dump.
        jstack_enable: bool = "jstackEnable" or false,
    }
}

command_header! {
    /// `ConsumeMessageDirectlyResultRequestHeader` (CONSUME_MESSAGE_DIRECTLY, 309): an admin
    /// tool asks one consumer to consume the message `msgId` now; the broker adds `brokerName`
    /// and the stored message as body before forwarding it.
    pub struct ConsumeMessageDirectlyResultRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// The member asked.
        client_id: Option<String> = "clientId",
        /// Offset message id of the message.
        msg_id: Option<String> = "msgId",
        /// The broker holding the message (set by the broker).
        broker_name: Option<String> = "brokerName",
        /// The message's topic.
        topic: Option<String> = "topic",
        /// Topic system flag.
        topic_sys_flag: Option<i32> = "topicSysFlag",
        /// Group system flag.
        group_sys_flag: Option<i32> = "groupSysFlag",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandCustomHeader;
    use crate::RemotingCommand;

    #[test]
    fn create_topic_reads_mqadmin_fields() {
        let cmd = RemotingCommand::request(17)
            .with_ext("topic", "T")
            .with_ext("defaultTopic", "TBW102")
            .with_ext("readQueueNums", "8")
            .with_ext("writeQueueNums", "8")
            .with_ext("perm", "6")
            .with_ext("topicFilterType", "SINGLE_TAG")
            .with_ext("topicSysFlag", "0")
            .with_ext("order", "false")
            .with_ext("attributes", "");
        let h = CreateTopicRequestHeader::decode(&cmd).unwrap();
        assert_eq!(h.read_queue_nums, 8);
        assert_eq!(h.attributes, None);
        assert!(!h.force);
    }
}
