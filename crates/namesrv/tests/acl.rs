//! The name server with ACL on: its state-changing codes need a signed admin account, route
//! queries stay open.

use std::time::Duration;

use ferrocket_acl::SessionCredentials;
use ferrocket_namesrv::{NamesrvConfig, NamesrvController};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;

const ACL: &str = "accounts:
  - accessKey: nsAdmin01
    secretKey: nsSecret01
    admin: true
  - accessKey: nsUser001
    secretKey: nsSecret02
    defaultTopicPerm: PUB
";

fn unregister() -> RemotingCommand {
    RemotingCommand::request(request::UNREGISTER_BROKER)
        .with_ext("brokerName", "broker-a")
        .with_ext("brokerAddr", "127.0.0.1:10911")
        .with_ext("clusterName", "DefaultCluster")
        .with_ext("brokerId", 0)
}

#[tokio::test]
async fn write_codes_need_a_signed_admin_and_queries_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(&acl, ACL).unwrap();
    let ns = NamesrvController::start(NamesrvConfig {
        listen: "127.0.0.1:0".into(),
        acl_plain_file: Some(acl),
        ..Default::default()
    })
    .await
    .expect("name server starts");
    let addr = ns.local_addr().to_string();
    let client = RemotingClient::new();
    let call = |req: RemotingCommand| {
        let (client, addr) = (&client, addr.clone());
        async move {
            client
                .invoke(&addr, req, Duration::from_secs(3))
                .await
                .expect("name server answers")
        }
    };

    let r = call(unregister()).await;
    assert_eq!(r.code, response::NO_PERMISSION);
    assert_eq!(r.remark.as_deref(), Some("No accessKey is configured"));

    let mut as_user = unregister();
    SessionCredentials::new("nsUser001", "nsSecret02").sign(&mut as_user);
    let r = call(as_user).await;
    assert_eq!(r.code, response::NO_PERMISSION);
    assert_eq!(
        r.remark.as_deref(),
        Some("Need admin permission for request code=104, but accessKey=nsUser001 is not")
    );

    let mut tampered = unregister();
    SessionCredentials::new("nsAdmin01", "nsSecret01").sign(&mut tampered);
    tampered.ext_fields.insert("brokerName", "broker-b");
    let r = call(tampered).await;
    assert_eq!(
        r.remark.as_deref(),
        Some("Check signature failed for accessKey=nsAdmin01")
    );

    let mut put_kv = RemotingCommand::request(request::PUT_KV_CONFIG)
        .with_ext("namespace", "ORDER_TOPIC_CONFIG")
        .with_ext("key", "T")
        .with_ext("value", "broker-a:4");
    assert_eq!(call(put_kv.clone()).await.code, response::NO_PERMISSION);
    SessionCredentials::new("nsAdmin01", "nsSecret01").sign(&mut put_kv);
    assert_eq!(call(put_kv).await.code, response::SUCCESS);

    let mut as_admin = unregister();
    SessionCredentials::new("nsAdmin01", "nsSecret01").sign(&mut as_admin);
    assert_eq!(call(as_admin).await.code, response::SUCCESS);

    let route = RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "T");
    assert_eq!(
        call(route).await.code,
        response::TOPIC_NOT_EXIST,
        "queries need no account"
    );
    ns.shutdown();
}
