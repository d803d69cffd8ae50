//! `Producer` (RocketMQ's `DefaultMQProducer`): route lookup, queue rotation, retries, send
//! result; synchronous, callback, one-way and batch sends.

pub mod send_result;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::util::now_millis;
use parking_lot::Mutex;

use crate::api::MQClientApi;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::header::SendMessageRequestHeader;
use crate::instance::{ClientInstance, AUTO_CREATE_TOPIC_KEY};
use crate::message::property::{self, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};
use crate::message::sys_flag::COMPRESSED;
use crate::message::{encode_batch_body, Message};
use crate::validators::{check_message, check_topic};

pub use send_result::{SendResult, SendStatus};

/// Producer settings (`DefaultMQProducer` fields).
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Shared client settings.
    pub client: ClientConfig,
    /// Producer group.
    pub group: String,
    /// Overall timeout of one send, retries included (`sendMsgTimeout`).
    pub send_msg_timeout: Duration,
    /// Extra attempts of a synchronous send (`retryTimesWhenSendFailed`).
    pub retry_times_when_send_failed: u32,
    /// Queues of a topic the broker auto-creates (`defaultTopicQueueNums`).
    pub default_topic_queue_nums: i32,
    /// Bodies at least this long are zlib-compressed (`compressMsgBodyOverHowmuch`).
    pub compress_msg_body_over_howmuch: usize,
    /// zlib level (`rocketmq.message.compressLevel`).
    pub compress_level: u32,
    /// Largest body accepted (`maxMessageSize`).
    pub max_message_size: usize,
    /// Retry on another broker when the store status is not SEND_OK.
    pub retry_another_broker_when_not_store_ok: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            client: ClientConfig::default(),
            group: "DEFAULT_PRODUCER".to_string(),
            send_msg_timeout: Duration::from_millis(3000),
            retry_times_when_send_failed: 2,
            default_topic_queue_nums: 4,
            compress_msg_body_over_howmuch: 4096,
            compress_level: 5,
            max_message_size: 4 * 1024 * 1024,
            retry_another_broker_when_not_store_ok: false,
        }
    }
}

impl ProducerConfig {
    /// A configuration for `group` talking to `namesrv_addr`.
    pub fn new(group: impl Into<String>, namesrv_addr: impl Into<String>) -> Self {
        ProducerConfig {
            client: ClientConfig::with_namesrv(namesrv_addr),
            group: group.into(),
            ..Default::default()
        }
    }
}

/// Appends one `name 0x01 value 0x02` pair; empty values are left out, as Java drops them.
fn push_property(out: &mut String, name: &str, value: &str) {
    if name.is_empty() || value.is_empty() {
        return;
    }
    out.push_str(name);
    out.push(NAME_VALUE_SEPARATOR);
    out.push_str(value);
    out.push(PROPERTY_SEPARATOR);
}

/// A started producer; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct Producer {
    inner: Arc<ProducerInner>,
}

struct ProducerInner {
    config: ProducerConfig,
    instance: Arc<ClientInstance>,
    shut_down: Mutex<bool>,
}

/// A message ready to go on the wire: its header fields, body and UNIQ_KEY.
struct PreparedSend {
    header: SendMessageRequestHeader,
    body: Bytes,
    msg_id: String,
}

impl Producer {
    /// Starts a producer: creates its client instance and registers the group in heartbeats.
    pub async fn start(config: ProducerConfig) -> Result<Producer> {
        if config.group.is_empty() {
            return Err(ClientError::Config("producer group is empty".into()));
        }
        let instance = ClientInstance::start(config.client.clone()).await?;
        instance.register_producer(&config.group);
        Ok(Producer {
            inner: Arc::new(ProducerInner {
                config,
                instance,
                shut_down: Mutex::new(false),
            }),
        })
    }

    /// The client instance (routes, client id).
    pub fn instance(&self) -> &Arc<ClientInstance> {
        &self.inner.instance
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// The writable queues of `topic`.
    pub async fn fetch_publish_message_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        let info = self
            .inner
            .instance
            .publish_info(topic, self.inner.config.default_topic_queue_nums)
            .await?;
        Ok(info.message_queues.clone())
    }

    fn check_running(&self) -> Result<()> {
        if *self.inner.shut_down.lock() {
            return Err(ClientError::State("the producer has been shut down"));
        }
        Ok(())
    }

