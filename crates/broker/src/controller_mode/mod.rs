//! The broker side of RocketMQ 5 controller mode (`ReplicasManager`).
//!
//! With `enableControllerMode=true` a broker does not take its id and role from its config:
//! it applies to the controller leader for an id (kept in the `brokerIdentity` file under the
//! store root), registers its address, and is told which replica of its set is master. It then
//! heartbeats every controller with its epoch and max offset, re-reads its set's master every
//! `syncBrokerMetadataPeriod` and on NOTIFY_BROKER_ROLE_CHANGED, and asks for an election when
//! the set has no master. A change of master is published as a new [`RoleAssignment`]; the
//! process running the broker reopens it in the new role (see `ferrocket broker`).

mod controller_client;
pub mod epoch;
mod identity;
mod sync_state_set;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferrocket_ha::EpochFile;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use ferrocket_store::DefaultMessageStore;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub use controller_client::{ControllerClient, ControllerModeError};
pub use identity::BrokerIdentityFile;
pub use sync_state_set::{
    InSyncStateSetWaiter, ReplicationListener, SlaveAdmissions, SlaveProgressTable,
};

use crate::broker_config::ControllerModeConfig;

/// How a heartbeat or a metadata read may take before it counts as failed.
const CONTROLLER_TIMEOUT: Duration = Duration::from_secs(3);
/// Pause between start-up attempts while no controller leads.
const STARTUP_RETRY: Duration = Duration::from_secs(1);
/// How many times a slave asks its master for its epochs (every 250 ms) before opening its
/// store without the comparison.
const EPOCH_COMPARE_ATTEMPTS: usize = 40;
/// How many times a broker retries claiming an id another broker took first.
const APPLY_BROKER_ID_ATTEMPTS: usize = 5;

/// Who this broker is in its set, and who the master is, as the controller last said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAssignment {
    /// The id the controller assigned to this broker (1, 2, ...).
    pub broker_id: u64,
    /// The set's master, `None` while there is none.
    pub master_broker_id: Option<u64>,
    /// The master's remoting address.
    pub master_address: Option<String>,
    /// The master epoch (one more per election).
    pub master_epoch: i32,
    /// The epoch of the sync state set.
    pub sync_state_set_epoch: i32,
    /// The replicas caught up with the master (the master included).
    pub sync_state_set: BTreeSet<u64>,
}

impl RoleAssignment {
    /// Whether this broker is its set's master.
    pub fn is_master(&self) -> bool {
        self.master_broker_id == Some(self.broker_id)
    }

    /// The broker id registered with the name servers: 0 for the master, the controller's id
    /// for a slave (as RocketMQ 5 does).
    pub fn name_server_broker_id(&self) -> i64 {
        if self.is_master() {
            0
        } else {
            self.broker_id as i64
        }
    }

    /// Whether going from `self` to `next` needs the broker reopened: it became or stopped
    /// being master, or (as a slave) a new master was elected. A slave whose master is gone
    /// with nobody elected yet stays as it is.
    pub fn role_changed(&self, next: &RoleAssignment) -> bool {
        self.is_master() != next.is_master()
            || (!next.is_master()
                && next.master_broker_id.is_some()
                && self.master_broker_id != next.master_broker_id)
    }
}

/// Which broker this is: its set, its address, and where its identity file lives.
#[derive(Debug, Clone)]
pub struct BrokerMember {
    pub cluster_name: String,
    pub broker_name: String,
    /// `brokerIP1:listenPort`.
    pub broker_address: String,
    /// The store root: `brokerIdentity` is written there.
    pub store_root: PathBuf,
}

impl BrokerMember {
    /// A request to the controller naming this broker's cluster and set.
    fn request(&self, code: i32) -> RemotingCommand {
        RemotingCommand::request(code)
            .with_ext("clusterName", &self.cluster_name)
            .with_ext("brokerName", &self.broker_name)
    }
}

