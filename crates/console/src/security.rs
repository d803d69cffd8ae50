//! Who may drive the console: a Host allow-list (against DNS rebinding), an Origin check on
//! every state-changing request (against cross-site requests), a login with accounts from the
//! broker config (Argon2 password hashes, an HttpOnly SameSite=Strict session cookie), read-only
//! accounts, and an audit line for every change.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::IntoResponse;
use ferrocket_broker::BrokerConfig;
use parking_lot::Mutex;
use rand::RngCore;
use serde::Deserialize;

use crate::http::Response;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "ferrocket_session";
/// How long a session lives after login.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once; the oldest is dropped past this.
const MAX_SESSIONS: usize = 1024;
/// Largest login body read.
const MAX_LOGIN_BODY: usize = 4096;

/// A console account.
#[derive(Debug, Clone)]
struct Account {
    user: String,
    password_hash: String,
    read_only: bool,
}

#[derive(Debug, Clone)]
struct Session {
    user: String,
    read_only: bool,
    expires: Instant,
}

/// The remote address of a console connection, set on every request by the server.
#[derive(Debug, Clone, Copy)]
pub struct RemoteAddr(pub SocketAddr);

/// The console's security settings and its sessions.
pub struct ConsoleSecurity {
    login_required: bool,
    accounts: Vec<Account>,
    allowed_hosts: Vec<String>,
    sessions: Mutex<HashMap<String, Session>>,
}

/// Why the console cannot start with the given settings.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// A login is required but no account is configured.
    #[error("the console requires a login (it listens on {0}, or consoleLoginRequired=true) but no account is configured: set consoleUser and consolePasswordHash (made by `ferrocket console-password-hash`)")]
    NoAccount(String),
    /// A password hash does not parse.
    #[error("{key} is not an Argon2 PHC string (make one with `ferrocket console-password-hash`): {reason}")]
    BadHash {
        /// The config key.
        key: &'static str,
        /// The parser's reason.
        reason: String,
    },
    /// A user is set without its hash or the other way round.
    #[error("{0} and its password hash must be set together")]
    Incomplete(&'static str),
}

/// Whether `addr` (an interface to listen on) is a loopback address.
pub fn is_loopback(addr: &str) -> bool {
    addr.eq_ignore_ascii_case("localhost")
        || addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The Argon2 PHC string of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn account(
    user: &Option<String>,
    hash: &Option<String>,
    key: &'static str,
    read_only: bool,
) -> Result<Option<Account>, SecurityError> {
    match (user, hash) {
        (None, None) => Ok(None),
        (Some(user), Some(hash)) => {
            PasswordHash::new(hash).map_err(|e| SecurityError::BadHash {
                key,
                reason: e.to_string(),
            })?;
            Ok(Some(Account {
                user: user.clone(),
                password_hash: hash.clone(),
                read_only,
            }))
        }
        _ => Err(SecurityError::Incomplete(if read_only {
            "consoleReadOnlyUser"
        } else {
            "consoleUser"
        })),
    }
}

impl ConsoleSecurity {
    /// The settings of a broker's config for a console listening on `listen_address`.
    pub fn from_config(
        c: &BrokerConfig,
        listen_address: &str,
    ) -> Result<ConsoleSecurity, SecurityError> {
        let accounts: Vec<Account> = [
            account(
                &c.console_user,
                &c.console_password_hash,
                "consolePasswordHash",
                false,
            )?,
            account(
                &c.console_read_only_user,
                &c.console_read_only_password_hash,
                "consoleReadOnlyPasswordHash",
                true,
            )?,
        ]
        .into_iter()
        .flatten()
        .collect();
        let login_required = c.console_login_required || !is_loopback(listen_address);
        if login_required && accounts.is_empty() {
            return Err(SecurityError::NoAccount(listen_address.to_string()));
        }
        let mut allowed_hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"]
            .iter()
            .map(|h| h.to_string())
            .collect();
        let listen = listen_address.trim_start_matches('[').trim_end_matches(']');
        let extra = c.console_allowed_hosts.split(',').map(str::trim);
        for host in [listen, c.broker_ip1.as_str()].into_iter().chain(extra) {
            let unspecified = host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
            if !host.is_empty() && !unspecified {
                allowed_hosts.push(host.to_ascii_lowercase());
            }
        }
        Ok(ConsoleSecurity {
            login_required,
            accounts,
            allowed_hosts,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    /// Whether every API call needs a session.
    pub fn login_required(&self) -> bool {
        self.login_required
    }

    fn host_allowed(&self, headers: &HeaderMap) -> bool {
        let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
            return false;
        };
        let name = host_name(host);
        self.allowed_hosts.contains(&name)
    }

    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let token = cookie(headers, SESSION_COOKIE)?;
        let mut sessions = self.sessions.lock();
        match sessions.get(&token) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                sessions.remove(&token);
                None
            }
            None => None,
        }
    }

    fn new_session(&self, account: &Account) -> String {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut sessions = self.sessions.lock();
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(
            token.clone(),
            Session {
                user: account.user.clone(),
                read_only: account.read_only,
                expires: now + SESSION_TTL,
            },
        );
        token
    }

    /// The account `user` if `password` matches its hash (Argon2 work: call off the reactor).
    fn verify(&self, user: &str, password: &str) -> Option<Account> {
        let account = self.accounts.iter().find(|a| a.user == user)?;
        let hash = PasswordHash::new(&account.password_hash).ok()?;
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .ok()
            .map(|_| account.clone())
    }
}

