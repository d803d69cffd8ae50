//! End-to-end: a Rust push consumer with a SQL92 subscription against the real binary started
//! with `enablePropertyFilter=true`.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{recorder, unique};
use ferrocket_client::{
    ConsumeFromWhere, Message, MessageBuilder, Producer, ProducerConfig, PushConsumer,
    PushConsumerConfig, SendStatus,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_consumer_with_sql92_gets_only_matching_messages() {
    let mut server = common::start_with("enablePropertyFilter=true\n");
    let topic = unique("SqlTopic");
    let mut pc = ProducerConfig::new(unique("producer"), server.namesrv.as_str());
    pc.send_msg_timeout = Duration::from_secs(10);
    let producer = Producer::start(pc).await.unwrap();

    let mut wanted = BTreeSet::new();
    for i in 0..60 {
        let tag = if i % 3 == 0 { "TagA" } else { "TagB" };
        let body = format!("sql-{i}");
        let mut msg = Message::new(topic.as_str(), body.clone()).with_tags(tag);
        if i % 5 != 0 {
            msg = msg.with_property("price", i.to_string());
        }
        let r = producer.send(&msg).await.unwrap();
        assert_eq!(r.send_status, SendStatus::SendOk);
        if (tag == "TagA" || i >= 50) && i % 5 != 0 && i >= 10 {
            wanted.insert(body);
        }
    }

    let (listener, seen) = recorder();
    let mut config = PushConsumerConfig::new(unique("sql_group"), server.namesrv.as_str());
    config.subscribe_sql92(&topic, "(TAGS = 'TagA' OR price >= 50) AND price >= 10");
    config.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    config.rebalance_interval = Duration::from_secs(2);
    let consumer = PushConsumer::start(config, listener).await.unwrap();

    let bodies = || -> BTreeSet<String> {
        seen.lock()
            .iter()
            .map(|m| String::from_utf8_lossy(&m.body).into_owned())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !bodies().is_superset(&wanted) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // give a wrongly delivered message time to show up
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(bodies(), wanted, "\n{:?}", server.stderr_text());

    consumer.shutdown().await;
    producer.shutdown().await;
}
