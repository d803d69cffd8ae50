//! The console's JSON API and `/metrics` against a real `ferrocket standalone`: topics, message
//! search, consumer lag and offset reset, dead letters and their resend, and metric values that
//! move with sends, pulls and flushes.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{get_json, http, metric, post_json, wait_until, Standalone};
use ferrocket_client::{
    listener_fn, ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, MessageBuilder, MessageExt,
    Producer, ProducerConfig, PushConsumer, PushConsumerConfig,
};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::consumer_send_msg_back::ConsumerSendMsgBackRequestHeader;
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn metrics(url: &str) -> String {
    let (status, body) = http("GET", &format!("{url}/metrics"), None);
    assert_eq!(status, 200);
    body
}

fn group_lag(url: &str, group: &str) -> i64 {
    get_json(&format!("{url}/api/group?group={group}"))["lag"]
        .as_i64()
        .unwrap()
}

#[test]
fn console_api_and_metrics_follow_the_broker() {
    let server = Standalone::start("");
    let url = server.url().to_string();
    let rt = runtime();
    let topic = "ConsoleTopic";
    let group = "console_group";

    // the UI is served
    let (status, page) = http("GET", &format!("{url}/"), None);
    assert_eq!(status, 200);
    assert!(page.contains("Ferrocket Console"));

    // a POST that is not declared JSON (what a cross-site form can send) is refused
    let (status, body) = common::http_with_type(
        "POST",
        &format!("{url}/api/topic/delete?topic=TBW102"),
        "text/plain",
        "{}",
    );
    assert_eq!(status, 415, "{body}");

    // create a topic, see it in the paginated list, its status and route
    post_json(
        &format!("{url}/api/topic"),
        &json!({"topic": topic, "readQueueNums": 4, "writeQueueNums": 4, "perm": 6}),
    );
    let list = get_json(&format!("{url}/api/topics?q=consoletopic&kind=normal"));
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["topic"], topic);
    assert_eq!(list["items"][0]["writeQueueNums"], 4);
    let route = get_json(&format!("{url}/api/topic/route?topic={topic}"));
    assert_eq!(route["queueDatas"][0]["readQueueNums"], 4);
    assert_eq!(route["brokerDatas"][0]["brokerAddrs"]["0"], server.broker);
    // an invalid name is refused with a reason
    let (status, body) = http(
        "POST",
        &format!("{url}/api/topic"),
        Some(&json!({"topic": "bad/name"})),
    );
    assert_eq!(status, 400, "{body}");

    // send 20 messages with the client
    let sent: Vec<(String, String)> = rt.block_on(async {
        let producer = Producer::start(ProducerConfig::new("console_pg", server.namesrv.as_str()))
            .await
            .unwrap();
        let mut sent = Vec::new();
        for i in 0..20 {
            let msg = Message::new(topic, format!("body-{i}"))
                .with_tags("TagC")
                .with_keys(format!("order-{i}"));
            let r = producer.send(&msg).await.unwrap();
            sent.push((r.msg_id, r.offset_msg_id));
        }
        // the producer is listed with its connection while it is up
        let producers_url = format!("{url}/api/producers?q=console_pg");
        let listed = tokio::task::spawn_blocking(move || {
            wait_until(WAIT, || {
                let p = get_json(&producers_url);
                p["items"][0]["group"] == "console_pg"
                    && !p["items"][0]["connections"].as_array().unwrap().is_empty()
            })
        })
        .await
        .unwrap();
        assert!(listed, "the producer group never showed up");
        producer.shutdown().await;
        sent
    });
    let m = metrics(&url);
    assert_eq!(
        metric(
            &m,
            &format!("ferrocket_messages_in_total{{topic=\"{topic}\"}}")
        ),
        Some(20.0),
        "{m}"
    );
    assert!(
        metric(
            &m,
            &format!("ferrocket_bytes_in_total{{topic=\"{topic}\"}}")
        )
        .unwrap()
            > 20.0 * 7.0
    );
    assert!(metric(&m, "ferrocket_send_latency_seconds_count").unwrap() >= 20.0);
    assert!(metric(&m, "ferrocket_store_disk_used_bytes{part=\"commitlog\"}").unwrap() > 0.0);

    // message search: by time range, by key, by offset id and by unique key
    let by_time = get_json(&format!("{url}/api/messages/by-time?topic={topic}&begin=0"));
    assert_eq!(by_time["total"], 20, "{by_time}");
    assert_eq!(by_time["items"].as_array().unwrap().len(), 20);
    let future = get_json(&format!(
        "{url}/api/messages/by-time?topic={topic}&begin={}",
        ferrocket_protocol::util::now_millis() + 3_600_000
    ));
    assert_eq!(future["total"], 0, "{future}");
    let by_key = get_json(&format!(
        "{url}/api/messages/by-key?topic={topic}&key=order-7"
    ));
    assert_eq!(by_key["total"], 1, "{by_key}");
    assert_eq!(by_key["items"][0]["uniqKey"], sent[7].0.as_str());
    let by_id = get_json(&format!("{url}/api/message?id={}", sent[3].1));
    assert_eq!(by_id["body"], "body-3");
    assert_eq!(by_id["properties"]["KEYS"], "order-3");
    assert_eq!(by_id["properties"]["TAGS"], "TagC");
    let by_uniq = get_json(&format!("{url}/api/message?id={}&topic={topic}", sent[5].0));
    assert_eq!(by_uniq["body"], "body-5");
    let (status, _) = http("GET", &format!("{url}/api/message?id=00"), None);
    assert_eq!(status, 404);

    // consume everything: pull metrics move and the group's lag drops to zero
    let consumed = Arc::new(AtomicUsize::new(0));
    let c = consumed.clone();
    let consumer = rt.block_on(async {
        let mut config = PushConsumerConfig::new(group, server.namesrv.as_str());
        config.subscribe(topic, "*");
        config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
        let listener = listener_fn(move |msgs: Vec<MessageExt>| {
            let c = c.clone();
            async move {
                c.fetch_add(msgs.len(), Ordering::SeqCst);
                ConsumeConcurrentlyStatus::ConsumeSuccess
            }
        });
        PushConsumer::start(config, listener).await.unwrap()
    });
    assert!(
        wait_until(WAIT, || consumed.load(Ordering::SeqCst) >= 20),
        "consumed {consumed:?}"
    );
    let m = metrics(&url);
    assert!(
        metric(
            &m,
            &format!("ferrocket_messages_out_total{{topic=\"{topic}\"}}")
        )
        .unwrap()
            >= 20.0,
        "{m}"
    );
    assert!(metric(&m, "ferrocket_pull_latency_seconds_count").unwrap() >= 1.0);
    let detail = get_json(&format!("{url}/api/group?group={group}"));
    assert_eq!(detail["online"], true, "{detail}");
    assert!(!detail["connections"].as_array().unwrap().is_empty());
    assert!(
        wait_until(WAIT, || group_lag(&url, group) == 0),
        "lag never reached 0"
    );
    let groups = get_json(&format!("{url}/api/groups?q={group}"));
    assert_eq!(groups["items"][0]["online"], true, "{groups}");
    rt.block_on(consumer.shutdown());
    assert!(wait_until(WAIT, || {
        metric(
            &metrics(&url),
            &format!("ferrocket_consumer_lag_messages{{group=\"{group}\"}}"),
        ) == Some(0.0)
    }));

    // reset the offset to the beginning: 20 messages to consume again, in /metrics too
    let reset = post_json(
        &format!("{url}/api/group/reset-offset"),
        &json!({"group": group, "topic": topic, "timestamp": 0}),
    );
    assert_eq!(reset["queues"].as_array().unwrap().len(), 4, "{reset}");
    assert_eq!(group_lag(&url, group), 20);
    assert_eq!(
        metric(
            &metrics(&url),
            &format!("ferrocket_consumer_lag_messages{{group=\"{group}\"}}")
        ),
        Some(20.0)
    );

    // a message the group gives up on goes to %DLQ%group (CONSUMER_SEND_MSG_BACK, delay -1)
    let dlq_source = by_id["summary"]["commitLogOffset"].as_i64().unwrap();
    rt.block_on(async {
        let client = RemotingClient::new();
        let mut req = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK);
        ConsumerSendMsgBackRequestHeader {
            offset: dlq_source,
            group: group.to_string(),
            delay_level: -1,
            origin_msg_id: Some(sent[3].1.clone()),
            origin_topic: Some(topic.to_string()),
            unit_mode: false,
            max_reconsume_times: Some(16),
            broker_name: None,
        }
        .encode(&mut req.ext_fields);
        let resp = client
            .invoke(&server.broker, req, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(resp.code, response::SUCCESS, "{:?}", resp.remark);
        client.close_all().await;
    });
    assert_eq!(
        metric(
            &metrics(&url),
            &format!("ferrocket_messages_in_total{{topic=\"%DLQ%{group}\"}}")
        ),
        Some(1.0)
    );
    let dlq_groups = get_json(&format!("{url}/api/dlq/groups"));
    let entry = dlq_groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == group)
        .cloned()
        .unwrap_or_else(|| panic!("no DLQ for {group}: {dlq_groups}"));
    assert_eq!(entry["messages"], 1);
    let dlq = get_json(&format!("{url}/api/dlq?group={group}"));
    assert_eq!(dlq["total"], 1, "{dlq}");
    let letter = &dlq["items"][0];
    assert_eq!(letter["keys"], "order-3");
    let letter_offset = letter["commitLogOffset"].as_i64().unwrap();
    let letter_detail = get_json(&format!("{url}/api/message?offset={letter_offset}"));
    assert_eq!(letter_detail["body"], "body-3");
    assert_eq!(letter_detail["properties"]["RETRY_TOPIC"], topic);

    // resend it to its original topic: a 21st message there, same body and keys
    let resent = post_json(
        &format!("{url}/api/dlq/resend"),
        &json!({"group": group, "commitLogOffset": letter_offset, "target": "topic"}),
    );
    assert_eq!(resent["topic"], topic, "{resent}");
    // the key index follows the commit log in the background, as in RocketMQ: wait for it
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let again = loop {
        let again = get_json(&format!(
            "{url}/api/messages/by-key?topic={topic}&key=order-3"
        ));
        if again["total"] == 2 || std::time::Instant::now() > deadline {
            break again;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(again["total"], 2, "{again}");
    let copy = get_json(&format!(
        "{url}/api/message?id={}",
        resent["msgId"].as_str().unwrap()
    ));
    assert_eq!(copy["body"], "body-3");
    assert!(copy["properties"].get("RETRY_TOPIC").is_none(), "{copy}");
    // or to the group's retry topic
    let to_group = post_json(
        &format!("{url}/api/dlq/resend"),
        &json!({"group": group, "commitLogOffset": letter_offset, "target": "group"}),
    );
    assert_eq!(to_group["topic"], format!("%RETRY%{group}"));
    let (status, _) = http(
        "POST",
        &format!("{url}/api/dlq/resend"),
        Some(&json!({"group": group, "commitLogOffset": letter_offset, "target": "elsewhere"})),
    );
    assert_eq!(status, 400);
    // a message that is not a dead letter of this group is refused
    let (status, _) = http(
        "POST",
        &format!("{url}/api/dlq/resend"),
        Some(&json!({"group": group, "commitLogOffset": dlq_source})),
    );
    assert_eq!(status, 400);

    // send from the console
    let s = post_json(
        &format!("{url}/api/message/send"),
        &json!({"topic": topic, "tags": "Web", "keys": "from-console", "body": "hello"}),
    );
    let m = get_json(&format!(
        "{url}/api/message?id={}",
        s["msgId"].as_str().unwrap()
    ));
    assert_eq!(m["body"], "hello");
    assert_eq!(m["properties"]["TAGS"], "Web");

    // the flush histogram moves once the CommitLog is flushed (ASYNC_FLUSH: within ~10 s)
    assert!(
        wait_until(WAIT, || metric(
            &metrics(&url),
            "ferrocket_store_flush_latency_seconds_count"
        )
        .unwrap_or(0.0)
            >= 1.0),
        "no flush recorded"
    );

    // overview and config
    let o = get_json(&format!("{url}/api/overview"));
    assert!(o["putTotal"].as_u64().unwrap() >= 23, "{o}");
    assert!(o["tps"].is_array());
    let c = get_json(&format!("{url}/api/config"));
    assert_eq!(c["broker"]["consolePort"], 0);
    assert_eq!(c["cluster"]["clusterName"], "DefaultCluster");

    // delete the topic
    post_json(&format!("{url}/api/topic/delete?topic={topic}"), &json!({}));
    let list: Value = get_json(&format!("{url}/api/topics?q={topic}"));
    assert_eq!(list["total"], 0);
    let (status, _) = http("GET", &format!("{url}/api/nothing"), None);
    assert_eq!(status, 404);
}

#[test]
fn console_can_be_turned_off() {
    let server = Standalone::start("consoleEnable=false");
    assert!(server.console.is_none(), "{:?}", server.stdout_lines);
    assert!(
        server
            .stdout_lines
            .iter()
            .all(|l| !l.starts_with("Console:")),
        "{:?}",
        server.stdout_lines
    );
}

#[test]
fn broker_command_serves_the_console_too() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listenPort={}\nconsolePort=0\nbrokerName=console-broker\n",
            ferrocket_testkit::free_port_block()
        ),
    )
    .unwrap();
    let store = dir.path().join("store");
    let mut broker = ferrocket_testkit::Running::spawn(ferrocket_testkit::command(
        ferrocket_testkit::ferrocket_bin!(),
        &[
            "broker",
            "-c",
            conf.to_str().unwrap(),
            "--store",
            store.to_str().unwrap(),
        ],
        dir.path(),
    ));
    broker.wait_stdout("is ready", WAIT);
    let console = common::console_url(&broker.stdout_seen);
    let overview = console
        .as_ref()
        .map(|url| http("GET", &format!("{url}/api/overview"), None));
    drop(broker);
    let (status, body) = overview.expect("a 'Console:' line before the ready line");
    assert_eq!(status, 200, "{body}");
    let o: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(o["brokerName"], "console-broker", "{o}");
}

