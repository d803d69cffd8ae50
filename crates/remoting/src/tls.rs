//! TLS on remoting connections, with RocketMQ's settings (`TlsSystemConfig`):
//! `tls.server.mode` (disabled / permissive / enforcing), the server's certificate, key and
//! trusted client certificates, client authentication, and the client side (`tls.enable`).
//!
//! As RocketMQ's server does, the mode is applied per connection by looking at the first byte:
//! a TLS record starts with 0x16 (handshake), which can never start a remoting frame (its
//! 4-byte length would exceed the 16 MiB frame limit), so both kinds share one port.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// First byte of a TLS handshake record (RocketMQ's `HANDSHAKE_MAGIC_CODE`).
pub const HANDSHAKE_MAGIC_CODE: u8 = 0x16;

/// How long a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where RocketMQ looks for its TLS properties file when `tls.config.file` is not set.
pub const DEFAULT_TLS_CONFIG_FILE: &str = "/etc/rocketmq/tls.properties";

/// A TLS settings error, naming the file or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file cannot be read or holds nothing usable.
    #[error("{what} {path}: {reason}")]
    File {
        /// What the file was meant to hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// The settings do not make a usable TLS configuration.
    #[error("TLS settings: {0}")]
    Config(String),
}

/// `tls.server.mode`: what the server does with TLS and plaintext connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// TLS handshakes are refused (the connection is closed); plaintext is served.
    Disabled,
    /// Both TLS and plaintext clients are served on the same port (RocketMQ's default).
    #[default]
    Permissive,
    /// Only TLS clients are served; plaintext connections are closed.
    Enforcing,
}

impl FromStr for TlsMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(TlsMode::Disabled),
            "permissive" => Ok(TlsMode::Permissive),
            "enforcing" => Ok(TlsMode::Enforcing),
            _ => Err("expected disabled, permissive or enforcing".into()),
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsMode::Disabled => "disabled",
            TlsMode::Permissive => "permissive",
            TlsMode::Enforcing => "enforcing",
        })
    }
}

/// `tls.server.need.client.auth`: whether clients must present a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    #[default]
    None,
    /// A client certificate is asked for; one that is presented must verify.
    Optional,
    /// A verified client certificate is required.
    Require,
}

impl FromStr for ClientAuth {
    type Err = String;
    /// Like RocketMQ, anything else than `optional` or `require` means `none`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "optional" => ClientAuth::Optional,
            "require" => ClientAuth::Require,
            _ => ClientAuth::None,
        })
    }
}

/// RocketMQ's TLS settings (`TlsSystemConfig`), server and client side.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSettings {
    /// `tls.server.mode` (default permissive).
    pub mode: TlsMode,
    /// `tls.enable` / `tlsEnable`: outgoing connections (to name servers) use TLS.
    pub client_enable: bool,
    /// `tls.test.mode.enable` (default true): without a configured certificate, the server
    /// makes a self-signed one at start-up.
    pub test_mode: bool,
    /// `tls.server.certPath`: PEM certificate chain.
    pub server_cert_path: Option<PathBuf>,
    /// `tls.server.keyPath`: PEM private key (PKCS#8, or PKCS#1 / SEC1).
    pub server_key_path: Option<PathBuf>,
    /// `tls.server.trustCertPath`: PEM certificates that client certificates must chain to.
    pub server_trust_cert_path: Option<PathBuf>,
    /// `tls.server.keyPassword`: the password of an encrypted PKCS#8 `tls.server.keyPath`.
    pub server_key_password: Option<KeyPassword>,
    /// `tls.server.need.client.auth` (default none).
    pub need_client_auth: ClientAuth,
    /// `tls.server.authClient` (default false): client certificates must chain to
    /// `tls.server.trustCertPath`. Without it, and without a trust file, RocketMQ's server
    /// accepts any client certificate; with a trust file Ferrocket always checks the chain.
    pub server_auth_client: bool,
    /// `tls.client.authServer` (default false: the client trusts any server certificate).
    pub client_auth_server: bool,
    /// `tls.client.trustCertPath`: PEM certificates the server certificate must chain to.
    pub client_trust_cert_path: Option<PathBuf>,
    /// `tls.client.certPath` / `tls.client.keyPath`: the client's own certificate and key.
    pub client_cert_path: Option<PathBuf>,
    /// See `client_cert_path`.
    pub client_key_path: Option<PathBuf>,
    /// `tls.client.keyPassword`: the password of an encrypted PKCS#8 `tls.client.keyPath`.
    pub client_key_password: Option<KeyPassword>,
    /// `tls.config.file`: a properties file with the keys above.
    pub config_file: PathBuf,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            mode: TlsMode::Permissive,
            client_enable: false,
            test_mode: true,
            server_cert_path: None,
            server_key_path: None,
            server_trust_cert_path: None,
            server_key_password: None,
            need_client_auth: ClientAuth::None,
            server_auth_client: false,
            client_auth_server: false,
            client_trust_cert_path: None,
            client_cert_path: None,
            client_key_path: None,
            client_key_password: None,
            config_file: PathBuf::from(DEFAULT_TLS_CONFIG_FILE),
        }
    }
}

