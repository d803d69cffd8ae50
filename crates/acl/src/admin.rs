//! The ACL admin codes (RocketMQ's `AdminBrokerProcessor` ACL handlers): they change
//! plain_acl.yml crash-safely and put the change in force at once.

use std::sync::Arc;

use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;

use crate::plain_config::{self, PlainAccessConfig, PlainAclFile, KEY_MIN_LENGTH};
use crate::{
    PlainAccessValidator, DELETE_ACL_CONFIG, GET_BROKER_CLUSTER_ACL_CONFIG,
    GET_BROKER_CLUSTER_ACL_INFO, UPDATE_AND_CREATE_ACL_CONFIG, UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
};

/// The codes [`process_admin`] answers.
pub const ACL_ADMIN_CODES: [i32; 5] = [
    UPDATE_AND_CREATE_ACL_CONFIG,
    DELETE_ACL_CONFIG,
    GET_BROKER_CLUSTER_ACL_INFO,
    UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
    GET_BROKER_CLUSTER_ACL_CONFIG,
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
        GET_BROKER_CLUSTER_ACL_CONFIG => Ok(all_acl_config(v, request)),
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
    let version = data_version_json(&v.file());
    // `{"<path>":<version>,…}`, every file read (RocketMQ's `getAllAclConfigVersion`)
    let mut all = serde_json::Map::new();
    for (path, file) in v.files() {
        let file_version: serde_json::Value =
            serde_json::from_str(&data_version_json(&file)).unwrap_or_default();
        all.insert(path.display().to_string(), file_version);
    }
    RemotingCommand::response_to(request, response::SUCCESS)
        .with_ext("version", version)
        .with_ext(
            "allAclFileVersion",
            serde_json::Value::Object(all).to_string(),
        )
        .with_ext("brokerName", &context.broker_name)
        .with_ext("brokerAddr", &context.broker_addr)
        .with_ext("clusterName", &context.cluster_name)
}

/// GET_BROKER_CLUSTER_ACL_CONFIG (RocketMQ 4.5 to 4.9.7 and 5.0 to 5.1, `getBrokerClusterAclConfig`):
/// a `GetBrokerClusterAclConfigResponseBody` with the global white addresses of every file and
/// every account in force, secret keys included. Admin-only here: RocketMQ answered it to any
/// signed account, and removed it in 4.9.8 and 5.2 for that reason.
fn all_acl_config(v: &PlainAccessValidator, request: &RemotingCommand) -> RemotingCommand {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        global_white_addrs: Vec<String>,
        plain_access_configs: Vec<PlainAccessConfig>,
    }
    let mut body = Body {
        global_white_addrs: Vec::new(),
        plain_access_configs: Vec::new(),
    };
    for (_, file) in v.files() {
        body.global_white_addrs
            .extend(file.global_white_remote_addresses.iter().cloned());
        for account in file.accounts {
            if !body
                .plain_access_configs
                .iter()
                .any(|a| a.access_key == account.access_key)
            {
                body.plain_access_configs.push(account);
            }
        }
    }
    RemotingCommand::response_to(request, response::SUCCESS)
        .with_body(serde_json::to_vec(&body).unwrap_or_default())
}

