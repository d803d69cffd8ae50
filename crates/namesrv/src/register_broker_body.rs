//! Decoding REGISTER_BROKER bodies in every form RocketMQ brokers send.
//!
//! * JSON `RegisterBrokerBody` (the default);
//! * JSON `TopicConfigSerializeWrapper` alone (brokers older than 3.0.11);
//! * the compressed form (`compressed=true`): a zlib stream of length-prefixed parts —
//!   DataVersion JSON, a topic count and one `TopicConfig.encode()` line per topic
//!   (`name read write perm filterType [attributesJson]`), the filter server list JSON and,
//!   from 5.0 brokers, static-topic mappings (not used here).

use std::collections::BTreeMap;
use std::io::{Read, Write};

use ferrocket_protocol::body::topic::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType,
};
use thiserror::Error;

/// The most a compressed body may inflate to; guards against decompression bombs.
const MAX_INFLATED_LEN: u64 = 256 * 1024 * 1024;

/// Why a REGISTER_BROKER body could not be read.
#[derive(Debug, Error)]
pub enum RegisterBodyError {
    /// The JSON does not describe a registration.
    #[error("malformed RegisterBrokerBody JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The compressed form is truncated or inconsistent.
    #[error("malformed compressed RegisterBrokerBody: {0}")]
    Compressed(String),
}

/// Decodes a REGISTER_BROKER body; an empty body is an empty registration.
pub fn decode(body: &[u8], compressed: bool) -> Result<RegisterBrokerBody, RegisterBodyError> {
    if body.is_empty() {
        return Ok(RegisterBrokerBody::default());
    }
    if compressed {
        decode_compressed(body)
    } else {
        decode_json(body)
    }
}

fn decode_json(body: &[u8]) -> Result<RegisterBrokerBody, RegisterBodyError> {
    let value: serde_json::Value = ferrocket_protocol::json::from_slice(body)?;
    let is_register_body = value.get("topicConfigSerializeWrapper").is_some()
        || value.get("filterServerList").is_some();
    if !is_register_body && value.get("topicConfigTable").is_some() {
        let wrapper: TopicConfigSerializeWrapper = ferrocket_protocol::json::from_value(value)?;
        return Ok(RegisterBrokerBody {
            topic_config_serialize_wrapper: wrapper,
            filter_server_list: Vec::new(),
        });
    }
    Ok(ferrocket_protocol::json::from_value(value)?)
}

fn decode_compressed(body: &[u8]) -> Result<RegisterBrokerBody, RegisterBodyError> {
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(body)
        .take(MAX_INFLATED_LEN)
        .read_to_end(&mut inflated)
        .map_err(|e| RegisterBodyError::Compressed(format!("inflate failed: {e}")))?;
    let mut r = Parts { buf: &inflated };
    let data_version: DataVersion = ferrocket_protocol::json::from_slice(r.part()?)?;
    let topic_count = r.int()?;
    let mut table = BTreeMap::new();
    for _ in 0..topic_count {
        let line = std::str::from_utf8(r.part()?)
            .map_err(|_| RegisterBodyError::Compressed("topic config is not UTF-8".into()))?;
        let config = decode_topic_config_line(line)?;
        table.insert(config.topic_name.clone(), config);
    }
    let filter_server_list = match r.part() {
        Ok(json) => ferrocket_protocol::json::from_slice(json).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    // Anything after this is static-topic mapping info, which this name server does not serve.
    Ok(RegisterBrokerBody {
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            topic_config_table: table,
            data_version,
        },
        filter_server_list,
    })
}

/// Parses `TopicConfig.encode()`: `name read write perm filterType [attributesJson]`.
fn decode_topic_config_line(line: &str) -> Result<TopicConfig, RegisterBodyError> {
    let bad = || RegisterBodyError::Compressed(format!("bad topic config line '{line}'"));
    let mut fields = line.splitn(6, ' ');
    let mut next = || fields.next().ok_or_else(bad);
    let topic_name = next()?.to_string();
    let read_queue_nums = next()?.parse().map_err(|_| bad())?;
    let write_queue_nums = next()?.parse().map_err(|_| bad())?;
    let perm = next()?.parse().map_err(|_| bad())?;
    let topic_filter_type = match next()? {
        "SINGLE_TAG" => TopicFilterType::SingleTag,
        "MULTI_TAG" => TopicFilterType::MultiTag,
        _ => return Err(bad()),
    };
    // RocketMQ also ignores attributes it cannot parse (they may contain spaces).
    let attributes = fields
        .next()
        .and_then(|json| ferrocket_protocol::json::from_slice(json.as_bytes()).ok())
        .unwrap_or_default();
    Ok(TopicConfig {
        topic_name,
        read_queue_nums,
        write_queue_nums,
        perm,
        topic_filter_type,
        attributes,
        ..Default::default()
    })
}

