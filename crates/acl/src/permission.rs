//! RocketMQ's permission bits (`Permission`): what an account may do with a topic or group.

/// Nothing is allowed; wins over every other bit.
pub const DENY: u8 = 1;
/// Needed by requests that accept either PUB or SUB.
pub const ANY: u8 = 1 << 1;
/// Send to a topic.
pub const PUB: u8 = 1 << 2;
/// Consume from a topic, or act as a consumer group (checked on `%RETRY%<group>`).
pub const SUB: u8 = 1 << 3;

/// Parses `PUB`, `SUB`, `PUB|SUB`, `SUB|PUB` or `DENY`; anything else (including a missing
/// value) denies, as RocketMQ's `Permission.parsePermFromString` does.
pub fn parse(text: Option<&str>) -> u8 {
    match text.map(str::trim) {
        Some("PUB") => PUB,
        Some("SUB") => SUB,
        Some("PUB|SUB") | Some("SUB|PUB") => PUB | SUB,
        _ => DENY,
    }
}

/// The text form of `perm` (as written back into plain_acl.yml).
pub fn to_text(perm: u8) -> &'static str {
    if perm & DENY != 0 {
        "DENY"
    } else if perm & PUB != 0 && perm & SUB != 0 {
        "PUB|SUB"
    } else if perm & PUB != 0 {
        "PUB"
    } else if perm & SUB != 0 {
        "SUB"
    } else {
        "DENY"
    }
}

/// True when an account owning `owned` may do what needs `needed`.
pub fn check(needed: u8, owned: u8) -> bool {
    if owned & DENY != 0 {
        return false;
    }
    if needed & ANY != 0 {
        return owned & (PUB | SUB) != 0;
    }
    needed & owned != 0
}

/// Request codes only an account with `admin: true` may send, on the broker or the name server
/// ([`crate::decision`]).
///
/// RocketMQ 4.9 lists five (UPDATE_AND_CREATE_TOPIC, UPDATE_BROKER_CONFIG, DELETE_TOPIC_IN_BROKER,
/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP, DELETE_SUBSCRIPTIONGROUP); Ferrocket also reserves to
/// admins every other code that changes the broker's or name server's configuration, the ACL
/// itself, or consumer offsets on behalf of others.
pub fn needs_admin(code: i32) -> bool {
    use crate::decision::{broker_decision, namesrv_decision, AclDecision};
    broker_decision(code) == Some(AclDecision::Admin)
        || namesrv_decision(code) == Some(AclDecision::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_rocketmq_spellings_and_denies_the_rest() {
        assert_eq!(parse(Some("PUB")), PUB);
        assert_eq!(parse(Some(" SUB ")), SUB);
        assert_eq!(parse(Some("PUB|SUB")), PUB | SUB);
        assert_eq!(parse(Some("SUB|PUB")), PUB | SUB);
        assert_eq!(parse(Some("DENY")), DENY);
        assert_eq!(parse(Some("pub")), DENY);
        assert_eq!(parse(Some("ANY")), DENY);
        assert_eq!(parse(None), DENY);
    }

    #[test]
    fn deny_wins_and_any_accepts_pub_or_sub() {
        assert!(check(PUB, PUB));
        assert!(check(PUB, PUB | SUB));
        assert!(!check(PUB, SUB));
        assert!(!check(SUB, PUB));
        assert!(!check(PUB, DENY | PUB));
        assert!(check(ANY, SUB));
        assert!(check(ANY, PUB));
        assert!(!check(ANY, DENY));
        assert!(!check(ANY, 0));
    }

    #[test]
    fn text_round_trips() {
        for p in [PUB, SUB, PUB | SUB, DENY] {
            assert_eq!(parse(Some(to_text(p))), p);
        }
    }

    #[test]
    fn rocketmq_admin_codes_need_admin() {
        for code in [17, 25, 215, 200, 207, 50, 51, 52, 53, 54, 104, 222] {
            assert!(needs_admin(code), "code {code}");
        }
        for code in [10, 11, 34, 310, 105] {
            assert!(!needs_admin(code), "code {code}");
        }
    }
}
