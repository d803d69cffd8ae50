//! `ControllerManager`: one controller of the quorum. It runs the Raft node, serves brokers,
//! tools and its peers on its `controllerDLegerPeers` address, tracks broker heartbeats and
//! elects a new master when a set's master stops heartbeating.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{RemotingClient, RemotingServer};
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, Raft, ServerState, SnapshotPolicy};
use parking_lot::RwLock;
use tokio::task::JoinHandle;

use crate::code::{request, response};
use crate::config::ControllerConfig;
use crate::error::ControllerError;
use crate::heartbeat::BrokerHeartbeatManager;
use crate::network::ControllerNetworkFactory;
use crate::processor::ControllerRequestProcessor;
use crate::replicas_info_manager::{
    BrokerAlive, ControllerResult, ElectMasterRequest, ReplicasInfoManager,
};
use crate::store::{AppliedState, EventBatch, LogStore, NodeId, StateMachineStore, TypeConfig};

/// RocketMQ waits this long for a controller event to be committed.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a notification of a new master may take.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(3);

/// The parts shared by the request processor and the background tasks.
pub struct ControllerInner {
    pub(crate) config: RwLock<ControllerConfig>,
    pub(crate) raft: Raft<TypeConfig>,
    pub(crate) node_id: NodeId,
    pub(crate) state: Arc<RwLock<AppliedState>>,
    pub(crate) heartbeat: BrokerHeartbeatManager,
    /// Serializes controller events, as RocketMQ's single event scheduler does: a result is
    /// computed from the state that all earlier events have already changed.
    write_lock: tokio::sync::Mutex<()>,
    client: Arc<RemotingClient>,
}

/// A running controller. Dropping it does not stop it; `shutdown` does.
pub struct ControllerManager {
    inner: Arc<ControllerInner>,
    server: RemotingServer,
    tasks: Vec<JoinHandle<()>>,
}

fn raft_config(c: &ControllerConfig) -> Result<Arc<openraft::Config>, ControllerError> {
    let et = c.election_timeout().as_millis() as u64;
    let config = openraft::Config {
        cluster_name: c.group.clone(),
        election_timeout_min: et,
        election_timeout_max: et * 2,
        heartbeat_interval: (et / 5).max(50),
        snapshot_policy: SnapshotPolicy::LogsSinceLast(c.snapshot_threshold),
        // Keep some entries behind a snapshot so that a briefly lagging peer catches up from
        // the log rather than by a snapshot transfer.
        max_in_snapshot_log_to_keep: (c.snapshot_threshold / 5).min(200),
        // A chunk travels as a JSON array of numbers (up to 4 bytes per byte): 1 MiB stays well
        // inside the remoting frame limit of 16 MiB.
        snapshot_max_chunk_size: 1 << 20,
        max_payload_entries: 256,
        ..Default::default()
    };
    Ok(Arc::new(
        config
            .validate()
            .map_err(|e| ControllerError::Config(e.to_string()))?,
    ))
}

