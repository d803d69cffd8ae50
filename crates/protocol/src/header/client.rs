//! Client management headers: UNREGISTER_CLIENT (35), GET_CONSUMER_LIST_BY_GROUP (38) and
//! NOTIFY_CONSUMER_IDS_CHANGED (40).

use super::command_custom_header::command_header;

command_header! {
    /// `UnregisterClientRequestHeader`.
    pub struct UnregisterClientRequestHeader {
        /// The client id (`ip@instance`).
        client_id: String = "clientID",
        /// Producer group leaving, if any.
        producer_group: Option<String> = "producerGroup",
        /// Consumer group leaving, if any.
        consumer_group: Option<String> = "consumerGroup",
    }
}

command_header! {
    /// `GetConsumerListByGroupRequestHeader`.
    pub struct GetConsumerListByGroupRequestHeader {
        /// Consumer group.
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// `NotifyConsumerIdsChangedRequestHeader`: sent one-way by the broker.
    pub struct NotifyConsumerIdsChangedRequestHeader {
        /// The group whose members changed.
        consumer_group: String = "consumerGroup",
    }
}

command_header! {
    /// `HeartbeatRequestHeader` (5.x; carries only RPC keys, 4.x sends none).
    pub struct HeartbeatRequestHeader {
        /// Target broker name.
        broker_name: Option<String> = "bname",
    }
}

/// Ext key of the heartbeat response: the broker accepts fingerprinted (V2) heartbeats.
pub const IS_SUPPORT_HEART_BEAT_V2: &str = "IS_SUPPORT_HEART_BEAT_V2";

/// Ext key of the heartbeat response: the subscriptions changed.
pub const IS_SUB_CHANGE: &str = "IS_SUB_CHANGE";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::CommandCustomHeader;
    use crate::RemotingCommand;

    #[test]
    fn unregister_uses_upper_case_id_key() {
        let cmd = RemotingCommand::request(35)
            .with_ext("clientID", "1.2.3.4@x")
            .with_ext("consumerGroup", "g");
        let h = UnregisterClientRequestHeader::decode(&cmd).unwrap();
        assert_eq!(h.client_id, "1.2.3.4@x");
        assert_eq!(h.producer_group, None);
        assert_eq!(h.consumer_group.as_deref(), Some("g"));
    }
}
