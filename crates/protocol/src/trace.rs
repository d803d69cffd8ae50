//! Message trace records, as the official clients' `TraceDataEncoder` writes them into the bodies
//! of trace messages (`RMQ_SYS_TRACE_TOPIC` or a custom trace topic).
//!
//! A trace message body holds one or more records, each ended by `\u{2}`; the fields of a record
//! are separated by `\u{1}` and its first field names its type:
//!
//! | type | fields after the type |
//! |---|---|
//! | `Pub` | timestamp, region, group, topic, msgId, tags, keys, storeHost, bodyLength, costTime, msgType, [offsetMsgId,] success[, clientHost] |
//! | `SubBefore` | timestamp, region, group, requestId, msgId, retryTimes, keys |
//! | `SubAfter` | requestId, msgId, costTime, success, keys[, contextCode[, timestamp, group]] |
//! | `EndTransaction` | timestamp, region, group, topic, msgId, tags, keys, storeHost, msgType, transactionId, transactionState, fromTransactionCheck |
//! | `Recall` | timestamp, region, group, topic, msgId, success |
//!
//! The trace message's keys are the traced messages' ids (and their keys), so the records of one
//! message are found by a key query on the trace topic (mqadmin's `queryMsgTraceById`).

use std::fmt::Write as _;

use crate::message::MessageExt;

/// `TraceConstants.CONTENT_SPLITOR`: between the fields of a record.
pub const CONTENT_SPLITOR: char = '\u{1}';
/// `TraceConstants.FIELD_SPLITOR`: after each record.
pub const FIELD_SPLITOR: char = '\u{2}';
/// `TopicValidator.RMQ_SYS_TRACE_TOPIC`: the default trace topic.
pub const RMQ_SYS_TRACE_TOPIC: &str = "RMQ_SYS_TRACE_TOPIC";

/// `TraceType`: what a record traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TraceType {
    /// A producer's send.
    Pub,
    /// A consumer received the message and is about to run its listener.
    SubBefore,
    /// The consumer's listener returned.
    SubAfter,
    /// A transactional producer committed or rolled back.
    EndTransaction,
    /// A producer recalled a timer message (5.x).
    Recall,
}

impl TraceType {
    /// The type's name as written in records.
    pub fn name(self) -> &'static str {
        match self {
            TraceType::Pub => "Pub",
            TraceType::SubBefore => "SubBefore",
            TraceType::SubAfter => "SubAfter",
            TraceType::EndTransaction => "EndTransaction",
            TraceType::Recall => "Recall",
        }
    }

    /// The type named `name`, if it is one.
    pub fn from_name(name: &str) -> Option<TraceType> {
        Some(match name {
            "Pub" => TraceType::Pub,
            "SubBefore" => TraceType::SubBefore,
            "SubAfter" => TraceType::SubAfter,
            "EndTransaction" => TraceType::EndTransaction,
            "Recall" => TraceType::Recall,
            _ => return None,
        })
    }
}

/// `MessageType` names by ordinal, as `Pub` and `EndTransaction` records carry it.
pub const MESSAGE_TYPES: [&str; 5] = [
    "Normal_Msg",
    "Trans_Msg_Half",
    "Trans_msg_Commit",
    "Delay_Msg",
    "Order_Msg",
];

