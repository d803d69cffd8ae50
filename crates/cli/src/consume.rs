//! `ferrocket consume`: the quickstart push consumer. Prints every message it receives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_client::{
    describe, listener_fn, ConsumeConcurrentlyStatus, ConsumeFromWhere, MessageExt, PushConsumer,
    PushConsumerConfig,
};
use tokio::sync::Notify;

use crate::signals::ShutdownSignals;

/// Where a group without a stored offset starts.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum From {
    /// The oldest stored message.
    First,
    /// Only messages sent from now on.
    Last,
}

/// Arguments of `ferrocket consume`.
#[derive(clap::Args)]
pub struct ConsumeArgs {
    /// Name server address(es), `;`-separated.
    #[arg(long, env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Connect over TLS (any server certificate is trusted, as RocketMQ's clients do).
    #[arg(long)]
    pub tls: bool,
    /// Topic to consume.
    #[arg(long)]
    pub topic: String,
    /// Consumer group.
    #[arg(long)]
    pub group: String,
    /// Tag expression: `*`, or tags separated by `||`.
    #[arg(long, default_value = "*")]
    pub tag: String,
    /// Where to start when the group has no stored offset.
    #[arg(long, value_enum, default_value = "first")]
    pub from: From,
    /// Stop after this many messages (default: run until interrupted).
    #[arg(long)]
    pub count: Option<u64>,
    /// Print only topic, queue, offset, id, tags, keys and body text (one line per message).
    #[arg(long)]
    pub brief: bool,
    /// Milliseconds between route refreshes from the name server (`pollNameServerInterval`).
    #[arg(long, default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub poll_name_server_interval_ms: u64,
    /// Milliseconds between commits of the consumed offsets (`persistConsumerOffsetInterval`).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub persist_consumer_offset_interval_ms: u64,
    /// Account to sign requests with (servers with aclEnable=true).
    #[command(flatten)]
    pub credentials: crate::credentials::CredentialArgs,
}

/// The body as text, cut at 200 characters.
fn body_preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.into_owned(),
    }
}

fn print_message(m: &MessageExt, brief: bool) {
    if brief {
        println!(
            "topic={} queueId={} queueOffset={} msgId={} tags={} keys={} body={}",
            m.topic,
            m.queue_id,
            m.queue_offset,
            m.unique_id(),
            m.tags().unwrap_or(""),
            m.keys().unwrap_or(""),
            body_preview(&m.body)
        );
    } else {
        println!(
            "Receive New Messages: {}, body={}",
            describe(m),
            body_preview(&m.body)
        );
    }
}

/// Runs `ferrocket consume` until `--count` messages arrived or SIGINT/SIGTERM.
pub async fn run(args: ConsumeArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let mut config = PushConsumerConfig::new(args.group.as_str(), args.namesrv.as_str());
    config.subscribe(args.topic.as_str(), args.tag.as_str());
    config.client.credentials = args.credentials.credentials()?;
    config.client.use_tls = args.tls;
    config.client.poll_name_server_interval =
        Duration::from_millis(args.poll_name_server_interval_ms);
    config.client.persist_consumer_offset_interval =
        Duration::from_millis(args.persist_consumer_offset_interval_ms);
    config.consume_from_where = match args.from {
        From::First => ConsumeFromWhere::ConsumeFromFirstOffset,
        From::Last => ConsumeFromWhere::ConsumeFromLastOffset,
    };
    let limit = args.count.unwrap_or(u64::MAX);
    if args.count.is_some() {
        // one message per listener call, so that nothing past the limit is committed
        config.consume_message_batch_max_size = 1;
    }
    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(Notify::new());
    let (r, d, brief) = (received.clone(), done.clone(), args.brief);
    let listener = listener_fn(move |msgs: Vec<MessageExt>| {
        let (r, d) = (r.clone(), d.clone());
        async move {
            for m in &msgs {
                // queues are consumed concurrently: take a slot before printing
                let n = r.fetch_add(1, Ordering::SeqCst);
                if n >= limit {
                    // past the limit: never report success, so the offset stays before it
                    std::future::pending::<()>().await;
                }
                print_message(m, brief);
                if n + 1 == limit {
                    d.notify_one();
                }
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }
    });
    let consumer = PushConsumer::start(config, listener).await?;
    eprintln!(
        "Consumer {} started in group {}",
        consumer.client_id(),
        args.group
    );
    tokio::select! {
        _ = done.notified() => consumer.shutdown_with_grace(Duration::ZERO).await,
        name = signals.recv() => {
            eprintln!("{name} received, shutting down");
            consumer.shutdown().await;
        }
    }
    eprintln!(
        "Consumed {} messages",
        received.load(Ordering::SeqCst).min(limit)
    );
    Ok(())
}
