//! `ReplicasInfoManager`: the controller's replicated state, as RocketMQ names it.
//!
//! For every broker set (broker name) it keeps the replicas (broker id -> address and register
//! check code), the master and its epoch, and the sync state set and its epoch. Requests are
//! first checked against the current state, which yields a [`ControllerResult`]: the answer to
//! send and the [`ControllerEvent`]s to replicate. Only applying an event (on every controller,
//! in log order) changes the state.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::code::response;

/// `MixAll.FIRST_BROKER_CONTROLLER_ID`: the id the first broker of a set applies for.
pub const FIRST_BROKER_CONTROLLER_ID: u64 = 1;

/// One replica of a broker set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerReplica {
    pub address: String,
    pub register_check_code: String,
}

/// `BrokerReplicaInfo`: the replicas of one broker set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerReplicaInfo {
    pub cluster_name: String,
    pub broker_name: String,
    pub next_assign_broker_id: u64,
    pub brokers: BTreeMap<u64, BrokerReplica>,
}

impl BrokerReplicaInfo {
    fn address(&self, broker_id: Option<u64>) -> Option<String> {
        broker_id.and_then(|id| self.brokers.get(&id).map(|b| b.address.clone()))
    }
}

/// `SyncStateInfo`: the master and the in-sync replicas of one broker set, with their epochs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStateInfo {
    pub cluster_name: String,
    pub broker_name: String,
    pub master_epoch: i32,
    pub sync_state_set_epoch: i32,
    pub sync_state_set: BTreeSet<u64>,
    pub master_broker_id: Option<u64>,
}

impl SyncStateInfo {
    fn update_master(&mut self, master: Option<u64>) {
        self.master_broker_id = master;
        self.master_epoch += 1;
    }

    fn update_sync_state_set(&mut self, set: BTreeSet<u64>) {
        self.sync_state_set = set;
        self.sync_state_set_epoch += 1;
    }
}

/// An event replicated through the Raft log (RocketMQ's `EventMessage` kinds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerEvent {
    AlterSyncStateSet {
        broker_name: String,
        new_sync_state_set: BTreeSet<u64>,
    },
    ApplyBrokerId {
        cluster_name: String,
        broker_name: String,
        broker_address: String,
        new_broker_id: u64,
        register_check_code: String,
    },
    /// `new_master` is `None` when the master is gone and nobody could be elected.
    ElectMaster {
        broker_name: String,
        new_master: Option<u64>,
    },
    CleanBrokerData {
        broker_name: String,
        broker_ids: Option<BTreeSet<u64>>,
    },
    UpdateBrokerAddress {
        broker_name: String,
        broker_address: String,
        broker_id: u64,
    },
}

/// What a request yields: the answer (code, remark, header fields, body) and the events to
/// replicate before answering.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControllerResult {
    pub code: i32,
    pub remark: Option<String>,
    pub header: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
    pub events: Vec<ControllerEvent>,
}

impl ControllerResult {
    /// A refusal: `code` and `remark`, nothing to replicate.
    pub fn error(code: i32, remark: impl Into<String>) -> Self {
        ControllerResult {
            code,
            remark: Some(remark.into()),
            ..Default::default()
        }
    }

    fn with_header(mut self, key: &'static str, value: impl ToString) -> Self {
        self.header.push((key, value.to_string()));
        self
    }

    fn with_opt_header(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.with_header(key, v),
            None => self,
        }
    }
}

/// Is a broker (cluster, broker name, broker id) alive? RocketMQ's `BrokerValidPredicate`.
pub trait BrokerAlive {
    fn is_alive(&self, cluster_name: &str, broker_name: &str, broker_id: u64) -> bool;

    /// What the broker's last heartbeat said, for ranking candidates (RocketMQ's
    /// `BrokerLiveInfoGetter`); `None` when unknown.
    fn live_info(
        &self,
        _cluster_name: &str,
        _broker_name: &str,
        _broker_id: u64,
    ) -> Option<LiveRank> {
        None
    }
}

