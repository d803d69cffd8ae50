//! Batch send bodies (SEND_BATCH_MESSAGE): one short record per message.
//!
//! ```text
//! 4 totalSize | 4 magic (0) | 4 bodyCRC (0) | 4 flag | 4 bodyLen + body | 2 propertiesLen + properties
//! ```

use bytes::Bytes;

use super::error::{MessageDecodeError, MessageEncodeError};
use super::layout::MAX_PROPERTIES_LEN;
use super::properties::{string_to_properties, write_properties};
use super::{Message, Properties};

/// One message of a batch body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchMessage {
    /// User flag.
    pub flag: i32,
    /// Body (a slice of the batch body).
    pub body: Bytes,
    /// Per-message properties.
    pub properties: Properties,
}

impl BatchMessage {
    /// This entry as a message of `topic`.
    pub fn into_message(self, topic: impl Into<String>) -> Message {
        Message {
            topic: topic.into(),
            flag: self.flag,
            properties: self.properties,
            body: self.body,
        }
    }
}

fn take<'a>(
    buf: &'a [u8],
    pos: &mut usize,
    n: usize,
    field: &'static str,
) -> Result<&'a [u8], MessageDecodeError> {
    let available = buf.len() - *pos;
    if n > available {
        return Err(MessageDecodeError::Truncated {
            field,
            needed: n,
            available,
        });
    }
    let s = &buf[*pos..*pos + n];
    *pos += n;
    Ok(s)
}

fn read_i32(buf: &[u8], pos: &mut usize, field: &'static str) -> Result<i32, MessageDecodeError> {
    let s = take(buf, pos, 4, field)?;
    Ok(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Splits a batch body into its messages; bodies are slices of `body`, no copy.
///
/// Like Java's `MessageDecoder.decodeMessages`, fields are read in sequence and the
/// per-record totalSize, magic and CRC are not trusted.
pub fn decode_batch_body(body: &Bytes) -> Result<Vec<BatchMessage>, MessageDecodeError> {
    let buf: &[u8] = body;
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < buf.len() {
        let _total = read_i32(buf, &mut pos, "TOTALSIZE")?;
        let _magic = read_i32(buf, &mut pos, "MAGICCODE")?;
        let _crc = read_i32(buf, &mut pos, "BODYCRC")?;
        let flag = read_i32(buf, &mut pos, "FLAG")?;
        let body_len = read_i32(buf, &mut pos, "BODYLENGTH")?;
        let body_len =
            usize::try_from(body_len).map_err(|_| MessageDecodeError::NegativeLength {
                field: "BODY",
                value: body_len,
            })?;
        let msg_body = take(buf, &mut pos, body_len, "BODY")?;
        let msg_body = body.slice_ref(msg_body);
        let props_len = take(buf, &mut pos, 2, "PROPERTIESLENGTH")?;
        let props_len = i16::from_be_bytes([props_len[0], props_len[1]]);
        let props_len =
            usize::try_from(props_len).map_err(|_| MessageDecodeError::NegativeLength {
                field: "PROPERTIES",
                value: props_len as i32,
            })?;
        let props = take(buf, &mut pos, props_len, "PROPERTIES")?;
        out.push(BatchMessage {
            flag,
            body: msg_body,
            properties: string_to_properties(&String::from_utf8_lossy(props)),
        });
    }
    Ok(out)
}

/// Encodes `messages` as a batch body (topics are not part of it).
pub fn encode_batch_body(messages: &[Message]) -> Result<Vec<u8>, MessageEncodeError> {
    let mut out = Vec::new();
    let mut props = String::new();
    for m in messages {
        props.clear();
        write_properties(&m.properties, &mut props);
        if props.len() > MAX_PROPERTIES_LEN {
            return Err(MessageEncodeError::PropertiesTooLong(props.len()));
        }
        let total = 4 + 4 + 4 + 4 + 4 + m.body.len() + 2 + props.len();
        let total =
            i32::try_from(total).map_err(|_| MessageEncodeError::BodyTooLong(m.body.len()))?;
        out.reserve(total as usize);
        out.extend_from_slice(&total.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&m.flag.to_be_bytes());
        out.extend_from_slice(&(m.body.len() as i32).to_be_bytes());
        out.extend_from_slice(&m.body);
        out.extend_from_slice(&(props.len() as i16).to_be_bytes());
        out.extend_from_slice(props.as_bytes());
    }
    Ok(out)
}