/// The broker's side of controller mode.
pub struct ReplicasManager {
    config: ControllerModeConfig,
    member: BrokerMember,
    client: ControllerClient,
    state: watch::Sender<RoleAssignment>,
    /// The running broker's store, for the max offset heartbeats carry.
    store: Mutex<Weak<DefaultMessageStore>>,
    /// Woken by NOTIFY_BROKER_ROLE_CHANGED: re-read the master at once.
    notified: Notify,
    /// As master: the slaves' progress reports.
    progress: SlaveProgressTable,
    /// As master: slaves fully caught up and not yet in the sync state set.
    joining: Mutex<BTreeSet<u64>>,
    /// As master: slaves outside the sync state set that sends already wait for.
    admitting: SlaveAdmissions,
    /// As master: review the sync state set at once (a slave caught up).
    review: Notify,
    /// Asks a master for its epochs (GET_BROKER_EPOCH_CACHE) before opening as its slave.
    broker_client: RemotingClient,
    /// The running broker's epoch file (its HA service's); `None` while no broker runs.
    epochs: Mutex<Option<Arc<EpochFile>>>,
    /// As slave: the offset the HA client found the local log must be cut at (the broker
    /// reopens its store cut there).
    truncation: watch::Sender<Option<i64>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl ReplicasManager {
    /// Applies for (or reloads) this broker's id, registers with the controller leader and
    /// learns the set's master, asking for an election when there is none.
    pub async fn start(
        config: ControllerModeConfig,
        member: BrokerMember,
    ) -> Result<Arc<ReplicasManager>, ControllerModeError> {
        let client = ControllerClient::new(config.controller_addrs())?;
        let (broker_id, first) = loop {
            match join(&client, &member).await {
                Ok(joined) => break joined,
                // a quorum still electing its leader, or not reachable yet: keep trying
                Err(e @ ControllerModeError::NoLeader(_)) => {
                    tracing::warn!(error = %e, "waiting for a controller leader");
                    tokio::time::sleep(STARTUP_RETRY).await;
                }
                Err(e) => return Err(e),
            }
        };
        tracing::info!(broker_id, master = ?first.master_broker_id, epoch = first.master_epoch,
            "registered with the controller");
        let (state, _) = watch::channel(first);
        let manager = Arc::new(ReplicasManager {
            config,
            member,
            client,
            state,
            store: Mutex::new(Weak::new()),
            notified: Notify::new(),
            progress: SlaveProgressTable::default(),
            joining: Mutex::new(BTreeSet::new()),
            admitting: SlaveAdmissions::default(),
            review: Notify::new(),
            broker_client: RemotingClient::new(),
            epochs: Mutex::new(None),
            truncation: watch::channel(None).0,
            tasks: Mutex::new(Vec::new()),
        });
        let heartbeat = tokio::spawn(manager.clone().heartbeat_loop());
        let sync = tokio::spawn(manager.clone().sync_metadata_loop());
        let review = tokio::spawn(manager.clone().sync_state_set_loop());
        manager.tasks.lock().extend([heartbeat, sync, review]);
        Ok(manager)
    }

    /// The current assignment.
    pub fn assignment(&self) -> RoleAssignment {
        self.state.borrow().clone()
    }

    /// Receives every new assignment.
    pub fn subscribe(&self) -> watch::Receiver<RoleAssignment> {
        self.state.subscribe()
    }

    /// The store of the broker now running, whose max offset heartbeats report, and the
    /// epoch file its HA service replicates with.
    pub fn attach_store(&self, store: &Arc<DefaultMessageStore>, epochs: Option<Arc<EpochFile>>) {
        *self.store.lock() = Arc::downgrade(store);
        *self.epochs.lock() = epochs;
    }

    /// The broker stopped: the epoch file is read from disk until the next one attaches.
    pub fn detach_store(&self) {
        *self.store.lock() = Weak::new();
        *self.epochs.lock() = None;
    }

    /// Receives the offsets the local log must be cut at before replication can go on.
    pub fn subscribe_truncations(&self) -> watch::Receiver<Option<i64>> {
        self.truncation.subscribe()
    }

    /// As slave: the HA client found the local log diverging from the master's past
    /// `offset`; the broker reopens its store cut there.
    pub fn request_truncation(&self, offset: i64) {
        self.truncation.send_if_modified(|t| {
            let changed = *t != Some(offset);
            *t = Some(offset);
            changed
        });
    }

    /// The truncation asked for, if any, now being carried out.
    pub fn take_truncation(&self) -> Option<i64> {
        self.truncation.send_replace(None)
    }

    /// The epoch entries: the running broker's, else the file's.
    fn epoch_entries(&self) -> Result<Vec<(i32, i64)>, ControllerModeError> {
        if let Some(e) = self.epochs.lock().clone() {
            return Ok(e.entries());
        }
        EpochFile::open(&self.member.store_root)
            .map(|e| e.entries())
            .map_err(|e| ControllerModeError::Refused(e.to_string()))
    }

    /// Serves NOTIFY_BROKER_ROLE_CHANGED and GET_BROKER_EPOCH_CACHE.
    pub fn handle(&self, cmd: &RemotingCommand) -> RemotingCommand {
        if cmd.code == request::NOTIFY_BROKER_ROLE_CHANGED {
            self.on_role_change_notified(cmd);
            return RemotingCommand::response_to(cmd, response::SUCCESS);
        }
        if cmd.code == request::GET_BROKER_EPOCH_CACHE {
            return match self.epoch_cache_body() {
                Ok(body) => RemotingCommand::response_to(cmd, response::SUCCESS).with_body(body),
                Err(e) => RemotingCommand::error_to(cmd, response::SYSTEM_ERROR, e.to_string()),
            };
        }
        RemotingCommand::error_to(
            cmd,
            response::REQUEST_CODE_NOT_SUPPORTED,
            "not a controller-mode code",
        )
    }

    /// As master: records a slave's acknowledgement (from its HA connection); a caught-up
    /// slave outside the sync state set is admitted, then joins (see [`SlaveAdmissions`]).
    pub fn on_slave_ack(&self, slave: u64, offset: i64, caught_up: bool) {
        let a = self.assignment();
        if !a.is_master() || slave == a.broker_id {
            return;
        }
        let master_end = self.max_offset();
        let p = self
            .progress
            .report(slave, offset, master_end, a.master_epoch, caught_up);
        if self
            .admitting
            .on_report(&a, slave, offset, master_end, p.caught_up)
            && self.joining.lock().insert(slave)
        {
            self.review.notify_one();
        }
    }

    /// As master: how many replicas must hold a message before it is acknowledged (the sync
    /// state set and the slaves admitted to it), at least one.
    pub fn acknowledging_members(&self) -> usize {
        self.acknowledging_slaves().len() + 1
    }

    /// As master: the slaves (by id) that must hold a message before it is acknowledged:
    /// the other members of the sync state set and the slaves admitted to it.
    pub fn acknowledging_slaves(&self) -> Vec<u64> {
        let a = self.assignment();
        let mut ids: BTreeSet<u64> = a.sync_state_set.clone();
        ids.extend(self.admitting.outside_set_ids(&a));
        ids.remove(&a.broker_id);
        ids.into_iter().collect()
    }

    /// The `EpochEntryCache` JSON of GET_BROKER_EPOCH_CACHE.
    fn epoch_cache_body(&self) -> Result<Vec<u8>, ControllerModeError> {
        let max = self.max_offset();
        let a = self.assignment();
        let body = serde_json::json!({
            "clusterName": self.member.cluster_name,
            "brokerName": self.member.broker_name,
            "brokerId": a.broker_id,
            "epochList": epoch::with_end_offsets(&self.epoch_entries()?, max),
            "maxOffset": max,
        });
        Ok(body.to_string().into_bytes())
    }

    /// GET_BROKER_EPOCH_CACHE from the master of `a`.
    async fn master_epochs(
        &self,
        a: &RoleAssignment,
    ) -> Result<Vec<epoch::EpochEntry>, ControllerModeError> {
        let master = a
            .master_address
            .as_deref()
            .ok_or_else(|| ControllerModeError::Refused("no master".into()))?;
        let cmd = RemotingCommand::request(request::GET_BROKER_EPOCH_CACHE);
        let answer = self
            .broker_client
            .invoke(master, cmd, CONTROLLER_TIMEOUT)
            .await
            .map_err(|e| ControllerModeError::Refused(format!("{master}: {e}")))?;
        if answer.code != 0 {
            return Err(ControllerModeError::answer(&answer, "epoch cache refused"));
        }
        let body: serde_json::Value = serde_json::from_slice(&answer.full_body())
            .map_err(|e| ControllerModeError::Refused(format!("epoch cache: {e}")))?;
        let mut list: Vec<epoch::EpochEntry> = serde_json::from_value(body["epochList"].clone())
            .map_err(|e| ControllerModeError::Refused(format!("epoch cache: {e}")))?;
        // RocketMQ leaves the last entry open (Long.MAX_VALUE): it ends at the master's end
        if let (Some(last), Some(max)) = (list.last_mut(), body["maxOffset"].as_i64()) {
            last.end_offset = last.end_offset.min(max);
        }
        Ok(list)
    }

    /// Before opening the store as a slave of `a`'s master: the offset past which the local
    /// log diverges from the master's (per the two epoch files), if it may.
    pub async fn truncation_point(&self, a: &RoleAssignment) -> Option<i64> {
        if !self.config.compare_epochs_before_open {
            return None;
        }
        let local = match self.epoch_entries() {
            Ok(l) if !l.is_empty() => l,
            Ok(_) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the epoch file");
                return None;
            }
        };
        // A new master reopens its store when elected; a slave told at the same moment may
        // ask before it listens again. Opening without the comparison would keep a tail the
        // master never had, so wait for it a while.
        let mut last_error = None;
        for _ in 0..EPOCH_COMPARE_ATTEMPTS {
            match self.master_epochs(a).await {
                Ok(master) => return epoch::consistent_point(&local, &master),
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(STARTUP_RETRY / 4).await;
        }
        if let Some(e) = last_error {
            tracing::warn!(error = %e, "cannot compare epochs with the master; the log is kept as is");
        }
        None
    }

    /// After the store opened in `a`'s role: a master records its epoch at the end of its
    /// log, then lets sends in. (A slave records its master's epochs as frames arrive.)
    pub async fn role_started(&self, a: &RoleAssignment) {
        if !a.is_master() {
            return;
        }
        // the store opened with its puts fenced (`puts_fenced_at_open`): nothing lands
        // between reading the end of the log and recording the epoch that starts there
        let store = self.store.lock().upgrade();
        let Some(epochs) = self.epochs.lock().clone() else {
            tracing::error!("no epoch file attached; sends are refused");
            return;
        };
        let (epoch, max) = (a.master_epoch, self.max_offset());
        let recorded = tokio::task::spawn_blocking(move || epochs.begin_epoch(epoch, max)).await;
        match recorded {
            Ok(Ok(())) => {
                if let Some(store) = store {
                    store.release_puts();
                }
            }
            // puts stay refused: records of an unrecorded epoch could not be told apart
            // from the previous master's when a deposed master compares epochs
            Ok(Err(e)) => {
                tracing::error!(error = %e, "cannot record the master epoch; sends are refused")
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot record the master epoch; sends are refused")
            }
        }
    }

    /// NOTIFY_BROKER_ROLE_CHANGED from a controller: the master is re-read from the leader at
    /// once rather than trusted from the notice (a stale notice cannot move the broker back).
    fn on_role_change_notified(&self, notice: &RemotingCommand) {
        tracing::info!(master = ?notice.ext("masterBrokerId"), epoch = ?notice.ext("masterEpoch"),
            "NOTIFY_BROKER_ROLE_CHANGED received");
        self.notified.notify_one();
    }

    /// As master: every `checkSyncStateSetPeriod`, or when a slave caught up, asks the
    /// controller for the set [`SlaveProgressTable::wanted_set`] computes, if it differs.
    async fn sync_state_set_loop(self: Arc<Self>) {
        loop {
            period_or(self.config.check_sync_state_set_period, &self.review).await;
            let a = self.assignment();
            if !a.is_master() {
                self.joining.lock().clear();
                self.admitting.clear();
                continue;
            }
            let grace = Duration::from_millis(self.config.ha_max_time_slave_not_catchup);
            // an admitted slave that stopped keeping up no longer holds sends back
            self.admitting.keep_caught_up(&a, &self.progress, grace);
            let joining = std::mem::take(&mut *self.joining.lock());
            let wanted = self.progress.wanted_set(
                a.broker_id,
                a.master_epoch,
                &a.sync_state_set,
                &joining,
                grace,
            );
            if wanted != a.sync_state_set {
                if let Err(e) = self.alter_sync_state_set(&a, wanted).await {
                    tracing::warn!(error = %e, "cannot change the sync state set");
                }
            }
        }
    }

    /// CONTROLLER_ALTER_SYNC_STATE_SET with this master's epochs.
    async fn alter_sync_state_set(
        &self,
        a: &RoleAssignment,
        wanted: BTreeSet<u64>,
    ) -> Result<(), ControllerModeError> {
        let body = serde_json::json!({
            "syncStateSet": wanted,
            "syncStateSetEpoch": a.sync_state_set_epoch,
        });
        let cmd = RemotingCommand::request(request::CONTROLLER_ALTER_SYNC_STATE_SET)
            .with_ext("brokerName", &self.member.broker_name)
            .with_ext("masterBrokerId", a.broker_id)
            .with_ext("masterEpoch", a.master_epoch)
            .with_body(body.to_string().into_bytes());
        let answer = self.client.invoke_leader(cmd).await?;
        if answer.code != 0 {
            return Err(ControllerModeError::answer(
                &answer,
                "sync state set change refused",
            ));
        }
        let epoch = answer
            .ext("newSyncStateSetEpoch")
            .and_then(|v| v.parse().ok())
            .unwrap_or(a.sync_state_set_epoch + 1);
        tracing::info!(set = ?wanted, epoch, "sync state set changed");
        self.state.send_modify(|s| {
            if s.master_epoch == a.master_epoch {
                s.sync_state_set = wanted;
                s.sync_state_set_epoch = epoch;
            }
        });
        Ok(())
    }

    /// Stops heart-beating and watching.
    pub fn shutdown(&self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }

    fn max_offset(&self) -> i64 {
        self.store
            .lock()
            .upgrade()
            .map_or(0, |s| s.get_max_phy_offset())
    }

    /// BROKER_HEARTBEAT to every controller (each keeps its own liveness table).
    async fn heartbeat_loop(self: Arc<Self>) {
        let period = Duration::from_millis(self.config.broker_heartbeat_interval.max(1));
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            let a = self.assignment();
            let m = &self.member;
            let cmd = m
                .request(request::BROKER_HEARTBEAT)
                .with_ext("brokerAddr", &m.broker_address)
                .with_ext("brokerId", a.broker_id)
                .with_ext("epoch", a.master_epoch)
                .with_ext("maxOffset", self.max_offset())
                .with_ext("confirmOffset", self.max_offset())
                .with_ext(
                    "heartbeatTimeoutMills",
                    self.config.controller_heart_beat_timeout_mills,
                )
                .with_ext("electionPriority", self.config.broker_election_priority);
            self.client.send_to_all(cmd, CONTROLLER_TIMEOUT).await;
        }
    }

