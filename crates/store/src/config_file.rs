//! Crash-safe replacement of a small configuration file, kept with a `.bak` copy of the
//! previous version (RocketMQ's `ConfigManager` persistence, also used for plain_acl.yml).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `bytes` to `path`: the new content goes to `<file>.tmp` and is synced, the current file
/// becomes `<file>.bak`, then the temporary file takes its place. Creates the parent directory.
///
/// At every instant either `path` or `<file>.bak` holds a complete version.
pub fn write_with_backup(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let tmp = with_suffix(path, ".tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    if path.exists() {
        fs::rename(path, with_suffix(path, ".bak"))?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // makes the renames durable; not supported everywhere, hence best effort
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
