//! `BrokerOuterAPI`: registration with (and departure from) the name servers.

use std::time::Duration;

use ferrocket_acl::SessionCredentials;
use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::body::topic::RegisterBrokerBody;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::register_broker::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

/// Who this broker is, as name servers know it.
#[derive(Debug, Clone)]
pub struct BrokerIdentity {
    /// `brokerClusterName`.
    pub cluster_name: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId`.
    pub broker_id: i64,
    /// `ip:port` clients use.
    pub broker_addr: String,
    /// `ip:port` of the HA service.
    pub ha_server_addr: String,
}

/// The outcome of one registration round, per name server.
#[derive(Debug)]
pub struct RegisterResult {
    /// Name server address.
    pub namesrv_addr: String,
    /// The name server's answer, or why the call failed.
    pub result: Result<RegisterBrokerAnswer, String>,
}

/// What a name server tells a registering broker (`RegisterBrokerResult`): for a slave whose
/// master is registered and alive, the master's addresses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisterBrokerAnswer {
    /// The master's HA address (`haServerAddr`), where the slave's HAClient connects.
    pub ha_server_addr: Option<String>,
    /// The master's remoting address (`masterAddr`), where SlaveSynchronize pulls metadata.
    pub master_addr: Option<String>,
}

/// Timeout of each metadata request to the master (RocketMQ uses 3 s).
const SYNC_TIMEOUT: Duration = Duration::from_secs(3);

/// The master addresses carried by a REGISTER_BROKER answer; an undecodable header counts as
/// none (a master gets none either).
fn register_answer(response: &RemotingCommand) -> RegisterBrokerAnswer {
    match RegisterBrokerResponseHeader::decode(response) {
        Ok(h) => RegisterBrokerAnswer {
            ha_server_addr: h.ha_server_addr.filter(|a| !a.is_empty()),
            master_addr: h.master_addr.filter(|a| !a.is_empty()),
        },
        Err(_) => RegisterBrokerAnswer::default(),
    }
}

/// Client side of the broker ↔ name server protocol.
pub struct BrokerOuterAPI {
    client: RemotingClient,
    timeout: Duration,
    /// Signs every request when the name servers enforce ACL.
    credentials: Option<SessionCredentials>,
}

impl BrokerOuterAPI {
    /// Calls time out after `timeout_millis` (`registerBrokerTimeoutMills`). Requests are signed
    /// with `credentials` when given; with `tls`, name servers are reached over TLS.
    pub fn new(
        timeout_millis: u64,
        credentials: Option<SessionCredentials>,
        tls: Option<ferrocket_remoting::TlsConnector>,
    ) -> Self {
        let client = match tls {
            Some(connector) => RemotingClient::new().with_tls(connector),
            None => RemotingClient::new(),
        };
        BrokerOuterAPI {
            client,
            timeout: Duration::from_millis(timeout_millis.max(1)),
            credentials,
        }
    }

    fn sign(&self, cmd: &mut RemotingCommand) {
        if let Some(c) = &self.credentials {
            c.sign(cmd);
        }
    }

    /// Sends REGISTER_BROKER (uncompressed JSON body) to every name server concurrently.
    pub async fn register_broker_all(
        &self,
        namesrv_addrs: &[String],
        identity: &BrokerIdentity,
        body: &RegisterBrokerBody,
    ) -> Vec<RegisterResult> {
        let body = ferrocket_protocol::body::encode(body);
        let header = RegisterBrokerRequestHeader {
            broker_name: identity.broker_name.clone(),
            broker_addr: identity.broker_addr.clone(),
            cluster_name: identity.cluster_name.clone(),
            ha_server_addr: identity.ha_server_addr.clone(),
            broker_id: identity.broker_id,
            heartbeat_timeout_millis: None,
            enable_acting_master: Some(false),
            compressed: false,
            body_crc32: ferrocket_protocol::util::crc32(&body),
        };
        let mut cmd = RemotingCommand::request(request::REGISTER_BROKER);
        header.write_to(&mut cmd);
        cmd.body = body;
        self.sign(&mut cmd);
        let calls = namesrv_addrs.iter().map(|addr| {
            let cmd = cmd.clone();
            async move {
                let result = match self.client.invoke(addr, cmd, self.timeout).await {
                    Ok(r) if r.code == response::SUCCESS => Ok(register_answer(&r)),
                    Ok(r) => Err(format!("code {}: {}", r.code, r.remark.unwrap_or_default())),
                    Err(e) => Err(e.to_string()),
                };
                RegisterResult {
                    namesrv_addr: addr.clone(),
                    result,
                }
            }
        });
        futures::future::join_all(calls).await
    }

    /// Sends UNREGISTER_BROKER to every name server concurrently.
    pub async fn unregister_broker_all(
        &self,
        namesrv_addrs: &[String],
        identity: &BrokerIdentity,
    ) -> Vec<RegisterResult> {
        let mut cmd = RemotingCommand::request(request::UNREGISTER_BROKER);
        UnRegisterBrokerRequestHeader {
            broker_name: identity.broker_name.clone(),
            broker_addr: identity.broker_addr.clone(),
            cluster_name: identity.cluster_name.clone(),
            broker_id: identity.broker_id,
        }
        .write_to(&mut cmd);
        self.sign(&mut cmd);
        let calls = namesrv_addrs.iter().map(|addr| {
            let cmd = cmd.clone();
            async move {
                let result = match self.client.invoke(addr, cmd, self.timeout).await {
                    Ok(r) if r.code == response::SUCCESS => Ok(RegisterBrokerAnswer::default()),
                    Ok(r) => Err(format!("code {}: {}", r.code, r.remark.unwrap_or_default())),
                    Err(e) => Err(e.to_string()),
                };
                RegisterResult {
                    namesrv_addr: addr.clone(),
                    result,
                }
            }
        });
        futures::future::join_all(calls).await
    }

    /// Sends a request without header or body to `addr` and returns the body of a SUCCESS
    /// answer (SlaveSynchronize's GET_ALL_* calls to the master, the console's look at the
    /// other members of its replica set).
    pub async fn fetch_body(&self, addr: &str, code: i32) -> Result<bytes::Bytes, String> {
        let mut cmd = RemotingCommand::request(code);
        self.sign(&mut cmd);
        match self.client.invoke(addr, cmd, SYNC_TIMEOUT).await {
            Ok(r) if r.code == response::SUCCESS => Ok(r.body),
            Ok(r) => Err(format!("code {}: {}", r.code, r.remark.unwrap_or_default())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// GET_ROUTEINFO_BY_TOPIC, asked of each name server in turn until one answers: the route,
    /// or `None` when the name servers know no such topic (RocketMQ
    /// `BrokerOuterAPI.getTopicRouteInfoFromNameServer`).
    pub async fn get_topic_route(
        &self,
        namesrv_addrs: &[String],
        topic: &str,
    ) -> Result<Option<TopicRouteData>, String> {
        let mut last = String::from("no name server configured (namesrvAddr)");
        for addr in namesrv_addrs {
            let mut cmd =
                RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", topic);
            self.sign(&mut cmd);
            match self.client.invoke(addr, cmd, SYNC_TIMEOUT).await {
                Ok(r) if r.code == response::SUCCESS => {
                    return ferrocket_protocol::body::decode(&r.body)
                        .map(Some)
                        .map_err(|e| format!("route of {topic} from {addr}: {e}"));
                }
                Ok(r) if r.code == response::TOPIC_NOT_EXIST => return Ok(None),
                Ok(r) => {
                    last = format!("{addr}: code {}: {}", r.code, r.remark.unwrap_or_default())
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(last)
    }

    /// Closes the connections to the name servers.
    pub async fn shutdown(&self) {
        self.client.close_all().await;
    }
}
