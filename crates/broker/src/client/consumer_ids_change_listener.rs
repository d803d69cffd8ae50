//! Tells consumers to rebalance when their group's membership changes
//! (`DefaultConsumerIdsChangeListener` + `Broker2Client.notifyConsumerIdsChanged`).

use ferrocket_protocol::code::request;
use ferrocket_protocol::header::client::NotifyConsumerIdsChangedRequestHeader;
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

/// Receives group membership changes.
pub trait ConsumerIdsChangeListener: Send + Sync {
    /// The members of `group` changed; `channels` are the members now.
    fn consumer_ids_changed(&self, group: &str, channels: Vec<Channel>);
}

/// Sends NOTIFY_CONSUMER_IDS_CHANGED (one-way) to every member.
pub struct DefaultConsumerIdsChangeListener {
    /// `notifyConsumerIdsChangedEnable`.
    pub enabled: bool,
}

impl ConsumerIdsChangeListener for DefaultConsumerIdsChangeListener {
    fn consumer_ids_changed(&self, group: &str, channels: Vec<Channel>) {
        if !self.enabled || channels.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut cmd = RemotingCommand::request(request::NOTIFY_CONSUMER_IDS_CHANGED);
        NotifyConsumerIdsChangedRequestHeader {
            consumer_group: group.to_string(),
        }
        .write_to(&mut cmd);
        let group = group.to_string();
        runtime.spawn(async move {
            for ch in channels {
                if let Err(e) = ch.send_oneway(cmd.clone()).await {
                    tracing::debug!(group = %group, remote = %ch.remote_addr(), error = %e, "notify consumer ids changed failed");
                }
            }
        });
    }
}
