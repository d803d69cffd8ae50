//! `ProducerManager`: producer groups and their live connections: remoting channels, and the
//! producers other transports serve ([`ProducerClient`]s, such as gRPC clients).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ferrocket_protocol::util::now_millis;
use ferrocket_remoting::Channel;
use parking_lot::RwLock;

use super::{ClientChannelInfo, ProducerChannel, ProducerClient};

/// One group's producers of other transports, by client id.
type GroupClients = BTreeMap<String, Arc<dyn ProducerClient>>;

/// Producer groups with at least one live connection.
#[derive(Default)]
pub struct ProducerManager {
    table: RwLock<HashMap<String, BTreeMap<u64, ClientChannelInfo>>>,
    /// Producers of other transports: group -> client id -> client.
    clients: RwLock<HashMap<String, GroupClients>>,
}

impl ProducerManager {
    /// An empty manager.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers or refreshes a producer connection.
    pub fn register_producer(&self, group: &str, info: ClientChannelInfo) {
        let mut table = self.table.write();
        let members = table.entry(group.to_string()).or_default();
        match members.get_mut(&info.channel.id()) {
            Some(existing) => existing.last_update_timestamp = now_millis(),
            None => {
                tracing::debug!(group, client = %info.client_id, "new producer connected");
                members.insert(info.channel.id(), info);
            }
        }
    }

    /// Removes a producer connection from a group.
    pub fn unregister_producer(&self, group: &str, channel: &Channel) {
        let mut table = self.table.write();
        if let Some(members) = table.get_mut(group) {
            members.remove(&channel.id());
            if members.is_empty() {
                table.remove(group);
            }
        }
    }

    /// Removes a closed channel from every group.
    pub fn do_channel_close_event(&self, channel: &Channel) {
        self.remove_matching(|c| c.channel == *channel);
    }

    /// Drops connections silent for more than `timeout_millis` and closes them.
    pub fn scan_not_active_channel(&self, timeout_millis: i64) {
        let now = now_millis();
        self.remove_matching(|c| {
            let expired = now - c.last_update_timestamp > timeout_millis;
            if expired {
                tracing::warn!(client = %c.client_id, remote = %c.channel.remote_addr(), "producer channel expired");
                c.channel.close();
            }
            expired
        });
    }

    fn remove_matching(&self, mut matches: impl FnMut(&ClientChannelInfo) -> bool) {
        self.table.write().retain(|_, members| {
            members.retain(|_, c| !matches(c));
            !members.is_empty()
        });
    }

    /// The group's connections.
    pub fn get_connections(&self, group: &str) -> Vec<ClientChannelInfo> {
        self.table
            .read()
            .get(group)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// A live channel of the group (transaction check-backs go there).
    pub fn get_available_channel(&self, group: &str) -> Option<Channel> {
        self.table
            .read()
            .get(group)?
            .values()
            .map(|c| c.channel.clone())
            .find(Channel::is_active)
    }

    /// A live producer of the group, remoting connections first (transaction check-backs go
    /// there).
    pub fn get_available_producer(&self, group: &str) -> Option<ProducerChannel> {
        if let Some(channel) = self.get_available_channel(group) {
            return Some(ProducerChannel::Remoting(channel));
        }
        self.clients
            .read()
            .get(group)?
            .values()
            .find(|c| c.is_active())
            .map(|c| ProducerChannel::Client(c.clone()))
    }

    /// Registers (or replaces) a producer of another transport as a member of `group`.
    pub fn register_client(&self, group: &str, client: Arc<dyn ProducerClient>) {
        let mut clients = self.clients.write();
        let members = clients.entry(group.to_string()).or_default();
        if members
            .insert(client.client_id().to_string(), client)
            .is_none()
        {
            tracing::debug!(group, "new producer client connected");
        }
    }

    /// Removes the producer client `client_id` from every group.
    pub fn unregister_client(&self, client_id: &str) {
        self.clients.write().retain(|_, members| {
            members.remove(client_id);
            !members.is_empty()
        });
    }

    /// The live connection of the producer client `client_id`, in any group (`findChannel`):
    /// where the broker pushes a reply for a request that client sent.
    pub fn find_channel(&self, client_id: &str) -> Option<Channel> {
        self.table
            .read()
            .values()
            .flat_map(|members| members.values())
            .find(|c| c.client_id == client_id && c.channel.is_active())
            .map(|c| c.channel.clone())
    }

    /// Names of the groups with live connections.
    pub fn group_names(&self) -> Vec<String> {
        self.table.read().keys().cloned().collect()
    }
}
