//! queryMsgById, queryMsgByKey, queryMsgByUniqueKey, queryMsgByOffset, printMsg, sendMessage,
//! consumeMessage.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ferrocket_client::admin::MQAdminExt;
use ferrocket_client::{
    describe, Message, MessageExt, MessageQueue, Producer, ProducerConfig, PullConsumer,
    PullConsumerConfig, PullStatus,
};
use serde_json::{json, Value};

use super::output::{human_millis, line, now_millis, parse_timestamp, Report};

/// Group name of the pull consumer the read-only commands use (never commits).
const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";

/// Writes the body where mqadmin does (`/tmp/rocketmq/msgbodys/<id>`), returning the path.
fn body_file(m: &MessageExt) -> String {
    let dir = std::env::temp_dir().join("rocketmq").join("msgbodys");
    let path = dir.join(m.unique_id());
    if std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&path, &m.message.body).is_ok() {
        path.display().to_string()
    } else {
        String::new()
    }
}

fn properties_string(m: &MessageExt) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in m.message.properties.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "{k}={v}");
    }
    s.push('}');
    s
}

/// A message as JSON.
fn message_json(m: &MessageExt) -> Value {
    let props: BTreeMap<&str, &str> = m.message.properties.iter().collect();
    json!({
        "offsetMsgId": m.offset_msg_id(),
        "msgId": m.unique_id(),
        "topic": m.message.topic,
        "tags": m.message.tags(),
        "keys": m.message.keys(),
        "queueId": m.queue_id,
        "queueOffset": m.queue_offset,
        "commitLogOffset": m.commit_log_offset,
        "reconsumeTimes": m.reconsume_times,
        "bornTimestamp": m.born_timestamp,
        "storeTimestamp": m.store_timestamp,
        "bornHost": m.born_host.to_string(),
        "storeHost": m.store_host.to_string(),
        "sysFlag": m.sys_flag,
        "properties": props,
        "body": String::from_utf8_lossy(&m.message.body),
    })
}

/// mqadmin's message detail (`QueryMsgByIdSubCommand.printMsg`).
fn print_detail(text: &mut String, m: &MessageExt, print_body: bool) {
    let null = |v: Option<&str>| v.unwrap_or("null").to_string();
    line!(text, "{:<20} {}", "OffsetID:", m.offset_msg_id());
    line!(text, "{:<20} {}", "Topic:", m.message.topic);
    line!(text, "{:<20} [{}]", "Tags:", null(m.message.tags()));
    line!(text, "{:<20} [{}]", "Keys:", null(m.message.keys()));
    line!(text, "{:<20} {}", "Queue ID:", m.queue_id);
    line!(text, "{:<20} {}", "Queue Offset:", m.queue_offset);
    line!(text, "{:<20} {}", "CommitLog Offset:", m.commit_log_offset);
    line!(text, "{:<20} {}", "Reconsume Times:", m.reconsume_times);
    line!(
        text,
        "{:<20} {}",
        "Born Timestamp:",
        human_millis(m.born_timestamp)
    );
    line!(
        text,
        "{:<20} {}",
        "Store Timestamp:",
        human_millis(m.store_timestamp)
    );
    line!(text, "{:<20} {}", "Born Host:", m.born_host);
    line!(text, "{:<20} {}", "Store Host:", m.store_host);
    line!(text, "{:<20} {}", "System Flag:", m.sys_flag);
    line!(text, "{:<20} {}", "Properties:", properties_string(m));
    line!(text, "{:<20} {}", "Message Body Path:", body_file(m));
    if print_body {
        line!(
            text,
            "{:<20} {}",
            "Message Body:",
            String::from_utf8_lossy(&m.message.body)
        );
    }
}

