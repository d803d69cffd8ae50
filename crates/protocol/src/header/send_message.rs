//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320) headers.
//!
//! The V1 header uses the Java field names; V2 (`SendMessageRequestHeaderV2`) renames the same
//! fields `a`..`n` to shorten every frame. Java clients send 310/320 with V2 names, the Go client
//! sends 10 with V1 names and 320 with V2 names.

use super::command_custom_header::{command_header, CommandCustomHeader, HeaderField};
use crate::code::request;
use crate::command::{ExtFields, RemotingCommand};
use crate::error::HeaderError;

/// The topic template producers name for auto-creation (`TBW102`).
pub const DEFAULT_TOPIC: &str = "TBW102";

/// Queues a producer asks for when a topic is auto-created (client `defaultTopicQueueNums`).
pub const DEFAULT_TOPIC_QUEUE_NUMS: i32 = 4;

/// `SendMessageRequestHeader` (V1 names), also decoded from V2 short names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendMessageRequestHeader {
    /// `producerGroup` / `a`.
    pub producer_group: String,
    /// `topic` / `b`.
    pub topic: String,
    /// `defaultTopic` / `c`: template for auto-creation.
    pub default_topic: String,
    /// `defaultTopicQueueNums` / `d`: queues of an auto-created topic.
    pub default_topic_queue_nums: i32,
    /// `queueId` / `e`: target queue; negative lets the broker choose.
    pub queue_id: i32,
    /// `sysFlag` / `f`: message sysFlag.
    pub sys_flag: i32,
    /// `bornTimestamp` / `g`: producer clock, ms.
    pub born_timestamp: i64,
    /// `flag` / `h`: user flag.
    pub flag: i32,
    /// `properties` / `i`: encoded message properties.
    pub properties: Option<String>,
    /// `reconsumeTimes` / `j`.
    pub reconsume_times: Option<i32>,
    /// `unitMode` / `k`.
    pub unit_mode: Option<bool>,
    /// `maxReconsumeTimes` / `l`.
    pub max_reconsume_times: Option<i32>,
    /// `batch` / `m`.
    pub batch: Option<bool>,
    /// `bname` / `n`: the broker the producer meant to reach.
    pub broker_name: Option<String>,
}

/// Wire keys of one header flavour, in field order.
struct Keys {
    producer_group: &'static str,
    topic: &'static str,
    default_topic: &'static str,
    default_topic_queue_nums: &'static str,
    queue_id: &'static str,
    sys_flag: &'static str,
    born_timestamp: &'static str,
    flag: &'static str,
    properties: &'static str,
    reconsume_times: &'static str,
    unit_mode: &'static str,
    max_reconsume_times: &'static str,
    batch: &'static str,
    broker_name: &'static str,
}

const V1: Keys = Keys {
    producer_group: "producerGroup",
    topic: "topic",
    default_topic: "defaultTopic",
    default_topic_queue_nums: "defaultTopicQueueNums",
    queue_id: "queueId",
    sys_flag: "sysFlag",
    born_timestamp: "bornTimestamp",
    flag: "flag",
    properties: "properties",
    reconsume_times: "reconsumeTimes",
    unit_mode: "unitMode",
    max_reconsume_times: "maxReconsumeTimes",
    batch: "batch",
    broker_name: "bname",
};

const V2: Keys = Keys {
    producer_group: "a",
    topic: "b",
    default_topic: "c",
    default_topic_queue_nums: "d",
    queue_id: "e",
    sys_flag: "f",
    born_timestamp: "g",
    flag: "h",
    properties: "i",
    reconsume_times: "j",
    unit_mode: "k",
    max_reconsume_times: "l",
    batch: "m",
    broker_name: "n",
};

impl SendMessageRequestHeader {
    /// A header for `topic` with the Java client's defaults (queue chosen by the broker).
    pub fn new(producer_group: impl Into<String>, topic: impl Into<String>) -> Self {
        SendMessageRequestHeader {
            producer_group: producer_group.into(),
            topic: topic.into(),
            default_topic: DEFAULT_TOPIC.into(),
            default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
            queue_id: -1,
            sys_flag: 0,
            born_timestamp: crate::util::now_millis(),
            flag: 0,
            properties: None,
            reconsume_times: None,
            unit_mode: None,
            max_reconsume_times: None,
            batch: None,
            broker_name: None,
        }
    }