/// Every key [`TlsSettings::apply`] knows.
pub const TLS_KEYS: &[&str] = &[
    "tls.server.mode",
    "tls.enable",
    "tlsEnable",
    "tls.test.mode.enable",
    "tls.server.certPath",
    "tls.server.keyPath",
    "tls.server.trustCertPath",
    "tls.server.keyPassword",
    "tls.server.need.client.auth",
    "tls.server.authClient",
    "tls.client.authServer",
    "tls.client.trustCertPath",
    "tls.client.certPath",
    "tls.client.keyPath",
    "tls.client.keyPassword",
    "tls.config.file",
];

fn path(v: &str) -> Option<PathBuf> {
    (!v.trim().is_empty()).then(|| PathBuf::from(v.trim()))
}

fn boolean(v: &str) -> Result<bool, String> {
    // Java's Boolean.parseBoolean: "true" in any case, everything else false
    Ok(v.trim().eq_ignore_ascii_case("true"))
}

impl TlsSettings {
    /// Applies one property; `None` when `key` is not a TLS key.
    pub fn apply(&mut self, key: &str, value: &str) -> Option<Result<(), String>> {
        let r = match key {
            "tls.server.mode" => value.parse().map(|m| self.mode = m),
            "tls.enable" | "tlsEnable" => boolean(value).map(|b| self.client_enable = b),
            "tls.test.mode.enable" => boolean(value).map(|b| self.test_mode = b),
            "tls.server.certPath" => {
                self.server_cert_path = path(value);
                Ok(())
            }
            "tls.server.keyPath" => {
                self.server_key_path = path(value);
                Ok(())
            }
            "tls.server.trustCertPath" => {
                self.server_trust_cert_path = path(value);
                Ok(())
            }
            "tls.server.keyPassword" => {
                self.server_key_password = KeyPassword::from_value(value);
                Ok(())
            }
            "tls.server.need.client.auth" => value.parse().map(|a| self.need_client_auth = a),
            "tls.server.authClient" => boolean(value).map(|b| self.server_auth_client = b),
            "tls.client.keyPassword" => {
                self.client_key_password = KeyPassword::from_value(value);
                Ok(())
            }
            "tls.client.authServer" => boolean(value).map(|b| self.client_auth_server = b),
            "tls.client.trustCertPath" => {
                self.client_trust_cert_path = path(value);
                Ok(())
            }
            "tls.client.certPath" => {
                self.client_cert_path = path(value);
                Ok(())
            }
            "tls.client.keyPath" => {
                self.client_key_path = path(value);
                Ok(())
            }
            "tls.config.file" => {
                self.config_file = PathBuf::from(value.trim());
                Ok(())
            }
            _ => return None,
        };
        Some(r)
    }

    /// Whether outgoing connections use TLS: `tls.enable`, or the server enforces it (as
    /// RocketMQ's broker decides for its connections to name servers).
    pub fn client_uses_tls(&self) -> bool {
        self.client_enable || self.mode == TlsMode::Enforcing
    }

    /// The server side; no TLS context is built when the mode is disabled.
    pub fn server(&self) -> Result<Arc<ServerTls>, TlsError> {
        if self.mode == TlsMode::Disabled {
            return Ok(Arc::new(ServerTls {
                mode: TlsMode::Disabled,
                acceptor: None,
                config: None,
            }));
        }
        let (certs, key) = match (&self.server_cert_path, &self.server_key_path) {
            (Some(c), Some(k)) => (
                read_certs(c, "certificate file")?,
                read_key(k, self.server_key_password.as_ref(), "tls.server.keyPassword")?,
            ),
            (None, None) if self.test_mode => self_signed()?,
            (None, None) => {
                return Err(TlsError::Config(
                    "tls.server.certPath and tls.server.keyPath are required when tls.test.mode.enable is false".into(),
                ))
            }
            _ => {
                return Err(TlsError::Config(
                    "tls.server.certPath and tls.server.keyPath must be set together".into(),
                ))
            }
        };
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match self.client_verifier()? {
            None => builder.with_no_client_auth(),
            Some(verifier) => builder.with_client_cert_verifier(verifier),
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(format!("certificate and key do not match: {e}")))?;
        let config = Arc::new(config);
        Ok(Arc::new(ServerTls {
            mode: self.mode,
            acceptor: Some(TlsAcceptor::from(config.clone())),
            config: Some(config),
        }))
    }

