//! `ClientInstance` (RocketMQ's `MQClientInstance`): the routes, broker addresses, heartbeats and
//! broker-initiated requests shared by the producers and consumers of one client id.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ferrocket_protocol::body::heartbeat::{ConsumerData, HeartbeatData, ProducerData};
use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::code::request;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{Channel, ClientRequestHandler};
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::api::MQClientApi;
use crate::config::ClientConfig;
use crate::error::{ClientError, Result};
use crate::message::unique_id::UniqueIdGenerator;
use crate::route::{default_topic_route, subscribe_queues, TopicPublishInfo};

/// The template topic producers fall back to for topics the name server does not know.
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";
/// The producer group every Java client instance registers for its internal sends.
pub const CLIENT_INNER_PRODUCER_GROUP: &str = "CLIENT_INNER_PRODUCER";

/// One run of a periodic task.
type PeriodicTask = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Shared client state of one client id.
pub struct ClientInstance {
    config: ClientConfig,
    client_id: String,
    client_ip: IpAddr,
    api: MQClientApi,
    unique_ids: UniqueIdGenerator,
    route_table: RwLock<HashMap<String, TopicRouteData>>,
    publish_table: RwLock<HashMap<String, Arc<TopicPublishInfo>>>,
    broker_addr_table: RwLock<HashMap<String, BTreeMap<i64, String>>>,
    producer_groups: Mutex<BTreeSet<String>>,
    consumer_table: Mutex<HashMap<String, ConsumerData>>,
    rebalance_notify: Arc<Notify>,
    /// One route fetch per topic at a time (many concurrent first sends to a topic ask the name
    /// server once), while first sends to different topics fetch in parallel.
    route_fetch: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for ClientInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientInstance")
            .field("client_id", &self.client_id)
            .finish()
    }
}

fn request_handler(rebalance: Arc<Notify>) -> ClientRequestHandler {
    Arc::new(move |_ch: Channel, req: RemotingCommand| {
        let rebalance = rebalance.clone();
        Box::pin(async move {
            match req.code {
                request::NOTIFY_CONSUMER_IDS_CHANGED => {
                    tracing::debug!(
                        group = req.ext("consumerGroup").unwrap_or(""),
                        "consumer ids changed"
                    );
                    rebalance.notify_one();
                    None
                }
                _ if req.is_oneway() => None,
                _ => Some(ferrocket_remoting::unsupported_request(&req)),
            }
        })
    })
}

impl ClientInstance {
    /// Creates an instance and starts its route-refresh and heartbeat tasks.
    pub async fn start(config: ClientConfig) -> Result<Arc<ClientInstance>> {
        let namesrv = config.namesrv_list();
        if namesrv.is_empty() {
            return Err(ClientError::NoNameServer);
        }
        let rebalance_notify = Arc::new(Notify::new());
        let api = MQClientApi::new(
            namesrv.clone(),
            config.serialize_type,
            request_handler(rebalance_notify.clone()),
        )
        .with_credentials(config.credentials.clone())
        .with_tls(config.use_tls)?;
        let client_ip = match config.client_ip {
            Some(ip) => ip,
            None => Self::local_ip_towards(&api, &namesrv).await,
        };
        let client_id = format!("{}@{}", client_ip, config.resolved_instance_name());
        let instance = Arc::new(ClientInstance {
            unique_ids: UniqueIdGenerator::new(client_ip, rand::random(), rand::random()),
            config,
            client_id,
            client_ip,
            api,
            route_table: RwLock::new(HashMap::new()),
            publish_table: RwLock::new(HashMap::new()),
            broker_addr_table: RwLock::new(HashMap::new()),
            producer_groups: Mutex::new(BTreeSet::new()),
            consumer_table: Mutex::new(HashMap::new()),
            rebalance_notify,
            route_fetch: Mutex::new(HashMap::new()),
            shutdown: CancellationToken::new(),
        });
        Self::spawn_periodic(
            &instance,
            Duration::from_millis(10),
            instance.config.poll_name_server_interval,
            |i| Box::pin(async move { i.update_all_topic_routes().await }),
        );
        Self::spawn_periodic(
            &instance,
            Duration::from_secs(1),
            instance.config.heartbeat_broker_interval,
            |i| Box::pin(async move { i.send_heartbeat_to_all_brokers().await }),
        );
        Ok(instance)
    }