    /// Decodes the flavour `cmd.code` implies: V2 names for 310, 320 and 325, V1 names otherwise.
    ///
    /// A 310/320 request that carries V1 names (and no `b`) is read as V1, so a client mixing
    /// them up still works.
    pub fn decode_for_code(cmd: &RemotingCommand) -> Result<Self, HeaderError> {
        let v2 = matches!(
            cmd.code,
            request::SEND_MESSAGE_V2 | request::SEND_BATCH_MESSAGE | request::SEND_REPLY_MESSAGE_V2
        );
        if v2 && (cmd.ext(V2.topic).is_some() || cmd.ext(V1.topic).is_none()) {
            Self::decode_with(cmd, &V2)
        } else {
            Self::decode_with(cmd, &V1)
        }
    }

    /// Decodes V2 short names (`a`..`n`).
    pub fn decode_v2(cmd: &RemotingCommand) -> Result<Self, HeaderError> {
        Self::decode_with(cmd, &V2)
    }

    /// Writes the V2 short names (`a`..`n`).
    pub fn encode_v2(&self, ext: &mut ExtFields) {
        self.encode_with(ext, &V2)
    }

    fn decode_with(cmd: &RemotingCommand, k: &Keys) -> Result<Self, HeaderError> {
        fn opt<T: HeaderField>(
            cmd: &RemotingCommand,
            key: &'static str,
        ) -> Result<Option<T>, HeaderError> {
            <Option<T>>::read(cmd.ext(key), key)
        }
        Ok(SendMessageRequestHeader {
            // Java only logs a missing @CFNotNull field; default what can be defaulted safely
            producer_group: opt(cmd, k.producer_group)?.unwrap_or_default(),
            topic: String::read(cmd.ext(k.topic), k.topic)?,
            default_topic: opt(cmd, k.default_topic)?.unwrap_or_else(|| DEFAULT_TOPIC.into()),
            default_topic_queue_nums: opt(cmd, k.default_topic_queue_nums)?
                .unwrap_or(DEFAULT_TOPIC_QUEUE_NUMS),
            queue_id: opt(cmd, k.queue_id)?.unwrap_or(-1),
            sys_flag: opt(cmd, k.sys_flag)?.unwrap_or(0),
            born_timestamp: opt(cmd, k.born_timestamp)?.unwrap_or_else(crate::util::now_millis),
            flag: opt(cmd, k.flag)?.unwrap_or(0),
            properties: opt(cmd, k.properties)?,
            reconsume_times: opt(cmd, k.reconsume_times)?,
            unit_mode: opt(cmd, k.unit_mode)?,
            max_reconsume_times: opt(cmd, k.max_reconsume_times)?,
            batch: opt(cmd, k.batch)?,
            broker_name: opt(cmd, k.broker_name)?,
        })
    }

    fn encode_with(&self, ext: &mut ExtFields, k: &Keys) {
        let mut put = |key: &'static str, v: Option<String>| {
            if let Some(v) = v {
                ext.insert(key, v);
            }
        };
        put(k.producer_group, self.producer_group.write());
        put(k.topic, self.topic.write());
        put(k.default_topic, self.default_topic.write());
        put(
            k.default_topic_queue_nums,
            self.default_topic_queue_nums.write(),
        );
        put(k.queue_id, self.queue_id.write());
        put(k.sys_flag, self.sys_flag.write());
        put(k.born_timestamp, self.born_timestamp.write());
        put(k.flag, self.flag.write());
        put(k.properties, self.properties.write());
        put(k.reconsume_times, self.reconsume_times.write());
        put(k.unit_mode, self.unit_mode.write());
        put(k.max_reconsume_times, self.max_reconsume_times.write());
        put(k.batch, self.batch.write());
        put(k.broker_name, self.broker_name.write());
    }
}

/// The V1 (long-name) encoding; use [`SendMessageRequestHeader::decode_for_code`] on the broker.
impl CommandCustomHeader for SendMessageRequestHeader {
    fn decode(cmd: &RemotingCommand) -> Result<Self, HeaderError> {
        Self::decode_with(cmd, &V1)
    }

