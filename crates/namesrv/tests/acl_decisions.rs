//! Every request code the name server serves has an ACL decision
//! (`ferrocket_acl::namesrv_decision`): a code added to its dispatcher without one fails here.

use std::time::Duration;

use ferrocket_namesrv::{NamesrvConfig, NamesrvController};
use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

#[tokio::test]
async fn every_dispatched_code_has_an_acl_decision() {
    let ns = NamesrvController::start(NamesrvConfig {
        listen: "127.0.0.1:0".into(),
        ..Default::default()
    })
    .await
    .expect("name server starts");
    let addr = ns.local_addr().to_string();
    let client = RemotingClient::new();
    let mut served = Vec::new();
    for code in (0..=4_000).chain(200_000..=200_300) {
        let reply = client
            .invoke(
                &addr,
                RemotingCommand::request(code),
                Duration::from_secs(10),
            )
            .await
            .unwrap_or_else(|e| panic!("code {code}: no answer: {e}"));
        if reply.code != response::REQUEST_CODE_NOT_SUPPORTED {
            served.push(code);
        }
    }
    for code in [103, 104, 105, 106] {
        assert!(served.contains(&code), "code {code} not served: {served:?}");
    }
    let missing: Vec<i32> = served
        .iter()
        .copied()
        .filter(|&c| ferrocket_acl::namesrv_decision(c).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "request codes served by the name server without an ACL decision in \
         ferrocket_acl::decision::namesrv_decision: {missing:?}"
    );
}
