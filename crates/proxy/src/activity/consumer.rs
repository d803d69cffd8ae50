//! The consumer's calls, named after Apache's proxy activities: ReceiveMessage
//! (`ReceiveMessageActivity` and its stream writer), AckMessage, ChangeInvisibleDuration,
//! ForwardMessageToDeadLetterQueue and QueryAssignment, on the broker's POP path ([`PopService`])
//! and its send-back path.
//!
//! A popped message reaches the client with a receipt handle in Apache's `ReceiptHandle` form:
//! the broker's `POP_CK` handle followed by the message's CommitLog offset. The client echoes it
//! back verbatim in acks and invisible-time changes.

use std::time::Duration;

use ferrocket_broker::service::pop_service::{AckRequest, ChangeInvisibleTimeRequest};
use ferrocket_broker::service::{
    PopRefusal, PopRequest, PopResult, PopService, PopStatus, SendBackRequest,
};
use ferrocket_broker::topic::topic_validator;
use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{consume_init_mode, ExtraInfo};
use ferrocket_protocol::message::{property, sys_flag, MessageExt};
use ferrocket_protocol::util::now_millis;
use md5::{Digest as _, Md5};

use crate::activity::{route, validator};
use crate::client_settings::GrpcClientSettingsManager;
use crate::context::ProxyContext;
use crate::receipt::{MessageReceiptHandle, ReceiptHandleManager};
use crate::status::{code_of_remoting, status, ProxyError, ProxyResult};
use crate::v2::Settings;
use crate::v2::{
    receive_message_response, settings, AckMessageRequest, AckMessageResultEntry, Assignment,
    ChangeInvisibleDurationRequest, Code, DeadLetterQueue, Digest, DigestType, Encoding,
    FilterType, ForwardMessageToDeadLetterQueueRequest, Message, MessageQueue, MessageType,
    Permission, QueryAssignmentRequest, ReceiveMessageRequest, ReceiveMessageResponse, Resource,
    Status, SystemProperties,
};
use crate::view::ProxyBrokerView;

/// Shortest invisible time a receive may ask for (`minInvisibleTimeMillsForRecv`).
pub const MIN_RECEIVE_INVISIBLE_TIME: Duration = Duration::from_secs(10);
/// Longest invisible time (`maxInvisibleTimeMills`).
pub const MAX_INVISIBLE_TIME: Duration = Duration::from_secs(12 * 3600);
/// Shortest long poll (`grpcClientConsumerMinLongPollingTimeoutMillis`).
pub const MIN_LONG_POLLING_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest long poll (`grpcClientConsumerMaxLongPollingTimeoutMillis`).
pub const MAX_LONG_POLLING_TIMEOUT: Duration = Duration::from_secs(20);
/// The client version from which a too-short deadline is ILLEGAL_POLLING_TIME, not BAD_REQUEST.
const ILLEGAL_POLLING_TIME_SINCE: &str = "5.0.3";
/// Fields of a receipt handle: the eight of `POP_CK`, then the CommitLog offset.
const RECEIPT_HANDLE_MIN_FIELDS: usize = 8;

/// A decoded receipt handle: the broker's POP handle and the message's CommitLog offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptHandle {
    /// The `POP_CK` part.
    pub extra: ExtraInfo,
    /// The message's own queue offset.
    pub offset: i64,
    /// CommitLog offset of the message, -1 when the handle had none.
    pub commit_log_offset: i64,
    /// The handle as the client sent it.
    pub raw: String,
}

impl ReceiptHandle {
    /// Parses a handle; anything but `startOffset retrieveTime invisibleTime reviveQid
    /// topicType brokerName queueId offset [commitLogOffset]` is INVALID_RECEIPT_HANDLE.
    pub fn decode(raw: &str) -> ProxyResult<Self> {
        let invalid = || ProxyError::new(Code::InvalidReceiptHandle, "receipt handle is invalid");
        let fields: Vec<&str> = raw.split(' ').collect();
        if fields.len() < RECEIPT_HANDLE_MIN_FIELDS {
            return Err(invalid());
        }
        let extra = ExtraInfo::parse(raw).map_err(|_| invalid())?;
        let offset = extra.queue_offset.ok_or_else(invalid)?;
        let commit_log_offset = match fields.get(RECEIPT_HANDLE_MIN_FIELDS) {
            Some(f) => f.parse().map_err(|_| invalid())?,
            None => -1,
        };
        Ok(ReceiptHandle {
            extra,
            offset,
            commit_log_offset,
            raw: raw.to_string(),
        })
    }

