//! Message lookups: by offset message id (VIEW_MESSAGE_BY_ID) and by key or unique key
//! (QUERY_MESSAGE).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::query_message::UNIQUE_KEY_QUERY;
use ferrocket_protocol::message::{decode_messages_bytes, DecodeOptions, MessageExt};
use ferrocket_protocol::trace::{trace_views, TraceType, TraceView};
use ferrocket_protocol::RemotingCommand;

use super::MQAdminExt;
use crate::error::{ClientError, Result};

/// The broker address and commit-log offset encoded in an offset message id
/// (`MessageDecoder.decodeMessageId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageIdParts {
    /// The store host.
    pub addr: SocketAddr,
    /// The commit-log offset.
    pub offset: i64,
}

impl MessageIdParts {
    /// Decodes a 32 (IPv4) or 56 (IPv6) hex-digit offset message id.
    pub fn decode(msg_id: &str) -> Option<MessageIdParts> {
        let bytes = ferrocket_protocol::util::from_hex(msg_id)?;
        let (ip, rest): (IpAddr, &[u8]) = match bytes.len() {
            16 => {
                let o: [u8; 4] = bytes[..4].try_into().ok()?;
                (Ipv4Addr::from(o).into(), &bytes[4..])
            }
            28 => {
                let o: [u8; 16] = bytes[..16].try_into().ok()?;
                (Ipv6Addr::from(o).into(), &bytes[16..])
            }
            _ => return None,
        };
        let port = i32::from_be_bytes(rest[..4].try_into().ok()?);
        let offset = i64::from_be_bytes(rest[4..12].try_into().ok()?);
        Some(MessageIdParts {
            addr: SocketAddr::new(ip, u16::try_from(port).ok()?),
            offset,
        })
    }
}

impl MQAdminExt {
    /// VIEW_MESSAGE_BY_ID (33) for an offset message id.
    pub async fn view_message(&self, offset_msg_id: &str) -> Result<MessageExt> {
        let parts = MessageIdParts::decode(offset_msg_id).ok_or_else(|| {
            ClientError::Config(format!("{offset_msg_id} is not an offset message id"))
        })?;
        let addr = parts.addr.to_string();
        let req = RemotingCommand::request(request::VIEW_MESSAGE_BY_ID)
            .with_ext("offset", parts.offset.to_string());
        let resp = self.call_broker(&addr, req).await?;
        decode_messages_bytes(&resp.full_body(), &DecodeOptions::decompressing())
            .map_err(|e| ClientError::BadResponse(format!("message from {addr}: {e}")))?
            .into_iter()
            .next()
            .ok_or_else(|| ClientError::BadResponse(format!("{addr} returned no message")))
    }

    /// QUERY_MESSAGE (12) on every master serving `topic`: messages whose keys contain `key`
    /// (or, with `unique`, whose UNIQ_KEY is `key`) stored between `begin` and `end` (ms).
    pub async fn query_message(
        &self,
        topic: &str,
        key: &str,
        max_num: i32,
        begin: i64,
        end: i64,
        unique: bool,
    ) -> Result<Vec<MessageExt>> {
        let route = self.examine_topic_route_info(topic).await?;
        let mut found = Vec::new();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let mut req = RemotingCommand::request(request::QUERY_MESSAGE)
                .with_ext("topic", topic)
                .with_ext("key", key)
                .with_ext("maxNum", max_num.to_string())
                .with_ext("beginTimestamp", begin.to_string())
                .with_ext("endTimestamp", end.to_string());
            if unique {
                req = req.with_ext(UNIQUE_KEY_QUERY, "true");
            }
            let resp = self.invoke_broker(addr, req).await?;
            match resp.code {
                response::SUCCESS => {}
                response::QUERY_NOT_FOUND => continue,
                code => {
                    return Err(ClientError::Broker {
                        code,
                        remark: resp.remark.unwrap_or_default(),
                        addr: addr.to_string(),
                    })
                }
            }
            let msgs = decode_messages_bytes(&resp.full_body(), &DecodeOptions::decompressing())
                .map_err(|e| ClientError::BadResponse(format!("messages from {addr}: {e}")))?;
            found.extend(msgs.into_iter().filter(|m| {
                if unique {
                    m.message.unique_key() == Some(key)
                } else {
                    m.message.key_list().any(|k| k == key)
                }
            }));
        }
        Ok(found)
    }

    /// The trace of a message (mqadmin's `queryMsgTraceById`): the trace messages keyed by
    /// `msg_id` in `trace_topic`, found by QUERY_MESSAGE, and their records about `msg_id`. Trace
    /// messages whose body does not decode are skipped and counted in the result.
    pub async fn query_msg_trace_by_id(
        &self,
        trace_topic: &str,
        msg_id: &str,
        max_num: i32,
        begin: i64,
        end: i64,
    ) -> Result<MessageTrace> {
        let messages = self
            .query_message(trace_topic, msg_id, max_num, begin, end, false)
            .await?;
        Ok(MessageTrace::from_trace_messages(msg_id, &messages))
    }
}

/// The trace records of one message, gathered from trace messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageTrace {
    /// The records about the message, ordered by time (then type).
    pub views: Vec<TraceView>,
    /// Trace messages that were found but whose bodies do not decode.
    pub malformed: usize,
    /// Trace messages found by the key query.
    pub trace_messages: usize,
}

impl MessageTrace {
    /// Decodes the records about `msg_id` out of trace messages.
    pub fn from_trace_messages(msg_id: &str, messages: &[MessageExt]) -> MessageTrace {
        let mut trace = MessageTrace {
            trace_messages: messages.len(),
            ..MessageTrace::default()
        };
        for m in messages {
            match trace_views(msg_id, m) {
                Ok(v) => trace.views.extend(v),
                Err(e) => {
                    tracing::debug!(msg_id = %m.offset_msg_id(), error = %e, "undecodable trace message");
                    trace.malformed += 1;
                }
            }
        }
        trace.complete_cloud_sub_after();
        trace
            .views
            .sort_by_key(|v| (v.record.timestamp, v.record.trace_type));
        trace
    }

    /// A `SubAfter` in the cloud form carries neither its group nor its time: take them from the
    /// `SubBefore` with the same request id (the time as that record's plus the cost).
    fn complete_cloud_sub_after(&mut self) {
        let before: Vec<(String, String, i64)> = self
            .views
            .iter()
            .filter(|v| v.record.trace_type == TraceType::SubBefore)
            .map(|v| {
                let r = &v.record;
                (r.request_id.clone(), r.group_name.clone(), r.timestamp)
            })
            .collect();
        for v in &mut self.views {
            let r = &mut v.record;
            if r.trace_type != TraceType::SubAfter || r.timestamp != 0 {
                continue;
            }
            if let Some((_, group, at)) = before.iter().find(|(id, _, _)| *id == r.request_id) {
                r.group_name.clone_from(group);
                r.timestamp = at + i64::from(r.cost_time);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_msg_id_decodes_ipv4() {
        let p = MessageIdParts::decode("7F000001000027A9000000000000ABCD").unwrap();
        assert_eq!(p.addr, "127.0.0.1:10153".parse().unwrap());
        assert_eq!(p.offset, 0xABCD);
        assert!(MessageIdParts::decode("7F00").is_none());
        assert!(MessageIdParts::decode("ZZ000001000027A9000000000000ABCD").is_none());
    }
}
