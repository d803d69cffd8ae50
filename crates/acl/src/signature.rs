//! The request signature of RocketMQ's `AclClientRPCHook`: Base64(HMAC-SHA1(secretKey, content)),
//! where content is the values of the ext fields sorted by name (Java `TreeMap` order, without
//! `Signature`), concatenated without separators, followed by the raw body.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ferrocket_protocol::RemotingCommand;
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Ext field carrying the account's access key (`SessionCredentials.ACCESS_KEY`).
pub const ACCESS_KEY: &str = "AccessKey";
/// Ext field carrying the signature (`SessionCredentials.SIGNATURE`).
pub const SIGNATURE: &str = "Signature";
/// Ext field carrying an optional security token (`SessionCredentials.SECURITY_TOKEN`).
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`: added by 4.x clients after signing, so left out by brokers.
pub const UNIQUE_MSG_QUERY_FLAG: &str = "_UNIQUE_KEY_QUERY";

type HmacSha1 = Hmac<Sha1>;

/// The signed bytes of `request`, leaving out `Signature` and every name in `skip`.
pub fn request_content(request: &RemotingCommand, skip: &[&str]) -> Vec<u8> {
    let mut fields: Vec<(&str, &str)> = request
        .ext_fields
        .iter()
        .filter(|(k, _)| *k != SIGNATURE && !skip.contains(k))
        .collect();
    // Java compares strings by UTF-16 code unit, which differs from Rust's byte order only
    // beyond the Basic Multilingual Plane; compare the same way to stay exact.
    fields.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    let body_len = request.body.len() + request.body_tail.iter().map(|b| b.len()).sum::<usize>();
    let mut content =
        Vec::with_capacity(fields.iter().map(|f| f.1.len()).sum::<usize>() + body_len);
    for (_, value) in fields {
        content.extend_from_slice(value.as_bytes());
    }
    content.extend_from_slice(&request.body);
    for tail in &request.body_tail {
        content.extend_from_slice(tail);
    }
    content
}

fn mac(secret_key: &str, content: &[u8]) -> HmacSha1 {
    // HMAC accepts keys of any length, so this cannot fail
    let mut mac =
        HmacSha1::new_from_slice(secret_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(content);
    mac
}

/// `AclSigner.calSignature`: Base64 (standard, padded) of HMAC-SHA1 over `content`.
pub fn calculate(secret_key: &str, content: &[u8]) -> String {
    STANDARD.encode(calculate_raw(secret_key, content))
}

/// HMAC-SHA1 over `content`, unencoded.
pub fn calculate_raw(secret_key: &str, content: &[u8]) -> Vec<u8> {
    mac(secret_key, content).finalize().into_bytes().to_vec()
}

/// True when `signature` is the signature of `content` under `secret_key` (constant time).
pub fn verify(secret_key: &str, content: &[u8], signature: &str) -> bool {
    match STANDARD.decode(signature.trim()) {
        Ok(raw) => verify_raw(secret_key, content, &raw),
        Err(_) => false,
    }
}

/// True when `signature` (unencoded) is HMAC-SHA1 of `content` under `secret_key` (constant time).
pub fn verify_raw(secret_key: &str, content: &[u8], signature: &[u8]) -> bool {
    mac(secret_key, content).verify_slice(signature).is_ok()
}

/// Signs `request` as `AclClientRPCHook.doBeforeRequest` does: adds `AccessKey` (and
/// `SecurityToken` when given), then `Signature` over every ext field and the body.
///
/// Call it last, after every ext field has been set.
pub fn sign(request: &mut RemotingCommand, access_key: &str, secret_key: &str) {
    request.ext_fields.remove(SIGNATURE);
    request.ext_fields.insert(ACCESS_KEY, access_key);
    let content = request_content(request, &[]);
    request
        .ext_fields
        .insert(SIGNATURE, calculate(secret_key, &content));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_sorted_by_name_and_body_appended() {
        let mut r = RemotingCommand::request(10)
            .with_ext("b", "2")
            .with_ext("AccessKey", "ak")
            .with_ext("a", "1")
            .with_ext("Signature", "ignored")
            .with_body(&b"BODY"[..]);
        assert_eq!(request_content(&r, &[]), b"ak12BODY");
        r.ext_fields.insert(UNIQUE_MSG_QUERY_FLAG, "true");
        assert_eq!(request_content(&r, &[UNIQUE_MSG_QUERY_FLAG]), b"ak12BODY");
        // `_` sorts between upper- and lower-case letters
        assert_eq!(request_content(&r, &[]), b"aktrue12BODY");
    }

    #[test]
    fn utf16_order_puts_supplementary_characters_before_the_end_of_the_bmp() {
        // U+FF21 sorts after U+1F600 in UTF-16 (0xFF21 > 0xD83D) but before it in UTF-8
        let r = RemotingCommand::request(10)
            .with_ext("\u{FF21}", "x")
            .with_ext("\u{1F600}", "y");
        assert_eq!(request_content(&r, &[]), b"yx");
    }

    #[test]
    fn rfc2202_hmac_sha1_vector() {
        // RFC 2202 test case 2
        assert_eq!(
            calculate("Jefe", b"what do ya want for nothing?"),
            STANDARD.encode([
                0xef, 0xfc, 0xdf, 0x6a, 0xe5, 0xeb, 0x2f, 0xa2, 0xd2, 0x74, 0x16, 0xd5, 0xf1, 0x84,
                0xdf, 0x9c, 0x25, 0x9a, 0x7c, 0x79
            ])
        );
    }

    #[test]
    fn sign_then_verify() {
        let mut r = RemotingCommand::request(310)
            .with_ext("a", "group")
            .with_ext("b", "TopicTest")
            .with_body(&b"hello"[..]);
        sign(&mut r, "RocketMQ", "12345678");
        let sig = r.ext_fields.get(SIGNATURE).unwrap().to_string();
        let content = request_content(&r, &[]);
        assert!(verify("12345678", &content, &sig));
        assert!(!verify("12345679", &content, &sig));
        assert!(!verify("12345678", &content, "not base64!"));
        r.body = bytes_of("hellO");
        assert!(!verify("12345678", &request_content(&r, &[]), &sig));
    }

    /// Signatures printed by the official `AclClientRPCHook` (rocketmq-acl 4.9.8) for the same
    /// requests: a SEND_MESSAGE_V2 with properties and a non-ASCII body, and a header-only
    /// request with a non-ASCII value.
    #[test]
    fn vectors_computed_with_the_official_client() {
        let mut send = RemotingCommand::request(310)
            .with_ext("a", "please_rename_unique_group_name")
            .with_ext("b", "TopicTest")
            .with_ext("c", "TBW102")
            .with_ext("d", "4")
            .with_ext("e", "0")
            .with_ext("i", "UNIQ_KEY\u{1}7F000001\u{2}WAIT\u{1}true\u{2}")
            .with_body(bytes_of("Hello RocketMQ \u{e9}\u{f1}"));
        sign(&mut send, "RocketMQ", "12345678");
        assert_eq!(
            send.ext_fields.get(SIGNATURE),
            Some("fWk65X5X2CRPn/j6v/7uH8IsWoo=")
        );
        let mut create = RemotingCommand::request(17).with_ext("topic", "T\u{fc}pic");
        sign(&mut create, "rocketmq2", "abcdefgh");
        assert_eq!(
            create.ext_fields.get(SIGNATURE),
            Some("5NK1YvjWYkXyeYCNnWUJSsv0Z58=")
        );
    }

    fn bytes_of(s: &str) -> bytes::Bytes {
        bytes::Bytes::copy_from_slice(s.as_bytes())
    }
}
