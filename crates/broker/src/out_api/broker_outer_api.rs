//! `BrokerOuterAPI`: registration with (and departure from) the name servers.

use std::time::Duration;

use ferrocket_acl::SessionCredentials;
use ferrocket_protocol::body::topic::RegisterBrokerBody;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::header::register_broker::{
    RegisterBrokerRequestHeader, UnRegisterBrokerRequestHeader,
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
    /// `Ok` or why it failed.
    pub result: Result<(), String>,
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
                    Ok(r) if r.code == response::SUCCESS => Ok(()),
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
                    Ok(r) if r.code == response::SUCCESS => Ok(()),
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

    /// Closes the connections to the name servers.
    pub async fn shutdown(&self) {
        self.client.close_all().await;
    }
}
