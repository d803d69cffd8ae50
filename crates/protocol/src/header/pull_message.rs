//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) headers and the pull sysFlag bits.

use super::command_custom_header::command_header;

/// `PullSysFlag` bits of the pull request's `sysFlag`.
pub mod pull_sys_flag {
    /// The request carries `commitOffset` for the broker to store.
    pub const COMMIT_OFFSET: i32 = 0x1;
    /// The broker may hold the request until a message arrives (long polling).
    pub const SUSPEND: i32 = 0x2;
    /// The request carries the subscription expression.
    pub const SUBSCRIPTION: i32 = 0x4;
    /// Class filter mode (obsolete filter servers).
    pub const CLASS_FILTER: i32 = 0x8;
    /// Sent by a lite pull consumer (code 361).
    pub const LITE_PULL: i32 = 0x10;

    /// Builds a sysFlag from its parts.
    pub fn build(
        commit_offset: bool,
        suspend: bool,
        subscription: bool,
        class_filter: bool,
    ) -> i32 {
        (commit_offset as i32 * COMMIT_OFFSET)
            | (suspend as i32 * SUSPEND)
            | (subscription as i32 * SUBSCRIPTION)
            | (class_filter as i32 * CLASS_FILTER)
    }

    /// True when `flag` has the commit-offset bit.
    pub fn has_commit_offset(flag: i32) -> bool {
        flag & COMMIT_OFFSET != 0
    }

    /// True when `flag` allows the broker to suspend the request.
    pub fn has_suspend(flag: i32) -> bool {
        flag & SUSPEND != 0
    }

    /// True when `flag` says the subscription travels in the request.
    pub fn has_subscription(flag: i32) -> bool {
        flag & SUBSCRIPTION != 0
    }

    /// `flag` without the commit-offset bit.
    pub fn clear_commit_offset(flag: i32) -> i32 {
        flag & !COMMIT_OFFSET
    }
}

command_header! {
    /// `PullMessageRequestHeader`.
    pub struct PullMessageRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// Topic.
        topic: String = "topic",
        /// Queue to read.
        queue_id: i32 = "queueId",
        /// Logical offset to read from.
        queue_offset: i64 = "queueOffset",
        /// At most this many messages.
        max_msg_nums: i32 = "maxMsgNums",
        /// [`pull_sys_flag`] bits.
        sys_flag: i32 = "sysFlag" or 0,
        /// The consumer's offset to store, valid with [`pull_sys_flag::COMMIT_OFFSET`].
        commit_offset: i64 = "commitOffset" or 0,
        /// How long the broker may hold the request, ms.
        suspend_timeout_millis: i64 = "suspendTimeoutMillis" or 0,
        /// Subscription expression, present with [`pull_sys_flag::SUBSCRIPTION`].
        subscription: Option<String> = "subscription",
        /// Subscription version (ms timestamp of subscribe).
        sub_version: i64 = "subVersion" or 0,
        /// `TAG` (default) or `SQL92`.
        expression_type: Option<String> = "expressionType",
        /// At most this many bytes.
        max_msg_bytes: Option<i32> = "maxMsgBytes",
        /// Target broker name (RPC header key).
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// `PullMessageResponseHeader`: the first four fields must be on every pull response.
    pub struct PullMessageResponseHeader {
        /// Broker id to pull from next (0 = master).
        suggest_which_broker_id: i64 = "suggestWhichBrokerId",
        /// Offset to request next.
        next_begin_offset: i64 = "nextBeginOffset",
        /// Queue min offset.
        min_offset: i64 = "minOffset",
        /// Queue max offset (the next offset to be written).
        max_offset: i64 = "maxOffset",
        /// Static-topic offset delta.
        offset_delta: Option<i64> = "offsetDelta",
        /// The topic's sysFlag.
        topic_sys_flag: Option<i32> = "topicSysFlag",
        /// The group's sysFlag.
        group_sys_flag: Option<i32> = "groupSysFlag",
        /// Why the pull was forbidden (with NO_PERMISSION).
        forbidden_type: Option<i32> = "forbiddenType",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandCustomHeader;
    use crate::RemotingCommand;

    #[test]
    fn decodes_the_java_push_consumer_pull() {
        let mut cmd = RemotingCommand::request(crate::code::request::PULL_MESSAGE);
        for (k, v) in [
            ("consumerGroup", "g"),
            ("topic", "TopicTest"),
            ("queueId", "1"),
            ("queueOffset", "0"),
            ("maxMsgNums", "32"),
            ("sysFlag", "2"),
            ("commitOffset", "0"),
            ("suspendTimeoutMillis", "15000"),
            ("subVersion", "1700000000000"),
            ("expressionType", "TAG"),
            ("maxMsgBytes", "262144"),
            ("bname", "broker-a"),
        ] {
            cmd.ext_fields.insert(k, v);
        }
        let h = PullMessageRequestHeader::decode(&cmd).unwrap();
        assert!(pull_sys_flag::has_suspend(h.sys_flag));
        assert!(!pull_sys_flag::has_subscription(h.sys_flag));
        assert_eq!(h.suspend_timeout_millis, 15_000);
        assert_eq!(h.subscription, None);
        assert_eq!(h.max_msg_bytes, Some(262_144));
    }

    #[test]
    fn sys_flag_bits() {
        let f = pull_sys_flag::build(true, true, true, false);
        assert_eq!(f, 7);
        assert_eq!(pull_sys_flag::clear_commit_offset(f), 6);
    }

    #[test]
    fn response_header_always_writes_the_four_offsets() {
        let h = PullMessageResponseHeader {
            suggest_which_broker_id: 0,
            next_begin_offset: 5,
            min_offset: 0,
            max_offset: 5,
            offset_delta: None,
            topic_sys_flag: Some(0),
            group_sys_flag: None,
            forbidden_type: None,
        };
        let mut cmd = RemotingCommand::request(0);
        h.write_to(&mut cmd);
        for k in [
            "suggestWhichBrokerId",
            "nextBeginOffset",
            "minOffset",
            "maxOffset",
        ] {
            assert!(cmd.ext(k).is_some(), "{k}");
        }
        assert_eq!(PullMessageResponseHeader::decode(&cmd).unwrap(), h);
    }
}
