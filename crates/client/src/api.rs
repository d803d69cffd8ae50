//! `MQClientAPI`: one async function per remote call the client makes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use ferrocket_acl::SessionCredentials;
use ferrocket_protocol::body::heartbeat::{ConsumerIdList, HeartbeatData};
use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::body::{decode, encode};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::{RemotingCommand, SerializeType};
use ferrocket_remoting::{Channel, ClientRequestHandler, RemotingClient, RemotingError};
use parking_lot::RwLock;

use crate::error::{ClientError, Result};
use crate::header::{
    ext_fields_with_broker_name, ConsumerSendMsgBackRequestHeader,
    GetConsumerListByGroupRequestHeader, PullMessageRequestHeader, PullMessageResponseHeader,
    QueryConsumerOffsetRequestHeader, QueryConsumerOffsetResponseHeader, SendMessageRequestHeader,
    SendMessageResponseHeader, UnregisterClientRequestHeader, UpdateConsumerOffsetRequestHeader,
};
use crate::message::{decode_messages_bytes, DecodeOptions};
use crate::producer::send_result::{SendResult, SendStatus};
use crate::pull_result::{PullResult, PullStatus};
use ferrocket_protocol::header::CommandCustomHeader;

/// How a request is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommunicationMode {
    /// Wait for the response.
    Sync,
    /// Do not wait; no response is expected.
    Oneway,
}

/// Remote calls to name servers and brokers over one `RemotingClient`.
pub struct MQClientApi {
    remoting: RemotingClient,
    namesrv: Vec<String>,
    namesrv_cursor: AtomicUsize,
    serialize_type: SerializeType,
    /// Live channels by address: the hot path clones one under a read lock instead of going
    /// through the transport's connection table.
    channels: RwLock<HashMap<String, Channel>>,
    /// Signs every request as `AclClientRPCHook` does, when the servers enforce ACL.
    credentials: Option<SessionCredentials>,
}

fn broker_error(addr: &str, resp: &RemotingCommand) -> ClientError {
    ClientError::Broker {
        code: resp.code,
        remark: resp.remark.clone().unwrap_or_default(),
        addr: addr.to_string(),
    }
}

impl MQClientApi {
    /// A client for the given name servers; `handler` answers broker-initiated requests.
    pub fn new(
        namesrv: Vec<String>,
        serialize_type: SerializeType,
        handler: ClientRequestHandler,
    ) -> Self {
        MQClientApi {
            remoting: RemotingClient::with_handler(handler),
            namesrv,
            namesrv_cursor: AtomicUsize::new(0),
            serialize_type,
            channels: RwLock::new(HashMap::new()),
            credentials: None,
        }
    }