/// One decoded record: `TraceContext` with its single `TraceBean` flattened. Fields a type does
/// not carry keep their defaults (empty, 0, `success` true as in `TraceContext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRecord {
    /// The record's type.
    pub trace_type: TraceType,
    /// When the traced step happened (ms); 0 when a `SubAfter` record omits it.
    pub timestamp: i64,
    /// The broker's `regionId` the client saw.
    pub region_id: String,
    /// Producer or consumer group.
    pub group_name: String,
    /// Links a consumer's `SubBefore` and `SubAfter`.
    pub request_id: String,
    /// Milliseconds the send or the listener took.
    pub cost_time: i32,
    /// Whether the send or the consumption succeeded.
    pub success: bool,
    /// `ConsumeReturnType` ordinal of a `SubAfter` (0 success, 1 timeout, 2 exception, 3 null, 4 failed).
    pub context_code: i32,
    /// The traced message's topic.
    pub topic: String,
    /// The traced message's id (its UNIQ_KEY).
    pub msg_id: String,
    /// The traced message's tags.
    pub tags: String,
    /// The traced message's keys, space-separated.
    pub keys: String,
    /// The broker that stored the message (`host:port`).
    pub store_host: String,
    /// Body length (bytes).
    pub body_length: i32,
    /// `MessageType` ordinal ([`MESSAGE_TYPES`]).
    pub msg_type: i32,
    /// The offset message id the broker returned.
    pub offset_msg_id: String,
    /// The sending client's address, when the record carries it.
    pub client_host: String,
    /// How often the message had been redelivered (`SubBefore`).
    pub retry_times: i32,
    /// Transaction id (`EndTransaction`).
    pub transaction_id: String,
    /// `LocalTransactionState` name (`EndTransaction`).
    pub transaction_state: String,
    /// Whether the end came from a transaction check (`EndTransaction`).
    pub from_transaction_check: bool,
}

impl TraceRecord {
    /// An empty record of the type, with `TraceContext`'s defaults.
    pub fn new(trace_type: TraceType) -> TraceRecord {
        TraceRecord {
            trace_type,
            timestamp: 0,
            region_id: String::new(),
            group_name: String::new(),
            request_id: String::new(),
            cost_time: 0,
            success: true,
            context_code: 0,
            topic: String::new(),
            msg_id: String::new(),
            tags: String::new(),
            keys: String::new(),
            store_host: String::new(),
            body_length: 0,
            msg_type: 0,
            offset_msg_id: String::new(),
            client_host: String::new(),
            retry_times: 0,
            transaction_id: String::new(),
            transaction_state: String::new(),
            from_transaction_check: false,
        }
    }

    /// The name of [`Self::msg_type`], or its number when unknown.
    pub fn msg_type_name(&self) -> String {
        usize::try_from(self.msg_type)
            .ok()
            .and_then(|i| MESSAGE_TYPES.get(i))
            .map_or_else(|| self.msg_type.to_string(), |s| s.to_string())
    }

    /// Encodes the record as `TraceDataEncoder.encoderFromContextBean` does (with the ending
    /// `\u{2}`), `SubAfter` in its non-cloud form that carries the timestamp and group.
    pub fn encode(&self) -> String {
        let r = self;
        let fields: Vec<String> = match r.trace_type {
            TraceType::Pub => vec![
                r.timestamp.to_string(),
                r.region_id.clone(),
                r.group_name.clone(),
                r.topic.clone(),
                r.msg_id.clone(),
                r.tags.clone(),
                r.keys.clone(),
                r.store_host.clone(),
                r.body_length.to_string(),
                r.cost_time.to_string(),
                r.msg_type.to_string(),
                r.offset_msg_id.clone(),
                r.success.to_string(),
            ],
            TraceType::SubBefore => vec![
                r.timestamp.to_string(),
                r.region_id.clone(),
                r.group_name.clone(),
                r.request_id.clone(),
                r.msg_id.clone(),
                r.retry_times.to_string(),
                r.keys.clone(),
            ],
            TraceType::SubAfter => vec![
                r.request_id.clone(),
                r.msg_id.clone(),
                r.cost_time.to_string(),
                r.success.to_string(),
                r.keys.clone(),
                r.context_code.to_string(),
                r.timestamp.to_string(),
                r.group_name.clone(),
            ],
            TraceType::EndTransaction => vec![
                r.timestamp.to_string(),
                r.region_id.clone(),
                r.group_name.clone(),
                r.topic.clone(),
                r.msg_id.clone(),
                r.tags.clone(),
                r.keys.clone(),
                r.store_host.clone(),
                r.msg_type.to_string(),
                r.transaction_id.clone(),
                r.transaction_state.clone(),
                r.from_transaction_check.to_string(),
            ],
            TraceType::Recall => vec![
                r.timestamp.to_string(),
                r.region_id.clone(),
                r.group_name.clone(),
                r.topic.clone(),
                r.msg_id.clone(),
                r.success.to_string(),
            ],
        };
        let mut out = String::from(r.trace_type.name());
        for f in fields {
            out.push(CONTENT_SPLITOR);
            out.push_str(&f);
        }
        out.push(FIELD_SPLITOR);
        out
    }

