//! RocketMQ 5.x POP consumption headers: POP_MESSAGE (200050), ACK_MESSAGE (200051) and
//! CHANGE_MESSAGE_INVISIBLETIME (200053), and the extra info ("receipt handle") a popped message
//! carries in its `POP_CK` property and the client echoes back in acks.

use super::command_custom_header::command_header;

/// `KeyBuilder.POP_ORDER_REVIVE_QUEUE`: the revive queue id that marks an orderly pop.
pub const POP_ORDER_REVIVE_QUEUE: i32 = 999;

/// `ConsumeInitMode`: where a group without a committed offset starts popping.
pub mod consume_init_mode {
    /// The queue's minimum offset.
    pub const MIN: i32 = 0;
    /// The queue's end.
    pub const MAX: i32 = 1;
}

command_header! {
    /// `PopMessageRequestHeader`.
    pub struct PopMessageRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// The topic subscribed (never a retry topic).
        topic: String = "topic",
        /// Queue to pop from; -1 pops from every readable queue.
        queue_id: i32 = "queueId",
        /// At most this many messages (≤ 32).
        max_msg_nums: i32 = "maxMsgNums",
        /// How long the popped messages stay invisible, ms.
        invisible_time: i64 = "invisibleTime",
        /// How long the broker may hold the request when nothing is available, ms.
        poll_time: i64 = "pollTime",
        /// Client clock when the request was sent, ms.
        born_time: i64 = "bornTime" or 0,
        /// [`consume_init_mode`] for a group without an offset.
        init_mode: i32 = "initMode",
        /// `TAG` or `SQL92`.
        exp_type: Option<String> = "expType",
        /// Filter expression.
        exp: Option<String> = "exp",
        /// Orderly pop.
        order: bool = "order" or false,
        /// Idempotency token of orderly pops.
        attempt_id: Option<String> = "attemptId",
        /// Target broker name (RPC header key).
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// `PopMessageResponseHeader`: the four numbers are required by the client on every answer.
    pub struct PopMessageResponseHeader {
        /// Broker clock when the pop started, ms.
        pop_time: i64 = "popTime",
        /// The invisible time asked for, ms.
        invisible_time: i64 = "invisibleTime",
        /// Revive queue the checkpoint went to.
        revive_qid: i32 = "reviveQid",
        /// Messages still available behind the ones returned.
        rest_num: i64 = "restNum",
        /// `retryFlag queueId startOffset` per queue, joined by `;`.
        start_offset_info: Option<String> = "startOffsetInfo",
        /// `retryFlag queueId off1,off2,…` per queue, joined by `;`.
        msg_offset_info: Option<String> = "msgOffsetInfo",
        /// Orderly pops only.
        order_count_info: Option<String> = "orderCountInfo",
    }
}

command_header! {
    /// `AckMessageRequestHeader`.
    pub struct AckMessageRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// The topic the message is stored in (the pop retry topic for retried messages).
        topic: String = "topic",
        /// Queue of the message.
        queue_id: i32 = "queueId",
        /// The message's `POP_CK`.
        extra_info: String = "extraInfo",
        /// Queue offset of the message.
        offset: i64 = "offset",
    }
}

command_header! {
    /// `ChangeInvisibleTimeRequestHeader`.
    pub struct ChangeInvisibleTimeRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// The topic the message is stored in (the pop retry topic for retried messages).
        topic: String = "topic",
        /// Queue of the message.
        queue_id: i32 = "queueId",
        /// The message's `POP_CK`.
        extra_info: String = "extraInfo",
        /// Queue offset of the message.
        offset: i64 = "offset",
        /// New invisible time from now, ms.
        invisible_time: i64 = "invisibleTime",
    }
}

command_header! {
    /// `ChangeInvisibleTimeResponseHeader`.
    pub struct ChangeInvisibleTimeResponseHeader {
        /// The new pop time (broker clock), ms.
        pop_time: i64 = "popTime",
        /// The new invisible time, ms.
        invisible_time: i64 = "invisibleTime",
        /// Revive queue of the new checkpoint.
        revive_qid: i32 = "reviveQid",
    }
}

