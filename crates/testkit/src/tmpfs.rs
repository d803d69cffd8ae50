//! A tmpfs of a test's own, for full-disk tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted for one test, unmounted when dropped. Mounting needs root: without it the
/// test fails saying so.
pub struct Tmpfs {
    dir: tempfile::TempDir,
    size: u64,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size_mb` MiB on a fresh temporary directory.
    pub fn mount(size_mb: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount (the full-disk tests need it): {e}"));
        assert!(
            out.status.success(),
            "cannot mount a {size_mb} MiB tmpfs on {} (the full-disk tests need root): {}",
            dir.path().display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs {
            dir,
            size: size_mb * 1024 * 1024,
        }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Used fraction of the tmpfs, from `df` (what an operator would read).
    pub fn used(&self) -> f64 {
        df_used(self.path())
    }

    /// Writes a filler file `name` so that the tmpfs is about `target` used, as [`Tmpfs::used`]
    /// measures it; returns its path.
    pub fn fill_to(&self, name: &str, target: f64) -> PathBuf {
        self.fill_to_measured(name, target, df_used)
    }

    /// [`Tmpfs::fill_to`] with the used fraction as `used` measures it (e.g. the store's own
    /// rounded-up measure, which leaves a little more room than `df`).
    pub fn fill_to_measured(
        &self,
        name: &str,
        target: f64,
        used: impl Fn(&Path) -> f64,
    ) -> PathBuf {
        let need = ((target - used(self.path())) * self.size as f64).max(0.0) as usize;
        let p = self.path().join(name);
        std::fs::write(&p, vec![1u8; need]).unwrap();
        p
    }
}

/// Used fraction of the filesystem holding `path`, from `df`.
fn df_used(path: &Path) -> f64 {
    let out = Command::new("df")
        .args(["--output=used,avail", "-B1"])
        .arg(path)
        .output()
        .expect("df runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1).expect("df prints a line");
    let mut it = line.split_whitespace().map(|v| v.parse::<f64>().unwrap());
    let (used, avail) = (it.next().unwrap(), it.next().unwrap());
    used / (used + avail)
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}