    /// The handle of a popped message: its `POP_CK` and its CommitLog offset.
    pub fn encode(extra: &str, commit_log_offset: i64) -> String {
        format!("{extra} {commit_log_offset}")
    }

    /// Whether the message's invisible time has run out: it may have been delivered again, so
    /// the handle no longer acknowledges anything.
    pub fn is_expired(&self, now_millis: i64) -> bool {
        self.extra.pop_time + self.extra.invisible_time <= now_millis
    }
}

/// The v2 code of a refused pop, ack or invisible-time change.
fn code_of_refusal(refusal: &PopRefusal) -> Code {
    match refusal.code {
        response::NO_PERMISSION => Code::Forbidden,
        response::SUBSCRIPTION_PARSE_FAILED => Code::IllegalFilterExpression,
        response::INVALID_PARAMETER => Code::BadRequest,
        response::MESSAGE_ILLEGAL | response::NO_MESSAGE => Code::InvalidReceiptHandle,
        response::POLLING_TIMEOUT => Code::MessageNotFound,
        code => code_of_remoting(code),
    }
}

/// A refused pop, ack or invisible-time change as the error answered for it.
pub(crate) fn refused(refusal: PopRefusal) -> ProxyError {
    ProxyError::new(code_of_refusal(&refusal), refusal.remark)
}

/// A consumer group: present, a legal name (ILLEGAL_CONSUMER_GROUP).
pub fn validate_group(group: Option<&Resource>) -> ProxyResult<String> {
    let name = group.map(|g| g.name.as_str()).unwrap_or("");
    if name.trim().is_empty() {
        return Err(ProxyError::new(
            Code::IllegalConsumerGroup,
            "consumer group cannot be empty",
        ));
    }
    topic_validator::validate_group(name)
        .map_err(|remark| ProxyError::new(Code::IllegalConsumerGroup, remark))?;
    Ok(name.to_string())
}

/// An invisible time between `min` and [`MAX_INVISIBLE_TIME`] (ILLEGAL_INVISIBLE_TIME).
fn validate_invisible_time(millis: i64, min: Duration) -> ProxyResult<()> {
    if millis < min.as_millis() as i64 {
        return Err(ProxyError::new(
            Code::IllegalInvisibleTime,
            format!(
                "the invisible time is too small, min is {} ms",
                min.as_millis()
            ),
        ));
    }
    if millis > MAX_INVISIBLE_TIME.as_millis() as i64 {
        return Err(ProxyError::new(
            Code::IllegalInvisibleTime,
            format!(
                "the invisible time is too large, max is {} ms",
                MAX_INVISIBLE_TIME.as_millis()
            ),
        ));
    }
    Ok(())
}

fn millis_of(d: Option<&prost_types::Duration>) -> Option<i64> {
    d.map(|d| d.seconds.saturating_mul(1000) + i64::from(d.nanos) / 1_000_000)
}

fn timestamp(millis: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: millis.div_euclid(1000),
        nanos: (millis.rem_euclid(1000) * 1_000_000) as i32,
    }
}

/// What a receive's caller said about itself besides the request: its settings and the time
/// left before its deadline.
pub struct ReceiveCaller<'a> {
    /// The call's metadata.
    pub context: &'a ProxyContext,
    /// Milliseconds before the call's deadline (`grpc-timeout`), when it has one.
    pub time_remaining_millis: Option<i64>,
}

