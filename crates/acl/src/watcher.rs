//! The validator a server holds: the rules of plain_acl.yml, reloaded when the file changes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use ferrocket_protocol::RemotingCommand;
use parking_lot::RwLock;

use crate::plain_config::{self, PlainAclFile};
use crate::{AclError, AclRules, Caller};

/// How often the file's modification time is looked at (RocketMQ's `FileWatchService` period).
pub const WATCH_INTERVAL: Duration = Duration::from_millis(500);

/// What identifies one version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

/// One ACL file as last read.
#[derive(Clone)]
struct LoadedFile {
    path: PathBuf,
    file: PlainAclFile,
    stamp: Option<FileStamp>,
}

struct Loaded {
    /// In RocketMQ's order: the files of the ACL directory, then plain_acl.yml.
    files: Vec<LoadedFile>,
    rules: Arc<AclRules>,
}

/// RocketMQ's `MixAll.ACL_CONF_TOOLS_FILE`: the tools' credentials, never an ACL file.
const TOOLS_FILE_NAME: &str = "tools.yml";

/// The ACL files of `dir` (RocketMQ's `getAllAclFiles`: `*.yml` and `*.yaml`, subdirectories
/// included, `tools.yml` left out), sorted by path so the order does not depend on the file
/// system.
fn files_in(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            files_in(&path, found);
        } else if (name.ends_with(".yml") || name.ends_with(".yaml")) && name != TOOLS_FILE_NAME {
            found.push(path);
        }
    }
}

/// Every ACL file, in RocketMQ's order: the directory's, then the default file (once).
fn list_files(default: &Path, dir: Option<&Path>) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Some(dir) = dir {
        files_in(dir, &mut found);
    }
    found.sort();
    found.retain(|p| !same_file(p, default));
    found.push(default.to_path_buf());
    found
}

/// The loaded file `path` names: the exact path first, as resolving links touches the file system.
fn find<'a>(files: &'a [LoadedFile], path: &Path) -> Option<&'a LoadedFile> {
    files
        .iter()
        .find(|f| f.path == path)
        .or_else(|| files.iter().find(|f| same_file(&f.path, path)))
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

