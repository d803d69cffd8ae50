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

struct Loaded {
    file: PlainAclFile,
    rules: Arc<AclRules>,
    stamp: Option<FileStamp>,
}

/// RocketMQ's `PlainAccessValidator` over one plain_acl.yml.
pub struct PlainAccessValidator {
    path: PathBuf,
    loaded: RwLock<Loaded>,
    /// Serializes the admin codes' read-modify-write of the file.
    pub(crate) write_lock: tokio::sync::Mutex<()>,
}

impl PlainAccessValidator {
    /// Reads and compiles `path` (blocking; call at start-up). A missing or invalid file is an
    /// error: a server asked to enforce ACL must not start open.
    pub fn load(path: &Path) -> Result<Arc<PlainAccessValidator>, AclError> {
        let before = stamp(path);
        let file = plain_config::load(path)?;
        let rules = AclRules::compile(&file).map_err(|reason| AclError::File {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Arc::new(PlainAccessValidator {
            path: path.to_path_buf(),
            loaded: RwLock::new(Loaded {
                file,
                rules: Arc::new(rules),
                stamp: before,
            }),
            write_lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// The file this validator enforces.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The content last loaded.
    pub fn file(&self) -> PlainAclFile {
        self.loaded.read().file.clone()
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

    /// Installs `file` (already saved at `path`) as the rules in force.
    pub(crate) fn install(&self, file: PlainAclFile) -> Result<(), String> {
        let rules = AclRules::compile(&file)?;
        let mut loaded = self.loaded.write();
        loaded.rules = Arc::new(rules);
        loaded.file = file;
        loaded.stamp = stamp(&self.path);
        Ok(())
    }

    /// Re-reads the file if it changed since it was last read (blocking).
    fn reload_if_changed(&self) {
        let now = stamp(&self.path);
        if now == self.loaded.read().stamp {
            return;
        }
        let result = plain_config::load(&self.path).and_then(|file| {
            let rules = AclRules::compile(&file).map_err(|reason| AclError::File {
                path: self.path.clone(),
                reason,
            })?;
            Ok((file, rules))
        });
        let mut loaded = self.loaded.write();
        loaded.stamp = now;
        match result {
            Ok((file, rules)) => {
                loaded.file = file;
                loaded.rules = Arc::new(rules);
                tracing::info!(file = %self.path.display(), "ACL file reloaded");
            }
            // keeps the rules in force: a half-written or broken file must not open the server
            Err(e) => {
                tracing::error!(error = %e, "ACL file changed but cannot be used; previous rules stay in force")
            }
        }
    }

    /// Watches the file every `interval` on the current runtime, off the reactor threads;
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
}
