//! `RemotingCommand`: one request or response, with JSON and ROCKETMQ header serialization.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::Deserialize;
use std::borrow::Cow;
use std::str::FromStr;

use crate::error::{HeaderError, ProtocolError};
use crate::language::LanguageCode;
use crate::CURRENT_VERSION;

const RESPONSE_FLAG: i32 = 1;
const ONEWAY_FLAG: i32 = 1 << 1;

/// How a command's header is serialized (the high byte of the second frame word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// fastjson text; what Java and Go clients send by default.
    #[default]
    Json = 0,
    /// RocketMQ's compact binary header.
    RocketMq = 1,
}

impl SerializeType {
    fn from_byte(b: u8) -> Result<Self, ProtocolError> {
        match b {
            0 => Ok(SerializeType::Json),
            1 => Ok(SerializeType::RocketMq),
            other => Err(ProtocolError::UnknownSerializeType(other)),
        }
    }
}

/// The custom header (`extFields`): a flat string map, kept in insertion order.
///
/// A `Vec` beats a hash map here: headers carry a dozen short keys and are read a few times.
/// Keys are mostly the header tables' `&'static str` names, and decoding maps the names it
/// knows to those: a key costs an allocation only when it is one nobody declared.
#[derive(Debug, Clone, Default)]
pub struct ExtFields(Vec<(Cow<'static, str>, String)>);

/// Equal when both hold the same pairs, in any order (JSON objects are unordered).
impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for ExtFields {}

impl ExtFields {
    /// An empty map.
    pub fn new() -> Self {
        ExtFields(Vec::new())
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| same_key(k, key))?;
        Some(self.0.remove(i).1)
    }

    /// Iterates over the pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Key equality that settles the usual mismatch (length or first byte: the V2 names are one
/// letter each) without a call to `memcmp`.
fn same_key(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().first() == b.as_bytes().first() && a == b
}

impl<K: Into<Cow<'static, str>>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut m = ExtFields::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

/// One RocketMQ remoting command (request or response).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses.
    pub code: i32,
    /// Sender language.
    pub language: LanguageCode,
    /// Sender version ordinal (`MQVersion.Version`).
    pub version: i32,
    /// Request id; a response echoes its request's.
    pub opaque: i32,
    /// Bit 0: response; bit 1: one-way.
    pub flag: i32,
    /// Human-readable text, the error message on failures.
    pub remark: Option<String>,
    /// The custom header fields.
    pub ext_fields: ExtFields,
    /// How the header is (or will be) serialized.
    pub serialize_type: SerializeType,
    /// The body.
    pub body: Bytes,
    /// Further body slices sent after `body` without first being joined (mapped-file slices).
    pub body_tail: Vec<Bytes>,
}

#[derive(Deserialize)]
struct JsonHeader {
    #[serde(default)]
    code: i32,
    #[serde(default)]
    language: Option<serde_json::Value>,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    opaque: i32,
    #[serde(default)]
    flag: i32,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default, rename = "extFields")]
    ext_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

