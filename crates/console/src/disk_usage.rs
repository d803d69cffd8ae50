//! Disk space the store uses, measured when asked (allocated blocks, so preallocated sparse
//! segments count for what they really take).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

/// Store disk figures.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DiskUsage {
    /// Bytes allocated by CommitLog segments.
    pub commit_log_bytes: u64,
    /// Bytes allocated by ConsumeQueue files.
    pub consume_queue_bytes: u64,
    /// Bytes allocated under the store root in total (config files, checkpoint, ...).
    pub total_bytes: u64,
    /// Used fraction (0..1) of the file system holding the CommitLog, -1 if unknown.
    pub filesystem_used_ratio: f64,
}

/// Measures the store under its configured directories.
pub fn measure(config: &ferrocket_store::MessageStoreConfig) -> DiskUsage {
    let commit_log = config.commit_log_path();
    DiskUsage {
        commit_log_bytes: allocated(&commit_log),
        consume_queue_bytes: allocated(&config.consume_queue_path()),
        total_bytes: allocated(&config.store_path_root_dir),
        filesystem_used_ratio: used_ratio(&commit_log).unwrap_or(-1.0),
    }
}

/// Allocated bytes of every file under `dir`.
fn allocated(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                total += meta.blocks() * 512;
            }
        }
    }
    total
}

/// `1 - available / total` of the file system holding `path`.
fn used_ratio(path: &Path) -> Option<f64> {
    let (total, _, available) = ferrocket_store::filesystem_space(path)?;
    (total > 0).then(|| 1.0 - available as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_written_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/f"), vec![1u8; 10_000]).unwrap();
        assert!(allocated(dir.path()) >= 10_000);
        let r = used_ratio(dir.path()).unwrap();
        assert!((0.0..=1.0).contains(&r), "{r}");
    }
}
