//! Keeps the broker's processors and services narrow: each is given the few managers it uses,
//! never the `BrokerController`, so the controller ↔ processor module cycle cannot come back.
//! The check reads the sources; a comment may name the controller, code may not.

use std::path::{Path, PathBuf};

/// Source directories (relative to this crate) whose code must not reach the controller.
const NARROW_DIRS: &[&str] = &[
    "src/processor",
    "src/service",
    "src/transaction",
    "src/out_api",
];

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

/// The lines of `source` outside comments that name the controller.
fn controller_references(source: &str) -> Vec<(usize, String)> {
    source
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let code = line.split("//").next().unwrap_or("");
            (code.contains("BrokerController") || code.contains("broker_controller"))
                .then(|| (i + 1, line.trim().to_string()))
        })
        .collect()
}

/// Every reference to the controller in the code under `dirs` of the crate at `root`.
fn violations(root: &Path, dirs: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(!files.is_empty(), "no sources found under {dirs:?}");
    let mut found = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("readable source");
        for (line, text) in controller_references(&source) {
            found.push(format!("{}:{line}: {text}", file.display()));
        }
    }
    found
}

#[test]
fn processors_and_services_do_not_reach_the_broker_controller() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = violations(root, NARROW_DIRS);
    assert!(
        found.is_empty(),
        "give these the managers they use (a context struct built by the BrokerController), \
         not the controller:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_reference_in_code_and_ignores_comments() {
    let source = "//! built by the BrokerController\nuse crate::broker_controller::BrokerController;\nfn f(b: &BrokerController) {} // BrokerController\n";
    let lines: Vec<usize> = controller_references(source)
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert_eq!(lines, vec![2, 3]);
}
