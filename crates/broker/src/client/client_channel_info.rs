//! `ClientChannelInfo`: one client's connection as a group member.

use ferrocket_protocol::LanguageCode;
use ferrocket_remoting::Channel;

/// A client connection registered by a heartbeat.
#[derive(Debug, Clone)]
pub struct ClientChannelInfo {
    /// The connection.
    pub channel: Channel,
    /// `ip@instance`.
    pub client_id: String,
    /// Client language, from the heartbeat command.
    pub language: LanguageCode,
    /// Client version ordinal, from the heartbeat command.
    pub version: i32,
    /// Last heartbeat, ms.
    pub last_update_timestamp: i64,
}

impl ClientChannelInfo {
    /// A member seen now.
    pub fn new(
        channel: Channel,
        client_id: impl Into<String>,
        language: LanguageCode,
        version: i32,
    ) -> Self {
        ClientChannelInfo {
            channel,
            client_id: client_id.into(),
            language,
            version,
            last_update_timestamp: ferrocket_protocol::util::now_millis(),
        }
    }
}
