//! Bad input: illegal messages and topics, unknown codes, malformed frames.
//!
//! A real `BrokerController` on a temporary store and a free loopback port, driven over TCP.

mod common;

use common::*;
use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn illegal_messages_are_refused() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();

    let big = vec![b'x'; 4 * 1024 * 1024 + 1];
    let r = call(&client, &b.addr, send_v2("BigTopic", 0, None, &big)).await;
    assert_eq!(r.code, response::MESSAGE_ILLEGAL);
    let remark = r.remark.unwrap();
    assert!(
        remark.contains("4194305") && remark.contains("4194304"),
        "{remark}"
    );

    let r = call(&client, &b.addr, send_v2("EmptyTopic", 0, None, b"")).await;
    assert_eq!(r.code, response::MESSAGE_ILLEGAL);

    for bad in ["with space", &"a".repeat(128)] {
        let r = call(&client, &b.addr, send_v2(bad, 0, None, b"x")).await;
        assert_eq!(r.code, response::INVALID_PARAMETER, "{bad}");
        assert!(r.remark.is_some());
    }
    let r = call(
        &client,
        &b.addr,
        send_v2("SCHEDULE_TOPIC_XXXX", 0, None, b"x"),
    )
    .await;
    assert_eq!(r.code, response::NO_PERMISSION);

    let r = call(&client, &b.addr, send_v2("QueueTopic", 99, None, b"x")).await;
    assert_eq!(
        r.code,
        response::INVALID_PARAMETER,
        "queueId beyond the queues"
    );

    let bad_header = send_v2("T", 0, None, b"x").with_ext("e", "not-a-number");
    let r = call(&client, &b.addr, bad_header).await;
    assert_eq!(r.code, response::SYSTEM_ERROR);
    assert!(r.remark.unwrap().contains("'e'"));
    b.broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_codes_and_bad_frames_are_contained() {
    let b = TestBroker::start().await;
    let client = RemotingClient::new();
    let r = call(&client, &b.addr, RemotingCommand::request(9999)).await;
    assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert_eq!(r.version, 479);

    // garbage: a valid length followed by an unknown serialize type
    let mut garbage = TcpStream::connect(&b.addr).await.unwrap();
    garbage
        .write_all(&[0, 0, 0, 8, 9, 0, 0, 0, 1, 2, 3, 4])
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(PROMPT, garbage.read(&mut buf))
        .await
        .expect("closed promptly");
    assert!(matches!(n, Ok(0) | Err(_)), "connection closed");

    // a frame claiming 2 GiB
    let mut huge = TcpStream::connect(&b.addr).await.unwrap();
    huge.write_all(&[0x80, 0, 0, 0, 0, 0, 0, 0]).await.unwrap();
    let n = tokio::time::timeout(PROMPT, huge.read(&mut buf))
        .await
        .expect("closed promptly");
    assert!(matches!(n, Ok(0) | Err(_)), "connection closed");

    // the broker still serves the established client
    send_ok(&client, &b.addr, "StillAlive", 0, None, b"x").await;
    b.broker.shutdown().await;
}
