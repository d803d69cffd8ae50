//! The request headers this client sends and the response headers it reads.
//!
//! The typed headers live in `ferrocket_protocol::header`; this module re-exports the ones the
//! client uses and builds the exact field sets the client puts on the wire.

use ferrocket_protocol::command::ExtFields;
use ferrocket_protocol::header::CommandCustomHeader;

pub use ferrocket_protocol::header::client::{
    GetConsumerListByGroupRequestHeader, UnregisterClientRequestHeader,
};
pub use ferrocket_protocol::header::consumer_offset::{
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
pub use ferrocket_protocol::header::consumer_send_msg_back::ConsumerSendMsgBackRequestHeader;
pub use ferrocket_protocol::header::pull_message::{
    PullMessageRequestHeader, PullMessageResponseHeader,
};
pub use ferrocket_protocol::header::send_message::{
    SendMessageRequestHeader, SendMessageResponseHeader,
};

/// The ext fields of a header plus the `bname` key 5.x clients add to every broker request.
pub fn ext_fields_with_broker_name<H: CommandCustomHeader>(
    header: &H,
    broker_name: &str,
) -> ExtFields {
    let mut e = ExtFields::new();
    header.encode(&mut e);
    e.insert("bname", broker_name);
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_header() -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: "please_rename_unique_group_name".into(),
            topic: "TopicTest".into(),
            default_topic: "TBW102".into(),
            default_topic_queue_nums: 4,
            queue_id: 2,
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            flag: 0,
            properties: Some("TAGS\u{1}TagA\u{2}".into()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: Some("broker-a".into()),
        }
    }

    #[test]
    fn send_v2_uses_the_quickstart_short_names() {
        let mut e = ExtFields::new();
        send_header().encode_v2(&mut e);
        let expect = [
            ("a", "please_rename_unique_group_name"),
            ("b", "TopicTest"),
            ("c", "TBW102"),
            ("d", "4"),
            ("e", "2"),
            ("f", "0"),
            ("g", "1700000000000"),
            ("h", "0"),
            ("i", "TAGS\u{1}TagA\u{2}"),
            ("j", "0"),
            ("k", "false"),
            ("m", "false"),
            ("n", "broker-a"),
        ];
        assert_eq!(e.len(), expect.len());
        for (k, v) in expect {
            assert_eq!(e.get(k), Some(v), "{k}");
        }
        assert_eq!(e.get("l"), None);
    }

    #[test]
    fn offset_headers_carry_the_broker_name() {
        let h = UpdateConsumerOffsetRequestHeader {
            consumer_group: "g".into(),
            topic: "T".into(),
            queue_id: 1,
            commit_offset: 42,
        };
        let e = ext_fields_with_broker_name(&h, "broker-a");
        for (k, v) in [
            ("consumerGroup", "g"),
            ("topic", "T"),
            ("queueId", "1"),
            ("commitOffset", "42"),
            ("bname", "broker-a"),
        ] {
            assert_eq!(e.get(k), Some(v), "{k}");
        }
    }

    #[test]
    fn send_back_header_uses_the_java_field_names() {
        let h = ConsumerSendMsgBackRequestHeader {
            offset: 1234,
            group: "g".into(),
            delay_level: 0,
            origin_msg_id: Some("ID".into()),
            origin_topic: Some("T".into()),
            unit_mode: false,
            max_reconsume_times: Some(16),
            broker_name: Some("broker-a".into()),
        };
        let mut e = ExtFields::new();
        h.encode(&mut e);
        for (k, v) in [
            ("offset", "1234"),
            ("group", "g"),
            ("delayLevel", "0"),
            ("originMsgId", "ID"),
            ("originTopic", "T"),
            ("maxReconsumeTimes", "16"),
            ("bname", "broker-a"),
        ] {
            assert_eq!(e.get(k), Some(v), "{k}");
        }
    }
}