/// `queryMsgById` options.
#[derive(clap::Args)]
pub struct QueryMsgByIdArgs {
    /// Offset message id(s), `,`-separated; a unique key is looked up when `-t` is given.
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// Topic (needed only for unique keys).
    #[arg(short = 't', long = "topic")]
    topic: Option<String>,
    /// Print the body in this charset (UTF-8 only).
    #[arg(short = 'f', long = "bodyFormat")]
    body_format: Option<String>,
    /// With `-d`: have this group's member consume the message now.
    #[arg(short = 'g', long = "consumerGroup", requires = "client_id")]
    group: Option<String>,
    /// With `-g`: the member that consumes the message.
    #[arg(short = 'd', long = "clientId", requires = "group")]
    client_id: Option<String>,
}

pub(super) async fn query_msg_by_id(
    admin: &MQAdminExt,
    a: QueryMsgByIdArgs,
) -> anyhow::Result<Report> {
    let mut text = String::new();
    let mut found = Vec::new();
    for id in a.msg_id.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let msg = match admin.view_message(id).await {
            Ok(m) => m,
            Err(e) => match &a.topic {
                Some(t) => admin
                    .query_message(t, id, 32, 0, i64::MAX, true)
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("message {id} not found: {e}"))?,
                None => return Err(e.into()),
            },
        };
        if let (Some(group), Some(client_id)) = (&a.group, &a.client_id) {
            let topic = &msg.message.topic;
            let result = admin
                .consume_message_directly(group, client_id, topic, msg.offset_msg_id())
                .await?;
            line!(text, "{}", serde_json::to_string(&result)?);
            found.push(serde_json::to_value(&result)?);
            continue;
        }
        print_detail(&mut text, &msg, a.body_format.is_some());
        found.push(message_json(&msg));
    }
    Ok(Report::new(text, json!(found)))
}

/// `queryMsgByKey` options.
#[derive(clap::Args)]
pub struct QueryMsgByKeyArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Message key.
    #[arg(short = 'k', long = "msgKey")]
    key: String,
    /// Begin timestamp (ms).
    #[arg(short = 'b', long = "beginTimestamp", default_value_t = 0)]
    begin: i64,
    /// End timestamp (ms).
    #[arg(short = 'e', long = "endTimestamp", default_value_t = i64::MAX)]
    end: i64,
    /// Most messages returned.
    #[arg(short = 'm', long = "maxNum", default_value_t = 64)]
    max_num: i32,
}

pub(super) async fn query_msg_by_key(
    admin: &MQAdminExt,
    a: QueryMsgByKeyArgs,
) -> anyhow::Result<Report> {
    let msgs = admin
        .query_message(
            a.topic.trim(),
            a.key.trim(),
            a.max_num,
            a.begin,
            a.end,
            false,
        )
        .await?;
    let mut text = String::new();
    line!(
        text,
        "{:<50} {:>4} {:>40}",
        "#Message ID",
        "#QID",
        "#Offset"
    );
    for m in &msgs {
        line!(
            text,
            "{:<50} {:>4} {:>40}",
            m.unique_id(),
            m.queue_id,
            m.queue_offset
        );
    }
    Ok(Report::new(
        text,
        json!(msgs.iter().map(message_json).collect::<Vec<_>>()),
    ))
}

/// `queryMsgByUniqueKey` options.
#[derive(clap::Args)]
pub struct QueryMsgByUniqueKeyArgs {
    /// The unique key (client message id).
    #[arg(short = 'i', long = "msgId")]
    msg_id: String,
    /// The message's topic.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Print every match (at most 32), not only the first.
    #[arg(short = 'a', long = "showAll")]
    show_all: bool,
}

pub(super) async fn query_msg_by_unique_key(
    admin: &MQAdminExt,
    a: QueryMsgByUniqueKeyArgs,
) -> anyhow::Result<Report> {
    let mut msgs = admin
        .query_message(a.topic.trim(), a.msg_id.trim(), 32, 0, i64::MAX, true)
        .await?;
    if msgs.is_empty() {
        anyhow::bail!(
            "message {} not found in topic {}",
            a.msg_id.trim(),
            a.topic.trim()
        );
    }
    if !a.show_all {
        msgs.truncate(1);
    }
    let mut text = String::new();
    for m in &msgs {
        print_detail(&mut text, m, false);
    }
    Ok(Report::new(
        text,
        json!(msgs.iter().map(message_json).collect::<Vec<_>>()),
    ))
}

