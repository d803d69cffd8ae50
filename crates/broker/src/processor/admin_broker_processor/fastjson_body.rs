//! Bodies whose maps are keyed by `MessageQueue` (ConsumeStats, TopicStatsTable,
//! ResetOffsetBody), written the way fastjson writes them: each key is the bare queue object,
//! `{{"brokerName":"b","queueId":0,"topic":"T"}:{...}}`. fastjson 2 (RocketMQ 5.x clients and
//! mqadmin) refuses the key as a quoted string, which is all serde_json can produce, so the
//! keys the body modules write as JSON text are turned back into objects here.

use std::io::Write;

use bytes::Bytes;
use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;
use serde::Serialize;
use serde_json::Value;

/// Encodes `value`, writing object keys that hold a JSON object's text as that bare object.
pub(super) fn encode<T: Serialize>(value: &T) -> Bytes {
    let tree = serde_json::to_value(value).expect("bodies always serialize");
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, &tree);
    out.into()
}

/// A success reply whose body is `value` written by [`encode`].
pub(super) fn ok<T: Serialize>(request: &RemotingCommand, value: &T) -> Option<RemotingCommand> {
    Some(RemotingCommand::response_to(request, response::SUCCESS).with_body(encode(value)))
}

fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                match serde_json::from_str::<Value>(k) {
                    Ok(key @ Value::Object(_)) if k.starts_with('{') => write_value(out, &key),
                    _ => {
                        let _ = serde_json::to_writer(&mut *out, k);
                    }
                }
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        scalar => {
            let _ = out.write_all(scalar.to_string().as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn queue_keys_become_bare_objects() {
        let mut table = BTreeMap::new();
        table.insert(
            r#"{"topic":"T","brokerName":"b","queueId":0}"#.to_string(),
            5,
        );
        table.insert("plain".to_string(), 1);
        let body = encode(&serde_json::json!({"offsetTable": table, "tps": 0.0}));
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(
            text,
            r#"{"offsetTable":{"plain":1,{"brokerName":"b","queueId":0,"topic":"T"}:5},"tps":0.0}"#
        );
    }
}
