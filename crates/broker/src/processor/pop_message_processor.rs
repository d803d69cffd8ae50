//! `PopMessageProcessor`: POP_MESSAGE (200050).
//!
//! A pop reads up to `maxMsgNums` messages from the requested queue (or every read queue with
//! queue id -1) and from the group's pop retry topic, writes one checkpoint per queue read to the
//! revive topic, and only then commits the group's offset past them: a message is either behind
//! a stored checkpoint or still ahead of the committed offset. Each returned message carries its
//! `POP_CK` handle. With nothing to return the request is parked (bounded by
//! `maxPopPollingSize`) until a message arrives on one of its queues or `pollTime` runs out.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrocket_protocol::body::heartbeat::SubscriptionData;
use ferrocket_protocol::body::pop::PopCheckPoint;
use ferrocket_protocol::body::topic::{perm, TopicConfig};
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::pop::{
    consume_init_mode, msg_offset_info_entry, pop_retry_topic, start_offset_info_entry, ExtraInfo,
    PopMessageRequestHeader, PopMessageResponseHeader,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::message::{decode_message, encode_message_ext, property};
use ferrocket_protocol::util::now_millis;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;
use ferrocket_store::{DefaultMessageStore, GetMessageResult, GetMessageStatus};
use tokio::sync::watch;

use super::{decode_header, error};
use crate::broker_config::SharedBrokerConfig;
use crate::filter::{ConsumerFilterManager, ExpressionMessageFilter};
use crate::longpolling::pull_request_hold_service::HoldTicket;
use crate::longpolling::PullRequestHoldService;
use crate::offset::ConsumerOffsetManager;
use crate::pop::{lock_key, PopPollingCounter, QueueLockManager, ReviveLog, MAX_POP_MSG_NUMS};
use crate::subscription::SubscriptionGroupManager;
use crate::topic::TopicConfigManager;

/// How far behind its `pollTime` a request may arrive before it is refused
/// (`PopMessageProcessor.isTimeoutTooMuch`).
const POLL_LATENESS_MILLIS: i64 = 500;
/// How soon a parked pop looks again at a queue another pop held.
const LOCKED_QUEUE_RETRY: Duration = Duration::from_millis(200);
/// The client name pop offsets are committed under.
const POP_CLIENT: &str = "PopMessageProcessor";

/// What a pop uses.
pub struct PopMessageContext {
    pub config: SharedBrokerConfig,
    pub store: Arc<DefaultMessageStore>,
    pub topics: Arc<TopicConfigManager>,
    pub groups: Arc<SubscriptionGroupManager>,
    pub offsets: Arc<ConsumerOffsetManager>,
    pub filters: Arc<ConsumerFilterManager>,
    pub hold: Arc<PullRequestHoldService>,
    pub locks: Arc<QueueLockManager>,
    pub revive_log: Arc<ReviveLog>,
    pub polling: Arc<PopPollingCounter>,
    pub shutdown: watch::Receiver<bool>,
}

/// An accepted pop.
struct PopPlan {
    topic_config: TopicConfig,
    filter: ExpressionMessageFilter,
    retry_topic: String,
    revive_qid: i32,
    pop_time: i64,
}

/// What one pass over the queues collected.
#[derive(Default)]
struct Popped {
    messages: Vec<Bytes>,
    rest_num: i64,
    start_offset_info: Vec<String>,
    msg_offset_info: Vec<String>,
    /// A queue was skipped because another pop held it: what it holds may be left for us.
    skipped_locked: bool,
}

/// Handles a pop: validate, pop, park while allowed and nothing was found.
pub async fn process(
    ctx: &PopMessageContext,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, PopMessageRequestHeader);
    let now = now_millis();
    let born_time = if h.born_time <= 0 { now } else { h.born_time };
    if h.poll_time > 0 && now - born_time - h.poll_time > POLL_LATENESS_MILLIS {
        return error(
            &request,
            response::POLLING_TIMEOUT,
            format!("the broker received the pop too late, bornTime {born_time}, now {now}"),
        );
    }
    let mut plan = match validate(ctx, &h) {
        Ok(plan) => plan,
        Err((code, remark)) => return error(&request, code, remark),
    };
    let deadline = born_time + h.poll_time.max(0);
    let mut worker_released = false;
    loop {
        plan.pop_time = now_millis();
        let can_poll = h.poll_time > 0 && plan.pop_time < deadline && !*ctx.shutdown.borrow();
        if can_poll && ctx.polling.total() >= ctx.config.get().max_pop_polling_size {
            return Some(answer(
                &request,
                &h,
                &plan,
                Popped::default(),
                response::POLLING_FULL,
            ));
        }
        // parked before reading, so a message stored meanwhile still wakes this request
        let tickets = if can_poll {
            park(ctx, &h, &plan)
        } else {
            Vec::new()
        };
        let popped = pop_once(ctx, &h, &plan).await;
        if !popped.messages.is_empty() || !can_poll {
            let code = if popped.messages.is_empty() {
                response::POLLING_TIMEOUT
            } else {
                response::SUCCESS
            };
            return Some(answer(&request, &h, &plan, popped, code));
        }
        if !worker_released {
            // parked: the worker serves the next request of the queue meanwhile
            crate::processor::request_queue::release_worker();
            worker_released = true;
        }
        let mut wait = Duration::from_millis((deadline - now_millis()).max(0) as u64);
        if popped.skipped_locked {
            // no arrival will wake us for what the other pop leaves behind: look again soon
            wait = wait.min(LOCKED_QUEUE_RETRY);
        }
        let _counted = ctx
            .polling
            .enter(lock_key(&h.topic, &h.consumer_group, h.queue_id));
        wait_for_arrival(&tickets, wait, &ctx.shutdown).await;
    }
}