/// A candidate's heartbeat figures: a higher epoch, then a higher max offset, then a lower
/// election priority wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveRank {
    pub epoch: i32,
    pub max_offset: i64,
    pub election_priority: i32,
}

impl<F: Fn(&str, &str, u64) -> bool> BrokerAlive for F {
    fn is_alive(&self, cluster_name: &str, broker_name: &str, broker_id: u64) -> bool {
        self(cluster_name, broker_name, broker_id)
    }
}

/// `SyncStateSet` body JSON.
fn sync_state_set_body(set: &BTreeSet<u64>, epoch: i32) -> Vec<u8> {
    serde_json::json!({"syncStateSet": set, "syncStateSetEpoch": epoch})
        .to_string()
        .into_bytes()
}

/// The replicated tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicasInfoManager {
    pub replica_info_table: BTreeMap<String, BrokerReplicaInfo>,
    pub sync_state_set_info_table: BTreeMap<String, SyncStateInfo>,
}

/// The request fields of CONTROLLER_ELECT_MASTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElectMasterRequest {
    pub cluster_name: String,
    pub broker_name: String,
    /// `None` (RocketMQ's -1) when the controller itself triggers the election.
    pub broker_id: Option<u64>,
    pub designate_elect: bool,
}

impl ReplicasInfoManager {
    fn contains(&self, broker_name: &str) -> bool {
        self.replica_info_table.contains_key(broker_name)
            && self.sync_state_set_info_table.contains_key(broker_name)
    }

    fn pair(&self, broker_name: &str) -> Option<(&BrokerReplicaInfo, &SyncStateInfo)> {
        Some((
            self.replica_info_table.get(broker_name)?,
            self.sync_state_set_info_table.get(broker_name)?,
        ))
    }

    /// CONTROLLER_ALTER_SYNC_STATE_SET, sent by a master with its epochs and the new set.
    pub fn alter_sync_state_set(
        &self,
        broker_name: &str,
        master_broker_id: Option<u64>,
        master_epoch: i32,
        new_set: &BTreeSet<u64>,
        new_set_epoch: i32,
        alive: &dyn BrokerAlive,
    ) -> ControllerResult {
        let Some((replicas, sync)) = self.pair(broker_name) else {
            return ControllerResult::error(
                response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                "Broker metadata is not existed",
            );
        };
        if &sync.sync_state_set == new_set {
            return ControllerResult::error(
                response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                "The new sync state set equals the current one, nothing to update",
            );
        }
        if sync.master_broker_id.is_none() || sync.master_broker_id != master_broker_id {
            return ControllerResult::error(
                response::CONTROLLER_INVALID_MASTER,
                format!(
                    "Refused: the current master is {:?}, not {:?}",
                    sync.master_broker_id, master_broker_id
                ),
            );
        }
        if master_epoch != sync.master_epoch {
            return ControllerResult::error(
                response::CONTROLLER_FENCED_MASTER_EPOCH,
                format!(
                    "Refused: the current master epoch is {}, not {master_epoch}",
                    sync.master_epoch
                ),
            );
        }
        if new_set_epoch != sync.sync_state_set_epoch {
            return ControllerResult::error(
                response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH,
                format!(
                    "Refused: the current sync state set epoch is {}, not {new_set_epoch}",
                    sync.sync_state_set_epoch
                ),
            );
        }
        for id in new_set {
            if !replicas.brokers.contains_key(id) {
                return ControllerResult::error(
                    response::CONTROLLER_INVALID_REPLICAS,
                    format!("Refused: replica {id} does not exist"),
                );
            }
            if !alive.is_alive(&replicas.cluster_name, broker_name, *id) {
                return ControllerResult::error(
                    response::CONTROLLER_BROKER_NOT_ALIVE,
                    format!("Refused: replica {id} is not alive"),
                );
            }
        }
        if !sync.master_broker_id.is_some_and(|m| new_set.contains(&m)) {
            return ControllerResult::error(
                response::CONTROLLER_ALTER_SYNC_STATE_SET_FAILED,
                "Refused: the new sync state set lacks the master",
            );
        }
        let epoch = sync.sync_state_set_epoch + 1;
        ControllerResult {
            body: Some(sync_state_set_body(new_set, epoch)),
            events: vec![ControllerEvent::AlterSyncStateSet {
                broker_name: broker_name.to_string(),
                new_sync_state_set: new_set.clone(),
            }],
            ..Default::default()
        }
        .with_header("newSyncStateSetEpoch", epoch)
    }