impl ControllerManager {
    /// Opens the store, starts Raft, binds this controller's peer address and starts the scans.
    pub async fn start(config: ControllerConfig) -> Result<ControllerManager, ControllerError> {
        config.validate()?;
        let node_id = config.self_node_id().unwrap_or_default();
        let listen = config
            .self_peer()
            .map(|p| p.addr.clone())
            .unwrap_or_default();
        let store_err = |source| ControllerError::Store {
            path: config.store_path.display().to_string(),
            source,
        };
        let log = LogStore::open(&config.store_path).map_err(store_err)?;
        let sm = StateMachineStore::open(&config.store_path).map_err(store_err)?;
        let state = sm.state();
        let client = Arc::new(RemotingClient::new());
        let network = ControllerNetworkFactory::new(client.clone());
        let raft = Raft::new(node_id, raft_config(&config)?, network, log, sm)
            .await
            .map_err(|e| ControllerError::Raft(e.to_string()))?;
        let members: BTreeMap<NodeId, BasicNode> = config
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| (i as NodeId, BasicNode::new(&p.addr)))
            .collect();
        let inner = Arc::new(ControllerInner {
            config: RwLock::new(config),
            raft,
            node_id,
            state,
            heartbeat: BrokerHeartbeatManager::default(),
            write_lock: tokio::sync::Mutex::new(()),
            client,
        });
        let processor = Arc::new(ControllerRequestProcessor::new(inner.clone()));
        let server = RemotingServer::bind(&listen, processor)
            .await
            .map_err(|source| ControllerError::Bind {
                addr: listen.clone(),
                source,
            })?;
        let init_delay = inner.config.read().election_timeout() * 2 * node_id as u32;
        let tasks = vec![
            tokio::spawn(initialize_membership(inner.clone(), members, init_delay)),
            tokio::spawn(scan_not_active_brokers(inner.clone())),
            tokio::spawn(scan_inactive_masters(inner.clone())),
        ];
        tracing::info!(addr = %server.local_addr(), node_id, "controller listening");
        Ok(ControllerManager {
            inner,
            server,
            tasks,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    /// The shared controller state (for embedding and tests).
    pub fn inner(&self) -> &Arc<ControllerInner> {
        &self.inner
    }

    /// Stops serving, the scans and the Raft node.
    pub async fn shutdown(&self) {
        self.server.shutdown();
        for t in &self.tasks {
            t.abort();
        }
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!("raft shutdown: {e}");
        }
        self.inner.client.close_all().await;
    }
}

impl ControllerInner {
    /// Is this controller the Raft leader now?
    pub fn is_leader(&self) -> bool {
        let m = self.raft.metrics().borrow().clone();
        m.state == ServerState::Leader && m.current_leader == Some(self.node_id)
    }

