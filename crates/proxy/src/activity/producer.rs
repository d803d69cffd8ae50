//! `SendMessageActivity`: SendMessage. Each proto message is checked and turned into the
//! properties a 4.x remoting consumer reads (TAGS, KEYS, UNIQ_KEY, user properties,
//! `__SHARDINGKEY`, TIMER_DELIVER_MS), then stored through the broker's `SendService`, the send
//! path the remoting producers use. A TRANSACTION message is sent prepared (`TRAN_MSG`), so the
//! broker stores it as a half message exactly as for a remoting producer; where it lies is
//! recorded for the EndTransaction that follows.

use ferrocket_broker::service::{
    RecallHandle, SendError, SendMessageRequest as BrokerSendRequest, SendResult,
};
use ferrocket_protocol::body::topic::{perm, TopicConfig};
use ferrocket_protocol::header::send_message::{DEFAULT_TOPIC, DEFAULT_TOPIC_QUEUE_NUMS};
use ferrocket_protocol::message::{property, sys_flag, Properties};
use ferrocket_protocol::util::{decode_message_id, java_hash, now_millis};

use crate::activity::validator;
use crate::context::ProxyContext;
use crate::status::{code_of_remoting, ok, status, ProxyError, ProxyResult};
use crate::transaction::{TransactionData, TransactionDataManager};
use crate::v2::{
    Code, Encoding, Message, MessageType, RecallMessageRequest, SendMessageRequest,
    SendResultEntry, Status, SystemProperties,
};
use crate::view::ProxyBrokerView;

/// How far ahead a delivery timestamp may lie (`maxDelayTimeMills`, one day).
pub const MAX_DELAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// The answer to a SendMessage: its status and one entry per stored message.
pub struct SendOutcome {
    /// OK when every message was stored; the entries' common code, or MULTIPLE_RESULTS.
    pub status: Status,
    /// One entry per message, in request order.
    pub entries: Vec<SendResultEntry>,
}

/// SendMessage: checks every message first (a bad one refuses the whole request and nothing
/// is stored), then stores them one by one.
pub async fn send_message(
    broker: &ProxyBrokerView,
    transactions: &TransactionDataManager,
    context: &ProxyContext,
    request: SendMessageRequest,
) -> ProxyResult<SendOutcome> {
    let first = request
        .messages
        .first()
        .ok_or_else(|| ProxyError::new(Code::MessageCorrupted, "no message to send"))?;
    let topic_name = validator::validate_topic(first.topic.as_ref(), broker)?;
    if request
        .messages
        .iter()
        .any(|m| m.topic.as_ref().map(|t| t.name.as_str()) != Some(topic_name.as_str()))
    {
        return Err(ProxyError::new(
            Code::MessageCorrupted,
            "messages of one request must have the same topic",
        ));
    }
    let topic = writable_topic(broker, &topic_name)?;
    let sends = request
        .messages
        .into_iter()
        .map(|m| build_send(broker, context, &topic, m))
        .collect::<ProxyResult<Vec<_>>>()?;
    let mut entries = Vec::with_capacity(sends.len());
    for (message_id, send) in sends {
        let prepared = sys_flag::transaction_value(send.sys_flag) == sys_flag::TRANSACTION_PREPARED;
        let result = broker.send.send_message(send).await;
        if prepared {
            record_transaction(transactions, &topic_name, &result);
        }
        entries.push(result_entry(message_id, result));
    }
    Ok(SendOutcome {
        status: overall_status(&entries),
        entries,
    })
}

/// Remembers where a stored half message lies, by the topic (a v5 producer's group) and the
/// transaction id the client is told.
fn record_transaction(
    transactions: &TransactionDataManager,
    topic: &str,
    result: &Result<SendResult, SendError>,
) {
    let Ok(r) = result else { return };
    let (Some(transaction_id), Some((_, commit_log_offset))) =
        (r.transaction_id.as_deref(), decode_message_id(&r.msg_id))
    else {
        return;
    };
    transactions.add(
        topic,
        transaction_id,
        TransactionData {
            tran_state_table_offset: r.queue_offset,
            commit_log_offset,
        },
    );
}

