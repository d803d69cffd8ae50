//! The v5 consumer's calls against the real binary: ReceiveMessage (TAG and SQL92 filters,
//! long polling, empty receives), AckMessage, ChangeInvisibleDuration, redelivery once a
//! message's invisible time has passed, bad receipt handles and QueryAssignment.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ferrocket_proxy::v2::messaging_service_client::MessagingServiceClient;
use ferrocket_proxy::v2::*;
use tonic::transport::Channel;

fn group(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.to_string(),
    })
}

fn consumer_settings(group_name: &str) -> Settings {
    consumer_settings_of(ClientType::SimpleConsumer, group_name, "*")
}

struct Consumer {
    client: MessagingServiceClient<Channel>,
    id: String,
    group: String,
    batch_size: i32,
    /// What the server told the consumer of its group.
    fifo: bool,
    _telemetry: tokio::sync::mpsc::Sender<TelemetryCommand>,
}

/// The outcome of one ReceiveMessage: its status code, its messages and whether the stream
/// carried a delivery timestamp.
struct Received {
    code: Code,
    messages: Vec<Message>,
    delivery_timestamp: bool,
}

impl Consumer {
    async fn start(port: u16, group_name: &str) -> Consumer {
        let mut client = plain_client(port).await;
        let id = format!("{group_name}@1@1");
        let (answer, telemetry) =
            exchange_settings(&mut client, &id, consumer_settings(group_name)).await;
        let answer = answer.unwrap();
        let Some(telemetry_command::Command::Settings(settings)) = answer.command else {
            panic!("settings answered with {answer:?}");
        };
        let Some(settings::PubSub::Subscription(subscription)) = settings.pub_sub else {
            panic!("no subscription in {settings:?}");
        };
        assert_eq!(subscription.receive_batch_size, Some(32));
        Consumer {
            client,
            id,
            group: group_name.to_string(),
            batch_size: 32,
            fifo: subscription.fifo == Some(true),
            _telemetry: telemetry,
        }
    }

    async fn receive(&mut self, filter: FilterExpression, invisible_ms: i64) -> Received {
        self.receive_polling(filter, invisible_ms, 5_000).await
    }

    async fn receive_polling(
        &mut self,
        filter: FilterExpression,
        invisible_ms: i64,
        long_polling_ms: i64,
    ) -> Received {
        let request = ReceiveMessageRequest {
            group: group(&self.group),
            message_queue: every_queue(),
            filter_expression: Some(filter),
            batch_size: self.batch_size,
            invisible_duration: millis(invisible_ms),
            auto_renew: false,
            long_polling_timeout: millis(long_polling_ms),
            attempt_id: None,
        };
        let mut stream = self
            .client
            .receive_message(request_with_deadline(&self.id, request))
            .await
            .unwrap()
            .into_inner();
        let mut received = Received {
            code: Code::Unspecified,
            messages: Vec::new(),
            delivery_timestamp: false,
        };
        while let Some(answer) = stream.message().await.unwrap() {
            match answer.content.expect("content") {
                receive_message_response::Content::Status(s) => {
                    received.code = Code::try_from(s.code).unwrap();
                }
                receive_message_response::Content::Message(m) => received.messages.push(m),
                receive_message_response::Content::DeliveryTimestamp(_) => {
                    received.delivery_timestamp = true;
                }
            }
        }
        received
    }

    async fn ack(&mut self, handles: &[&str]) -> AckMessageResponse {
        let entries = handles
            .iter()
            .map(|h| AckMessageEntry {
                message_id: "01ID".into(),
                receipt_handle: h.to_string(),
                lite_topic: None,
            })
            .collect();
        let request = AckMessageRequest {
            group: group(&self.group),
            topic: topic(TOPIC),
            entries,
        };
        self.client
            .ack_message(common::request(&self.id, request))
            .await
            .unwrap()
            .into_inner()
    }

    async fn change_invisible(
        &mut self,
        handle: &str,
        invisible_ms: i64,
    ) -> ChangeInvisibleDurationResponse {
        let request = change_invisible_request(&self.group, handle, "01ID", invisible_ms);
        self.client
            .change_invisible_duration(common::request(&self.id, request))
            .await
            .unwrap()
            .into_inner()
    }
}

/// `message` with a 30 s deadline, as the v5 clients set one on every receive.
fn request_with_deadline<T>(client_id: &str, message: T) -> tonic::Request<T> {
    let mut r = common::request(client_id, message);
    r.set_timeout(Duration::from_secs(30));
    r
}

fn tag(expression: &str) -> FilterExpression {
    FilterExpression {
        r#type: FilterType::Tag as i32,
        expression: expression.into(),
    }
}

