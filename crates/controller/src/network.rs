//! Raft RPCs between controllers, carried in remoting frames under this controller's own request
//! codes: the request and the answer are JSON bodies; every call has a deadline.

use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::code::{request, response};
use crate::store::{NodeId, TypeConfig};

/// The longest a Raft RPC may take, whatever openraft allows.
const MAX_RPC_TIMEOUT: Duration = Duration::from_secs(5);

/// Opens [`ControllerNetwork`]s over one shared remoting client.
#[derive(Clone)]
pub struct ControllerNetworkFactory {
    client: Arc<RemotingClient>,
}

impl ControllerNetworkFactory {
    pub fn new(client: Arc<RemotingClient>) -> Self {
        ControllerNetworkFactory { client }
    }
}

impl RaftNetworkFactory<TypeConfig> for ControllerNetworkFactory {
    type Network = ControllerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Self::Network {
        ControllerNetwork {
            client: self.client.clone(),
            target,
            addr: node.addr.clone(),
        }
    }
}

/// The Raft connection to one peer.
pub struct ControllerNetwork {
    client: Arc<RemotingClient>,
    target: NodeId,
    addr: String,
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>;

impl ControllerNetwork {
    async fn call<Req, Resp, E>(
        &self,
        code: i32,
        req: &Req,
        option: &RPCOption,
    ) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let cmd = RemotingCommand::request(code).with_body(body);
        let timeout = option.hard_ttl().min(MAX_RPC_TIMEOUT);
        let reply = self
            .client
            .invoke(&self.addr, cmd, timeout)
            .await
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        if reply.code != response::SUCCESS {
            let msg = reply.remark.clone().unwrap_or_default();
            return Err(RPCError::Network(NetworkError::new(
                &std::io::Error::other(format!(
                    "peer {} answered {}: {msg}",
                    self.addr, reply.code
                )),
            )));
        }
        let result: Result<Resp, RaftError<NodeId, E>> = serde_json::from_slice(&reply.full_body())
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for ControllerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        self.call(request::RAFT_APPEND_ENTRIES, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(request::RAFT_INSTALL_SNAPSHOT, &rpc, &option)
            .await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.call(request::RAFT_VOTE, &rpc, &option).await
    }
}
