//! `ferrocket bench produce|consume`: throughput and latency of the Rust client against a
//! running broker, with a progress line every second and a summary at the end.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_client::{
    listener_fn, ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, MessageExt, MessageListener,
    Producer, ProducerConfig, PushConsumer, PushConsumerConfig, SendStatus,
};
use ferrocket_protocol::SerializeType;
use hdrhistogram::Histogram;
use parking_lot::Mutex;

/// Arguments of `ferrocket bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    #[command(subcommand)]
    pub mode: BenchMode,
}

/// The benchmarks.
#[derive(clap::Subcommand)]
pub enum BenchMode {
    /// Send messages as fast as the window allows and measure send latency.
    Produce(ProduceBenchArgs),
    /// Consume a topic with push consumers and measure the delivery rate.
    Consume(ConsumeBenchArgs),
    /// Create many topics (by send and by updateTopic) and list them.
    Topics(crate::bench_topics::TopicsBenchArgs),
}

/// Arguments of `ferrocket bench produce`.
#[derive(clap::Args)]
pub struct ProduceBenchArgs {
    /// Name server address(es), `;`-separated.
    #[arg(long, env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to send to.
    #[arg(long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub size: usize,
    /// Sender tasks.
    #[arg(long, default_value_t = 4)]
    pub threads: usize,
    /// Synchronous sends each sender keeps outstanding (its window); total in flight is
    /// threads × inflight.
    #[arg(long, default_value_t = 1)]
    pub inflight: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Producer clients, each with its own connection to the broker; the senders are spread
    /// over them round-robin.
    #[arg(long, default_value_t = 1)]
    pub connections: usize,
    /// Tag of every message.
    #[arg(long)]
    pub tag: Option<String>,
    /// Producer group.
    #[arg(long, default_value = "benchmark_producer")]
    pub group: String,
    /// Compress bodies of 4 KiB and more, as RocketMQ clients do by default (off: the
    /// benchmark measures the broker, not zlib).
    #[arg(long)]
    pub compress: bool,
    /// Request header format.
    #[arg(long, value_enum, default_value = "json")]
    pub header: HeaderFormat,
    /// Account to sign requests with (servers with aclEnable=true).
    #[command(flatten)]
    pub credentials: crate::credentials::CredentialArgs,
}

/// Header serialization of the benchmark's requests.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum HeaderFormat {
    /// JSON headers, what Java and Go clients send by default.
    Json,
    /// RocketMQ's binary header, what RocketMQ's own benchmark tools use.
    Rocketmq,
}

impl HeaderFormat {
    fn serialize_type(self) -> SerializeType {
        match self {
            HeaderFormat::Json => SerializeType::Json,
            HeaderFormat::Rocketmq => SerializeType::RocketMq,
        }
    }
}

/// Where a consumer group without a stored offset starts.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum StartFrom {
    /// The oldest stored message (drains the backlog).
    First,
    /// Only messages sent from now on.
    Last,
}

/// Arguments of `ferrocket bench consume`.
#[derive(clap::Args)]
pub struct ConsumeBenchArgs {
    /// Name server address(es), `;`-separated.
    #[arg(long, env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Topic to consume.
    #[arg(long, default_value = "BenchmarkTest")]
    pub topic: String,
    /// Consumer group (default: a new group per run, so `--from first` reads everything).
    #[arg(long)]
    pub group: Option<String>,
    /// Push consumer instances in the group (they share the queues).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// How long to consume, in seconds.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// Stop once this many messages arrived.
    #[arg(long)]
    pub count: Option<u64>,
    /// Where a new group starts.
    #[arg(long, value_enum, default_value = "first")]
    pub from: StartFrom,
    /// Tag expression.
    #[arg(long, default_value = "*")]
    pub tag: String,
    /// Request header format.
    #[arg(long, value_enum, default_value = "json")]
    pub header: HeaderFormat,
    /// Account to sign requests with (servers with aclEnable=true).
    #[command(flatten)]
    pub credentials: crate::credentials::CredentialArgs,
}

/// Runs `ferrocket bench`.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.mode {
        BenchMode::Produce(a) => produce(a).await,
        BenchMode::Consume(a) => consume(a).await,
        BenchMode::Topics(a) => crate::bench_topics::run(a).await,
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs .. 1 h at 3 significant digits (delivery latency of an old backlog is large)
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn throughput_line(label: &str, msgs: u64, bytes: u64, secs: f64) -> String {
    let secs = secs.max(1e-9);
    format!(
        "{label}: {msgs} msgs in {secs:.1} s = {:.0} msgs/s, {:.2} MB/s",
        msgs as f64 / secs,
        bytes as f64 / secs / 1_000_000.0
    )
}

fn latency_line(label: &str, h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return format!("{label}: no samples");
    }
    format!(
        "{label} (ms): p50 {:.3}  p99 {:.3}  p999 {:.3}  max {:.3}  mean {:.3}",
        ms(h.value_at_quantile(0.50)),
        ms(h.value_at_quantile(0.99)),
        ms(h.value_at_quantile(0.999)),
        ms(h.max()),
        h.mean() / 1000.0
    )
}