/// How long a receive may wait for messages: the request's long polling timeout (or the time
/// left less half the client's request timeout), within the server's bounds and the deadline.
fn polling_time(
    request: &ReceiveMessageRequest,
    caller: &ReceiveCaller<'_>,
    request_timeout_millis: i64,
) -> ProxyResult<i64> {
    let min = MIN_LONG_POLLING_TIMEOUT.as_millis() as i64;
    let max = MAX_LONG_POLLING_TIMEOUT.as_millis() as i64;
    let remaining = caller.time_remaining_millis;
    let asked = millis_of(request.long_polling_timeout.as_ref())
        .or_else(|| remaining.map(|r| r - request_timeout_millis / 2))
        .unwrap_or(max);
    let polling = asked.clamp(min, max);
    match remaining {
        Some(r) if polling > r => {
            if r >= min {
                return Ok(r);
            }
            let version = caller.context.client_version.as_str();
            let code = if version.is_empty() || version < ILLEGAL_POLLING_TIME_SINCE {
                Code::BadRequest
            } else {
                Code::IllegalPollingTime
            };
            Err(ProxyError::new(
                code,
                "The deadline time remaining is not enough for polling, please check network condition",
            ))
        }
        _ => Ok(polling),
    }
}

/// ReceiveMessage: pops from the topic's queues of this broker and answers Apache's stream:
/// a status, then the messages when some were found, then the delivery timestamp.
pub async fn receive_message(
    broker: &ProxyBrokerView,
    settings: &GrpcClientSettingsManager,
    receipts: &ReceiptHandleManager,
    caller: ReceiveCaller<'_>,
    request: ReceiveMessageRequest,
) -> Vec<ReceiveMessageResponse> {
    let mut answers = match receive(broker, settings, receipts, &caller, &request).await {
        Ok(result) => found_or_not(result),
        Err(e) => vec![status_response(e.to_status())],
    };
    answers.push(ReceiveMessageResponse {
        content: Some(receive_message_response::Content::DeliveryTimestamp(
            timestamp(now_millis()),
        )),
    });
    answers
}

fn status_response(status: Status) -> ReceiveMessageResponse {
    ReceiveMessageResponse {
        content: Some(receive_message_response::Content::Status(status)),
    }
}

/// The stream's status (and messages) for a finished pop, as Apache's stream writer writes it.
fn found_or_not(result: PopResult) -> Vec<ReceiveMessageResponse> {
    match result.status {
        PopStatus::Found if !result.messages.is_empty() => {
            let mut answers = Vec::with_capacity(result.messages.len() + 2);
            answers.push(status_response(status(Code::Ok, "OK")));
            answers.extend(result.messages.into_iter().map(|m| ReceiveMessageResponse {
                content: Some(receive_message_response::Content::Message(to_v2_message(m))),
            }));
            answers
        }
        PopStatus::Found => vec![status_response(status(
            Code::MessageNotFound,
            "no match message",
        ))],
        PopStatus::PollingFull => vec![status_response(status(
            Code::TooManyRequests,
            "polling full",
        ))],
        PopStatus::NoNewMessage => vec![status_response(status(
            Code::MessageNotFound,
            "no new message",
        ))],
    }
}