    /// Decodes one record (without its ending `\u{2}`). `Ok(None)` for a type this decoder does
    /// not know, which the official decoder skips as well.
    pub fn decode(record: &str) -> Result<Option<TraceRecord>, TraceDecodeError> {
        let f = Fields::new(record);
        let Some(trace_type) = TraceType::from_name(f.text(0)) else {
            return Ok(None);
        };
        let mut r = TraceRecord::new(trace_type);
        match trace_type {
            TraceType::Pub => decode_pub(&f, &mut r)?,
            TraceType::SubBefore => {
                f.require(trace_type, 8)?;
                r.timestamp = f.number(1, "timestamp")?;
                r.region_id = f.string(2);
                r.group_name = f.string(3);
                r.request_id = f.string(4);
                r.msg_id = f.string(5);
                r.retry_times = f.number(6, "retryTimes")?;
                r.keys = f.string(7);
            }
            TraceType::SubAfter => decode_sub_after(&f, &mut r)?,
            TraceType::EndTransaction => {
                f.require(trace_type, 13)?;
                decode_header(&f, &mut r)?;
                r.store_host = f.string(8);
                r.msg_type = f.number(9, "msgType")?;
                r.transaction_id = f.string(10);
                r.transaction_state = f.string(11);
                r.from_transaction_check = f.boolean(12);
            }
            TraceType::Recall => {
                f.require(trace_type, 7)?;
                r.timestamp = f.number(1, "timestamp")?;
                r.region_id = f.string(2);
                r.group_name = f.string(3);
                r.topic = f.string(4);
                r.msg_id = f.string(5);
                r.success = f.boolean(6);
            }
        }
        Ok(Some(r))
    }
}

/// timestamp, region, group, topic, msgId, tags, keys: the head `Pub` and `EndTransaction` share.
fn decode_header(f: &Fields<'_>, r: &mut TraceRecord) -> Result<(), TraceDecodeError> {
    r.timestamp = f.number(1, "timestamp")?;
    r.region_id = f.string(2);
    r.group_name = f.string(3);
    r.topic = f.string(4);
    r.msg_id = f.string(5);
    r.tags = f.string(6);
    r.keys = f.string(7);
    Ok(())
}

fn decode_pub(f: &Fields<'_>, r: &mut TraceRecord) -> Result<(), TraceDecodeError> {
    f.require(TraceType::Pub, 12)?;
    decode_header(f, r)?;
    r.store_host = f.string(8);
    r.body_length = f.number(9, "bodyLength")?;
    r.cost_time = f.number(10, "costTime")?;
    r.msg_type = f.number(11, "msgType")?;
    // 13 fields: success; 14: offsetMsgId, success; 15 or more: then the client host
    match f.len() {
        13 => r.success = f.boolean(12),
        n if n >= 14 => {
            r.offset_msg_id = f.string(12);
            r.success = f.boolean(13);
            r.client_host = f.string(14);
        }
        _ => {}
    }
    Ok(())
}

fn decode_sub_after(f: &Fields<'_>, r: &mut TraceRecord) -> Result<(), TraceDecodeError> {
    f.require(TraceType::SubAfter, 5)?;
    r.request_id = f.string(1);
    r.msg_id = f.string(2);
    r.cost_time = f.number(3, "costTime")?;
    r.success = f.boolean(4);
    r.keys = f.string(5);
    if f.len() >= 7 && !f.text(6).is_empty() {
        r.context_code = f.number(6, "contextCode")?;
    }
    // the cloud form stops after the context code
    if f.len() >= 8 && !f.text(7).is_empty() {
        r.timestamp = f.number(7, "timestamp")?;
        r.group_name = f.string(8);
    }
    Ok(())
}

