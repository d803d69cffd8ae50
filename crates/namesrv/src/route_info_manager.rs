//! `RouteInfoManager`: RocketMQ's name-server tables and the rules that keep them.
//!
//! * `topicQueueTable`: topic → broker name → `QueueData`
//! * `brokerAddrTable`: broker name → `BrokerData` (cluster, broker id → address)
//! * `clusterAddrTable`: cluster → broker names
//! * `brokerLiveTable`: (cluster, broker address) → last registration, expiry, data version, connection
//!
//! All four sit behind one read/write lock, as in RocketMQ, so every reader sees them agree.
//! No lock is held across I/O: callers get plain values back and do the network work after.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ferrocket_protocol::body::route::{BrokerData, ClusterInfo, QueueData, TopicRouteData};
use ferrocket_protocol::body::topic::{
    perm, DataVersion, TopicConfig, TopicConfigSerializeWrapper, TopicList,
};
use ferrocket_remoting::Channel;
use parking_lot::RwLock;

/// The broker id of a master (`MixAll.MASTER_ID`).
pub const MASTER_ID: i64 = 0;

/// `TopicSysFlag.FLAG_UNIT`.
const FLAG_UNIT: i32 = 1;
/// `TopicSysFlag.FLAG_UNIT_SUB`.
const FLAG_UNIT_SUB: i32 = 1 << 1;

/// Identifies one broker process: its cluster and the address clients use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BrokerAddrInfo {
    /// Cluster name.
    pub cluster_name: String,
    /// `ip:port`.
    pub broker_addr: String,
}

impl BrokerAddrInfo {
    /// Builds the key.
    pub fn new(cluster_name: impl Into<String>, broker_addr: impl Into<String>) -> Self {
        BrokerAddrInfo {
            cluster_name: cluster_name.into(),
            broker_addr: broker_addr.into(),
        }
    }
}

/// What the name server remembers about a live broker.
#[derive(Debug, Clone)]
struct BrokerLiveInfo {
    last_update: Instant,
    heartbeat_timeout: Duration,
    data_version: DataVersion,
    channel: Option<Channel>,
    ha_server_addr: String,
}

