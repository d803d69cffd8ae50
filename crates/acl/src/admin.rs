//! The ACL admin codes (RocketMQ's `AdminBrokerProcessor` ACL handlers): they change
//! plain_acl.yml crash-safely and put the change in force at once.

use std::sync::Arc;

use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;

use crate::plain_config::{self, PlainAccessConfig, PlainAclFile, KEY_MIN_LENGTH};
use crate::{
    PlainAccessValidator, DELETE_ACL_CONFIG, GET_BROKER_CLUSTER_ACL_INFO,
    UPDATE_AND_CREATE_ACL_CONFIG, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
};

/// The codes [`process_admin`] answers.
pub const ACL_ADMIN_CODES: [i32; 4] = [
    UPDATE_AND_CREATE_ACL_CONFIG,
    DELETE_ACL_CONFIG,
    GET_BROKER_CLUSTER_ACL_INFO,
    UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
];

/// What GET_BROKER_CLUSTER_ACL_INFO reports about the broker.
#[derive(Debug, Clone)]
pub struct AclAdminContext {
    pub broker_name: String,
    pub broker_addr: String,
    pub cluster_name: String,
}

/// Answers one ACL admin code; `validator` is `None` when the broker runs without ACL.
pub async fn process_admin(
    validator: Option<&Arc<PlainAccessValidator>>,
    context: &AclAdminContext,
    request: &RemotingCommand,
) -> RemotingCommand {
    let Some(v) = validator else {
        return RemotingCommand::error_to(
            request,
            response::SYSTEM_ERROR,
            "The broker does not enable acl (set aclEnable=true and restart)",
        );
    };
    let result = match request.code {
        GET_BROKER_CLUSTER_ACL_INFO => Ok(acl_info(v, context, request)),
        code => update(v, request, code).await,
    };
    result.unwrap_or_else(|e| RemotingCommand::error_to(request, response::SYSTEM_ERROR, e))
}

fn data_version_json(file: &PlainAclFile) -> String {
    let v = file.data_version.first().copied().unwrap_or_default();
    format!(
        "{{\"counter\":{},\"stateVersion\":0,\"timestamp\":{}}}",
        v.counter, v.timestamp
    )
}

fn acl_info(
    v: &PlainAccessValidator,
    context: &AclAdminContext,
    request: &RemotingCommand,
) -> RemotingCommand {
    let file = v.file();
    let version = data_version_json(&file);
    let all = serde_json_map(&v.path().display().to_string(), &version);
    RemotingCommand::response_to(request, response::SUCCESS)
        .with_ext("version", version)
        .with_ext("allAclFileVersion", all)
        .with_ext("brokerName", &context.broker_name)
        .with_ext("brokerAddr", &context.broker_addr)
        .with_ext("clusterName", &context.cluster_name)
}

/// `{"<path>":<version>}` with the path escaped as a JSON string.
fn serde_json_map(path: &str, version_json: &str) -> String {
    let mut key = String::from("\"");
    for c in path.chars() {
        match c {
            '"' => key.push_str("\\\""),
            '\\' => key.push_str("\\\\"),
            c if (c as u32) < 0x20 => key.push_str(&format!("\\u{:04x}", c as u32)),
            c => key.push(c),
        }
    }
    key.push('"');
    format!("{{{key}:{version_json}}}")
}

async fn update(
    v: &Arc<PlainAccessValidator>,
    request: &RemotingCommand,
    code: i32,
) -> Result<RemotingCommand, String> {
    let _one_writer = v.write_lock.lock().await;
    let mut file = v.file();
    match code {
        UPDATE_AND_CREATE_ACL_CONFIG => upsert_account(&mut file, request)?,
        DELETE_ACL_CONFIG => {
            let ak = field(request, "accessKey").ok_or("accessKey is required")?;
            let before = file.accounts.len();
            file.accounts.retain(|a| a.access_key != ak);
            if file.accounts.len() == before {
                return Err(format!("No acl config for {ak}"));
            }
        }
        UPDATE_GLOBAL_WHITE_ADDRS_CONFIG => {
            file.global_white_remote_addresses = field(request, "globalWhiteAddrs")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
        }
        other => return Err(format!("request code {other} is not an ACL admin code")),
    }
    file.bump_version(ferrocket_protocol::util::now_millis());
    // refuses a change that would not compile before anything is written
    crate::AclRules::compile(&file)?;
    let path = v.path().to_path_buf();
    let saved = file.clone();
    tokio::task::spawn_blocking(move || plain_config::save(&path, &saved))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot write {}: {e}", v.path().display()))?;
    v.install(file)?;
    tracing::info!(code, caller = ?crate::current_caller().and_then(|c| c.access_key().map(String::from)), "ACL configuration changed");
    Ok(RemotingCommand::response_to(request, response::SUCCESS))
}

fn field<'a>(request: &'a RemotingCommand, name: &str) -> Option<&'a str> {
    request
        .ext_fields
        .get(name)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn perm_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// UPDATE_AND_CREATE_ACL_CONFIG: fields sent replace the account's, fields left out keep it.