command_header! {
    /// `NotificationRequestHeader`.
    pub struct NotificationRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// The topic subscribed.
        topic: String = "topic",
        /// Queue to watch; -1 watches every readable queue.
        queue_id: i32 = "queueId",
        /// How long the broker may hold the request, ms.
        poll_time: i64 = "pollTime",
        /// Client clock when the request was sent, ms.
        born_time: i64 = "bornTime" or 0,
        /// Orderly consumption.
        order: bool = "order" or false,
        /// Idempotency token of orderly pops.
        attempt_id: Option<String> = "attemptId",
    }
}

command_header! {
    /// `NotificationResponseHeader`.
    pub struct NotificationResponseHeader {
        /// A pop would find a message.
        has_msg: bool = "hasMsg",
        /// The broker holds too many requests to hold this one.
        polling_full: bool = "pollingFull",
    }
}

command_header! {
    /// `PeekMessageRequestHeader`.
    pub struct PeekMessageRequestHeader {
        /// Consumer group whose offsets the peek starts from.
        consumer_group: String = "consumerGroup",
        /// Topic.
        topic: String = "topic",
        /// Queue (-1: every readable queue).
        queue_id: i32 = "queueId",
        /// Most messages returned.
        max_msg_nums: i32 = "maxMsgNums",
    }
}

command_header! {
    /// `PollingInfoRequestHeader`.
    pub struct PollingInfoRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
        /// Topic.
        topic: String = "topic",
        /// Queue (-1: the requests that pop from every queue).
        queue_id: i32 = "queueId",
    }
}

command_header! {
    /// `PollingInfoResponseHeader`.
    pub struct PollingInfoResponseHeader {
        /// Requests parked on `topic@group@queueId`.
        polling_num: i32 = "pollingNum",
    }
}

/// Retry flag of the extra info: the message came from the queue of the topic itself.
pub const NORMAL_TOPIC_FLAG: &str = "0";
/// Retry flag of the extra info: the message came from the pop retry topic `%RETRY%group_topic`.
pub const RETRY_TOPIC_FLAG: &str = "1";

/// Why an extra info string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed extraInfo {0:?}")]
pub struct ExtraInfoError(pub String);

/// A parsed `POP_CK` (`ExtraInfoUtil`): `ckQueueOffset popTime invisibleTime reviveQid
/// retryFlag brokerName queueId [queueOffset]`, separated by single spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraInfo {
    /// Start offset of the checkpoint the message belongs to.
    pub ck_queue_offset: i64,
    /// Broker clock of the pop, ms.
    pub pop_time: i64,
    /// Invisible time of the pop, ms.
    pub invisible_time: i64,
    /// Revive queue of the checkpoint; [`POP_ORDER_REVIVE_QUEUE`] for orderly pops.
    pub revive_qid: i32,
    /// True when the message was read from the pop retry topic.
    pub retry: bool,
    /// Broker that popped the message.
    pub broker_name: String,
    /// Queue of the real topic.
    pub queue_id: i32,
    /// The message's own offset (absent in the 7-field form of old brokers).
    pub queue_offset: Option<i64>,
}

impl ExtraInfo {
    /// Parses the client's echo of `POP_CK`.
    pub fn parse(s: &str) -> Result<Self, ExtraInfoError> {
        let bad = || ExtraInfoError(s.to_string());
        let f: Vec<&str> = s.split(' ').collect();
        if f.len() < 7 {
            return Err(bad());
        }
        let num = |i: usize| f[i].parse::<i64>().map_err(|_| bad());
        let int = |i: usize| f[i].parse::<i32>().map_err(|_| bad());
        Ok(ExtraInfo {
            ck_queue_offset: num(0)?,
            pop_time: num(1)?,
            invisible_time: num(2)?,
            revive_qid: int(3)?,
            retry: f[4] != NORMAL_TOPIC_FLAG,
            broker_name: f[5].to_string(),
            queue_id: int(6)?,
            queue_offset: f.get(7).map(|_| num(7)).transpose()?,
        })
    }

    /// The 8-field string (with the message offset when known).
    pub fn build(&self) -> String {
        let flag = if self.retry {
            RETRY_TOPIC_FLAG
        } else {
            NORMAL_TOPIC_FLAG
        };
        let mut s = format!(
            "{} {} {} {} {} {} {}",
            self.ck_queue_offset,
            self.pop_time,
            self.invisible_time,
            self.revive_qid,
            flag,
            self.broker_name,
            self.queue_id
        );
        if let Some(o) = self.queue_offset {
            s.push_str(&format!(" {o}"));
        }
        s
    }

    /// True for an orderly pop's handle.
    pub fn is_order(&self) -> bool {
        self.revive_qid == POP_ORDER_REVIVE_QUEUE
    }