/// Waits until a ticket is woken, `wait` passes or the broker shuts down.
pub(crate) async fn wait_for_arrival(
    tickets: &[HoldTicket<'_>],
    wait: Duration,
    shutdown: &watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    let woken = futures::future::select_all(tickets.iter().map(|t| Box::pin(t.notified())));
    tokio::select! {
        _ = woken => {}
        _ = tokio::time::sleep(wait) => {}
        _ = stop.changed() => {}
    }
}

/// Parks the request on every queue it reads: the topic's (one or all) and the retry topic's.
fn park<'a>(
    ctx: &'a PopMessageContext,
    h: &PopMessageRequestHeader,
    plan: &PopPlan,
) -> Vec<HoldTicket<'a>> {
    let queues = queue_ids(h.queue_id, &plan.topic_config, 0);
    park_on(
        &ctx.hold,
        &h.topic,
        queues,
        &plan.retry_topic,
        plan.filter.codes(),
    )
}

/// Parks on `queues` of `topic` and on the queue of `retry_topic`, woken by messages whose tag
/// code is in `codes` (`None`: any).
pub(crate) fn park_on<'a>(
    hold: &'a PullRequestHoldService,
    topic: &str,
    queues: Vec<i32>,
    retry_topic: &str,
    codes: Option<Arc<BTreeSet<i32>>>,
) -> Vec<HoldTicket<'a>> {
    let mut tickets: Vec<_> = queues
        .into_iter()
        .map(|q| hold.suspend_pull_request(topic, q, codes.clone()))
        .collect();
    tickets.push(hold.suspend_pull_request(retry_topic, 0, codes));
    tickets
}

