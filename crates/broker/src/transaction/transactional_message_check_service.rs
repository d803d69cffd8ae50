//! `TransactionalMessageCheckService`: asks producers about half messages nobody resolved.
//!
//! Every `transactionCheckInterval` it walks the half queue from the system group's offset,
//! skipping offsets the op queue marks resolved. An unresolved half message older than
//! `transactionTimeOut` is appended again (with `TRANSACTION_CHECK_TIMES` + 1) and
//! CHECK_TRANSACTION_STATE is sent one-way to a producer of its group; after
//! `transactionCheckMax` checks it is moved to `TRANS_CHECK_MAX_TIME_TOPIC`.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::body::topic::perm;
use ferrocket_protocol::code::request;
use ferrocket_protocol::header::transaction::CheckTransactionStateRequestHeader;
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::{
    decode_message, encode_message_ext, parse_record, property, string_to_properties,
};
use ferrocket_protocol::util::now_millis;
use ferrocket_protocol::RemotingCommand;

use super::transactional_message_bridge::{build_op_message, parse_op_body};
use crate::broker_config::SharedBrokerConfig;
use crate::client::{ProducerChannel, ProducerManager};
use crate::mix_all::CID_SYS_RMQ_TRANS;
use crate::offset::ConsumerOffsetManager;
use crate::topic::topic_validator::{
    RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC, RMQ_SYS_TRANS_HALF_TOPIC, RMQ_SYS_TRANS_OP_HALF_TOPIC,
};
use crate::topic::TopicConfigManager;
use ferrocket_store::{DefaultMessageStore, MessageExtBrokerInner};

/// Op messages read per round at most.
const MAX_OP_MESSAGES_PER_ROUND: usize = 65_536;
/// Records read per store call.
const BATCH: i32 = 32;

/// What the transaction check uses.
pub struct TransactionCheckContext {
    /// The live settings (`transactionTimeOut`, `transactionCheckMax`, `brokerName`).
    pub config: SharedBrokerConfig,
    /// The half and op queues.
    pub store: Arc<DefaultMessageStore>,
    /// The system group's progress through both queues.
    pub offsets: Arc<ConsumerOffsetManager>,
    /// `TRANS_CHECK_MAX_TIME_TOPIC` is created on demand.
    pub topics: Arc<TopicConfigManager>,
    /// The producers a check is sent to.
    pub producers: Arc<ProducerManager>,
    /// The store host written into op messages.
    pub store_host: SocketAddr,
}

/// Runs one check round every `transactionCheckInterval` until the task is aborted.
pub async fn run(ctx: Arc<TransactionCheckContext>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        check(&ctx).await;
    }
}

fn start_offset(ctx: &TransactionCheckContext, topic: &str) -> i64 {
    let committed = ctx.offsets.query_offset(CID_SYS_RMQ_TRANS, topic, 0);
    let min = ctx.store.get_min_offset_in_queue(topic, 0);
    committed.max(min)
}

/// Reads the op queue from the group's offset: every op queue offset with the half offsets it
/// resolves.
fn load_ops(ctx: &TransactionCheckContext, from: i64) -> Vec<(i64, Vec<i64>)> {
    let store = &ctx.store;
    let max = store.get_max_offset_in_queue(RMQ_SYS_TRANS_OP_HALF_TOPIC, 0);
    let mut ops = Vec::new();
    let mut offset = from;
    while offset < max && ops.len() < MAX_OP_MESSAGES_PER_ROUND {
        let r = store.get_message(
            "",
            RMQ_SYS_TRANS_OP_HALF_TOPIC,
            0,
            offset,
            BATCH,
            i32::MAX,
            None,
        );
        if r.next_begin_offset <= offset {
            break;
        }
        for (record, qo) in r.messages.iter().zip(&r.message_queue_offsets) {
            if let Ok(view) = parse_record(record) {
                ops.push((*qo, parse_op_body(view.body)));
            }
        }
        offset = r.next_begin_offset;
    }
    ops
}

