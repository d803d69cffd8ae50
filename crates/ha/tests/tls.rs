//! The HA port with the broker's TLS settings: a master and a slave store over loopback,
//! replicating over TLS, plaintext slaves refused or served as `tls.server.mode` says, and bad
//! handshakes closing only their own connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ferrocket_ha::HaTls;
use ferrocket_remoting::{TlsMode, TlsSettings};
use ferrocket_store::{BrokerRole, DefaultMessageStore, PutMessageStatus};

mod common;
use common::*;

/// The HA side of a broker with `tls.server.mode=mode` and `tls.enable=client_enable`, as
/// the broker builds it (self-signed certificate: `tls.test.mode.enable` defaults to true).
fn broker_tls(mode: TlsMode, client_enable: bool) -> HaTls {
    let settings = TlsSettings {
        mode,
        client_enable,
        ..Default::default()
    };
    HaTls {
        server: Some(settings.server().unwrap()),
        client: settings
            .client_uses_tls()
            .then(|| settings.client_config().unwrap()),
    }
}

async fn put(store: &DefaultMessageStore, range: std::ops::Range<usize>) {
    for i in range {
        assert_eq!(
            store.put_message(msg(i)).await.status,
            PutMessageStatus::PutOk
        );
    }
}

fn caught_up(slave: &Node, master: &Node) -> bool {
    slave.store.get_max_phy_offset() == master.store.get_max_phy_offset()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforcing_master_and_slave_replicate_over_tls_and_refuse_plaintext() {
    let (md, sd, pd) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let master = Node::start_with_tls(
        md.path(),
        BrokerRole::AsyncMaster,
        broker_tls(TlsMode::Enforcing, true),
    );
    put(&master.store, 0..200).await;
    let slave = Node::start_with_tls(
        sd.path(),
        BrokerRole::Slave,
        broker_tls(TlsMode::Enforcing, true),
    );
    slave.follow(&master);
    wait_until("catch-up over TLS", Duration::from_secs(20), || {
        caught_up(&slave, &master)
    });

    // a classic plaintext slave (an Apache broker without TLS) is refused
    let plain = Node::start_with_tls(pd.path(), BrokerRole::Slave, HaTls::default());
    plain.follow(&master);
    let mut raw = TcpStream::connect(master.addr).unwrap();
    raw.write_all(&0i64.to_be_bytes()).unwrap();
    assert!(closed_by_peer(&mut raw), "a plaintext report is closed");
    // a garbage handshake closes only its own connection
    let mut garbage = TcpStream::connect(master.addr).unwrap();
    garbage
        .write_all(b"\x16\x03\x01\x00\x20not a client hello at all, really")
        .unwrap();
    assert!(closed_by_peer(&mut garbage), "a bad handshake is closed");

    // the TLS slave kept its connection and follows
    put(&master.store, 200..300).await;
    wait_until("follow over TLS", Duration::from_secs(20), || {
        master.ha.push_to_slave_max_offset() == master.store.get_max_phy_offset()
    });
    assert!(caught_up(&slave, &master));
    // the refused plaintext slave keeps reconnecting (each attempt is counted until closed),
    // but only the TLS slave ever reports
    let reporting = master
        .ha
        .slave_acks()
        .iter()
        .filter(|(_, a)| *a >= 0)
        .count();
    assert_eq!(reporting, 1, "only the TLS slave is served");
    assert_eq!(master.ha.in_sync_slave_count(), 1);
    assert_eq!(
        plain.store.get_max_phy_offset(),
        0,
        "the plaintext slave got nothing"
    );
    plain.stop();
    master.stop();
    slave.stop();
    let (m, s) = (commit_log(md.path()), commit_log(sd.path()));
    assert!(!s.is_empty());
    assert_eq!(&m[m.len() - s.len()..], &s[..], "byte-identical over TLS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissive_master_serves_plaintext_and_tls_slaves() {
    let (md, sd, td) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let master = Node::start_with_tls(
        md.path(),
        BrokerRole::AsyncMaster,
        broker_tls(TlsMode::Permissive, false),
    );
    put(&master.store, 0..100).await;
    // the default settings: permissive, tls.enable=false, so this slave is plaintext
    let plain = Node::start_with_tls(
        sd.path(),
        BrokerRole::Slave,
        broker_tls(TlsMode::Permissive, false),
    );
    plain.follow(&master);
    let tls = Node::start_with_tls(
        td.path(),
        BrokerRole::Slave,
        broker_tls(TlsMode::Permissive, true),
    );
    tls.follow(&master);
    wait_until("both slaves caught up", Duration::from_secs(20), || {
        caught_up(&plain, &master) && caught_up(&tls, &master)
    });
    assert_eq!(master.ha.connection_count(), 2);
    tls.stop();
    plain.stop();
    master.stop();
    assert_eq!(commit_log(sd.path()), commit_log(td.path()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_master_refuses_tls_slaves() {
    let (md, td) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let master = Node::start_with_tls(
        md.path(),
        BrokerRole::AsyncMaster,
        broker_tls(TlsMode::Disabled, false),
    );
    put(&master.store, 0..20).await;
    let tls = Node::start_with_tls(
        td.path(),
        BrokerRole::Slave,
        broker_tls(TlsMode::Disabled, true),
    );
    tls.follow(&master);
    let mut hello = TcpStream::connect(master.addr).unwrap();
    hello.write_all(b"\x16\x03\x01\x00\x05hello").unwrap();
    assert!(closed_by_peer(&mut hello), "a TLS handshake is closed");
    // plaintext is still served
    let mut raw = TcpStream::connect(master.addr).unwrap();
    raw.write_all(&0i64.to_be_bytes()).unwrap();
    let mut head = [0u8; 12];
    raw.read_exact(&mut head).unwrap();
    assert_eq!(i64::from_be_bytes(head[..8].try_into().unwrap()), 0);
    drop(raw);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        tls.store.get_max_phy_offset(),
        0,
        "the TLS slave got nothing"
    );
    tls.stop();
    master.stop();
}

/// A CA, and client certificates: one signed by the CA with its key encrypted under
/// `password`, one self-signed by a stranger; written as PEM files into `dir`.
struct ClientPki {
    ca: std::path::PathBuf,
    cert: std::path::PathBuf,
    encrypted_key: std::path::PathBuf,
    stranger_cert: std::path::PathBuf,
    stranger_key: std::path::PathBuf,
}

fn client_pki(dir: &std::path::Path, password: &str) -> ClientPki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let slave_key = KeyPair::generate().unwrap();
    let slave = CertificateParams::new(vec!["slave.example".to_string()])
        .unwrap()
        .signed_by(&slave_key, &ca, &ca_key)
        .unwrap();
    let stranger_key = KeyPair::generate().unwrap();
    let stranger = CertificateParams::new(vec!["stranger.example".to_string()])
        .unwrap()
        .self_signed(&stranger_key)
        .unwrap();
    // `openssl pkcs8 -topk8 -v2 aes-256-cbc`: PBES2, PBKDF2-SHA256, AES-256-CBC
    let der = slave_key.serialize_der();
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7; 16], &[9; 16]).unwrap();
    let encrypted = info.encrypt_with_params(params, password).unwrap();
    let encrypted = encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    ClientPki {
        ca: write("ca.pem", &ca.pem()),
        cert: write("slave.pem", &slave.pem()),
        encrypted_key: write("slave.key", &encrypted),
        stranger_cert: write("stranger.pem", &stranger.pem()),
        stranger_key: write("stranger.key", &stranger_key.serialize_pem()),
    }
}

/// The slave side of a broker whose outbound connections use TLS with `settings`.
fn slave_tls(settings: TlsSettings) -> HaTls {
    HaTls {
        server: Some(settings.server().unwrap()),
        client: Some(settings.client_config().unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_requiring_client_certificates_serves_only_slaves_that_present_one() {
    let (md, sd, nd, xd, pki_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let pki = client_pki(pki_dir.path(), "slave-key-pass");
    // tls.server.need.client.auth=require, tls.server.authClient=true, trust = the CA
    let mut master_settings = TlsSettings::default();
    for (k, v) in [
        ("tls.server.mode", "enforcing"),
        ("tls.server.need.client.auth", "require"),
        ("tls.server.authClient", "true"),
        ("tls.server.trustCertPath", pki.ca.to_str().unwrap()),
    ] {
        master_settings.apply(k, v).unwrap().unwrap();
    }
    let master = Node::start_with_tls(
        md.path(),
        BrokerRole::AsyncMaster,
        slave_tls(master_settings),
    );
    put(&master.store, 0..100).await;

    // tls.client.certPath / keyPath / keyPassword: an encrypted PKCS#8 key
    let mut with_cert = TlsSettings::default();
    for (k, v) in [
        ("tls.enable", "true"),
        ("tls.client.certPath", pki.cert.to_str().unwrap()),
        ("tls.client.keyPath", pki.encrypted_key.to_str().unwrap()),
        ("tls.client.keyPassword", "slave-key-pass"),
    ] {
        with_cert.apply(k, v).unwrap().unwrap();
    }
    let mut wrong_password = with_cert.clone();
    wrong_password
        .apply("tls.client.keyPassword", "not-the-pass")
        .unwrap()
        .unwrap();
    let e = wrong_password.client_config().err().unwrap().to_string();
    assert!(
        e.contains("slave.key") && e.contains("wrong password"),
        "{e}"
    );
    let slave = Node::start_with_tls(sd.path(), BrokerRole::Slave, slave_tls(with_cert));
    slave.follow(&master);

    // a TLS slave without a certificate, and one whose certificate the CA did not sign
    let mut no_cert = TlsSettings::default();
    no_cert.apply("tls.enable", "true").unwrap().unwrap();
    let bare = Node::start_with_tls(nd.path(), BrokerRole::Slave, slave_tls(no_cert.clone()));
    bare.follow(&master);
    let mut stranger = no_cert;
    stranger
        .apply("tls.client.certPath", pki.stranger_cert.to_str().unwrap())
        .unwrap()
        .unwrap();
    stranger
        .apply("tls.client.keyPath", pki.stranger_key.to_str().unwrap())
        .unwrap()
        .unwrap();
    let strange = Node::start_with_tls(xd.path(), BrokerRole::Slave, slave_tls(stranger));
    strange.follow(&master);

    wait_until(
        "the certified slave catches up",
        Duration::from_secs(20),
        || caught_up(&slave, &master),
    );
    put(&master.store, 100..150).await;
    wait_until("and follows", Duration::from_secs(20), || {
        caught_up(&slave, &master)
    });
    // the refused slaves kept trying meanwhile; none of them got a byte
    assert_eq!(
        bare.store.get_max_phy_offset(),
        0,
        "a slave without a certificate is refused"
    );
    assert_eq!(
        strange.store.get_max_phy_offset(),
        0,
        "a certificate from another CA is refused"
    );
    let reporting = master
        .ha
        .slave_acks()
        .iter()
        .filter(|(_, a)| *a >= 0)
        .count();
    assert_eq!(reporting, 1, "only the certified slave is served");
    bare.stop();
    strange.stop();
    slave.stop();
    master.stop();
}