async fn receive(
    broker: &ProxyBrokerView,
    settings: &GrpcClientSettingsManager,
    receipts: &ReceiptHandleManager,
    caller: &ReceiveCaller<'_>,
    request: &ReceiveMessageRequest,
) -> ProxyResult<PopResult> {
    let client_settings = settings
        .touch(&caller.context.client_id)
        .unwrap_or_default();
    let request_timeout = millis_of(client_settings.request_timeout.as_ref()).unwrap_or(3_000);
    let poll_time_millis = polling_time(request, caller, request_timeout)?;
    let queue = request.message_queue.as_ref();
    let topic = validator::validate_topic(queue.and_then(|q| q.topic.as_ref()), broker)?;
    let group = validate_group(request.group.as_ref())?;
    // a push consumer leaves its messages' invisible time to the server, which renews it
    let auto_renew = request.auto_renew && receipts.enabled();
    let invisible_time_millis = if auto_renew {
        receipts.default_invisible_time_millis()
    } else {
        let asked = millis_of(request.invisible_duration.as_ref()).unwrap_or(0);
        validate_invisible_time(asked, MIN_RECEIVE_INVISIBLE_TIME)?;
        asked
    };
    let filter = request.filter_expression.clone().unwrap_or_default();
    let expression_type = match FilterType::try_from(filter.r#type) {
        Ok(FilterType::Sql) => "SQL92",
        _ => "TAG",
    };
    let pop = PopRequest {
        consumer_group: group,
        topic,
        queue_id: -1,
        max_msg_nums: request.batch_size,
        invisible_time_millis,
        poll_time_millis,
        born_time_millis: now_millis(),
        init_mode: consume_init_mode::MAX,
        expression_type: Some(expression_type.to_string()),
        expression: Some(filter.expression),
        // a FIFO group (its subscription group's consumeMessageOrderly) pops orderly
        order: is_fifo(&client_settings),
    };
    let client_id = &caller.context.client_id;
    if auto_renew {
        receipts.admit(client_id, &pop.consumer_group)?;
    }
    let result = broker.pop.pop(&pop, || {}).await.map_err(refused)?;
    if auto_renew {
        track(receipts, client_id, &pop, &result);
    }
    Ok(result)
}

/// Hands the messages `client_id` received with `auto_renew` to the renewal.
fn track(receipts: &ReceiptHandleManager, client_id: &str, pop: &PopRequest, result: &PopResult) {
    for m in &result.messages {
        let Some(ck) = m.message.property(property::POP_CK) else {
            continue;
        };
        let raw = ReceiptHandle::encode(ck, m.commit_log_offset);
        let (group, topic) = (&pop.consumer_group, &pop.topic);
        match MessageReceiptHandle::new(group, topic, &message_id(m), m.reconsume_times, &raw) {
            Ok(handle) => receipts.add(client_id, handle),
            Err(e) => {
                tracing::warn!(handle = %raw, error = %e.message, "popped handle not renewable")
            }
        }
    }
}

/// The id a client is given for a message: its unique key, else its offset id.
fn message_id(m: &MessageExt) -> String {
    m.message
        .property(property::UNIQ_KEY)
        .map(str::to_string)
        .unwrap_or_else(|| m.msg_id.clone())
}

/// Whether the client was told its group consumes in order.
fn is_fifo(client_settings: &Settings) -> bool {
    matches!(
        &client_settings.pub_sub,
        Some(settings::PubSub::Subscription(s)) if s.fifo == Some(true)
    )
}

/// A popped message as a v2 `Message` (Apache's `GrpcConverter.buildMessage`); the body moves,
/// it is not copied.
pub fn to_v2_message(mut m: MessageExt) -> Message {
    if let Some(ck) = m.message.property(property::POP_CK) {
        let handle = ReceiptHandle::encode(ck, m.commit_log_offset);
        m.message.set_property(property::POP_CK, handle);
    }
    let system_properties = system_properties(&m);
    let user_properties = m
        .message
        .properties
        .iter()
        .filter(|(k, _)| !validator::is_system_property(k))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Message {
        topic: Some(Resource {
            resource_namespace: String::new(),
            name: std::mem::take(&mut m.message.topic),
        }),
        user_properties,
        system_properties: Some(system_properties),
        body: std::mem::take(&mut m.message.body),
    }
}

fn message_type(m: &MessageExt) -> MessageType {
    let p = |name| m.message.property(name);
    if p(property::TRAN_MSG) == Some("true") {
        MessageType::Transaction
    } else if p(property::DELAY).is_some()
        || p(property::TIMER_DELIVER_MS).is_some()
        || p(property::TIMER_DELAY_SEC).is_some()
    {
        MessageType::Delay
    } else if p(property::SHARDING_KEY).is_some() {
        MessageType::Fifo
    } else {
        MessageType::Normal
    }
}

fn delivery_timestamp(m: &MessageExt) -> Option<prost_types::Timestamp> {
    if let Some(secs) = m.message.property(property::TIMER_DELAY_SEC) {
        let secs: i64 = secs.parse().ok()?;
        return Some(timestamp(now_millis() + secs * 1000));
    }
    let at: i64 = m
        .message
        .property(property::TIMER_DELIVER_MS)?
        .parse()
        .ok()?;
    Some(timestamp(at))
}

