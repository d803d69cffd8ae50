//! The `brokerIdentity` file: the id the controller granted this broker, as
//! `clusterName#brokerName#brokerId` (RocketMQ 5's `BrokerMetadata` layout), and next to it
//! `brokerIdentity-temp` with the claim not yet granted, `...#brokerId#registerCheckCode`.

use std::path::{Path, PathBuf};

use super::ControllerModeError;

/// The identity files under a store root.
pub struct BrokerIdentityFile {
    path: PathBuf,
    claim_path: PathBuf,
}

impl BrokerIdentityFile {
    /// The files under `store_root`.
    pub fn new(store_root: &Path) -> Self {
        BrokerIdentityFile {
            path: store_root.join("brokerIdentity"),
            claim_path: store_root.join("brokerIdentity-temp"),
        }
    }

    /// The granted id, if the file exists and belongs to this broker set.
    pub fn load(&self, cluster: &str, name: &str) -> Result<Option<u64>, ControllerModeError> {
        Ok(self
            .read(&self.path)?
            .and_then(|fields| match fields.as_slice() {
                [c, n, id] if c == cluster && n == name => id.parse().ok(),
                _ => None,
            }))
    }

    /// The pending claim: id and register check code.
    pub fn load_claim(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<(u64, String)>, ControllerModeError> {
        Ok(self
            .read(&self.claim_path)?
            .and_then(|fields| match fields.as_slice() {
                [c, n, id, code] if c == cluster && n == name => {
                    id.parse().ok().map(|id| (id, code.clone()))
                }
                _ => None,
            }))
    }

    /// Records the granted id and drops the claim.
    pub fn save(&self, cluster: &str, name: &str, id: u64) -> Result<(), ControllerModeError> {
        self.write(&self.path, &format!("{cluster}#{name}#{id}"))?;
        self.remove_claim()
    }

    /// Records a claim before it is sent.
    pub fn save_claim(
        &self,
        cluster: &str,
        name: &str,
        id: u64,
        check_code: &str,
    ) -> Result<(), ControllerModeError> {
        self.write(
            &self.claim_path,
            &format!("{cluster}#{name}#{id}#{check_code}"),
        )
    }

    /// Forgets a refused claim.
    pub fn remove_claim(&self) -> Result<(), ControllerModeError> {
        match std::fs::remove_file(&self.claim_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(self.err(&self.claim_path, e))
            }
            _ => Ok(()),
        }
    }

    fn read(&self, path: &Path) -> Result<Option<Vec<String>>, ControllerModeError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text.trim().split('#').map(str::to_string).collect())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(path, e)),
        }
    }

    /// Written through a temporary file and a rename, so a crash leaves the old or the new.
    fn write(&self, path: &Path, text: &str) -> Result<(), ControllerModeError> {
        let tmp = path.with_extension("writing");
        let result = (|| {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        result.map_err(|e| self.err(path, e))
    }

    fn err(&self, path: &Path, source: std::io::Error) -> ControllerModeError {
        ControllerModeError::Identity {
            path: path.to_path_buf(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_then_grant() {
        let dir = tempfile::tempdir().unwrap();
        let f = BrokerIdentityFile::new(dir.path());
        assert_eq!(f.load("c", "b").unwrap(), None);
        f.save_claim("c", "b", 2, "127.0.0.1:1;5").unwrap();
        assert_eq!(
            f.load_claim("c", "b").unwrap(),
            Some((2, "127.0.0.1:1;5".to_string()))
        );
        f.save("c", "b", 2).unwrap();
        assert_eq!(f.load("c", "b").unwrap(), Some(2));
        assert_eq!(f.load("c", "other").unwrap(), None);
        assert_eq!(f.load_claim("c", "b").unwrap(), None);
    }
}
