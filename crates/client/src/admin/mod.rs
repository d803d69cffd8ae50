//! `MQAdminExt`: the remote calls RocketMQ's `DefaultMQAdminExt` makes on behalf of mqadmin,
//! used by `ferrocket admin`. One file per group of calls; the bodies they read are in [`body`].

pub mod body;
mod broker;
mod group;
mod message;
mod namesrv;
mod offset;
mod topic;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_acl::SessionCredentials;
use ferrocket_protocol::body::route::ClusterInfo;
use ferrocket_protocol::code::response;
use ferrocket_protocol::{RemotingCommand, SerializeType};
use ferrocket_remoting::ClientRequestHandler;

use crate::api::MQClientApi;
use crate::error::{ClientError, Result};

pub use message::{MessageIdParts, MessageTrace};

/// The admin client: name-server and broker calls with one timeout.
pub struct MQAdminExt {
    api: MQClientApi,
    timeout: Duration,
}

impl MQAdminExt {
    /// An admin client for the `;`-separated name server addresses; nothing is connected yet.
    pub fn new(namesrv_addr: &str, timeout: Duration) -> Result<MQAdminExt> {
        let namesrv: Vec<String> = namesrv_addr
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if namesrv.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        // An admin client registers with no broker, so brokers never call it back.
        let handler: ClientRequestHandler = Arc::new(|_, _| Box::pin(async { None }));
        Ok(MQAdminExt {
            api: MQClientApi::new(namesrv, SerializeType::Json, handler),
            timeout,
        })
    }

    /// Signs every request with `credentials` (RocketMQ's `AclClientRPCHook`).
    pub fn with_credentials(mut self, credentials: Option<SessionCredentials>) -> Self {
        self.api = self.api.with_credentials(credentials);
        self
    }

    /// This admin client, connecting over TLS when `use_tls` (see [`MQClientApi::with_tls`]).
    pub fn with_tls(self, use_tls: bool) -> Result<MQAdminExt> {
        Ok(MQAdminExt {
            api: self.api.with_tls(use_tls)?,
            timeout: self.timeout,
        })
    }

    /// The per-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The underlying client API (offset searches, consumer-offset updates).
    pub fn api(&self) -> &MQClientApi {
        &self.api
    }

    /// The configured name server addresses.
    pub fn namesrv_addrs(&self) -> &[String] {
        self.api.namesrv_addrs()
    }

    /// Closes every connection.
    pub async fn shutdown(&self) {
        self.api.close().await;
    }

    /// Sends `req` to the broker at `addr` and returns the response, whatever its code.
    pub async fn invoke_broker(&self, addr: &str, req: RemotingCommand) -> Result<RemotingCommand> {
        Ok(self.api.invoke(addr, req, self.timeout).await?)
    }

    /// Sends `req` to the broker at `addr`; an answer other than SUCCESS is an error.
    pub async fn call_broker(&self, addr: &str, req: RemotingCommand) -> Result<RemotingCommand> {
        let resp = self.invoke_broker(addr, req).await?;
        if resp.code != response::SUCCESS {
            return Err(ClientError::Broker {
                code: resp.code,
                remark: resp.remark.unwrap_or_default(),
                addr: addr.to_string(),
            });
        }
        Ok(resp)
    }

    /// Sends `req` to the name server at `addr` (or any configured one when `None`); an answer
    /// other than SUCCESS is an error.
    pub async fn call_namesrv(
        &self,
        addr: Option<&str>,
        req: RemotingCommand,
    ) -> Result<RemotingCommand> {
        let (addr, resp) = match addr {
            Some(a) => (a.to_string(), self.api.invoke(a, req, self.timeout).await?),
            None => self.api.invoke_namesrv(req, self.timeout).await?,
        };
        if resp.code != response::SUCCESS {
            return Err(ClientError::NameServer {
                code: resp.code,
                remark: resp.remark.unwrap_or_default(),
                addr,
            });
        }
        Ok(resp)
    }

    /// The master address of every broker of `cluster` (every cluster when `None`).
    pub async fn master_addrs(&self, cluster: Option<&str>) -> Result<BTreeSet<String>> {
        let info = self.examine_broker_cluster_info().await?;
        Ok(master_addrs_of(&info, cluster))
    }
}

/// The master addresses of `cluster`'s brokers (all clusters when `None`).
pub fn master_addrs_of(info: &ClusterInfo, cluster: Option<&str>) -> BTreeSet<String> {
    info.cluster_addr_table
        .iter()
        .filter(|(name, _)| !matches!(cluster, Some(c) if c != name.as_str()))
        .flat_map(|(_, brokers)| brokers.iter())
        .filter_map(|b| info.broker_addr_table.get(b))
        .filter_map(|d| d.master_addr().map(str::to_string))
        .collect()
}

/// Every address (masters and slaves) of `cluster`'s brokers.
pub fn all_addrs_of(info: &ClusterInfo, cluster: Option<&str>) -> BTreeSet<String> {
    info.cluster_addr_table
        .iter()
        .filter(|(name, _)| !matches!(cluster, Some(c) if c != name.as_str()))
        .flat_map(|(_, brokers)| brokers.iter())
        .filter_map(|b| info.broker_addr_table.get(b))
        .flat_map(|d| d.broker_addrs.values().cloned())
        .collect()
}
