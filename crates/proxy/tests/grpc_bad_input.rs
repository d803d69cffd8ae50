//! Hostile and malformed input on the gRPC port: every bad call gets a clear status, nothing is
//! stored, and the port keeps serving.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use ferrocket_proxy::v2::*;

const CLIENT: &str = "bad-input@1@1";

async fn send(
    client: &mut messaging_service_client::MessagingServiceClient<tonic::transport::Channel>,
    messages: Vec<Message>,
) -> SendMessageResponse {
    client
        .send_message(request(CLIENT, SendMessageRequest { messages }))
        .await
        .unwrap()
        .into_inner()
}

/// Route lookups that still work prove the port serves after the abuse.
async fn route_ok(port: u16) {
    let mut client = plain_client(port).await;
    let route = query_route(&mut client, CLIENT, Some(TOPIC)).await;
    assert_eq!(code(&route.status), Code::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_calls_get_a_clear_status_and_store_nothing() {
    let server = start("");
    let mut client = plain_client(server.grpc_port).await;

    // no x-mq-client-id
    let route = client
        .query_route(tonic::Request::new(QueryRouteRequest {
            topic: topic(TOPIC),
            endpoints: None,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&route.status), Code::ClientIdRequired);

    // missing, illegal, system and unknown topics
    for (name, expected) in [
        (None, Code::IllegalTopic),
        (Some("bad topic!"), Code::IllegalTopic),
        (Some("TBW102"), Code::IllegalTopic),
        (Some("NoSuchTopic"), Code::TopicNotFound),
    ] {
        let route = query_route(&mut client, CLIENT, name).await;
        assert_eq!(code(&route.status), expected, "{name:?}");
        assert!(route.message_queues.is_empty());
    }

    // a heartbeat before any settings
    let beat = client
        .heartbeat(request(CLIENT, HeartbeatRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&beat.status), Code::UnrecognizedClientType);

    // malformed sends
    assert_eq!(
        code(&send(&mut client, vec![]).await.status),
        Code::MessageCorrupted
    );
    let mut no_id = message("", b"x");
    no_id.system_properties = None;
    assert_eq!(
        code(&send(&mut client, vec![no_id]).await.status),
        Code::IllegalMessageId
    );
    assert_eq!(
        code(
            &send(&mut client, vec![message("01EMPTY", b"")])
                .await
                .status
        ),
        Code::MessageBodyEmpty
    );
    let mut reserved = message("01RESERVED", b"x");
    reserved
        .user_properties
        .insert("UNIQ_KEY".into(), "forged".into());
    assert_eq!(
        code(&send(&mut client, vec![reserved]).await.status),
        Code::IllegalMessagePropertyKey
    );
    let mut bad_tag = message("01TAG", b"x");
    bad_tag.system_properties.as_mut().unwrap().tag = Some("a|b".into());
    assert_eq!(
        code(&send(&mut client, vec![bad_tag]).await.status),
        Code::IllegalMessageTag
    );
    let mut far = message("01FAR", b"x");
    far.system_properties.as_mut().unwrap().delivery_timestamp = Some(prost_types::Timestamp {
        seconds: 4_000_000_000,
        nanos: 0,
    });
    assert_eq!(
        code(&send(&mut client, vec![far]).await.status),
        Code::IllegalDeliveryTime
    );
    let mut mixed = message("01MIXED", b"x");
    mixed.topic = topic("OtherTopic");
    assert_eq!(
        code(
            &send(&mut client, vec![message("01OK", b"x"), mixed])
                .await
                .status
        ),
        Code::MessageCorrupted
    );
    // an end of transaction names a transaction this server holds
    for transaction_id in ["", "01NOSUCHTX"] {
        let end = client
            .end_transaction(request(
                CLIENT,
                EndTransactionRequest {
                    topic: topic(TOPIC),
                    message_id: "01TX".into(),
                    transaction_id: transaction_id.into(),
                    resolution: TransactionResolution::Commit as i32,
                    source: TransactionSource::SourceClient as i32,
                    trace_context: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&end.status), Code::InvalidTransactionId, "{end:?}");
    }
    let too_big = message("01BIG", &vec![b'x'; 4 * 1024 * 1024 + 1]);
    assert_eq!(
        code(&send(&mut client, vec![too_big]).await.status),
        Code::MessageBodyTooLarge
    );

    // larger than grpcMaxInboundMessageSize: refused by the transport before it is buffered
    let oversized = message("01HUGE", &vec![b'x'; 17 * 1024 * 1024]);
    let refused = client
        .send_message(request(
            CLIENT,
            SendMessageRequest {
                messages: vec![oversized],
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::OutOfRange, "{refused:?}");

    // consumer calls without a topic: a v2 status inside the answer; a receive's stream ends
    // with the delivery timestamp, as Apache's stream writer ends every one
    let ack = client
        .ack_message(request(CLIENT, AckMessageRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&ack.status), Code::IllegalTopic);
    let mut receive = client
        .receive_message(request(CLIENT, ReceiveMessageRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let first = receive.message().await.unwrap().unwrap();
    assert!(matches!(
        first.content,
        Some(receive_message_response::Content::Status(ref s)) if s.code == Code::IllegalTopic as i32
    ));
    let last = receive.message().await.unwrap().unwrap();
    assert!(matches!(
        last.content,
        Some(receive_message_response::Content::DeliveryTimestamp(_))
    ));
    assert!(receive.message().await.unwrap().is_none());
    // calls not served: gRPC UNIMPLEMENTED as Apache's proxy
    let pull = client
        .update_offset(request(CLIENT, UpdateOffsetRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(pull.code(), tonic::Code::Unimplemented);

    // a method the service does not have
    let mut grpc = tonic::client::Grpc::new(
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", server.grpc_port))
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    grpc.ready().await.unwrap();
    let unknown = grpc
        .unary::<_, HeartbeatResponse, _>(
            request(CLIENT, HeartbeatRequest::default()),
            "/apache.rocketmq.v2.MessagingService/NoSuchMethod"
                .parse()
                .unwrap(),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::Unimplemented);

    // Telemetry without a client id, and with settings of no known client type
    let (answer, _open) = exchange_settings(&mut client, "", producer_settings()).await;
    assert_eq!(answer.unwrap_err().code(), tonic::Code::InvalidArgument);
    let (answer, _open) = exchange_settings(&mut client, CLIENT, Settings::default()).await;
    assert_eq!(answer.unwrap_err().code(), tonic::Code::InvalidArgument);

    assert!(
        stored_messages(&server).await.is_empty(),
        "a refused send stored something"
    );
    route_ok(server.grpc_port).await;
}

/// Reads what the server sends until it closes, within 10 s.
fn read_until_closed(mut stream: TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_http1_are_closed_and_the_port_keeps_serving() {
    let server = start("");
    let port = server.grpc_port;
    let garbage = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(&[0u8, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])
            .unwrap();
        read_until_closed(s)
    })
    .await
    .unwrap();
    assert!(
        !garbage.starts_with(b"HTTP/1.1 200"),
        "garbage got an answer: {garbage:?}"
    );
    let http1 = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .unwrap();
        read_until_closed(s)
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&http1);
    assert!(
        text.starts_with("HTTP/1.1 505 HTTP Version Not Supported"),
        "{text}"
    );
    // a silent connection does not hold the port
    let _silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    route_ok(port).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_connection_is_closed_and_a_live_idle_one_is_kept() {
    let mut server = start("serverChannelMaxIdleTimeSeconds=2\n");
    let port = server.grpc_port;
    let mut live = plain_client(port).await;
    let stalled = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        // half a preface, then nothing
        s.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
        let started = std::time::Instant::now();
        read_until_closed(s);
        started.elapsed()
    })
    .await
    .unwrap();
    assert!(
        stalled < Duration::from_secs(8),
        "a stalled connection was held {stalled:?}"
    );
    // idle longer than the timeout, but answering the server's PINGs
    tokio::time::sleep(Duration::from_secs(3)).await;
    let route = query_route(&mut live, CLIENT, Some(TOPIC)).await;
    assert_eq!(code(&route.status), Code::Ok);
    let closed = server
        .standalone
        .process
        .output_lines()
        .into_iter()
        .filter(|l| l.contains("closing an idle gRPC connection"))
        .count();
    assert_eq!(closed, 1, "only the stalled connection is closed as idle");
}