    /// CONTROLLER_ELECT_MASTER (from a broker, an admin, or the controller's own inactive-master
    /// scan), with RocketMQ's `DefaultElectPolicy`: the sync state set first, then (with
    /// `enableElectUncleanMaster`) any replica; only alive brokers qualify.
    pub fn elect_master(
        &self,
        request: &ElectMasterRequest,
        enable_elect_unclean_master: bool,
        alive: &dyn BrokerAlive,
    ) -> ControllerResult {
        let broker_name = request.broker_name.as_str();
        let Some((replicas, sync)) = self.pair(broker_name) else {
            return ControllerResult::error(
                response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED,
                "Broker hasn't been registered",
            );
        };
        let old_master = sync.master_broker_id;
        let mut new_master = if sync.master_epoch == 0 {
            // The first election of a set takes the requesting broker.
            request.broker_id
        } else {
            None
        };
        if new_master.is_none() {
            let prefer = request.broker_id.filter(|_| request.designate_elect);
            let all: BTreeSet<u64> = replicas.brokers.keys().copied().collect();
            let candidates = [
                Some(&sync.sync_state_set),
                enable_elect_unclean_master.then_some(&all),
            ];
            new_master = candidates.into_iter().flatten().find_map(|set| {
                try_elect(
                    &replicas.cluster_name,
                    broker_name,
                    set,
                    old_master,
                    prefer,
                    alive,
                )
            });
        }
        match new_master {
            Some(m) if Some(m) == old_master => ControllerResult {
                code: response::CONTROLLER_MASTER_STILL_EXIST,
                remark: Some(format!(
                    "The old master {m} is still alive, no need to elect a new master for {broker_name}"
                )),
                body: Some(elect_body(None, &sync.sync_state_set)),
                ..Default::default()
            }
            .with_header("masterBrokerId", m)
            .with_opt_header("masterAddress", replicas.address(Some(m)))
            .with_header("masterEpoch", sync.master_epoch)
            .with_header("syncStateSetEpoch", sync.sync_state_set_epoch),
            Some(m) => ControllerResult {
                body: Some(elect_body(Some(replicas), &BTreeSet::from([m]))),
                events: vec![ControllerEvent::ElectMaster {
                    broker_name: broker_name.to_string(),
                    new_master: Some(m),
                }],
                ..Default::default()
            }
            .with_header("masterBrokerId", m)
            .with_opt_header("masterAddress", replicas.address(Some(m)))
            .with_header("masterEpoch", sync.master_epoch + 1)
            .with_header("syncStateSetEpoch", sync.sync_state_set_epoch + 1),
            None if request.broker_id.is_none() => {
                // Triggered by the controller: record that the master is gone.
                let mut r = ControllerResult::error(
                    response::CONTROLLER_MASTER_NOT_AVAILABLE,
                    "The old master is down and no new master could be elected",
                );
                r.events.push(ControllerEvent::ElectMaster {
                    broker_name: broker_name.to_string(),
                    new_master: None,
                });
                r
            }
            None => ControllerResult::error(
                response::CONTROLLER_ELECT_MASTER_FAILED,
                "Failed to elect a new master",
            ),
        }
    }

    /// CONTROLLER_GET_NEXT_BROKER_ID.
    pub fn get_next_broker_id(&self, cluster_name: &str, broker_name: &str) -> ControllerResult {
        let next = self
            .replica_info_table
            .get(broker_name)
            .map_or(FIRST_BROKER_CONTROLLER_ID, |r| r.next_assign_broker_id);
        ControllerResult::default()
            .with_header("clusterName", cluster_name)
            .with_header("brokerName", broker_name)
            .with_header("nextBrokerId", next)
    }