/// `example.com:8080` → `example.com`; `[::1]:8080` → `::1`; lower-cased.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host)
    };
    name.to_ascii_lowercase()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether a state-changing request comes from the console's own page: an `Origin` (sent by
/// browsers on every cross-origin request and every POST) must name the host the request was
/// sent to, and `Sec-Fetch-Site` must not say cross-site. Clients that are not browsers send
/// neither and are let through (they cannot be made to act by another web page).
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return false;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
            .map(|rest| rest.trim_end_matches('/'))
    });
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Paths served without a session: the page itself (it shows the login form) and the login API.
fn public_path(path: &str) -> bool {
    matches!(
        path,
        "/" | "/index.html" | "/app.js" | "/app.css" | "/api/login" | "/api/session"
    )
}

#[derive(Deserialize)]
struct Login {
    user: String,
    password: String,
}

/// The middleware in front of every console route.
pub async fn guard(
    State(security): State<Arc<ConsoleSecurity>>,
    req: Request,
    next: Next,
) -> axum::response::Response {
    let remote = req
        .extensions()
        .get::<RemoteAddr>()
        .map(|r| r.0.to_string())
        .unwrap_or_default();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    if !security.host_allowed(&headers) {
        return Response::error(
            403,
            "this Host is not one the console answers to (add it to consoleAllowedHosts)",
        )
        .into_response();
    }
    if changes_state(&method) && !same_origin(&headers) {
        tracing::warn!(target: "ferrocket::audit", remote, %method, path, "console request refused: cross-origin");
        return Response::error(403, "cross-origin requests may not change anything")
            .into_response();
    }
    let session = security.session(&headers);
    match (method.as_str(), path.as_str()) {
        ("POST", "/api/login") => return login(security, req, &remote).await,
        ("POST", "/api/logout") => return logout(&security, &headers, session, &remote),
        ("GET", "/api/session") => {
            return Response::json(&serde_json::json!({
                "loginRequired": security.login_required,
                "user": session.as_ref().map(|s| s.user.clone()),
                "readOnly": session.as_ref().is_some_and(|s| s.read_only),
            }))
            .into_response()
        }
        _ => {}
    }
    if security.login_required && session.is_none() && !public_path(&path) {
        return Response::error(401, "log in first").into_response();
    }
    let user = session.as_ref().map(|s| s.user.clone()).unwrap_or_default();
    if changes_state(&method) && session.as_ref().is_some_and(|s| s.read_only) {
        tracing::warn!(target: "ferrocket::audit", user, remote, %method, path, "console change refused: read-only account");
        return Response::error(403, "this account may only look, not change anything")
            .into_response();
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let response = next.run(req).await;
    if changes_state(&method) {
        tracing::info!(
            target: "ferrocket::audit",
            user,
            remote,
            %method,
            path,
            query,
            status = response.status().as_u16(),
            "console change"
        );
    }
    response
}

async fn login(
    security: Arc<ConsoleSecurity>,
    req: Request,
    remote: &str,
) -> axum::response::Response {
    let body = match axum::body::to_bytes(req.into_body(), MAX_LOGIN_BODY).await {
        Ok(b) => b,
        Err(_) => return Response::error(413, "login body too large").into_response(),
    };
    let Ok(form) = serde_json::from_slice::<Login>(&body) else {
        return Response::error(400, "expected {\"user\": ..., \"password\": ...}").into_response();
    };
    let user = form.user.clone();
    let checker = security.clone();
    let verified = tokio::task::spawn_blocking(move || checker.verify(&form.user, &form.password))
        .await
        .ok()
        .flatten();
    let Some(account) = verified else {
        tracing::warn!(target: "ferrocket::audit", user, remote, "console login failed");
        return Response::error(401, "wrong user or password").into_response();
    };
    let token = security.new_session(&account);
    tracing::info!(target: "ferrocket::audit", user, remote, read_only = account.read_only, "console login");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    let mut response = Response::json(&serde_json::json!({
        "user": account.user,
        "readOnly": account.read_only,
    }))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

fn logout(
    security: &ConsoleSecurity,
    headers: &HeaderMap,
    session: Option<Session>,
    remote: &str,
) -> axum::response::Response {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        security.sessions.lock().remove(&token);
    }
    let user = session.map(|s| s.user).unwrap_or_default();
    tracing::info!(target: "ferrocket::audit", user, remote, "console logout");
    let mut response = Response::json(&serde_json::json!({})).into_response();
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn host_names_and_origins() {
        assert_eq!(host_name("Example.com:8080"), "example.com");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(is_loopback("127.0.0.1") && is_loopback("::1") && is_loopback("localhost"));
        assert!(!is_loopback("0.0.0.0"));
    }

    #[test]
    fn accounts_and_sessions() {
        let hash = hash_password("s3cret").unwrap();
        let config = BrokerConfig {
            console_user: Some("admin".into()),
            console_password_hash: Some(hash.clone()),
            console_read_only_user: Some("viewer".into()),
            console_read_only_password_hash: Some(hash),
            console_allowed_hosts: "mq.example.com".into(),
            ..Default::default()
        };
        let s = ConsoleSecurity::from_config(&config, "0.0.0.0").unwrap();
        assert!(s.login_required());
        assert!(s.verify("admin", "s3cret").is_some_and(|a| !a.read_only));
        assert!(s.verify("viewer", "s3cret").is_some_and(|a| a.read_only));
        assert!(s.verify("admin", "wrong").is_none());
        assert!(s.verify("nobody", "s3cret").is_none());
        assert!(s.host_allowed(&headers(&[("host", "mq.example.com:8080")])));
        assert!(!s.host_allowed(&headers(&[("host", "rebind.attacker.example:8080")])));
        let account = s.verify("admin", "s3cret").unwrap();
        let token = s.new_session(&account);
        let cookie = format!("{SESSION_COOKIE}={token}");
        assert_eq!(
            s.session(&headers(&[("cookie", &cookie)])).unwrap().user,
            "admin"
        );
        assert!(s
            .session(&headers(&[("cookie", "ferrocket_session=forged")]))
            .is_none());

        let no_account = BrokerConfig::default();
        assert!(ConsoleSecurity::from_config(&no_account, "0.0.0.0").is_err());
        assert!(!ConsoleSecurity::from_config(&no_account, "127.0.0.1")
            .unwrap()
            .login_required());
        let bad = BrokerConfig {
            console_user: Some("admin".into()),
            console_password_hash: Some("plaintext".into()),
            ..Default::default()
        };
        assert!(ConsoleSecurity::from_config(&bad, "127.0.0.1").is_err());
    }
}