    /// The topic the message is stored in (`ExtraInfoUtil.getRealTopic`).
    pub fn real_topic(&self, topic: &str, group: &str) -> String {
        if self.retry {
            pop_retry_topic(topic, group)
        } else {
            topic.to_string()
        }
    }
}

/// `KeyBuilder.buildPopRetryTopic` (v1): `%RETRY%<group>_<topic>`.
pub fn pop_retry_topic(topic: &str, group: &str) -> String {
    format!(
        "{}{group}_{topic}",
        crate::mix_all::RETRY_GROUP_TOPIC_PREFIX
    )
}

/// One queue's entry of `startOffsetInfo`: `retryFlag queueId startOffset`.
pub fn start_offset_info_entry(retry: bool, queue_id: i32, start_offset: i64) -> String {
    format!("{} {queue_id} {start_offset}", flag(retry))
}

/// One queue's entry of `msgOffsetInfo`: `retryFlag queueId off1,off2,…`.
pub fn msg_offset_info_entry(retry: bool, queue_id: i32, offsets: &[i64]) -> String {
    let list: Vec<String> = offsets.iter().map(i64::to_string).collect();
    format!("{} {queue_id} {}", flag(retry), list.join(","))
}

fn flag(retry: bool) -> &'static str {
    if retry {
        RETRY_TOPIC_FLAG
    } else {
        NORMAL_TOPIC_FLAG
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandCustomHeader;
    use crate::RemotingCommand;

    #[test]
    fn extra_info_round_trips_both_forms() {
        let eight = "12 1700000000000 60000 3 1 broker-a 0 14";
        let e = ExtraInfo::parse(eight).unwrap();
        assert_eq!(e.ck_queue_offset, 12);
        assert_eq!(e.revive_qid, 3);
        assert!(e.retry);
        assert_eq!(e.queue_offset, Some(14));
        assert_eq!(e.build(), eight);
        assert_eq!(e.real_topic("T", "g"), "%RETRY%g_T");
        let seven = ExtraInfo::parse("5 1 2 0 0 b 3").unwrap();
        assert_eq!(seven.queue_offset, None);
        assert_eq!(seven.real_topic("T", "g"), "T");
        assert!(!seven.is_order());
    }

    #[test]
    fn malformed_extra_info_is_refused() {
        for s in [
            "",
            "1 2 3",
            "x 1 2 3 0 b 1",
            "1 2 3 4 0 b q",
            "1 2 3 4 0 b 1 z",
        ] {
            assert!(ExtraInfo::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn offset_info_entries_follow_the_client_parser() {
        assert_eq!(start_offset_info_entry(false, 2, 40), "0 2 40");
        assert_eq!(msg_offset_info_entry(true, 0, &[7, 9]), "1 0 7,9");
    }

    #[test]
    fn decodes_the_java_pop_request() {
        let mut cmd = RemotingCommand::request(crate::code::request::POP_MESSAGE);
        for (k, v) in [
            ("consumerGroup", "g"),
            ("topic", "T"),
            ("queueId", "-1"),
            ("maxMsgNums", "32"),
            ("invisibleTime", "60000"),
            ("pollTime", "15000"),
            ("bornTime", "1700000000000"),
            ("initMode", "1"),
            ("expType", "TAG"),
            ("exp", "*"),
            ("order", "false"),
            ("bname", "broker-a"),
        ] {
            cmd.ext_fields.insert(k, v);
        }
        let h = PopMessageRequestHeader::decode(&cmd).unwrap();
        assert_eq!(h.queue_id, -1);
        assert_eq!(h.init_mode, consume_init_mode::MAX);
        assert!(!h.order);
        assert_eq!(h.attempt_id, None);
    }

    #[test]
    fn response_header_writes_the_required_numbers() {
        let h = PopMessageResponseHeader {
            pop_time: 1,
            invisible_time: 2,
            revive_qid: 3,
            rest_num: 0,
            start_offset_info: None,
            msg_offset_info: None,
            order_count_info: None,
        };
        let mut cmd = RemotingCommand::request(0);
        h.write_to(&mut cmd);
        for k in ["popTime", "invisibleTime", "reviveQid", "restNum"] {
            assert!(cmd.ext(k).is_some(), "{k}");
        }
        assert!(cmd.ext("startOffsetInfo").is_none());
    }
}