    /// The address this host uses to reach the name server (what Java's client id shows).
    async fn local_ip_towards(api: &MQClientApi, namesrv: &[String]) -> IpAddr {
        for addr in namesrv {
            if let Ok(ch) = api.channel(addr).await {
                return ch.local_addr().ip();
            }
        }
        tracing::warn!("no name server reachable yet; using 127.0.0.1 in the client id");
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    fn spawn_periodic(
        instance: &Arc<ClientInstance>,
        first: Duration,
        period: Duration,
        task: fn(Arc<ClientInstance>) -> PeriodicTask,
    ) {
        let weak: Weak<ClientInstance> = Arc::downgrade(instance);
        let stop = instance.shutdown.clone();
        tokio::spawn(async move {
            let mut wait = first;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                let Some(i) = weak.upgrade() else { return };
                task(i).await;
                wait = period;
            }
        });
    }

    /// The client id, `ip@instanceName`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client IP used in ids.
    pub fn client_ip(&self) -> IpAddr {
        self.client_ip
    }

    /// The remote calls.
    pub fn api(&self) -> &MQClientApi {
        &self.api
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The UNIQ_KEY generator.
    pub fn unique_ids(&self) -> &UniqueIdGenerator {
        &self.unique_ids
    }

    /// Woken when a broker reports that the consumers of a group changed.
    pub fn rebalance_notify(&self) -> Arc<Notify> {
        self.rebalance_notify.clone()
    }

    /// Cancelled when the instance shuts down.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Adds a producer group to the heartbeat.
    pub fn register_producer(&self, group: &str) {
        self.producer_groups.lock().insert(group.to_string());
    }

    /// Adds or replaces a consumer group in the heartbeat.
    pub fn register_consumer(&self, data: ConsumerData) {
        self.consumer_table
            .lock()
            .insert(data.group_name.clone(), data);
    }

    /// The heartbeat body.
    pub fn heartbeat_data(&self) -> HeartbeatData {
        let mut producers: Vec<ProducerData> = self
            .producer_groups
            .lock()
            .iter()
            .map(|g| ProducerData {
                group_name: g.clone(),
            })
            .collect();
        producers.push(ProducerData {
            group_name: CLIENT_INNER_PRODUCER_GROUP.to_string(),
        });
        HeartbeatData {
            client_id: self.client_id.clone(),
            producer_data_set: producers,
            consumer_data_set: self.consumer_table.lock().values().cloned().collect(),
            heartbeat_fingerprint: 0,
            without_sub: false,
        }
    }

    /// Every known broker address (masters only when there is no consumer).
    fn heartbeat_targets(&self) -> Vec<String> {
        let masters_only = self.consumer_table.lock().is_empty();
        let table = self.broker_addr_table.read();
        let mut addrs: Vec<String> = table
            .values()
            .flat_map(|m| m.iter())
            .filter(|(id, _)| !masters_only || **id == 0)
            .map(|(_, a)| a.clone())
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    }

    /// Sends HEART_BEAT to every known broker (`sendHeartbeatToAllBrokerWithLock`).
    pub async fn send_heartbeat_to_all_brokers(&self) {
        let data = self.heartbeat_data();
        for addr in self.heartbeat_targets() {
            if let Err(e) = self
                .api
                .send_heartbeat(&addr, &data, self.config.api_timeout)
                .await
            {
                tracing::warn!(broker = %addr, error = %e, "heartbeat failed");
            }
        }
    }

    /// Sends UNREGISTER_CLIENT for a group to every known master.
    pub async fn unregister_client(
        &self,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
    ) {
        if let Some(g) = producer_group {
            self.producer_groups.lock().remove(g);
        }
        if let Some(g) = consumer_group {
            self.consumer_table.lock().remove(g);
        }
        let masters: Vec<String> = self
            .broker_addr_table
            .read()
            .values()
            .filter_map(|m| m.get(&0).cloned())
            .collect();
        for addr in masters {
            if let Err(e) = self
                .api
                .unregister_client(
                    &addr,
                    &self.client_id,
                    producer_group,
                    consumer_group,
                    self.config.api_timeout,
                )
                .await
            {
                tracing::warn!(broker = %addr, error = %e, "unregister client failed");
            }
        }
    }

    /// Stops the periodic tasks and closes every connection.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.api.close().await;
    }