/// Counters shared by the workers and the reporter.
struct Progress {
    msgs: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
    /// Sends stored but not SEND_OK (a SYNC_MASTER without its slave answers
    /// SLAVE_NOT_AVAILABLE or FLUSH_SLAVE_TIMEOUT; SYNC_FLUSH may answer FLUSH_DISK_TIMEOUT).
    not_ok: AtomicU64,
    /// Per-worker histograms, merged by the reporter every second.
    histograms: Vec<Arc<Mutex<Histogram<u64>>>>,
}

impl Progress {
    fn new(workers: usize) -> Arc<Progress> {
        Arc::new(Progress {
            msgs: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            not_ok: AtomicU64::new(0),
            histograms: (0..workers)
                .map(|_| Arc::new(Mutex::new(new_histogram())))
                .collect(),
        })
    }

    /// Moves every worker's samples into `interval` and `total`.
    fn drain_into(&self, interval: &mut Histogram<u64>, total: &mut Histogram<u64>) {
        for h in &self.histograms {
            let mut h = h.lock();
            let _ = interval.add(&*h);
            let _ = total.add(&*h);
            h.reset();
        }
    }
}

/// Prints a progress line each second until `stop` is set; returns the merged histogram.
async fn report(
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    start: Instant,
    what: &str,
) -> Histogram<u64> {
    let mut total = new_histogram();
    let mut interval = new_histogram();
    let (mut last_msgs, mut last_bytes) = (0u64, 0u64);
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let msgs = progress.msgs.load(Ordering::Relaxed);
        let bytes = progress.bytes.load(Ordering::Relaxed);
        interval.reset();
        progress.drain_into(&mut interval, &mut total);
        let p99 = if interval.is_empty() {
            0.0
        } else {
            ms(interval.value_at_quantile(0.99))
        };
        println!(
            "[{:>4}s] {what} {:>8} msgs/s  {:>8.2} MB/s  p99 {:>8.3} ms  total {}  errors {}",
            start.elapsed().as_secs(),
            msgs - last_msgs,
            (bytes - last_bytes) as f64 / 1_000_000.0,
            p99,
            msgs,
            progress.errors.load(Ordering::Relaxed)
        );
        last_msgs = msgs;
        last_bytes = bytes;
    }
    progress.drain_into(&mut interval, &mut total);
    total
}

async fn produce(args: ProduceBenchArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.size > 0, "--size must be positive");
    anyhow::ensure!(
        (1..=10_000).contains(&args.connections),
        "--connections must be between 1 and 10000"
    );
    let mut producers = Vec::with_capacity(args.connections);
    let mut msg = None;
    for _ in 0..args.connections {
        let (producer, m) = start_bench_producer(&args).await?;
        producers.push(producer);
        msg = Some(m);
    }
    let msg = msg.ok_or_else(|| anyhow::anyhow!("no producer started"))?;

    let senders = args.threads.max(1) * args.inflight.max(1);
    println!(
        "bench produce: topic {} size {} B, {} senders x window {} = {} in flight over {} connection(s), {} s, {:?} headers",
        args.topic, args.size, args.threads, args.inflight, senders, producers.len(), args.duration, args.header
    );
    let progress = Progress::new(senders);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(senders);
    for i in 0..senders {
        let (producer, msg, progress, stop) = (
            producers[i % producers.len()].clone(),
            msg.clone(),
            progress.clone(),
            stop.clone(),
        );
        let size = args.size as u64;
        tasks.push(tokio::spawn(send_until_stopped(
            producer, msg, progress, stop, i, size,
        )));
    }
    let reporter = tokio::spawn(report(progress.clone(), stop.clone(), start, "sent"));
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total = reporter.await?;
    let msgs = progress.msgs.load(Ordering::Relaxed);
    println!("--- summary ---");
    println!(
        "{}",
        throughput_line(
            "sent",
            msgs,
            progress.bytes.load(Ordering::Relaxed),
            elapsed
        )
    );
    println!("{}", latency_line("send latency", &total));
    println!("errors: {}", progress.errors.load(Ordering::Relaxed));
    println!(
        "stored but not SEND_OK: {}",
        progress.not_ok.load(Ordering::Relaxed)
    );
    for producer in producers {
        producer.shutdown().await;
    }
    Ok(())
}

