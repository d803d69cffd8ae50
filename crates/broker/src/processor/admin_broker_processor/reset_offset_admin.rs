//! INVOKE_BROKER_TO_RESET_OFFSET (222): moves a consumer group to the first message stored at
//! or after a time (`Broker2Client.resetOffset`), or one queue to a given offset (5.x
//! `queueId`/`offset` fields). The new offsets are committed here, so members
//! that join later start from them, and pushed to every online member with
//! RESET_CONSUMER_CLIENT_OFFSET (220), which makes the official clients drop what they have
//! pulled and continue from the new offsets.

use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::RemotingCommand;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

use super::error;
use crate::service::AdminService;

/// `ResetOffsetBody`: the offset of each queue, keyed by the queue (written as JSON text).
struct ResetOffsetBody<'a>(&'a BTreeMap<MessageQueue, i64>);

impl Serialize for ResetOffsetBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Table<'a>(&'a BTreeMap<MessageQueue, i64>);
        impl Serialize for Table<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (mq, offset) in self.0 {
                    let key = serde_json::to_string(mq).map_err(serde::ser::Error::custom)?;
                    m.serialize_entry(&key, offset)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("offsetTable", &Table(self.0))?;
        m.end()
    }
}

/// `ResetOffsetRequestHeader`, read by hand: `queueId` and `offset` exist only in 5.x.
struct ResetRequest {
    topic: String,
    group: String,
    timestamp: i64,
    is_force: bool,
    queue_id: i32,
    offset: Option<i64>,
}

/// Reads the header; an error is the remark of the SYSTEM_ERROR reply.
fn parse(request: &RemotingCommand) -> Result<ResetRequest, String> {
    let required = |k: &'static str| {
        request
            .ext_required(k)
            .map(str::to_string)
            .map_err(|e| e.to_string())
    };
    let number = |k: &str, v: &str| {
        v.trim()
            .parse::<i64>()
            .map_err(|_| format!("the request header field {k}={v} is not a number"))
    };
    let timestamp = number("timestamp", &required("timestamp")?)?;
    let queue_id = match request.ext("queueId") {
        Some(v) if !v.trim().is_empty() => number("queueId", v)? as i32,
        _ => -1,
    };
    let offset = match request.ext("offset") {
        Some(v) if !v.trim().is_empty() && v.trim() != "null" => Some(number("offset", v)?),
        _ => None,
    };
    Ok(ResetRequest {
        topic: required("topic")?,
        group: required("group")?,
        timestamp,
        is_force: request.ext("isForce").is_some_and(|v| v.trim() == "true"),
        queue_id,
        offset,
    })
}

/// Validates the request, computes each queue's new offset, then commits and pushes them.
pub(super) fn invoke_broker_to_reset_offset(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let r = match parse(&request) {
        Ok(r) => r,
        Err(remark) => return error(&request, response::SYSTEM_ERROR, remark),
    };
    let Some(topic_config) = ctx.topics.select_topic_config(&r.topic) else {
        return error(
            &request,
            response::TOPIC_NOT_EXIST,
            format!(
                "[reset-offset] reset offset failed, no topic in this broker. topic={}",
                r.topic
            ),
        );
    };
    let queue_ids: Vec<i32> = if r.queue_id >= 0 {
        vec![r.queue_id]
    } else {
        (0..topic_config.write_queue_nums).collect()
    };
    let committed: Vec<i64> = queue_ids
        .iter()
        .map(|q| ctx.offsets.query_offset(&r.group, &r.topic, *q))
        .collect();
    let online = ctx.consumers.get_consumer_group_info(&r.group);
    let channels = online.map(|g| g.all_channels()).unwrap_or_default();
    if committed.iter().all(|o| *o < 0) && channels.is_empty() {
        return error(
            &request,
            response::SYSTEM_ERROR,
            format!("THe consumer group <{}> not exist", r.group),
        );
    }
    let table = match new_offsets(ctx, &r, &queue_ids, committed) {
        Ok(table) => table,
        Err(remark) => return error(&request, response::SYSTEM_ERROR, remark),
    };
    // a reset of every queue needs members to tell (`Broker2Client.resetOffset`); a reset of one
    // queue (5.x `resetOffsetByQueueId`) is applied on the broker whether or not any is online
    if channels.is_empty() && r.queue_id < 0 {
        return error(
            &request,
            response::CONSUMER_NOT_ONLINE,
            format!(
                "Consumer not online, so can not reset offset, Group: {} Topic: {} Timestamp: {}",
                r.group, r.topic, r.timestamp
            ),
        );
    }
    Some(apply(ctx, &request, &r, &table, channels))
}

