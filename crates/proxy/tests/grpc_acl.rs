//! ACL 1.0 on the gRPC port of the real binary (`aclEnable=true`): calls signed as the v5
//! clients sign them are served, bad or missing credentials are UNAUTHORIZED, a permission the
//! account lacks is FORBIDDEN, nothing refused is stored, and a change of plain_acl.yml applies
//! to the gRPC port as it does to the remoting port.

mod common;

use std::time::Duration;

use common::*;
use ferrocket_acl::SessionCredentials;
use ferrocket_proxy::v2::messaging_service_client::MessagingServiceClient;
use ferrocket_proxy::v2::*;
use tonic::transport::Channel;

const ACL: &str = "accounts:
  - accessKey: adminUser1
    secretKey: adminSecret1
    admin: true
  - accessKey: appUser01
    secretKey: appSecret01
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - GrpcTopic=PUB|SUB
    groupPerms:
      - deniedGroup=DENY
  - accessKey: readOnly01
    secretKey: readSecret01
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
";

/// A server enforcing [`ACL`]; the directory holds plain_acl.yml.
fn start_with_acl() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("plain_acl.yml");
    std::fs::write(&acl, ACL).unwrap();
    let server = start(&format!(
        "aclEnable=true\naclPlainFile={}\n\
         innerClientAuthenticationCredentials={{\"accessKey\":\"adminUser1\",\"secretKey\":\"adminSecret1\"}}\n",
        acl.display()
    ));
    (server, dir)
}