/// Starts the producer and sends the benchmark message once: that first send looks up (or
/// creates) the topic, which stays out of the figures.
async fn start_bench_producer(args: &ProduceBenchArgs) -> anyhow::Result<(Producer, Message)> {
    let mut config = ProducerConfig::new(args.group.as_str(), args.namesrv.as_str());
    config.client.serialize_type = args.header.serialize_type();
    config.client.credentials = args.credentials.credentials()?;
    if !args.compress {
        config.compress_msg_body_over_howmuch = usize::MAX;
    }
    config.max_message_size = config.max_message_size.max(args.size);
    let producer = Producer::start(config).await?;
    // bytes that do not compress well and are not all one value
    let body: Bytes = (0..args.size)
        .map(|i| (i * 131 % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let mut msg = Message::new(args.topic.as_str(), body);
    if let Some(t) = &args.tag {
        msg.set_tags(t.as_str());
    }
    producer.send(&msg).await?;
    Ok((producer, msg))
}

/// One sender: sends `msg` back to back until `stop`, counting into `progress` (histogram
/// `worker`).
async fn send_until_stopped(
    producer: Producer,
    msg: Message,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    worker: usize,
    size: u64,
) {
    let hist = progress.histograms[worker].clone();
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        match producer.send(&msg).await {
            Ok(r) => {
                if r.send_status != SendStatus::SendOk
                    && progress.not_ok.fetch_add(1, Ordering::Relaxed) < 3
                {
                    eprintln!("stored but {}", r.send_status.as_str());
                }
                let us = t.elapsed().as_micros().max(1) as u64;
                let _ = hist.lock().record(us.min(3_600_000_000));
                progress.msgs.fetch_add(1, Ordering::Relaxed);
                progress.bytes.fetch_add(size, Ordering::Relaxed);
            }
            Err(e) => {
                if progress.errors.fetch_add(1, Ordering::Relaxed) < 10 {
                    eprintln!("send failed: {e}");
                }
            }
        }
    }
}

async fn consume(args: ConsumeBenchArgs) -> anyhow::Result<()> {
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("benchmark_consumer_{}", std::process::id()));
    let instances = args.threads.max(1);
    println!(
        "bench consume: topic {} group {} {} consumer(s), from {:?}, {} s",
        args.topic, group, instances, args.from, args.duration
    );
    let progress = Progress::new(instances);
    let stop = Arc::new(AtomicBool::new(false));
    let reached = Arc::new(tokio::sync::Notify::new());
    let limit = args.count.unwrap_or(u64::MAX);
    let start = Instant::now();
    // report from the start: consumers begin delivering while `PushConsumer::start` still runs
    let reporter = tokio::spawn(report(progress.clone(), stop.clone(), start, "received"));
    let mut consumers = Vec::with_capacity(instances);
    for i in 0..instances {
        let config = bench_consumer_config(&args, &group)?;
        let listener = counting_listener(progress.clone(), reached.clone(), i, limit);
        consumers.push(PushConsumer::start(config, listener).await?);
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(args.duration)) => {}
        _ = reached.notified() => {}
    }
    stop.store(true, Ordering::Relaxed);
    // the figures stop with the clock; deliveries still under way do not count
    let elapsed = start.elapsed().as_secs_f64();
    let (msgs, bytes) = (
        progress.msgs.load(Ordering::Relaxed),
        progress.bytes.load(Ordering::Relaxed),
    );
    let total = reporter.await?;
    println!("--- summary ---");
    println!("{}", throughput_line("received", msgs, bytes, elapsed));
    println!(
        "{}",
        latency_line(
            "delivery latency (now - born timestamp, ms resolution)",
            &total
        )
    );
    for c in consumers {
        c.shutdown_with_grace(Duration::from_secs(1)).await;
    }
    Ok(())
}

/// The configuration of one benchmark consumer of `group`.
fn bench_consumer_config(
    args: &ConsumeBenchArgs,
    group: &str,
) -> anyhow::Result<PushConsumerConfig> {
    let mut config = PushConsumerConfig::new(group, args.namesrv.as_str());
    config.subscribe(args.topic.as_str(), args.tag.as_str());
    config.client.serialize_type = args.header.serialize_type();
    config.client.credentials = args.credentials.credentials()?;
    config.consume_from_where = match args.from {
        StartFrom::First => ConsumeFromWhere::ConsumeFromFirstOffset,
        StartFrom::Last => ConsumeFromWhere::ConsumeFromLastOffset,
    };
    Ok(config)
}

/// A listener counting deliveries into `progress` (histogram `worker`) and notifying `reached`
/// once `limit` messages have arrived.
fn counting_listener(
    progress: Arc<Progress>,
    reached: Arc<tokio::sync::Notify>,
    worker: usize,
    limit: u64,
) -> MessageListener {
    let hist = progress.histograms[worker].clone();
    listener_fn(move |msgs: Vec<MessageExt>| {
        let (progress, reached, hist) = (progress.clone(), reached.clone(), hist.clone());
        async move {
            let now = ferrocket_protocol::util::now_millis();
            let mut bytes = 0u64;
            {
                let mut h = hist.lock();
                for m in &msgs {
                    bytes += m.body.len() as u64;
                    // delivery latency: born on the producer to handed to the listener
                    let us = ((now - m.born_timestamp).max(0) as u64)
                        .saturating_mul(1000)
                        .clamp(1, 3_600_000_000);
                    let _ = h.record(us);
                }
            }
            let n = msgs.len() as u64;
            progress.bytes.fetch_add(bytes, Ordering::Relaxed);
            if progress.msgs.fetch_add(n, Ordering::Relaxed) + n >= limit {
                reached.notify_one();
            }
            ConsumeConcurrentlyStatus::ConsumeSuccess
        }
    })
}