fn system_properties(m: &MessageExt) -> SystemProperties {
    let p = |name| m.message.property(name).map(str::to_string);
    let handle = p(property::POP_CK);
    let invisible = handle
        .as_deref()
        .and_then(|h| ReceiptHandle::decode(h).ok())
        .map(|h| prost_types::Duration {
            seconds: h.extra.invisible_time / 1000,
            nanos: ((h.extra.invisible_time % 1000) * 1_000_000) as i32,
        });
    let born_host = p(property::BORN_HOST)
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| m.born_host.ip().to_string());
    let dead_letter_queue = match (
        p(property::DLQ_ORIGIN_TOPIC),
        p(property::DLQ_ORIGIN_MESSAGE_ID),
    ) {
        (Some(topic), Some(message_id)) => Some(DeadLetterQueue { topic, message_id }),
        _ => None,
    };
    let compressed = m.sys_flag & sys_flag::COMPRESSED == sys_flag::COMPRESSED;
    SystemProperties {
        tag: p(property::TAGS),
        keys: m.message.key_list().map(str::to_string).collect(),
        message_id: message_id(m),
        body_digest: Some(Digest {
            r#type: DigestType::Md5 as i32,
            checksum: md5_hex(&m.message.body),
        }),
        body_encoding: if compressed {
            Encoding::Gzip
        } else {
            Encoding::Identity
        } as i32,
        message_type: message_type(m) as i32,
        born_timestamp: Some(timestamp(m.born_timestamp)),
        born_host,
        store_timestamp: Some(timestamp(m.store_timestamp)),
        store_host: m.store_host.to_string(),
        delivery_timestamp: delivery_timestamp(m),
        receipt_handle: handle,
        queue_id: m.queue_id,
        queue_offset: Some(m.queue_offset),
        invisible_duration: invisible,
        delivery_attempt: Some(m.reconsume_times.saturating_add(1)),
        message_group: p(property::SHARDING_KEY),
        trace_context: p(property::TRACE_CONTEXT),
        dead_letter_queue,
        ..Default::default()
    }
}

/// Upper-case hex MD5, as Apache's `BinaryUtil.generateMd5`.
fn md5_hex(body: &[u8]) -> String {
    Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The caller of an ack, invisible-time change or dead-letter forward, whose handle may have been
/// renewed since the client got it.
pub struct RenewedCaller<'a> {
    /// The client's `x-mq-client-id`.
    pub client_id: &'a str,
    /// The messages renewed for push consumers.
    pub receipts: &'a ReceiptHandleManager,
}

impl RenewedCaller<'_> {
    /// The handle to use for the message the client names by `message_id` and `raw`: the newest
    /// one when the server renewed it (its renewal then ends), else `raw` itself, as Apache's
    /// proxy maps it.
    async fn latest_handle(&self, group: &str, message_id: &str, raw: &str) -> ProxyResult<String> {
        let latest = self
            .receipts
            .remove(self.client_id, group, message_id, raw)
            .await?;
        Ok(latest.unwrap_or_else(|| raw.to_string()))
    }
}

/// A handle the client sent back, checked: well formed and not expired.
fn live_handle(raw: &str) -> ProxyResult<ReceiptHandle> {
    let handle = ReceiptHandle::decode(raw)?;
    if handle.is_expired(now_millis()) {
        return Err(ProxyError::new(
            Code::InvalidReceiptHandle,
            "receipt handle is expired",
        ));
    }
    Ok(handle)
}

/// The broker request acknowledging `handle`'s message, received by `group` from `topic`.
pub(crate) fn ack_request(group: &str, topic: &str, handle: &ReceiptHandle) -> AckRequest {
    AckRequest {
        consumer_group: group.to_string(),
        topic: handle.extra.real_topic(topic, group),
        queue_id: handle.extra.queue_id,
        offset: handle.offset,
        extra_info: handle.raw.clone(),
    }
}