/// The topic to send to: it must exist (as its route did) and take writes on this broker
/// (FORBIDDEN otherwise, as Apache's queue selector answers "no writable queue").
fn writable_topic(broker: &ProxyBrokerView, name: &str) -> ProxyResult<TopicConfig> {
    let Some(topic) = broker.topics.select_topic_config(name) else {
        return Err(ProxyError::new(
            Code::TopicNotFound,
            format!("topic not found: {name}"),
        ));
    };
    let broker_permission = broker.config.get().broker_permission;
    if !perm::is_writeable(topic.perm)
        || !perm::is_writeable(broker_permission)
        || topic.write_queue_nums <= 0
    {
        return Err(ProxyError::new(
            Code::Forbidden,
            format!("no writable queue for topic {name}"),
        ));
    }
    Ok(topic)
}

fn timestamp_millis(t: &prost_types::Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos) / 1_000_000)
}

/// Checks one message and builds the broker's send of it; returns the message id with it.
fn build_send(
    broker: &ProxyBrokerView,
    context: &ProxyContext,
    topic: &TopicConfig,
    message: Message,
) -> ProxyResult<(String, BrokerSendRequest)> {
    let system = message.system_properties.unwrap_or_default();
    validator::validate_message_id(&system.message_id)?;
    if message.body.is_empty() {
        return Err(ProxyError::new(
            Code::MessageBodyEmpty,
            "message body cannot be empty",
        ));
    }
    if message.body.len() > broker.max_message_size {
        return Err(ProxyError::new(
            Code::MessageBodyTooLarge,
            format!(
                "message body of {} bytes exceeds the limit of {} bytes (maxMessageSize)",
                message.body.len(),
                broker.max_message_size
            ),
        ));
    }
    let message_type = MessageType::try_from(system.message_type).unwrap_or(MessageType::Normal);
    let mut properties = build_properties(
        context,
        &topic.topic_name,
        &message.user_properties,
        &system,
    )?;
    let queue_id = match system.message_group.as_deref() {
        // one group, one queue: the order of a FIFO group is the order of one queue
        Some(group) => (java_hash(group).unsigned_abs() % topic.write_queue_nums as u32) as i32,
        None => -1,
    };
    let mut sys_flag = if system.body_encoding == Encoding::Gzip as i32 {
        sys_flag::COMPRESSED
    } else {
        0
    };
    if message_type == MessageType::Transaction {
        sys_flag |= sys_flag::TRANSACTION_PREPARED;
        properties.insert(property::TRAN_MSG, "true");
        // how long the producer answers for itself before the broker checks back
        if let Some(d) = &system.orphaned_transaction_recovery_duration {
            properties.insert(
                property::CHECK_IMMUNITY_TIME_IN_SECONDS,
                d.seconds.max(0).to_string(),
            );
        }
    }
    let send = BrokerSendRequest {
        topic: topic.topic_name.clone(),
        default_topic: DEFAULT_TOPIC.to_string(),
        default_topic_queue_nums: DEFAULT_TOPIC_QUEUE_NUMS,
        queue_id,
        sys_flag,
        born_timestamp: system
            .born_timestamp
            .as_ref()
            .map(timestamp_millis)
            .unwrap_or_else(now_millis),
        flag: 0,
        properties,
        reconsume_times: 0,
        max_reconsume_times: None,
        batch: false,
        body: message.body,
        born_host: context.remote_addr,
    };
    Ok((system.message_id, send))
}