/// One check round: read the op queue, walk the half queue, record the progress of both.
pub async fn check(ctx: &TransactionCheckContext) {
    let half_start = start_offset(ctx, RMQ_SYS_TRANS_HALF_TOPIC);
    let half_max = ctx
        .store
        .get_max_offset_in_queue(RMQ_SYS_TRANS_HALF_TOPIC, 0);
    if half_start >= half_max {
        return;
    }
    let op_start = start_offset(ctx, RMQ_SYS_TRANS_OP_HALF_TOPIC);
    let ops = load_ops(ctx, op_start);
    let resolved: HashSet<i64> = ops
        .iter()
        .flat_map(|(_, offsets)| offsets.iter().copied())
        .collect();
    let offset = walk_half_queue(ctx, half_start, half_max, &resolved).await;
    commit_progress(ctx, offset, op_start, &ops);
}

/// Where the walk goes after one half message.
enum Step {
    /// On to the next half message.
    Next,
    /// This one (and so every later one) waits for the next round.
    Stop,
}

/// Checks the unresolved half messages from `from`; returns the offset the next round starts at.
async fn walk_half_queue(
    ctx: &TransactionCheckContext,
    from: i64,
    half_max: i64,
    resolved: &HashSet<i64>,
) -> i64 {
    let now = now_millis();
    let mut offset = from;
    'walk: while offset < half_max {
        let r = ctx.store.get_message(
            "",
            RMQ_SYS_TRANS_HALF_TOPIC,
            0,
            offset,
            BATCH,
            i32::MAX,
            None,
        );
        if r.next_begin_offset <= offset {
            break;
        }
        for (record, qo) in r.messages.iter().zip(&r.message_queue_offsets) {
            let qo = *qo;
            if !resolved.contains(&qo) {
                if let Step::Stop = check_half_message(ctx, record, qo, now).await {
                    break 'walk;
                }
            }
            offset = qo + 1;
        }
        offset = offset.max(r.next_begin_offset.min(half_max));
    }
    offset
}

/// One unresolved half message: discarded after `transactionCheckMax` checks, left alone while
/// it is younger than its timeout, else renewed and checked back with its producer.
async fn check_half_message(
    ctx: &TransactionCheckContext,
    record: &bytes::Bytes,
    qo: i64,
    now: i64,
) -> Step {
    let config = ctx.config.get();
    let Ok(view) = parse_record(record) else {
        return Step::Next;
    };
    let mut properties = string_to_properties(&view.properties_lossy());
    let checks: i32 = properties
        .get(property::TRANSACTION_CHECK_TIMES)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if checks >= config.transaction_check_max {
        return discard(ctx, &view, record, &properties, qo, checks).await;
    }
    // a copy this round wrote (a check just sent) waits for the next round
    if view.store_timestamp >= now {
        return Step::Stop;
    }
    let immunity = properties
        .get(property::CHECK_IMMUNITY_TIME_IN_SECONDS)
        .and_then(|v| v.parse::<i64>().ok())
        .map(|s| s * 1000)
        .unwrap_or(config.transaction_time_out as i64);
    // like RocketMQ, the age counts from the producer's born time, so an unresolved
    // half message is checked once per round after transactionTimeOut
    let age = now - view.born_timestamp;
    if (0..=immunity).contains(&age) {
        return Step::Stop;
    }
    // A copy written by an earlier check waits transactionTimeOut too, so a producer whose
    // answer is on its way is not asked (and the message committed) twice. With the default
    // interval (longer than the timeout) this changes nothing.
    if checks > 0 && now - view.store_timestamp < config.transaction_time_out as i64 {
        return Step::Stop;
    }
    properties.insert(property::TRANSACTION_CHECK_TIMES, (checks + 1).to_string());
    let renewed =
        MessageExtBrokerInner::from_stored(&view, record, RMQ_SYS_TRANS_HALF_TOPIC, 0, &properties);
    let put = ctx.store.put_message(renewed).await;
    let Some(append) = put.append.filter(|_| put.status.is_ok()) else {
        return Step::Stop;
    };
    // The renewed copy replaces this one. Marking this one done keeps it from being
    // checked (and committed) a second time should the broker die before the half
    // queue progress below is persisted.
    let done = build_op_message(qo, ctx.store_host);
    if !ctx.store.put_message(done).await.is_ok() {
        tracing::warn!(
            half_offset = qo,
            "marking a checked half message done failed"
        );
    }
    send_check_message(
        ctx,
        &view,
        record,
        append.wrote_offset,
        append.logics_offset,
        &append.msg_id,
    )
    .await;
    Step::Next
}

