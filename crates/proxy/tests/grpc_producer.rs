//! The v5 producer's calls against the real binary: Settings on Telemetry, QueryRoute,
//! Heartbeat, SendMessage (NORMAL, FIFO, DELAY) and NotifyClientTermination, over plaintext
//! and TLS on the same port; what was sent is read back by a remoting pull consumer.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use ferrocket_protocol::message::property;
use ferrocket_protocol::util::java_hash;
use ferrocket_proxy::v2::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producer_start_up_route_and_sends_over_plaintext_and_tls() {
    let server = start("");
    for (transport, mut client) in [
        ("plaintext", plain_client(server.grpc_port).await),
        ("tls", tls_client(server.grpc_port).await),
    ] {
        let client_id = format!("test-{transport}@1@1");
        let (answer, _telemetry) =
            exchange_settings(&mut client, &client_id, producer_settings()).await;
        let answer = answer.unwrap();
        assert_eq!(code(&answer.status), Code::Ok, "{transport}");
        let Some(telemetry_command::Command::Settings(settings)) = answer.command else {
            panic!("settings answered with {answer:?}");
        };
        let Some(settings::PubSub::Publishing(publishing)) = settings.pub_sub else {
            panic!("no publishing in {settings:?}");
        };
        assert!(publishing.max_body_size >= 4 * 1024 * 1024);
        let backoff = settings.backoff_policy.unwrap();
        assert!(matches!(
            backoff.strategy,
            Some(retry_policy::Strategy::ExponentialBackoff(_))
        ));

        let route = query_route(&mut client, &client_id, Some(TOPIC)).await;
        assert_eq!(code(&route.status), Code::Ok);
        assert_eq!(route.message_queues.len(), QUEUES as usize);
        let broker = route.message_queues[0].broker.as_ref().unwrap();
        let address = &broker.endpoints.as_ref().unwrap().addresses[0];
        assert_eq!(
            (address.host.as_str(), address.port),
            ("127.0.0.1", i32::from(server.grpc_port))
        );
        assert!(route
            .message_queues
            .iter()
            .all(|q| q.permission == Permission::ReadWrite as i32
                && q.accept_message_types.contains(&(MessageType::Fifo as i32))));

        let beat = client
            .heartbeat(request(&client_id, HeartbeatRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&beat.status), Code::Ok);
    }

    let mut client = plain_client(server.grpc_port).await;
    let client_id = "sender@1@1";
    let (_answer, _telemetry) =
        exchange_settings(&mut client, client_id, producer_settings()).await;
    let mut normal = message("01NORMAL", b"normal body");
    {
        let system = normal.system_properties.as_mut().unwrap();
        system.tag = Some("TagA".into());
        system.keys = vec!["k1".into(), "k2".into()];
    }
    normal.user_properties.insert("color".into(), "red".into());
    let mut fifo = message("01FIFO", b"fifo body");
    {
        let system = fifo.system_properties.as_mut().unwrap();
        system.message_type = MessageType::Fifo as i32;
        system.message_group = Some("order-42".into());
    }
    let deliver_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 2_000;
    let mut delay = message("01DELAY", b"delay body");
    {
        let system = delay.system_properties.as_mut().unwrap();
        system.message_type = MessageType::Delay as i32;
        system.delivery_timestamp = Some(prost_types::Timestamp {
            seconds: deliver_ms / 1000,
            nanos: ((deliver_ms % 1000) * 1_000_000) as i32,
        });
    }
    for m in [normal, fifo, delay] {
        let id = m.system_properties.as_ref().unwrap().message_id.clone();
        let sent = client
            .send_message(request(client_id, SendMessageRequest { messages: vec![m] }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(code(&sent.status), Code::Ok, "{id}: {sent:?}");
        assert_eq!(sent.entries.len(), 1);
        assert_eq!(sent.entries[0].message_id, id);
    }

    // the delayed message shows up once its time has come
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let stored = loop {
        let stored = stored_messages(&server).await;
        if stored.len() >= 3 || std::time::Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let find = |id: &str| {
        stored
            .iter()
            .find(|m| m.message.properties.get(property::UNIQ_KEY) == Some(id))
            .unwrap_or_else(|| panic!("{id} not stored: {stored:?}"))
    };
    let n = find("01NORMAL");
    assert_eq!(n.message.properties.get(property::TAGS), Some("TagA"));
    assert_eq!(n.message.properties.get(property::KEYS), Some("k1 k2"));
    assert_eq!(n.message.properties.get("color"), Some("red"));
    assert_eq!(&n.message.body[..], b"normal body");
    let f = find("01FIFO");
    assert_eq!(
        f.message.properties.get(property::SHARDING_KEY),
        Some("order-42")
    );
    assert_eq!(
        f.queue_id,
        (java_hash("order-42").unsigned_abs() % QUEUES as u32) as i32
    );
    let d = find("01DELAY");
    assert!(
        d.store_timestamp >= deliver_ms - 50,
        "delivered early: stored {} for {deliver_ms}",
        d.store_timestamp
    );

    let bye = client
        .notify_client_termination(request(
            client_id,
            NotifyClientTerminationRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&bye.status), Code::Ok);
    let beat = client
        .heartbeat(request(client_id, HeartbeatRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&beat.status), Code::UnrecognizedClientType);
}

#[test]
fn grpc_server_enable_false_leaves_the_port_closed() {
    let mut server = start("grpcServerEnable=false\n");
    assert!(std::net::TcpStream::connect(("127.0.0.1", server.grpc_port)).is_err());
    let lines = server.standalone.process.output_lines();
    assert!(
        !lines.iter().any(|l| l.starts_with("gRPC: ")),
        "a gRPC port was announced: {lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_enforcing_serves_tls_and_closes_plaintext() {
    let server = start("tls.server.mode=enforcing\n");
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{}", server.grpc_port))
            .unwrap()
            .connect_lazy();
    let mut plain = messaging_service_client::MessagingServiceClient::new(channel);
    let refused = tokio::time::timeout(
        Duration::from_secs(10),
        plain.query_route(request(
            "plain@1@1",
            QueryRouteRequest {
                topic: topic(TOPIC),
                endpoints: None,
            },
        )),
    )
    .await
    .expect("a plaintext call is refused at once, not left hanging");
    assert!(
        refused.is_err(),
        "plaintext served under enforcing: {refused:?}"
    );
    let mut tls = tls_client(server.grpc_port).await;
    let route = query_route(&mut tls, "tls@1@1", Some(TOPIC)).await;
    assert_eq!(code(&route.status), Code::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_gets_one_entry_per_message() {
    let server = start("");
    let mut client = plain_client(server.grpc_port).await;
    let messages = vec![message("01BATCH1", b"one"), message("01BATCH2", b"two")];
    let sent = client
        .send_message(request("batch@1@1", SendMessageRequest { messages }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(code(&sent.status), Code::Ok, "{sent:?}");
    let ids: Vec<&str> = sent.entries.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(ids, ["01BATCH1", "01BATCH2"]);
    assert!(sent.entries.iter().all(|e| code(&e.status) == Code::Ok));
    assert_eq!(stored_messages(&server).await.len(), 2);
}
