//! Hostile peers against a real `ferrocket standalone`: connections that stall inside 16 MiB
//! frames, idle sockets that would exhaust a low open-file limit, and a client that pipelines
//! more requests than the broker queues. Each test states the bound the broker must keep.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::{RemotingCodec, RemotingCommand, MAX_FRAME_LENGTH};
use ferrocket_remoting::RemotingClient;
use tokio_util::codec::Decoder;

/// Growth of the broker's peak RSS the stalled-frame flood may cause: the default
/// `serverPartialFrameBytesLimit` (128 MiB), the copies made while buffers grow and room for the
/// allocator (the flood without a
/// budget costs 64 × 16 MiB = 1 GiB).
const STALLED_FLOOD_RSS_BOUND_KIB: u64 = 256 * 1024;

/// What the broker may still hold once the stalled connections are gone.
const RELEASED_RSS_SLACK_KIB: u64 = 48 * 1024;

/// The tests of this file run one at a time: each loads the machine, and their many client
/// sockets must not take the ports another test's broker is about to bind.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn poll_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what} not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One request over a fresh client; the response code, or `None` when it failed.
fn try_call(addr: &str, cmd: RemotingCommand) -> Option<i32> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = RemotingClient::new();
        let r = client.invoke(addr, cmd, Duration::from_secs(2)).await;
        client.close_all().await;
        r.ok().map(|r| r.code)
    })
}

/// Creates `topic` on `broker` with `ferrocket admin updateTopic`.
fn update_topic(namesrv: &str, broker: &str, topic: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = ferrocket_testkit::output_within(
        common::ferrocket(
            &[
                "admin",
                "-n",
                namesrv,
                "updateTopic",
                "-b",
                broker,
                "-t",
                topic,
            ],
            dir.path(),
        ),
        Duration::from_secs(30),
    );
    assert!(ok, "{out}\n{err}");
}

#[test]
fn stalled_16_mib_frames_stay_under_the_memory_bound_and_memory_is_released() {
    let _serial = serial();
    let mut server = common::standalone()
        .conf("serverFrameReadTimeoutMillis=3000\n")
        .start();
    let baseline = server.process.memory_kib("VmRSS");
    let fds_before = server.process.open_fds();
    let addr = format!("127.0.0.1:{}", server.broker_port);
    // 64 connections each send all but the last byte of a 16 MiB frame, then stall
    let writers: Vec<_> = (0..64)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(&addr).unwrap();
                let mut left = MAX_FRAME_LENGTH + 4 - 1;
                let mut head = (MAX_FRAME_LENGTH as u32).to_be_bytes().to_vec();
                head.extend_from_slice(&[0, 0, 0, 16]);
                let chunk = vec![b'x'; 256 * 1024];
                if s.write_all(&head).is_err() {
                    return s;
                }
                left -= head.len();
                while left > 0 {
                    let n = left.min(chunk.len());
                    if s.write_all(&chunk[..n]).is_err() {
                        break; // refused by the partial-frame budget
                    }
                    left -= n;
                }
                s
            })
        })
        .collect();
    let sockets: Vec<TcpStream> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let peak = server.process.memory_kib("VmHWM");
    assert!(
        peak.saturating_sub(baseline) < STALLED_FLOOD_RSS_BOUND_KIB,
        "peak RSS {peak} KiB, {} KiB above the {baseline} KiB before the flood",
        peak - baseline
    );
    // the frame deadline closes every stalled connection; their buffers are freed
    poll_until(
        "stalled connections closed",
        Duration::from_secs(20),
        || server.process.open_fds() <= fds_before + 2,
    );
    let mut rss = 0;
    poll_until("memory released", Duration::from_secs(20), || {
        rss = server.process.memory_kib("VmRSS");
        eprintln!("RSS {rss} KiB (baseline {baseline} KiB, peak {peak} KiB)");
        rss < baseline + RELEASED_RSS_SLACK_KIB
    });
    drop(sockets);
    assert_eq!(
        try_call(
            &server.namesrv,
            RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "TBW102"),
        ),
        Some(response::SUCCESS)
    );
    let log = server.process.output_lines().join("\n");
    assert!(
        log.contains("a frame was not completed within 3000 ms"),
        "{log}"
    );
    server.stop();
}