    /// Builds the header and body of a single-message send, assigning a UNIQ_KEY unless the
    /// message already has one.
    fn prepare(&self, msg: &Message) -> Result<PreparedSend> {
        let cfg = &self.inner.config;
        check_message(msg, cfg.max_message_size)?;
        let msg_id = match msg.unique_key() {
            Some(k) => k.to_string(),
            None => self.inner.instance.unique_ids().next_id(),
        };
        let mut props = String::with_capacity(msg.properties.encoded_len() + 64);
        for (k, v) in msg.properties.iter() {
            if k != property::UNIQ_KEY {
                push_property(&mut props, k, v);
            }
        }
        // Java's Message constructor always sets WAIT; keep the wire identical
        if !msg.properties.contains_key(property::WAIT) {
            push_property(&mut props, property::WAIT, "true");
        }
        push_property(&mut props, property::UNIQ_KEY, &msg_id);
        let mut sys_flag = 0;
        let mut body = msg.body.clone();
        if body.len() >= cfg.compress_msg_body_over_howmuch {
            let mut z = flate2::write::ZlibEncoder::new(
                Vec::with_capacity(body.len() / 2),
                flate2::Compression::new(cfg.compress_level),
            );
            if z.write_all(&body).is_ok() {
                if let Ok(c) = z.finish() {
                    body = c.into();
                    sys_flag |= COMPRESSED;
                }
            }
        }
        let reconsume_times = msg
            .property(property::RECONSUME_TIME)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let max_reconsume_times = msg
            .property(property::MAX_RECONSUME_TIMES)
            .and_then(|v| v.parse().ok());
        Ok(PreparedSend {
            header: SendMessageRequestHeader {
                producer_group: cfg.group.clone(),
                topic: msg.topic.clone(),
                default_topic: AUTO_CREATE_TOPIC_KEY.to_string(),
                default_topic_queue_nums: cfg.default_topic_queue_nums,
                queue_id: 0,
                sys_flag,
                born_timestamp: now_millis(),
                flag: msg.flag,
                properties: Some(props),
                reconsume_times: Some(reconsume_times),
                unit_mode: Some(false),
                max_reconsume_times,
                batch: Some(false),
                broker_name: None,
            },
            body,
            msg_id,
        })
    }

    /// Builds the header and body of a batch: every inner message gets its own UNIQ_KEY.
    fn prepare_batch(&self, msgs: &[Message]) -> Result<PreparedSend> {
        let cfg = &self.inner.config;
        let first = msgs
            .first()
            .ok_or_else(|| ClientError::IllegalMessage("empty batch".into()))?;
        let mut inner = Vec::with_capacity(msgs.len());
        let mut ids = Vec::with_capacity(msgs.len());
        for m in msgs {
            if m.topic != first.topic {
                return Err(ClientError::IllegalMessage(
                    "a batch must have one topic".into(),
                ));
            }
            if m.wait_store_msg_ok() != first.wait_store_msg_ok() {
                return Err(ClientError::IllegalMessage(
                    "a batch must have one WAIT value".into(),
                ));
            }
            if m.delay_time_level() > 0 {
                return Err(ClientError::IllegalMessage(
                    "a batch cannot be delayed".into(),
                ));
            }
            if ferrocket_protocol::mix_all::is_retry_topic(&m.topic) {
                return Err(ClientError::IllegalMessage(
                    "a batch cannot go to a retry topic".into(),
                ));
            }
            check_message(m, cfg.max_message_size)?;
            let mut m = m.clone();
            let id = match m.unique_key() {
                Some(k) => k.to_string(),
                None => {
                    let k = self.inner.instance.unique_ids().next_id();
                    m.set_unique_key(k.clone());
                    k
                }
            };
            ids.push(id);
            inner.push(m);
        }
        let body: Bytes = encode_batch_body(&inner)
            .map_err(|e| ClientError::IllegalMessage(format!("batch: {e}")))?
            .into();
        if body.len() > cfg.max_message_size {
            return Err(ClientError::IllegalMessage(format!(
                "batch body of {} bytes exceeds {}",
                body.len(),
                cfg.max_message_size
            )));
        }
        let mut props = String::new();
        let wait = if first.wait_store_msg_ok() {
            "true"
        } else {
            "false"
        };
        push_property(&mut props, property::WAIT, wait);
        Ok(PreparedSend {
            header: SendMessageRequestHeader {
                producer_group: cfg.group.clone(),
                topic: first.topic.clone(),
                default_topic: AUTO_CREATE_TOPIC_KEY.to_string(),
                default_topic_queue_nums: cfg.default_topic_queue_nums,
                queue_id: 0,
                sys_flag: 0,
                born_timestamp: now_millis(),
                flag: 0,
                properties: Some(props),
                reconsume_times: Some(0),
                unit_mode: Some(false),
                max_reconsume_times: None,
                batch: Some(true),
                broker_name: None,
            },
            body,
            msg_id: ids.join(","),
        })
    }

    /// Sends one message and waits for the broker (`DefaultMQProducer.send(Message)`).
    ///
    /// Queues are taken round robin; a failed attempt is retried on another broker's queue, up
    /// to `1 + retry_times_when_send_failed` attempts within `send_msg_timeout`.
    pub async fn send(&self, msg: &Message) -> Result<SendResult> {
        self.check_running()?;
        check_topic(&msg.topic)?;
        let prepared = self.prepare(msg)?;
        self.send_default(prepared).await
    }