    /// How the server checks client certificates (RocketMQ's `TlsHelper`): not asked for with
    /// `need.client.auth=none`; checked against `tls.server.trustCertPath` when it is set;
    /// otherwise any certificate is accepted, as RocketMQ's server does unless
    /// `tls.server.authClient` is set (then the trust file is required).
    fn client_verifier(&self) -> Result<Option<Arc<dyn ClientCertVerifier>>, TlsError> {
        if self.need_client_auth == ClientAuth::None {
            return Ok(None);
        }
        let optional = self.need_client_auth == ClientAuth::Optional;
        let Some(trust) = &self.server_trust_cert_path else {
            if self.server_auth_client {
                return Err(TlsError::Config(
                    "tls.server.authClient requires tls.server.trustCertPath".into(),
                ));
            }
            return Ok(Some(Arc::new(AcceptAnyClient {
                provider: provider(),
                mandatory: !optional,
            })));
        };
        let roots = Arc::new(root_store(trust)?);
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider());
        let verifier = if optional {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        let verifier = verifier
            .build()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        Ok(Some(verifier))
    }

    /// The client side: trusts any server certificate unless `tls.client.authServer` is set
    /// (RocketMQ's clients do the same), and presents the client certificate if configured.
    pub fn connector(&self) -> Result<TlsConnector, TlsError> {
        Ok(TlsConnector::from(self.client_config()?))
    }

