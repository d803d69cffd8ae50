//! Who may drive the console, against a real `ferrocket standalone`: the login (accounts from
//! the broker config, an HttpOnly SameSite=Strict session cookie), read-only accounts, the Host
//! allow-list (DNS rebinding), the Origin check on changes (CSRF) and the audit log.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Standalone;
use serde_json::json;

/// A raw HTTP/1.1 exchange with extra headers: (status, head, body).
fn request(
    url: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

fn hash(password: &str) -> String {
    ferrocket_console::security::hash_password(password).unwrap()
}

fn secured() -> Standalone {
    Standalone::start(&format!(
        "consoleLoginRequired=true\nconsoleUser=admin\nconsolePasswordHash={}\nconsoleReadOnlyUser=viewer\nconsoleReadOnlyPasswordHash={}\n",
        hash("admin-pw"),
        hash("viewer-pw")
    ))
}

/// Logs in and returns the `Cookie` header value.
fn login(url: &str, user: &str, password: &str) -> String {
    let body = json!({"user": user, "password": password}).to_string();
    let (status, head, text) = request(url, "POST", "/api/login", &[], &body);
    assert_eq!(status, 200, "{text}");
    let set_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no Set-Cookie in {head}"));
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    set_cookie.split(';').next().unwrap().to_string()
}

#[test]
fn login_read_only_accounts_and_audit() {
    let mut s = secured();
    let url = s.url().to_string();

    // the page loads (it shows the login form); the API does not
    assert_eq!(request(&url, "GET", "/", &[], "").0, 200);
    assert_eq!(request(&url, "GET", "/api/topics", &[], "").0, 401);
    let topic =
        json!({"topic": "SecuredTopic", "readQueueNums": 2, "writeQueueNums": 2, "perm": 6});
    assert_eq!(
        request(&url, "POST", "/api/topic", &[], &topic.to_string()).0,
        401
    );
    let wrong = json!({"user": "admin", "password": "nope"}).to_string();
    assert_eq!(request(&url, "POST", "/api/login", &[], &wrong).0, 401);
    let forged = [("Cookie", "ferrocket_session=0123456789abcdef")];
    assert_eq!(request(&url, "GET", "/api/topics", &forged, "").0, 401);

    // a read-only account looks but does not change
    let viewer = login(&url, "viewer", "viewer-pw");
    let as_viewer = [("Cookie", viewer.as_str())];
    assert_eq!(request(&url, "GET", "/api/topics", &as_viewer, "").0, 200);
    let (status, _, body) = request(&url, "POST", "/api/topic", &as_viewer, &topic.to_string());
    assert_eq!(status, 403, "{body}");

    // the admin changes, and the change is audited with who and from where
    let admin = login(&url, "admin", "admin-pw");
    let as_admin = [("Cookie", admin.as_str())];
    let (status, _, body) = request(&url, "POST", "/api/topic", &as_admin, &topic.to_string());
    assert_eq!(status, 200, "{body}");
    let (_, _, list) = request(&url, "GET", "/api/topics?q=SecuredTopic", &as_admin, "");
    assert!(list.contains("\"total\":1"), "{list}");
    assert!(common::wait_until(Duration::from_secs(10), || {
        let err = s.stderr_so_far();
        err.lines().any(|l| {
            l.contains("console change")
                && l.contains("user=\"admin\"")
                && l.contains("/api/topic")
                && l.contains("127.0.0.1")
        }) && err
            .lines()
            .any(|l| l.contains("console change refused") && l.contains("viewer"))
    }));

    // logging out ends the session
    assert_eq!(request(&url, "POST", "/api/logout", &as_admin, "{}").0, 200);
    assert_eq!(request(&url, "GET", "/api/topics", &as_admin, "").0, 401);
}

#[test]
fn foreign_hosts_and_cross_origin_changes_are_refused() {
    // loopback without consoleLoginRequired: no login, but the Host and Origin checks hold
    let s = Standalone::start("");
    let url = s.url().to_string();
    let (status, _, body) = request(
        &url,
        "GET",
        "/api/topics",
        &[("Host", "rebind.attacker.example:8080")],
        "",
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        request(&url, "GET", "/", &[("Host", "rebind.attacker.example")], "").0,
        403
    );
    assert_eq!(
        request(&url, "GET", "/api/topics", &[("Host", "localhost")], "").0,
        200
    );

    let topic = json!({"topic": "CsrfTopic", "readQueueNums": 1, "writeQueueNums": 1, "perm": 6});
    let origin = url.clone();
    for headers in [
        vec![("Origin", "http://attacker.example")],
        vec![("Origin", "null")],
        vec![
            ("Origin", origin.as_str()),
            ("Sec-Fetch-Site", "cross-site"),
        ],
    ] {
        let (status, _, body) = request(&url, "POST", "/api/topic", &headers, &topic.to_string());
        assert_eq!(status, 403, "{headers:?}: {body}");
    }
    let (_, _, list) = request(&url, "GET", "/api/topics?q=CsrfTopic", &[], "");
    assert!(list.contains("\"total\":0"), "{list}");
    // the console's own page may change things
    let same = [
        ("Origin", origin.as_str()),
        ("Sec-Fetch-Site", "same-origin"),
    ];
    let (status, _, body) = request(&url, "POST", "/api/topic", &same, &topic.to_string());
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_console_on_another_interface_needs_an_account() {
    let mut s = Standalone::start("consoleListenAddress=0.0.0.0");
    assert!(
        s.console.is_none(),
        "the console started without any account"
    );
    // the refusal is logged before the ready line, but stderr and stdout are read apart
    let line = s.wait_stderr("consoleUser", Duration::from_secs(10));
    assert!(line.contains("no account is configured"), "{line}");
}