/// One REGISTER_BROKER, decoded.
#[derive(Debug, Clone, Default)]
pub struct BrokerRegistration {
    /// `clusterName`.
    pub cluster_name: String,
    /// `brokerAddr`.
    pub broker_addr: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId`.
    pub broker_id: i64,
    /// `haServerAddr`.
    pub ha_server_addr: String,
    /// `heartbeatTimeoutMillis`; `None` uses the name server default.
    pub heartbeat_timeout_millis: Option<u64>,
    /// `enableActingMaster`; `None` for brokers older than 5.0.
    pub enable_acting_master: Option<bool>,
    /// The broker's topics and their version.
    pub topic_config_wrapper: TopicConfigSerializeWrapper,
    /// Filter servers (`None` leaves the current list alone).
    pub filter_server_list: Option<Vec<String>>,
    /// The connection the registration came over; closing it unregisters the broker.
    pub channel: Option<Channel>,
}

/// The answer to a registration: where a slave finds its master.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegisterBrokerResult {
    /// The master's HA address, for slaves.
    pub ha_server_addr: Option<String>,
    /// The master's address, for slaves.
    pub master_addr: Option<String>,
}

/// One UNREGISTER_BROKER (or an expiry / closed connection turned into one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUnregistration {
    /// `clusterName`.
    pub cluster_name: String,
    /// `brokerAddr`.
    pub broker_addr: String,
    /// `brokerName`.
    pub broker_name: String,
    /// `brokerId`.
    pub broker_id: i64,
}

#[derive(Default)]
struct RouteTables {
    topic_queue_table: BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_addr_table: BTreeMap<String, BrokerData>,
    cluster_addr_table: BTreeMap<String, BTreeSet<String>>,
    broker_live_table: HashMap<BrokerAddrInfo, BrokerLiveInfo>,
    filter_server_table: HashMap<BrokerAddrInfo, Vec<String>>,
}

/// The name server's route tables.
pub struct RouteInfoManager {
    tables: RwLock<RouteTables>,
    default_broker_timeout: Duration,
    delete_topic_with_broker_registration: AtomicBool,
}

/// The broker name's entry, created if new (then `true`), with the registration's acting-master
/// flag and the registering address under its id only.
fn upsert_broker_data<'a>(
    table: &'a mut BTreeMap<String, BrokerData>,
    reg: &BrokerRegistration,
) -> (&'a mut BrokerData, bool) {
    let mut register_first = false;
    let broker_data = table.entry(reg.broker_name.clone()).or_insert_with(|| {
        register_first = true;
        BrokerData {
            cluster: reg.cluster_name.clone(),
            broker_name: reg.broker_name.clone(),
            ..Default::default()
        }
    });
    broker_data.enable_acting_master = reg.enable_acting_master.unwrap_or(false);

    // One address appears under one id only: a slave promoted to master moves.
    broker_data
        .broker_addrs
        .retain(|id, addr| !(*addr == reg.broker_addr && *id != reg.broker_id));
    (broker_data, register_first)
}

/// Whether another live address holds the registration's broker id with a newer state
/// version: the registration is then ignored.
fn newer_broker_holds_id(
    live_table: &HashMap<BrokerAddrInfo, BrokerLiveInfo>,
    broker_data: &BrokerData,
    reg: &BrokerRegistration,
) -> bool {
    let new_state_version = reg.topic_config_wrapper.data_version.state_version;
    let Some(old_addr) = broker_data.broker_addrs.get(&reg.broker_id) else {
        return false;
    };
    if *old_addr == reg.broker_addr {
        return false;
    }
    let old_key = BrokerAddrInfo::new(&reg.cluster_name, old_addr);
    let Some(old) = live_table.get(&old_key) else {
        return false;
    };
    if old.data_version.state_version <= new_state_version {
        return false;
    }
    tracing::warn!(
        broker = %reg.broker_name,
        id = reg.broker_id,
        old = %old_addr,
        new = %reg.broker_addr,
        "registration conflicts with a newer broker of the same id, ignored"
    );
    true
}

/// Replaces a broker's filter servers; an empty list removes them.
fn set_filter_servers(
    table: &mut HashMap<BrokerAddrInfo, Vec<String>>,
    broker_key: BrokerAddrInfo,
    list: Vec<String>,
) {
    if list.is_empty() {
        table.remove(&broker_key);
    } else {
        table.insert(broker_key, list);
    }
}

/// For a slave: the master's address and HA address, when the master is live.
fn fill_master_of(
    t: &RouteTables,
    cluster_name: &str,
    broker_name: &str,
    result: &mut RegisterBrokerResult,
) {
    let master = t
        .broker_addr_table
        .get(broker_name)
        .and_then(|bd| bd.broker_addrs.get(&MASTER_ID).cloned());
    if let Some(master_addr) = master {
        let key = BrokerAddrInfo::new(cluster_name, &master_addr);
        if let Some(live) = t.broker_live_table.get(&key) {
            result.ha_server_addr = Some(live.ha_server_addr.clone());
            result.master_addr = Some(master_addr);
        }
    }
}

impl RouteInfoManager {
    /// Empty tables; brokers that do not say otherwise expire after `default_broker_timeout`.
    pub fn new(default_broker_timeout: Duration) -> Self {
        RouteInfoManager {
            tables: RwLock::new(RouteTables::default()),
            default_broker_timeout,
            delete_topic_with_broker_registration: AtomicBool::new(false),
        }
    }

    /// Whether a master's topics missing from its registration are dropped
    /// (`deleteTopicWithBrokerRegistration`).
    pub fn set_delete_topic_with_broker_registration(&self, enabled: bool) {
        self.delete_topic_with_broker_registration
            .store(enabled, Ordering::Relaxed);
    }

    /// Records a broker and, for a master (or the prime slave of an acting-master group), its
    /// topics. `None` means the registration was refused.
    pub fn register_broker(&self, reg: BrokerRegistration) -> Option<RegisterBrokerResult> {
        let mut guard = self.tables.write();
        let t = &mut *guard;
        t.cluster_addr_table
            .entry(reg.cluster_name.clone())
            .or_default()
            .insert(reg.broker_name.clone());

        let (broker_data, mut register_first) = upsert_broker_data(&mut t.broker_addr_table, &reg);
        let old_version_broker = reg.enable_acting_master.is_none();
        if newer_broker_holds_id(&t.broker_live_table, broker_data, &reg) {
            t.broker_live_table
                .remove(&BrokerAddrInfo::new(&reg.cluster_name, &reg.broker_addr));
            return Some(RegisterBrokerResult::default());
        }

        // A single-topic registration (REGISTER_TOPIC style) needs the broker to be known first.
        if !broker_data.broker_addrs.contains_key(&reg.broker_id)
            && reg.topic_config_wrapper.topic_config_table.len() == 1
        {
            tracing::warn!(
                broker = %reg.broker_name,
                addr = %reg.broker_addr,
                "single-topic registration before the broker registered, refused"
            );
            return None;
        }

        let old_addr = broker_data
            .broker_addrs
            .insert(reg.broker_id, reg.broker_addr.clone());
        register_first |= old_addr.as_deref().unwrap_or("").is_empty();

        let is_master = reg.broker_id == MASTER_ID;
        let is_prime_slave = !old_version_broker
            && !is_master
            && broker_data.broker_addrs.keys().next() == Some(&reg.broker_id);
        let strip_write = is_prime_slave && broker_data.enable_acting_master;
        let broker_key = BrokerAddrInfo::new(&reg.cluster_name, &reg.broker_addr);

        if is_master || is_prime_slave {
            self.register_topics(t, &reg, &broker_key, register_first, strip_write);
        }

        let previous = t
            .broker_live_table
            .insert(broker_key.clone(), self.live_info_of(&reg));
        let newly_live = previous.is_none();

        if let Some(list) = reg.filter_server_list {
            set_filter_servers(&mut t.filter_server_table, broker_key, list);
        }

        let mut result = RegisterBrokerResult::default();
        if !is_master {
            fill_master_of(t, &reg.cluster_name, &reg.broker_name, &mut result);
        }
        drop(guard);
        if newly_live {
            tracing::info!(
                cluster = %reg.cluster_name,
                broker = %reg.broker_name,
                id = reg.broker_id,
                addr = %reg.broker_addr,
                "broker registered"
            );
        }
        Some(result)
    }

    /// Writes the queue data of a registering master's (or prime slave's) topics: all of them
    /// on its first registration or a new data version, else only topics new to it.
    fn register_topics(
        &self,
        t: &mut RouteTables,
        reg: &BrokerRegistration,
        broker_key: &BrokerAddrInfo,
        register_first: bool,
        strip_write: bool,
    ) {
        let table = &reg.topic_config_wrapper.topic_config_table;
        if self
            .delete_topic_with_broker_registration
            .load(Ordering::Relaxed)
        {
            delete_missing_topics(&mut t.topic_queue_table, &reg.broker_name, table);
        }
        let version_changed = t
            .broker_live_table
            .get(broker_key)
            .map(|live| live.data_version != reg.topic_config_wrapper.data_version)
            .unwrap_or(true);
        for config in table.values() {
            let topic_known_here = t
                .topic_queue_table
                .get(&config.topic_name)
                .is_some_and(|m| m.contains_key(&reg.broker_name));
            if register_first || version_changed || !topic_known_here {
                let mut qd = queue_data_of(&reg.broker_name, config);
                if strip_write {
                    qd.perm &= !perm::WRITE;
                }
                update_queue_data(&mut t.topic_queue_table, &config.topic_name, qd);
            }
        }
    }

    /// The liveness record a registration starts.
    fn live_info_of(&self, reg: &BrokerRegistration) -> BrokerLiveInfo {
        BrokerLiveInfo {
            last_update: Instant::now(),
            heartbeat_timeout: reg
                .heartbeat_timeout_millis
                .map(Duration::from_millis)
                .unwrap_or(self.default_broker_timeout),
            data_version: reg.topic_config_wrapper.data_version.clone(),
            channel: reg.channel.clone(),
            ha_server_addr: reg.ha_server_addr.clone(),
        }
    }

    /// Removes brokers; a broker name with no address left takes its queue data with it.
    pub fn unregister_brokers(&self, requests: &[BrokerUnregistration]) {
        let removed = unregister_in(&mut self.tables.write(), requests);
        for r in removed {
            tracing::info!(
                cluster = %r.cluster_name,
                broker = %r.broker_name,
                id = r.broker_id,
                addr = %r.broker_addr,
                "broker unregistered"
            );
        }
    }

    /// Removes the broker registered over `channel`, if any (its connection closed).
    pub fn on_channel_destroy(&self, channel: &Channel) -> Option<BrokerUnregistration> {
        let found = {
            let mut t = self.tables.write();
            let found = t
                .broker_live_table
                .iter()
                .find(|(_, live)| live.channel.as_ref() == Some(channel))
                .and_then(|(key, _)| unregistration_for(&t, key));
            if let Some(r) = &found {
                unregister_in(&mut t, std::slice::from_ref(r));
            }
            found
        };
        if let Some(r) = &found {
            tracing::info!(
                broker = %r.broker_name,
                addr = %r.broker_addr,
                "broker connection closed, broker unregistered"
            );
        }
        found
    }

    /// Unregisters every broker whose last registration is older than its timeout, returning
    /// their connections so the caller can close them.
    pub fn scan_not_active_broker(&self) -> Vec<Channel> {
        self.scan_not_active_broker_at(Instant::now())
    }

    fn scan_not_active_broker_at(&self, now: Instant) -> Vec<Channel> {
        let expired: Vec<(BrokerUnregistration, Duration, Option<Channel>)> = {
            let mut t = self.tables.write();
            let expired: Vec<_> = t
                .broker_live_table
                .iter()
                .filter(|(_, live)| {
                    now.saturating_duration_since(live.last_update) > live.heartbeat_timeout
                })
                .map(|(key, live)| {
                    let r = unregistration_for(&t, key).unwrap_or_else(|| BrokerUnregistration {
                        cluster_name: key.cluster_name.clone(),
                        broker_addr: key.broker_addr.clone(),
                        broker_name: String::new(),
                        broker_id: 0,
                    });
                    (r, live.heartbeat_timeout, live.channel.clone())
                })
                .collect();
            let requests: Vec<BrokerUnregistration> =
                expired.iter().map(|(r, _, _)| r.clone()).collect();
            unregister_in(&mut t, &requests);
            expired
        };
        expired
            .into_iter()
            .filter_map(|(r, timeout, channel)| {
                tracing::warn!(
                    broker = %r.broker_name,
                    addr = %r.broker_addr,
                    timeout_ms = timeout.as_millis() as u64,
                    "broker expired, unregistered"
                );
                channel
            })
            .collect()
    }

    /// The route of `topic`, or `None` when no broker serves it.
    pub fn pickup_topic_route_data(&self, topic: &str) -> Option<TopicRouteData> {
        let t = self.tables.read();
        let by_broker = t.topic_queue_table.get(topic)?;
        let mut route = TopicRouteData {
            queue_datas: by_broker.values().cloned().collect(),
            ..Default::default()
        };
        for name in by_broker.keys() {
            let Some(bd) = t.broker_addr_table.get(name) else {
                continue;
            };
            route.broker_datas.push(bd.clone());
            if t.filter_server_table.is_empty() {
                continue;
            }
            for addr in bd.broker_addrs.values() {
                let key = BrokerAddrInfo::new(&bd.cluster, addr);
                let servers = t.filter_server_table.get(&key).cloned().unwrap_or_default();
                route.filter_server_table.insert(addr.clone(), servers);
            }
        }
        if route.queue_datas.is_empty() || route.broker_datas.is_empty() {
            return None;
        }
        Some(route)
    }

    /// Every broker and cluster (GET_BROKER_CLUSTER_INFO).
    pub fn get_all_cluster_info(&self) -> ClusterInfo {
        let t = self.tables.read();
        ClusterInfo {
            broker_addr_table: t.broker_addr_table.clone(),
            cluster_addr_table: t.cluster_addr_table.clone(),
        }
    }

    /// Every topic with a route.
    pub fn get_all_topic_list(&self) -> TopicList {
        let t = self.tables.read();
        TopicList {
            topic_list: t.topic_queue_table.keys().cloned().collect(),
            broker_addr: None,
        }
    }

    /// Adds queue data for brokers that are already registered (REGISTER_TOPIC_IN_NAMESRV).
    /// Nothing changes if any queue names an unknown broker.
    pub fn register_topic(&self, topic: &str, queue_datas: &[QueueData]) -> bool {
        if queue_datas.is_empty() {
            return false;
        }
        let mut t = self.tables.write();
        if let Some(unknown) = queue_datas
            .iter()
            .find(|qd| !t.broker_addr_table.contains_key(&qd.broker_name))
        {
            tracing::warn!(topic, broker = %unknown.broker_name, "topic registered for an unknown broker, ignored");
            return false;
        }
        let by_broker = t.topic_queue_table.entry(topic.to_string()).or_default();
        for qd in queue_datas {
            by_broker.insert(qd.broker_name.clone(), qd.clone());
        }
        true
    }

    /// Removes a topic everywhere.
    pub fn delete_topic(&self, topic: &str) {
        self.tables.write().topic_queue_table.remove(topic);
    }

    /// Removes a topic from the brokers of one cluster.
    pub fn delete_topic_in_cluster(&self, topic: &str, cluster_name: &str) {
        let mut guard = self.tables.write();
        let t = &mut *guard;
        let Some(names) = t.cluster_addr_table.get(cluster_name) else {
            return;
        };
        if let Some(by_broker) = t.topic_queue_table.get_mut(topic) {
            for name in names {
                by_broker.remove(name);
            }
            if by_broker.is_empty() {
                t.topic_queue_table.remove(topic);
            }
        }
    }

    /// Clears the write permission of every topic on `broker_name`; returns how many changed.
    pub fn wipe_write_perm_of_broker(&self, broker_name: &str) -> usize {
        self.operate_write_perm(broker_name, |p| p & !perm::WRITE)
    }

    /// Restores read-write permission of every topic on `broker_name`; returns how many changed.
    pub fn add_write_perm_of_broker(&self, broker_name: &str) -> usize {
        self.operate_write_perm(broker_name, |_| perm::READ_WRITE)
    }

    fn operate_write_perm(&self, broker_name: &str, f: impl Fn(i32) -> i32) -> usize {
        let mut t = self.tables.write();
        let mut count = 0;
        for by_broker in t.topic_queue_table.values_mut() {
            if let Some(qd) = by_broker.get_mut(broker_name) {
                qd.perm = f(qd.perm);
                count += 1;
            }
        }
        count
    }

    /// Topics served by the brokers of `cluster` (GET_TOPICS_BY_CLUSTER).
    pub fn get_topics_by_cluster(&self, cluster: &str) -> TopicList {
        let t = self.tables.read();
        let mut list = TopicList::default();
        if let Some(names) = t.cluster_addr_table.get(cluster) {
            for (topic, by_broker) in &t.topic_queue_table {
                if names.iter().any(|n| by_broker.contains_key(n)) {
                    list.topic_list.insert(topic.clone());
                }
            }
        }
        list
    }

    /// Cluster and broker names, which RocketMQ treats as system topics, plus one broker address.
    pub fn get_system_topic_list(&self) -> TopicList {
        let t = self.tables.read();
        let mut list = TopicList::default();
        for (cluster, names) in &t.cluster_addr_table {
            list.topic_list.insert(cluster.clone());
            list.topic_list.extend(names.iter().cloned());
        }
        list.broker_addr = t
            .broker_addr_table
            .values()
            .find_map(|bd| bd.broker_addrs.values().next().cloned());
        list
    }

    /// Topics flagged as unit topics (GET_UNIT_TOPIC_LIST).
    pub fn get_unit_topics(&self) -> TopicList {
        self.topics_by_sys_flag(|f| f & FLAG_UNIT != 0)
    }

    /// Topics with unit subscriptions (GET_HAS_UNIT_SUB_TOPIC_LIST).
    pub fn get_has_unit_sub_topic_list(&self) -> TopicList {
        self.topics_by_sys_flag(|f| f & FLAG_UNIT_SUB != 0)
    }

    /// Non-unit topics with unit subscriptions (GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST).
    pub fn get_has_unit_sub_ununit_topic_list(&self) -> TopicList {
        self.topics_by_sys_flag(|f| f & FLAG_UNIT == 0 && f & FLAG_UNIT_SUB != 0)
    }

    fn topics_by_sys_flag(&self, keep: impl Fn(i32) -> bool) -> TopicList {
        let t = self.tables.read();
        TopicList {
            topic_list: t
                .topic_queue_table
                .iter()
                .filter(|(_, by_broker)| {
                    by_broker
                        .values()
                        .next()
                        .is_some_and(|qd| keep(qd.topic_sys_flag))
                })
                .map(|(topic, _)| topic.clone())
                .collect(),
            broker_addr: None,
        }
    }

    /// The data version last registered by a broker.
    pub fn query_broker_topic_config(
        &self,
        cluster: &str,
        broker_addr: &str,
    ) -> Option<DataVersion> {
        let key = BrokerAddrInfo::new(cluster, broker_addr);
        self.tables
            .read()
            .broker_live_table
            .get(&key)
            .map(|live| live.data_version.clone())
    }

    /// True when `version` differs from what the broker last registered (or it is unknown).
    pub fn is_broker_topic_config_changed(
        &self,
        cluster: &str,
        broker_addr: &str,
        version: &DataVersion,
    ) -> bool {
        self.query_broker_topic_config(cluster, broker_addr)
            .map(|prev| prev != *version)
            .unwrap_or(true)
    }

    /// Refreshes a live broker's last-seen time (BROKER_HEARTBEAT, QUERY_DATA_VERSION).
    pub fn update_broker_info_update_timestamp(&self, cluster: &str, broker_addr: &str) -> bool {
        let key = BrokerAddrInfo::new(cluster, broker_addr);
        match self.tables.write().broker_live_table.get_mut(&key) {
            Some(live) => {
                live.last_update = Instant::now();
                true
            }
            None => false,
        }
    }

    /// The ids and addresses of one broker group (GET_BROKER_MEMBER_GROUP).
    pub fn get_broker_member_group(&self, broker_name: &str) -> BTreeMap<i64, String> {
        self.tables
            .read()
            .broker_addr_table
            .get(broker_name)
            .map(|bd| bd.broker_addrs.clone())
            .unwrap_or_default()
    }

    /// How many brokers are live (registered and not expired).
    pub fn live_broker_count(&self) -> usize {
        self.tables.read().broker_live_table.len()
    }
}

/// Removes brokers from `t`; a broker name with no address left takes its queue data with it.
/// Returns the requests that removed something.
fn unregister_in<'a>(
    t: &mut RouteTables,
    requests: &'a [BrokerUnregistration],
) -> Vec<&'a BrokerUnregistration> {
    let mut removed = Vec::new();
    let mut removed_names = BTreeSet::new();
    let mut reduced_names = BTreeSet::new();
    for r in requests {
        let key = BrokerAddrInfo::new(&r.cluster_name, &r.broker_addr);
        let was_live = t.broker_live_table.remove(&key).is_some();
        t.filter_server_table.remove(&key);
        let mut remove_name = false;
        if let Some(bd) = t.broker_addr_table.get_mut(&r.broker_name) {
            bd.broker_addrs.retain(|_, addr| *addr != r.broker_addr);
            if bd.broker_addrs.is_empty() {
                t.broker_addr_table.remove(&r.broker_name);
                remove_name = true;
            }
        }
        if remove_name {
            if let Some(names) = t.cluster_addr_table.get_mut(&r.cluster_name) {
                names.remove(&r.broker_name);
                if names.is_empty() {
                    t.cluster_addr_table.remove(&r.cluster_name);
                }
            }
            removed_names.insert(r.broker_name.clone());
        } else {
            reduced_names.insert(r.broker_name.clone());
        }
        if was_live || remove_name {
            removed.push(r);
        }
    }
    t.topic_queue_table.retain(|_, by_broker| {
        for name in &removed_names {
            by_broker.remove(name);
        }
        !by_broker.is_empty()
    });
    // An acting-master group that lost its master keeps serving reads only.
    for name in &reduced_names {
        let no_master = t
            .broker_addr_table
            .get(name)
            .filter(|bd| bd.enable_acting_master)
            .is_some_and(|bd| {
                bd.broker_addrs
                    .keys()
                    .next()
                    .map(|id| *id > MASTER_ID)
                    .unwrap_or(true)
            });
        if no_master {
            for by_broker in t.topic_queue_table.values_mut() {
                if let Some(qd) = by_broker.get_mut(name) {
                    qd.perm &= !perm::WRITE;
                }
            }
        }
    }
    removed
}

fn unregistration_for(t: &RouteTables, key: &BrokerAddrInfo) -> Option<BrokerUnregistration> {
    t.broker_addr_table
        .values()
        .filter(|bd| bd.cluster == key.cluster_name)
        .find_map(|bd| {
            bd.broker_addrs
                .iter()
                .find(|(_, addr)| **addr == key.broker_addr)
                .map(|(id, _)| BrokerUnregistration {
                    cluster_name: key.cluster_name.clone(),
                    broker_addr: key.broker_addr.clone(),
                    broker_name: bd.broker_name.clone(),
                    broker_id: *id,
                })
        })
}

fn queue_data_of(broker_name: &str, config: &TopicConfig) -> QueueData {
    QueueData {
        broker_name: broker_name.to_string(),
        read_queue_nums: config.read_queue_nums,
        write_queue_nums: config.write_queue_nums,
        perm: config.perm,
        topic_sys_flag: config.topic_sys_flag,
    }
}

fn update_queue_data(
    table: &mut BTreeMap<String, BTreeMap<String, QueueData>>,
    topic: &str,
    qd: QueueData,
) {
    let by_broker = table.entry(topic.to_string()).or_default();
    match by_broker.get(&qd.broker_name) {
        Some(existing) if *existing == qd => {}
        Some(existing) => {
            tracing::debug!(topic, old = ?existing, new = ?qd, "topic changed");
            by_broker.insert(qd.broker_name.clone(), qd);
        }
        None => {
            tracing::debug!(topic, queue_data = ?qd, "topic registered");
            by_broker.insert(qd.broker_name.clone(), qd);
        }
    }
}

fn delete_missing_topics(
    table: &mut BTreeMap<String, BTreeMap<String, QueueData>>,
    broker_name: &str,
    current: &BTreeMap<String, TopicConfig>,
) {
    table.retain(|topic, by_broker| {
        if !current.contains_key(topic) {
            by_broker.remove(broker_name);
        }
        !by_broker.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A broker's topic table: the given topics plus two system topics every broker has.
    fn wrapper(topics: &[(&str, i32, i32)], counter: i64) -> TopicConfigSerializeWrapper {
        let mut w = TopicConfigSerializeWrapper::default();
        for (name, queues, p) in topics
            .iter()
            .chain([&("SELF_TEST_TOPIC", 1, 6), &("OFFSET_MOVED_EVENT", 1, 6)])
        {
            let mut c = TopicConfig::new(*name, *queues);
            c.perm = *p;
            w.topic_config_table.insert(name.to_string(), c);
        }
        w.data_version.counter = counter;
        w
    }

    fn reg(name: &str, id: i64, addr: &str, w: TopicConfigSerializeWrapper) -> BrokerRegistration {
        BrokerRegistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: addr.into(),
            broker_name: name.into(),
            broker_id: id,
            ha_server_addr: format!("{addr}-ha"),
            topic_config_wrapper: w,
            ..Default::default()
        }
    }

    fn manager() -> RouteInfoManager {
        RouteInfoManager::new(Duration::from_secs(120))
    }

    #[test]
    fn master_registration_creates_routes() {
        let m = manager();
        let w = wrapper(&[("TopicA", 4, 6), ("TBW102", 8, 7)], 1);
        assert_eq!(
            m.register_broker(reg("broker-a", 0, "10.0.0.1:10911", w)),
            Some(RegisterBrokerResult::default())
        );
        let route = m.pickup_topic_route_data("TopicA").unwrap();
        assert_eq!(route.queue_datas.len(), 1);
        assert_eq!(route.queue_datas[0].write_queue_nums, 4);
        assert_eq!(route.broker_datas[0].master_addr(), Some("10.0.0.1:10911"));
        assert_eq!(
            m.pickup_topic_route_data("TBW102").unwrap().queue_datas[0].perm,
            7
        );
        assert!(m.pickup_topic_route_data("Nope").is_none());
        let info = m.get_all_cluster_info();
        assert!(info.cluster_addr_table["DefaultCluster"].contains("broker-a"));
    }

    #[test]
    fn slave_topics_are_ignored_and_slave_learns_its_master() {
        let m = manager();
        m.register_broker(reg("broker-a", 0, "m:1", wrapper(&[("T", 4, 6)], 1)));
        let r = m
            .register_broker(reg(
                "broker-a",
                1,
                "s:1",
                wrapper(&[("T", 4, 6), ("OnlySlave", 2, 6)], 1),
            ))
            .unwrap();
        assert_eq!(r.master_addr.as_deref(), Some("m:1"));
        assert_eq!(r.ha_server_addr.as_deref(), Some("m:1-ha"));
        assert!(m.pickup_topic_route_data("OnlySlave").is_none());
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(route.broker_datas[0].broker_addrs.len(), 2);
    }

    #[test]
    fn changed_data_version_updates_queue_data() {
        let m = manager();
        m.register_broker(reg("b", 0, "a:1", wrapper(&[("T", 4, 6)], 1)));
        m.register_broker(reg("b", 0, "a:1", wrapper(&[("T", 8, 6)], 2)));
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].read_queue_nums,
            8
        );
    }

    #[test]
    fn unregister_removes_broker_topics_and_cluster() {
        let m = manager();
        m.register_broker(reg(
            "a",
            0,
            "a:1",
            wrapper(&[("T", 4, 6), ("OnlyA", 1, 6)], 1),
        ));
        m.register_broker(reg("b", 0, "b:1", wrapper(&[("T", 4, 6)], 1)));
        m.unregister_brokers(&[BrokerUnregistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: "a:1".into(),
            broker_name: "a".into(),
            broker_id: 0,
        }]);
        assert!(m.pickup_topic_route_data("OnlyA").is_none());
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(route.queue_datas.len(), 1);
        assert_eq!(route.queue_datas[0].broker_name, "b");
        m.unregister_brokers(&[BrokerUnregistration {
            cluster_name: "DefaultCluster".into(),
            broker_addr: "b:1".into(),
            broker_name: "b".into(),
            broker_id: 0,
        }]);
        assert!(m.get_all_cluster_info().cluster_addr_table.is_empty());
        assert!(m.get_all_topic_list().topic_list.is_empty());
    }

    #[test]
    fn expiry_uses_the_registered_timeout() {
        let m = manager();
        let mut r = reg("a", 0, "a:1", wrapper(&[("T", 4, 6)], 1));
        r.heartbeat_timeout_millis = Some(1_000);
        m.register_broker(r);
        m.register_broker(reg("b", 0, "b:1", wrapper(&[("T", 4, 6)], 1)));
        let now = Instant::now();
        m.scan_not_active_broker_at(now + Duration::from_millis(500));
        assert_eq!(m.live_broker_count(), 2);
        m.scan_not_active_broker_at(now + Duration::from_millis(1_500));
        assert_eq!(m.live_broker_count(), 1);
        let route = m.pickup_topic_route_data("T").unwrap();
        assert_eq!(route.broker_datas.len(), 1);
        assert_eq!(route.broker_datas[0].broker_name, "b");
        m.scan_not_active_broker_at(now + Duration::from_secs(121));
        assert!(m.pickup_topic_route_data("T").is_none());
    }

    #[test]
    fn heartbeat_refreshes_liveness() {
        let m = manager();
        let t0 = Instant::now();
        for (name, addr) in [("a", "a:1"), ("b", "b:1")] {
            let mut r = reg(name, 0, addr, wrapper(&[("T", 4, 6)], 1));
            r.heartbeat_timeout_millis = Some(200);
            m.register_broker(r);
        }
        std::thread::sleep(Duration::from_millis(250));
        assert!(m.update_broker_info_update_timestamp("DefaultCluster", "a:1"));
        assert!(!m.update_broker_info_update_timestamp("DefaultCluster", "zz:1"));
        m.scan_not_active_broker_at(t0 + Duration::from_millis(400));
        assert_eq!(
            m.live_broker_count(),
            1,
            "only the broker that sent a heartbeat survives"
        );
        assert_eq!(m.get_broker_member_group("a").len(), 1);
    }

    #[test]
    fn write_perm_wipe_and_add() {
        let m = manager();
        m.register_broker(reg("a", 0, "a:1", wrapper(&[("T", 4, 6), ("U", 4, 7)], 1)));
        assert_eq!(m.wipe_write_perm_of_broker("a"), 4);
        assert_eq!(
            m.pickup_topic_route_data("T").unwrap().queue_datas[0].perm,
            4
        );
        assert_eq!(
            m.pickup_topic_route_data("U").unwrap().queue_datas[0].perm,
            5
        );
        assert_eq!(m.add_write_perm_of_broker("a"), 4);
        assert_eq!(
            m.pickup_topic_route_data("U").unwrap().queue_datas[0].perm,
            6
        );
        assert_eq!(m.wipe_write_perm_of_broker("nobody"), 0);
    }

    #[test]
    fn topic_lists_and_deletion() {
        let m = manager();
        m.register_broker(reg("a", 0, "a:1", wrapper(&[("T", 4, 6)], 1)));
        let mut other = reg("c", 0, "c:1", wrapper(&[("T", 4, 6), ("X", 1, 6)], 1));
        other.cluster_name = "Other".into();
        m.register_broker(other);
        assert_eq!(m.get_topics_by_cluster("Other").topic_list.len(), 4);
        assert_eq!(
            m.get_topics_by_cluster("DefaultCluster").topic_list.len(),
            3
        );
        assert!(m.get_topics_by_cluster("None").topic_list.is_empty());
        let sys = m.get_system_topic_list();
        assert!(sys.topic_list.contains("DefaultCluster") && sys.topic_list.contains("c"));
        assert!(sys.broker_addr.is_some());
        m.delete_topic_in_cluster("T", "Other");
        assert_eq!(m.pickup_topic_route_data("T").unwrap().queue_datas.len(), 1);
        m.delete_topic("T");
        assert!(m.pickup_topic_route_data("T").is_none());
        assert!(m.get_unit_topics().topic_list.is_empty());
    }

    #[test]
    fn register_topic_requires_known_brokers() {
        let m = manager();
        let qd = QueueData {
            broker_name: "a".into(),
            read_queue_nums: 2,
            write_queue_nums: 2,
            perm: 6,
            topic_sys_flag: 0,
        };
        assert!(!m.register_topic("New", std::slice::from_ref(&qd)));
        m.register_broker(reg("a", 0, "a:1", wrapper(&[], 1)));
        assert!(m.register_topic("New", &[qd]));
        assert_eq!(
            m.pickup_topic_route_data("New").unwrap().queue_datas[0].read_queue_nums,
            2
        );
    }

    #[test]
    fn single_topic_registration_needs_a_registered_broker() {
        let m = manager();
        let mut single = TopicConfigSerializeWrapper::default();
        single
            .topic_config_table
            .insert("T".into(), TopicConfig::new("T", 4));
        assert_eq!(m.register_broker(reg("a", 0, "a:1", single.clone())), None);
        assert!(m
            .register_broker(reg("a", 0, "a:1", wrapper(&[], 1)))
            .is_some());
        single.data_version.counter = 2;
        assert!(m.register_broker(reg("a", 0, "a:1", single)).is_some());
        assert!(m.pickup_topic_route_data("T").is_some());
    }

    #[test]
    fn promoted_slave_moves_to_id_zero() {
        let m = manager();
        m.register_broker(reg("a", 1, "x:1", wrapper(&[], 1)));
        m.register_broker(reg("a", 0, "x:1", wrapper(&[("T", 1, 6)], 2)));
        let members = m.get_broker_member_group("a");
        assert_eq!(members.len(), 1);
        assert_eq!(members[&0], "x:1");
    }

    #[test]
    fn delete_topic_with_registration_drops_missing_topics() {
        let m = manager();
        m.set_delete_topic_with_broker_registration(true);
        m.register_broker(reg(
            "a",
            0,
            "a:1",
            wrapper(&[("T", 1, 6), ("Gone", 1, 6)], 1),
        ));
        m.register_broker(reg("a", 0, "a:1", wrapper(&[("T", 1, 6)], 2)));
        assert!(m.pickup_topic_route_data("Gone").is_none());
        assert!(m.pickup_topic_route_data("T").is_some());
    }
}