    /// Re-reads the set's master every `syncBrokerMetadataPeriod` or when notified, asks for an
    /// election when there is none, and publishes any change.
    async fn sync_metadata_loop(self: Arc<Self>) {
        loop {
            period_or(self.config.sync_broker_metadata_period, &self.notified).await;
            match self.sync_metadata().await {
                Ok(next) => {
                    self.state.send_if_modified(|current| {
                        let changed = *current != next;
                        if current.role_changed(&next) {
                            tracing::info!(from = ?current.master_broker_id,
                                to = ?next.master_broker_id, epoch = next.master_epoch,
                                "the broker set's master changed");
                        }
                        *current = next;
                        changed
                    });
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the broker set's master"),
            }
        }
    }

    async fn sync_metadata(&self) -> Result<RoleAssignment, ControllerModeError> {
        let broker_id = self.assignment().broker_id;
        let cmd = RemotingCommand::request(request::CONTROLLER_GET_REPLICA_INFO)
            .with_ext("brokerName", &self.member.broker_name);
        let answer = self.client.invoke_leader(cmd).await?;
        let info = assignment_from(broker_id, &answer);
        if info.master_broker_id.is_some() {
            return Ok(info);
        }
        elect(&self.client, &self.member, broker_id).await
    }
}

/// Waits `period_ms`, or less when `wake` is notified.
async fn period_or(period_ms: u64, wake: &Notify) {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(period_ms.max(1))) => {}
        _ = wake.notified() => {}
    }
}