/// The `authorization` value rocketmq-client-java sends: HMAC-SHA1 of the date-time under the
/// secret key, upper-case hex.
fn authorization(access_key: &str, secret_key: &str, date_time: &str) -> String {
    let hex: String = ferrocket_acl::signature::calculate_raw(secret_key, date_time.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("MQv2-HMAC-SHA1 Credential={access_key}, SignedHeaders=x-mq-date-time, Signature={hex}")
}

/// `message` with the client metadata and, when given, credentials (access key, secret key).
fn signed<T>(message: T, credentials: Option<(&str, &str)>) -> tonic::Request<T> {
    let mut r = request("acl-test@1@1", message);
    let date_time = "20260101T000000Z";
    r.metadata_mut()
        .insert("x-mq-date-time", date_time.parse().unwrap());
    if let Some((ak, sk)) = credentials {
        r.metadata_mut().insert(
            "authorization",
            authorization(ak, sk, date_time).parse().unwrap(),
        );
    }
    r
}

async fn send(
    client: &mut MessagingServiceClient<Channel>,
    id: &str,
    credentials: Option<(&str, &str)>,
) -> Status {
    let request = SendMessageRequest {
        messages: vec![message(id, id.as_bytes())],
    };
    let response = client
        .send_message(signed(request, credentials))
        .await
        .unwrap()
        .into_inner();
    response.status.unwrap()
}

fn code_of(status: &Status) -> Code {
    Code::try_from(status.code).unwrap()
}

/// The ids of the messages stored in [`TOPIC`], read by a remoting consumer signing as the
/// admin account.
async fn stored_ids(server: &Server) -> Vec<String> {
    let admin = SessionCredentials::new("adminUser1", "adminSecret1");
    let stored = stored_messages_as(server, Some(admin)).await;
    let mut ids: Vec<String> = stored.iter().map(|m| m.unique_id().to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_topic_permissions() {
    let (server, _dir) = start_with_acl();
    let mut client = plain_client(server.grpc_port).await;

    let ok = send(&mut client, "01ALLOWED", Some(("appUser01", "appSecret01"))).await;
    assert_eq!(code_of(&ok), Code::Ok, "{ok:?}");

    let wrong = send(&mut client, "01WRONGSECRET", Some(("appUser01", "nope"))).await;
    assert_eq!(code_of(&wrong), Code::Unauthorized, "{wrong:?}");
    assert!(wrong.message.contains("accessKey=appUser01"), "{wrong:?}");

    let unknown = send(&mut client, "01UNKNOWN", Some(("ghost", "appSecret01"))).await;
    assert_eq!(code_of(&unknown), Code::Unauthorized, "{unknown:?}");
    assert!(unknown.message.contains("ghost"), "{unknown:?}");

    let anonymous = send(&mut client, "01ANONYMOUS", None).await;
    assert_eq!(code_of(&anonymous), Code::Unauthorized, "{anonymous:?}");
    assert!(anonymous.message.contains("authorization"), "{anonymous:?}");

    let read_only = send(
        &mut client,
        "01READONLY",
        Some(("readOnly01", "readSecret01")),
    )
    .await;
    assert_eq!(code_of(&read_only), Code::Forbidden, "{read_only:?}");
    assert!(
        read_only
            .message
            .contains("accessKey=readOnly01 lacks PUB permission on topic:GrpcTopic"),
        "{read_only:?}"
    );

    // a topic the account may read only from can still be routed (PUB or SUB)
    let route = client
        .query_route(signed(
            QueryRouteRequest {
                topic: topic(TOPIC),
                endpoints: None,
            },
            Some(("readOnly01", "readSecret01")),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&route.status), Code::Ok, "{route:?}");

    assert_eq!(stored_ids(&server).await, vec!["01ALLOWED".to_string()]);
}

fn group(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.to_string(),
    })
}

async fn receive(
    client: &mut MessagingServiceClient<Channel>,
    group_name: &str,
    credentials: Option<(&str, &str)>,
) -> Status {
    let request = ReceiveMessageRequest {
        group: group(group_name),
        message_queue: Some(ferrocket_proxy::v2::MessageQueue {
            topic: topic(TOPIC),
            id: -1,
            ..Default::default()
        }),
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "*".into(),
        }),
        batch_size: 1,
        invisible_duration: Some(prost_types::Duration {
            seconds: 30,
            nanos: 0,
        }),
        auto_renew: false,
        long_polling_timeout: Some(prost_types::Duration {
            seconds: 1,
            nanos: 0,
        }),
        attempt_id: None,
    };
    let mut stream = client
        .receive_message(signed(request, credentials))
        .await
        .unwrap()
        .into_inner();
    while let Some(answer) = stream.message().await.unwrap() {
        if let Some(receive_message_response::Content::Status(status)) = answer.content {
            return status;
        }
    }
    panic!("ReceiveMessage answered no status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_permissions_and_reload() {
    let (server, dir) = start_with_acl();
    let mut client = plain_client(server.grpc_port).await;
    let app = Some(("appUser01", "appSecret01"));
    assert_eq!(
        code_of(&send(&mut client, "01TORECEIVE", app).await),
        Code::Ok
    );

    let denied = receive(&mut client, "deniedGroup", app).await;
    assert_eq!(code_of(&denied), Code::Forbidden, "{denied:?}");
    assert!(
        denied
            .message
            .contains("accessKey=appUser01 lacks SUB permission on group:deniedGroup"),
        "{denied:?}"
    );
    let unsigned = receive(&mut client, "okGroup", None).await;
    assert_eq!(code_of(&unsigned), Code::Unauthorized, "{unsigned:?}");
    let allowed = receive(&mut client, "okGroup", app).await;
    assert_eq!(code_of(&allowed), Code::Ok, "{allowed:?}");

    // the account loses the topic: the next call is refused without a restart
    let changed = ACL.replace("      - GrpcTopic=PUB|SUB\n", "      - GrpcTopic=SUB\n");
    std::fs::write(dir.path().join("plain_acl.yml"), changed).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = send(&mut client, "01AFTERRELOAD", app).await;
        if code_of(&status) == Code::Forbidden {
            break;
        }
        assert_eq!(code_of(&status), Code::Ok, "{status:?}");
        assert!(
            std::time::Instant::now() < deadline,
            "plain_acl.yml change not applied to gRPC"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