    /// The current leader's node id, if known.
    pub fn leader_id(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    pub(crate) fn alive(&self) -> &dyn BrokerAlive {
        &self.heartbeat
    }

    /// Runs one controller event as RocketMQ's event scheduler does: refused unless leading;
    /// the result is computed from the current state and its events are committed through Raft
    /// before the answer goes out.
    pub(crate) async fn run_event(
        &self,
        compute: impl FnOnce(&ReplicasInfoManager, &dyn BrokerAlive) -> ControllerResult,
    ) -> ControllerResult {
        let not_leader = || {
            ControllerResult::error(
                response::CONTROLLER_NOT_LEADER,
                "The controller is not in leader state",
            )
        };
        let _guard = self.write_lock.lock().await;
        if !self.is_leader() {
            return not_leader();
        }
        // Only after this is the local state machine known to hold every committed event.
        if tokio::time::timeout(WRITE_TIMEOUT, self.raft.ensure_linearizable())
            .await
            .map_or(true, |r| r.is_err())
        {
            return not_leader();
        }
        let result = {
            let state = self.state.read();
            compute(&state.replicas, self.alive())
        };
        if result.events.is_empty() {
            return result;
        }
        let batch = EventBatch {
            events: result.events.clone(),
        };
        match tokio::time::timeout(WRITE_TIMEOUT, self.raft.client_write(batch)).await {
            Ok(Ok(_)) => result,
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => not_leader(),
            Ok(Err(e)) => system_error(format!("failed to commit the controller event: {e}")),
            Err(_) => system_error("timed out committing the controller event".into()),
        }
    }

    /// Elects a new master for `broker_name` because its master stopped heartbeating, and
    /// tells the set's brokers when one was elected.
    pub(crate) async fn trigger_elect_master(&self, broker_name: &str) {
        let unclean = self.config.read().enable_elect_unclean_master;
        let req = ElectMasterRequest {
            cluster_name: String::new(),
            broker_name: broker_name.to_string(),
            broker_id: None,
            designate_elect: false,
        };
        let result = self
            .run_event(|state, alive| state.elect_master(&req, unclean, alive))
            .await;
        tracing::info!(broker_name, code = result.code, remark = ?result.remark, "controller-triggered master election");
        if result.code == response::SUCCESS {
            self.notify_broker_role_changed(broker_name, &result).await;
        }
    }

    /// NOTIFY_BROKER_ROLE_CHANGED to every live broker of the set, when `notifyBrokerRoleChanged`.
    pub(crate) async fn notify_broker_role_changed(
        &self,
        broker_name: &str,
        elected: &ControllerResult,
    ) {
        if !self.config.read().notify_broker_role_changed {
            return;
        }
        let header = |k: &str| {
            elected
                .header
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        };
        let ids: Vec<u64> = {
            let state = self.state.read();
            state
                .replicas
                .replica_info_table
                .get(broker_name)
                .map(|r| r.brokers.keys().copied().collect())
                .unwrap_or_default()
        };
        // The `SyncStateSet` body: a new master's set is itself alone.
        let number = |k: &str| header(k).and_then(|v| v.parse::<i64>().ok());
        let body = serde_json::json!({
            "syncStateSet": number("masterBrokerId").into_iter().collect::<Vec<_>>(),
            "syncStateSetEpoch": number("syncStateSetEpoch").unwrap_or(0),
        })
        .to_string();
        for id in ids {
            let Some(addr) = self.heartbeat.broker_addr(broker_name, id) else {
                continue;
            };
            let mut cmd = RemotingCommand::request(request::NOTIFY_BROKER_ROLE_CHANGED)
                .with_body(body.clone().into_bytes());
            for key in [
                "masterAddress",
                "masterEpoch",
                "syncStateSetEpoch",
                "masterBrokerId",
            ] {
                if let Some(v) = header(key) {
                    cmd = cmd.with_ext(key, v);
                }
            }
            let sent =
                tokio::time::timeout(NOTIFY_TIMEOUT, self.client.invoke_oneway(&addr, cmd)).await;
            if !matches!(sent, Ok(Ok(()))) {
                tracing::warn!(%addr, "could not notify the broker of its set's new master");
            }
        }
    }
}

fn system_error(remark: String) -> ControllerResult {
    ControllerResult::error(response::SYSTEM_ERROR, remark)
}

/// Proposes the first membership of a new quorum. The first peer does so at once; the others
/// only if, after `delay` (staggered by position), nothing has reached them from a leader: an
/// initialize starts an election at once, and simultaneous ones would make the quorum elect twice.
/// After a restart the log already holds the membership and nothing is proposed.
async fn initialize_membership(
    inner: Arc<ControllerInner>,
    members: BTreeMap<NodeId, BasicNode>,
    delay: Duration,
) {
    tokio::time::sleep(delay).await;
    if inner.raft.is_initialized().await.unwrap_or(true) {
        return;
    }
    if let Err(e) = inner.raft.initialize(members).await {
        tracing::debug!("raft membership already initialized: {e}");
    }
}

/// Every `scanNotActiveBrokerInterval`: drops expired brokers; the leader elects a new master
/// for a set whose master was among them.
async fn scan_not_active_brokers(inner: Arc<ControllerInner>) {
    loop {
        let ms = inner
            .config
            .read()
            .scan_not_active_broker_interval_ms
            .max(1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        for (_, broker_name, id) in inner.heartbeat.scan_not_active_broker() {
            on_broker_inactive(&inner, &broker_name, id).await;
        }
    }
}

/// A broker left: if it was its set's master and this controller leads, elect another.
pub(crate) async fn on_broker_inactive(inner: &ControllerInner, broker_name: &str, broker_id: u64) {
    if !inner.is_leader() {
        return;
    }
    let master = inner.state.read().replicas.master_of(broker_name);
    if master == Some(broker_id) {
        inner.trigger_elect_master(broker_name).await;
    }
}

/// Every `scanInactiveMasterInterval`, the leader elects for sets whose master is not alive while
/// another replica is (a master that stopped before this controller became leader).
async fn scan_inactive_masters(inner: Arc<ControllerInner>) {
    loop {
        let ms = inner.config.read().scan_inactive_master_interval_ms.max(1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if !inner.is_leader() {
            continue;
        }
        let sets = {
            let state = inner.state.read();
            state.replicas.scan_need_reelect_broker_sets(inner.alive())
        };
        for name in sets {
            inner.trigger_elect_master(&name).await;
        }
    }
}
