//! `PlainAccessValidator`: decides whether a request may run, from the accounts of plain_acl.yml.

use std::collections::HashMap;
use std::net::IpAddr;

use ferrocket_protocol::RemotingCommand;

use crate::permission;
use crate::plain_config::{PlainAccessConfig, PlainAclFile};
use crate::remote_address::AddressPattern;
use crate::resource::{needed_resources, RETRY_GROUP_TOPIC_PREFIX, RMQ_SYS_TRACE_TOPIC};
use crate::signature::{self, ACCESS_KEY, SIGNATURE, UNIQUE_MSG_QUERY_FLAG};
use crate::{AclError, Caller};

/// One account, compiled for checking.
#[derive(Debug, Clone)]
struct Account {
    secret_key: String,
    white: AddressPattern,
    admin: bool,
    default_topic_perm: u8,
    default_group_perm: u8,
    /// `None` when the account lists no topic or group permission (RocketMQ's null map).
    perms: Option<HashMap<String, u8>>,
}

impl Account {
    fn compile(c: &PlainAccessConfig) -> Result<Account, String> {
        let white = AddressPattern::parse(c.white_remote_address.as_deref().unwrap_or(""))
            .map_err(|e| format!("account {}: whiteRemoteAddress {e}", c.access_key))?;
        let mut perms = HashMap::new();
        for (list, prefix) in [
            (&c.topic_perms, ""),
            (&c.group_perms, RETRY_GROUP_TOPIC_PREFIX),
        ] {
            for entry in list {
                let (name, perm) = entry.split_once('=').ok_or_else(|| {
                    format!("account {}: '{entry}' is not name=PERM", c.access_key)
                })?;
                perms.insert(
                    format!("{prefix}{}", name.trim()),
                    permission::parse(Some(perm)),
                );
            }
        }
        Ok(Account {
            secret_key: c.secret_key.clone(),
            white,
            admin: c.admin,
            default_topic_perm: permission::parse(c.default_topic_perm.as_deref()),
            default_group_perm: permission::parse(c.default_group_perm.as_deref()),
            perms: (!perms.is_empty()).then_some(perms),
        })
    }
}

/// The compiled content of one plain_acl.yml.
#[derive(Debug, Clone)]
pub struct AclRules {
    global_white: Vec<AddressPattern>,
    accounts: HashMap<String, Account>,
}