async fn tools_consumer(admin: &MQAdminExt, group: Option<&str>) -> anyhow::Result<PullConsumer> {
    let config = PullConsumerConfig::new(
        group.unwrap_or(TOOLS_CONSUMER_GROUP),
        admin.namesrv_addrs().join(";"),
    );
    Ok(PullConsumer::start(config).await?)
}

/// `queryMsgByOffset` options.
#[derive(clap::Args)]
pub struct QueryMsgByOffsetArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Broker name.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: String,
    /// Queue id.
    #[arg(short = 'i', long = "queueId")]
    queue_id: i32,
    /// Queue offset.
    #[arg(short = 'o', long = "offset")]
    offset: i64,
    /// Print the body in this charset (UTF-8 only).
    #[arg(short = 'f', long = "bodyFormat")]
    body_format: Option<String>,
}

pub(super) async fn query_msg_by_offset(
    admin: &MQAdminExt,
    a: QueryMsgByOffsetArgs,
) -> anyhow::Result<Report> {
    let consumer = tools_consumer(admin, None).await?;
    let mq = MessageQueue::new(a.topic.trim(), a.broker_name.trim(), a.queue_id);
    let result = consumer.pull(&mq, "*", a.offset, 1).await;
    consumer.shutdown().await;
    let result = result?;
    let mut text = String::new();
    match (result.status, result.msgs.first()) {
        (PullStatus::Found, Some(m)) => {
            print_detail(&mut text, m, a.body_format.is_some());
            Ok(Report::new(text, message_json(m)))
        }
        _ => anyhow::bail!(
            "no message at {} offset {} ({:?})",
            mq,
            a.offset,
            result.status
        ),
    }
}

/// The offset range `[min, max)` of a queue, narrowed to the stored-time window.
async fn queue_range(
    admin: &MQAdminExt,
    consumer: &PullConsumer,
    addr: &str,
    mq: &MessageQueue,
    begin: Option<i64>,
    end: Option<i64>,
) -> anyhow::Result<(i64, i64)> {
    let t = admin.timeout();
    let mut min = admin.api().get_min_offset(addr, mq, t).await?;
    let mut max = consumer.max_offset(mq).await?;
    if let Some(b) = begin {
        min = admin.api().search_offset(addr, mq, b, t).await?;
    }
    if let Some(e) = end {
        max = admin.api().search_offset(addr, mq, e, t).await?;
    }
    Ok((min, max))
}

/// Broker name → master address for `topic`.
async fn masters_by_name(
    admin: &MQAdminExt,
    topic: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let route = admin.examine_topic_route_info(topic).await?;
    Ok(route
        .broker_datas
        .iter()
        .filter_map(|b| {
            b.master_addr()
                .map(|a| (b.broker_name.clone(), a.to_string()))
        })
        .collect())
}

/// `printMsg` options.
#[derive(clap::Args)]
pub struct PrintMsgArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Body charset (UTF-8 only).
    #[arg(short = 'c', long = "charsetName")]
    charset: Option<String>,
    /// Tag expression, e.g. `TagA || TagB`.
    #[arg(short = 's', long = "subExpression", default_value = "*")]
    sub_expression: String,
    /// Begin time: ms or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(short = 'b', long = "beginTimestamp")]
    begin: Option<String>,
    /// End time: ms or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(short = 'e', long = "endTimestamp")]
    end: Option<String>,
    /// Print bodies (true|false).
    #[arg(short = 'd', long = "printBody", action = clap::ArgAction::Set, default_value_t = true)]
    print_body: bool,
}

