//! End-to-end: the Rust client against the real `ferrocket standalone` binary.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use common::{recorder, unique, wait_until, Standalone};
use ferrocket_client::{
    ConsumeFromWhere, Message, MessageBuilder, MessageExt, Producer, ProducerConfig, PullConsumer,
    PullConsumerConfig, PullStatus, PushConsumer, PushConsumerConfig, SendStatus,
};
use parking_lot::Mutex;

fn producer_config(server: &Standalone) -> ProducerConfig {
    let mut c = ProducerConfig::new(unique("producer"), server.namesrv.as_str());
    c.send_msg_timeout = Duration::from_secs(10);
    c
}

fn push_config(server: &Standalone, group: &str, topic: &str, expr: &str) -> PushConsumerConfig {
    let mut c = PushConsumerConfig::new(group, server.namesrv.as_str());
    c.subscribe(topic, expr);
    c.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    // tests should not wait 20 s for the periodic round when a notification is missed
    c.rebalance_interval = Duration::from_secs(2);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn produce_500_then_consume_all_with_tags_intact() {
    let mut server = common::start();
    let topic = unique("E2eTopic");
    let producer = Producer::start(producer_config(&server)).await.unwrap();

    let mut sent: HashMap<String, (String, String, String)> = HashMap::new();
    let mut queues = BTreeSet::new();
    for i in 0..500 {
        let tag = if i % 2 == 0 { "TagA" } else { "TagB" };
        let body = format!("Hello RocketMQ {i}");
        let key = format!("key-{i}");
        let msg = Message::new(topic.as_str(), body.clone())
            .with_tags(tag)
            .with_keys(key.clone());
        let r = producer
            .send(&msg)
            .await
            .unwrap_or_else(|e| panic!("send {i}: {e}\n{:?}", server.stderr_text()));
        assert_eq!(r.send_status, SendStatus::SendOk);
        assert_eq!(r.msg_id.len(), 32, "msgId is the UNIQ_KEY");
        assert_eq!(r.offset_msg_id.len(), 32, "offsetMsgId is the broker's id");
        assert_eq!(r.message_queue.topic, topic);
        queues.insert(r.message_queue.queue_id);
        assert!(sent
            .insert(r.msg_id.clone(), (tag.to_string(), body, key))
            .is_none());
    }
    assert_eq!(
        queues.len(),
        4,
        "round robin covers the 4 auto-created queues"
    );

    let (listener, seen) = recorder();
    let consumer = PushConsumer::start(
        push_config(&server, &unique("group_all"), &topic, "*"),
        listener,
    )
    .await
    .unwrap();
    let got_all = wait_until(Duration::from_secs(60), || {
        let ids: BTreeSet<String> = seen
            .lock()
            .iter()
            .map(|m| m.unique_id().to_string())
            .collect();
        ids.len() >= 500
    })
    .await;
    let received = seen.lock().clone();
    assert!(got_all, "received {} of 500 messages", received.len());
    for m in &received {
        let (tag, body, key) = sent
            .get(m.unique_id())
            .unwrap_or_else(|| panic!("unknown message {}", m.unique_id()));
        assert_eq!(m.tags(), Some(tag.as_str()));
        assert_eq!(m.keys(), Some(key.as_str()));
        assert_eq!(m.body.as_ref(), body.as_bytes());
        assert_eq!(m.topic, topic);
    }

    // a second group filtering on one tag gets exactly the TagA half
    let (listener, tag_a) = recorder();
    let filtered = PushConsumer::start(
        push_config(&server, &unique("group_tag"), &topic, "TagA"),
        listener,
    )
    .await
    .unwrap();
    let got_half = wait_until(Duration::from_secs(60), || {
        tag_a
            .lock()
            .iter()
            .map(|m| m.unique_id().to_string())
            .collect::<BTreeSet<_>>()
            .len()
            >= 250
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a = tag_a.lock().clone();
    assert!(got_half, "received {} of 250 TagA messages", a.len());
    assert!(
        a.iter().all(|m| m.tags() == Some("TagA")),
        "only TagA is delivered"
    );

    filtered.shutdown().await;
    consumer.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_push_consumers_in_a_group_split_the_queues() {
    let server = common::start();
    let topic = unique("SplitTopic");
    let group = unique("split_group");
    let producer = Producer::start(producer_config(&server)).await.unwrap();
    // the first send creates the topic (4 queues) on the broker and in the name server
    producer
        .send(&Message::new(topic.as_str(), "init"))
        .await
        .unwrap();

    let (la, seen_a) = recorder();
    let (lb, seen_b) = recorder();
    let a = PushConsumer::start(push_config(&server, &group, &topic, "*"), la)
        .await
        .unwrap();
    let b = PushConsumer::start(push_config(&server, &group, &topic, "*"), lb)
        .await
        .unwrap();
    assert_ne!(a.client_id(), b.client_id());

    let topic_queues = |c: &PushConsumer| -> BTreeSet<i32> {
        c.assigned_queues()
            .into_iter()
            .filter(|q| q.topic == topic)
            .map(|q| q.queue_id)
            .collect()
    };
    let split = wait_until(Duration::from_secs(30), || {
        let (qa, qb) = (topic_queues(&a), topic_queues(&b));
        qa.len() == 2 && qb.len() == 2 && qa.is_disjoint(&qb)
    })
    .await;
    assert!(
        split,
        "expected a 2/2 split of 4 queues, got {:?} and {:?}",
        topic_queues(&a),
        topic_queues(&b)
    );

    let mut sent = BTreeSet::new();
    for i in 0..100 {
        let r = producer
            .send(&Message::new(topic.as_str(), format!("m{i}")))
            .await
            .unwrap();
        sent.insert(r.msg_id);
    }
    let ids = |s: &Arc<Mutex<Vec<MessageExt>>>| -> BTreeSet<String> {
        s.lock()
            .iter()
            .filter(|m| m.body.as_ref() != b"init")
            .map(|m| m.unique_id().to_string())
            .collect()
    };
    let done = wait_until(Duration::from_secs(60), || {
        ids(&seen_a).len() + ids(&seen_b).len() >= 100
    })
    .await;
    let (ia, ib) = (ids(&seen_a), ids(&seen_b));
    assert!(done, "received {} + {} of 100", ia.len(), ib.len());
    assert!(ia.is_disjoint(&ib), "no message goes to both members");
    assert_eq!(ia.union(&ib).cloned().collect::<BTreeSet<_>>(), sent);
    assert!(!ia.is_empty() && !ib.is_empty(), "both members consume");
    let (qa, qb) = (topic_queues(&a), topic_queues(&b));
    // messages sent after the split were consumed only from the member's own queues
    let after_split = |s: &Arc<Mutex<Vec<MessageExt>>>, q: &BTreeSet<i32>| {
        s.lock()
            .iter()
            .filter(|m| m.body.as_ref() != b"init")
            .all(|m| q.contains(&m.queue_id))
    };
    assert!(after_split(&seen_a, &qa));
    assert!(after_split(&seen_b, &qb));

    // when one member leaves, the other takes every queue
    b.shutdown().await;
    let took_all = wait_until(Duration::from_secs(30), || topic_queues(&a).len() == 4).await;
    assert!(took_all, "remaining member owns {:?}", topic_queues(&a));

    a.shutdown().await;
    producer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_consumer_reads_by_offset() {
    let server = common::start();
    let topic = unique("PullTopic");
    let producer = Producer::start(producer_config(&server)).await.unwrap();
    let queues = producer.fetch_publish_message_queues(&topic).await.unwrap();
    let mq = queues[0].clone();
    for i in 0..20 {
        let tag = if i % 2 == 0 { "even" } else { "odd" };
        let r = producer
            .send_to_queue(
                &Message::new(topic.as_str(), format!("p{i}")).with_tags(tag),
                &mq,
            )
            .await
            .unwrap();
        assert_eq!(r.message_queue.queue_id, mq.queue_id);
        assert_eq!(r.queue_offset, i);
    }

    let consumer = PullConsumer::start(PullConsumerConfig::new(
        unique("pull_group"),
        server.namesrv.as_str(),
    ))
    .await
    .unwrap();
    let readable = consumer.fetch_message_queues(&topic).await.unwrap();
    assert!(readable.contains(&mq));

    let r = consumer.pull(&mq, "*", 5, 10).await.unwrap();
    assert_eq!(r.status, PullStatus::Found);
    let offsets: Vec<i64> = r.msgs.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, (5..15).collect::<Vec<_>>());
    assert_eq!(r.next_begin_offset, 15);
    assert_eq!(r.max_offset, 20);
    assert_eq!(r.msgs[0].body.as_ref(), b"p5");

    let odd = consumer.pull(&mq, "odd", 0, 32).await.unwrap();
    assert!(odd.msgs.iter().all(|m| m.tags() == Some("odd")));
    assert_eq!(odd.msgs.len(), 10);

    let end = consumer.pull(&mq, "*", 20, 32).await.unwrap();
    assert_eq!(end.status, PullStatus::NoNewMsg);
    assert!(end.msgs.is_empty());

    consumer.assign([mq.clone()]).await;
    consumer.seek(&mq, 18).unwrap();
    let polled = consumer.poll(Duration::from_secs(5)).await.unwrap();
    let bodies: Vec<&[u8]> = polled.iter().map(|m| m.body.as_ref()).collect();
    assert_eq!(bodies, [b"p18".as_ref(), b"p19".as_ref()]);
    assert_eq!(consumer.position(&mq), Some(20));
    consumer.commit_sync().await.unwrap();
    assert_eq!(consumer.committed(&mq).await.unwrap(), Some(20));

    consumer.seek_to_begin(&mq).await.unwrap();
    assert_eq!(consumer.position(&mq), Some(0));
    consumer.seek_to_end(&mq).await.unwrap();
    assert_eq!(consumer.position(&mq), Some(20));

    consumer.shutdown().await;
    producer.shutdown().await;
}
