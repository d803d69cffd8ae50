//! The epoch file (`epochFileCheckpoint` under the store root), RocketMQ's `EpochFileCache`
//! written as its `CheckpointFile`:
//!
//! ```text
//! <number of entries>
//! <crc32 of the entry lines, masked with 0x7FFFFFFF; 0 = not checked>
//! <epoch>-<startOffset>
//! ...
//! ```
//!
//! one entry per mastership, oldest first; an entry ends where the next starts (the last one
//! at the CommitLog end). A copy is kept in `<path>.bak`, read when the main file is missing,
//! empty or damaged. Files of earlier Ferrocket versions (entry lines only) are read too.
//!
//! The entries live in memory behind a lock; every change is written through a temporary file
//! and a rename before it is visible. Writes block: call them off the async reactor.

use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

/// The epoch file of one store.
#[derive(Debug)]
pub struct EpochFile {
    path: PathBuf,
    entries: Mutex<Vec<(i32, i64)>>,
}

/// Why the epoch file cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("epoch file {path}: {reason}")]
pub struct EpochFileError {
    pub path: PathBuf,
    pub reason: String,
}

impl EpochFile {
    /// The file `epochFileCheckpoint` under `store_root`, read now (no file: no entries).
    pub fn open(store_root: &Path) -> Result<EpochFile, EpochFileError> {
        let path = store_root.join("epochFileCheckpoint");
        let entries = read_with_backup(&path)?;
        Ok(EpochFile {
            path,
            entries: Mutex::new(entries),
        })
    }

    /// The entries as `(epoch, startOffset)`, oldest first.
    pub fn entries(&self) -> Vec<(i32, i64)> {
        self.entries.lock().clone()
    }

    /// The newest epoch, -1 without any (`lastEpoch`).
    pub fn last_epoch(&self) -> i32 {
        self.entries.lock().last().map_or(-1, |(e, _)| *e)
    }

    /// Replaces every entry.
    pub fn save(&self, entries: &[(i32, i64)]) -> Result<(), EpochFileError> {
        let mut current = self.entries.lock();
        self.write(entries)?;
        *current = entries.to_vec();
        Ok(())
    }

    /// A new master of `epoch` whose log ends at `max_offset` (`changeToMaster`): entries of
    /// this epoch or later, and entries starting past its end (copied from a master it never
    /// fully followed), are dropped and the new one appended. An entry starting exactly at
    /// `max_offset` covers no byte and is replaced, so that start offsets stay increasing.
    pub fn begin_epoch(&self, epoch: i32, max_offset: i64) -> Result<(), EpochFileError> {
        let mut current = self.entries.lock();
        if current.last().is_some_and(|(e, _)| *e >= epoch) {
            return Ok(());
        }
        let mut next: Vec<(i32, i64)> = current
            .iter()
            .copied()
            .filter(|(e, start)| *e < epoch && *start < max_offset)
            .collect();
        next.push((epoch, max_offset));
        self.write(&next)?;
        *current = next;
        Ok(())
    }

    /// A slave saw a frame of a new epoch (`appendEntry`): appended when its epoch is newer
    /// than the last one and it starts later; when it starts where the last one starts, the
    /// last one covered no byte and is replaced. Returns whether the file changed.
    pub fn append(&self, epoch: i32, start_offset: i64) -> Result<bool, EpochFileError> {
        let mut current = self.entries.lock();
        let mut next = current.clone();
        match next.last() {
            Some(&(e, s)) if e >= epoch || s > start_offset => {
                if e != epoch {
                    tracing::warn!(
                        epoch,
                        start_offset,
                        last_epoch = e,
                        last_start = s,
                        "epoch entry not newer than the last one; not recorded"
                    );
                }
                return Ok(false);
            }
            Some(&(_, s)) if s == start_offset => {
                next.pop();
            }
            _ => {}
        }
        next.push((epoch, start_offset));
        self.write(&next)?;
        *current = next;
        Ok(true)
    }

    /// Drops the entries starting at or after `offset` (`truncateSuffixByOffset`): the log
    /// was cut there.
    pub fn truncate_suffix(&self, offset: i64) -> Result<(), EpochFileError> {
        let mut current = self.entries.lock();
        if current.iter().all(|(_, start)| *start < offset) {
            return Ok(());
        }
        let next: Vec<(i32, i64)> = current
            .iter()
            .copied()
            .filter(|(_, start)| *start < offset)
            .collect();
        self.write(&next)?;
        *current = next;
        Ok(())
    }

