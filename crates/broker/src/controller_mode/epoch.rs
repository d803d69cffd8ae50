//! The epoch file (`epochFileCheckpoint` under the store root): one `(epoch, startOffset)` per
//! mastership of the set, as RocketMQ's `EpochFileCache`. A master appends its epoch and its
//! CommitLog end when it takes over; a slave copies its master's entries. A deposed master
//! that returns compares its entries with the new master's to find where the logs diverged.
//!
//! The file is text: `epoch-startOffset` per line, oldest first, written through a temporary
//! file and a rename.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ControllerModeError;

/// One mastership: from `start_offset` on, the log was written by the master of `epoch`.
/// `end_offset` is the next entry's start (the broker's max offset for the last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
    pub end_offset: i64,
}

/// The epoch file of one store.
pub struct EpochFile {
    path: PathBuf,
}

impl EpochFile {
    /// The file under `store_root`.
    pub fn new(store_root: &Path) -> Self {
        EpochFile {
            path: store_root.join("epochFileCheckpoint"),
        }
    }

    /// The entries as `(epoch, start_offset)`, oldest first (empty when there is no file).
    pub fn load(&self) -> Result<Vec<(i32, i64)>, ControllerModeError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e)),
        };
        Ok(text
            .lines()
            .filter_map(|l| {
                let (e, o) = l.trim().split_once('-')?;
                Some((e.parse().ok()?, o.parse().ok()?))
            })
            .collect())
    }

    /// Replaces the entries.
    pub fn save(&self, entries: &[(i32, i64)]) -> Result<(), ControllerModeError> {
        let text: String = entries.iter().map(|(e, o)| format!("{e}-{o}\n")).collect();
        let tmp = self.path.with_extension("writing");
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        })();
        result.map_err(|e| self.err(e))
    }

    /// A new master of `epoch` whose log ends at `max_offset`: entries starting past its end
    /// (copied from a master it never fully followed) are dropped, and the new one appended.
    pub fn begin_epoch(&self, epoch: i32, max_offset: i64) -> Result<(), ControllerModeError> {
        let mut entries = self.load()?;
        if entries.last().is_some_and(|(e, _)| *e >= epoch) {
            return Ok(());
        }
        entries.retain(|(_, start)| *start <= max_offset);
        entries.push((epoch, max_offset));
        self.save(&entries)
    }

    fn err(&self, source: std::io::Error) -> ControllerModeError {
        ControllerModeError::Identity {
            path: self.path.clone(),
            source,
        }
    }
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

    #[test]
    fn a_new_master_appends_its_epoch_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = EpochFile::new(dir.path());
        f.save(&[(1, 0), (2, 500)]).unwrap();
        f.begin_epoch(3, 400).unwrap();
        assert_eq!(f.load().unwrap(), vec![(1, 0), (3, 400)]);
        f.begin_epoch(3, 800).unwrap();
        assert_eq!(f.load().unwrap(), vec![(1, 0), (3, 400)]);
    }
}