impl Drop for ReplicasManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The broker's id, and its role after registering.
async fn join(
    client: &ControllerClient,
    member: &BrokerMember,
) -> Result<(u64, RoleAssignment), ControllerModeError> {
    let broker_id = obtain_broker_id(client, member).await?;
    Ok((broker_id, register(client, member, broker_id).await?))
}

/// The persisted id, or a new one: CONTROLLER_GET_NEXT_BROKER_ID, then
/// CONTROLLER_APPLY_BROKER_ID with `address;timestamp` as register check code. The claim is
/// written to a temporary file first, so a broker that stops between the two re-applies with
/// the same check code (which the controller accepts) instead of taking a second id.
async fn obtain_broker_id(
    client: &ControllerClient,
    member: &BrokerMember,
) -> Result<u64, ControllerModeError> {
    let file = BrokerIdentityFile::new(&member.store_root);
    if let Some(id) = file.load(&member.cluster_name, &member.broker_name)? {
        return Ok(id);
    }
    for _ in 0..APPLY_BROKER_ID_ATTEMPTS {
        let (id, check_code) = match file.load_claim(&member.cluster_name, &member.broker_name)? {
            Some(claim) => claim,
            None => {
                let id = next_broker_id(client, member).await?;
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis());
                let code = format!("{};{now_ms}", member.broker_address);
                file.save_claim(&member.cluster_name, &member.broker_name, id, &code)?;
                (id, code)
            }
        };
        let cmd = RemotingCommand::request(request::CONTROLLER_APPLY_BROKER_ID)
            .with_ext("clusterName", &member.cluster_name)
            .with_ext("brokerName", &member.broker_name)
            .with_ext("appliedBrokerId", id)
            .with_ext("registerCheckCode", &check_code);
        let answer = client.invoke_leader(cmd).await?;
        if answer.code == 0 {
            file.save(&member.cluster_name, &member.broker_name, id)?;
            tracing::info!(broker_id = id, "broker id applied");
            return Ok(id);
        }
        tracing::warn!(id, code = answer.code, remark = ?answer.remark,
            "the controller refused the broker id; asking for another");
        file.remove_claim()?;
    }
    Err(ControllerModeError::Refused(
        "could not obtain a broker id from the controller".into(),
    ))
}