impl RemotingCommand {
    /// A new request with Ferrocket's language and version.
    pub fn request(code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: CURRENT_VERSION,
            ..Default::default()
        }
    }

    /// A new response to `request`: same opaque and serialization, response flag set.
    pub fn response_to(request: &RemotingCommand, code: i32) -> Self {
        RemotingCommand {
            code,
            language: LanguageCode::JAVA,
            version: CURRENT_VERSION,
            opaque: request.opaque,
            flag: RESPONSE_FLAG,
            serialize_type: request.serialize_type,
            ..Default::default()
        }
    }

    /// A response to `request` with a code and a remark.
    pub fn error_to(request: &RemotingCommand, code: i32, remark: impl Into<String>) -> Self {
        let mut r = Self::response_to(request, code);
        r.remark = Some(remark.into());
        r
    }

    /// Builder: sets one ext field.
    pub fn with_ext(mut self, key: impl Into<Cow<'static, str>>, value: impl ToString) -> Self {
        self.ext_fields.insert(key, value.to_string());
        self
    }

    /// Builder: sets the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Builder: sets the remark.
    pub fn with_remark(mut self, remark: impl Into<String>) -> Self {
        self.remark = Some(remark.into());
        self
    }

    /// True for responses.
    pub fn is_response(&self) -> bool {
        self.flag & RESPONSE_FLAG != 0
    }

    /// True for one-way requests (no response expected).
    pub fn is_oneway(&self) -> bool {
        self.flag & ONEWAY_FLAG != 0
    }

    /// Marks this command as a one-way request.
    pub fn mark_oneway(&mut self) {
        self.flag |= ONEWAY_FLAG;
    }

    /// Marks this command as a response.
    pub fn mark_response(&mut self) {
        self.flag |= RESPONSE_FLAG;
    }

    /// Total body length including `body_tail`.
    pub fn body_len(&self) -> usize {
        self.body.len() + self.body_tail.iter().map(Bytes::len).sum::<usize>()
    }

    /// The whole body as one buffer (joins `body_tail` if present).
    pub fn full_body(&self) -> Bytes {
        if self.body_tail.is_empty() {
            return self.body.clone();
        }
        let mut b = BytesMut::with_capacity(self.body_len());
        b.extend_from_slice(&self.body);
        for t in &self.body_tail {
            b.extend_from_slice(t);
        }
        b.freeze()
    }

    /// The ext field `key`, or `None`.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key)
    }

    /// A required string field.
    pub fn ext_required(&self, key: &'static str) -> Result<&str, HeaderError> {
        self.ext(key).ok_or(HeaderError::Missing(key))
    }

    /// A required field parsed as `T`.
    pub fn ext_parse<T: FromStr>(&self, key: &'static str) -> Result<T, HeaderError> {
        let v = self.ext_required(key)?;
        v.trim().parse().map_err(|_| HeaderError::Invalid {
            field: key,
            value: v.to_string(),
        })
    }

    /// An optional field parsed as `T`; an unparsable value is an error, an absent one `None`.
    pub fn ext_parse_opt<T: FromStr>(&self, key: &'static str) -> Result<Option<T>, HeaderError> {
        match self.ext(key) {
            None => Ok(None),
            Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| HeaderError::Invalid {
                    field: key,
                    value: v.to_string(),
                }),
        }
    }

    /// An optional boolean field, Java `Boolean.parseBoolean` style (only "true" is true).
    pub fn ext_bool(&self, key: &str) -> Option<bool> {
        self.ext(key).map(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// Decodes a frame without its 4-byte total-length prefix (as produced by the length codec).
    pub fn decode(mut frame: Bytes) -> Result<RemotingCommand, ProtocolError> {
        if frame.len() < 4 {
            return Err(ProtocolError::FrameTooShort(frame.len()));
        }
        let word = frame.get_u32();
        let serialize_type = SerializeType::from_byte((word >> 24) as u8)?;
        let header_len = (word & 0x00FF_FFFF) as usize;
        if header_len > frame.len() {
            return Err(ProtocolError::HeaderLengthOutOfRange {
                header: header_len,
                frame: frame.len() + 4,
            });
        }
        let header = frame.split_to(header_len);
        let mut cmd = match serialize_type {
            SerializeType::Json => decode_json_header(&header)?,
            SerializeType::RocketMq => decode_binary_header(header)?,
        };
        cmd.serialize_type = serialize_type;
        cmd.body = frame;
        Ok(cmd)
    }

    /// Encodes the complete frame (length prefix, header, body) into `dst`.
    pub fn encode_into(&self, dst: &mut BytesMut) {
        let start = dst.len();
        dst.reserve(8 + 256 + self.body_len());
        dst.put_u32(0); // total length, patched below
        dst.put_u32(0); // serialize type | header length, patched below
        let header_start = dst.len();
        match self.serialize_type {
            SerializeType::Json => self.encode_json_header(dst),
            SerializeType::RocketMq => self.encode_binary_header(dst),
        }
        let header_len = dst.len() - header_start;
        dst.extend_from_slice(&self.body);
        for t in &self.body_tail {
            dst.extend_from_slice(t);
        }
        let total = dst.len() - start - 4;
        dst[start..start + 4].copy_from_slice(&(total as u32).to_be_bytes());
        let word = ((self.serialize_type as u32) << 24) | (header_len as u32 & 0x00FF_FFFF);
        dst[start + 4..start + 8].copy_from_slice(&word.to_be_bytes());
    }

    /// Encodes the complete frame into a new buffer.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.encode_into(&mut b);
        b.freeze()
    }

    fn encode_json_header(&self, dst: &mut BytesMut) {
        use std::fmt::Write;
        let mut s = String::with_capacity(192);
        let _ = write!(s, "{{\"code\":{}", self.code);
        if !self.ext_fields.is_empty() {
            s.push_str(",\"extFields\":{");
            for (i, (k, v)) in self.ext_fields.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                push_json_str(&mut s, k);
                s.push(':');
                push_json_str(&mut s, v);
            }
            s.push('}');
        }
        let _ = write!(
            s,
            ",\"flag\":{},\"language\":\"{}\",\"opaque\":{}",
            self.flag,
            self.language.name(),
            self.opaque
        );
        if let Some(r) = &self.remark {
            s.push_str(",\"remark\":");
            push_json_str(&mut s, r);
        }
        let _ = write!(
            s,
            ",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":{}}}",
            self.version
        );
        dst.extend_from_slice(s.as_bytes());
    }

    fn encode_binary_header(&self, dst: &mut BytesMut) {
        dst.put_i16(self.code as i16);
        dst.put_u8(self.language.0);
        dst.put_i16(self.version as i16);
        dst.put_i32(self.opaque);
        dst.put_i32(self.flag);
        match &self.remark {
            Some(r) if !r.is_empty() => {
                dst.put_i32(r.len() as i32);
                dst.extend_from_slice(r.as_bytes());
            }
            _ => dst.put_i32(0),
        }
        let ext_len: usize = self
            .ext_fields
            .iter()
            .map(|(k, v)| 2 + k.len() + 4 + v.len())
            .sum();
        dst.put_i32(ext_len as i32);
        for (k, v) in self.ext_fields.iter() {
            dst.put_i16(k.len() as i16);
            dst.extend_from_slice(k.as_bytes());
            dst.put_i32(v.len() as i32);
            dst.extend_from_slice(v.as_bytes());
        }
    }
}

