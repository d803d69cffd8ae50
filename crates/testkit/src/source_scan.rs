//! Source scans for the dependency rules the compiler cannot state: a test lists the source
//! directories of its crate that must not name a type (the broker's processors and the console
//! must not reach the `BrokerController`) and fails on every line of code that does. Comments
//! may name it.

use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `source` (1-based, trimmed) whose code, outside `//` comments, contains one of
/// `names`.
pub fn code_references(source: &str, names: &[&str]) -> Vec<(usize, String)> {
    source
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = line.split("//").next().unwrap_or("");
            names
                .iter()
                .any(|n| code.contains(n))
                .then(|| (i + 1, line.trim().to_string()))
        })
        .collect()
}

/// Every line of code under `dirs` (relative to `root`, usually `CARGO_MANIFEST_DIR`) naming
/// one of `names`, as `path:line: text`. Panics when the directories hold no source at all, so
/// a moved directory cannot make the check pass vacuously.
pub fn code_references_under(root: &Path, dirs: &[&str], names: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(!files.is_empty(), "no sources found under {dirs:?}");
    let mut found = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("readable source");
        for (line, text) in code_references(&source, names) {
            found.push(format!("{}:{line}: {text}", file.display()));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_a_reference_in_code_and_ignores_comments() {
        let source = "//! built by the BrokerController\nuse crate::broker_controller::BrokerController;\nfn f(b: &BrokerController) {} // BrokerController\nfn g() {} // broker_controller\n";
        let lines: Vec<usize> = code_references(source, &["BrokerController", "broker_controller"])
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        assert_eq!(lines, vec![2, 3]);
    }
}
