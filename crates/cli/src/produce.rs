//! `ferrocket produce`: the quickstart producer. Sends messages synchronously and prints each
//! `SendResult` the way RocketMQ's quickstart `Producer` does.

use std::time::Duration;

use ferrocket_client::{Message, Producer, ProducerConfig};

/// Arguments of `ferrocket produce`.
#[derive(clap::Args)]
pub struct ProduceArgs {
    /// Name server address(es), `;`-separated.
    #[arg(long, env = "NAMESRV_ADDR", default_value = "127.0.0.1:9876")]
    pub namesrv: String,
    /// Connect over TLS (any server certificate is trusted, as RocketMQ's clients do).
    #[arg(long)]
    pub tls: bool,
    /// Topic to send to (created on first use when the broker allows auto-creation).
    #[arg(long)]
    pub topic: String,
    /// Number of messages.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Tag of every message.
    #[arg(long)]
    pub tag: Option<String>,
    /// Business keys of every message (several separated by one space).
    #[arg(long)]
    pub keys: Option<String>,
    /// Body text; `{i}` is replaced by the message number. Default: "Hello RocketMQ {i}".
    #[arg(long, conflicts_with = "size")]
    pub body: Option<String>,
    /// Send bodies of this many bytes instead of text.
    #[arg(long)]
    pub size: Option<usize>,
    /// Producer group.
    #[arg(long, default_value = "please_rename_unique_group_name")]
    pub group: String,
    /// Timeout of one send, retries included, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u64,
    /// Account to sign requests with (servers with aclEnable=true).
    #[command(flatten)]
    pub credentials: crate::credentials::CredentialArgs,
}

/// Runs `ferrocket produce`.
pub async fn run(args: ProduceArgs) -> anyhow::Result<()> {
    let mut config = ProducerConfig::new(args.group.as_str(), args.namesrv.as_str());
    config.send_msg_timeout = Duration::from_millis(args.timeout_ms);
    config.client.credentials = args.credentials.credentials()?;
    config.client.use_tls = args.tls;
    let producer = Producer::start(config).await?;
    let fixed = args.size.map(|n| bytes::Bytes::from(vec![b'x'; n]));
    let template = args
        .body
        .unwrap_or_else(|| "Hello RocketMQ {i}".to_string());
    let mut failures = 0u64;
    for i in 0..args.count {
        let body = match &fixed {
            Some(b) => b.clone(),
            None => bytes::Bytes::from(template.replace("{i}", &i.to_string())),
        };
        let mut msg = Message::new(args.topic.as_str(), body);
        if let Some(t) = &args.tag {
            msg.set_tags(t.as_str());
        }
        if let Some(k) = &args.keys {
            msg.set_keys([k.as_str()]);
        }
        match producer.send(&msg).await {
            Ok(r) => println!("{r}"),
            Err(e) => {
                failures += 1;
                eprintln!("send {i} failed: {e}");
            }
        }
    }
    producer.shutdown().await;
    if failures > 0 {
        anyhow::bail!("{failures} of {} sends failed", args.count);
    }
    Ok(())
}
