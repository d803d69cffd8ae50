//! Every request code the broker serves has an ACL decision (`ferrocket_acl::broker_decision`):
//! a code added to the dispatcher without one fails here, before it can be served unprotected.

mod common;

use common::{TestBroker, CALL};
use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

/// The code ranges RocketMQ uses: classic codes, the controller's and ACL 2.0's, and 5.x's POP
/// family (200000+).
fn candidate_codes() -> impl Iterator<Item = i32> {
    (0..=4_000).chain(200_000..=200_300)
}

#[tokio::test]
async fn every_dispatched_code_has_an_acl_decision() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let mut served = Vec::new();
    for code in candidate_codes() {
        let reply = client
            .invoke(&b.addr, RemotingCommand::request(code), CALL)
            .await
            .unwrap_or_else(|e| panic!("code {code}: no answer: {e}"));
        if reply.code != response::REQUEST_CODE_NOT_SUPPORTED {
            served.push(code);
        }
    }
    // the scan reaches the dispatcher: the codes every client sends are among the served ones
    for code in [10, 11, 17, 34, 310] {
        assert!(served.contains(&code), "code {code} not served: {served:?}");
    }
    let missing: Vec<i32> = served
        .iter()
        .copied()
        .filter(|&c| ferrocket_acl::broker_decision(c).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "request codes served by the broker without an ACL decision in \
         ferrocket_acl::decision::broker_decision: {missing:?}"
    );
}