/// The checks of `PopMessageProcessor.processRequest`, in its order, then the filter.
fn validate(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
) -> Result<PopPlan, (i32, String)> {
    let config = ctx.config.get();
    if !perm::is_readable(config.broker_permission) {
        return Err((
            response::NO_PERMISSION,
            format!("the broker[{}] pop message is forbidden", config.broker_ip1),
        ));
    }
    if h.max_msg_nums > MAX_POP_MSG_NUMS {
        return Err((
            response::INVALID_PARAMETER,
            format!(
                "the broker[{}] pop message's num is greater than 32",
                config.broker_ip1
            ),
        ));
    }
    let topic_config = topic_and_queue(&ctx.topics, &h.topic, h.queue_id)?;
    if !perm::is_readable(topic_config.perm) {
        return Err((
            response::NO_PERMISSION,
            format!("the topic[{}] peeking message is forbidden", h.topic),
        ));
    }
    let Some(group) = ctx.groups.find_subscription_group_config(&h.consumer_group) else {
        return Err((
            response::SUBSCRIPTION_GROUP_NOT_EXIST,
            format!("subscription group [{}] does not exist", h.consumer_group),
        ));
    };
    if !group.consume_enable {
        return Err((
            response::NO_PERMISSION,
            format!("subscription group no permission, {}", h.consumer_group),
        ));
    }
    let filter = build_filter(ctx, h)?;
    Ok(PopPlan {
        topic_config,
        filter,
        retry_topic: pop_retry_topic(&h.topic, &h.consumer_group),
        revive_qid: ctx.revive_log.next_revive_qid(),
        pop_time: now_millis(),
    })
}

/// The topic's settings, when it exists and `queue_id` is one of its read queues (or -1).
pub(crate) fn topic_and_queue(
    topics: &TopicConfigManager,
    topic: &str,
    queue_id: i32,
) -> Result<TopicConfig, (i32, String)> {
    let Some(topic_config) = topics.select_topic_config(topic) else {
        return Err((
            response::TOPIC_NOT_EXIST,
            format!("topic[{topic}] not exist, apply first please!"),
        ));
    };
    if queue_id >= topic_config.read_queue_nums {
        return Err((
            response::INVALID_PARAMETER,
            format!(
                "queueId[{queue_id}] is illegal, topic:[{topic}] topicConfig.readQueueNums:[{}]",
                topic_config.read_queue_nums
            ),
        ));
    }
    Ok(topic_config)
}

/// The pop's TAG or SQL92 filter.
fn build_filter(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
) -> Result<ExpressionMessageFilter, (i32, String)> {
    let expression = h
        .exp
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or("*");
    match h.exp_type.as_deref().map(str::trim) {
        Some(t) if !ferrocket_filter::is_tag_type(Some(t)) => {
            if !ctx.config.get().enable_property_filter {
                return Err((
                    response::NO_PERMISSION,
                    "the broker does not support consumer to filter message by SQL92".into(),
                ));
            }
            ctx.filters
                .compile(t, expression)
                .map(ExpressionMessageFilter::sql92)
                .map_err(|e| {
                    (
                        response::SUBSCRIPTION_PARSE_FAILED,
                        format!("parse the consumer's subscription failed: {e}"),
                    )
                })
        }
        _ => Ok(ExpressionMessageFilter::new(&SubscriptionData::tag(
            &h.topic, expression,
        ))),
    }
}

/// The queues of the topic a pop reads, starting from `start` for queue id -1.
pub(crate) fn queue_ids(queue_id: i32, topic: &TopicConfig, start: usize) -> Vec<i32> {
    if queue_id >= 0 {
        return vec![queue_id];
    }
    let n = topic.read_queue_nums.max(0) as usize;
    (0..n).map(|i| ((start + i) % n) as i32).collect()
}

/// One pass: the retry topic first for `popFromRetryProbability` percent of pops, then the
/// topic's queues, then the retry topic if the batch is not full yet.
async fn pop_once(ctx: &PopMessageContext, h: &PopMessageRequestHeader, plan: &PopPlan) -> Popped {
    let random = rand::random::<u32>() as usize % 100;
    let retry_first = (random as i32) < ctx.config.get().pop_from_retry_probability;
    let retry_exists = ctx.topics.select_topic_config(&plan.retry_topic).is_some();
    let mut popped = Popped::default();
    if retry_first && retry_exists {
        pop_from_queue(ctx, h, plan, &plan.retry_topic, 0, &mut popped).await;
    }
    for q in queue_ids(h.queue_id, &plan.topic_config, random) {
        pop_from_queue(ctx, h, plan, &h.topic, q, &mut popped).await;
    }
    if !retry_first && retry_exists {
        pop_from_queue(ctx, h, plan, &plan.retry_topic, 0, &mut popped).await;
    }
    popped
}