async fn next_broker_id(
    client: &ControllerClient,
    member: &BrokerMember,
) -> Result<u64, ControllerModeError> {
    let cmd = member.request(request::CONTROLLER_GET_NEXT_BROKER_ID);
    let answer = client.invoke_leader(cmd).await?;
    answer
        .ext("nextBrokerId")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ControllerModeError::answer(&answer, "no nextBrokerId"))
}

/// CONTROLLER_REGISTER_BROKER, then an election when the set has no live master.
async fn register(
    client: &ControllerClient,
    member: &BrokerMember,
    broker_id: u64,
) -> Result<RoleAssignment, ControllerModeError> {
    let cmd = member
        .request(request::CONTROLLER_REGISTER_BROKER)
        .with_ext("brokerId", broker_id)
        .with_ext("brokerAddress", &member.broker_address);
    let answer = client.invoke_leader(cmd).await?;
    if answer.code != 0 {
        return Err(ControllerModeError::answer(&answer, "register refused"));
    }
    let info = assignment_from(broker_id, &answer);
    if info.master_broker_id.is_some() {
        return Ok(info);
    }
    elect(client, member, broker_id).await
}

/// CONTROLLER_ELECT_MASTER naming this broker; any answer that names a master (elected, or
/// still alive) is the assignment. When nobody can be elected the broker waits as a slave
/// without a master.
async fn elect(
    client: &ControllerClient,
    member: &BrokerMember,
    broker_id: u64,
) -> Result<RoleAssignment, ControllerModeError> {
    let cmd = member
        .request(request::CONTROLLER_ELECT_MASTER)
        .with_ext("brokerId", broker_id)
        .with_ext("designateElect", false);
    let answer = client.invoke_leader(cmd).await?;
    let info = assignment_from(broker_id, &answer);
    if info.master_broker_id.is_none() {
        tracing::info!(code = answer.code, remark = ?answer.remark, "no master could be elected yet");
    } else if info.is_master() {
        tracing::info!(
            epoch = info.master_epoch,
            "elected master of the broker set"
        );
    }
    Ok(info)
}