    /// CONTROLLER_APPLY_BROKER_ID; `register_check_code` is `address;timestamp`.
    pub fn apply_broker_id(
        &self,
        cluster_name: &str,
        broker_name: &str,
        broker_id: u64,
        register_check_code: &str,
    ) -> ControllerResult {
        let address = register_check_code.split(';').next().unwrap_or_default();
        let base = ControllerResult::default()
            .with_header("clusterName", cluster_name)
            .with_header("brokerName", broker_name);
        let event = ControllerEvent::ApplyBrokerId {
            cluster_name: cluster_name.to_string(),
            broker_name: broker_name.to_string(),
            broker_address: address.to_string(),
            new_broker_id: broker_id,
            register_check_code: register_check_code.to_string(),
        };
        let ok = match self.replica_info_table.get(broker_name) {
            None => broker_id == FIRST_BROKER_CONTROLLER_ID,
            Some(r) => r
                .brokers
                .get(&broker_id)
                .is_none_or(|b| b.register_check_code == register_check_code),
        };
        if ok {
            return ControllerResult {
                events: vec![event],
                ..base
            };
        }
        ControllerResult {
            code: response::CONTROLLER_BROKER_ID_INVALID,
            remark: Some(format!(
                "Failed to apply broker id {broker_id} in broker set {broker_name}"
            )),
            ..base
        }
    }

    /// CONTROLLER_REGISTER_BROKER: a broker with an applied id reports its address.
    pub fn register_broker(
        &self,
        cluster_name: &str,
        broker_name: &str,
        broker_id: u64,
        broker_address: &str,
        alive: &dyn BrokerAlive,
    ) -> ControllerResult {
        let need = |remark: String| {
            ControllerResult::error(response::CONTROLLER_BROKER_NEED_TO_BE_REGISTERED, remark)
        };
        let Some((replicas, sync)) = self.pair(broker_name) else {
            return need(format!(
                "Broker set {broker_name} hasn't been registered in the controller"
            ));
        };
        let Some(replica) = replicas.brokers.get(&broker_id) else {
            return need(format!(
                "Broker id {broker_id} hasn't been registered in broker set {broker_name}"
            ));
        };
        let mut r = ControllerResult::default()
            .with_header("clusterName", cluster_name)
            .with_header("brokerName", broker_name);
        if let Some(m) = sync
            .master_broker_id
            .filter(|m| alive.is_alive(cluster_name, broker_name, *m))
        {
            r = r
                .with_header("masterBrokerId", m)
                .with_opt_header("masterAddress", replicas.address(Some(m)))
                .with_header("masterEpoch", sync.master_epoch)
                .with_header("syncStateSetEpoch", sync.sync_state_set_epoch);
        }
        r.body = Some(sync_state_set_body(
            &sync.sync_state_set,
            sync.sync_state_set_epoch,
        ));
        if replica.address != broker_address {
            r.events.push(ControllerEvent::UpdateBrokerAddress {
                broker_name: broker_name.to_string(),
                broker_address: broker_address.to_string(),
                broker_id,
            });
        }
        r
    }

    /// CONTROLLER_GET_REPLICA_INFO.
    pub fn get_replica_info(&self, broker_name: &str) -> ControllerResult {
        let Some((replicas, sync)) = self.pair(broker_name) else {
            return ControllerResult::error(
                response::CONTROLLER_BROKER_METADATA_NOT_EXIST,
                "Broker metadata is not existed",
            );
        };
        let mut r = ControllerResult::default()
            .with_opt_header("masterBrokerId", sync.master_broker_id)
            .with_opt_header("masterAddress", replicas.address(sync.master_broker_id))
            .with_header("masterEpoch", sync.master_epoch);
        r.body = Some(sync_state_set_body(
            &sync.sync_state_set,
            sync.sync_state_set_epoch,
        ));
        r
    }