fn system(m: &Message) -> &SystemProperties {
    m.system_properties.as_ref().unwrap()
}

fn handle(m: &Message) -> &str {
    system(m)
        .receipt_handle
        .as_deref()
        .expect("a receipt handle")
}

async fn send(server: &Server) {
    let mut client = plain_client(server.grpc_port).await;
    let id = "consumer-test-sender@1@1";
    let (_answer, _telemetry) = exchange_settings(&mut client, id, producer_settings()).await;
    let mut a = message("01TAGA", b"body a");
    {
        let s = a.system_properties.as_mut().unwrap();
        s.tag = Some("TagA".into());
        s.keys = vec!["k1".into(), "k2".into()];
    }
    a.user_properties.insert("color".into(), "red".into());
    let mut b = message("01TAGB", b"body b");
    b.system_properties.as_mut().unwrap().tag = Some("TagB".into());
    b.user_properties.insert("color".into(), "blue".into());
    let sent = client
        .send_message(request(id, SendMessageRequest { messages: vec![a] }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    let sent = client
        .send_message(request(id, SendMessageRequest { messages: vec![b] }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
}

/// Receives until `want` messages came or `within` passed.
async fn receive_until(
    consumer: &mut Consumer,
    filter: FilterExpression,
    invisible_ms: i64,
    want: usize,
    within: Duration,
) -> Vec<Message> {
    let deadline = Instant::now() + within;
    let mut all = Vec::new();
    while all.len() < want && Instant::now() < deadline {
        let r = consumer.receive(filter.clone(), invisible_ms).await;
        all.extend(r.messages);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_ack_change_invisible_and_redelivery() {
    let server = start("reviveInterval=100\nenablePropertyFilter=true");
    send(&server).await;

    let mut c = Consumer::start(server.grpc_port, "gc_all").await;
    assert!(!c.fifo);
    let got = receive_until(&mut c, tag("*"), 15_000, 2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let a = got
        .iter()
        .find(|m| system(m).message_id == "01TAGA")
        .expect("01TAGA");
    let b = got
        .iter()
        .find(|m| system(m).message_id == "01TAGB")
        .expect("01TAGB");
    let sa = system(a);
    assert_eq!(sa.tag.as_deref(), Some("TagA"));
    assert_eq!(sa.keys, vec!["k1".to_string(), "k2".to_string()]);
    assert_eq!(
        a.user_properties.get("color").map(String::as_str),
        Some("red")
    );
    assert!(a
        .user_properties
        .keys()
        .all(|k| k != "POP_CK" && k != "UNIQ_KEY"));
    assert_eq!(&a.body[..], b"body a");
    assert_eq!(a.topic.as_ref().unwrap().name, TOPIC);
    assert_eq!(sa.delivery_attempt, Some(1));
    assert_eq!(sa.message_type, MessageType::Normal as i32);
    assert_eq!(sa.body_encoding, Encoding::Identity as i32);
    let digest = sa.body_digest.as_ref().unwrap();
    assert_eq!(digest.r#type, DigestType::Md5 as i32);
    assert_eq!(digest.checksum, "DD9CBADC64B69F5B5F698ED84210A68D");
    assert!(sa.born_timestamp.is_some() && sa.store_timestamp.is_some());
    assert!(!sa.store_host.is_empty() && !sa.born_host.is_empty());
    assert_eq!(sa.invisible_duration, millis(15_000));
    // Apache's receipt handle: the broker's nine fields, the CommitLog offset last
    let fields: Vec<&str> = handle(a).split(' ').collect();
    assert_eq!(fields.len(), 9, "{}", handle(a));
    assert_eq!(fields[7], sa.queue_offset.unwrap().to_string());

    let acked = c.ack(&[handle(a)]).await;
    assert_eq!(code(&acked.status), Code::Ok, "{acked:?}");
    assert_eq!(acked.entries.len(), 1);
    assert_eq!(code(&acked.entries[0].status), Code::Ok);

    // a failed message comes back after its new invisible time, one attempt further
    let changed = c.change_invisible(handle(b), 1_000).await;
    assert_eq!(code(&changed.status), Code::Ok, "{changed:?}");
    assert!(!changed.receipt_handle.is_empty());
    assert_ne!(changed.receipt_handle, handle(b));
    let again = receive_until(&mut c, tag("*"), 15_000, 1, Duration::from_secs(20)).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(system(&again[0]).message_id, "01TAGB");
    assert_eq!(system(&again[0]).delivery_attempt, Some(2));
    assert_eq!(&again[0].body[..], b"body b");
    let acked = c.ack(&[handle(&again[0])]).await;
    assert_eq!(code(&acked.status), Code::Ok, "{acked:?}");

    // nothing left: an empty receive after its long poll
    let started = Instant::now();
    let empty = c.receive(tag("*"), 15_000).await;
    assert_eq!(empty.code, Code::MessageNotFound);
    assert!(empty.messages.is_empty());
    assert!(empty.delivery_timestamp);
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_redelivery_of_unacked_messages_and_refusals() {
    let server = start("reviveInterval=100\nenablePropertyFilter=true");
    send(&server).await;

    let mut tags = Consumer::start(server.grpc_port, "gc_tag_b").await;
    let got = receive_until(&mut tags, tag("TagB"), 10_000, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(system(&got[0]).tag.as_deref(), Some("TagB"));
    // not acknowledged: it comes back once its ten seconds are over
    let first_handle = handle(&got[0]).to_string();
    let again = receive_until(&mut tags, tag("TagB"), 10_000, 1, Duration::from_secs(25)).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!(system(&again[0]).message_id, "01TAGB");
    assert_eq!(system(&again[0]).delivery_attempt, Some(2));
    // the first delivery's handle has expired
    let stale = tags.ack(&[&first_handle]).await;
    assert_eq!(code(&stale.status), Code::InvalidReceiptHandle, "{stale:?}");

    let mut sql = Consumer::start(server.grpc_port, "gc_sql").await;
    let red = FilterExpression {
        r#type: FilterType::Sql as i32,
        expression: "color = 'red'".into(),
    };
    let got = receive_until(&mut sql, red, 10_000, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(system(&got[0]).message_id, "01TAGA");
    let bad_sql = FilterExpression {
        r#type: FilterType::Sql as i32,
        expression: "color = = 'red'".into(),
    };
    assert_eq!(
        sql.receive(bad_sql, 10_000).await.code,
        Code::IllegalFilterExpression
    );

    // refusals
    assert_eq!(
        sql.receive(tag("*"), 1_000).await.code,
        Code::IllegalInvisibleTime
    );
    let bad = sql.ack(&["garbage", "1 2 3"]).await;
    assert_eq!(code(&bad.status), Code::InvalidReceiptHandle, "{bad:?}");
    assert!(bad
        .entries
        .iter()
        .all(|e| code(&e.status) == Code::InvalidReceiptHandle));
    let mixed = sql.ack(&["garbage", handle(&got[0])]).await;
    assert_eq!(code(&mixed.status), Code::MultipleResults, "{mixed:?}");
    let changed = sql.change_invisible("garbage", 1_000).await;
    assert_eq!(code(&changed.status), Code::InvalidReceiptHandle);

    let assignment = sql
        .client
        .query_assignment(request(
            &sql.id,
            QueryAssignmentRequest {
                topic: topic(TOPIC),
                group: group("gc_sql"),
                endpoints: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&assignment.status), Code::Ok);
    assert_eq!(assignment.assignments.len(), 1);
    let queue = assignment.assignments[0].message_queue.as_ref().unwrap();
    assert_eq!(queue.id, -1);
    assert_eq!(queue.permission, Permission::ReadWrite as i32);
    assert_eq!(queue.broker.as_ref().unwrap().name, broker_name());
    let missing = sql
        .client
        .query_assignment(request(
            &sql.id,
            QueryAssignmentRequest {
                topic: topic("NoSuchTopic"),
                group: group("gc_sql"),
                endpoints: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&missing.status), Code::TopicNotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_to_dead_letter_queue_then_acknowledged() {
    use ferrocket_client::consumer::pull::{PullConsumer, PullConsumerConfig};
    use ferrocket_protocol::body::queue::MessageQueue as RemotingQueue;

    let server = start("reviveInterval=100");
    send(&server).await;
    let mut c = Consumer::start(server.grpc_port, "gc_dlq").await;
    let got = receive_until(&mut c, tag("TagA"), 10_000, 1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let forward = ForwardMessageToDeadLetterQueueRequest {
        group: group("gc_dlq"),
        topic: topic(TOPIC),
        receipt_handle: handle(&got[0]).to_string(),
        message_id: system(&got[0]).message_id.clone(),
        delivery_attempt: 1,
        max_delivery_attempts: 16,
        lite_topic: None,
    };
    let answer = c
        .client
        .forward_message_to_dead_letter_queue(request(&c.id, forward.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&answer.status), Code::Ok, "{answer:?}");

    let reader = PullConsumer::start(PullConsumerConfig::new(
        "gc_dlq_reader",
        server.standalone.namesrv.clone(),
    ))
    .await
    .unwrap();
    let dlq = RemotingQueue {
        topic: "%DLQ%gc_dlq".to_string(),
        broker_name: broker_name(),
        queue_id: 0,
    };
    // the broker creates the DLQ topic on the forward and registers it with the name server
    // right after: the reader may look the route up before that registration lands
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let dead = loop {
        match reader.pull(&dlq, "*", 0, 32).await {
            Ok(pulled) => break pulled.msgs,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::debug!(error = %e, "no route to the DLQ yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("the DLQ topic never became routable: {e}"),
        }
    };
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(&dead[0].message.body[..], b"body a");
    assert_eq!(dead[0].message.properties.get("UNIQ_KEY"), Some("01TAGA"));

    // acknowledged: it does not come back after its invisible time
    let later = receive_until(&mut c, tag("TagA"), 10_000, 1, Duration::from_secs(14)).await;
    assert!(later.is_empty(), "{later:?}");
    let bad = ForwardMessageToDeadLetterQueueRequest {
        receipt_handle: "garbage".into(),
        ..forward
    };
    let answer = c
        .client
        .forward_message_to_dead_letter_queue(request(&c.id, bad))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&answer.status), Code::InvalidReceiptHandle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_polling_receive_is_woken_by_a_new_message() {
    let server = start("");
    let mut c = Consumer::start(server.grpc_port, "gc_wake").await;
    let port = server.grpc_port;
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let server_port = port;
        let mut client = plain_client(server_port).await;
        let id = "wake-sender@1@1";
        let (_answer, _telemetry) = exchange_settings(&mut client, id, producer_settings()).await;
        let sent = client
            .send_message(request(
                id,
                SendMessageRequest {
                    messages: vec![message("01WAKE", b"wake up")],
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    });
    let started = Instant::now();
    let got = c.receive_polling(tag("*"), 10_000, 20_000).await;
    sender.await.unwrap();
    assert_eq!(got.code, Code::Ok);
    assert_eq!(got.messages.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "woken only after {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_group_gets_a_queue_s_next_message_only_after_the_previous_one() {
    let groups = serde_json::json!({"subscriptionGroupTable": {
        "gc_fifo": {"groupName": "gc_fifo", "consumeMessageOrderly": true}
    }});
    let server = start_with_groups("", Some(groups));
    let mut producer = plain_client(server.grpc_port).await;
    let id = "fifo-sender@1@1";
    let (_answer, _telemetry) = exchange_settings(&mut producer, id, producer_settings()).await;
    for i in 0..3 {
        let mut m = message(&format!("01FIFO{i}"), format!("fifo-{i}").as_bytes());
        let s = m.system_properties.as_mut().unwrap();
        s.message_type = MessageType::Fifo as i32;
        s.message_group = Some("order-7".into());
        let sent = producer
            .send_message(request(id, SendMessageRequest { messages: vec![m] }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    }

    let mut c = Consumer::start(server.grpc_port, "gc_fifo").await;
    assert!(c.fifo, "the group's consumeMessageOrderly is told as fifo");
    c.batch_size = 1;
    let first = c.receive(tag("*"), 10_000).await;
    assert_eq!(first.messages.len(), 1, "{:?}", first.code);
    assert_eq!(system(&first.messages[0]).message_id, "01FIFO0");
    assert_eq!(
        system(&first.messages[0]).message_group.as_deref(),
        Some("order-7")
    );
    // the previous message is in flight: the next one waits
    let blocked = c.receive(tag("*"), 10_000).await;
    assert_eq!(blocked.code, Code::MessageNotFound);
    let acked = c.ack(&[handle(&first.messages[0])]).await;
    assert_eq!(code(&acked.status), Code::Ok, "{acked:?}");

    let second = c.receive(tag("*"), 10_000).await;
    assert_eq!(second.messages.len(), 1, "{:?}", second.code);
    assert_eq!(system(&second.messages[0]).message_id, "01FIFO1");
    // failed: it comes back first, one attempt further, before the third message
    let changed = c.change_invisible(handle(&second.messages[0]), 1_000).await;
    assert_eq!(code(&changed.status), Code::Ok, "{changed:?}");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let again = c.receive(tag("*"), 10_000).await;
    assert_eq!(again.messages.len(), 1, "{:?}", again.code);
    assert_eq!(system(&again.messages[0]).message_id, "01FIFO1");
    assert_eq!(system(&again.messages[0]).delivery_attempt, Some(2));
    let acked = c.ack(&[handle(&again.messages[0])]).await;
    assert_eq!(code(&acked.status), Code::Ok, "{acked:?}");

    let third = c.receive(tag("*"), 10_000).await;
    assert_eq!(third.messages.len(), 1, "{:?}", third.code);
    assert_eq!(system(&third.messages[0]).message_id, "01FIFO2");
    assert_eq!(system(&third.messages[0]).delivery_attempt, Some(1));
}