/// The new offset of each of `queue_ids` (whose committed offsets are `committed`): the asked
/// offset, the queue's end (`timestamp` -1) or the first message stored at `timestamp`; without
/// `isForce` an offset only moves back. An error is the remark of the reply.
fn new_offsets(
    ctx: &AdminService,
    r: &ResetRequest,
    queue_ids: &[i32],
    committed: Vec<i64>,
) -> Result<BTreeMap<MessageQueue, i64>, String> {
    let store = &ctx.store;
    let broker_name = &ctx.config.get().broker_name;
    let mut table = BTreeMap::new();
    for (queue_id, current) in queue_ids.iter().copied().zip(committed) {
        let max = store.get_max_offset_in_queue(&r.topic, queue_id).max(0);
        let target = match r.offset {
            Some(o) if r.queue_id >= 0 && o != -1 => {
                let min = store.get_min_offset_in_queue(&r.topic, queue_id).max(0);
                if o < min || o > max + 1 {
                    return Err(format!(
                        "Target offset {o} not in consume queue range [{min}-{max}]"
                    ));
                }
                o
            }
            _ if r.timestamp == -1 => max,
            _ => store
                .get_offset_in_queue_by_time(&r.topic, queue_id, r.timestamp, false)
                .max(0),
        };
        let offset = if r.is_force || r.queue_id >= 0 || current < 0 || target < current {
            target
        } else {
            current
        };
        table.insert(MessageQueue::new(&r.topic, broker_name, queue_id), offset);
    }
    Ok(table)
}

/// Commits the new offsets, pushes them to every online member, and answers with them.
fn apply(
    ctx: &AdminService,
    request: &RemotingCommand,
    r: &ResetRequest,
    table: &BTreeMap<MessageQueue, i64>,
    channels: Vec<ferrocket_remoting::Channel>,
) -> RemotingCommand {
    let client_host = request_origin(request);
    for (mq, offset) in table {
        ctx.offsets
            .commit_offset(&client_host, &r.group, &r.topic, mq.queue_id, *offset);
    }
    let body = super::fastjson_body::encode(&ResetOffsetBody(table));
    let push = RemotingCommand::request(rq::RESET_CONSUMER_CLIENT_OFFSET)
        .with_ext("topic", r.topic.as_str())
        .with_ext("group", r.group.as_str())
        .with_ext("timestamp", r.timestamp.to_string())
        .with_ext("isForce", r.is_force.to_string())
        .with_body(body.clone());
    let (group, topic) = (r.group.clone(), r.topic.clone());
    tokio::spawn(async move {
        for ch in channels {
            match ch.send_oneway(push.clone()).await {
                Ok(()) => {
                    tracing::info!(%group, %topic, remote = %ch.remote_addr(), "[reset-offset] reset offset pushed")
                }
                Err(e) => {
                    tracing::warn!(%group, %topic, remote = %ch.remote_addr(), error = %e, "[reset-offset] push failed")
                }
            }
        }
    });
    tracing::info!(group = %r.group, topic = %r.topic, timestamp = r.timestamp, force = r.is_force, "consumer offsets reset");
    RemotingCommand::response_to(request, response::SUCCESS).with_body(body)
}

fn request_origin(request: &RemotingCommand) -> String {
    format!("admin(opaque {})", request.opaque)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_keys_are_bare_queue_objects() {
        let mut t = BTreeMap::new();
        t.insert(MessageQueue::new("T", "b", 1), 5);
        let body = super::super::fastjson_body::encode(&ResetOffsetBody(&t));
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"offsetTable":{{"brokerName":"b","queueId":1,"topic":"T"}:5}}"#
        );
    }

    #[test]
    fn header_reads_4_9_and_5_x_fields() {
        let cmd = RemotingCommand::request(222)
            .with_ext("topic", "T")
            .with_ext("group", "g")
            .with_ext("timestamp", "-1")
            .with_ext("isForce", "true");
        let r = parse(&cmd).unwrap();
        assert_eq!(
            (r.timestamp, r.is_force, r.queue_id, r.offset),
            (-1, true, -1, None)
        );
        let cmd = cmd.with_ext("queueId", "2").with_ext("offset", "7");
        let r = parse(&cmd).unwrap();
        assert_eq!((r.queue_id, r.offset), (2, Some(7)));
        assert!(parse(&RemotingCommand::request(222).with_ext("topic", "T")).is_err());
    }
}