    /// CONTROLLER_GET_SYNC_STATE_DATA: the `BrokerReplicasInfo` body for the named sets.
    pub fn get_sync_state_data(
        &self,
        broker_names: &[String],
        alive: &dyn BrokerAlive,
    ) -> ControllerResult {
        let mut table = serde_json::Map::new();
        for name in broker_names {
            let Some((replicas, sync)) = self.pair(name) else {
                continue;
            };
            let (mut in_sync, mut not_in_sync) = (Vec::new(), Vec::new());
            for (id, b) in &replicas.brokers {
                let replica = serde_json::json!({
                    "brokerName": name,
                    "brokerId": id,
                    "brokerAddress": b.address,
                    "alive": alive.is_alive(&replicas.cluster_name, name, *id),
                });
                if sync.sync_state_set.contains(id) {
                    in_sync.push(replica);
                } else {
                    not_in_sync.push(replica);
                }
            }
            table.insert(
                name.clone(),
                serde_json::json!({
                    "masterBrokerId": sync.master_broker_id,
                    "masterAddress": replicas.address(sync.master_broker_id),
                    "masterEpoch": sync.master_epoch,
                    "syncStateSetEpoch": sync.sync_state_set_epoch,
                    "inSyncReplicas": in_sync,
                    "notInSyncReplicas": not_in_sync,
                }),
            );
        }
        ControllerResult {
            body: Some(
                serde_json::json!({ "replicasInfoTable": table })
                    .to_string()
                    .into_bytes(),
            ),
            ..Default::default()
        }
    }

    /// CLEAN_BROKER_DATA (`mqadmin cleanBrokerMetadata`).
    pub fn clean_broker_data(
        &self,
        cluster_name: &str,
        broker_name: &str,
        ids_to_clean: Option<&str>,
        clean_living_broker: bool,
        alive: &dyn BrokerAlive,
    ) -> ControllerResult {
        let invalid = |remark: String| {
            ControllerResult::error(response::CONTROLLER_INVALID_CLEAN_BROKER_METADATA, remark)
        };
        let ids_text = ids_to_clean.map(str::trim).filter(|s| !s.is_empty());
        let mut ids = None;
        if let Some(text) = ids_text {
            let parsed: Result<BTreeSet<u64>, _> =
                text.split(';').map(|s| s.trim().parse::<u64>()).collect();
            match parsed {
                Ok(set) => ids = Some(set),
                Err(e) => {
                    return invalid(format!(
                        "brokerControllerIdsToClean must be ids separated by ';': {e}"
                    ))
                }
            }
        }
        if !clean_living_broker {
            let master = self
                .sync_state_set_info_table
                .get(broker_name)
                .and_then(|s| s.master_broker_id);
            if ids.is_none() && master.is_some() {
                return invalid(format!(
                    "Broker {broker_name} is still alive, clean up failure"
                ));
            }
            for id in ids.iter().flatten() {
                if alive.is_alive(cluster_name, broker_name, *id) {
                    return invalid(format!(
                        "Broker [{broker_name}, {id}] is still alive, clean up failure"
                    ));
                }
            }
        }
        if !self.contains(broker_name) {
            return invalid(format!(
                "Broker {broker_name} does not exist, nothing to clean"
            ));
        }
        ControllerResult {
            events: vec![ControllerEvent::CleanBrokerData {
                broker_name: broker_name.to_string(),
                broker_ids: ids,
            }],
            ..Default::default()
        }
    }

    /// The broker sets whose master is not alive while another replica is: they need an election.
    pub fn scan_need_reelect_broker_sets(&self, alive: &dyn BrokerAlive) -> Vec<String> {
        let mut out = Vec::new();
        for (name, sync) in &self.sync_state_set_info_table {
            let Some(master) = sync.master_broker_id else {
                continue;
            };
            if alive.is_alive(&sync.cluster_name, name, master) {
                continue;
            }
            let any_alive = self.replica_info_table.get(name).is_some_and(|r| {
                r.brokers
                    .keys()
                    .any(|id| alive.is_alive(&sync.cluster_name, name, *id))
            });
            if any_alive {
                out.push(name.clone());
            }
        }
        out
    }

