//! Keeps the gRPC endpoint narrow: it is given a `ProxyBrokerView` of the managers and services
//! it uses, never the broker's `BrokerController`, so the gRPC and remoting transports stay on
//! one service layer. The check reads the sources; a comment may name the controller, code may
//! not.

use std::path::Path;

use ferrocket_testkit::source_scan::code_references_under;

/// The controller's type and module names.
const CONTROLLER: &[&str] = &["BrokerController", "broker_controller"];

#[test]
fn the_grpc_endpoint_does_not_reach_the_broker_controller() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = code_references_under(root, &["src"], CONTROLLER);
    assert!(
        found.is_empty(),
        "give the gRPC endpoint what it uses through its ProxyBrokerView (built where it is \
         started), not the controller:\n{}",
        found.join("\n")
    );
}
