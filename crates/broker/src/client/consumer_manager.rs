//! `ConsumerManager`: consumer groups and their live members.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData,
};
use ferrocket_protocol::util::now_millis;
use ferrocket_remoting::Channel;
use parking_lot::RwLock;

use super::consumer_ids_change_listener::ConsumerIdsChangeListener;
use super::{ClientChannelInfo, ConsumerChannel, ConsumerClient, ConsumerGroupInfo};

/// One group's consumers of other transports, by client id.
type GroupClients = HashMap<String, Arc<dyn ConsumerClient>>;

/// Consumer groups with at least one live member.
pub struct ConsumerManager {
    table: RwLock<HashMap<String, ConsumerGroupInfo>>,
    listener: Arc<dyn ConsumerIdsChangeListener>,
    /// Consumers of other transports, reached for admin requests only:
    /// group -> client id -> client.
    clients: RwLock<HashMap<String, GroupClients>>,
}

/// What one heartbeat says about a consumer group member.
pub struct ConsumerRegistration {
    /// Group name.
    pub group: String,
    /// The member.
    pub client: ClientChannelInfo,
    /// Push or pull.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where a new member starts.
    pub consume_from_where: ConsumeFromWhere,
    /// The member's subscriptions.
    pub subscriptions: Vec<SubscriptionData>,
}

impl ConsumerManager {
    /// An empty manager reporting membership changes to `listener`.
    pub fn new(listener: Arc<dyn ConsumerIdsChangeListener>) -> Self {
        ConsumerManager {
            table: RwLock::new(HashMap::new()),
            listener,
            clients: RwLock::new(HashMap::new()),
        }
    }

    /// Registers a consumer of another transport as a member of `group` (replacing an earlier
    /// registration of the same client id there).
    pub fn register_client(&self, group: &str, client: Arc<dyn ConsumerClient>) {
        self.clients
            .write()
            .entry(group.to_string())
            .or_default()
            .insert(client.client_id().to_string(), client);
    }

    /// Forgets a consumer of another transport in every group.
    pub fn unregister_client(&self, client_id: &str) {
        self.clients.write().retain(|_, members| {
            members.remove(client_id);
            !members.is_empty()
        });
    }

    /// How to reach `client_id` of `group`: its remoting connection, else a live client of
    /// another transport.
    pub fn find_channel(&self, group: &str, client_id: &str) -> Option<ConsumerChannel> {
        let remoting = self.table.read().get(group).and_then(|g| {
            g.channel_info_table
                .values()
                .find(|c| c.client_id == client_id)
                .cloned()
        });
        if let Some(info) = remoting {
            return Some(ConsumerChannel::Remoting(info));
        }
        self.clients
            .read()
            .get(group)
            .and_then(|members| members.get(client_id))
            .filter(|c| c.is_active())
            .map(|c| ConsumerChannel::Client(c.clone()))
    }

    /// Registers or refreshes a member. When a new channel joined or the subscribed topics
    /// changed, clustering groups with `notify` are told to rebalance. Returns whether anything
    /// changed.
    pub fn register_consumer(&self, reg: ConsumerRegistration, notify: bool) -> bool {
        let (changed, channels, model) = {
            let mut table = self.table.write();
            let info = table.entry(reg.group.clone()).or_insert_with(|| {
                ConsumerGroupInfo::new(
                    &reg.group,
                    reg.consume_type,
                    reg.message_model,
                    reg.consume_from_where,
                )
            });
            let new_channel = info.update_channel(
                reg.client,
                reg.consume_type,
                reg.message_model,
                reg.consume_from_where,
            );
            let new_subs = info.update_subscription(reg.subscriptions);
            (
                new_channel || new_subs,
                info.all_channels(),
                info.message_model,
            )
        };
        if changed && notify && model == MessageModel::Clustering {
            self.listener.consumer_ids_changed(&reg.group, channels);
        }
        changed
    }

    /// Removes a member (UNREGISTER_CLIENT); remaining clustering members are told to rebalance.
    pub fn unregister_consumer(&self, group: &str, channel: &Channel, notify: bool) -> bool {
        let (removed, remaining, model) = {
            let mut table = self.table.write();
            let Some(info) = table.get_mut(group) else {
                return false;
            };
            let removed = info.unregister_channel(channel);
            let remaining = info.all_channels();
            let model = info.message_model;
            if info.channel_info_table.is_empty() {
                table.remove(group);
                tracing::info!(group, "consumer group has no member left");
            }
            (removed, remaining, model)
        };
        if removed && notify && model == MessageModel::Clustering {
            self.listener.consumer_ids_changed(group, remaining);
        }
        removed
    }

    /// Removes a closed channel from every group and notifies the remaining members.
    pub fn do_channel_close_event(&self, channel: &Channel) {
        for (group, remaining) in self.remove_channel_everywhere(|c| c.channel == *channel) {
            self.listener.consumer_ids_changed(&group, remaining);
        }
    }