    fn store_route(&self, topic: &str, route: TopicRouteData, publish: TopicPublishInfo) {
        {
            let mut brokers = self.broker_addr_table.write();
            for bd in &route.broker_datas {
                brokers.insert(bd.broker_name.clone(), bd.broker_addrs.clone());
            }
        }
        self.publish_table
            .write()
            .insert(topic.to_string(), Arc::new(publish));
        self.route_table.write().insert(topic.to_string(), route);
    }

    /// Fetches `topic`'s route from the name server and records it if it changed.
    /// Returns false when the name server has no route.
    pub async fn update_topic_route(&self, topic: &str) -> Result<bool> {
        let Some(route) = self
            .api
            .get_topic_route(topic, self.config.api_timeout)
            .await?
        else {
            return Ok(false);
        };
        let changed = self.route_table.read().get(topic) != Some(&route);
        if changed {
            tracing::debug!(topic, "topic route changed");
            let publish = TopicPublishInfo::from_route(topic, &route);
            self.store_route(topic, route, publish);
        }
        Ok(true)
    }

    async fn update_all_topic_routes(&self) {
        let topics: Vec<String> = {
            let mut t: BTreeSet<String> = self.route_table.read().keys().cloned().collect();
            for c in self.consumer_table.lock().values() {
                t.extend(c.subscription_data_set.iter().map(|s| s.topic.clone()));
            }
            t.into_iter().collect()
        };
        let brokers_before = self.heartbeat_targets();
        for topic in topics {
            if let Err(e) = self.update_topic_route(&topic).await {
                tracing::debug!(topic, error = %e, "route refresh failed");
            }
        }
        // a broker seen for the first time (e.g. a subscribed topic that now exists) learns
        // about this client at once, and consumers rebalance without waiting for their period
        if self
            .heartbeat_targets()
            .iter()
            .any(|a| !brokers_before.contains(a))
        {
            self.send_heartbeat_to_all_brokers().await;
            self.rebalance_notify.notify_one();
        }
    }

    /// The queues a producer may write for `topic`, fetching the route (or TBW102's) if needed.
    pub async fn publish_info(
        &self,
        topic: &str,
        default_topic_queue_nums: i32,
    ) -> Result<Arc<TopicPublishInfo>> {
        if let Some(p) = self.publish_table.read().get(topic) {
            if p.ok() {
                return Ok(p.clone());
            }
        }
        let fetch = self
            .route_fetch
            .lock()
            .entry(topic.to_string())
            .or_default()
            .clone();
        let result = {
            let _guard = fetch.lock().await;
            self.fetch_publish_info(topic, default_topic_queue_nums)
                .await
        };
        let mut fetches = self.route_fetch.lock();
        // the map's entry and ours: nobody else waits for this topic's fetch
        if Arc::strong_count(&fetch) <= 2 {
            fetches.remove(topic);
        }
        result
    }

    /// `publish_info`'s fetch, run by one caller per topic at a time.
    async fn fetch_publish_info(
        &self,
        topic: &str,
        default_topic_queue_nums: i32,
    ) -> Result<Arc<TopicPublishInfo>> {
        if let Some(p) = self.publish_table.read().get(topic) {
            if p.ok() {
                return Ok(p.clone());
            }
        }
        if !self.update_topic_route(topic).await? {
            let Some(tbw) = self
                .api
                .get_topic_route(AUTO_CREATE_TOPIC_KEY, self.config.api_timeout)
                .await?
            else {
                return Err(ClientError::NoRoute(topic.to_string()));
            };
            let route = default_topic_route(tbw, default_topic_queue_nums);
            let publish = TopicPublishInfo::from_route(topic, &route);
            // the route stays keyed by the real topic so the periodic refresh picks it up
            // once the broker has created it
            self.store_route(topic, route, publish);
        }
        match self.publish_table.read().get(topic) {
            Some(p) if p.ok() => Ok(p.clone()),
            _ => Err(ClientError::NoRoute(topic.to_string())),
        }
    }