fn upsert_account(file: &mut PlainAclFile, request: &RemotingCommand) -> Result<(), String> {
    let ak = field(request, "accessKey").ok_or("accessKey is required")?;
    if ak.len() < KEY_MIN_LENGTH {
        return Err(format!(
            "accessKey '{ak}' is shorter than {KEY_MIN_LENGTH} characters"
        ));
    }
    let index = match file.accounts.iter().position(|a| a.access_key == ak) {
        Some(i) => i,
        None => {
            file.accounts.push(PlainAccessConfig {
                access_key: ak.to_string(),
                ..Default::default()
            });
            file.accounts.len() - 1
        }
    };
    let account = &mut file.accounts[index];
    if let Some(sk) = field(request, "secretKey") {
        account.secret_key = sk.to_string();
    }
    if account.secret_key.len() < KEY_MIN_LENGTH {
        return Err(format!(
            "secretKey of {ak} must have at least {KEY_MIN_LENGTH} characters"
        ));
    }
    if let Some(w) = field(request, "whiteRemoteAddress") {
        account.white_remote_address = Some(w.to_string());
    }
    if let Some(admin) = field(request, "admin") {
        account.admin = admin.eq_ignore_ascii_case("true");
    }
    if let Some(p) = field(request, "defaultTopicPerm") {
        account.default_topic_perm = Some(p.to_string());
    }
    if let Some(p) = field(request, "defaultGroupPerm") {
        account.default_group_perm = Some(p.to_string());
    }
    if let Some(p) = field(request, "topicPerms") {
        account.topic_perms = perm_list(p);
    }
    if let Some(p) = field(request, "groupPerms") {
        account.group_perms = perm_list(p);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> AclAdminContext {
        AclAdminContext {
            broker_name: "broker-a".into(),
            broker_addr: "127.0.0.1:10911".into(),
            cluster_name: "DefaultCluster".into(),
        }
    }

    #[tokio::test]
    async fn create_update_delete_and_white_list_are_saved() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        std::fs::write(
            &path,
            "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n    admin: true\n",
        )
        .unwrap();
        let v = PlainAccessValidator::load(&path).unwrap();
        let create = RemotingCommand::request(UPDATE_AND_CREATE_ACL_CONFIG)
            .with_ext("accessKey", "newuser1")
            .with_ext("secretKey", "newsecret1")
            .with_ext("defaultTopicPerm", "PUB")
            .with_ext("topicPerms", "a=SUB,b=PUB|SUB");
        let r = process_admin(Some(&v), &ctx(), &create).await;
        assert_eq!(r.code, response::SUCCESS, "{:?}", r.remark);
        let on_disk = plain_config::load(&path).unwrap();
        let acc = on_disk.account("newuser1").unwrap();
        assert_eq!(acc.topic_perms, ["a=SUB", "b=PUB|SUB"]);
        assert_eq!(on_disk.data_version[0].counter, 1);

        let white = RemotingCommand::request(UPDATE_GLOBAL_WHITE_ADDRS_CONFIG)
            .with_ext("globalWhiteAddrs", "10.0.0.*,192.168.1.1");
        assert_eq!(process_admin(Some(&v), &ctx(), &white).await.code, 0);
        assert_eq!(
            plain_config::load(&path)
                .unwrap()
                .global_white_remote_addresses,
            ["10.0.0.*", "192.168.1.1"]
        );

        let info = process_admin(
            Some(&v),
            &ctx(),
            &RemotingCommand::request(GET_BROKER_CLUSTER_ACL_INFO),
        )
        .await;
        assert!(info
            .ext_fields
            .get("version")
            .unwrap()
            .contains("\"counter\":2"));
        assert!(info
            .ext_fields
            .get("allAclFileVersion")
            .unwrap()
            .contains("plain_acl.yml"));

        let delete = RemotingCommand::request(DELETE_ACL_CONFIG).with_ext("accessKey", "newuser1");
        assert_eq!(process_admin(Some(&v), &ctx(), &delete).await.code, 0);
        assert!(plain_config::load(&path)
            .unwrap()
            .account("newuser1")
            .is_none());
        let again = process_admin(Some(&v), &ctx(), &delete).await;
        assert_eq!(again.code, response::SYSTEM_ERROR);
    }

    #[tokio::test]
    async fn bad_updates_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        let text = "accounts:\n  - accessKey: RocketMQ\n    secretKey: 12345678\n";
        std::fs::write(&path, text).unwrap();
        let v = PlainAccessValidator::load(&path).unwrap();
        for bad in [
            RemotingCommand::request(UPDATE_AND_CREATE_ACL_CONFIG).with_ext("accessKey", "abc"),
            RemotingCommand::request(UPDATE_AND_CREATE_ACL_CONFIG)
                .with_ext("accessKey", "nosecret1"),
            RemotingCommand::request(UPDATE_AND_CREATE_ACL_CONFIG)
                .with_ext("accessKey", "RocketMQ")
                .with_ext("whiteRemoteAddress", "10.0.0.300"),
            RemotingCommand::request(UPDATE_GLOBAL_WHITE_ADDRS_CONFIG)
                .with_ext("globalWhiteAddrs", "x.y"),
        ] {
            let r = process_admin(Some(&v), &ctx(), &bad).await;
            assert_eq!(r.code, response::SYSTEM_ERROR);
            assert!(r.remark.is_some());
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let off = process_admin(
            None,
            &ctx(),
            &RemotingCommand::request(GET_BROKER_CLUSTER_ACL_INFO),
        )
        .await;
        assert_eq!(off.code, response::SYSTEM_ERROR);
    }
}
