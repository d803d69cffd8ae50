//! `ResetOffsetBody` (INVOKE_BROKER_TO_RESET_OFFSET's answer, RESET_CONSUMER_CLIENT_OFFSET's body).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::queue::MessageQueue;

/// The offset each queue was reset to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ResetOffsetBody {
    /// New offset per queue.
    #[serde(with = "super::message_queue_map")]
    pub offset_table: BTreeMap<MessageQueue, i64>,
}