fn queue_max_offset(url: &str, topic: &str) -> i64 {
    get_json(&format!("{url}/api/topic/status?topic={topic}"))["queues"][0]["maxOffset"]
        .as_i64()
        .unwrap()
}

#[test]
fn console_send_delays_delay_level_and_timer_messages_as_the_wire_does() {
    let server = Standalone::start("");
    let url = server.url().to_string();
    let topic = "ConsoleDelayTopic";
    post_json(
        &format!("{url}/api/topic"),
        &json!({"topic": topic, "readQueueNums": 1, "writeQueueNums": 1, "perm": 6}),
    );
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // delay level 3 is 10 s with the default messageDelayLevel; the timer asks for 10 s too
    let sends = [
        (json!({"DELAY": "3"}), "SCHEDULE_TOPIC_XXXX"),
        (
            json!({"TIMER_DELIVER_MS": (now_ms + 10_000).to_string()}),
            "rmq_sys_wheel_timer",
        ),
    ];
    for (properties, system_topic) in sends {
        let s = post_json(
            &format!("{url}/api/message/send"),
            &json!({"topic": topic, "keys": "later", "body": "not yet", "properties": properties}),
        );
        assert_eq!(s["topic"], topic, "{s}");
        // stored in the system topic with its real topic aside, as a producer's send is
        let stored = get_json(&format!(
            "{url}/api/message?id={}",
            s["msgId"].as_str().unwrap()
        ));
        assert_eq!(stored["properties"]["REAL_TOPIC"], topic, "{stored}");
        assert_eq!(stored["summary"]["topic"], system_topic, "{stored}");
    }
    assert_eq!(
        queue_max_offset(&url, topic),
        0,
        "a delayed message was delivered at once"
    );
    assert!(
        wait_until(WAIT, || queue_max_offset(&url, topic) == 2),
        "the delayed messages never reached {topic}"
    );
}
