//! `MessageFilter`: which messages a pull returns, decided by the broker's subscription.

/// Decides per message whether a `get_message` scan returns it (RocketMQ's `MessageFilter`).
///
/// The consume-queue check runs first and cheaply on the tags code; the commit-log check runs
/// on the stored record only for entries that passed it (SQL92 selectors read properties).
pub trait MessageFilter {
    /// Whether the entry with this tags code may match.
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool;

    /// Whether the stored record (one whole CommitLog record) matches.
    fn is_matched_by_commit_log(&self, _record: &[u8]) -> bool {
        true
    }
}

/// A plain tags-code predicate is a filter that never looks at the record.
impl<F: Fn(i64) -> bool> MessageFilter for F {
    fn is_matched_by_consume_queue(&self, tags_code: i64) -> bool {
        self(tags_code)
    }
}