/// AckMessage: each entry acknowledged on its own; the response's status is the entries'
/// common code, or MULTIPLE_RESULTS when they differ.
pub async fn ack_message(
    pop: &PopService,
    broker: &ProxyBrokerView,
    caller: RenewedCaller<'_>,
    request: AckMessageRequest,
) -> ProxyResult<(Status, Vec<AckMessageResultEntry>)> {
    let topic = validator::validate_topic(request.topic.as_ref(), broker)?;
    let group = validate_group(request.group.as_ref())?;
    let mut entries = Vec::with_capacity(request.entries.len());
    for entry in request.entries {
        let latest = caller
            .latest_handle(&group, &entry.message_id, &entry.receipt_handle)
            .await;
        let acked = match latest.and_then(|raw| live_handle(&raw)) {
            Ok(handle) => pop
                .ack(ack_request(&group, &topic, &handle))
                .await
                .map_err(refused),
            Err(e) => Err(e),
        };
        entries.push(AckMessageResultEntry {
            message_id: entry.message_id,
            receipt_handle: entry.receipt_handle,
            status: Some(match acked {
                Ok(()) => ok_named(),
                Err(e) => e.to_status(),
            }),
        });
    }
    let mut codes: Vec<i32> = entries
        .iter()
        .filter_map(|e| e.status.as_ref().map(|s| s.code))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let status = match codes.as_slice() {
        [] => status(Code::InternalServerError, "ack message result is empty"),
        [one] => {
            let code = Code::try_from(*one).unwrap_or(Code::InternalServerError);
            status(code, code.as_str_name())
        }
        _ => status(Code::MultipleResults, Code::MultipleResults.as_str_name()),
    };
    Ok((status, entries))
}

fn ok_named() -> Status {
    status(Code::Ok, Code::Ok.as_str_name())
}

/// ChangeInvisibleDuration: the message becomes visible again after the new duration from now;
/// the answer is its new receipt handle (the old one no longer acknowledges it).
pub async fn change_invisible_duration(
    pop: &PopService,
    broker: &ProxyBrokerView,
    caller: RenewedCaller<'_>,
    request: ChangeInvisibleDurationRequest,
) -> ProxyResult<String> {
    let topic = validator::validate_topic(request.topic.as_ref(), broker)?;
    let group = validate_group(request.group.as_ref())?;
    let invisible_time_millis = millis_of(request.invisible_duration.as_ref()).unwrap_or(0);
    validate_invisible_time(invisible_time_millis, Duration::ZERO)?;
    let raw = caller
        .latest_handle(&group, &request.message_id, &request.receipt_handle)
        .await?;
    let handle = live_handle(&raw)?;
    let changed = pop
        .change_invisible_time(ChangeInvisibleTimeRequest {
            ack: ack_request(&group, &topic, &handle),
            invisible_time_millis,
        })
        .await
        .map_err(refused)?;
    Ok(ReceiptHandle::encode(
        &changed.handle.build(),
        handle.commit_log_offset,
    ))
}

/// ForwardMessageToDeadLetterQueue: a message the consumer gave up on (out of delivery attempts)
/// goes to `%DLQ%<group>` at once, then is acknowledged so it is not delivered again.
pub async fn forward_message_to_dead_letter_queue(
    broker: &ProxyBrokerView,
    caller: RenewedCaller<'_>,
    request: ForwardMessageToDeadLetterQueueRequest,
) -> ProxyResult<()> {
    let topic = validator::validate_topic(request.topic.as_ref(), broker)?;
    let group = validate_group(request.group.as_ref())?;
    let raw = caller
        .latest_handle(&group, &request.message_id, &request.receipt_handle)
        .await?;
    let handle = live_handle(&raw)?;
    if handle.commit_log_offset < 0 {
        return Err(ProxyError::new(
            Code::InvalidReceiptHandle,
            "the receipt handle has no CommitLog offset",
        ));
    }
    let send_back = SendBackRequest {
        offset: handle.commit_log_offset,
        group: group.clone(),
        // a negative level: the dead letter queue, whatever the attempts so far
        delay_level: -1,
        unit_mode: false,
        max_reconsume_times: Some(request.max_delivery_attempts),
        client_version: i32::MAX,
    };
    broker
        .send_back
        .send_back(&send_back)
        .await
        .map_err(|refusal| {
            let code = match refusal.code {
                response::NO_PERMISSION => Code::Forbidden,
                code => code_of_remoting(code),
            };
            ProxyError::new(code, refusal.remark)
        })?;
    broker
        .pop
        .ack(ack_request(&group, &topic, &handle))
        .await
        .map_err(refused)
}