    /// The readable queues of `topic`, fetching the route if it is not known yet.
    pub async fn subscribe_queues(&self, topic: &str) -> Result<BTreeSet<MessageQueue>> {
        let known = self
            .route_table
            .read()
            .get(topic)
            .map(|r| subscribe_queues(topic, r));
        if let Some(q) = known {
            return Ok(q);
        }
        if !self.update_topic_route(topic).await? {
            return Err(ClientError::NoRoute(topic.to_string()));
        }
        Ok(self
            .route_table
            .read()
            .get(topic)
            .map(|r| subscribe_queues(topic, r))
            .unwrap_or_default())
    }

    /// The broker of `broker_name` to read from (`findBrokerAddressInSubscribe`): `broker_id`
    /// if it is in the route, else for a slave id the next one, else (unless
    /// `only_this_broker`) the lowest id there is — so reads go to a slave while the master is
    /// out of the route.
    pub fn find_broker_address_in_subscribe(
        &self,
        broker_name: &str,
        broker_id: i64,
        only_this_broker: bool,
    ) -> Option<FindBrokerResult> {
        let table = self.broker_addr_table.read();
        let addrs = table.get(broker_name)?;
        let found = |id: i64| addrs.get(&id).map(|a| (id, a));
        let mut hit = found(broker_id);
        if hit.is_none() && broker_id != MASTER_ID {
            hit = found(broker_id + 1);
        }
        if hit.is_none() && !only_this_broker {
            hit = addrs.iter().next().map(|(id, a)| (*id, a));
        }
        hit.map(|(id, addr)| FindBrokerResult {
            addr: addr.clone(),
            slave: id != MASTER_ID,
        })
    }

    /// [`Self::find_broker_address_in_subscribe`], refreshing `topic`'s route once if nothing
    /// is found.
    pub async fn find_broker_in_subscribe_or_refresh(
        &self,
        broker_name: &str,
        topic: &str,
        broker_id: i64,
        only_this_broker: bool,
    ) -> Result<FindBrokerResult> {
        if let Some(r) =
            self.find_broker_address_in_subscribe(broker_name, broker_id, only_this_broker)
        {
            return Ok(r);
        }
        let _ = self.update_topic_route(topic).await;
        self.find_broker_address_in_subscribe(broker_name, broker_id, only_this_broker)
            .ok_or_else(|| ClientError::BrokerNotFound(broker_name.to_string()))
    }

    /// The master address of `broker_name`, if known.
    pub fn find_broker_master(&self, broker_name: &str) -> Option<String> {
        self.broker_addr_table
            .read()
            .get(broker_name)
            .and_then(|m| m.get(&0).cloned())
    }

    /// The master address of `broker_name`, refreshing `topic`'s route once if unknown.
    pub async fn find_broker_master_or_refresh(
        &self,
        broker_name: &str,
        topic: &str,
    ) -> Result<String> {
        if let Some(a) = self.find_broker_master(broker_name) {
            return Ok(a);
        }
        let _ = self.update_topic_route(topic).await;
        self.find_broker_master(broker_name)
            .ok_or_else(|| ClientError::BrokerNotFound(broker_name.to_string()))
    }

    /// Some broker serving `topic` (for GET_CONSUMER_LIST_BY_GROUP), chosen at random: a
    /// group's master, or one of its slaves while the master is away (`selectBrokerAddr`).
    pub fn find_broker_of_topic(&self, topic: &str) -> Option<String> {
        let routes = self.route_table.read();
        let route = routes.get(topic)?;
        let masters: Vec<&str> = route
            .broker_datas
            .iter()
            .filter_map(|b| {
                b.master_addr()
                    .or_else(|| b.broker_addrs.values().next().map(String::as_str))
            })
            .collect();
        if masters.is_empty() {
            return None;
        }
        Some(masters[rand::random::<usize>() % masters.len()].to_string())
    }
}

/// `brokerId` of a master.
pub const MASTER_ID: i64 = 0;

/// A broker chosen by [`ClientInstance::find_broker_address_in_subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindBrokerResult {
    /// Its address.
    pub addr: String,
    /// True for a slave (offsets are not committed through pulls to it).
    pub slave: bool,
}