/// Encodes `body` in the compressed form (what a broker with `compressedRegister=true` sends).
pub fn encode_compressed(body: &RegisterBrokerBody) -> Vec<u8> {
    let mut raw = Vec::new();
    let wrapper = &body.topic_config_serialize_wrapper;
    put_part(
        &mut raw,
        &ferrocket_protocol::body::encode(&wrapper.data_version),
    );
    raw.extend_from_slice(&(wrapper.topic_config_table.len() as i32).to_be_bytes());
    for config in wrapper.topic_config_table.values() {
        let attributes = serde_json::to_string(&config.attributes).unwrap_or_else(|_| "{}".into());
        let line = format!(
            "{} {} {} {} {} {}",
            config.topic_name,
            config.read_queue_nums,
            config.write_queue_nums,
            config.perm,
            config.topic_filter_type.as_str(),
            attributes
        );
        put_part(&mut raw, line.as_bytes());
    }
    put_part(
        &mut raw,
        &ferrocket_protocol::body::encode(&body.filter_server_list),
    );
    raw.extend_from_slice(&0i32.to_be_bytes()); // no static-topic mappings
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&raw).expect("writing to a Vec cannot fail");
    z.finish().expect("writing to a Vec cannot fail")
}

fn put_part(out: &mut Vec<u8>, part: &[u8]) {
    out.extend_from_slice(&(part.len() as i32).to_be_bytes());
    out.extend_from_slice(part);
}

/// A cursor over the big-endian length-prefixed parts of the inflated body.
struct Parts<'a> {
    buf: &'a [u8],
}

impl<'a> Parts<'a> {
    fn int(&mut self) -> Result<usize, RegisterBodyError> {
        if self.buf.len() < 4 {
            return Err(RegisterBodyError::Compressed("truncated length".into()));
        }
        let (head, rest) = self.buf.split_at(4);
        self.buf = rest;
        let n = i32::from_be_bytes(head.try_into().expect("4 bytes"));
        usize::try_from(n)
            .map_err(|_| RegisterBodyError::Compressed(format!("negative length {n}")))
    }

    fn part(&mut self) -> Result<&'a [u8], RegisterBodyError> {
        let len = self.int()?;
        if self.buf.len() < len {
            return Err(RegisterBodyError::Compressed(format!(
                "part of {len} bytes runs past the end"
            )));
        }
        let (part, rest) = self.buf.split_at(len);
        self.buf = rest;
        Ok(part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RegisterBrokerBody {
        let mut t = TopicConfig::new("TopicTest", 4);
        t.attributes.insert("+message.type".into(), "NORMAL".into());
        let mut tbw = TopicConfig::new("TBW102", 8);
        tbw.perm = 7;
        let mut body = RegisterBrokerBody::default();
        let w = &mut body.topic_config_serialize_wrapper;
        w.topic_config_table.insert("TopicTest".into(), t);
        w.topic_config_table.insert("TBW102".into(), tbw);
        w.data_version = DataVersion {
            state_version: 0,
            timestamp: 1_700_000_000_000,
            counter: 3,
        };
        body
    }

    #[test]
    fn reads_java_json_with_extra_fields() {
        let json = br#"{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":2,"stateVersion":0,"timestamp":1700000000000},"topicConfigTable":{"T":{"attributes":{},"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":4}},"topicQueueMappingInfoMap":{},"topicQueueMappingDetailMap":{},"mappingDataVersion":{"counter":0,"stateVersion":0,"timestamp":0}}}"#;
        let body = decode(json, false).unwrap();
        let w = &body.topic_config_serialize_wrapper;
        assert_eq!(w.data_version.counter, 2);
        assert_eq!(w.topic_config_table["T"].write_queue_nums, 4);
    }

    #[test]
    fn reads_the_legacy_wrapper_only_body() {
        let json = br#"{"dataVersion":{"counter":1,"timestamp":5},"topicConfigTable":{"T":{"topicName":"T","perm":6,"readQueueNums":2,"writeQueueNums":2}}}"#;
        let body = decode(json, false).unwrap();
        assert_eq!(
            body.topic_config_serialize_wrapper.topic_config_table["T"].read_queue_nums,
            2
        );
    }

    #[test]
    fn compressed_form_round_trips() {
        let body = sample();
        let bytes = encode_compressed(&body);
        let back = decode(&bytes, true).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn compressed_garbage_is_an_error_not_a_panic() {
        assert!(decode(b"not zlib at all", true).is_err());
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&[0, 0, 0, 50, b'{']).unwrap();
        assert!(decode(&z.finish().unwrap(), true).is_err());
        assert!(decode(b"{]", false).is_err());
    }

    #[test]
    fn empty_body_is_an_empty_registration() {
        let body = decode(b"", false).unwrap();
        assert!(body
            .topic_config_serialize_wrapper
            .topic_config_table
            .is_empty());
    }
}