    /// The master of a set, if any.
    pub fn master_of(&self, broker_name: &str) -> Option<u64> {
        self.sync_state_set_info_table
            .get(broker_name)
            .and_then(|s| s.master_broker_id)
    }

    /// Applies one replicated event.
    pub fn apply_event(&mut self, event: &ControllerEvent) {
        match event {
            ControllerEvent::AlterSyncStateSet {
                broker_name,
                new_sync_state_set,
            } => {
                if let Some(s) = self.sync_state_set_info_table.get_mut(broker_name) {
                    s.update_sync_state_set(new_sync_state_set.clone());
                }
            }
            ControllerEvent::ApplyBrokerId {
                cluster_name,
                broker_name,
                broker_address,
                new_broker_id,
                register_check_code,
            } => self.apply_broker_id_event(
                cluster_name,
                broker_name,
                broker_address,
                *new_broker_id,
                register_check_code,
            ),
            ControllerEvent::ElectMaster {
                broker_name,
                new_master,
            } => {
                if let Some(s) = self.sync_state_set_info_table.get_mut(broker_name) {
                    s.update_master(*new_master);
                    if let Some(m) = new_master {
                        s.update_sync_state_set(BTreeSet::from([*m]));
                    }
                }
            }
            ControllerEvent::CleanBrokerData {
                broker_name,
                broker_ids,
            } => self.clean_broker_data_event(broker_name, broker_ids.as_ref()),
            ControllerEvent::UpdateBrokerAddress {
                broker_name,
                broker_address,
                broker_id,
            } => {
                if let Some(b) = self
                    .replica_info_table
                    .get_mut(broker_name)
                    .and_then(|r| r.brokers.get_mut(broker_id))
                {
                    b.address = broker_address.clone();
                }
            }
        }
    }

    fn apply_broker_id_event(
        &mut self,
        cluster_name: &str,
        broker_name: &str,
        address: &str,
        id: u64,
        check_code: &str,
    ) {
        if !self.contains(broker_name) {
            self.replica_info_table.insert(
                broker_name.to_string(),
                BrokerReplicaInfo {
                    cluster_name: cluster_name.to_string(),
                    broker_name: broker_name.to_string(),
                    next_assign_broker_id: FIRST_BROKER_CONTROLLER_ID,
                    brokers: BTreeMap::new(),
                },
            );
            self.sync_state_set_info_table.insert(
                broker_name.to_string(),
                SyncStateInfo {
                    cluster_name: cluster_name.to_string(),
                    broker_name: broker_name.to_string(),
                    master_epoch: 0,
                    sync_state_set_epoch: 0,
                    sync_state_set: BTreeSet::new(),
                    master_broker_id: None,
                },
            );
        }
        if let Some(r) = self.replica_info_table.get_mut(broker_name) {
            if let std::collections::btree_map::Entry::Vacant(slot) = r.brokers.entry(id) {
                slot.insert(BrokerReplica {
                    address: address.to_string(),
                    register_check_code: check_code.to_string(),
                });
                r.next_assign_broker_id += 1;
            }
        }
    }

    fn clean_broker_data_event(&mut self, broker_name: &str, ids: Option<&BTreeSet<u64>>) {
        let Some(ids) = ids.filter(|s| !s.is_empty()) else {
            self.replica_info_table.remove(broker_name);
            self.sync_state_set_info_table.remove(broker_name);
            return;
        };
        if !self.contains(broker_name) {
            return;
        }
        if let Some(r) = self.replica_info_table.get_mut(broker_name) {
            for id in ids {
                r.brokers.remove(id);
            }
            if r.brokers.is_empty() {
                self.replica_info_table.remove(broker_name);
            }
        }
        if let Some(s) = self.sync_state_set_info_table.get_mut(broker_name) {
            for id in ids {
                s.sync_state_set.remove(id);
            }
            if s.sync_state_set.is_empty() {
                self.sync_state_set_info_table.remove(broker_name);
            }
        }
    }
}