impl AclRules {
    /// Compiles `file`; an invalid pattern or permission entry is an error naming it.
    pub fn compile(file: &PlainAclFile) -> Result<AclRules, String> {
        let global_white = file
            .global_white_remote_addresses
            .iter()
            .map(|p| {
                AddressPattern::parse(p).map_err(|e| format!("globalWhiteRemoteAddresses: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let mut accounts = HashMap::new();
        for c in &file.accounts {
            if accounts
                .insert(c.access_key.clone(), Account::compile(c)?)
                .is_some()
            {
                return Err(format!("accessKey {} is listed twice", c.access_key));
            }
        }
        Ok(AclRules {
            global_white,
            accounts,
        })
    }

    /// Compiles several files into one set of rules, as RocketMQ 4.9.3+ merges `conf/acl/*.yml`
    /// with plain_acl.yml: the global white lists add up, and an access key listed in more than
    /// one file keeps the account of the first file (the others are reported, as RocketMQ
    /// warns "The accessKey ... is repeated in multiple ACL files").
    pub fn compile_all<'a>(
        files: impl IntoIterator<Item = (&'a std::path::Path, &'a PlainAclFile)>,
    ) -> Result<(AclRules, Vec<String>), String> {
        let mut merged = AclRules {
            global_white: Vec::new(),
            accounts: HashMap::new(),
        };
        let mut repeated = Vec::new();
        for (path, file) in files {
            let rules = AclRules::compile(file).map_err(|e| format!("{}: {e}", path.display()))?;
            merged.global_white.extend(rules.global_white);
            for c in &file.accounts {
                if merged.accounts.contains_key(&c.access_key) {
                    repeated.push(format!(
                        "accessKey {} of {} is already defined in another ACL file; ignored",
                        c.access_key,
                        path.display()
                    ));
                } else if let Some(account) = rules.accounts.get(&c.access_key) {
                    merged
                        .accounts
                        .insert(c.access_key.clone(), account.clone());
                }
            }
        }
        Ok((merged, repeated))
    }

    /// Checks `request` from `peer` (RocketMQ's `PlainPermissionManager.validate`); the error's
    /// text is RocketMQ's remark for the refusal.
    pub fn validate(&self, request: &RemotingCommand, peer: IpAddr) -> Result<Caller, AclError> {
        let needed = needed_resources(request)?;
        let access_key = request.ext_fields.get(ACCESS_KEY);
        self.authorize(
            peer,
            access_key,
            |secret_key| signature_matches(request, secret_key),
            Some(request.code),
            &needed,
        )
        .map_err(|refusal| AclError::Denied(refusal.rocketmq_remark()))
    }

    /// The decision shared by every transport: the global white list, the account, its
    /// white address, the signature (`signed_by` tells whether the request was signed with
    /// a secret key), admin-only `code`s, then the permission on each `needed` resource.
    pub(crate) fn authorize(
        &self,
        peer: IpAddr,
        access_key: Option<&str>,
        signed_by: impl FnOnce(&str) -> bool,
        code: Option<i32>,
        needed: &[(String, u8)],
    ) -> Result<Caller, Refusal> {
        if self.global_white.iter().any(|p| p.matches(peer)) {
            return Ok(Caller::anonymous_white_listed());
        }
        let Some(access_key) = access_key else {
            return Err(Refusal::NoAccessKey);
        };
        let Some(account) = self.accounts.get(access_key) else {
            return Err(Refusal::UnknownAccessKey(access_key.to_string()));
        };
        let caller = Caller::account(access_key);
        if account.white.matches(peer) {
            return Ok(caller.by_address());
        }
        if !signed_by(&account.secret_key) {
            return Err(Refusal::BadSignature(access_key.to_string()));
        }
        if needed
            .iter()
            .any(|(r, p)| r == RMQ_SYS_TRACE_TOPIC && *p == permission::PUB)
        {
            return Ok(caller);
        }
        check_perm(code, access_key, account, needed)?;
        Ok(caller)
    }
}

/// Why a request is refused, before it is worded for one transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The request names no account.
    NoAccessKey,
    /// The account is not in the ACL files.
    UnknownAccessKey(String),
    /// The signature is missing or not made with the account's secret key.
    BadSignature(String),
    /// The request code is admin-only and the account is not an admin.
    NotAdmin { code: i32, access_key: String },
    /// The account lacks `needed` on `resource` (a topic, or `%RETRY%<group>`).
    NoPermission { resource: String, needed: u8 },
}

impl Refusal {
    /// RocketMQ's remark for the refusal (what remoting clients are answered).
    pub(crate) fn rocketmq_remark(&self) -> String {
        match self {
            Refusal::NoAccessKey => "No accessKey is configured".into(),
            Refusal::UnknownAccessKey(ak) => format!("No acl config for {ak}"),
            Refusal::BadSignature(ak) => format!("Check signature failed for accessKey={ak}"),
            Refusal::NotAdmin { code, access_key } => format!(
                "Need admin permission for request code={code}, but accessKey={access_key} is not"
            ),
            Refusal::NoPermission { resource, .. } => {
                format!("No default permission for {}", describe_resource(resource))
            }
        }
    }
}

/// `topic:<name>` or `group:<name>` for a checked resource name.
pub(crate) fn describe_resource(resource: &str) -> String {
    match resource.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) {
        Some(group) => format!("group:{group}"),
        None => format!("topic:{resource}"),
    }
}

/// Accepts the signature over the received fields without `_UNIQUE_KEY_QUERY` (4.x clients add
/// it after signing) and, failing that, with it (5.x clients sign it).
fn signature_matches(request: &RemotingCommand, secret_key: &str) -> bool {
    let Some(sig) = request.ext_fields.get(SIGNATURE) else {
        return false;
    };
    let without = signature::request_content(request, &[UNIQUE_MSG_QUERY_FLAG]);
    if signature::verify(secret_key, &without, sig) {
        return true;
    }
    request.ext_fields.get(UNIQUE_MSG_QUERY_FLAG).is_some()
        && signature::verify(secret_key, &signature::request_content(request, &[]), sig)
}

fn check_perm(
    code: Option<i32>,
    access_key: &str,
    account: &Account,
    needed: &[(String, u8)],
) -> Result<(), Refusal> {
    if let Some(code) = code.filter(|c| permission::needs_admin(*c)) {
        if !account.admin {
            return Err(Refusal::NotAdmin {
                code,
                access_key: access_key.to_string(),
            });
        }
    }
    if account.admin && account.perms.is_none() {
        return Ok(());
    }
    for (resource, need) in needed {
        let is_group = resource.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        let owned = account
            .perms
            .as_ref()
            .and_then(|m| m.get(resource).copied())
            .unwrap_or(if is_group {
                account.default_group_perm
            } else {
                account.default_topic_perm
            });
        if !permission::check(*need, owned) {
            return Err(Refusal::NoPermission {
                resource: resource.clone(),
                needed: *need,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::signature::sign;

    /// Accounts and white lists shared by the transports' tests.
    pub(crate) const FILE: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      - groupA=DENY
      - groupB=PUB|SUB
  - accessKey: rocketmq2
    secretKey: 87654321
    whiteRemoteAddress: 192.168.1.*
    admin: true
";

    fn rules() -> AclRules {
        AclRules::compile(&PlainAclFile::parse(FILE).unwrap()).unwrap()
    }

    const LOCAL: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn send(topic: &str) -> RemotingCommand {
        RemotingCommand::request(310)
            .with_ext("a", "producerGroup")
            .with_ext("b", topic)
            .with_body(&b"payload"[..])
    }

    fn pull(topic: &str, group: &str) -> RemotingCommand {
        RemotingCommand::request(11)
            .with_ext("topic", topic)
            .with_ext("consumerGroup", group)
    }

    fn signed(mut r: RemotingCommand, ak: &str, sk: &str) -> RemotingCommand {
        sign(&mut r, ak, sk);
        r
    }

    fn denied(r: Result<Caller, AclError>) -> String {
        match r {
            Err(AclError::Denied(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn credentials_are_required_and_checked() {
        let rules = rules();
        assert_eq!(
            denied(rules.validate(&send("topicB"), LOCAL)),
            "No accessKey is configured"
        );
        let unknown = signed(send("topicB"), "nobody1", "12345678");
        assert_eq!(
            denied(rules.validate(&unknown, LOCAL)),
            "No acl config for nobody1"
        );
        let wrong = signed(send("topicB"), "RocketMQ", "wrongwrong");
        assert_eq!(
            denied(rules.validate(&wrong, LOCAL)),
            "Check signature failed for accessKey=RocketMQ"
        );
        let mut tampered = signed(send("topicB"), "RocketMQ", "12345678");
        tampered.body = bytes::Bytes::from_static(b"payloaD");
        assert!(rules.validate(&tampered, LOCAL).is_err());
        let ok = signed(send("topicB"), "RocketMQ", "12345678");
        assert_eq!(
            rules.validate(&ok, LOCAL).unwrap().access_key(),
            Some("RocketMQ")
        );
    }

    #[test]
    fn topic_and_group_permissions() {
        let rules = rules();
        let ak = |r| signed(r, "RocketMQ", "12345678");
        assert_eq!(
            denied(rules.validate(&ak(send("topicA")), LOCAL)),
            "No default permission for topic:topicA"
        );
        assert_eq!(
            denied(rules.validate(&ak(send("topicC")), LOCAL)),
            "No default permission for topic:topicC"
        );
        assert_eq!(
            denied(rules.validate(&ak(send("other")), LOCAL)),
            "No default permission for topic:other"
        );
        assert!(rules.validate(&ak(pull("topicC", "groupB")), LOCAL).is_ok());
        // groups not listed fall back to defaultGroupPerm (SUB)
        assert!(rules
            .validate(&ak(pull("topicC", "anyGroup")), LOCAL)
            .is_ok());
        assert_eq!(
            denied(rules.validate(&ak(pull("topicC", "groupA")), LOCAL)),
            "No default permission for group:groupA"
        );
        // a retry topic is checked as its group
        assert!(rules.validate(&ak(send("%RETRY%x")), LOCAL).is_ok());
        // trace data is always accepted
        assert!(rules
            .validate(&ak(send(RMQ_SYS_TRACE_TOPIC)), LOCAL)
            .is_ok());
    }

    #[test]
    fn admin_codes_need_admin() {
        let rules = rules();
        let create = RemotingCommand::request(17).with_ext("topic", "t");
        assert_eq!(
            denied(rules.validate(&signed(create.clone(), "RocketMQ", "12345678"), LOCAL)),
            "Need admin permission for request code=17, but accessKey=RocketMQ is not"
        );
        assert!(rules
            .validate(&signed(create, "rocketmq2", "87654321"), LOCAL)
            .is_ok());
    }

    #[test]
    fn white_lists_skip_the_signature() {
        let rules = rules();
        let global: IpAddr = "10.10.103.7".parse().unwrap();
        let caller = rules.validate(&send("topicA"), global).unwrap();
        assert_eq!(caller.access_key(), None);
        let account_white: IpAddr = "192.168.1.9".parse().unwrap();
        let unsigned = RemotingCommand::request(17).with_ext(ACCESS_KEY, "rocketmq2");
        assert!(rules.validate(&unsigned, account_white).is_ok());
        assert!(rules.validate(&unsigned, LOCAL).is_err());
    }

    #[test]
    fn unique_key_query_flag_is_accepted_either_way() {
        let rules = rules();
        let q = RemotingCommand::request(12).with_ext("topic", "topicC");
        let mut after = signed(q.clone(), "RocketMQ", "12345678");
        after.ext_fields.insert(UNIQUE_MSG_QUERY_FLAG, "true");
        assert!(rules.validate(&after, LOCAL).is_ok());
        let before = signed(
            q.with_ext(UNIQUE_MSG_QUERY_FLAG, "true"),
            "RocketMQ",
            "12345678",
        );
        assert!(rules.validate(&before, LOCAL).is_ok());
    }
}
