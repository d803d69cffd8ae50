//! A `ferrocket standalone` with its gRPC port, and v2 clients for it over plaintext and TLS.

#![allow(dead_code)] // each test file uses a different part of this harness

pub mod member;

use std::sync::Arc;
use std::time::Duration;

use ferrocket_client::consumer::pull::{PullConsumer, PullConsumerConfig};
use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::message::MessageExt;
use ferrocket_proxy::v2::messaging_service_client::MessagingServiceClient;
use ferrocket_proxy::v2::*;
use ferrocket_testkit::{free_port, Standalone};
use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint};

/// The topic every test server has, with four queues.
pub const TOPIC: &str = "GrpcTopic";
/// Queues of [`TOPIC`].
pub const QUEUES: i32 = 4;

/// A running server and its gRPC port.
pub struct Server {
    pub standalone: Standalone,
    pub grpc_port: u16,
}

/// Starts `ferrocket standalone` with [`TOPIC`] and a free gRPC port; `conf` is appended.
pub fn start(conf: &str) -> Server {
    start_with_groups(conf, None)
}

/// [`start`] with `config/subscriptionGroup.json` set to `groups` when given.
pub fn start_with_groups(conf: &str, groups: Option<serde_json::Value>) -> Server {
    start_in(None, conf, groups)
}

/// [`start_with_groups`] in `dir` (the store under `dir/store`) when given: a directory that
/// outlives the server, so starting there again is a restart.
pub fn start_in(
    dir: Option<&std::path::Path>,
    conf: &str,
    groups: Option<serde_json::Value>,
) -> Server {
    let grpc_port = free_port();
    let topics = serde_json::json!({"topicConfigTable": {
        TOPIC: {"topicName": TOPIC, "readQueueNums": QUEUES, "writeQueueNums": QUEUES, "perm": 6}
    }});
    let mut builder = Standalone::builder(ferrocket_testkit::ferrocket_bin!())
        .conf(&format!(
            "consoleEnable=false\ngrpcServerPort={grpc_port}\n{conf}"
        ))
        .file("config/topics.json", topics.to_string());
    if let Some(groups) = groups {
        builder = builder.file("config/subscriptionGroup.json", groups.to_string());
    }
    if let Some(dir) = dir {
        builder = builder.dir(dir);
    }
    let standalone = builder.start();
    Server {
        standalone,
        grpc_port,
    }
}

/// A plaintext (h2c) client.
pub async fn plain_client(port: u16) -> MessagingServiceClient<Channel> {
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("plaintext gRPC connection");
    MessagingServiceClient::new(channel)
}