    /// Writes `entries` (and the backup copy); no entries removes both files.
    fn write(&self, entries: &[(i32, i64)]) -> Result<(), EpochFileError> {
        let backup = backup_path(&self.path);
        let result = if entries.is_empty() {
            remove_if_present(&self.path).and_then(|()| remove_if_present(&backup))
        } else {
            let text = encode(entries);
            write_atomically(&self.path, &text).and_then(|()| write_atomically(&backup, &text))
        };
        result.map_err(|e| EpochFileError {
            path: self.path.clone(),
            reason: e.to_string(),
        })
    }
}

/// The file's text for `entries`.
pub fn encode(entries: &[(i32, i64)]) -> String {
    let lines: String = entries.iter().map(|(e, s)| format!("{e}-{s}\n")).collect();
    format!(
        "{}\n{}\n{lines}",
        entries.len(),
        masked_crc32(lines.as_bytes())
    )
}

/// RocketMQ's `UtilAll.crc32`: CRC-32 masked to a non-negative `int`.
fn masked_crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes) & 0x7FFF_FFFF
}

/// Parses the file's text: RocketMQ's checkpoint layout, or (first line an entry) the entry
/// lines of earlier Ferrocket versions.
pub fn decode(text: &str) -> Result<Vec<(i32, i64)>, String> {
    let mut lines = text.lines();
    let Some(first) = lines.next() else {
        return Ok(Vec::new());
    };
    if first.contains('-') && !first.trim_start().starts_with('-') {
        return text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(entry)
            .collect();
    }
    let count: usize = first
        .trim()
        .parse()
        .map_err(|_| format!("bad entry count {first:?}"))?;
    let crc_line = lines.next().ok_or("no crc line")?;
    let crc: i64 = crc_line
        .trim()
        .parse()
        .map_err(|_| format!("bad crc {crc_line:?}"))?;
    let mut entries = Vec::new();
    let mut body = String::new();
    for line in lines {
        body.push_str(line);
        body.push('\n');
        entries.push(entry(line)?);
    }
    if entries.len() != count {
        return Err(format!(
            "{count} entries announced, {} found",
            entries.len()
        ));
    }
    if crc != 0 && crc != i64::from(masked_crc32(body.as_bytes())) {
        return Err("crc mismatch".into());
    }
    Ok(entries)
}

fn entry(line: &str) -> Result<(i32, i64), String> {
    let (e, s) = line
        .trim()
        .split_once('-')
        .ok_or_else(|| format!("bad entry {line:?}"))?;
    match (e.parse(), s.parse()) {
        (Ok(e), Ok(s)) => Ok((e, s)),
        _ => Err(format!("bad entry {line:?}")),
    }
}

fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// The main file, or its backup when the main one is missing, empty or damaged.
fn read_with_backup(path: &Path) -> Result<Vec<(i32, i64)>, EpochFileError> {
    let err = |reason: String| EpochFileError {
        path: path.to_path_buf(),
        reason,
    };
    let main = read_entries(path);
    match main {
        Ok(Some(entries)) if !entries.is_empty() => return Ok(entries),
        Ok(_) => {}
        Err(ref e) => {
            tracing::warn!(path = %path.display(), error = %e, "epoch file unreadable; trying its backup")
        }
    }
    match read_entries(&backup_path(path)) {
        Ok(Some(entries)) => Ok(entries),
        Ok(None) => main.map(Option::unwrap_or_default).map_err(err),
        Err(e) => Err(err(e)),
    }
}

