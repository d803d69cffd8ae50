//! Server and client over real loopback sockets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::{code::response, RemotingCommand};
use ferrocket_remoting::{
    unsupported_request, Channel, RemotingClient, RemotingServer, RequestProcessor,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Echo;

/// Set by request code 4 when it is done.
static SLOW_REQUEST_FINISHED: AtomicBool = AtomicBool::new(false);

impl RequestProcessor for Echo {
    async fn process_request(&self, _ch: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        match req.code {
            1 => Some(
                RemotingCommand::response_to(&req, response::SUCCESS).with_body(req.body.clone()),
            ),
            2 => {
                // a slow request must not hold back the ones behind it
                tokio::time::sleep(Duration::from_millis(300)).await;
                Some(RemotingCommand::response_to(&req, response::SUCCESS))
            }
            3 => panic!("request 3 always fails"),
            4 => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                SLOW_REQUEST_FINISHED.store(true, Ordering::SeqCst);
                Some(RemotingCommand::response_to(&req, response::SUCCESS))
            }
            _ => Some(unsupported_request(&req)),
        }
    }
}

async fn server() -> RemotingServer {
    RemotingServer::bind("127.0.0.1:0", Arc::new(Echo))
        .await
        .unwrap()
}

#[tokio::test]
async fn request_response_and_unknown_code() {
    let s = server().await;
    let addr = s.local_addr().to_string();
    let client = RemotingClient::new();
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(1).with_body(&b"ping"[..]),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
    assert_eq!(&r.body[..], b"ping");
    assert!(r.is_response());
    let r = client
        .invoke(
            &addr,
            RemotingCommand::request(9999),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::REQUEST_CODE_NOT_SUPPORTED);
    assert!(r.remark.unwrap().contains("9999"));
}

#[tokio::test]
async fn requests_on_one_connection_run_concurrently() {
    let s = server().await;
    let addr = s.local_addr().to_string();
    let client = RemotingClient::new();
    let slow = client.invoke(&addr, RemotingCommand::request(2), Duration::from_secs(3));
    let fast = async {
        client
            .invoke(&addr, RemotingCommand::request(1), Duration::from_secs(3))
            .await
            .unwrap();
        std::time::Instant::now()
    };
    let start = std::time::Instant::now();
    let (slow, fast_done) = tokio::join!(slow, fast);
    slow.unwrap();
    assert!(fast_done.duration_since(start) < Duration::from_millis(250));
}

#[tokio::test]
async fn garbage_and_huge_frames_close_only_that_connection() {
    let s = server().await;
    let addr = s.local_addr();
    for junk in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        vec![0, 0, 0, 8, 9, 0, 0, 1, b'{', 0, 0, 0],
    ] {
        let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
        sock.write_all(&junk).await.unwrap();
        let mut buf = [0u8; 16];
        let n = tokio::time::timeout(Duration::from_secs(3), sock.read(&mut buf))
            .await
            .expect("server must close a connection that sent garbage")
            .unwrap_or(0);
        assert_eq!(n, 0, "no reply to garbage");
    }
    // the server still answers a well-behaved client
    let r = RemotingClient::new()
        .invoke(
            &addr.to_string(),
            RemotingCommand::request(1),
            Duration::from_secs(3),
        )
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
}

