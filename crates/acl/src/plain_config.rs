//! `plain_acl.yml`: the accounts and global white list, read leniently (numbers and booleans
//! where strings are expected, empty values) and written back whole, crash-safely.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

use crate::AclError;

/// Shortest accepted access or secret key (`AclConstants.ACCESS_KEY_MIN_LENGTH`).
pub const KEY_MIN_LENGTH: usize = 6;

/// One account (`PlainAccessConfig`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainAccessConfig {
    pub access_key: String,
    pub secret_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub white_remote_address: Option<String>,
    pub admin: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_topic_perm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_group_perm: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topic_perms: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_perms: Vec<String>,
}

/// One `dataVersion` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DataVersion {
    pub timestamp: i64,
    pub counter: i64,
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainAclFile {
    pub global_white_remote_addresses: Vec<String>,
    pub accounts: Vec<PlainAccessConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub data_version: Vec<DataVersion>,
}

impl PlainAclFile {
    /// Parses the YAML text of a plain_acl.yml.
    pub fn parse(text: &str) -> Result<PlainAclFile, String> {
        let root: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        if root.is_null() {
            return Ok(PlainAclFile::default());
        }
        let map = root.as_mapping().ok_or("the top level is not a mapping")?;
        let mut file = PlainAclFile {
            global_white_remote_addresses: string_list(map.get("globalWhiteRemoteAddresses"))
                .map_err(|e| format!("globalWhiteRemoteAddresses: {e}"))?,
            ..Default::default()
        };
        if let Some(accounts) = map.get("accounts").filter(|v| !v.is_null()) {
            let list = accounts.as_sequence().ok_or("accounts: not a list")?;
            for (i, account) in list.iter().enumerate() {
                file.accounts
                    .push(parse_account(account).map_err(|e| format!("accounts[{i}]: {e}"))?);
            }
        }
        if let Some(versions) = map.get("dataVersion").filter(|v| !v.is_null()) {
            file.data_version = serde_yaml_ng::from_value(versions.clone())
                .map_err(|e| format!("dataVersion: {e}"))?;
        }
        Ok(file)
    }

    /// The YAML text of this file.
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    /// The account with `access_key`.
    pub fn account(&self, access_key: &str) -> Option<&PlainAccessConfig> {
        self.accounts.iter().find(|a| a.access_key == access_key)
    }

    /// Bumps the data version (counter + 1, timestamp now), as the broker does on every change.
    pub fn bump_version(&mut self, now_ms: i64) {
        let counter = self.data_version.first().map_or(0, |v| v.counter) + 1;
        self.data_version = vec![DataVersion {
            timestamp: now_ms,
            counter,
        }];
    }
}

fn parse_account(v: &Value) -> Result<PlainAccessConfig, String> {
    let map = v.as_mapping().ok_or("not a mapping")?;
    let access_key = scalar(map.get("accessKey")).ok_or("accessKey is missing")?;
    let secret_key = scalar(map.get("secretKey")).ok_or("secretKey is missing")?;
    for (name, value) in [("accessKey", &access_key), ("secretKey", &secret_key)] {
        if value.len() < KEY_MIN_LENGTH {
            return Err(format!(
                "{name} '{}' is shorter than {KEY_MIN_LENGTH} characters",
                if name == "accessKey" { value } else { "***" }
            ));
        }
    }
    let admin = match map.get("admin") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        Some(other) => return Err(format!("admin: expected true or false, found {other:?}")),
    };
    Ok(PlainAccessConfig {
        access_key,
        secret_key,
        white_remote_address: scalar(map.get("whiteRemoteAddress")).filter(|s| !s.is_empty()),
        admin,
        default_topic_perm: scalar(map.get("defaultTopicPerm")),
        default_group_perm: scalar(map.get("defaultGroupPerm")),
        topic_perms: string_list(map.get("topicPerms")).map_err(|e| format!("topicPerms: {e}"))?,
        group_perms: string_list(map.get("groupPerms")).map_err(|e| format!("groupPerms: {e}"))?,
    })
}

/// A scalar as text (`secretKey: 12345678` is a number to YAML, a string to RocketMQ).
fn scalar(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string_list(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => Ok(items.iter().filter_map(|i| scalar(Some(i))).collect()),
        Some(Value::String(s)) => Ok(s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()),
        Some(_) => Err("expected a list".into()),
    }
}

/// Reads and parses `path`.
pub fn load(path: &Path) -> Result<PlainAclFile, AclError> {
    let text = fs::read_to_string(path).map_err(|e| AclError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    PlainAclFile::parse(&text).map_err(|reason| AclError::File {
        path: path.to_path_buf(),
        reason,
    })
}

/// Writes `file` to `path` crash-safely, keeping the previous version as `<file>.bak`.
pub fn save(path: &Path, file: &PlainAclFile) -> io::Result<()> {
    ferrocket_store::config_file::write_with_backup(path, file.to_yaml().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample shipped with RocketMQ (`distribution/conf/plain_acl.yml`), abridged.
    const SAMPLE: &str = "
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
";

    #[test]
    fn reads_rocketmq_sample() {
        let f = PlainAclFile::parse(SAMPLE).unwrap();
        assert_eq!(
            f.global_white_remote_addresses,
            ["10.10.103.*", "192.168.0.*"]
        );
        assert_eq!(f.accounts.len(), 2);
        let a = &f.accounts[0];
        assert_eq!(a.secret_key, "12345678");
        assert_eq!(a.white_remote_address, None);
        assert_eq!(a.default_group_perm.as_deref(), Some("SUB"));
        assert_eq!(a.topic_perms, ["topicA=DENY", "topicB=PUB|SUB"]);
        assert!(f.accounts[1].admin);
        assert_eq!(
            f.accounts[1].white_remote_address.as_deref(),
            Some("192.168.1.*")
        );
    }

    #[test]
    fn write_then_read_is_identity() {
        let mut f = PlainAclFile::parse(SAMPLE).unwrap();
        f.bump_version(1234);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain_acl.yml");
        save(&path, &f).unwrap();
        save(&path, &f).unwrap();
        assert_eq!(load(&path).unwrap(), f);
        assert!(dir.path().join("plain_acl.yml.bak").exists());
    }

    #[test]
    fn bad_files_name_the_problem() {
        let short = "accounts:\n  - accessKey: abc\n    secretKey: 12345678\n";
        assert!(PlainAclFile::parse(short)
            .unwrap_err()
            .contains("accessKey 'abc'"));
        let no_secret = "accounts:\n  - accessKey: abcdefg\n";
        assert!(PlainAclFile::parse(no_secret)
            .unwrap_err()
            .contains("secretKey is missing"));
        assert!(PlainAclFile::parse("accounts: [").is_err());
        assert_eq!(PlainAclFile::parse("").unwrap(), PlainAclFile::default());
    }
}