fn read_entries(path: &Path) -> Result<Option<Vec<(i32, i64)>>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => decode(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Where a slave's log stops agreeing with its master's (`EpochFileCache.findConsistentPoint`):
/// walking the local entries newest first, the first one the master also has with the same
/// start gives `min(local end, master end)`, each entry ending where the next starts and the
/// last at the log's end. `None` when no entry is shared. Never past `local_max`.
pub fn consistent_point(
    local: &[(i32, i64)],
    local_max: i64,
    master: &[(i32, i64)],
    master_max: i64,
) -> Option<i64> {
    let end = |list: &[(i32, i64)], i: usize, max: i64| {
        list.get(i + 1)
            .map_or(if list[i].1 <= max { max } else { i64::MAX }, |n| n.1)
    };
    local.iter().enumerate().rev().find_map(|(i, l)| {
        let j = master.iter().position(|m| m == l)?;
        Some(
            end(local, i, local_max)
                .min(end(master, j, master_max))
                .min(local_max),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_rocketmqs_checkpoint_layout() {
        // the crc line is the masked CRC-32 of the entry lines, separators included
        let text = encode(&[(1, 0), (2, 500)]);
        let crc = crc32fast::hash(b"1-0\n2-500\n") & 0x7FFF_FFFF;
        assert_eq!(text, format!("2\n{crc}\n1-0\n2-500\n"));
        assert_eq!(decode(&text).unwrap(), vec![(1, 0), (2, 500)]);
        // a stored crc of 0 is not checked; a wrong one is refused, as a wrong count
        assert_eq!(decode("1\n0\n7-7000\n").unwrap(), vec![(7, 7000)]);
        assert!(decode("1\n12345\n7-7000\n").is_err());
        assert!(decode(&format!("3\n{crc}\n1-0\n2-500\n")).is_err());
        // the example in RocketMQ's CheckpointFile documentation
        let doc = format!(
            "2\n{}\n7-7000\n8-8000\n",
            crc32fast::hash(b"7-7000\n8-8000\n") & 0x7FFF_FFFF
        );
        assert_eq!(decode(&doc).unwrap(), vec![(7, 7000), (8, 8000)]);
    }

    #[test]
    fn earlier_ferrocket_files_are_read() {
        assert_eq!(decode("1-0\n3-400\n").unwrap(), vec![(1, 0), (3, 400)]);
        assert_eq!(decode("").unwrap(), vec![]);
    }

    #[test]
    fn a_damaged_file_falls_back_to_the_backup() {
        let dir = tempfile::tempdir().unwrap();
        let f = EpochFile::open(dir.path()).unwrap();
        f.save(&[(1, 0), (2, 500)]).unwrap();
        let main = dir.path().join("epochFileCheckpoint");
        assert!(std::fs::read_to_string(&main).unwrap().starts_with("2\n"));
        std::fs::write(&main, "2\n1\n1-0\n2-500\n").unwrap();
        assert_eq!(
            EpochFile::open(dir.path()).unwrap().entries(),
            vec![(1, 0), (2, 500)]
        );
        std::fs::write(&main, "1-0\n").unwrap();
        std::fs::remove_file(dir.path().join("epochFileCheckpoint.bak")).unwrap();
        assert_eq!(EpochFile::open(dir.path()).unwrap().entries(), vec![(1, 0)]);
    }

    #[test]
    fn masters_and_slaves_add_entries_with_increasing_starts() {
        let dir = tempfile::tempdir().unwrap();
        let f = EpochFile::open(dir.path()).unwrap();
        f.save(&[(1, 0), (2, 500)]).unwrap();
        f.begin_epoch(3, 400).unwrap();
        assert_eq!(f.entries(), vec![(1, 0), (3, 400)]);
        f.begin_epoch(3, 800).unwrap();
        assert_eq!(f.entries(), vec![(1, 0), (3, 400)]);
        // elected again with nothing written: the empty epoch is replaced
        f.begin_epoch(4, 400).unwrap();
        assert_eq!(f.entries(), vec![(1, 0), (4, 400)]);
        assert!(!f.append(4, 400).unwrap());
        assert!(!f.append(5, 300).unwrap());
        assert!(f.append(5, 900).unwrap());
        assert!(f.append(6, 900).unwrap());
        assert_eq!(f.entries(), vec![(1, 0), (4, 400), (6, 900)]);
        f.truncate_suffix(400).unwrap();
        assert_eq!(EpochFile::open(dir.path()).unwrap().entries(), vec![(1, 0)]);
        f.truncate_suffix(0).unwrap();
        assert_eq!(EpochFile::open(dir.path()).unwrap().entries(), vec![]);
    }

    #[test]
    fn consistent_point_follows_the_newest_shared_epoch() {
        // the new master led epoch 2 from 500 and is at 2000
        let master = [(1, 0), (2, 500)];
        // a deposed master that wrote on in epoch 1 up to 900, then epoch 3 (unseen)
        assert_eq!(consistent_point(&[(1, 0)], 900, &master, 2000), Some(500));
        assert_eq!(
            consistent_point(&[(1, 0), (3, 900)], 1200, &master, 2000),
            Some(500)
        );
        // a slave behind in the master's epoch keeps all it has
        assert_eq!(
            consistent_point(&[(1, 0), (2, 500)], 700, &master, 2000),
            Some(700)
        );
        // a log cut below the shared epoch's end is never "consistent" past its end
        assert_eq!(
            consistent_point(&[(1, 0), (3, 900)], 300, &master, 2000),
            Some(300)
        );
        assert_eq!(consistent_point(&[(7, 10)], 100, &master, 2000), None);
    }
}
