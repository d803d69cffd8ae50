//! `NamesrvConfig`: the name server's settings, named after RocketMQ's `NamesrvConfig` keys.

use std::path::PathBuf;

/// Keys UPDATE_NAMESRV_CONFIG may not change (RocketMQ's default `configBlackList`).
pub const CONFIG_BLACK_LIST: [&str; 3] = ["configBlackList", "configStorePath", "kvConfigPath"];

/// Name server settings.
#[derive(Debug, Clone, PartialEq)]
pub struct NamesrvConfig {
    /// `HOST:PORT` to listen on.
    pub listen: String,
    /// `scanNotActiveBrokerInterval` (ms): how often expired brokers are looked for.
    pub scan_not_active_broker_interval_ms: u64,
    /// Expiry (ms) of a broker whose registration carries no `heartbeatTimeoutMillis`.
    pub broker_channel_expired_time_ms: u64,
    /// `kvConfigPath`: where KV config is persisted; `None` keeps it in memory only.
    pub kv_config_path: Option<PathBuf>,
    /// `orderMessageEnable`: put the `ORDER_TOPIC_CONFIG` KV entry into routes as `orderTopicConf`.
    pub order_message_enable: bool,
    /// `returnOrderTopicConfigToBroker`: answer REGISTER_BROKER with the `ORDER_TOPIC_CONFIG` KV list.
    pub return_order_topic_config_to_broker: bool,
    /// `enableAllTopicList`: allow GET_ALL_TOPIC_LIST_FROM_NAMESERVER.
    pub enable_all_topic_list: bool,
    /// `enableTopicList`: allow GET_TOPICS_BY_CLUSTER and the unit topic lists.
    pub enable_topic_list: bool,
    /// `deleteTopicWithBrokerRegistration`: drop a broker's topics missing from its registration.
    pub delete_topic_with_broker_registration: bool,
    /// plain_acl.yml to enforce on the codes that change the name server's state; `None`
    /// serves everyone (RocketMQ's name server checks nothing).
    pub acl_plain_file: Option<PathBuf>,
    /// RocketMQ's TLS settings for the listening port (`tls.server.mode`, ...).
    pub tls: ferrocket_remoting::TlsSettings,
    /// Limits of the listening port (`serverChannelMaxIdleTimeSeconds`, ...).
    pub server: ferrocket_remoting::ServerConfig,
}

impl Default for NamesrvConfig {
    fn default() -> Self {
        NamesrvConfig {
            listen: "0.0.0.0:9876".into(),
            scan_not_active_broker_interval_ms: 5_000,
            broker_channel_expired_time_ms: 120_000,
            kv_config_path: None,
            order_message_enable: false,
            return_order_topic_config_to_broker: true,
            enable_all_topic_list: true,
            enable_topic_list: true,
            delete_topic_with_broker_registration: false,
            acl_plain_file: None,
            tls: ferrocket_remoting::TlsSettings::default(),
            server: ferrocket_remoting::ServerConfig::default(),
        }
    }
}

/// Why a configuration update was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigUpdateError {
    /// The key may not be changed at run time.
    BlackListed(String),
    /// The value does not parse for the key.
    BadValue { key: String, value: String },
}