    fn encode(&self, ext: &mut ExtFields) {
        self.encode_with(ext, &V1)
    }
}

command_header! {
    /// `SendMessageResponseHeader`: where a sent message was stored.
    pub struct SendMessageResponseHeader {
        /// Offset message id(s) of the stored message(s), comma-joined for a batch.
        msg_id: String = "msgId",
        /// Queue actually used.
        queue_id: i32 = "queueId",
        /// Consume-queue offset (the first one for a batch).
        queue_offset: i64 = "queueOffset",
        /// The message's UNIQ_KEY.
        transaction_id: Option<String> = "transactionId",
        /// Inner-batch id.
        batch_uniq_id: Option<String> = "batchUniqId",
        /// RocketMQ 5.3.2+: the handle that recalls a timer message before it is due.
        recall_handle: Option<String> = "recallHandle",
    }
}

/// Ext key of the broker region added to send responses.
pub const MSG_REGION: &str = "MSG_REGION";

/// Ext key of the trace switch added to send responses.
pub const TRACE_ON: &str = "TRACE_ON";

#[cfg(test)]
mod tests {
    use super::*;

    fn java_v2_request() -> RemotingCommand {
        let mut cmd = RemotingCommand::request(request::SEND_MESSAGE_V2);
        for (k, v) in [
            ("a", "please_rename_unique_group_name"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "2"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "TAGS\u{1}TagA\u{2}WAIT\u{1}true\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ] {
            cmd.ext_fields.insert(k, v);
        }
        cmd
    }

    #[test]
    fn decodes_the_java_v2_request() {
        let h = SendMessageRequestHeader::decode_for_code(&java_v2_request()).unwrap();
        assert_eq!(h.producer_group, "please_rename_unique_group_name");
        assert_eq!(h.topic, "TopicTest");
        assert_eq!(h.default_topic_queue_nums, 4);
        assert_eq!(h.queue_id, 2);
        assert_eq!(h.born_timestamp, 1_700_000_000_000);
        assert_eq!(h.unit_mode, Some(false));
        assert_eq!(h.max_reconsume_times, None);
        assert_eq!(h.broker_name.as_deref(), Some("broker-a"));
    }

    #[test]
    fn v1_and_v2_round_trip_to_the_same_header() {
        let h = SendMessageRequestHeader::decode_for_code(&java_v2_request()).unwrap();
        let mut v1 = RemotingCommand::request(request::SEND_MESSAGE);
        h.write_to(&mut v1);
        assert_eq!(
            v1.ext("producerGroup"),
            Some("please_rename_unique_group_name")
        );
        assert_eq!(v1.ext("bname"), Some("broker-a"));
        assert_eq!(SendMessageRequestHeader::decode_for_code(&v1).unwrap(), h);
        let mut v2 = RemotingCommand::request(request::SEND_BATCH_MESSAGE);
        h.encode_v2(&mut v2.ext_fields);
        assert_eq!(SendMessageRequestHeader::decode_for_code(&v2).unwrap(), h);
    }

    #[test]
    fn missing_topic_and_bad_numbers_are_errors() {
        let mut cmd = java_v2_request();
        cmd.ext_fields.remove("b");
        assert_eq!(
            SendMessageRequestHeader::decode_for_code(&cmd),
            Err(HeaderError::Missing("b"))
        );
        let cmd = java_v2_request().with_ext("e", "two");
        assert!(matches!(
            SendMessageRequestHeader::decode_for_code(&cmd),
            Err(HeaderError::Invalid { field: "e", .. })
        ));
    }

    #[test]
    fn response_header_round_trips() {
        let h = SendMessageResponseHeader {
            msg_id: "7F00000100002A9F0000000000000000".into(),
            queue_id: 3,
            queue_offset: 42,
            transaction_id: Some("AB".into()),
            batch_uniq_id: None,
            recall_handle: None,
        };
        let mut cmd = RemotingCommand::request(0);
        h.write_to(&mut cmd);
        assert_eq!(cmd.ext("queueOffset"), Some("42"));
        assert_eq!(SendMessageResponseHeader::decode(&cmd).unwrap(), h);
    }
}
