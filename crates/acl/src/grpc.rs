//! ACL 1.0 for the RocketMQ 5 clients on the gRPC port: the same accounts, white lists and
//! permissions as the remoting port, with the v5 clients' signature.
//!
//! A v5 client with credentials sends, on every call, the metadata `x-mq-date-time` (e.g.
//! `20240101T120000Z`) and `authorization`:
//! `MQv2-HMAC-SHA1 Credential=<accessKey>, SignedHeaders=x-mq-date-time, Signature=<hex>`, where
//! the signature is HMAC-SHA1 of the date-time text under the secret key, in hexadecimal (the
//! Java client writes upper case, the Go client lower case; both are accepted). As on Apache
//! RocketMQ 5's proxy, the date-time is not compared with the clock.

use std::net::IpAddr;
use std::sync::Arc;

use crate::validator::{describe_resource, Refusal};
use crate::{permission, Caller, PlainAccessValidator};

/// The signing scheme of the v5 clients.
pub const GRPC_SIGNING_ALGORITHM: &str = "MQv2-HMAC-SHA1";
/// The metadata key with the credentials.
pub const AUTHORIZATION: &str = "authorization";
/// The metadata key with the signed date-time.
pub const DATE_TIME: &str = "x-mq-date-time";

/// What the credentials of a gRPC call say, read from its `authorization` metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcAuthorization {
    /// `Credential=<accessKey>[/...]`.
    pub access_key: String,
    /// `Signature=<hex>`, decoded.
    pub signature: Vec<u8>,
}

impl GrpcAuthorization {
    /// Parses `MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature=HEX`; the
    /// error says what is wrong with it.
    pub fn parse(value: &str) -> Result<GrpcAuthorization, String> {
        let (algorithm, rest) = value
            .trim()
            .split_once(' ')
            .ok_or("expected '<algorithm> Credential=..., SignedHeaders=..., Signature=...'")?;
        if algorithm != GRPC_SIGNING_ALGORITHM {
            return Err(format!(
                "signing algorithm {algorithm} is not supported (expected {GRPC_SIGNING_ALGORITHM})"
            ));
        }
        let (mut access_key, mut signature) = (None, None);
        for item in rest.split(',') {
            let (key, value) = item
                .trim()
                .split_once('=')
                .ok_or_else(|| format!("'{}' is not key=value", item.trim()))?;
            match key {
                // `Credential=<accessKey>/<scope...>`: the access key comes first
                "Credential" => access_key = value.split('/').next().map(str::to_string),
                "Signature" => {
                    signature = Some(
                        decode_hex(value).ok_or_else(|| format!("Signature {value} is not hex"))?,
                    )
                }
                _ => {}
            }
        }
        match (access_key.filter(|ak| !ak.is_empty()), signature) {
            (Some(access_key), Some(signature)) => Ok(GrpcAuthorization {
                access_key,
                signature,
            }),
            (None, _) => Err("no Credential=<accessKey>".into()),
            (_, None) => Err("no Signature=<hex>".into()),
        }
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    let pairs = text.as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    pairs
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// What a gRPC call presents: its peer and the two metadata values of its signature.
#[derive(Debug, Clone, Copy)]
pub struct GrpcCall<'a> {
    /// The connection's remote address.
    pub peer: IpAddr,
    /// The `authorization` metadata, if sent.
    pub authorization: Option<&'a str>,
    /// The `x-mq-date-time` metadata, if sent.
    pub date_time: Option<&'a str>,
}

/// Why a gRPC call is refused, worded for the person configuring the client or plain_acl.yml.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrpcRefusal {
    /// The caller is not authenticated (answered UNAUTHORIZED).
    #[error("{0}")]
    Unauthenticated(String),
    /// The account may not do this (answered FORBIDDEN).
    #[error("{0}")]
    Forbidden(String),
}

/// The check of gRPC calls against the broker's ACL files; reloads of the files apply to it as
/// they do to the remoting port, since both read the same validator.
#[derive(Clone)]
pub struct GrpcAccessChecker {
    validator: Arc<PlainAccessValidator>,
}