pub(super) async fn print_msg(admin: &MQAdminExt, a: PrintMsgArgs) -> anyhow::Result<Report> {
    let (begin, end) = time_range(a.begin.as_deref(), a.end.as_deref())?;
    let topic = a.topic.trim();
    let masters = masters_by_name(admin, topic).await?;
    let consumer = tools_consumer(admin, None).await?;
    let result = async {
        let mut text = String::new();
        let mut all = Vec::new();
        for mq in consumer.fetch_message_queues(topic).await? {
            let Some(addr) = masters.get(&mq.broker_name) else {
                continue;
            };
            let (min, max) = queue_range(admin, &consumer, addr, &mq, begin, end).await?;
            line!(text, "minOffset={min}, maxOffset={max}, {mq}");
            let mut offset = min;
            while offset < max {
                let r = consumer.pull(&mq, &a.sub_expression, offset, 32).await?;
                offset = r.next_begin_offset;
                match r.status {
                    PullStatus::Found => {
                        for m in &r.msgs {
                            let body = if a.print_body {
                                String::from_utf8_lossy(&m.message.body).into_owned()
                            } else {
                                "NOT PRINT BODY".to_string()
                            };
                            line!(
                                text,
                                "MSGID: {} {} BODY: {}",
                                m.unique_id(),
                                describe(m),
                                body
                            );
                            all.push(message_json(m));
                        }
                    }
                    PullStatus::NoMatchedMsg => {
                        line!(
                            text,
                            "{mq} no matched msg. status={:?}, offset={offset}",
                            r.status
                        );
                    }
                    _ => {
                        line!(
                            text,
                            "{mq} print msg finished. status={:?}, offset={offset}",
                            r.status
                        );
                        break;
                    }
                }
            }
            line!(
                text,
                "--------------------------------------------------------"
            );
        }
        anyhow::Ok(Report::new(text, json!(all)))
    }
    .await;
    consumer.shutdown().await;
    result
}

/// `sendMessage` options.
#[derive(clap::Args)]
pub struct SendMessageArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Body (UTF-8 text).
    #[arg(short = 'p', long = "body")]
    body: String,
    /// Message keys.
    #[arg(short = 'k', long = "key")]
    keys: Option<String>,
    /// Message tag.
    #[arg(short = 'c', long = "tags")]
    tags: Option<String>,
    /// Send to this broker (with -i).
    #[arg(short = 'b', long = "broker", requires = "queue_id")]
    broker: Option<String>,
    /// Send to this queue (with -b).
    #[arg(short = 'i', long = "qid", requires = "broker")]
    queue_id: Option<i32>,
}

pub(super) async fn send_message(admin: &MQAdminExt, a: SendMessageArgs) -> anyhow::Result<Report> {
    let mut msg = Message::new(a.topic.trim(), a.body.into_bytes());
    if let Some(t) = &a.tags {
        msg.set_tags(t.as_str());
    }
    if let Some(k) = &a.keys {
        msg.set_keys([k.as_str()]);
    }
    let mut config = ProducerConfig::new("DEFAULT_PRODUCER", admin.namesrv_addrs().join(";"));
    config.send_msg_timeout = admin.timeout();
    let producer = Producer::start(config).await?;
    let result = match (&a.broker, a.queue_id) {
        (Some(b), Some(q)) => {
            let mq = MessageQueue::new(a.topic.trim(), b.trim(), q);
            producer.send_to_queue(&msg, &mq).await
        }
        _ => producer.send(&msg).await,
    };
    producer.shutdown().await;
    let mut text = String::new();
    let header = |t: &mut String, b: &str, q: &str, s: &str, id: &str| {
        line!(t, "{:<32}  {:<4}  {:<20}    {}", b, q, s, id);
    };
    header(&mut text, "#Broker Name", "#QID", "#Send Result", "#MsgId");
    match result {
        Ok(r) => {
            header(
                &mut text,
                &r.message_queue.broker_name,
                &r.message_queue.queue_id.to_string(),
                r.send_status.as_str(),
                &r.msg_id,
            );
            Ok(Report::new(
                text,
                json!({
                    "brokerName": r.message_queue.broker_name,
                    "queueId": r.message_queue.queue_id,
                    "sendStatus": r.send_status.as_str(),
                    "msgId": r.msg_id,
                    "offsetMsgId": r.offset_msg_id,
                    "queueOffset": r.queue_offset,
                }),
            ))
        }
        Err(e) => {
            header(&mut text, "Unknown", "Unknown", "Failed", "None");
            print!("{text}");
            Err(e.into())
        }
    }
}