/// Moves a half message checked too often to `TRANS_CHECK_MAX_TIME_TOPIC`.
async fn discard(
    ctx: &TransactionCheckContext,
    view: &ferrocket_protocol::message::RecordView<'_>,
    record: &bytes::Bytes,
    properties: &ferrocket_protocol::message::Properties,
    qo: i64,
    checks: i32,
) -> Step {
    let topic = RMQ_SYS_TRANS_CHECK_MAX_TIME_TOPIC;
    ctx.topics
        .create_topic_in_send_message_back_method(topic, 1, perm::READ_WRITE, 0);
    let discarded = MessageExtBrokerInner::from_stored(view, record, topic, 0, properties);
    if !ctx.store.put_message(discarded).await.is_ok() {
        return Step::Stop;
    }
    tracing::error!(
        half_offset = qo,
        checks,
        real_topic = properties.get(property::REAL_TOPIC).unwrap_or_default(),
        uniq_key = properties.get(property::UNIQ_KEY).unwrap_or_default(),
        "half message has been checked too many times, so discard it by moving it to system topic {topic}"
    );
    Step::Next
}

/// Records how far both queues are done: the half queue up to `offset`, the op queue up to the
/// last op message whose every half offset lies behind it.
fn commit_progress(
    ctx: &TransactionCheckContext,
    offset: i64,
    op_start: i64,
    ops: &[(i64, Vec<i64>)],
) {
    let offsets = &ctx.offsets;
    offsets.commit_offset(
        "broker",
        CID_SYS_RMQ_TRANS,
        RMQ_SYS_TRANS_HALF_TOPIC,
        0,
        offset,
    );
    // an op message may be dropped once every half offset it lists is behind the half progress
    let mut op_offset = op_start;
    for (qo, halves) in ops {
        if halves.iter().all(|h| *h < offset) {
            op_offset = qo + 1;
        } else {
            break;
        }
    }
    offsets.commit_offset(
        "broker",
        CID_SYS_RMQ_TRANS,
        RMQ_SYS_TRANS_OP_HALF_TOPIC,
        0,
        op_offset,
    );
}

async fn send_check_message(
    ctx: &TransactionCheckContext,
    view: &ferrocket_protocol::message::RecordView<'_>,
    record: &bytes::Bytes,
    commit_log_offset: i64,
    queue_offset: i64,
    offset_msg_id: &str,
) {
    let Ok((mut msg, _)) = decode_message(record) else {
        return;
    };
    let real_topic = msg
        .message
        .property(property::REAL_TOPIC)
        .map(str::to_string);
    let real_queue = msg
        .message
        .property(property::REAL_QID)
        .and_then(|q| q.parse().ok());
    if let Some(t) = &real_topic {
        msg.message.topic = t.clone();
    }
    if let Some(q) = real_queue {
        msg.queue_id = q;
    }
    msg.commit_log_offset = commit_log_offset;
    msg.queue_offset = queue_offset;
    let uniq = msg.message.property(property::UNIQ_KEY).map(str::to_string);
    let header = CheckTransactionStateRequestHeader {
        topic: real_topic,
        tran_state_table_offset: queue_offset,
        commit_log_offset,
        msg_id: uniq.clone(),
        transaction_id: msg
            .message
            .property(property::TRANSACTION_ID)
            .map(str::to_string)
            .or(uniq),
        offset_msg_id: Some(offset_msg_id.to_string()),
        broker_name: Some(ctx.config.get().broker_name.clone()),
    };
    let group = string_to_properties(&view.properties_lossy())
        .get(property::PGROUP)
        .map(str::to_string)
        .unwrap_or_default();
    match ctx.producers.get_available_producer(&group) {
        Some(ProducerChannel::Remoting(ch)) => {
            let Ok(body) = encode_message_ext(&msg) else {
                return;
            };
            let mut cmd = RemotingCommand::request(request::CHECK_TRANSACTION_STATE);
            header.write_to(&mut cmd);
            cmd.body = body.into();
            if let Err(e) = ch.send_oneway(cmd).await {
                tracing::debug!(group = %group, error = %e, "transaction check not sent");
            }
        }
        Some(ProducerChannel::Client(client)) => {
            if let Err(e) = client.check_transaction_state(header, msg) {
                tracing::debug!(group = %group, error = %e, "transaction check not sent");
            }
        }
        None => tracing::debug!(group = %group, "no producer online to check a transaction"),
    }
}