/// Appends `v` as a JSON string literal.
fn push_json_str(s: &mut String, v: &str) {
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
}

fn json_value_to_string(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

fn decode_json_header(header: &[u8]) -> Result<RemotingCommand, ProtocolError> {
    // Clients built on other JSON libraries may send the numeric fields as strings.
    let h: JsonHeader = crate::json::from_slice(header)?;
    let language = match h.language {
        Some(serde_json::Value::String(s)) => LanguageCode::from_name(&s),
        Some(serde_json::Value::Number(n)) => {
            LanguageCode(n.as_u64().filter(|v| *v < 256).unwrap_or(7) as u8)
        }
        _ => LanguageCode::OTHER,
    };
    let mut ext_fields = ExtFields::new();
    if let Some(map) = h.ext_fields {
        for (k, v) in map {
            if let Some(v) = json_value_to_string(v) {
                ext_fields.0.push((Cow::Owned(k), v));
            }
        }
    }
    Ok(RemotingCommand {
        code: h.code,
        language,
        version: h.version,
        opaque: h.opaque,
        flag: h.flag,
        remark: h.remark,
        ext_fields,
        ..Default::default()
    })
}

fn take_bytes<'a>(buf: &mut &'a [u8], len: usize) -> Result<&'a [u8], ProtocolError> {
    if buf.len() < len {
        return Err(ProtocolError::Binary("string runs past the header end"));
    }
    let (taken, rest) = buf.split_at(len);
    *buf = rest;
    Ok(taken)
}

