//! Message lookups: QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33).

use super::command_custom_header::command_header;

command_header! {
    /// `ViewMessageRequestHeader`.
    pub struct ViewMessageRequestHeader {
        /// Commit-log offset of the message (from the offset msgId).
        offset: i64 = "offset",
        /// Topic, informational.
        topic: Option<String> = "topic",
    }
}

command_header! {
    /// `QueryMessageRequestHeader`.
    pub struct QueryMessageRequestHeader {
        /// Topic.
        topic: String = "topic",
        /// Message key or UNIQ_KEY.
        key: String = "key",
        /// At most this many messages.
        max_num: i32 = "maxNum",
        /// Earliest store time, ms.
        begin_timestamp: i64 = "beginTimestamp",
        /// Latest store time, ms.
        end_timestamp: i64 = "endTimestamp",
    }
}

command_header! {
    /// `QueryMessageResponseHeader`.
    pub struct QueryMessageResponseHeader {
        /// Store time of the newest indexed message.
        index_last_update_timestamp: i64 = "indexLastUpdateTimestamp",
        /// Commit-log offset of the newest indexed message.
        index_last_update_phyoffset: i64 = "indexLastUpdatePhyoffset",
    }
}

/// Ext key marking a QUERY_MESSAGE by UNIQ_KEY.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