async fn update(
    v: &Arc<PlainAccessValidator>,
    request: &RemotingCommand,
    code: i32,
) -> Result<RemotingCommand, String> {
    let _one_writer = v.write_lock.lock().await;
    let target = target_file(v, request, code)?;
    let mut file = v.file_at(&target).unwrap_or_default();
    match code {
        UPDATE_AND_CREATE_ACL_CONFIG => upsert_account(&mut file, request)?,
        DELETE_ACL_CONFIG => {
            let ak = field(request, "accessKey").ok_or("accessKey is required")?;
            file.accounts.retain(|a| a.access_key != ak);
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
    v.rules_with(&target, &file)?;
    let path = target.clone();
    let saved = file.clone();
    tokio::task::spawn_blocking(move || plain_config::save(&path, &saved))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    v.install(&target, file)?;
    tracing::info!(code, file = %target.display(), caller = ?crate::current_caller().and_then(|c| c.access_key().map(String::from)), "ACL configuration changed");
    Ok(RemotingCommand::response_to(request, response::SUCCESS))
}

/// The file a change goes to, as RocketMQ picks it: an existing account's own file, a new
/// account's plain_acl.yml, the global white list's `aclFileFullPath` (one of the files read)
/// or plain_acl.yml.
fn target_file(
    v: &PlainAccessValidator,
    request: &RemotingCommand,
    code: i32,
) -> Result<std::path::PathBuf, String> {
    match code {
        UPDATE_AND_CREATE_ACL_CONFIG => {
            let ak = field(request, "accessKey").unwrap_or_default();
            Ok(v.file_of(ak).unwrap_or_else(|| v.path().to_path_buf()))
        }
        DELETE_ACL_CONFIG => {
            let ak = field(request, "accessKey").ok_or("accessKey is required")?;
            v.file_of(ak)
                .ok_or_else(|| format!("No acl config for {ak}"))
        }
        _ => match field(request, "aclFileFullPath") {
            None => Ok(v.path().to_path_buf()),
            Some(path) => v
                .loaded_path(std::path::Path::new(path))
                .ok_or_else(|| format!("{path} is not an ACL file of this broker")),
        },
    }
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

    fn signed_send(ak: &str, sk: &str) -> RemotingCommand {
        let mut r = RemotingCommand::request(310)
            .with_ext("b", "T")
            .with_ext("a", "G");
        crate::signature::sign(&mut r, ak, sk);
        r
    }

    #[tokio::test]
    async fn acl_directory_files_merge_and_changes_go_to_the_right_file() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("plain_acl.yml");
        std::fs::write(
            &main,
            "globalWhiteRemoteAddresses: [10.0.0.1]\naccounts:\n  - accessKey: mainUser1\n    secretKey: mainSecret1\n    defaultTopicPerm: PUB\n  - accessKey: twiceUser\n    secretKey: mainSecret2\n    defaultTopicPerm: PUB\n",
        )
        .unwrap();
        let acl_dir = dir.path().join("acl");
        std::fs::create_dir_all(acl_dir.join("nested")).unwrap();
        let team = acl_dir.join("team.yml");
        std::fs::write(
            &team,
            "globalWhiteRemoteAddresses: [10.0.0.2]\naccounts:\n  - accessKey: teamUser1\n    secretKey: teamSecret1\n    defaultTopicPerm: PUB\n  - accessKey: twiceUser\n    secretKey: teamSecret2\n    defaultTopicPerm: PUB\n",
        )
        .unwrap();
        let nested = acl_dir.join("nested").join("ops.yaml");
        std::fs::write(
            &nested,
            "accounts:\n  - accessKey: opsUser01\n    secretKey: opsSecret1\n    admin: true\n",
        )
        .unwrap();
        // the tools' credentials file is not an ACL file
        std::fs::write(acl_dir.join("tools.yml"), "accessKey: x\n").unwrap();
        let v = PlainAccessValidator::load(&main).unwrap();
        let peer = "127.0.0.1:1".parse().unwrap();
        for (ak, sk) in [
            ("mainUser1", "mainSecret1"),
            ("teamUser1", "teamSecret1"),
            ("opsUser01", "opsSecret1"),
        ] {
            assert!(v.check(&signed_send(ak, sk), peer).is_ok(), "{ak}");
        }
        // an access key in two files keeps the account of the directory's file, as RocketMQ
        assert!(v
            .check(&signed_send("twiceUser", "teamSecret2"), peer)
            .is_ok());
        assert!(v
            .check(&signed_send("twiceUser", "mainSecret2"), peer)
            .is_err());

        let update = RemotingCommand::request(UPDATE_AND_CREATE_ACL_CONFIG)
            .with_ext("accessKey", "teamUser1")
            .with_ext("defaultTopicPerm", "DENY");
        assert_eq!(process_admin(Some(&v), &ctx(), &update).await.code, 0);
        let on_disk = plain_config::load(&team).unwrap();
        assert_eq!(
            on_disk
                .account("teamUser1")
                .unwrap()
                .default_topic_perm
                .as_deref(),
            Some("DENY")
        );
        assert!(plain_config::load(&main)
            .unwrap()
            .account("teamUser1")
            .is_none());
        assert!(v
            .check(&signed_send("teamUser1", "teamSecret1"), peer)
            .is_err());

        let create = RemotingCommand::request(UPDATE_AND_CREATE_ACL_CONFIG)
            .with_ext("accessKey", "freshUser1")
            .with_ext("secretKey", "freshSecret1");
        assert_eq!(process_admin(Some(&v), &ctx(), &create).await.code, 0);
        assert!(plain_config::load(&main)
            .unwrap()
            .account("freshUser1")
            .is_some());

        let delete = RemotingCommand::request(DELETE_ACL_CONFIG).with_ext("accessKey", "opsUser01");
        assert_eq!(process_admin(Some(&v), &ctx(), &delete).await.code, 0);
        assert!(plain_config::load(&nested).unwrap().accounts.is_empty());

        let white = RemotingCommand::request(UPDATE_GLOBAL_WHITE_ADDRS_CONFIG)
            .with_ext("globalWhiteAddrs", "10.9.9.*")
            .with_ext("aclFileFullPath", team.display().to_string());
        assert_eq!(process_admin(Some(&v), &ctx(), &white).await.code, 0);
        assert_eq!(
            plain_config::load(&team)
                .unwrap()
                .global_white_remote_addresses,
            ["10.9.9.*"]
        );
        assert_eq!(
            plain_config::load(&main)
                .unwrap()
                .global_white_remote_addresses,
            ["10.0.0.1"]
        );
        let elsewhere = RemotingCommand::request(UPDATE_GLOBAL_WHITE_ADDRS_CONFIG)
            .with_ext("globalWhiteAddrs", "*")
            .with_ext("aclFileFullPath", "/etc/passwd");
        let r = process_admin(Some(&v), &ctx(), &elsewhere).await;
        assert_eq!(r.code, response::SYSTEM_ERROR);
        assert!(r.remark.unwrap().contains("not an ACL file"));

        let info = process_admin(
            Some(&v),
            &ctx(),
            &RemotingCommand::request(GET_BROKER_CLUSTER_ACL_INFO),
        )
        .await;
        let all: serde_json::Value =
            serde_json::from_str(info.ext_fields.get("allAclFileVersion").unwrap()).unwrap();
        assert_eq!(all.as_object().unwrap().len(), 3, "{all}");
        assert_eq!(all[team.display().to_string()]["counter"], 2);

        let config = process_admin(
            Some(&v),
            &ctx(),
            &RemotingCommand::request(GET_BROKER_CLUSTER_ACL_CONFIG),
        )
        .await;
        assert_eq!(config.code, 0);
        let body: serde_json::Value = serde_json::from_slice(&config.body).unwrap();
        assert_eq!(
            body["globalWhiteAddrs"],
            serde_json::json!(["10.9.9.*", "10.0.0.1"])
        );
        let keys: Vec<&str> = body["plainAccessConfigs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["accessKey"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["teamUser1", "twiceUser", "mainUser1", "freshUser1"]);
        assert_eq!(body["plainAccessConfigs"][1]["secretKey"], "teamSecret2");
    }
}
