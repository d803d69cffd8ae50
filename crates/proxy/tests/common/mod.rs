//! A `ferrocket standalone` with its gRPC port, and v2 clients for it over plaintext and TLS.

#![allow(dead_code)] // each test file uses a different part of this harness

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
    let grpc_port = free_port();
    let topics = serde_json::json!({"topicConfigTable": {
        TOPIC: {"topicName": TOPIC, "readQueueNums": QUEUES, "writeQueueNums": QUEUES, "perm": 6}
    }});
    let standalone = Standalone::builder(ferrocket_testkit::ferrocket_bin!())
        .conf(&format!(
            "consoleEnable=false\ngrpcServerPort={grpc_port}\n{conf}"
        ))
        .file("config/topics.json", topics.to_string())
        .start();
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

/// A producer's Settings for [`TOPIC`].
pub fn producer_settings() -> Settings {
    Settings {
        client_type: Some(ClientType::Producer as i32),
        request_timeout: Some(prost_types::Duration {
            seconds: 3,
            nanos: 0,
        }),
        pub_sub: Some(settings::PubSub::Publishing(Publishing {
            topics: vec![topic(TOPIC).unwrap()],
            max_body_size: 0,
            validate_message_type: true,
        })),
        ..Default::default()
    }
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
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(TelemetryCommand {
        status: None,
        command: Some(telemetry_command::Command::Settings(settings)),
    })
    .await
    .unwrap();
    let outbound = tokio_stream::wrappers::ReceiverStream::new(rx);
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
    let consumer = PullConsumer::start(PullConsumerConfig::new(
        "grpc_test_reader",
        server.standalone.namesrv.clone(),
    ))
    .await
    .unwrap();
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