fn read_file(path: &Path) -> Result<LoadedFile, AclError> {
    let before = stamp(path);
    let file = plain_config::load(path)?;
    AclRules::compile(&file).map_err(|reason| AclError::File {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(LoadedFile {
        path: path.to_path_buf(),
        file,
        stamp: before,
    })
}

fn merge(files: &[LoadedFile]) -> Result<AclRules, String> {
    let (rules, repeated) =
        AclRules::compile_all(files.iter().map(|f| (f.path.as_path(), &f.file)))?;
    for warning in repeated {
        tracing::warn!("{warning}");
    }
    Ok(rules)
}

/// RocketMQ's `PlainAccessValidator` over plain_acl.yml and the files of the ACL directory.
pub struct PlainAccessValidator {
    path: PathBuf,
    dir: Option<PathBuf>,
    loaded: RwLock<Loaded>,
    /// Serializes the admin codes' read-modify-write of the files.
    pub(crate) write_lock: tokio::sync::Mutex<()>,
}

impl PlainAccessValidator {
    /// Reads and compiles `path` and the ACL directory beside it (`acl/` in the same folder:
    /// `${ROCKETMQ_HOME}/conf/acl` for the default `${ROCKETMQ_HOME}/conf/plain_acl.yml`), blocking;
    /// call at start-up. A missing `path` or an invalid file is an error: a server asked to
    /// enforce ACL must not start open.
    pub fn load(path: &Path) -> Result<Arc<PlainAccessValidator>, AclError> {
        let dir = path.parent().map(|p| p.join(ACL_DIR_NAME));
        Self::load_with_dir(path, dir.as_deref())
    }

    /// Like [`PlainAccessValidator::load`] with the ACL directory given (`None`: plain_acl.yml only).
    pub fn load_with_dir(
        path: &Path,
        dir: Option<&Path>,
    ) -> Result<Arc<PlainAccessValidator>, AclError> {
        let files = list_files(path, dir)
            .iter()
            .map(|p| read_file(p))
            .collect::<Result<Vec<_>, _>>()?;
        let rules = merge(&files).map_err(|reason| AclError::File {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Arc::new(PlainAccessValidator {
            path: path.to_path_buf(),
            dir: dir.map(Path::to_path_buf),
            loaded: RwLock::new(Loaded {
                files,
                rules: Arc::new(rules),
            }),
            write_lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// The default file (plain_acl.yml): new accounts and the global white list go there.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ACL directory, if one is read.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The content of the default file as last loaded.
    pub fn file(&self) -> PlainAclFile {
        self.file_at(&self.path).unwrap_or_default()
    }

    /// The content of one loaded file.
    pub fn file_at(&self, path: &Path) -> Option<PlainAclFile> {
        let loaded = self.loaded.read();
        find(&loaded.files, path).map(|f| f.file.clone())
    }

    /// The path under which `path` (possibly another name for it) was loaded.
    pub fn loaded_path(&self, path: &Path) -> Option<PathBuf> {
        let loaded = self.loaded.read();
        find(&loaded.files, path).map(|f| f.path.clone())
    }

    /// Every loaded file with its content, in the order their accounts take precedence.
    pub fn files(&self) -> Vec<(PathBuf, PlainAclFile)> {
        let loaded = self.loaded.read();
        loaded
            .files
            .iter()
            .map(|f| (f.path.clone(), f.file.clone()))
            .collect()
    }

    /// The file whose account `access_key` is in force.
    pub fn file_of(&self, access_key: &str) -> Option<PathBuf> {
        let loaded = self.loaded.read();
        loaded
            .files
            .iter()
            .find(|f| f.file.account(access_key).is_some())
            .map(|f| f.path.clone())
    }

    /// The rules in force (swapped as a whole on reload, so one check sees one version).
    pub(crate) fn rules(&self) -> Arc<AclRules> {
        self.loaded.read().rules.clone()
    }

    /// Checks `request` from `peer`: the caller when it may run, else why not (answer it with
    /// [`crate::refusal`]).
    pub fn check(
        &self,
        request: &RemotingCommand,
        peer: std::net::SocketAddr,
    ) -> Result<Caller, AclError> {
        let rules = self.loaded.read().rules.clone();
        rules.validate(request, peer.ip()).inspect_err(|e| {
            tracing::debug!(code = request.code, peer = %peer, reason = %e, "request refused by ACL");
        })
    }

    /// The rules the files would give with `path` holding `file` (checks an admin change
    /// before it is written).
    pub(crate) fn rules_with(&self, path: &Path, file: &PlainAclFile) -> Result<AclRules, String> {
        let mut files = self.loaded.read().files.clone();
        match files.iter_mut().find(|f| f.path == path) {
            Some(f) => f.file = file.clone(),
            None => return Err(format!("{} is not one of the ACL files", path.display())),
        }
        merge(&files)
    }

    /// Installs `file` (already saved at `path`, one of the loaded files) into the rules in force.
    pub(crate) fn install(&self, path: &Path, file: PlainAclFile) -> Result<(), String> {
        let mut loaded = self.loaded.write();
        let mut files = loaded.files.clone();
        let slot = files
            .iter_mut()
            .find(|f| f.path == path)
            .ok_or_else(|| format!("{} is not one of the ACL files", path.display()))?;
        slot.file = file;
        slot.stamp = stamp(path);
        loaded.rules = Arc::new(merge(&files)?);
        loaded.files = files;
        Ok(())
    }

    /// Re-reads the files that changed, appeared or went away since they were last read
    /// (blocking). A file that cannot be used keeps its previous content in force (a new one is
    /// left out) until it is fixed.
    fn reload_if_changed(&self) {
        let paths = list_files(&self.path, self.dir.as_deref());
        let previous = self.loaded.read().files.clone();
        let unchanged = paths.len() == previous.len()
            && paths
                .iter()
                .zip(&previous)
                .all(|(p, f)| *p == f.path && stamp(p) == f.stamp);
        if unchanged {
            return;
        }
        let mut files = Vec::with_capacity(paths.len());
        for path in &paths {
            let old = previous.iter().find(|f| f.path == *path);
            let now = stamp(path);
            match old {
                Some(f) if f.stamp == now => files.push(f.clone()),
                _ => match read_file(path) {
                    Ok(f) => {
                        tracing::info!(file = %path.display(), "ACL file (re)loaded");
                        files.push(f);
                    }
                    // keeps the rules in force: a half-written or broken file must not open the server
                    Err(e) => {
                        tracing::error!(error = %e, "ACL file changed but cannot be used; previous rules stay in force");
                        // a new file that cannot be used counts as empty until it changes again
                        files.push(LoadedFile {
                            path: path.clone(),
                            file: old.map(|f| f.file.clone()).unwrap_or_default(),
                            stamp: now,
                        });
                    }
                },
            }
        }
        for gone in previous.iter().filter(|f| !paths.contains(&f.path)) {
            tracing::info!(file = %gone.path.display(), "ACL file removed; its accounts are dropped");
        }
        match merge(&files) {
            Ok(rules) => {
                let mut loaded = self.loaded.write();
                loaded.rules = Arc::new(rules);
                loaded.files = files;
            }
            Err(e) => {
                tracing::error!(error = %e, "ACL files cannot be merged; previous rules stay in force")
            }
        }
    }

    /// Watches the files every `interval` on the current runtime, off the reactor threads;
    /// stops when the validator is dropped.
    pub fn spawn_watcher(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<PlainAccessValidator> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(v) = weak.upgrade() else { break };
                if tokio::task::spawn_blocking(move || v.reload_if_changed())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        })
    }
}

/// Name of the ACL directory beside plain_acl.yml (`${ROCKETMQ_HOME}/conf/acl`).
pub const ACL_DIR_NAME: &str = "acl";

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str =
        "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    defaultTopicPerm: PUB\n";
    const V2: &str =
        "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    defaultTopicPerm: DENY\n";

    fn send() -> RemotingCommand {
        let mut r = RemotingCommand::request(310)
            .with_ext("b", "T")
            .with_ext("a", "G");
        crate::signature::sign(&mut r, "RocketMQ", "12345678");
        r
    }

    #[tokio::test]
    async fn edits_take_effect_and_broken_edits_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        std::fs::write(&path, V1).unwrap();
        let v = PlainAccessValidator::load(&path).unwrap();
        let peer = "127.0.0.1:1".parse().unwrap();
        assert!(v.check(&send(), peer).is_ok());
        let _watch = v.spawn_watcher(Duration::from_millis(20));

        std::fs::write(
            &path,
            format!("{V2}\n# longer, so the change shows even within one mtime tick\n"),
        )
        .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while v.check(&send(), peer).is_ok() {
            assert!(std::time::Instant::now() < deadline, "edit not picked up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let refused = crate::refusal(&send(), &v.check(&send(), peer).unwrap_err());
        assert_eq!(
            refused.code,
            ferrocket_protocol::code::response::NO_PERMISSION
        );
        assert_eq!(
            refused.remark.as_deref(),
            Some("No default permission for topic:T")
        );

        std::fs::write(&path, "accounts: [ broken").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            v.check(&send(), peer).is_err(),
            "broken file keeps previous rules"
        );
    }

    #[test]
    fn missing_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = PlainAccessValidator::load(&dir.path().join("plain_acl.yml"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("plain_acl.yml"));
    }

    #[tokio::test]
    async fn files_added_to_and_removed_from_the_acl_directory_take_effect() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        std::fs::write(&path, "accounts: []\n").unwrap();
        let v = PlainAccessValidator::load(&path).unwrap();
        let peer = "127.0.0.1:1".parse().unwrap();
        assert!(v.check(&send(), peer).is_err());
        let _watch = v.spawn_watcher(Duration::from_millis(20));
        std::fs::create_dir(dir.path().join(ACL_DIR_NAME)).unwrap();
        let extra = dir.path().join(ACL_DIR_NAME).join("team.yml");
        std::fs::write(&extra, V1).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while v.check(&send(), peer).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "new file not picked up"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // a broken edit of one file keeps its previous accounts
        std::fs::write(&extra, "accounts: [ broken").unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(v.check(&send(), peer).is_ok());
        std::fs::remove_file(&extra).unwrap();
        while v.check(&send(), peer).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "removed file still in force"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
