//! Keeps the console narrow: it is given a `BrokerView` of the managers and services it uses,
//! never the broker's `BrokerController`, so the console and the remoting processors stay on
//! one service layer. The check reads the sources; a comment may name the controller, code
//! may not.

use std::path::Path;

use ferrocket_testkit::source_scan::code_references_under;

/// The controller's type and module names.
const CONTROLLER: &[&str] = &["BrokerController", "broker_controller"];

#[test]
fn the_console_does_not_reach_the_broker_controller() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = code_references_under(root, &["src"], CONTROLLER);
    assert!(
        found.is_empty(),
        "give the console what it uses through its BrokerView (built where the console is \
         started), not the controller:\n{}",
        found.join("\n")
    );
}