/// The stored properties of a message (Apache's `buildMessageProperty`): user properties as
/// they are, then TAGS, KEYS (space separated), UNIQ_KEY (the client's message id), the FIFO
/// group as `__SHARDINGKEY`, the delivery time as TIMER_DELIVER_MS, the trace context, the
/// born host and PGROUP (the topic, as Apache's proxy names a v5 producer's group).
fn build_properties(
    context: &ProxyContext,
    topic: &str,
    user_properties: &std::collections::HashMap<String, String>,
    system: &SystemProperties,
) -> ProxyResult<Properties> {
    let tag_bytes = system.tag.as_ref().map_or(0, String::len);
    let key_bytes: usize = system.keys.iter().map(String::len).sum();
    validator::validate_user_properties(user_properties.iter(), tag_bytes + key_bytes)?;
    let mut properties = Properties::new();
    for (k, v) in user_properties {
        properties.insert(k.as_str(), v.as_str());
    }
    if let Some(tag) = &system.tag {
        validator::validate_tag(tag)?;
        properties.insert(property::TAGS, tag.as_str());
    }
    if !system.keys.is_empty() {
        validator::validate_keys(&system.keys)?;
        properties.insert(property::KEYS, system.keys.join(property::KEY_SEPARATOR));
    }
    properties.insert(property::UNIQ_KEY, system.message_id.as_str());
    if let Some(group) = &system.message_group {
        validator::validate_message_group(group)?;
        properties.insert(property::SHARDING_KEY, group.as_str());
    }
    if let Some(at) = &system.delivery_timestamp {
        let deliver_ms = timestamp_millis(at);
        if deliver_ms - now_millis() > MAX_DELAY_MILLIS {
            return Err(ProxyError::new(
                Code::IllegalDeliveryTime,
                format!("delivery timestamp {deliver_ms} is more than one day ahead"),
            ));
        }
        properties.insert(property::TIMER_DELIVER_MS, deliver_ms.to_string());
    }
    if let Some(trace) = system.trace_context.as_deref().filter(|t| !t.is_empty()) {
        properties.insert(property::TRACE_CONTEXT, trace);
    }
    let born_host = if system.born_host.trim().is_empty() {
        context.remote_addr.to_string()
    } else {
        system.born_host.clone()
    };
    properties.insert(property::BORN_HOST, born_host);
    properties.insert(property::PGROUP, topic);
    Ok(properties)
}

fn result_entry(message_id: String, result: Result<SendResult, SendError>) -> SendResultEntry {
    match result {
        Ok(r) => SendResultEntry {
            status: Some(if r.code == 0 {
                ok()
            } else {
                status(code_of_remoting(r.code), format!("{:?}", r.status))
            }),
            message_id,
            transaction_id: r.transaction_id.unwrap_or_default(),
            offset: r.queue_offset,
            recall_handle: r.recall_handle.unwrap_or_default(),
        },
        Err(e) => SendResultEntry {
            status: Some(status(code_of_remoting(e.code), e.remark)),
            message_id,
            transaction_id: String::new(),
            offset: 0,
            recall_handle: String::new(),
        },
    }
}

/// RecallMessage (RocketMQ 5.3.2+): withdraws the timer message `recall_handle` names before it
/// is due, through the broker's send path; returns its message id. A handle that cannot be
/// read is INTERNAL_SERVER_ERROR, as Apache's proxy answers; the broker's refusals map as any
/// broker response code.
pub async fn recall_message(
    broker: &ProxyBrokerView,
    context: &ProxyContext,
    request: RecallMessageRequest,
) -> ProxyResult<String> {
    let topic = validator::validate_topic(request.topic.as_ref(), broker)?;
    if RecallHandle::decode(&request.recall_handle).is_none() {
        return Err(ProxyError::new(
            Code::InternalServerError,
            "recall handle is invalid",
        ));
    }
    // a v5 producer's group is the topic it sends to
    broker
        .send
        .recall_message(&topic, &topic, &request.recall_handle, context.remote_addr)
        .await
        .map_err(|e| ProxyError::new(code_of_remoting(e.code), e.remark))
}

/// The response's status: the entries' common status, else MULTIPLE_RESULTS.
fn overall_status(entries: &[SendResultEntry]) -> Status {
    let mut statuses = entries.iter().filter_map(|e| e.status.as_ref());
    let Some(first) = statuses.next() else {
        return ok();
    };
    if statuses.all(|s| s.code == first.code) {
        first.clone()
    } else {
        status(Code::MultipleResults, "the messages have different results")
    }
}