/// A TLS client that, like the v5 clients, accepts any server certificate.
pub async fn tls_client(port: u16) -> MessagingServiceClient<Channel> {
    let mut config = (*ferrocket_remoting::TlsSettings::default()
        .client_config()
        .unwrap())
    .clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_uri| {
            let connector = connector.clone();
            async move {
                let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let tls = connector.connect(name, tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
        .expect("TLS gRPC connection");
    MessagingServiceClient::new(channel)
}

/// `message` with the metadata every v5 client sends.
pub fn request<T>(client_id: &str, message: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("x-mq-client-id", client_id.parse().unwrap());
    r.metadata_mut()
        .insert("x-mq-language", "RUST".parse().unwrap());
    r
}

/// QueryRoute for `name` (none: no topic in the request) as `client_id`.
pub async fn query_route(
    client: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    name: Option<&str>,
) -> QueryRouteResponse {
    client
        .query_route(request(
            client_id,
            QueryRouteRequest {
                topic: name.and_then(topic),
                endpoints: None,
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

/// A topic resource.
pub fn topic(name: &str) -> Option<Resource> {
    Some(Resource {
        resource_namespace: String::new(),
        name: name.to_string(),
    })
}

/// The Settings of a `client_type` client with a 3 s request timeout.
pub fn client_settings(client_type: ClientType, pub_sub: settings::PubSub) -> Settings {
    Settings {
        client_type: Some(client_type as i32),
        request_timeout: Some(prost_types::Duration {
            seconds: 3,
            nanos: 0,
        }),
        pub_sub: Some(pub_sub),
        ..Default::default()
    }
}

/// The Settings of a `client_type` consumer of `group` taking the tags `tags` of [`TOPIC`].
pub fn consumer_settings_of(client_type: ClientType, group: &str, tags: &str) -> Settings {
    let subscription = Subscription {
        group: topic(group),
        subscriptions: vec![SubscriptionEntry {
            topic: topic(TOPIC),
            expression: Some(FilterExpression {
                r#type: FilterType::Tag as i32,
                expression: tags.to_string(),
            }),
        }],
        ..Default::default()
    };
    client_settings(client_type, settings::PubSub::Subscription(subscription))
}

/// Queue -1 of [`TOPIC`]: every queue of it, as a push consumer's assignment names it.
pub fn every_queue() -> Option<ferrocket_proxy::v2::MessageQueue> {
    Some(ferrocket_proxy::v2::MessageQueue {
        topic: topic(TOPIC),
        id: -1,
        ..Default::default()
    })
}

/// A ChangeInvisibleDuration of message `message_id` of [`TOPIC`], named by `handle`, for
/// `group`: visible again `invisible_ms` from now.
pub fn change_invisible_request(
    group: &str,
    handle: &str,
    message_id: &str,
    invisible_ms: i64,
) -> ChangeInvisibleDurationRequest {
    ChangeInvisibleDurationRequest {
        group: topic(group),
        topic: topic(TOPIC),
        receipt_handle: handle.to_string(),
        invisible_duration: millis(invisible_ms),
        message_id: message_id.to_string(),
        ..Default::default()
    }
}

/// `ms` milliseconds as a protobuf duration.
pub fn millis(ms: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    })
}

/// A producer's Settings for [`TOPIC`].
pub fn producer_settings() -> Settings {
    let publishing = Publishing {
        topics: vec![topic(TOPIC).unwrap()],
        max_body_size: 0,
        validate_message_type: true,
    };
    client_settings(
        ClientType::Producer,
        settings::PubSub::Publishing(publishing),
    )
}

/// The client's side of a Telemetry stream, with `settings` already queued as its first command.
async fn settings_first(
    settings: Settings,
) -> (
    tokio::sync::mpsc::Sender<TelemetryCommand>,
    tokio_stream::wrappers::ReceiverStream<TelemetryCommand>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(TelemetryCommand {
        status: None,
        command: Some(telemetry_command::Command::Settings(settings)),
    })
    .await
    .unwrap();
    (tx, tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Opens Telemetry, sends `settings` and returns the server's answer (the stream stays open
/// while the returned sender lives).
pub async fn exchange_settings(
    client: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    settings: Settings,
) -> (
    Result<TelemetryCommand, tonic::Status>,
    tokio::sync::mpsc::Sender<TelemetryCommand>,
) {
    let (tx, outbound) = settings_first(settings).await;
    let answer = async {
        let mut inbound = client
            .telemetry(request(client_id, outbound))
            .await?
            .into_inner();
        match inbound.message().await? {
            Some(m) => Ok(m),
            None => Err(tonic::Status::unknown("telemetry ended without an answer")),
        }
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("settings answered in time");
    (answer, tx)
}

/// Opens Telemetry, sends `settings` and asserts the answer is OK; keeps both directions: what
/// the server sends after the settings answer arrives on the returned stream.
pub async fn open_telemetry(
    client: &mut MessagingServiceClient<Channel>,
    client_id: &str,
    settings: Settings,
) -> (
    tokio::sync::mpsc::Sender<TelemetryCommand>,
    tonic::Streaming<TelemetryCommand>,
) {
    let (tx, outbound) = settings_first(settings).await;
    let mut inbound = client
        .telemetry(request(client_id, outbound))
        .await
        .unwrap()
        .into_inner();
    let answer = tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .expect("settings answered in time")
        .unwrap()
        .expect("a settings answer");
    assert_eq!(code(&answer.status), Code::Ok, "{answer:?}");
    (tx, inbound)
}

/// A message for [`TOPIC`] with id `id`.
pub fn message(id: &str, body: &[u8]) -> Message {
    Message {
        topic: topic(TOPIC),
        user_properties: Default::default(),
        system_properties: Some(SystemProperties {
            message_id: id.to_string(),
            message_type: MessageType::Normal as i32,
            ..Default::default()
        }),
        body: bytes::Bytes::copy_from_slice(body),
    }
}

/// The status code of a response.
pub fn code(status: &Option<Status>) -> Code {
    Code::try_from(status.as_ref().expect("a status").code).unwrap()
}

/// Every message stored in [`TOPIC`], read by a remoting pull consumer.
pub async fn stored_messages(server: &Server) -> Vec<MessageExt> {
    stored_messages_as(server, None).await
}

/// [`stored_messages`], the consumer signing its requests with `credentials` (ACL).
pub async fn stored_messages_as(
    server: &Server,
    credentials: Option<ferrocket_acl::SessionCredentials>,
) -> Vec<MessageExt> {
    let mut config = PullConsumerConfig::new("grpc_test_reader", server.standalone.namesrv.clone());
    config.client.credentials = credentials;
    let consumer = PullConsumer::start(config).await.unwrap();
    let mut all = Vec::new();
    for queue_id in 0..QUEUES {
        let mq = MessageQueue {
            topic: TOPIC.to_string(),
            broker_name: broker_name(),
            queue_id,
        };
        let result = consumer.pull(&mq, "*", 0, 32).await.unwrap();
        all.extend(result.msgs);
    }
    all
}

/// The broker name of a standalone started with defaults.
pub fn broker_name() -> String {
    ferrocket_broker::BrokerConfig::default().broker_name
}