/// The fields of one record.
struct Fields<'a> {
    record: &'a str,
    parts: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    fn new(record: &'a str) -> Self {
        Fields {
            record,
            parts: record.split(CONTENT_SPLITOR).collect(),
        }
    }

    fn len(&self) -> usize {
        self.parts.len()
    }

    /// Java's `String.split` drops trailing empty fields, so a record may end early by as many
    /// fields as it has empty ones at its end: those read as empty here.
    fn text(&self, i: usize) -> &'a str {
        self.parts.get(i).copied().unwrap_or("")
    }

    fn string(&self, i: usize) -> String {
        self.text(i).to_string()
    }

    fn require(&self, t: TraceType, fields: usize) -> Result<(), TraceDecodeError> {
        if self.len() + 1 < fields {
            return Err(TraceDecodeError::TooFewFields {
                trace_type: t.name(),
                found: self.len(),
                needed: fields,
            });
        }
        Ok(())
    }

    fn number<T: std::str::FromStr>(
        &self,
        i: usize,
        name: &'static str,
    ) -> Result<T, TraceDecodeError> {
        self.text(i)
            .trim()
            .parse()
            .map_err(|_| TraceDecodeError::BadNumber {
                field: name,
                value: self.text(i).chars().take(40).collect(),
                record: self.record.chars().take(80).collect(),
            })
    }

    /// `Boolean.parseBoolean`: "true" in any case, anything else is false.
    fn boolean(&self, i: usize) -> bool {
        self.text(i).eq_ignore_ascii_case("true")
    }
}

/// Why a trace record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceDecodeError {
    /// The record ends before a field its type needs.
    #[error("{trace_type} trace record has {found} fields, needs {needed}")]
    TooFewFields {
        /// The record's type.
        trace_type: &'static str,
        /// Fields present.
        found: usize,
        /// Fields the type needs.
        needed: usize,
    },
    /// A numeric field is not a number.
    #[error("trace record field {field} is not a number: {value:?} in {record:?}")]
    BadNumber {
        /// The field's name.
        field: &'static str,
        /// Its text (at most 40 characters).
        value: String,
        /// The record (at most 80 characters).
        record: String,
    },
}

/// Decodes a trace message body (`TraceDataEncoder.decoderFromTraceDataString`): the records of
/// known types in order; unknown types and empty records are skipped, as the official decoder
/// skips them.
pub fn decode_trace_data(data: &str) -> Result<Vec<TraceRecord>, TraceDecodeError> {
    let mut out = Vec::new();
    for record in data.split(FIELD_SPLITOR).filter(|r| !r.is_empty()) {
        if let Some(r) = TraceRecord::decode(record)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Encodes records into one trace message body, as the client's trace dispatcher batches them.
pub fn encode_trace_data(records: &[TraceRecord]) -> String {
    let mut out = String::new();
    for r in records {
        let _ = write!(out, "{}", r.encode());
    }
    out
}

/// One step of a message's trace as mqadmin and the console show it (`TraceView`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceView {
    /// The record.
    pub record: TraceRecord,
    /// The address of the client that wrote the trace message (its born host, without port).
    pub client_host: String,
    /// The trace message's store time (ms).
    pub trace_store_timestamp: i64,
}

impl TraceView {
    /// `"success"` or `"failed"`, as `TraceView.status`.
    pub fn status(&self) -> &'static str {
        if self.record.success {
            "success"
        } else {
            "failed"
        }
    }
}

/// The records about `msg_id` in one trace message (`TraceView.decodeFromTraceTransData`).
pub fn trace_views(
    msg_id: &str,
    trace_message: &MessageExt,
) -> Result<Vec<TraceView>, TraceDecodeError> {
    let body = String::from_utf8_lossy(&trace_message.message.body);
    let records = decode_trace_data(&body)?;
    Ok(records
        .into_iter()
        .filter(|r| r.msg_id == msg_id)
        .map(|record| TraceView {
            client_host: trace_message.born_host.ip().to_string(),
            trace_store_timestamp: trace_message.store_timestamp,
            record,
        })
        .collect())
}

#[cfg(test)]
mod tests;