    /// Sends a batch of messages of one topic as one SEND_BATCH_MESSAGE.
    pub async fn send_batch(&self, msgs: &[Message]) -> Result<SendResult> {
        self.check_running()?;
        if let Some(m) = msgs.first() {
            check_topic(&m.topic)?;
        }
        let prepared = self.prepare_batch(msgs)?;
        self.send_default(prepared).await
    }

    /// Sends one message to a chosen queue, without retries on other queues.
    pub async fn send_to_queue(&self, msg: &Message, mq: &MessageQueue) -> Result<SendResult> {
        self.check_running()?;
        check_topic(&msg.topic)?;
        if mq.topic != msg.topic {
            return Err(ClientError::IllegalMessage(format!(
                "message topic {} differs from queue topic {}",
                msg.topic, mq.topic
            )));
        }
        let prepared = self.prepare(msg)?;
        let timeout = self.inner.config.send_msg_timeout;
        self.send_kernel(&prepared, mq, timeout).await
    }

    /// Sends one message in the background and hands the outcome to `callback`.
    pub fn send_with_callback<F>(&self, msg: Message, callback: F)
    where
        F: FnOnce(Result<SendResult>) + Send + 'static,
    {
        let producer = self.clone();
        tokio::spawn(async move {
            let r = producer.send(&msg).await;
            callback(r);
        });
    }

    /// Sends one message without waiting for the broker's answer.
    pub async fn send_oneway(&self, msg: &Message) -> Result<()> {
        self.check_running()?;
        check_topic(&msg.topic)?;
        let prepared = self.prepare(msg)?;
        let info = self
            .inner
            .instance
            .publish_info(&msg.topic, self.inner.config.default_topic_queue_nums)
            .await?;
        let mq = info
            .select_one_message_queue(None)
            .ok_or_else(|| ClientError::NoRoute(msg.topic.clone()))?
            .clone();
        let addr = self
            .inner
            .instance
            .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
            .await?;
        let req = MQClientApi::send_request(&prepared.header, &mq, prepared.body);
        self.inner
            .instance
            .api()
            .send_message_oneway(&addr, req)
            .await
    }

    /// One attempt on one queue.
    async fn send_kernel(
        &self,
        prepared: &PreparedSend,
        mq: &MessageQueue,
        timeout: Duration,
    ) -> Result<SendResult> {
        let instance = &self.inner.instance;
        let addr = instance
            .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
            .await?;
        let req = MQClientApi::send_request(&prepared.header, mq, prepared.body.clone());
        instance
            .api()
            .send_message(&addr, mq, req, prepared.msg_id.clone(), timeout)
            .await
    }

    /// The retry loop of `sendDefaultImpl`. No sleeps: a failed attempt moves on at once.
    async fn send_default(&self, prepared: PreparedSend) -> Result<SendResult> {
        let cfg = &self.inner.config;
        let begin = Instant::now();
        let topic = prepared.header.topic.clone();
        let info = self
            .inner
            .instance
            .publish_info(&topic, cfg.default_topic_queue_nums)
            .await?;
        let attempts = 1 + cfg.retry_times_when_send_failed;
        let mut last_broker: Option<String> = None;
        let mut last_error: Option<ClientError> = None;
        let mut made = 0;
        for _ in 0..attempts {
            let elapsed = begin.elapsed();
            if elapsed >= cfg.send_msg_timeout {
                break;
            }
            let Some(mq) = info.select_one_message_queue(last_broker.as_deref()) else {
                return Err(ClientError::NoRoute(topic));
            };
            let mq = mq.clone();
            made += 1;
            match self
                .send_kernel(&prepared, &mq, cfg.send_msg_timeout - elapsed)
                .await
            {
                Ok(result) => {
                    if result.send_status != SendStatus::SendOk
                        && cfg.retry_another_broker_when_not_store_ok
                    {
                        last_broker = Some(mq.broker_name.clone());
                        last_error = None;
                        continue;
                    }
                    return Ok(result);
                }
                Err(e) if e.is_retryable_send() => {
                    tracing::debug!(topic = %topic, queue = %mq, error = %e, "send attempt failed, retrying");
                    last_broker = Some(mq.broker_name.clone());
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        match last_error {
            Some(e) if begin.elapsed() < cfg.send_msg_timeout => Err(e),
            last => Err(ClientError::SendTimeout {
                topic,
                millis: cfg.send_msg_timeout.as_millis() as u64,
                attempts: made,
                last: last.map(Box::new),
            }),
        }
    }

    /// Unregisters the group from every broker and closes the connections.
    pub async fn shutdown(&self) {
        {
            let mut down = self.inner.shut_down.lock();
            if *down {
                return;
            }
            *down = true;
        }
        let instance = &self.inner.instance;
        instance
            .unregister_client(Some(&self.inner.config.group), None)
            .await;
        instance.shutdown().await;
    }
}
