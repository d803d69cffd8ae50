//! `ConsumerGroupInfo`: the live members of one consumer group and their subscriptions.

use std::collections::{BTreeMap, HashMap};

use ferrocket_protocol::body::heartbeat::{
    ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData,
};
use ferrocket_protocol::util::now_millis;
use ferrocket_remoting::Channel;

use super::ClientChannelInfo;

/// One consumer group as its members describe it in heartbeats.
#[derive(Debug, Clone)]
pub struct ConsumerGroupInfo {
    /// Group name.
    pub group_name: String,
    /// Members by channel id (ordered by connection age).
    pub channel_info_table: BTreeMap<u64, ClientChannelInfo>,
    /// Subscriptions by topic (the latest heartbeat wins, as in RocketMQ).
    pub subscription_table: HashMap<String, SubscriptionData>,
    /// Push or pull.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Where a new member starts.
    pub consume_from_where: ConsumeFromWhere,
    /// Last heartbeat of any member, ms.
    pub last_update_timestamp: i64,
}

impl ConsumerGroupInfo {
    /// An empty group.
    pub fn new(
        group_name: impl Into<String>,
        consume_type: ConsumeType,
        message_model: MessageModel,
        consume_from_where: ConsumeFromWhere,
    ) -> Self {
        ConsumerGroupInfo {
            group_name: group_name.into(),
            channel_info_table: BTreeMap::new(),
            subscription_table: HashMap::new(),
            consume_type,
            message_model,
            consume_from_where,
            last_update_timestamp: now_millis(),
        }
    }

    /// Adds or refreshes a member; true when the channel is new to the group.
    pub fn update_channel(
        &mut self,
        info: ClientChannelInfo,
        consume_type: ConsumeType,
        message_model: MessageModel,
        consume_from_where: ConsumeFromWhere,
    ) -> bool {
        self.consume_type = consume_type;
        self.message_model = message_model;
        self.consume_from_where = consume_from_where;
        let now = now_millis();
        self.last_update_timestamp = now;
        match self.channel_info_table.get_mut(&info.channel.id()) {
            Some(existing) => {
                if existing.client_id != info.client_id {
                    tracing::warn!(
                        group = %self.group_name,
                        old = %existing.client_id,
                        new = %info.client_id,
                        "a channel changed its client id"
                    );
                    *existing = info;
                }
                existing.last_update_timestamp = now;
                false
            }
            None => {
                tracing::info!(group = %self.group_name, client = %info.client_id, remote = %info.channel.remote_addr(), "new consumer connected");
                self.channel_info_table.insert(info.channel.id(), info);
                true
            }
        }
    }

    /// Replaces the subscription set; true when a topic was added or removed.
    pub fn update_subscription(&mut self, subs: Vec<SubscriptionData>) -> bool {
        let mut changed = false;
        let mut topics = std::collections::HashSet::with_capacity(subs.len());
        for sub in subs {
            topics.insert(sub.topic.clone());
            match self.subscription_table.get(&sub.topic) {
                None => {
                    changed = true;
                    self.subscription_table.insert(sub.topic.clone(), sub);
                }
                Some(old) if sub.sub_version > old.sub_version => {
                    self.subscription_table.insert(sub.topic.clone(), sub);
                }
                Some(_) => {}
            }
        }
        let before = self.subscription_table.len();
        self.subscription_table.retain(|t, _| topics.contains(t));
        changed || self.subscription_table.len() != before
    }

    /// Removes a member; true if it was there.
    pub fn unregister_channel(&mut self, channel: &Channel) -> bool {
        self.channel_info_table.remove(&channel.id()).is_some()
    }

    /// Every member's channel.
    pub fn all_channels(&self) -> Vec<Channel> {
        self.channel_info_table
            .values()
            .map(|c| c.channel.clone())
            .collect()
    }

    /// Every member's client id.
    pub fn all_client_ids(&self) -> Vec<String> {
        self.channel_info_table
            .values()
            .map(|c| c.client_id.clone())
            .collect()
    }
}
