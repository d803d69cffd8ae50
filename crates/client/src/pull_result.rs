//! `PullResult`: what one PULL_MESSAGE returned.

use crate::message::MessageExt;

/// Outcome of a pull (`PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were returned.
    Found,
    /// Nothing new at this offset (19).
    NoNewMsg,
    /// Messages existed but none matched the filter (20).
    NoMatchedMsg,
    /// The offset was illegal; continue from `next_begin_offset` (21).
    OffsetIllegal,
}

impl std::fmt::Display for PullStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PullStatus::Found => "FOUND",
            PullStatus::NoNewMsg => "NO_NEW_MSG",
            PullStatus::NoMatchedMsg => "NO_MATCHED_MSG",
            PullStatus::OffsetIllegal => "OFFSET_ILLEGAL",
        })
    }
}

/// The result of one pull.
#[derive(Debug, Clone)]
pub struct PullResult {
    /// Status.
    pub status: PullStatus,
    /// Offset to pull next.
    pub next_begin_offset: i64,
    /// Queue min offset.
    pub min_offset: i64,
    /// Queue max offset (exclusive).
    pub max_offset: i64,
    /// Broker id suggested for the next pull.
    pub suggest_which_broker_id: i64,
    /// Messages, after the client-side tag filter.
    pub msgs: Vec<MessageExt>,
}
