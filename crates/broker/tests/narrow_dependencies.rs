//! Keeps the broker's processors and services narrow: each is given the few managers it uses,
//! never the `BrokerController`, so the controller ↔ processor module cycle cannot come back.
//! The check reads the sources; a comment may name the controller, code may not.

use std::path::Path;

use ferrocket_testkit::source_scan::code_references_under;

/// Source directories (relative to this crate) whose code must not reach the controller.
const NARROW_DIRS: &[&str] = &[
    "src/processor",
    "src/service",
    "src/transaction",
    "src/out_api",
];

/// The controller's type and module names.
const CONTROLLER: &[&str] = &["BrokerController", "broker_controller"];

#[test]
fn processors_and_services_do_not_reach_the_broker_controller() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = code_references_under(root, NARROW_DIRS, CONTROLLER);
    assert!(
        found.is_empty(),
        "give these the managers they use (a context struct built by the BrokerController), \
         not the controller:\n{}",
        found.join("\n")
    );
}