/// Pops what is left of the batch from one queue: read, store the checkpoint, commit.
async fn pop_from_queue(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
    plan: &PopPlan,
    topic: &str,
    queue_id: i32,
    popped: &mut Popped,
) {
    let want = h.max_msg_nums - popped.messages.len() as i32;
    let Some(_lock) = ctx
        .locks
        .try_lock(lock_key(topic, &h.consumer_group, queue_id))
    else {
        return;
    };
    let retry = topic != h.topic;
    if want <= 0 {
        popped.rest_num += rest(ctx, h, topic, queue_id, retry);
        return;
    }
    let offset = pop_offset(ctx, h, topic, queue_id, retry);
    let Some(mut result) = read(ctx, h, plan, topic, queue_id, offset, want).await else {
        return;
    };
    if matches!(
        result.status,
        GetMessageStatus::OffsetTooSmall
            | GetMessageStatus::OffsetOverflowBadly
            | GetMessageStatus::OffsetFoundNull
    ) {
        // the offset left the queue (retention, a reset): continue from where the store says
        let next = result.next_begin_offset;
        ctx.offsets
            .commit_offset(POP_CLIENT, &h.consumer_group, topic, queue_id, next);
        match read(ctx, h, plan, topic, queue_id, next, want).await {
            Some(r) => result = r,
            None => return,
        }
    }
    popped.rest_num += (result.max_offset - result.next_begin_offset).max(0);
    let start = result
        .message_queue_offsets
        .first()
        .copied()
        .unwrap_or(offset);
    if !result.messages.is_empty() {
        let ck = checkpoint(
            ctx,
            h,
            plan,
            topic,
            queue_id,
            start,
            &result.message_queue_offsets,
        );
        if let Err(e) = ctx.revive_log.append_ck(&ck, plan.revive_qid).await {
            // without a checkpoint the messages must stay ahead of the offset
            tracing::warn!(topic, queue_id, error = %e, "pop checkpoint not stored");
            return;
        }
        add_messages(ctx, h, plan, &ck, retry, result.messages, popped);
    }
    if result.next_begin_offset > offset {
        ctx.offsets.commit_offset(
            POP_CLIENT,
            &h.consumer_group,
            topic,
            queue_id,
            result.next_begin_offset,
        );
    }
}

/// Messages behind the group's offset on a queue this pop had no room left for.
fn rest(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
    topic: &str,
    q: i32,
    retry: bool,
) -> i64 {
    let offset = pop_offset(ctx, h, topic, q, retry);
    (ctx.store.get_max_offset_in_queue(topic, q) - offset).max(0)
}

/// The group's committed offset, or the init offset (committed at once) for a new group.
fn pop_offset(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
    topic: &str,
    queue_id: i32,
    retry: bool,
) -> i64 {
    let committed = ctx.offsets.query_offset(&h.consumer_group, topic, queue_id);
    if committed >= 0 {
        return committed;
    }
    let min = ctx.store.get_min_offset_in_queue(topic, queue_id);
    let init = if retry || h.init_mode == consume_init_mode::MIN {
        min
    } else if min <= 0 && ctx.store.check_in_mem_by_consume_offset(topic, queue_id, 0) {
        0
    } else {
        (ctx.store.get_max_offset_in_queue(topic, queue_id) - 1).max(0)
    };
    ctx.offsets
        .commit_offset(POP_CLIENT, &h.consumer_group, topic, queue_id, init);
    init
}

/// Reads on the blocking pool (the pages may not be resident).
async fn read(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
    plan: &PopPlan,
    topic: &str,
    queue_id: i32,
    offset: i64,
    nums: i32,
) -> Option<GetMessageResult> {
    let (store, filter) = (ctx.store.clone(), plan.filter.clone());
    let (group, topic) = (h.consumer_group.clone(), topic.to_string());
    let read = ferrocket_store::blocking::run_blocking(move || {
        let result = store.get_message(
            &group,
            &topic,
            queue_id,
            offset,
            nums,
            i32::MAX,
            Some(&filter),
        );
        // the records are decoded on the async worker: fault their pages in here
        result.touch_pages();
        result
    });
    match read.await {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "reading messages to pop failed");
            None
        }
    }
}