    /// Signs every request with `credentials` (RocketMQ's `AclClientRPCHook`).
    pub fn with_credentials(mut self, credentials: Option<SessionCredentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets the header serialization and, last, the signature.
    fn prepare(&self, req: &mut RemotingCommand) {
        req.serialize_type = self.serialize_type;
        if let Some(c) = &self.credentials {
            c.sign(req);
        }
    }

    /// This client, connecting over TLS (trusting any server certificate, as RocketMQ's
    /// clients do unless told to verify) when `use_tls`.
    pub fn with_tls(mut self, use_tls: bool) -> Result<Self> {
        if use_tls {
            let connector = ferrocket_remoting::TlsSettings::default()
                .connector()
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            self.remoting = self.remoting.with_tls(connector);
        }
        Ok(self)
    }

    /// The live channel to `addr`, connecting if needed.
    pub async fn channel(&self, addr: &str) -> Result<Channel> {
        if let Some(ch) = self.channels.read().get(addr) {
            if ch.is_active() {
                return Ok(ch.clone());
            }
        }
        let ch = self.remoting.channel(addr).await?;
        self.channels.write().insert(addr.to_string(), ch.clone());
        Ok(ch)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.channels.write().clear();
        self.remoting.close_all().await;
    }

    /// Sends a request and waits for its response.
    pub(crate) async fn invoke(
        &self,
        addr: &str,
        mut req: RemotingCommand,
        timeout: Duration,
    ) -> Result<RemotingCommand, RemotingError> {
        self.prepare(&mut req);
        let ch = match self.channel(addr).await {
            Ok(ch) => ch,
            Err(ClientError::Remoting(e)) => return Err(e),
            Err(e) => return Err(RemotingError::Io(std::io::Error::other(e.to_string()))),
        };
        let r = ch.invoke(req, timeout).await;
        if matches!(r, Err(RemotingError::ConnectionClosed(_))) {
            self.channels.write().remove(addr);
        }
        r
    }

    /// Sends a one-way request.
    async fn invoke_oneway(
        &self,
        addr: &str,
        mut req: RemotingCommand,
    ) -> Result<(), RemotingError> {
        self.prepare(&mut req);
        let ch = match self.channel(addr).await {
            Ok(ch) => ch,
            Err(ClientError::Remoting(e)) => return Err(e),
            Err(e) => return Err(RemotingError::Io(std::io::Error::other(e.to_string()))),
        };
        ch.send_oneway(req).await
    }

    /// The transport.
    pub fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// The configured name servers.
    pub fn namesrv_addrs(&self) -> &[String] {
        &self.namesrv
    }

    /// Sends `req` to a name server, failing over to the next one on transport errors.
    pub async fn invoke_namesrv(
        &self,
        req: RemotingCommand,
        timeout: Duration,
    ) -> Result<(String, RemotingCommand)> {
        if self.namesrv.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let start = self.namesrv_cursor.load(Ordering::Relaxed);
        let mut last: Option<RemotingError> = None;
        for i in 0..self.namesrv.len() {
            let idx = (start + i) % self.namesrv.len();
            let addr = &self.namesrv[idx];
            match self.invoke(addr, req.clone(), timeout).await {
                Ok(resp) => {
                    self.namesrv_cursor.store(idx, Ordering::Relaxed);
                    return Ok((addr.clone(), resp));
                }
                Err(e) => {
                    tracing::debug!(namesrv = %addr, error = %e, "name server call failed");
                    last = Some(e);
                }
            }
        }
        Err(last
            .map(ClientError::from)
            .unwrap_or(ClientError::NoNameServer))
    }

    /// GET_ROUTEINFO_BY_TOPIC; `None` when the name server has no route (17).
    pub async fn get_topic_route(
        &self,
        topic: &str,
        timeout: Duration,
    ) -> Result<Option<TopicRouteData>> {
        let req =
            RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", topic);
        let (addr, resp) = self.invoke_namesrv(req, timeout).await?;
        match resp.code {
            response::SUCCESS => Ok(Some(decode(&resp.body)?)),
            response::TOPIC_NOT_EXIST => Ok(None),
            code => Err(ClientError::NameServer {
                code,
                remark: resp.remark.unwrap_or_default(),
                addr,
            }),
        }
    }

    /// Sends a request built by [`MQClientApi::send_request`] and waits for the answer.
    ///
    /// `msg_id` is the UNIQ_KEY (comma-joined for batches) reported as `SendResult::msg_id`.
    pub async fn send_message(
        &self,
        addr: &str,
        mq: &MessageQueue,
        req: RemotingCommand,
        msg_id: String,
        timeout: Duration,
    ) -> Result<SendResult> {
        let resp = self.invoke(addr, req, timeout).await?;
        Self::process_send_response(addr, mq, &resp, msg_id)
    }

    /// Sends a request built by [`MQClientApi::send_request`] without waiting for an answer.
    pub async fn send_message_oneway(&self, addr: &str, req: RemotingCommand) -> Result<()> {
        Ok(self.invoke_oneway(addr, req).await?)
    }

    /// SEND_MESSAGE_V2, or SEND_BATCH_MESSAGE when `header.batch`, for queue `mq`.
    pub fn send_request(
        header: &SendMessageRequestHeader,
        mq: &MessageQueue,
        body: Bytes,
    ) -> RemotingCommand {
        let code = if header.batch == Some(true) {
            request::SEND_BATCH_MESSAGE
        } else {
            request::SEND_MESSAGE_V2
        };
        let mut req = RemotingCommand::request(code);
        header.encode_v2(&mut req.ext_fields);
        req.ext_fields.insert("e", mq.queue_id.to_string());
        req.ext_fields.insert("n", mq.broker_name.as_str());
        req.body = body;
        req
    }

    /// Turns a send response into a `SendResult` (`MQClientAPIImpl.processSendResponse`).
    pub fn process_send_response(
        addr: &str,
        mq: &MessageQueue,
        resp: &RemotingCommand,
        msg_id: String,
    ) -> Result<SendResult> {
        let send_status = match resp.code {
            response::SUCCESS => SendStatus::SendOk,
            response::FLUSH_DISK_TIMEOUT => SendStatus::FlushDiskTimeout,
            response::FLUSH_SLAVE_TIMEOUT => SendStatus::FlushSlaveTimeout,
            response::SLAVE_NOT_AVAILABLE => SendStatus::SlaveNotAvailable,
            _ => return Err(broker_error(addr, resp)),
        };
        let h = SendMessageResponseHeader::decode(resp)?;
        Ok(SendResult {
            send_status,
            msg_id,
            offset_msg_id: h.msg_id,
            message_queue: MessageQueue::new(
                mq.topic.as_str(),
                mq.broker_name.as_str(),
                h.queue_id,
            ),
            queue_offset: h.queue_offset,
            transaction_id: h.transaction_id,
            region_id: resp
                .ext("MSG_REGION")
                .unwrap_or("DefaultRegion")
                .to_string(),
            trace_on: resp.ext("TRACE_ON") != Some("false"),
        })
    }

    /// PULL_MESSAGE. Messages are decoded but not tag-filtered.
    pub async fn pull_message(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout: Duration,
    ) -> Result<PullResult> {
        let mut req = RemotingCommand::request(request::PULL_MESSAGE);
        header.encode(&mut req.ext_fields);
        let resp = self.invoke(addr, req, timeout).await?;
        let status = match resp.code {
            response::SUCCESS => PullStatus::Found,
            response::PULL_NOT_FOUND => PullStatus::NoNewMsg,
            response::PULL_RETRY_IMMEDIATELY => PullStatus::NoMatchedMsg,
            response::PULL_OFFSET_MOVED => PullStatus::OffsetIllegal,
            _ => return Err(broker_error(addr, &resp)),
        };
        let h = PullMessageResponseHeader::decode(&resp)?;
        let msgs = if status == PullStatus::Found {
            decode_messages_bytes(&resp.full_body(), &DecodeOptions::decompressing())
                .map_err(|e| ClientError::BadResponse(format!("pull body from {addr}: {e}")))?
        } else {
            Vec::new()
        };
        Ok(PullResult {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            suggest_which_broker_id: h.suggest_which_broker_id,
            msgs,
        })
    }

    /// HEART_BEAT; returns the broker's version ordinal.
    pub async fn send_heartbeat(
        &self,
        addr: &str,
        data: &HeartbeatData,
        timeout: Duration,
    ) -> Result<i32> {
        let req = RemotingCommand::request(request::HEART_BEAT).with_body(encode(data));
        let resp = self.invoke(addr, req, timeout).await?;
        if resp.code != response::SUCCESS {
            return Err(broker_error(addr, &resp));
        }
        Ok(resp.version)
    }

    /// UNREGISTER_CLIENT.
    pub async fn unregister_client(
        &self,
        addr: &str,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
        timeout: Duration,
    ) -> Result<()> {
        let mut req = RemotingCommand::request(request::UNREGISTER_CLIENT);
        UnregisterClientRequestHeader {
            client_id: client_id.to_string(),
            producer_group: producer_group.map(str::to_string),
            consumer_group: consumer_group.map(str::to_string),
        }
        .write_to(&mut req);
        let resp = self.invoke(addr, req, timeout).await?;
        if resp.code != response::SUCCESS {
            return Err(broker_error(addr, &resp));
        }
        Ok(())
    }

    /// GET_CONSUMER_LIST_BY_GROUP.
    pub async fn get_consumer_id_list(
        &self,
        addr: &str,
        group: &str,
        timeout: Duration,
    ) -> Result<Vec<String>> {
        let mut req = RemotingCommand::request(request::GET_CONSUMER_LIST_BY_GROUP);
        GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_string(),
        }
        .write_to(&mut req);
        let resp = self.invoke(addr, req, timeout).await?;
        if resp.code != response::SUCCESS {
            return Err(broker_error(addr, &resp));
        }
        let list: ConsumerIdList = decode(&resp.body)?;
        Ok(list.consumer_id_list)
    }