#[test]
fn idle_sockets_under_a_low_fd_limit_are_reaped_and_accept_errors_logged_once_per_burst() {
    let _serial = serial();
    let mut server = common::standalone()
        // registrations every second keep the broker's own connection to the name server busy,
        // as the default 30 s period does under the default 120 s idle timeout
        .conf("serverChannelMaxIdleTimeSeconds=3\nregisterNameServerPeriod=1000\n")
        .start();
    let broker = format!("127.0.0.1:{}", server.broker_port);
    let in_use = server.process.open_fds() as u64;
    server.process.set_open_files_limit(in_use + 100);
    // more idle connections than free descriptors: accept fails with EMFILE
    let idle: Vec<TcpStream> = (0..250)
        .map(|_| TcpStream::connect(&broker).unwrap())
        .collect();
    poll_until("an accept error", Duration::from_secs(10), || {
        server
            .process
            .output_lines()
            .iter()
            .any(|l| l.contains("accept failed"))
    });
    // idle connections are reaped, the backlog drains, and a new client gets through
    poll_until("a new client served", Duration::from_secs(30), || {
        try_call(
            &broker,
            RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO),
        ) == Some(response::SUCCESS)
    });
    assert_eq!(
        try_call(
            &server.namesrv,
            RemotingCommand::request(request::GET_ROUTEINFO_BY_TOPIC).with_ext("topic", "TBW102"),
        ),
        Some(response::SUCCESS)
    );
    drop(idle);
    let lines = server.process.output_lines();
    let failed: Vec<_> = lines
        .iter()
        .filter(|l| l.contains("accept failed"))
        .collect();
    let recovered = lines
        .iter()
        .filter(|l| l.contains("accepting connections again"))
        .count();
    assert!(recovered >= 1, "{lines:#?}");
    assert!(
        failed.len() <= recovered + 1 && failed.len() <= 4,
        "one line per burst of accept errors: {failed:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("closing an idle connection")),
        "{lines:#?}"
    );
    server.stop();
}

fn parked_pull(topic: &str, opaque: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::PULL_MESSAGE)
        .with_ext("consumerGroup", "hostile_group")
        .with_ext("topic", topic)
        .with_ext("queueId", 0)
        .with_ext("queueOffset", 0)
        .with_ext("maxMsgNums", 32)
        .with_ext("sysFlag", 2 | 4) // suspend, subscription
        .with_ext("commitOffset", 0)
        .with_ext("suspendTimeoutMillis", 20_000)
        .with_ext("subscription", "*")
        .with_ext("subVersion", 0)
        .with_ext("expressionType", "TAG");
    cmd.opaque = opaque;
    cmd
}

/// Writes `n` long-poll pulls on one connection without reading, then counts the SYSTEM_BUSY
/// answers that arrive within `window` (parked pulls answer only after 20 s).
fn pipeline_pulls(addr: &str, topic: &str, n: i32, window: Duration) -> (TcpStream, Vec<String>) {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut wire = Vec::new();
    for i in 0..n {
        wire.extend_from_slice(&parked_pull(topic, i + 1).encode());
    }
    s.write_all(&wire).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = BytesMut::new();
    let mut busy = Vec::new();
    let deadline = Instant::now() + window;
    let mut chunk = [0u8; 64 * 1024];
    while Instant::now() < deadline {
        if let Ok(k) = s.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..k]);
        }
        while let Some(r) = RemotingCodec::new().decode(&mut buf).unwrap() {
            assert_eq!(r.code, response::SYSTEM_BUSY, "{:?}", r.remark);
            busy.push(r.remark.unwrap_or_default());
        }
    }
    (s, busy)
}

#[test]
fn a_pipelining_client_gets_system_busy_beyond_the_connection_and_pull_queue_bounds() {
    let _serial = serial();
    let server = common::standalone()
        .conf("serverMaxRequestsPerConnection=16\npullThreadPoolQueueCapacity=24\n")
        .start();
    let broker = format!("127.0.0.1:{}", server.broker_port);
    let topic = ferrocket_testkit::unique("HostilePull");
    update_topic(&server.namesrv, &broker, &topic);

    // one connection: 16 pulls park, the other 24 are refused at once
    let (_first, busy) = pipeline_pulls(&broker, &topic, 40, Duration::from_secs(3));
    assert_eq!(busy.len(), 24, "{busy:?}");
    assert!(
        busy.iter()
            .all(|r| r.starts_with("[OVERLOAD]system busy, start flow control for a while")),
        "{busy:?}"
    );
    // a second connection: the pull queue (parked polls included) holds 8 more
    let (_second, busy) = pipeline_pulls(&broker, &topic, 16, Duration::from_secs(3));
    assert_eq!(busy.len(), 8, "{busy:?}");
    assert!(
        busy.iter()
            .all(|r| r == "[OVERLOAD]system busy, start flow control for a while"),
        "{busy:?}"
    );
    // other queues are not affected
    assert_eq!(
        try_call(
            &broker,
            RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO)
        ),
        Some(response::SUCCESS)
    );
    server.stop();
}

