//! RocketMQ 5.x POP consumption bodies: the assignment query and request mode (QUERY_ASSIGNMENT,
//! SET_MESSAGE_REQUEST_MODE), batch acks, and the checkpoint and ack records the broker writes to
//! its revive topic (`PopCheckPoint`, `AckMsg`, `BatchAckMsg`, short JSON names).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::queue::MessageQueue;

/// `MessageRequestMode`.
pub mod message_request_mode {
    /// The client pulls with PULL_MESSAGE and balances queues itself.
    pub const PULL: &str = "PULL";
    /// The client pops with POP_MESSAGE; the broker tracks what is in flight.
    pub const POP: &str = "POP";
}

/// `QueryAssignmentRequestBody`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentRequestBody {
    pub topic: String,
    pub consumer_group: String,
    pub client_id: String,
    pub strategy_name: String,
    /// `CLUSTERING` or `BROADCASTING`.
    pub message_model: String,
}

/// `MessageQueueAssignment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct MessageQueueAssignment {
    pub message_queue: MessageQueue,
    /// [`message_request_mode`].
    pub mode: String,
    pub attachments: BTreeMap<String, String>,
}

/// `QueryAssignmentResponseBody`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct QueryAssignmentResponseBody {
    pub message_queue_assignments: Vec<MessageQueueAssignment>,
}

/// `SetMessageRequestModeRequestBody`; also the value of `messageRequestMode.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SetMessageRequestModeRequestBody {
    pub topic: String,
    pub consumer_group: String,
    /// [`message_request_mode`].
    pub mode: String,
    /// With POP: how many other clients' queues each client also pops (≤ 0: all queues).
    pub pop_share_queue_num: i32,
}

impl Default for SetMessageRequestModeRequestBody {
    fn default() -> Self {
        SetMessageRequestModeRequestBody {
            topic: String::new(),
            consumer_group: String::new(),
            mode: message_request_mode::PULL.to_string(),
            pop_share_queue_num: 0,
        }
    }
}

/// `PopCheckPoint`: what one pop of one queue handed out, written to the revive topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PopCheckPoint {
    /// First offset read.
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    /// Broker clock of the pop, ms.
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    /// Invisible time, ms; the messages come back at `pop_time + invisible_time`.
    #[serde(rename = "it", alias = "invisibleTime")]
    pub invisible_time: i64,
    /// Acked bits (bit i: message i), only meaningful while reviving.
    #[serde(rename = "bm", alias = "bitMap")]
    pub bit_map: i32,
    /// Number of messages.
    #[serde(rename = "n", alias = "num")]
    pub num: i32,
    /// Queue of `topic`.
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    /// Topic the messages are stored in (may be a pop retry topic).
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
    /// Consumer group.
    #[serde(rename = "c", alias = "cid")]
    pub cid: String,
    /// Offset of this checkpoint in its revive queue.
    #[serde(rename = "ro", alias = "reviveOffset")]
    pub revive_offset: i64,
    /// Offset of message i is `start_offset + queue_offset_diff[i]`.
    #[serde(rename = "d", alias = "queueOffsetDiff")]
    pub queue_offset_diff: Vec<i32>,
    /// Broker that popped.
    #[serde(rename = "bn", alias = "brokerName")]
    pub broker_name: Option<String>,
    /// How often the checkpoint was rewritten.
    #[serde(rename = "rp", alias = "rePutTimes")]
    pub re_put_times: Option<String>,
}

impl PopCheckPoint {
    /// Queue offset of message `i`.
    pub fn ack_offset_by_index(&self, i: usize) -> i64 {
        match self.queue_offset_diff.get(i) {
            Some(&d) => self.start_offset + i64::from(d),
            None => self.start_offset + i as i64,
        }
    }

    /// Index of the message at `offset`, if it belongs to this checkpoint.
    pub fn index_of_ack(&self, offset: i64) -> Option<usize> {
        if self.queue_offset_diff.is_empty() {
            let i = offset - self.start_offset;
            return (0..i64::from(self.num)).contains(&i).then_some(i as usize);
        }
        let diff = i32::try_from(offset - self.start_offset).ok()?;
        self.queue_offset_diff.iter().position(|&d| d == diff)
    }

    /// When the unacknowledged messages become visible again, ms.
    pub fn revive_time(&self) -> i64 {
        self.pop_time + self.invisible_time
    }
}

/// `AckMsg` (and `BatchAckMsg` when `ack_offset_list` is present).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct AckMsg {
    /// Offset acknowledged.
    #[serde(rename = "ao", alias = "ackOffset")]
    pub ack_offset: i64,
    /// Start offset of the checkpoint.
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    #[serde(rename = "c", alias = "consumerGroup")]
    pub consumer_group: String,
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    /// Pop time of the checkpoint.
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    #[serde(rename = "bn", alias = "brokerName")]
    pub broker_name: Option<String>,
    /// `BatchAckMsg`: every offset acknowledged.
    #[serde(
        rename = "aol",
        alias = "ackOffsetList",
        skip_serializing_if = "Option::is_none"
    )]
    pub ack_offset_list: Option<Vec<i64>>,
}