#[tokio::test]
async fn oneway_requests_get_no_reply_and_timeouts_are_reported() {
    let s = server().await;
    let addr = s.local_addr().to_string();
    let client = RemotingClient::new();
    client
        .invoke_oneway(&addr, RemotingCommand::request(1))
        .await
        .unwrap();
    let err = client
        .invoke(
            &addr,
            RemotingCommand::request(2),
            Duration::from_millis(50),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    let err = client
        .invoke(
            "127.0.0.1:1",
            RemotingCommand::request(1),
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
}

async fn server_with(config: ferrocket_remoting::ServerConfig) -> RemotingServer {
    RemotingServer::bind_with("127.0.0.1:0", Arc::new(Echo), config)
        .await
        .unwrap()
}

/// Reads until the peer closes (true) or `within` passes (false).
async fn closed_within(s: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 64];
    matches!(
        tokio::time::timeout(within, s.read(&mut buf)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_on_accept() {
    let s = server_with(ferrocket_remoting::ServerConfig {
        max_connections: 2,
        ..Default::default()
    })
    .await;
    let addr = s.local_addr().to_string();
    let mut first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = tokio::net::TcpStream::connect(&addr).await.unwrap();
    assert!(closed_within(&mut third, Duration::from_secs(5)).await);
    assert!(!closed_within(&mut first, Duration::from_millis(100)).await);
    assert!(!closed_within(&mut second, Duration::from_millis(100)).await);
    // a place frees when a connection leaves
    drop(first);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = RemotingClient::new();
    let r = client
        .invoke(&addr, RemotingCommand::request(1), Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
}

#[tokio::test]
async fn requests_beyond_the_per_connection_bound_are_answered_system_busy() {
    let s = server_with(ferrocket_remoting::ServerConfig {
        max_requests_per_connection: 2,
        ..Default::default()
    })
    .await;
    let mut raw = tokio::net::TcpStream::connect(s.local_addr())
        .await
        .unwrap();
    let mut wire = Vec::new();
    for opaque in 1..=5 {
        let mut slow = RemotingCommand::request(2);
        slow.opaque = opaque;
        wire.extend_from_slice(&slow.encode());
    }
    raw.write_all(&wire).await.unwrap();
    let mut codec = ferrocket_protocol::RemotingCodec::new();
    let mut buf = bytes::BytesMut::new();
    let mut answers = Vec::new();
    while answers.len() < 5 {
        raw.read_buf(&mut buf).await.unwrap();
        while let Some(r) = tokio_util::codec::Decoder::decode(&mut codec, &mut buf).unwrap() {
            answers.push((r.opaque, r.code, r.remark));
        }
    }
    // the three refused come first (the two admitted sleep 300 ms)
    for (opaque, code, remark) in &answers[..3] {
        assert_eq!(*code, response::SYSTEM_BUSY, "opaque {opaque}");
        assert!(remark
            .as_deref()
            .unwrap()
            .starts_with(ferrocket_remoting::OVERLOAD_REMARK));
    }
    assert!(answers[3..].iter().all(|a| a.1 == response::SUCCESS));
}

#[tokio::test]
async fn a_panicking_request_gets_no_answer_and_its_connection_goes_on() {
    let s = server().await;
    let addr = s.local_addr().to_string();
    let client = RemotingClient::new();
    let err = client
        .invoke(
            &addr,
            RemotingCommand::request(3),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    // the same connection still serves requests
    let r = client
        .invoke(&addr, RemotingCommand::request(1), Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(r.code, response::SUCCESS);
}

#[tokio::test]
async fn a_request_still_running_when_its_connection_closes_finishes() {
    let s = server().await;
    let mut raw = tokio::net::TcpStream::connect(s.local_addr())
        .await
        .unwrap();
    raw.write_all(&RemotingCommand::request(4).encode())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(raw);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while !SLOW_REQUEST_FINISHED.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request was dropped with its connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A peer that sends requests and reads none of the answers: the server stops reading once a
/// bounded amount of answers waits for it, instead of buffering without end, and every request
/// it did take is answered once the peer reads.
#[tokio::test]
async fn a_peer_that_reads_no_answers_is_read_no_further_and_loses_nothing() {
    const REQUESTS: i32 = 2048;
    const BODY: usize = 64 * 1024;
    let s = server_with(ferrocket_remoting::ServerConfig {
        max_requests_per_connection: 8,
        ..Default::default()
    })
    .await;
    let raw = tokio::net::TcpStream::connect(s.local_addr())
        .await
        .unwrap();
    let (mut rd, mut wr) = raw.into_split();
    let written = Arc::new(std::sync::atomic::AtomicI32::new(0));
    let counter = written.clone();
    let writer = tokio::spawn(async move {
        let body = bytes::Bytes::from(vec![7u8; BODY]);
        for opaque in 1..=REQUESTS {
            let mut echo = RemotingCommand::request(1).with_body(body.clone());
            echo.opaque = opaque;
            wr.write_all(&echo.encode()).await.unwrap();
            counter.store(opaque, Ordering::SeqCst);
        }
        wr
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = written.load(Ordering::SeqCst);
    // 128 MiB offered; what is taken is the server's bounds plus the kernel's socket buffers
    assert!(
        sent < REQUESTS / 2,
        "the server kept reading a peer that reads nothing: {sent} requests taken"
    );
    let mut codec = ferrocket_protocol::RemotingCodec::new();
    let mut buf = bytes::BytesMut::new();
    let mut answered = Vec::new();
    while answered.len() < REQUESTS as usize {
        tokio::time::timeout(Duration::from_secs(10), rd.read_buf(&mut buf))
            .await
            .expect("answers stopped")
            .unwrap();
        while let Some(r) = tokio_util::codec::Decoder::decode(&mut codec, &mut buf).unwrap() {
            assert_eq!(r.code, response::SUCCESS, "opaque {}", r.opaque);
            assert_eq!(r.body.len(), BODY);
            answered.push(r.opaque);
        }
    }
    answered.sort_unstable();
    assert!(
        answered.iter().copied().eq(1..=REQUESTS),
        "each request answered once"
    );
    writer.await.unwrap();
}
