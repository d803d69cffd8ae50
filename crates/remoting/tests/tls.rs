//! TLS on the remoting port: enforcing, permissive and disabled modes over real loopback
//! sockets, with a certificate made for the test and written as PEM files.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::{code::response, RemotingCommand};
use ferrocket_remoting::{
    Channel, ClientAuth, RemotingClient, RemotingServer, RequestProcessor, TlsMode, TlsSettings,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Echo;

impl RequestProcessor for Echo {
    async fn process_request(&self, _ch: Channel, req: RemotingCommand) -> Option<RemotingCommand> {
        Some(RemotingCommand::response_to(&req, response::SUCCESS).with_body(req.body.clone()))
    }
}

/// Writes a certificate for `localhost` and its PKCS#8 key into `dir`.
fn write_cert(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (c, k) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.cert.pem()).unwrap();
    std::fs::write(&k, cert.key_pair.serialize_pem()).unwrap();
    (c, k)
}

async fn server(settings: &TlsSettings) -> RemotingServer {
    RemotingServer::bind_with_tls(
        "127.0.0.1:0",
        Arc::new(Echo),
        Some(settings.server().unwrap()),
    )
    .await
    .unwrap()
}

fn settings(mode: TlsMode, dir: &Path) -> TlsSettings {
    let (cert, key) = write_cert(dir, "server");
    TlsSettings {
        mode,
        test_mode: false,
        server_cert_path: Some(cert),
        server_key_path: Some(key),
        ..Default::default()
    }
}

async fn ping(client: &RemotingClient, addr: &str) -> Result<Vec<u8>, String> {
    client
        .invoke(
            addr,
            RemotingCommand::request(1).with_body(&b"ping"[..]),
            Duration::from_secs(5),
        )
        .await
        .map(|r| r.body.to_vec())
        .map_err(|e| e.to_string())
}

fn tls_client() -> RemotingClient {
    RemotingClient::new().with_tls(TlsSettings::default().connector().unwrap())
}

/// Whether the server closes a raw connection after `bytes` (reads until EOF or a timeout).
async fn closed_after(addr: &str, bytes: &[u8]) -> bool {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn enforcing_serves_tls_and_closes_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(&settings(TlsMode::Enforcing, dir.path())).await;
    let addr = s.local_addr().to_string();
    assert_eq!(ping(&tls_client(), &addr).await.unwrap(), b"ping");
    let plain = ping(&RemotingClient::new(), &addr).await;
    assert!(plain.is_err(), "plaintext served in enforcing mode");
    // a TLS-looking start with garbage after it closes that connection only
    assert!(closed_after(&addr, &[0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5, 6, 7]).await);
    let client = tls_client();
    assert_eq!(ping(&client, &addr).await.unwrap(), b"ping");
    assert_eq!(ping(&client, &addr).await.unwrap(), b"ping");
}

#[tokio::test]
async fn permissive_serves_both_on_one_port() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(&settings(TlsMode::Permissive, dir.path())).await;
    let addr = s.local_addr().to_string();
    assert_eq!(ping(&tls_client(), &addr).await.unwrap(), b"ping");
    assert_eq!(ping(&RemotingClient::new(), &addr).await.unwrap(), b"ping");
    // the default settings make a self-signed certificate (RocketMQ's test mode)
    let s = server(&TlsSettings::default()).await;
    let addr = s.local_addr().to_string();
    assert_eq!(ping(&tls_client(), &addr).await.unwrap(), b"ping");
    assert_eq!(ping(&RemotingClient::new(), &addr).await.unwrap(), b"ping");
}

#[tokio::test]
async fn disabled_refuses_tls_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(&settings(TlsMode::Disabled, dir.path())).await;
    let addr = s.local_addr().to_string();
    assert!(ping(&tls_client(), &addr).await.is_err());
    assert_eq!(ping(&RemotingClient::new(), &addr).await.unwrap(), b"ping");
}

#[tokio::test]
async fn client_certificates_are_checked_when_required() {
    let dir = tempfile::tempdir().unwrap();
    let (client_cert, client_key) = write_cert(dir.path(), "client");
    let (other_cert, other_key) = write_cert(dir.path(), "other");
    let mut server_settings = settings(TlsMode::Enforcing, dir.path());
    server_settings.need_client_auth = ClientAuth::Require;
    server_settings.server_trust_cert_path = Some(client_cert.clone());
    let s = server(&server_settings).await;
    let addr = s.local_addr().to_string();

    let with = |cert, key| {
        let c = TlsSettings {
            client_cert_path: Some(cert),
            client_key_path: Some(key),
            ..Default::default()
        };
        RemotingClient::new().with_tls(c.connector().unwrap())
    };
    assert_eq!(
        ping(&with(client_cert, client_key), &addr).await.unwrap(),
        b"ping"
    );
    assert!(ping(&with(other_cert, other_key), &addr).await.is_err());
    assert!(ping(&tls_client(), &addr).await.is_err());
}

#[tokio::test]
async fn client_can_verify_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server_settings = settings(TlsMode::Enforcing, dir.path());
    let s = server(&server_settings).await;
    let addr = s.local_addr().to_string().replace("127.0.0.1", "localhost");
    let verify = |trust| {
        let c = TlsSettings {
            client_auth_server: true,
            client_trust_cert_path: Some(trust),
            ..Default::default()
        };
        RemotingClient::new().with_tls(c.connector().unwrap())
    };
    let trusted = verify(server_settings.server_cert_path.clone().unwrap());
    assert_eq!(ping(&trusted, &addr).await.unwrap(), b"ping");
    let (other, _) = write_cert(dir.path(), "other");
    assert!(ping(&verify(other), &addr).await.is_err());
}