impl AckMsg {
    /// The offsets this record acknowledges.
    pub fn offsets(&self) -> Vec<i64> {
        match &self.ack_offset_list {
            Some(list) => list.clone(),
            None => vec![self.ack_offset],
        }
    }
}

/// `BatchAck`: the acks of one checkpoint in a BATCH_ACK_MESSAGE body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BatchAck {
    #[serde(rename = "c", alias = "consumerGroup")]
    pub consumer_group: String,
    /// The topic subscribed (the real topic follows from `retry`).
    #[serde(rename = "t", alias = "topic")]
    pub topic: String,
    /// Retry flag of the extra info ("0", "1").
    #[serde(rename = "r", alias = "retry")]
    pub retry: String,
    #[serde(rename = "so", alias = "startOffset")]
    pub start_offset: i64,
    #[serde(rename = "q", alias = "queueId")]
    pub queue_id: i32,
    #[serde(rename = "rq", alias = "reviveQueueId")]
    pub revive_queue_id: i32,
    #[serde(rename = "pt", alias = "popTime")]
    pub pop_time: i64,
    #[serde(rename = "it", alias = "invisibleTime")]
    pub invisible_time: i64,
    /// `java.util.BitSet.toByteArray()` as base64: bit i acks `start_offset + i`.
    #[serde(rename = "b", alias = "bitSet")]
    pub bit_set: String,
}

impl BatchAck {
    /// The offsets whose bit is set; `None` when the bit set is not valid base64.
    pub fn acked_offsets(&self) -> Option<Vec<i64>> {
        let bytes = base64_decode(&self.bit_set)?;
        let mut offsets = Vec::new();
        for (byte_index, byte) in bytes.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    offsets.push(self.start_offset + (byte_index * 8 + bit) as i64);
                }
            }
        }
        Some(offsets)
    }
}

/// `BatchAckMessageRequestBody`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchAckMessageRequestBody {
    pub broker_name: String,
    pub acks: Vec<BatchAck>,
}

/// Standard base64 (with or without padding), as fastjson writes byte arrays.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in s.trim_end_matches('=').as_bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_uses_short_names_and_reads_long_ones() {
        let ck = PopCheckPoint {
            start_offset: 10,
            pop_time: 1000,
            invisible_time: 60_000,
            num: 2,
            queue_id: 1,
            topic: "T".into(),
            cid: "g".into(),
            queue_offset_diff: vec![0, 3],
            broker_name: Some("b".into()),
            ..Default::default()
        };
        let json = String::from_utf8(crate::body::encode(&ck).to_vec()).unwrap();
        assert!(
            json.contains("\"so\":10") && json.contains("\"d\":[0,3]"),
            "{json}"
        );
        let back: PopCheckPoint = crate::body::decode(json.as_bytes()).unwrap();
        assert_eq!(back, ck);
        assert_eq!(ck.ack_offset_by_index(1), 13);
        assert_eq!(ck.index_of_ack(13), Some(1));
        assert_eq!(ck.index_of_ack(11), None);
        let long: PopCheckPoint =
            crate::body::decode(br#"{"startOffset":4,"num":3,"topic":"T"}"#).unwrap();
        assert_eq!(long.index_of_ack(6), Some(2));
        assert_eq!(long.index_of_ack(7), None);
    }

    #[test]
    fn batch_ack_bits_map_to_offsets() {
        // bits 0 and 9 set: BitSet.toByteArray() = [0x01, 0x02]
        let ack = BatchAck {
            start_offset: 100,
            bit_set: "AQI=".into(),
            ..Default::default()
        };
        assert_eq!(ack.acked_offsets(), Some(vec![100, 109]));
        let bad = BatchAck {
            bit_set: "**".into(),
            ..Default::default()
        };
        assert_eq!(bad.acked_offsets(), None);
    }

    #[test]
    fn batch_ack_msg_lists_every_offset() {
        let m: AckMsg = crate::body::decode(br#"{"ao":-1,"aol":[3,4],"t":"T"}"#).unwrap();
        assert_eq!(m.offsets(), vec![3, 4]);
        let single: AckMsg = crate::body::decode(br#"{"ao":7}"#).unwrap();
        assert_eq!(single.offsets(), vec![7]);
    }

    #[test]
    fn request_mode_defaults_to_pull() {
        let b: SetMessageRequestModeRequestBody =
            crate::body::decode(br#"{"topic":"T","consumerGroup":"g"}"#).unwrap();
        assert_eq!(b.mode, message_request_mode::PULL);
    }
}