impl GrpcAccessChecker {
    /// A checker reading `validator`'s rules in force at each call.
    pub fn new(validator: Arc<PlainAccessValidator>) -> Self {
        GrpcAccessChecker { validator }
    }

    /// Checks a call that needs `needed` (topic names, and groups as `%RETRY%<group>`, with
    /// [`permission`] bits): the caller when it may run, else why not.
    pub fn check(
        &self,
        call: GrpcCall<'_>,
        needed: &[(String, u8)],
    ) -> Result<Caller, GrpcRefusal> {
        let parsed = call.authorization.map(GrpcAuthorization::parse);
        let access_key = match &parsed {
            Some(Ok(a)) => Some(a.access_key.as_str()),
            _ => None,
        };
        let signed_by = |secret_key: &str| match (&parsed, call.date_time) {
            (Some(Ok(a)), Some(date_time)) => {
                crate::signature::verify_raw(secret_key, date_time.as_bytes(), &a.signature)
            }
            _ => false,
        };
        let rules = self.validator.rules();
        let result = rules.authorize(call.peer, access_key, signed_by, None, needed);
        result.map_err(|refusal| {
            let refusal = word(refusal, &parsed, call.date_time.is_some());
            tracing::debug!(peer = %call.peer, reason = %refusal, "gRPC call refused by ACL");
            refusal
        })
    }
}

fn word(
    refusal: Refusal,
    parsed: &Option<Result<GrpcAuthorization, String>>,
    has_date_time: bool,
) -> GrpcRefusal {
    use GrpcRefusal::*;
    match refusal {
        Refusal::NoAccessKey => Unauthenticated(match parsed {
            Some(Err(why)) => format!(
                "the '{AUTHORIZATION}' metadata cannot be read ({why}); expected \
                 '{GRPC_SIGNING_ALGORITHM} Credential=<accessKey>, SignedHeaders={DATE_TIME}, \
                 Signature=<hex>'"
            ),
            _ => format!(
                "no credentials: the broker enforces ACL (aclEnable=true) and the call has no \
                 '{AUTHORIZATION}' metadata; give the client the accessKey and secretKey of an \
                 account of plain_acl.yml"
            ),
        }),
        Refusal::UnknownAccessKey(ak) => Unauthenticated(format!(
            "accessKey={ak} is not an account of the broker's ACL files (plain_acl.yml)"
        )),
        Refusal::BadSignature(ak) if !has_date_time => Unauthenticated(format!(
            "accessKey={ak}: the call has no '{DATE_TIME}' metadata, which the signature signs"
        )),
        Refusal::BadSignature(ak) => Unauthenticated(format!(
            "signature check failed for accessKey={ak}: the client's secretKey is not the \
             account's"
        )),
        Refusal::NotAdmin { code, access_key } => Forbidden(format!(
            "accessKey={access_key} is not an admin account (request code {code})"
        )),
        Refusal::NoPermission { resource, needed } => Forbidden(format!(
            "accessKey={} lacks {} permission on {} (topicPerms/groupPerms or \
             defaultTopicPerm/defaultGroupPerm in plain_acl.yml)",
            parsed
                .as_ref()
                .and_then(|p| p.as_ref().ok())
                .map_or("?", |a| a.access_key.as_str()),
            permission_name(needed),
            describe_resource(&resource)
        )),
    }
}

