//! Where the `ferrocket` binary under test is.

use std::path::PathBuf;

/// The `ferrocket` binary under test, as a `PathBuf`.
///
/// In the tests of the `ferrocket` package itself this is the binary Cargo built for them
/// (`CARGO_BIN_EXE_ferrocket`, read where the macro is expanded). Elsewhere a test cannot
/// depend on another package's binary, so it is `$FERROCKET_BIN`, else `ferrocket` in the
/// test's target directory (or `$CARGO_TARGET_DIR`); see [`locate_ferrocket`].
#[macro_export]
macro_rules! ferrocket_bin {
    () => {
        $crate::locate_ferrocket(option_env!("CARGO_BIN_EXE_ferrocket"))
    };
}

/// The binary at `built_by_cargo` when given, else `$FERROCKET_BIN`, else `ferrocket` next to
/// the running test's target directory or in `$CARGO_TARGET_DIR`. Panics with instructions when
/// it is missing (it must have been built first with `cargo build -p ferrocket`).
pub fn locate_ferrocket(built_by_cargo: Option<&str>) -> PathBuf {
    if let Some(p) = built_by_cargo {
        return PathBuf::from(p);
    }
    if let Ok(p) = std::env::var("FERROCKET_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "FERROCKET_BIN={} does not exist; build it with `cargo build -p ferrocket`",
            p.display()
        );
        return p;
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test> -> target/<profile>/ferrocket
        if let Some(profile_dir) = exe.parent().and_then(|d| d.parent()) {
            candidates.push(profile_dir.join("ferrocket"));
        }
    }
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        candidates.push(PathBuf::from(&dir).join("debug").join("ferrocket"));
        candidates.push(PathBuf::from(&dir).join("release").join("ferrocket"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/ferrocket"));
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "the ferrocket binary was not found (looked at {candidates:?}); build it first \
                 with `cargo build -p ferrocket` using the same target directory, or set FERROCKET_BIN"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_cargo_built_wins() {
        assert_eq!(
            locate_ferrocket(Some("/opt/ferrocket")),
            PathBuf::from("/opt/ferrocket")
        );
    }
}
