//! Epoch entries as GET_BROKER_EPOCH_CACHE carries them (RocketMQ's `EpochEntryCache` JSON),
//! and the comparison a replica makes before opening its store as a slave. The epoch file
//! itself is `ferrocket_ha::EpochFile` (RocketMQ's `epochFileCheckpoint` format): a master
//! appends its epoch and its CommitLog end when it takes over; a slave records the epochs of
//! the frames it receives.

use serde::{Deserialize, Serialize};

/// One mastership: from `start_offset` on, the log was written by the master of `epoch`.
/// `end_offset` is the next entry's start (the broker's max offset for the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
    pub end_offset: i64,
}

/// The entries with their end offsets, the last ending at `max_offset`.
pub fn with_end_offsets(entries: &[(i32, i64)], max_offset: i64) -> Vec<EpochEntry> {
    entries
        .iter()
        .enumerate()
        .map(|(i, (epoch, start))| EpochEntry {
            epoch: *epoch,
            start_offset: *start,
            end_offset: entries.get(i + 1).map_or(max_offset, |(_, next)| *next),
        })
        .collect()
}

/// Where a log with `local` epochs stops agreeing with the master's (`master`, with end
/// offsets): the end, in the master's log, of the newest epoch both have with the same start.
/// `None` when the local log has no epochs (nothing to compare: it never diverged) ; `Some(0)`
/// when no epoch is shared (everything must be fetched again).
pub fn consistent_point(local: &[(i32, i64)], master: &[EpochEntry]) -> Option<i64> {
    if local.is_empty() {
        return None;
    }
    let shared = master.iter().rev().find(|m| {
        local
            .iter()
            .any(|(e, start)| *e == m.epoch && *start == m.start_offset)
    });
    Some(shared.map_or(0, |m| {
        // the local log ends that epoch no later than its own next epoch starts
        let local_end = local
            .iter()
            .find(|(e, _)| *e > m.epoch)
            .map_or(i64::MAX, |(_, start)| *start);
        m.end_offset.min(local_end)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deposed_master_stops_where_the_new_master_began() {
        // old master led epoch 1 from 0 and epoch 3 from 900 (unseen by the new master);
        // the new master led epoch 2 from 500 and is now at 2000
        let master = with_end_offsets(&[(1, 0), (2, 500)], 2000);
        assert_eq!(master[0].end_offset, 500);
        assert_eq!(consistent_point(&[(1, 0)], &master), Some(500));
        assert_eq!(consistent_point(&[(1, 0), (3, 900)], &master), Some(500));
        assert_eq!(consistent_point(&[(1, 0), (2, 500)], &master), Some(2000));
        assert_eq!(consistent_point(&[], &master), None);
        assert_eq!(consistent_point(&[(7, 10)], &master), Some(0));
    }
}