/// The master fields of a controller answer (register, replica info, election, notice).
fn assignment_from(broker_id: u64, answer: &RemotingCommand) -> RoleAssignment {
    let num = |k: &str| answer.ext(k).and_then(|v| v.trim().parse::<i64>().ok());
    let mut a = RoleAssignment {
        broker_id,
        master_broker_id: num("masterBrokerId").filter(|m| *m > 0).map(|m| m as u64),
        master_address: answer
            .ext("masterAddress")
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        master_epoch: num("masterEpoch").unwrap_or(0) as i32,
        sync_state_set_epoch: num("syncStateSetEpoch").unwrap_or(0) as i32,
        sync_state_set: BTreeSet::new(),
    };
    // the `SyncStateSet` body, when the answer has one, is the authority on the set
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(&answer.full_body()) {
        if let Some(ids) = body["syncStateSet"].as_array() {
            a.sync_state_set = ids.iter().filter_map(|v| v.as_u64()).collect();
        }
        if let Some(epoch) = body["syncStateSetEpoch"].as_i64() {
            a.sync_state_set_epoch = epoch as i32;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(me: u64, master: Option<u64>) -> RoleAssignment {
        RoleAssignment {
            broker_id: me,
            master_broker_id: master,
            master_address: None,
            master_epoch: 1,
            sync_state_set_epoch: 1,
            sync_state_set: BTreeSet::new(),
        }
    }

    #[test]
    fn name_server_id_is_zero_only_for_the_master() {
        assert_eq!(assignment(2, Some(2)).name_server_broker_id(), 0);
        assert_eq!(assignment(2, Some(1)).name_server_broker_id(), 2);
        assert_eq!(assignment(2, None).name_server_broker_id(), 2);
    }

    #[test]
    fn role_changes_when_mastership_or_the_slaves_master_moves() {
        let slave_of_1 = assignment(2, Some(1));
        assert!(slave_of_1.role_changed(&assignment(2, Some(2))));
        assert!(slave_of_1.role_changed(&assignment(2, Some(3))));
        assert!(!slave_of_1.role_changed(&assignment(2, Some(1))));
        assert!(!slave_of_1.role_changed(&assignment(2, None)));
        assert!(assignment(2, Some(2)).role_changed(&assignment(2, Some(1))));
        assert!(!assignment(2, Some(2)).role_changed(&assignment(2, Some(2))));
    }

    #[test]
    fn answers_without_a_master_leave_it_unset() {
        let r = RemotingCommand::request(0).with_ext("masterEpoch", 3);
        let a = assignment_from(1, &r);
        assert_eq!(a.master_broker_id, None);
        assert_eq!(a.master_epoch, 3);
    }
}