fn checkpoint(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
    plan: &PopPlan,
    topic: &str,
    queue_id: i32,
    start: i64,
    offsets: &[i64],
) -> PopCheckPoint {
    PopCheckPoint {
        start_offset: start,
        pop_time: plan.pop_time,
        invisible_time: h.invisible_time,
        num: offsets.len() as i32,
        queue_id,
        topic: topic.to_string(),
        cid: h.consumer_group.clone(),
        queue_offset_diff: offsets.iter().map(|o| (o - start) as i32).collect(),
        broker_name: Some(ctx.config.get().broker_name.clone()),
        ..Default::default()
    }
}

/// Stamps each message with its `POP_CK` handle (and the subscribed topic for retried ones) and
/// records the offset info of its queue.
fn add_messages(
    ctx: &PopMessageContext,
    h: &PopMessageRequestHeader,
    plan: &PopPlan,
    ck: &PopCheckPoint,
    retry: bool,
    records: Vec<Bytes>,
    popped: &mut Popped,
) {
    let broker_name = ctx.config.get().broker_name.clone();
    let mut offsets = Vec::with_capacity(records.len());
    for record in records {
        let Ok((mut msg, _)) = decode_message(&record) else {
            tracing::warn!(topic = %ck.topic, "a popped message cannot be decoded; left to revive");
            continue;
        };
        let handle = ExtraInfo {
            ck_queue_offset: ck.start_offset,
            pop_time: plan.pop_time,
            invisible_time: h.invisible_time,
            revive_qid: plan.revive_qid,
            retry,
            broker_name: broker_name.clone(),
            queue_id: ck.queue_id,
            queue_offset: Some(msg.queue_offset),
        };
        msg.message.set_property(property::POP_CK, handle.build());
        if msg.message.property(property::FIRST_POP_TIME).is_none() {
            msg.message
                .set_property(property::FIRST_POP_TIME, plan.pop_time.to_string());
        }
        if retry {
            msg.message.topic = h.topic.clone();
        }
        match encode_message_ext(&msg) {
            Ok(bytes) => {
                offsets.push(msg.queue_offset);
                popped.messages.push(Bytes::from(bytes));
            }
            Err(e) => tracing::warn!(error = %e, "a popped message cannot be re-encoded"),
        }
    }
    if !offsets.is_empty() {
        popped
            .start_offset_info
            .push(start_offset_info_entry(retry, ck.queue_id, ck.start_offset));
        popped
            .msg_offset_info
            .push(msg_offset_info_entry(retry, ck.queue_id, &offsets));
    }
}

/// The response: the header on every answer, the messages on SUCCESS.
fn answer(
    request: &RemotingCommand,
    h: &PopMessageRequestHeader,
    plan: &PopPlan,
    popped: Popped,
    code: i32,
) -> RemotingCommand {
    let found = !popped.messages.is_empty();
    let header = PopMessageResponseHeader {
        pop_time: plan.pop_time,
        invisible_time: h.invisible_time,
        revive_qid: plan.revive_qid,
        rest_num: popped.rest_num,
        start_offset_info: found.then(|| popped.start_offset_info.join(";")),
        msg_offset_info: found.then(|| popped.msg_offset_info.join(";")),
        order_count_info: None,
    };
    let mut reply = RemotingCommand::response_to(request, code);
    header.write_to(&mut reply);
    reply.remark = Some(
        if found {
            "FOUND"
        } else {
            "NO_MESSAGE_IN_QUEUE"
        }
        .to_string(),
    );
    if found {
        let mut body = Vec::with_capacity(popped.messages.iter().map(Bytes::len).sum());
        for m in &popped.messages {
            body.extend_from_slice(m);
        }
        reply.body = Bytes::from(body);
    }
    reply
}