fn permission_name(needed: u8) -> &'static str {
    if needed & permission::ANY != 0 {
        "PUB or SUB"
    } else {
        permission::to_text(needed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permission::{ANY, PUB, SUB};

    fn checker() -> (tempfile::TempDir, GrpcAccessChecker) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        // the remoting tests' accounts: the same file must give the same decisions
        std::fs::write(&path, crate::validator::tests::FILE).unwrap();
        let validator = PlainAccessValidator::load_with_dir(&path, None).unwrap();
        (dir, GrpcAccessChecker::new(validator))
    }

    /// What the Java client sends for `date_time` (upper-case hex).
    fn authorization(ak: &str, sk: &str, date_time: &str) -> String {
        let raw = crate::signature::calculate_raw(sk, date_time.as_bytes());
        let hex: String = raw.iter().map(|b| format!("{b:02X}")).collect();
        format!(
            "{GRPC_SIGNING_ALGORITHM} Credential={ak}, SignedHeaders={DATE_TIME}, Signature={hex}"
        )
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const WHEN: &str = "20240101T120000Z";

    fn call<'a>(authorization: Option<&'a str>) -> GrpcCall<'a> {
        GrpcCall {
            peer: LOCAL,
            authorization,
            date_time: Some(WHEN),
        }
    }

    fn need(resource: &str, perm: u8) -> Vec<(String, u8)> {
        vec![(resource.to_string(), perm)]
    }

    #[test]
    fn the_clients_header_is_parsed() {
        // HMAC-SHA1("12345678", "20240101T120000Z"), computed independently (Python's hmac)
        let expected = "A96971FAD32CF0C6445DB840701B444A2DF23D4F";
        let header = authorization("RocketMQ", "12345678", WHEN);
        assert!(header.ends_with(expected), "{header}");
        let parsed = GrpcAuthorization::parse(&header).unwrap();
        assert_eq!(parsed.access_key, "RocketMQ");
        assert_eq!(parsed.signature, decode_hex(expected).unwrap());
        // the Go client writes lower-case hex
        let lower = header.replace(expected, &expected.to_lowercase());
        assert_eq!(GrpcAuthorization::parse(&lower).unwrap(), parsed);
        for bad in [
            "",
            "Bearer token",
            "MQv2-HMAC-SHA1 Credential=ak, Signature=XYZ1",
            "MQv2-HMAC-SHA1 Credential=ak",
            "MQv2-HMAC-SHA1 Signature=00",
        ] {
            assert!(GrpcAuthorization::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn signed_calls_get_the_remoting_decisions() {
        let (_dir, checker) = checker();
        let good = authorization("RocketMQ", "12345678", WHEN);
        let caller = checker
            .check(call(Some(&good)), &need("topicB", PUB))
            .unwrap();
        assert_eq!(caller.access_key(), Some("RocketMQ"));
        assert!(checker
            .check(call(Some(&good)), &need("topicC", ANY))
            .is_ok());
        let denied = checker.check(call(Some(&good)), &need("topicC", PUB));
        assert_eq!(
            denied,
            Err(GrpcRefusal::Forbidden(
                "accessKey=RocketMQ lacks PUB permission on topic:topicC (topicPerms/groupPerms \
                 or defaultTopicPerm/defaultGroupPerm in plain_acl.yml)"
                    .into()
            ))
        );
        let group = checker.check(call(Some(&good)), &need("%RETRY%groupA", SUB));
        assert!(matches!(group, Err(GrpcRefusal::Forbidden(m)) if m.contains("group:groupA")));
        assert!(checker
            .check(call(Some(&good)), &need("%RETRY%other", SUB))
            .is_ok());
    }

    #[test]
    fn bad_credentials_are_unauthenticated() {
        let (_dir, checker) = checker();
        let unauthenticated = |c: GrpcCall<'_>| match checker.check(c, &need("topicB", PUB)) {
            Err(GrpcRefusal::Unauthenticated(m)) => m,
            other => panic!("expected UNAUTHORIZED, got {other:?}"),
        };
        assert!(unauthenticated(call(None)).contains("no credentials"));
        let wrong = authorization("RocketMQ", "wrong", WHEN);
        assert!(unauthenticated(call(Some(&wrong))).contains("signature check failed"));
        let unknown = authorization("nobody", "12345678", WHEN);
        assert!(unauthenticated(call(Some(&unknown))).contains("accessKey=nobody"));
        assert!(unauthenticated(call(Some("garbage"))).contains("cannot be read"));
        let good = authorization("RocketMQ", "12345678", WHEN);
        let undated = GrpcCall {
            date_time: None,
            ..call(Some(&good))
        };
        assert!(unauthenticated(undated).contains(DATE_TIME));
        let other_time = GrpcCall {
            date_time: Some("20240101T120001Z"),
            ..call(Some(&good))
        };
        assert!(unauthenticated(other_time).contains("signature check failed"));
        // the global white list needs no credentials
        let white = GrpcCall {
            peer: "10.10.103.9".parse().unwrap(),
            ..call(None)
        };
        assert!(checker.check(white, &need("topicA", PUB)).is_ok());
    }
}