fn send(topic: &str, opaque: i32) -> RemotingCommand {
    let mut cmd = RemotingCommand::request(request::SEND_MESSAGE)
        .with_ext("producerGroup", "hostile_producer")
        .with_ext("topic", topic)
        .with_ext("defaultTopic", "TBW102")
        .with_ext("defaultTopicQueueNums", 4)
        .with_ext("queueId", 0)
        .with_ext("sysFlag", 0)
        .with_ext("bornTimestamp", 1)
        .with_ext("flag", 0)
        .with_ext("properties", "")
        .with_ext("reconsumeTimes", 0)
        .with_ext("unitMode", false)
        .with_body(format!("message {opaque}"));
    cmd.opaque = opaque;
    cmd
}

/// Reads answers from `s` until `n` arrived or `timeout` passed: (opaque, code, remark).
fn read_answers(s: &mut TcpStream, n: usize, timeout: Duration) -> Vec<(i32, i32, String)> {
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut chunk = [0u8; 64 * 1024];
    while out.len() < n && Instant::now() < deadline {
        if let Ok(k) = s.read(&mut chunk) {
            buf.extend_from_slice(&chunk[..k]);
        }
        while let Some(r) = RemotingCodec::new().decode(&mut buf).unwrap() {
            out.push((r.opaque, r.code, r.remark.unwrap_or_default()));
        }
    }
    out
}

/// An append that holds the put lock longer than `osPageCacheBusyTimeOutMills` (a stalled page
/// cache, injected) makes the broker shed sends as RocketMQ's `BrokerFastFailure` does: those
/// waiting in the send queue get SYSTEM_BUSY `[PCBUSY_CLEAN_QUEUE]`, new ones
/// `[REJECTREQUEST]`; the slow one and later ones succeed.
#[test]
fn a_busy_page_cache_sheds_waiting_and_new_sends_with_system_busy() {
    let _serial = serial();
    let server = common::standalone()
        .conf(
            "sendMessageThreadPoolNums=1\nwaitTimeMillsInSendQueue=60000\n\
             osPageCacheBusyTimeOutMills=300\n",
        )
        .env(ferrocket_store::SLOW_PUT_ENV, "2500")
        .start();
    let broker = format!("127.0.0.1:{}", server.broker_port);
    let topic = ferrocket_testkit::unique("PageCacheBusy");
    update_topic(&server.namesrv, &broker, &topic);

    // one send holds the only worker (and the put lock, 2.5 s); two more wait behind it (the
    // three run concurrently: any one of them may be first)
    let mut first = TcpStream::connect(&broker).unwrap();
    let mut wire = Vec::new();
    for opaque in 1..=3 {
        wire.extend_from_slice(&send(&topic, opaque).encode());
    }
    first.write_all(&wire).unwrap();
    let shed = read_answers(&mut first, 2, Duration::from_secs(2));
    assert_eq!(shed.len(), 2, "{shed:?}");
    for (_, code, remark) in &shed {
        assert_eq!(*code, response::SYSTEM_BUSY, "{shed:?}");
        assert!(
            remark.starts_with(
                "[PCBUSY_CLEAN_QUEUE]broker busy, start flow control for a while, period in queue: "
            ),
            "{remark}"
        );
    }
    // a send arriving while the lock is still held is refused at once
    let mut second = TcpStream::connect(&broker).unwrap();
    second.write_all(&send(&topic, 4).encode()).unwrap();
    let rejected = read_answers(&mut second, 1, Duration::from_secs(2));
    assert_eq!(
        rejected,
        vec![(
            4,
            response::SYSTEM_BUSY,
            "[REJECTREQUEST]system busy, start flow control for a while".to_string()
        )]
    );
    // the slow send completes, and the broker takes sends again
    let slow = 6 - shed[0].0 - shed[1].0;
    let done = read_answers(&mut first, 1, Duration::from_secs(10));
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(
        (done[0].0, done[0].1),
        (slow, response::SUCCESS),
        "{done:?}"
    );
    second.write_all(&send(&topic, 5).encode()).unwrap();
    let after = read_answers(&mut second, 1, Duration::from_secs(10));
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(
        (after[0].0, after[0].1),
        (5, response::SUCCESS),
        "{after:?}"
    );
    server.stop();
}