    /// QUERY_CONSUMER_OFFSET; `None` when the broker has no offset for the group (22).
    pub async fn query_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        timeout: Duration,
    ) -> Result<Option<i64>> {
        let mut req = RemotingCommand::request(request::QUERY_CONSUMER_OFFSET);
        let header = QueryConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            set_zero_if_not_found: None,
        };
        req.ext_fields = ext_fields_with_broker_name(&header, &mq.broker_name);
        let resp = self.invoke(addr, req, timeout).await?;
        match resp.code {
            response::SUCCESS => Ok(Some(
                QueryConsumerOffsetResponseHeader::decode(&resp)?.offset,
            )),
            response::QUERY_NOT_FOUND => Ok(None),
            _ => Err(broker_error(addr, &resp)),
        }
    }

    /// UPDATE_CONSUMER_OFFSET, one-way or waiting for the answer.
    pub async fn update_consumer_offset(
        &self,
        addr: &str,
        group: &str,
        mq: &MessageQueue,
        offset: i64,
        mode: CommunicationMode,
        timeout: Duration,
    ) -> Result<()> {
        let mut req = RemotingCommand::request(request::UPDATE_CONSUMER_OFFSET);
        let header = UpdateConsumerOffsetRequestHeader {
            consumer_group: group.to_string(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            commit_offset: offset,
        };
        req.ext_fields = ext_fields_with_broker_name(&header, &mq.broker_name);
        match mode {
            CommunicationMode::Oneway => Ok(self.invoke_oneway(addr, req).await?),
            CommunicationMode::Sync => {
                let resp = self.invoke(addr, req, timeout).await?;
                if resp.code != response::SUCCESS {
                    return Err(broker_error(addr, &resp));
                }
                Ok(())
            }
        }
    }

    async fn queue_offset_call(
        &self,
        addr: &str,
        code: i32,
        mq: &MessageQueue,
        extra: Option<(&'static str, String)>,
        response_key: &'static str,
        timeout: Duration,
    ) -> Result<i64> {
        let mut req = RemotingCommand::request(code)
            .with_ext("topic", mq.topic.as_str())
            .with_ext("queueId", mq.queue_id)
            .with_ext("bname", mq.broker_name.as_str());
        if let Some((k, v)) = extra {
            req = req.with_ext(k, v);
        }
        let resp = self.invoke(addr, req, timeout).await?;
        if resp.code != response::SUCCESS {
            return Err(broker_error(addr, &resp));
        }
        Ok(resp.ext_parse(response_key)?)
    }

    /// GET_MAX_OFFSET: the next offset to be written in the queue.
    pub async fn get_max_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64> {
        self.queue_offset_call(addr, request::GET_MAX_OFFSET, mq, None, "offset", timeout)
            .await
    }

    /// GET_MIN_OFFSET: the first offset still stored.
    pub async fn get_min_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timeout: Duration,
    ) -> Result<i64> {
        self.queue_offset_call(addr, request::GET_MIN_OFFSET, mq, None, "offset", timeout)
            .await
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP (lower boundary).
    pub async fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp: i64,
        timeout: Duration,
    ) -> Result<i64> {
        self.queue_offset_call(
            addr,
            request::SEARCH_OFFSET_BY_TIMESTAMP,
            mq,
            Some(("timestamp", timestamp.to_string())),
            "offset",
            timeout,
        )
        .await
    }

    /// CONSUMER_SEND_MSG_BACK: hands a message the listener could not consume back to the broker.
    pub async fn consumer_send_message_back(
        &self,
        addr: &str,
        header: &ConsumerSendMsgBackRequestHeader,
        timeout: Duration,
    ) -> Result<()> {
        let mut req = RemotingCommand::request(request::CONSUMER_SEND_MSG_BACK);
        header.encode(&mut req.ext_fields);
        let resp = self.invoke(addr, req, timeout).await?;
        if resp.code != response::SUCCESS {
            return Err(broker_error(addr, &resp));
        }
        Ok(())
    }
}