    /// The rustls client configuration behind [`TlsSettings::connector`], for blocking
    /// connections (the HA client uses it with `rustls::StreamOwned`).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match (&self.client_trust_cert_path, self.client_auth_server) {
            (Some(trust), true) => builder.with_root_certificates(root_store(trust)?),
            (None, true) => {
                return Err(TlsError::Config(
                    "tls.client.authServer requires tls.client.trustCertPath".into(),
                ))
            }
            (_, false) => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(TrustAnyServer(provider()))),
        };
        let config = match (&self.client_cert_path, &self.client_key_path) {
            (Some(c), Some(k)) => builder
                .with_client_auth_cert(
                    read_certs(c, "certificate file")?,
                    read_key(
                        k,
                        self.client_key_password.as_ref(),
                        "tls.client.keyPassword",
                    )?,
                )
                .map_err(|e| TlsError::Config(e.to_string()))?,
            _ => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(path: &Path, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::File {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// A private key password (`tls.server.keyPassword`, `tls.client.keyPassword`), never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPassword(String);

impl KeyPassword {
    /// The password of a property value; empty means none.
    pub fn from_value(value: &str) -> Option<KeyPassword> {
        (!value.is_empty()).then(|| KeyPassword(value.to_string()))
    }
}

impl fmt::Debug for KeyPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyPassword(***)")
    }
}

/// PEM label of an encrypted PKCS#8 key (`openssl pkcs8 -topk8`).
const ENCRYPTED_KEY_LABEL: &str = "ENCRYPTED PRIVATE KEY";

fn read_key(
    path: &Path,
    password: Option<&KeyPassword>,
    password_key: &str,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let err = |reason: String| TlsError::File {
        what: "key file",
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let text = String::from_utf8_lossy(&pem);
    if text.contains(&format!("-----BEGIN {ENCRYPTED_KEY_LABEL}-----")) {
        let password =
            password.ok_or_else(|| err(format!("the key is encrypted; set {password_key}")))?;
        return decrypt_key(&text, password).map_err(err);
    }
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| err(e.to_string()))?
        .ok_or_else(|| err("no PEM private key in it (PKCS#8 expected)".into()))
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` (PKCS#8 with PBES2: PBKDF2 or scrypt, AES-CBC), as
/// Netty does for RocketMQ's `keyPassword` settings.
fn decrypt_key(text: &str, password: &KeyPassword) -> Result<PrivateKeyDer<'static>, String> {
    use pkcs8::der::pem::PemLabel;
    let start = text
        .find(&format!("-----BEGIN {ENCRYPTED_KEY_LABEL}-----"))
        .unwrap_or(0);
    let (label, doc) = pkcs8::der::SecretDocument::from_pem(&text[start..])
        .map_err(|e| format!("not a PEM encrypted key: {e}"))?;
    if label != pkcs8::EncryptedPrivateKeyInfo::PEM_LABEL {
        return Err(format!("unexpected PEM label {label}"));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(doc.as_bytes())
        .map_err(|e| format!("not an encrypted PKCS#8 key: {e}"))?;
    let plain = info
        .decrypt(password.0.as_bytes())
        .map_err(|e| format!("cannot decrypt the key (wrong password?): {e}"))?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

fn root_store(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in read_certs(path, "trusted certificate file")? {
        roots.add(cert).map_err(|e| TlsError::File {
            what: "trusted certificate file",
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    Ok(roots)
}

/// A self-signed certificate for `localhost`, as RocketMQ's test mode makes one at start-up.
fn self_signed() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let cert = rcgen::generate_simple_self_signed(names)
        .map_err(|e| TlsError::Config(format!("cannot make a self-signed certificate: {e}")))?;
    let key = PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    Ok((vec![cert.cert.der().clone()], key))
}

/// The handshake signature checks both "accept any certificate" verifiers still make: the
/// peer must hold the key of the certificate it presented.
fn verify_signature_tls12(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// See [`verify_signature_tls12`].
fn verify_signature_tls13(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// RocketMQ clients' default (`InsecureTrustManagerFactory`): any server certificate is
/// accepted; the handshake signatures are still checked.
#[derive(Debug)]
struct TrustAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for TrustAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature_tls12(&self.0, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature_tls13(&self.0, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// RocketMQ's server default without `tls.server.authClient` (`InsecureTrustManagerFactory`):
/// a client certificate is asked for (and required when `mandatory`) but any is accepted;
/// the handshake signatures still prove the client holds its key.
#[derive(Debug)]
struct AcceptAnyClient {
    provider: Arc<CryptoProvider>,
    mandatory: bool,
}

impl ClientCertVerifier for AcceptAnyClient {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature_tls12(&self.provider, message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_signature_tls13(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A server's TLS mode and, unless disabled, its acceptor.
pub struct ServerTls {
    mode: TlsMode,
    acceptor: Option<TlsAcceptor>,
    config: Option<Arc<rustls::ServerConfig>>,
}

impl ServerTls {
    /// The mode in force.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// The rustls server configuration behind the acceptor (`None` when disabled), for
    /// blocking connections that share this server's certificate (the HA port).
    pub fn rustls_config(&self) -> Option<Arc<rustls::ServerConfig>> {
        self.config.clone()
    }

    /// The same mode and certificate, offering `protocols` in the handshake (ALPN): the gRPC
    /// port offers `h2`, which gRPC clients insist on.
    pub fn with_alpn(&self, protocols: &[&[u8]]) -> ServerTls {
        let config = self.config.as_ref().map(|c| {
            let mut config = (**c).clone();
            config.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
            Arc::new(config)
        });
        ServerTls {
            mode: self.mode,
            acceptor: config.clone().map(TlsAcceptor::from),
            config,
        }
    }
}

/// The name a client puts in its ClientHello for `addr` (`HOST:PORT`): the host, or
/// `localhost` when the host is not a valid server name.
pub fn server_name(addr: &str) -> io::Result<ServerName<'static>> {
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string())
        .or_else(|_| ServerName::try_from("localhost".to_string()))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
}

/// An accepted connection after the TLS decision of [`accept_server`].
pub enum ServerStream {
    /// The client speaks plaintext.
    Plain(TcpStream),
    /// The client opened TLS and finished its handshake.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// The TLS decision every TLS-capable port makes from a new connection's first byte, as
/// RocketMQ's servers do: a TLS handshake is served when the mode allows it, plaintext unless
/// the mode enforces TLS. `None` when the mode refuses the connection, the peer closes before
/// sending anything, or its handshake fails or takes longer than [`HANDSHAKE_TIMEOUT`]; each
/// refusal is logged.
pub async fn accept_server(stream: TcpStream, tls: &ServerTls) -> Option<ServerStream> {
    let peer = stream.peer_addr().ok();
    let mut first = [0u8; 1];
    match stream.peek(&mut first).await {
        Ok(1) => {}
        _ => return None,
    }
    let is_tls = first[0] == HANDSHAKE_MAGIC_CODE;
    match (is_tls, tls.mode, &tls.acceptor) {
        (false, TlsMode::Enforcing, _) => {
            tracing::warn!(
                ?peer,
                "client wants an insecure connection while the server enforces TLS; closed"
            );
            None
        }
        (false, _, _) => Some(ServerStream::Plain(stream)),
        (true, _, Some(acceptor)) if tls.mode != TlsMode::Disabled => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(s)) => Some(ServerStream::Tls(Box::new(s))),
                Ok(Err(e)) => {
                    tracing::warn!(?peer, error = %e, "TLS handshake failed; connection closed");
                    None
                }
                Err(_) => {
                    tracing::warn!(?peer, "TLS handshake timed out; connection closed");
                    None
                }
            }
        }
        (true, _, _) => {
            tracing::warn!(
                ?peer,
                "client wants a TLS connection while TLS is disabled on this server; closed"
            );
            None
        }
    }
}

impl AsyncRead for ServerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ServerStream::Plain(s) => s.is_write_vectored(),
            ServerStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServerStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ServerStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Connects TLS over `stream` to `addr` (`HOST:PORT`).
pub(crate) async fn connect(
    connector: &TlsConnector,
    addr: &str,
    stream: TcpStream,
) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = server_name(addr)?;
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, connector.connect(name, stream))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_as_rocketmq_does() {
        let mut s = TlsSettings::default();
        assert_eq!(s.mode, TlsMode::Permissive);
        assert!(s.test_mode);
        s.apply("tls.server.mode", "ENFORCING").unwrap().unwrap();
        assert_eq!(s.mode, TlsMode::Enforcing);
        assert!(s.client_uses_tls());
        assert!(s.apply("tls.server.mode", "strict").unwrap().is_err());
        s.apply("tls.server.need.client.auth", "Require")
            .unwrap()
            .unwrap();
        assert_eq!(s.need_client_auth, ClientAuth::Require);
        s.apply("tls.server.need.client.auth", "bogus")
            .unwrap()
            .unwrap();
        assert_eq!(s.need_client_auth, ClientAuth::None);
        s.apply("tls.test.mode.enable", "no").unwrap().unwrap();
        assert!(!s.test_mode);
        assert!(s.apply("brokerName", "b").is_none());
        for k in TLS_KEYS {
            assert!(s.apply(k, "").is_some(), "{k}");
        }
    }

    #[test]
    fn server_needs_a_certificate_outside_test_mode() {
        let s = TlsSettings {
            test_mode: false,
            ..Default::default()
        };
        assert!(matches!(s.server(), Err(TlsError::Config(_))));
        let s = TlsSettings::default();
        let server = s.server().unwrap();
        assert_eq!(server.mode(), TlsMode::Permissive);
        let missing = TlsSettings {
            server_cert_path: Some("/nonexistent/cert.pem".into()),
            server_key_path: Some("/nonexistent/key.pem".into()),
            ..Default::default()
        };
        let e = missing.server().err().unwrap().to_string();
        assert!(e.contains("/nonexistent/cert.pem"), "{e}");
    }

    #[test]
    fn encrypted_server_keys_need_their_password() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let der = cert.key_pair.serialize_der();
        let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
        let params =
            pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[1; 16], &[2; 16])
                .unwrap();
        let pem = info
            .encrypt_with_params(params, "broker-pass")
            .unwrap()
            .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
            .unwrap();
        let (cert_path, key_path) = (dir.path().join("b.pem"), dir.path().join("b.key"));
        std::fs::write(&cert_path, cert.cert.pem()).unwrap();
        std::fs::write(&key_path, pem.as_bytes()).unwrap();
        let mut s = TlsSettings::default();
        s.apply("tls.server.certPath", cert_path.to_str().unwrap())
            .unwrap()
            .unwrap();
        s.apply("tls.server.keyPath", key_path.to_str().unwrap())
            .unwrap()
            .unwrap();
        let e = s.server().err().unwrap().to_string();
        assert!(e.contains("set tls.server.keyPassword"), "{e}");
        s.apply("tls.server.keyPassword", "wrong").unwrap().unwrap();
        let e = s.server().err().unwrap().to_string();
        assert!(e.contains("wrong password"), "{e}");
        s.apply("tls.server.keyPassword", "broker-pass")
            .unwrap()
            .unwrap();
        assert!(s.server().is_ok());
        assert!(
            !format!("{s:?}").contains("broker-pass"),
            "passwords are not printed"
        );
    }

    #[test]
    fn client_certificates_without_a_trust_file_follow_tls_server_auth_client() {
        let mut s = TlsSettings::default();
        s.apply("tls.server.need.client.auth", "require")
            .unwrap()
            .unwrap();
        // RocketMQ's default: a certificate is required, any is accepted
        assert!(s.server().is_ok());
        s.apply("tls.server.authClient", "true").unwrap().unwrap();
        let e = s.server().err().unwrap().to_string();
        assert!(e.contains("tls.server.trustCertPath"), "{e}");
    }
}