/// `consumeMessage` options.
#[derive(clap::Args)]
pub struct ConsumeMessageArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    topic: String,
    /// Only this broker.
    #[arg(short = 'b', long = "brokerName")]
    broker_name: Option<String>,
    /// Only this queue (with -b).
    #[arg(short = 'i', long = "queueId", requires = "broker_name")]
    queue_id: Option<i32>,
    /// Start at this offset (with -b and -i).
    #[arg(short = 'o', long = "offset", requires = "queue_id")]
    offset: Option<i64>,
    /// Consumer group of the reads (no offset is committed).
    #[arg(short = 'g', long = "consumerGroup")]
    group: Option<String>,
    /// Begin time: ms or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(short = 's', long = "beginTimestamp")]
    begin: Option<String>,
    /// End time: ms or yyyy-MM-dd#HH:mm:ss:SSS.
    #[arg(short = 'e', long = "endTimestamp")]
    end: Option<String>,
    /// Most messages read.
    #[arg(short = 'c', long = "MessageNumber", default_value_t = 128)]
    count: i64,
}

pub(super) async fn consume_message(
    admin: &MQAdminExt,
    a: ConsumeMessageArgs,
) -> anyhow::Result<Report> {
    let (begin, end) = time_range(a.begin.as_deref(), a.end.as_deref())?;
    let topic = a.topic.trim();
    let masters = masters_by_name(admin, topic).await?;
    let consumer = tools_consumer(admin, a.group.as_deref()).await?;
    let result = async {
        let mut text = String::new();
        let mut all = Vec::new();
        let mut left = a.count;
        for mq in consumer.fetch_message_queues(topic).await? {
            if a.broker_name
                .as_deref()
                .is_some_and(|b| b.trim() != mq.broker_name)
                || a.queue_id.is_some_and(|q| q != mq.queue_id)
            {
                continue;
            }
            let Some(addr) = masters.get(&mq.broker_name) else {
                continue;
            };
            let (min, max) = queue_range(admin, &consumer, addr, &mq, begin, end).await?;
            let mut offset = a.offset.unwrap_or(min).max(min);
            if offset >= max {
                line!(text, "{mq} no matched msg, offset={offset}");
                continue;
            }
            while offset < max && left > 0 {
                let r = consumer.pull(&mq, "*", offset, 32.min(left) as i32).await?;
                offset = r.next_begin_offset;
                if r.status != PullStatus::Found {
                    line!(
                        text,
                        "{mq} print msg finished. status={:?}, offset={offset}",
                        r.status
                    );
                    break;
                }
                for m in &r.msgs {
                    line!(
                        text,
                        "MSGID: {} {} BODY: {}",
                        m.unique_id(),
                        describe(m),
                        String::from_utf8_lossy(&m.message.body)
                    );
                    all.push(message_json(m));
                    left -= 1;
                }
            }
            if left <= 0 {
                break;
            }
        }
        anyhow::Ok(Report::new(text, json!(all)))
    }
    .await;
    consumer.shutdown().await;
    result
}

/// The optional `-b`/`-e` bounds of printMsg and consumeMessage, parsed as mqadmin reads them.
fn time_range(
    begin: Option<&str>,
    end: Option<&str>,
) -> anyhow::Result<(Option<i64>, Option<i64>)> {
    let now = now_millis();
    let parse = |s: Option<&str>| s.map(|s| parse_timestamp(s, now)).transpose();
    Ok((parse(begin)?, parse(end)?))
}