    /// Drops members silent for more than `timeout_millis`, closes their connections and
    /// notifies the remaining members.
    pub fn scan_not_active_channel(&self, timeout_millis: i64) {
        let now = now_millis();
        let removed = self.remove_channel_everywhere(|c| {
            let expired = now - c.last_update_timestamp > timeout_millis;
            if expired {
                tracing::warn!(client = %c.client_id, remote = %c.channel.remote_addr(), "consumer channel expired");
                c.channel.close();
            }
            expired
        });
        for (group, remaining) in removed {
            self.listener.consumer_ids_changed(&group, remaining);
        }
    }

    /// Removes matching members; returns the clustering groups that lost one, with the members
    /// left (groups left empty are dropped and not reported).
    fn remove_channel_everywhere(
        &self,
        mut matches: impl FnMut(&ClientChannelInfo) -> bool,
    ) -> Vec<(String, Vec<Channel>)> {
        let mut changed = Vec::new();
        let mut table = self.table.write();
        table.retain(|group, info| {
            let before = info.channel_info_table.len();
            info.channel_info_table.retain(|_, c| !matches(c));
            if info.channel_info_table.len() == before {
                return true;
            }
            if info.channel_info_table.is_empty() {
                tracing::info!(group = %group, "consumer group has no member left");
                return false;
            }
            if info.message_model == MessageModel::Clustering {
                changed.push((group.clone(), info.all_channels()));
            }
            true
        });
        changed
    }

    /// A copy of the group's state.
    pub fn get_consumer_group_info(&self, group: &str) -> Option<ConsumerGroupInfo> {
        self.table.read().get(group).cloned()
    }

    /// For a pull: `None` when the group has no live member, else the group's message model and
    /// its subscription to `topic` (if any), without copying the rest of the group.
    pub fn pull_subscription(
        &self,
        group: &str,
        topic: &str,
    ) -> Option<(MessageModel, Option<SubscriptionData>)> {
        self.table
            .read()
            .get(group)
            .map(|g| (g.message_model, g.subscription_table.get(topic).cloned()))
    }

    /// A pull from `client`, a live member of `group`, says its subscription to `topic` is at
    /// `version`, newer than the one its last heartbeat registered. The Java client raises the
    /// version when a rebalance changes its queues and then sends a heartbeat, but it skips that
    /// heartbeat when another one holds its heartbeat lock (the periodic one fires one second
    /// after start, as does the first rebalance); the broker would then refuse every pull with
    /// SUBSCRIPTION_NOT_LATEST until the next periodic heartbeat, 30 s later. A tag subscription
    /// is taken at the pull's version (keeping its expression); the member's next heartbeat
    /// replaces it as usual. Returns the subscription to serve with, or `None` when the pull is
    /// not from a member or the subscription is not a tag one (SQL92 keeps its strict check).
    pub fn adopt_newer_sub_version(
        &self,
        group: &str,
        topic: &str,
        client: SocketAddr,
        version: i64,
    ) -> Option<SubscriptionData> {
        let mut table = self.table.write();
        let info = table.get_mut(group)?;
        let is_member = info
            .channel_info_table
            .values()
            .any(|c| c.channel.remote_addr() == client);
        let sub = info.subscription_table.get_mut(topic)?;
        if !is_member || !ferrocket_filter::is_tag_type(Some(&sub.expression_type)) {
            return None;
        }
        if sub.sub_version < version {
            tracing::info!(group, topic, old = sub.sub_version, new = version, %client, "subscription version taken from a pull that overtook its heartbeat");
            sub.sub_version = version;
        }
        Some(sub.clone())
    }

    /// The group's subscription to `topic`, from the members' heartbeats.
    pub fn find_subscription_data(&self, group: &str, topic: &str) -> Option<SubscriptionData> {
        self.table
            .read()
            .get(group)
            .and_then(|g| g.subscription_table.get(topic).cloned())
    }

    /// Client ids of the group's members.
    pub fn client_ids(&self, group: &str) -> Vec<String> {
        self.table
            .read()
            .get(group)
            .map(ConsumerGroupInfo::all_client_ids)
            .unwrap_or_default()
    }

    /// Groups with a member subscribed to `topic`.
    pub fn query_topic_consume_by_who(&self, topic: &str) -> Vec<String> {
        self.table
            .read()
            .iter()
            .filter(|(_, g)| g.subscription_table.contains_key(topic))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Names of the groups with live members.
    pub fn group_names(&self) -> Vec<String> {
        self.table.read().keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, usize)>>);

    impl ConsumerIdsChangeListener for Recorder {
        fn consumer_ids_changed(&self, group: &str, channels: Vec<Channel>) {
            self.0.lock().push((group.to_string(), channels.len()));
        }
    }

    #[test]
    fn empty_table_answers_nothing() {
        let m = ConsumerManager::new(Arc::new(Recorder::default()));
        assert!(m.client_ids("g").is_empty());
        assert!(m.find_subscription_data("g", "T").is_none());
        assert!(m.group_names().is_empty());
    }
}