impl NamesrvConfig {
    /// The settings as `key=value` lines, as GET_NAMESRV_CONFIG returns them.
    pub fn to_properties_text(&self) -> String {
        let mut pairs: Vec<(&str, String)> = vec![
            ("listenPort", self.listen_port().to_string()),
            ("bindAddress", self.bind_host().to_string()),
            (
                "scanNotActiveBrokerInterval",
                self.scan_not_active_broker_interval_ms.to_string(),
            ),
            (
                "kvConfigPath",
                self.kv_config_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
            ("orderMessageEnable", self.order_message_enable.to_string()),
            (
                "returnOrderTopicConfigToBroker",
                self.return_order_topic_config_to_broker.to_string(),
            ),
            ("enableAllTopicList", self.enable_all_topic_list.to_string()),
            ("enableTopicList", self.enable_topic_list.to_string()),
            (
                "deleteTopicWithBrokerRegistration",
                self.delete_topic_with_broker_registration.to_string(),
            ),
            ("configBlackList", CONFIG_BLACK_LIST.join(";")),
        ];
        pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = String::new();
        for (k, v) in pairs {
            out.push_str(k);
            out.push('=');
            out.push_str(&v);
            out.push('\n');
        }
        out
    }

    /// Applies run-time updates (UPDATE_NAMESRV_CONFIG); keys this server does not know are
    /// ignored, as RocketMQ ignores keys without a setter. Nothing changes if any pair is refused.
    pub fn apply_updates(&mut self, pairs: &[(String, String)]) -> Result<(), ConfigUpdateError> {
        let mut next = self.clone();
        for (key, value) in pairs {
            if CONFIG_BLACK_LIST.contains(&key.as_str()) {
                return Err(ConfigUpdateError::BlackListed(key.clone()));
            }
            let bad = || ConfigUpdateError::BadValue {
                key: key.clone(),
                value: value.clone(),
            };
            let v = value.trim();
            match key.as_str() {
                "scanNotActiveBrokerInterval" => {
                    next.scan_not_active_broker_interval_ms =
                        v.parse().ok().filter(|ms| *ms > 0).ok_or_else(bad)?
                }
                "orderMessageEnable" => {
                    next.order_message_enable = parse_bool(v).ok_or_else(bad)?
                }
                "returnOrderTopicConfigToBroker" => {
                    next.return_order_topic_config_to_broker = parse_bool(v).ok_or_else(bad)?
                }
                "enableAllTopicList" => {
                    next.enable_all_topic_list = parse_bool(v).ok_or_else(bad)?
                }
                "enableTopicList" => next.enable_topic_list = parse_bool(v).ok_or_else(bad)?,
                "deleteTopicWithBrokerRegistration" => {
                    next.delete_topic_with_broker_registration = parse_bool(v).ok_or_else(bad)?
                }
                _ => tracing::debug!(key = %key, "ignoring unknown name server config key"),
            }
        }
        *self = next;
        Ok(())
    }

    /// The port part of `listen` (0 when it cannot be read).
    fn listen_port(&self) -> u16 {
        self.listen
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or(0)
    }

    /// The host part of `listen`.
    fn bind_host(&self) -> &str {
        self.listen
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(&self.listen)
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Reads the `key=value` lines RocketMQ's `MixAll.properties2String` writes (the body of
/// UPDATE_NAMESRV_CONFIG): `#`/`!` comment lines and blank lines are skipped, `=` or `:` separates.
pub fn parse_simple_properties(text: &str) -> Vec<(String, String)> {
    ferrocket_protocol::mix_all::string_to_properties(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_text_lists_the_settings_sorted() {
        let text = NamesrvConfig::default().to_properties_text();
        assert!(text.contains("listenPort=9876\n"), "{text}");
        assert!(
            text.contains("scanNotActiveBrokerInterval=5000\n"),
            "{text}"
        );
        let keys: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn updates_apply_known_keys_and_refuse_black_listed_ones() {
        let mut c = NamesrvConfig::default();
        let pairs = parse_simple_properties("# x\norderMessageEnable=true\nsomethingElse = 3\n");
        c.apply_updates(&pairs).unwrap();
        assert!(c.order_message_enable);
        let err = c
            .apply_updates(&[("kvConfigPath".into(), "/tmp/x".into())])
            .unwrap_err();
        assert_eq!(err, ConfigUpdateError::BlackListed("kvConfigPath".into()));
        let err = c
            .apply_updates(&[
                ("enableTopicList".into(), "false".into()),
                ("enableAllTopicList".into(), "maybe".into()),
            ])
            .unwrap_err();
        assert!(matches!(err, ConfigUpdateError::BadValue { .. }));
        assert!(c.enable_topic_list, "a refused update changes nothing");
    }
}