fn take_str(buf: &mut &[u8], len: usize) -> Result<String, ProtocolError> {
    let b = take_bytes(buf, len)?;
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| ProtocolError::Utf8)
}

/// A header key as the `&'static str` name the header tables use, when it is one of the
/// names every send, pull or heartbeat carries; else an owned copy.
fn intern_key(key: &[u8]) -> Result<Cow<'static, str>, ProtocolError> {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    let known = match key {
        [c @ b'a'..=b'z'] => LETTERS[(c - b'a') as usize],
        b"topic" => "topic",
        b"queueId" => "queueId",
        b"queueOffset" => "queueOffset",
        b"consumerGroup" => "consumerGroup",
        b"producerGroup" => "producerGroup",
        b"maxMsgNums" => "maxMsgNums",
        b"sysFlag" => "sysFlag",
        b"commitOffset" => "commitOffset",
        b"suspendTimeoutMillis" => "suspendTimeoutMillis",
        b"subscription" => "subscription",
        b"subVersion" => "subVersion",
        b"expressionType" => "expressionType",
        b"maxMsgBytes" => "maxMsgBytes",
        b"bname" => "bname",
        b"brokerName" => "brokerName",
        b"lo" => "lo",
        b"oway" => "oway",
        b"properties" => "properties",
        other => {
            return std::str::from_utf8(other)
                .map(|k| Cow::Owned(k.to_owned()))
                .map_err(|_| ProtocolError::Utf8)
        }
    };
    Ok(Cow::Borrowed(known))
}

fn need(buf: &[u8], n: usize) -> Result<(), ProtocolError> {
    if buf.len() < n {
        Err(ProtocolError::Binary("header truncated"))
    } else {
        Ok(())
    }
}