/// QueryAssignment: what a push consumer receives from. This broker pops for the whole topic,
/// so the assignment is one queue with id -1 on this broker, as Apache's proxy assigns it in
/// POP mode.
pub fn query_assignment(
    broker: &ProxyBrokerView,
    grpc_port: u16,
    request: &QueryAssignmentRequest,
) -> ProxyResult<Vec<Assignment>> {
    let name = validator::validate_topic(request.topic.as_ref(), broker)?;
    validate_group(request.group.as_ref())?;
    let topic = route::existing_topic(broker, &name)?;
    let config = broker.config.get();
    if !(perm::is_readable(topic.perm) && perm::is_readable(config.broker_permission))
        || topic.read_queue_nums <= 0
    {
        return Err(ProxyError::new(Code::Forbidden, "no readable queue"));
    }
    let writable = perm::is_writeable(topic.perm) && perm::is_writeable(config.broker_permission);
    let queue = MessageQueue {
        topic: Some(Resource {
            resource_namespace: request
                .topic
                .as_ref()
                .map(|t| t.resource_namespace.clone())
                .unwrap_or_default(),
            name,
        }),
        id: -1,
        permission: if writable {
            Permission::ReadWrite
        } else {
            Permission::Read
        } as i32,
        broker: Some(route::this_broker(broker, grpc_port)),
        accept_message_types: route::accepted_message_types(&topic),
    };
    Ok(vec![Assignment {
        message_queue: Some(queue),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_handles_carry_the_pop_handle_and_the_commit_log_offset() {
        let raw = "7 1700000000000 30000 3 0 broker-a 2 9 12345";
        let handle = ReceiptHandle::decode(raw).unwrap();
        assert_eq!(handle.extra.ck_queue_offset, 7);
        assert_eq!(handle.extra.revive_qid, 3);
        assert!(!handle.extra.retry);
        assert_eq!(handle.extra.broker_name, "broker-a");
        assert_eq!((handle.extra.queue_id, handle.offset), (2, 9));
        assert_eq!(handle.commit_log_offset, 12345);
        assert_eq!(
            ReceiptHandle::encode(&handle.extra.build(), handle.commit_log_offset),
            raw
        );
        assert!(handle.is_expired(1_700_000_030_000));
        assert!(!handle.is_expired(1_700_000_029_999));
    }

    #[test]
    fn malformed_receipt_handles_are_invalid() {
        for raw in [
            "",
            "garbage",
            "1 2 3 4 0 b 1",
            "x 2 3 4 0 b 1 9",
            "1 2 3 4 0 b 1 9 y",
        ] {
            let e = ReceiptHandle::decode(raw).unwrap_err();
            assert_eq!(e.code, Code::InvalidReceiptHandle, "{raw:?}");
        }
    }

    #[test]
    fn digests_are_upper_case_md5() {
        assert_eq!(md5_hex(b""), "D41D8CD98F00B204E9800998ECF8427E");
    }

    #[test]
    fn invisible_times_are_bounded() {
        let min = MIN_RECEIVE_INVISIBLE_TIME;
        assert!(validate_invisible_time(9_999, min).is_err());
        assert!(validate_invisible_time(10_000, min).is_ok());
        assert!(validate_invisible_time(0, Duration::ZERO).is_ok());
        let too_long = MAX_INVISIBLE_TIME.as_millis() as i64 + 1;
        let e = validate_invisible_time(too_long, Duration::ZERO).unwrap_err();
        assert_eq!(e.code, Code::IllegalInvisibleTime);
    }
}
