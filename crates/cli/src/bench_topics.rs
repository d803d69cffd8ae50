//! `ferrocket bench topics`: creates many topics against a running broker, half auto-created by
//! a first send and half by UPDATE_AND_CREATE_TOPIC, then lists them from the name server and
//! the broker, timing each step.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferrocket_client::admin::MQAdminExt;
use ferrocket_client::{Message, Producer, ProducerConfig};
use ferrocket_protocol::body::topic::TopicConfig;

/// Arguments of `ferrocket bench topics`.
#[derive(clap::Args)]
pub struct TopicsBenchArgs {
    /// Name server address(es), `;`-separated.
    #[arg(long, env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topics to create in all (half by send, half by updateTopic).
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Prefix of the topic names.
    #[arg(long, default_value = "BenchTopic")]
    pub prefix: String,
    /// Only list the topics with this prefix (after a restart), creating none.
    #[arg(long)]
    pub list_only: bool,
}

/// Runs `ferrocket bench topics`.
pub async fn run(a: TopicsBenchArgs) -> anyhow::Result<()> {
    let admin = Arc::new(MQAdminExt::new(&a.namesrv, Duration::from_secs(30))?);
    let broker = admin
        .master_addrs(None)
        .await?
        .into_iter()
        .next()
        .context("no broker registered with the name server")?;
    if !a.list_only {
        let by_send = a.count / 2;
        let sent = create_by_send(&a, by_send).await?;
        println!(
            "auto-created by send: {by_send} topics in {:.2} s",
            sent.as_secs_f64()
        );
        let updated = create_by_update(&a, &admin, &broker, by_send..a.count).await?;
        println!(
            "created by updateTopic: {} topics in {:.2} s",
            a.count - by_send,
            updated.as_secs_f64()
        );
    }
    let t = Instant::now();
    let listed = admin.fetch_all_topic_list().await?;
    let n = listed
        .topic_list
        .iter()
        .filter(|t| t.starts_with(&a.prefix))
        .count();
    println!(
        "name server topic list: {n} of {} topics in {:.3} s",
        a.count,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let req = ferrocket_protocol::RemotingCommand::request(
        ferrocket_protocol::code::request::GET_ALL_TOPIC_CONFIG,
    );
    let resp = admin.call_broker(&broker, req).await?;
    println!(
        "broker topic config table: {} bytes in {:.3} s",
        resp.body.len(),
        t.elapsed().as_secs_f64()
    );
    admin.shutdown().await;
    anyhow::ensure!(n == a.count, "{n} of {} topics listed", a.count);
    Ok(())
}

async fn create_by_send(a: &TopicsBenchArgs, n: usize) -> anyhow::Result<Duration> {
    let producer = Producer::start(ProducerConfig::new("bench_topics", a.namesrv.clone())).await?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let (producer, next, prefix) = (producer.clone(), next.clone(), a.prefix.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return anyhow::Ok(());
                }
                producer
                    .send(&Message::new(format!("{prefix}{i}"), "x"))
                    .await
                    .with_context(|| format!("send to {prefix}{i}"))?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let took = start.elapsed();
    producer.shutdown().await;
    Ok(took)
}

async fn create_by_update(
    a: &TopicsBenchArgs,
    admin: &Arc<MQAdminExt>,
    broker: &str,
    range: std::ops::Range<usize>,
) -> anyhow::Result<Duration> {
    let end = range.end;
    let next = Arc::new(AtomicUsize::new(range.start));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.concurrency.max(1) {
        let (admin, next, prefix) = (admin.clone(), next.clone(), a.prefix.clone());
        let broker = broker.to_string();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return anyhow::Ok(());
                }
                let topic = TopicConfig::new(format!("{prefix}{i}"), 4);
                admin
                    .create_and_update_topic_config(&broker, &topic)
                    .await
                    .with_context(|| format!("updateTopic {prefix}{i}"))?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(start.elapsed())
}