fn decode_binary_header(header: Bytes) -> Result<RemotingCommand, ProtocolError> {
    // a plain slice: reading through `Bytes` would count references for every field
    let mut h: &[u8] = &header;
    need(h, 2 + 1 + 2 + 4 + 4 + 4)?;
    let code = h.get_i16() as i32;
    let language = LanguageCode(h.get_u8());
    let version = h.get_i16() as i32;
    let opaque = h.get_i32();
    let flag = h.get_i32();
    let remark_len = h.get_i32();
    if remark_len < 0 {
        return Err(ProtocolError::Binary("negative remark length"));
    }
    let remark = if remark_len > 0 {
        Some(take_str(&mut h, remark_len as usize)?)
    } else {
        None
    };
    need(h, 4)?;
    let ext_len = h.get_i32();
    if ext_len < 0 || ext_len as usize > h.len() {
        return Err(ProtocolError::Binary("ext fields length out of range"));
    }
    let mut ext = take_bytes(&mut h, ext_len as usize)?;
    let mut ext_fields = ExtFields::new();
    while !ext.is_empty() {
        need(ext, 2)?;
        let klen = ext.get_i16();
        if klen < 0 {
            return Err(ProtocolError::Binary("negative key length"));
        }
        let k = intern_key(take_bytes(&mut ext, klen as usize)?)?;
        need(ext, 4)?;
        let vlen = ext.get_i32();
        if vlen < 0 {
            return Err(ProtocolError::Binary("negative value length"));
        }
        let v = take_str(&mut ext, vlen as usize)?;
        // a repeated key keeps its last value, as Java's HashMap does
        ext_fields.insert(k, v);
    }
    Ok(RemotingCommand {
        code,
        language,
        version,
        opaque,
        flag,
        remark,
        ext_fields,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip_len(frame: Bytes) -> Bytes {
        let declared = u32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(declared, frame.len() - 4);
        frame.slice(4..)
    }

    #[test]
    fn decodes_the_documented_java_json_example() {
        let text = br#"{"code":105,"extFields":{"topic":"TopicTest"},"flag":0,"language":"JAVA","opaque":1,"serializeTypeCurrentRPC":"JSON","version":479}"#;
        let mut frame = BytesMut::new();
        frame.put_u32(text.len() as u32);
        frame.extend_from_slice(text);
        let cmd = RemotingCommand::decode(frame.freeze()).unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.opaque, 1);
        assert_eq!(cmd.version, 479);
        assert_eq!(cmd.ext("topic"), Some("TopicTest"));
        assert_eq!(cmd.serialize_type, SerializeType::Json);
    }

    #[test]
    fn decodes_the_documented_binary_example() {
        let hex = "0000002d 01000029 0069 00 01df 00000001 00000000 00000000 00000014 \
                   0005 746f706963 00000009 546f70696354657374";
        let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let cmd = RemotingCommand::decode(strip_len(Bytes::from(bytes.clone()))).unwrap();
        assert_eq!(cmd.code, 105);
        assert_eq!(cmd.language, LanguageCode::JAVA);
        assert_eq!(cmd.version, 479);
        assert_eq!(cmd.ext("topic"), Some("TopicTest"));
        assert_eq!(cmd.encode().as_ref(), &bytes[..]);
    }

    #[test]
    fn round_trips_both_serializations() {
        for st in [SerializeType::Json, SerializeType::RocketMq] {
            let mut c = RemotingCommand::request(310)
                .with_ext("a", "group")
                .with_ext("i", "TAGS\u{1}TagA\u{2}")
                .with_remark("quote \" and \\ and \n")
                .with_body(&b"hello"[..]);
            c.serialize_type = st;
            c.opaque = 42;
            let back = RemotingCommand::decode(strip_len(c.encode())).unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn tolerates_go_and_odd_json_headers() {
        let go = br#"{"code":10,"language":"GO","version":317,"opaque":1,"flag":0,"remark":"","extFields":{"topic":"T","queueId":3}}"#;
        let mut f = BytesMut::new();
        f.put_u32(go.len() as u32);
        f.extend_from_slice(go);
        let c = RemotingCommand::decode(f.freeze()).unwrap();
        assert_eq!(c.language, LanguageCode::GO);
        assert_eq!(c.ext_parse::<i32>("queueId").unwrap(), 3);
        let bare = br#"{"code":34,"language":12,"opaque":9}"#;
        let mut f = BytesMut::new();
        f.put_u32(bare.len() as u32);
        f.extend_from_slice(bare);
        let c = RemotingCommand::decode(f.freeze()).unwrap();
        assert_eq!(c.language, LanguageCode::RUST);
        assert!(c.ext_fields.is_empty());
    }

    #[test]
    fn reads_loosely_typed_json_headers() {
        // Numbers as strings, a numeric remark, bare keys, unknown fields, null ext values.
        let text = br#"{code:"310",language:"CPP",version:" 405 ",opaque:"77",flag:"0",remark:12,serializeTypeCurrentRPC:0,"extFields":{"queueId":3,"sysFlag":null,"batch":false}}"#;
        let mut f = BytesMut::new();
        f.put_u32(text.len() as u32);
        f.extend_from_slice(text);
        let c = RemotingCommand::decode(f.freeze()).unwrap();
        assert_eq!((c.code, c.version, c.opaque, c.flag), (310, 405, 77, 0));
        assert_eq!(c.language, LanguageCode::from_name("CPP"));
        assert_eq!(c.remark.as_deref(), Some("12"));
        assert_eq!(c.ext("queueId"), Some("3"));
        assert_eq!(c.ext("batch"), Some("false"));
        assert_eq!(c.ext("sysFlag"), None);
        let bad = br#"{"code":"ten"}"#;
        let mut f = BytesMut::new();
        f.put_u32(bad.len() as u32);
        f.extend_from_slice(bad);
        assert!(RemotingCommand::decode(f.freeze()).is_err());
    }

    #[test]
    fn json_ext_field_values_keep_their_json_text() {
        let text = br#"{"code":10,"extFields":{"a":"x","n":-5,"big":18446744073709551615,"f":1.5,"one":1.0,"t":true,"o":{"k":[1,"v"]},"s":[2],"z":null,"a":"y","esc":"q\"\u0041"}}"#;
        let mut f = BytesMut::new();
        f.put_u32(text.len() as u32);
        f.extend_from_slice(text);
        let c = RemotingCommand::decode(f.freeze()).unwrap();
        // a repeated key keeps its last value, as a map does
        assert_eq!(c.ext("a"), Some("y"));
        assert_eq!(c.ext("n"), Some("-5"));
        assert_eq!(c.ext("big"), Some("18446744073709551615"));
        assert_eq!(c.ext("f"), Some("1.5"));
        assert_eq!(c.ext("one"), Some("1.0"));
        assert_eq!(c.ext("t"), Some("true"));
        assert_eq!(c.ext("o"), Some(r#"{"k":[1,"v"]}"#));
        assert_eq!(c.ext("s"), Some("[2]"));
        assert_eq!(c.ext("z"), None);
        assert_eq!(c.ext("esc"), Some("q\"A"));
        assert_eq!(c.ext_fields.len(), 9);
    }

    #[test]
    fn a_repeated_binary_header_key_keeps_its_last_value() {
        let mut h = BytesMut::new();
        h.put_i16(10);
        h.put_u8(0);
        h.put_i16(479);
        h.put_i32(1);
        h.put_i32(0);
        h.put_i32(0);
        // a known long name, a V2 letter and a name no table declares
        let ext = [
            ("topic", "A"),
            ("a", "g1"),
            ("someUserKey", "x"),
            ("topic", "B"),
            ("a", "g2"),
        ];
        h.put_i32(
            ext.iter()
                .map(|(k, v)| 6 + k.len() + v.len())
                .sum::<usize>() as i32,
        );
        for (k, v) in ext {
            h.put_i16(k.len() as i16);
            h.extend_from_slice(k.as_bytes());
            h.put_i32(v.len() as i32);
            h.extend_from_slice(v.as_bytes());
        }
        let mut frame = BytesMut::new();
        frame.put_u32((1 << 24) | h.len() as u32);
        frame.extend_from_slice(&h);
        let cmd = RemotingCommand::decode(frame.freeze()).unwrap();
        assert_eq!(cmd.ext_fields.len(), 3);
        assert_eq!(cmd.ext("topic"), Some("B"));
        assert_eq!(cmd.ext("a"), Some("g2"));
        assert_eq!(cmd.ext("someUserKey"), Some("x"));
        assert_eq!(cmd.ext("b"), None);
        assert_eq!(cmd, cmd.clone(), "equality stays reflexive");
    }

    #[test]
    fn rejects_bad_headers_without_panicking() {
        for bad in [
            &[][..],
            &[0, 0, 0][..],
            &[0, 0, 0, 10][..],
            &[2, 0, 0, 0][..],
            &[1, 0, 0, 3, 0, 1, 0][..],
            &[0, 0, 0, 2, b'{', b'x'][..],
        ] {
            assert!(RemotingCommand::decode(Bytes::copy_from_slice(bad)).is_err());
        }
    }

    #[test]
    fn header_field_helpers_report_clear_errors() {
        let c = RemotingCommand::request(11).with_ext("queueId", "x");
        assert_eq!(
            c.ext_parse::<i32>("queueId"),
            Err(HeaderError::Invalid {
                field: "queueId",
                value: "x".into()
            })
        );
        assert_eq!(
            c.ext_parse::<i32>("topic"),
            Err(HeaderError::Missing("topic"))
        );
        assert_eq!(c.ext_parse_opt::<i64>("commitOffset"), Ok(None));
    }
}