/// `ElectMasterResponseBody` JSON: the sync state set, and the member group when a new master
/// was elected.
fn elect_body(replicas: Option<&BrokerReplicaInfo>, set: &BTreeSet<u64>) -> Vec<u8> {
    let mut body = serde_json::json!({ "syncStateSet": set });
    if let Some(r) = replicas {
        let addrs: BTreeMap<String, &str> = r
            .brokers
            .iter()
            .map(|(id, b)| (id.to_string(), b.address.as_str()))
            .collect();
        body["brokerMemberGroup"] = serde_json::json!({
            "cluster": r.cluster_name,
            "brokerName": r.broker_name,
            "brokerAddrs": addrs,
        });
    }
    body.to_string().into_bytes()
}

/// One pass of `DefaultElectPolicy` over `brokers`: the old master if still alive and not
/// overridden, else the designated broker if alive, else the best-ranked alive broker (highest
/// epoch, then max offset, then lowest election priority; the lowest id breaks ties).
fn try_elect(
    cluster_name: &str,
    broker_name: &str,
    brokers: &BTreeSet<u64>,
    old_master: Option<u64>,
    prefer: Option<u64>,
    alive: &dyn BrokerAlive,
) -> Option<u64> {
    let alive_ids: BTreeSet<u64> = brokers
        .iter()
        .copied()
        .filter(|id| alive.is_alive(cluster_name, broker_name, *id))
        .collect();
    if alive_ids.is_empty() {
        return None;
    }
    if let Some(old) = old_master.filter(|o| alive_ids.contains(o)) {
        if prefer.is_none_or(|p| p == old) {
            return Some(old);
        }
    }
    if let Some(p) = prefer {
        return alive_ids.contains(&p).then_some(p);
    }
    alive_ids.into_iter().min_by_key(|id| {
        let rank = alive
            .live_info(cluster_name, broker_name, *id)
            .unwrap_or(LiveRank {
                epoch: -1,
                max_offset: -1,
                election_priority: i32::MAX,
            });
        (
            std::cmp::Reverse(rank.epoch),
            std::cmp::Reverse(rank.max_offset),
            rank.election_priority,
            *id,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(m: &mut ReplicasInfoManager, r: &ControllerResult) {
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        for e in &r.events {
            m.apply_event(e);
        }
    }

    fn header<'a>(r: &'a ControllerResult, key: &str) -> Option<&'a str> {
        r.header
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    fn elect(id: Option<u64>, designate: bool) -> ElectMasterRequest {
        ElectMasterRequest {
            cluster_name: "c1".into(),
            broker_name: "a".into(),
            broker_id: id,
            designate_elect: designate,
        }
    }

    fn set_with_two_replicas() -> ReplicasInfoManager {
        let mut m = ReplicasInfoManager::default();
        let r = m.get_next_broker_id("c1", "a");
        assert_eq!(header(&r, "nextBrokerId"), Some("1"));
        let r = m.apply_broker_id("c1", "a", 2, "h:2;1");
        assert_eq!(
            r.code,
            response::CONTROLLER_BROKER_ID_INVALID,
            "the first id is 1"
        );
        let r = m.apply_broker_id("c1", "a", 1, "h:1;1");
        applied(&mut m, &r);
        let r = m.apply_broker_id("c1", "a", 2, "h:2;1");
        applied(&mut m, &r);
        assert_eq!(
            m.apply_broker_id("c1", "a", 2, "other:2;5").code,
            response::CONTROLLER_BROKER_ID_INVALID
        );
        assert_eq!(
            header(&m.get_next_broker_id("c1", "a"), "nextBrokerId"),
            Some("3")
        );
        m
    }

    #[test]
    fn first_election_takes_the_requesting_broker_then_epochs_fence() {
        let mut m = set_with_two_replicas();
        let all_alive = |_: &str, _: &str, _: u64| true;
        let r = m.elect_master(&elect(Some(2), false), false, &all_alive);
        assert_eq!(header(&r, "masterEpoch"), Some("1"));
        applied(&mut m, &r);
        assert_eq!(m.master_of("a"), Some(2));
        let r = m.elect_master(&elect(Some(1), false), false, &all_alive);
        assert_eq!(r.code, response::CONTROLLER_MASTER_STILL_EXIST);
        let set = BTreeSet::from([1, 2]);
        let stale = m.alter_sync_state_set("a", Some(2), 0, &set, 1, &all_alive);
        assert_eq!(stale.code, response::CONTROLLER_FENCED_MASTER_EPOCH);
        let r = m.alter_sync_state_set("a", Some(2), 1, &set, 1, &all_alive);
        assert_eq!(header(&r, "newSyncStateSetEpoch"), Some("2"));
        applied(&mut m, &r);
        let again = m.alter_sync_state_set("a", Some(2), 1, &BTreeSet::from([2]), 1, &all_alive);
        assert_eq!(again.code, response::CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH);
    }

    #[test]
    fn a_silent_master_is_replaced_from_the_sync_state_set_or_recorded_as_gone() {
        let mut m = set_with_two_replicas();
        let only_1 = |_: &str, _: &str, id: u64| id == 1;
        let r = m.elect_master(&elect(Some(2), false), false, &only_1);
        applied(&mut m, &r);
        assert_eq!(
            m.scan_need_reelect_broker_sets(&only_1),
            vec!["a".to_string()]
        );
        // Replica 1 is alive but not in sync: no clean election.
        let r = m.elect_master(&elect(None, false), false, &only_1);
        assert_eq!(r.code, response::CONTROLLER_MASTER_NOT_AVAILABLE);
        let mut gone = m.clone();
        gone.apply_event(&r.events[0]);
        assert_eq!(gone.master_of("a"), None);
        assert_eq!(gone.sync_state_set_info_table["a"].master_epoch, 2);
        // enableElectUncleanMaster: replica 1 takes over.
        let r = m.elect_master(&elect(None, false), true, &only_1);
        assert_eq!(header(&r, "masterBrokerId"), Some("1"));
        assert_eq!(header(&r, "masterAddress"), Some("h:1"));
        applied(&mut m, &r);
        assert_eq!(
            m.sync_state_set_info_table["a"].sync_state_set,
            BTreeSet::from([1])
        );
    }

    struct Ranked;

    impl BrokerAlive for Ranked {
        fn is_alive(&self, _: &str, _: &str, id: u64) -> bool {
            id != 1
        }

        fn live_info(&self, _: &str, _: &str, id: u64) -> Option<LiveRank> {
            let (epoch, max_offset) = match id {
                2 => (3, 100),
                _ => (3, 200),
            };
            Some(LiveRank {
                epoch,
                max_offset,
                election_priority: 0,
            })
        }
    }

    #[test]
    fn the_replica_with_the_most_data_is_elected() {
        let mut m = set_with_two_replicas();
        let r = m.apply_broker_id("c1", "a", 3, "h:3;1");
        applied(&mut m, &r);
        let r = m.elect_master(&elect(Some(1), false), false, &Ranked);
        applied(&mut m, &r);
        let r = m.elect_master(&elect(None, false), true, &Ranked);
        assert_eq!(header(&r, "masterBrokerId"), Some("3"), "{r:?}");
    }

    #[test]
    fn clean_broker_data_refuses_live_brokers_unless_told() {
        let mut m = set_with_two_replicas();
        let alive = |_: &str, _: &str, id: u64| id == 2;
        let r = m.elect_master(&elect(Some(1), false), false, &alive);
        applied(&mut m, &r);
        let r = m.clean_broker_data("c1", "a", Some("2"), false, &alive);
        assert_eq!(r.code, response::CONTROLLER_INVALID_CLEAN_BROKER_METADATA);
        let r = m.clean_broker_data("c1", "a", None, false, &alive);
        assert_eq!(r.code, response::CONTROLLER_INVALID_CLEAN_BROKER_METADATA);
        let r = m.clean_broker_data("c1", "a", Some("2"), true, &alive);
        applied(&mut m, &r);
        assert_eq!(m.replica_info_table["a"].brokers.len(), 1);
        let r = m.clean_broker_data("c1", "a", None, true, &alive);
        applied(&mut m, &r);
        assert!(m.replica_info_table.is_empty());
    }
}
