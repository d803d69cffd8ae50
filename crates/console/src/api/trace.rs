//! A message's trace: the Pub, SubBefore and SubAfter records that tracing clients
//! (`enableMsgTrace`) wrote to the trace topic, keyed by the traced message's id.

use std::sync::Arc;

use ferrocket_protocol::message::{decode_message_with, DecodeOptions};
use ferrocket_protocol::trace::{trace_view_json, MessageTrace};
use ferrocket_protocol::util::now_millis;
use serde_json::json;

use crate::http::{Request, Response};
use crate::server::ConsoleContext;

/// Trace messages read at most for one message (mqadmin's `queryMsgTraceById` default).
const MAX_TRACE_MESSAGES: usize = 64;

/// GET /api/message/trace?msgId=&traceTopic=
///
/// `msgId` is the unique key producers report; `traceTopic` defaults to the broker's
/// `msgTraceTopicName` (`RMQ_SYS_TRACE_TOPIC`). Answered from this broker's index files, as
/// QUERY_MESSAGE answers a key query on the trace topic.
pub fn trace(ctx: &Arc<ConsoleContext>, req: &Request) -> Response {
    let msg_id = match req.required("msgId") {
        Ok(id) => id.trim(),
        Err(r) => return r,
    };
    let default_topic = ctx.broker.broker_config().msg_trace_topic_name.clone();
    let topic = req
        .param("traceTopic")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(&default_topic);
    if ctx.broker.topics.select_topic_config(topic).is_none() {
        return Response::error(
            404,
            format!("trace topic[{topic}] not exist: no client traced to it on this broker"),
        );
    }
    let store = &ctx.broker.store;
    let found = store.query_message(topic, msg_id, MAX_TRACE_MESSAGES, 0, now_millis());
    let messages: Vec<_> = found
        .messages
        .iter()
        .filter_map(|r| decode_message_with(r, &DecodeOptions::decompressing()).ok())
        .map(|(m, _)| m)
        .collect();
    let trace = MessageTrace::from_trace_messages(msg_id, &messages);
    Response::json(&json!({
        "msgId": msg_id,
        "traceTopic": topic,
        "traceMessages": trace.trace_messages,
        "errors": trace.errors,
        "traces": trace.views.iter().map(trace_view_json).collect::<Vec<_>>(),
    }))
}
