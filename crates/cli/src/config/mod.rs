//! Broker settings from a RocketMQ broker properties file, the command line and the environment.
//!
//! As in RocketMQ, every key of the file is offered to each config object (`BrokerConfig`,
//! `MessageStoreConfig`) and applied wherever a field of that name exists. A key no object knows
//! is a warning naming it; a value that does not parse is an error naming the key and the value.

pub mod broker_keys;
pub mod keys;
pub mod server_keys;
pub mod store_keys;
pub mod updater;

use std::path::{Path, PathBuf};

use anyhow::Context;
use ferrocket_broker::BrokerConfig;
use ferrocket_store::MessageStoreConfig;

use crate::advertise::{self, BrokerIpSource};
use crate::properties::{self, Property};

/// Where the store lives when neither `--store` nor `storePathRootDir` says otherwise.
pub const DEFAULT_STORE_DIR: &str = "./store";

/// Every key RocketMQ's broker reads (field names of its config classes, 4.9 and 5.x).
const ROCKETMQ_KEYS: &str = include_str!("rocketmq_keys.txt");

/// The settings a broker starts with.
#[derive(Debug, Clone)]
pub struct BrokerSettings {
    /// Broker-level settings.
    pub broker: BrokerConfig,
    /// Store settings.
    pub store: MessageStoreConfig,
    /// How `broker.broker_ip1` was decided, for the start-up line.
    pub broker_ip_source: BrokerIpSource,
    /// `logLevel` from the config file (a tracing filter such as `info` or `ferrocket_store=debug`).
    pub log_level: Option<String>,
}

/// Command-line values that take precedence over the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `-n`: name server addresses.
    pub namesrv_addr: Option<String>,
    /// `--store`: the store root directory.
    pub store_dir: Option<PathBuf>,
}

impl BrokerSettings {
    /// RocketMQ's defaults, with the store in [`DEFAULT_STORE_DIR`].
    pub fn defaults() -> Self {
        let mut store = MessageStoreConfig::default();
        store_keys::set_root_dir(&mut store, PathBuf::from(DEFAULT_STORE_DIR));
        BrokerSettings {
            broker: BrokerConfig::default(),
            store,
            broker_ip_source: BrokerIpSource::Configured,
            log_level: None,
        }
    }

    /// Reads `config_file` (if any), then applies `overrides`, then `NAMESRV_ADDR` (`env_namesrv`)
    /// when neither `-n` nor the file named a name server. Without `brokerIP1` in the file the
    /// advertised address is picked from the host's interfaces, as RocketMQ does. Returns the
    /// settings and the warnings to log.
    pub fn load(
        config_file: Option<&Path>,
        overrides: &Overrides,
        env_namesrv: Option<String>,
    ) -> anyhow::Result<(BrokerSettings, Vec<String>)> {
        let mut settings = BrokerSettings::defaults();
        let mut warnings = Vec::new();
        let mut broker_ip_configured = false;
        if let Some(path) = config_file {
            let bytes = std::fs::read(path).with_context(|| {
                format!("cannot read the broker config file {}", path.display())
            })?;
            let text = properties::decode_text(&bytes);
            let props =
                properties::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            refuse_dledger_commit_log(&props, &path.display().to_string())?;
            warnings = settings.apply_properties(&props, &path.display().to_string())?;
            broker_ip_configured = props.iter().any(|p| p.key == "brokerIP1");
        }
        warnings.extend(apply_tls_file(&mut settings.broker.tls)?);
        if !broker_ip_configured {
            let (ip, source) = advertise::detect_broker_ip();
            settings.broker.broker_ip1 = ip.to_string();
            settings.broker_ip_source = source;
        }
        if let Some(dir) = &overrides.store_dir {
            store_keys::set_root_dir(&mut settings.store, dir.clone());
        }
        if settings.broker.acl_enable && settings.broker.acl_plain_file.is_none() {
            let home = std::env::var_os("ROCKETMQ_HOME").map(PathBuf::from);
            let path = default_acl_file(home.as_deref(), config_file);
            settings.broker.acl_plain_file = Some(path.display().to_string());
        }
        apply_broker_role(&mut settings).map_err(|e| match config_file {
            Some(path) => anyhow::anyhow!("{}: {e}", path.display()),
            None => anyhow::anyhow!("{e}"),
        })?;
        store_keys::validate(&settings.store).map_err(|e| match config_file {
            Some(path) => anyhow::anyhow!("{}: invalid store settings: {e}", path.display()),
            None => anyhow::anyhow!("invalid store settings: {e}"),
        })?;
        if let Some(addr) = overrides
            .namesrv_addr
            .clone()
            .filter(|a| !a.trim().is_empty())
        {
            settings.broker.namesrv_addr = Some(addr);
        } else if settings.broker.namesrv_addr.is_none() {
            settings.broker.namesrv_addr = env_namesrv.filter(|a| !a.trim().is_empty());
        }
        Ok((settings, warnings))
    }

    /// Applies file properties; `source` names the file in messages.
    pub fn apply_properties(
        &mut self,
        props: &[Property],
        source: &str,
    ) -> anyhow::Result<Vec<String>> {
        let mut warnings = Vec::new();
        for p in props {
            if p.key == LOG_LEVEL_KEY {
                tracing_subscriber::EnvFilter::try_new(&p.value).map_err(|e| {
                    anyhow::anyhow!(
                        "{source}:{}: bad value '{}' for key '{LOG_LEVEL_KEY}': {e}",
                        p.line,
                        p.value
                    )
                })?;
                self.log_level = Some(p.value.clone());
                continue;
            }
            if let Some(applied) = self.broker.tls.apply(&p.key, &p.value) {
                applied.map_err(|reason| {
                    anyhow::anyhow!(
                        "{source}:{}: bad value '{}' for key '{}': {reason}",
                        p.line,
                        p.value,
                        p.key
                    )
                })?;
                continue;
            }
            let broker_key = keys::find(broker_keys::BROKER_KEYS, &p.key);
            let store_key = keys::find(store_keys::STORE_KEYS, &p.key);
            let server_key = keys::find(server_keys::SERVER_KEYS, &p.key);
            let bad_value = |reason: String| {
                anyhow::anyhow!(
                    "{source}:{}: bad value '{}' for key '{}': {reason}",
                    p.line,
                    p.value,
                    p.key
                )
            };
            if let Some(k) = broker_key {
                (k.apply)(&mut self.broker, &p.value).map_err(bad_value)?;
            }
            if let Some(k) = store_key {
                (k.apply)(&mut self.store, &p.value).map_err(bad_value)?;
            }
            if let Some(k) = server_key {
                (k.apply)(&mut self.broker.server, &p.value).map_err(bad_value)?;
            }
            if broker_key.is_none() && store_key.is_none() && server_key.is_none() {
                warnings.push(unknown_key_warning(source, p));
            }
        }
        Ok(warnings)
    }
}

/// Where plain_acl.yml is when `aclPlainFile` does not say: `${ROCKETMQ_HOME}/conf`, as for
/// RocketMQ; else beside the broker config file (RocketMQ keeps both in `conf/`); else `./conf`.
pub fn default_acl_file(rocketmq_home: Option<&Path>, config_file: Option<&Path>) -> PathBuf {
    let name = ferrocket_acl::PLAIN_ACL_FILE_NAME;
    match (rocketmq_home, config_file.and_then(Path::parent)) {
        (Some(home), _) => home.join("conf").join(name),
        (None, Some(dir)) => dir.join(name),
        (None, None) => Path::new("conf").join(name),
    }
}

/// Applies the TLS properties file (`tls.config.file`, by default
/// `/etc/rocketmq/tls.properties`) when it exists, as RocketMQ's `TlsHelper` does: its keys
/// override the others, except `tls.server.mode` and `tls.enable`, which it does not read.
pub fn apply_tls_file(tls: &mut ferrocket_remoting::TlsSettings) -> anyhow::Result<Vec<String>> {
    let path = tls.config_file.clone();
    if !path.is_file() {
        return Ok(Vec::new());
    }
    // RocketMQ's TlsHelper does not read these from the file
    let ignored = [
        "tls.server.mode",
        "tls.enable",
        "tlsEnable",
        "tls.config.file",
    ];
    apply_tls_properties(tls, &path, &ignored)
}

/// Applies the TLS keys of the properties file `path`, except `ignored` ones; a bad value is an
/// error, any other key a warning (returned).
pub fn apply_tls_properties(
    tls: &mut ferrocket_remoting::TlsSettings,
    path: &Path,
    ignored: &[&str],
) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the TLS settings {}", path.display()))?;
    let props = properties::parse(&properties::decode_text(&bytes))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut warnings = Vec::new();
    for p in props {
        let at = format!("{}:{}: key '{}'", path.display(), p.line, p.key);
        if ignored.contains(&p.key.as_str()) {
            warnings.push(format!("{at} is not read from this file; ignored"));
            continue;
        }
        match tls.apply(&p.key, &p.value) {
            Some(Ok(())) => {}
            Some(Err(reason)) => anyhow::bail!("{at}: bad value '{}': {reason}", p.value),
            None => warnings.push(format!("{at} is not a TLS setting; ignored")),
        }
    }
    Ok(warnings)
}

/// `brokerId` follows `brokerRole` as in RocketMQ's `BrokerStartup`: a master is always id 0, a
/// slave needs an id above 0 (its place among the slaves of its `brokerName`).
/// In controller mode the controller assigns both, and the key is not read.
fn apply_broker_role(settings: &mut BrokerSettings) -> Result<(), String> {
    if settings.broker.controller_mode.enable_controller_mode {
        return Ok(());
    }
    if settings.store.broker_role.is_master() {
        settings.broker.broker_id = 0;
    } else if settings.broker.broker_id <= 0 {
        return Err(format!(
            "brokerRole SLAVE needs brokerId > 0 (got {}); 0 is the master's id",
            settings.broker.broker_id
        ));
    }
    Ok(())
}

/// Ferrocket's own key for the log filter; `RUST_LOG` and `--log-level` take precedence.
pub const LOG_LEVEL_KEY: &str = "logLevel";

/// Keys that are Ferrocket's own, not RocketMQ settings (RocketMQ's broker would warn about them).
#[cfg(test)]
pub const FERROCKET_OWN_KEYS: &[&str] = &[
    LOG_LEVEL_KEY,
    "consoleEnable",
    "consolePort",
    "consoleListenAddress",
    "aclPlainFile",
    "consoleLoginRequired",
    "consoleUser",
    "consolePasswordHash",
    "consoleReadOnlyUser",
    "consoleReadOnlyPasswordHash",
    "consoleAllowedHosts",
    "serverFrameReadTimeoutMillis",
    "serverMaxConnections",
    "serverPartialFrameBytesLimit",
    "serverMaxRequestsPerConnection",
    // controller mode: skip the epoch comparison over remoting before a slave opens its store
    "compareEpochsBeforeOpen",
    // Apache's proxy reads these from rmq-proxy.json; here the gRPC endpoint is the broker's
    "enableProxyAutoRenew",
    "defaultInvisibleTimeMills",
    "renewAheadTimeMillis",
    "renewMaxTimeMillis",
    "renewSchedulePeriodMillis",
    "maxRenewRetryTimes",
    "invisibleTimeMillisWhenClear",
    "lockTimeoutMsInHandleGroup",
    "renewMaxThreadPoolNums",
    "renewThreadPoolQueueCapacity",
    "grpcServerEnable",
    // Apache's proxy reads these from its own rmq-proxy.json, not from the broker's file
    "grpcServerPort",
    "grpcMaxInboundMessageSize",
    "tlsCertPath",
    "tlsKeyPath",
    "tlsTestModeEnable",
];

/// Every key Ferrocket reads from a broker properties file.
pub fn supported_keys() -> impl Iterator<Item = &'static str> {
    broker_keys::BROKER_KEYS
        .iter()
        .map(|k| k.name)
        .chain(store_keys::STORE_KEYS.iter().map(|k| k.name))
        .chain(ferrocket_remoting::tls::TLS_KEYS.iter().copied())
        .chain(server_keys::SERVER_KEYS.iter().map(|k| k.name))
        .chain(std::iter::once(LOG_LEVEL_KEY))
}

/// A DLedger commit log (`enableDLegerCommitLog=true`) is refused: Ferrocket replicates through
/// RocketMQ 5's controller mode instead, and the message says which settings to use.
fn refuse_dledger_commit_log(props: &[Property], source: &str) -> anyhow::Result<()> {
    let Some(p) = props
        .iter()
        .find(|p| p.key == "enableDLegerCommitLog" && p.value.trim().eq_ignore_ascii_case("true"))
    else {
        return Ok(());
    };
    let value = |key: &str| {
        props
            .iter()
            .find(|q| q.key == key)
            .map_or("<unset>".to_string(), |q| q.value.clone())
    };
    anyhow::bail!(
        "{source}:{}: enableDLegerCommitLog=true (DLedger mode, dLegerGroup={}, dLegerPeers={}, \
         dLegerSelfId={}) is not supported. Ferrocket follows RocketMQ 5's controller mode \
         instead: controllers (`ferrocket controller -c controller.conf`, or \
         enableControllerInNamesrv=true in the name server's config) with controllerDLegerGroup, \
         controllerDLegerPeers (id-host:port;...), controllerDLegerSelfId and controllerStorePath, \
         and brokers with enableControllerMode=true and controllerAddr=<the controllers' \
         addresses> in place of enableDLegerCommitLog, dLegerGroup, dLegerPeers and dLegerSelfId \
         (see docs/FAILOVER.md for what is available; classic master/slave replication with \
         brokerRole=SYNC_MASTER/ASYNC_MASTER/SLAVE works today)",
        p.line,
        value("dLegerGroup"),
        value("dLegerPeers"),
        value("dLegerSelfId"),
    )
}

fn unknown_key_warning(source: &str, p: &Property) -> String {
    if ROCKETMQ_KEYS.split_whitespace().any(|k| k == p.key) {
        return format!(
            "{source}:{}: key '{}' is a RocketMQ setting Ferrocket does not implement; ignored",
            p.line, p.key
        );
    }
    let suggestion = supported_keys()
        .map(|k| {
            (
                edit_distance(&k.to_ascii_lowercase(), &p.key.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| format!(" (did you mean '{k}'?)"))
        .unwrap_or_default();
    format!(
        "{source}:{}: unknown key '{}' ignored{suggestion}",
        p.line, p.key
    )
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str) -> anyhow::Result<(BrokerSettings, Vec<String>)> {
        let mut s = BrokerSettings::defaults();
        let w = s.apply_properties(&properties::parse(text).unwrap(), "broker.conf")?;
        Ok((s, w))
    }

    #[test]
    fn rocketmq_sample_broker_conf() {
        let (s, _) = apply(
            "brokerClusterName = DefaultCluster\nbrokerName = broker-b\nbrokerId = 0\n\
             deleteWhen = 04\nfileReservedTime = 48\nbrokerRole = ASYNC_MASTER\nflushDiskType = ASYNC_FLUSH\n\
             listenPort=10921\nnamesrvAddr=10.0.0.1:9876;10.0.0.2:9876\nautoCreateTopicEnable=false\n\
             defaultTopicQueueNums=4\nbrokerIP1=192.168.1.5\n",
        )
        .unwrap();
        assert_eq!(s.broker.broker_name, "broker-b");
        assert_eq!(s.broker.listen_port, 10921);
        assert!(!s.broker.auto_create_topic_enable);
        assert_eq!(s.broker.default_topic_queue_nums, 4);
        assert_eq!(s.broker.broker_addr(), "192.168.1.5:10921");
        assert_eq!(s.broker.namesrv_addrs(), ["10.0.0.1:9876", "10.0.0.2:9876"]);
    }

    #[test]
    fn bad_value_names_file_line_key_and_value() {
        let err = apply("brokerName=a\nlistenPort=abc\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("broker.conf:2"), "{err}");
        assert!(
            err.contains("'listenPort'") && err.contains("'abc'"),
            "{err}"
        );
        let err = apply("autoCreateTopicEnable=yes\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected true or false"), "{err}");
        let err = apply("brokerPermission=9\n").unwrap_err().to_string();
        assert!(err.contains("brokerPermission"), "{err}");
    }

    #[test]
    fn broker_roles_and_ids() {
        use ferrocket_store::BrokerRole;
        let (s, w) = apply("brokerRole=ASYNC_MASTER\n").unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.store.broker_role, BrokerRole::AsyncMaster);
        let (s, w) = apply("brokerRole=SYNC_MASTER\nhaSendHeartbeatInterval=1000\n").unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.store.broker_role, BrokerRole::SyncMaster);
        assert_eq!(s.store.ha_send_heartbeat_interval, 1000);
        let (s, _) = apply(
            "brokerRole=SLAVE\nbrokerId=1\nhaMasterAddress=10.0.0.1:10912\nhaListenPort=20912\n\
             haSlaveFallbehindMax=1024\nhaTransferBatchSize=65536\nhaHousekeepingInterval=3000\n",
        )
        .unwrap();
        assert_eq!(s.store.broker_role, BrokerRole::Slave);
        assert_eq!(s.broker.broker_id, 1);
        assert_eq!(s.store.ha_master_address.as_deref(), Some("10.0.0.1:10912"));
        assert_eq!(s.store.resolved_ha_listen_port(10911), 20912);
        assert_eq!(s.store.ha_max_gap_not_in_sync, 1024);
        assert_eq!(s.store.ha_transfer_batch_size, 65536);
        assert_eq!(s.store.ha_housekeeping_interval, 3000);
        let err = apply("brokerRole=LEADER\n").unwrap_err().to_string();
        assert!(
            err.contains("brokerRole") && err.contains("LEADER"),
            "{err}"
        );
    }

    #[test]
    fn a_dledger_commit_log_is_refused_naming_controller_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.conf");
        std::fs::write(
            &path,
            "brokerIP1=127.0.0.1\nenableDLegerCommitLog=true\ndLegerGroup=RaftNode00\n\
             dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912\ndLegerSelfId=n0\n",
        )
        .unwrap();
        let err = BrokerSettings::load(Some(&path), &Overrides::default(), None)
            .unwrap_err()
            .to_string();
        for want in [
            "controller mode",
            "enableControllerMode=true",
            "controllerAddr",
            "RaftNode00",
            "controllerDLegerPeers",
        ] {
            assert!(err.contains(want), "{want}: {err}");
        }
        std::fs::write(&path, "brokerIP1=127.0.0.1\nenableDLegerCommitLog=false\n").unwrap();
        BrokerSettings::load(Some(&path), &Overrides::default(), None).unwrap();
    }

    #[test]
    fn broker_id_follows_the_role() {
        let dir = tempfile::tempdir().unwrap();
        let load = |text: &str| {
            let path = dir.path().join("broker.conf");
            std::fs::write(&path, text).unwrap();
            BrokerSettings::load(Some(&path), &Overrides::default(), None)
        };
        let (s, _) = load("brokerRole=SYNC_MASTER\nbrokerId=3\nbrokerIP1=127.0.0.1\n").unwrap();
        assert_eq!(s.broker.broker_id, 0, "a master is always id 0");
        let err = load("brokerRole=SLAVE\nbrokerId=0\nbrokerIP1=127.0.0.1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("brokerId > 0"), "{err}");
        let (s, _) = load("brokerRole=SLAVE\nbrokerId=2\nbrokerIP1=127.0.0.1\n").unwrap();
        assert_eq!(s.broker.broker_id, 2);
    }

    #[test]
    fn unknown_and_unimplemented_keys_are_warnings() {
        let (s, w) =
            apply("brokerNmae=x\nqueryMessageThreadPoolNums=4\ntotallyMadeUp=1\n").unwrap();
        assert_eq!(s.broker.broker_name, "broker-a");
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(
            w[0].contains("unknown key 'brokerNmae'") && w[0].contains("did you mean 'brokerName'"),
            "{}",
            w[0]
        );
        assert!(
            w[1].contains("'queryMessageThreadPoolNums' is a RocketMQ setting"),
            "{}",
            w[1]
        );
        assert!(
            w[2].contains("'totallyMadeUp'") && !w[2].contains("did you mean"),
            "{}",
            w[2]
        );
    }

    #[test]
    fn namesrv_precedence_flag_then_file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let with_file = dir.path().join("with.conf");
        std::fs::write(&with_file, "namesrvAddr=file:9876\n").unwrap();
        let without = dir.path().join("without.conf");
        std::fs::write(&without, "brokerName=b\n").unwrap();
        let env = || Some("env:9876".to_string());
        let flag = Overrides {
            namesrv_addr: Some("flag:9876".into()),
            ..Default::default()
        };
        let addr = |file: &Path, o: &Overrides| {
            BrokerSettings::load(Some(file), o, env())
                .unwrap()
                .0
                .broker
                .namesrv_addr
                .unwrap()
        };
        assert_eq!(addr(&with_file, &flag), "flag:9876");
        assert_eq!(addr(&with_file, &Overrides::default()), "file:9876");
        assert_eq!(addr(&without, &Overrides::default()), "env:9876");
        let (s, _) = BrokerSettings::load(None, &Overrides::default(), None).unwrap();
        assert_eq!(s.broker.namesrv_addr, None);
    }

    #[test]
    fn store_flag_overrides_the_file_root() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("broker.conf");
        std::fs::write(&conf, "storePathRootDir=/from/file\n").unwrap();
        let o = Overrides {
            store_dir: Some(dir.path().join("flag")),
            ..Default::default()
        };
        let (s, _) = BrokerSettings::load(Some(&conf), &o, None).unwrap();
        assert_eq!(store_keys::root_dir(&s.store), dir.path().join("flag"));
        let (s, _) = BrokerSettings::load(Some(&conf), &Overrides::default(), None).unwrap();
        assert_eq!(store_keys::root_dir(&s.store), Path::new("/from/file"));
        let (s, _) = BrokerSettings::load(None, &Overrides::default(), None).unwrap();
        assert_eq!(store_keys::root_dir(&s.store), Path::new(DEFAULT_STORE_DIR));
    }

    #[test]
    fn store_keys_and_legacy_spellings() {
        let (s, w) = apply(
            "storePathCommitLog=/data/commitlog
mapedFileSizeCommitLog=10485760
             mappedFileSizeConsumeQueue=600000
flushDiskType=SYNC_FLUSH
syncFlushTimeout=3000
             maxMessageSize=1048576
flushIntervalCommitLog=200
checkCRCOnRecover=false
",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.store.commit_log_path(), Path::new("/data/commitlog"));
        assert_eq!(s.store.mapped_file_size_commit_log, 10_485_760);
        assert_eq!(s.store.mapped_file_size_consume_queue, 600_000);
        assert_eq!(
            s.store.flush_disk_type,
            ferrocket_store::FlushDiskType::SyncFlush
        );
        assert_eq!(s.store.sync_flush_timeout, 3000);
        assert_eq!(s.store.max_message_size, 1_048_576);
        assert!(!s.store.check_crc_on_recover);
        let err = apply(
            "flushDiskType=SOMETIMES
",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("flushDiskType") && err.contains("SOMETIMES"),
            "{err}"
        );
    }

    #[test]
    fn inconsistent_store_sizes_are_errors_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("broker.conf");
        std::fs::write(
            &conf,
            "mappedFileSizeConsumeQueue=30
",
        )
        .unwrap();
        let err = BrokerSettings::load(Some(&conf), &Overrides::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mappedFileSizeConsumeQueue") && err.contains("30"),
            "{err}"
        );
    }

    #[test]
    fn missing_file_is_an_error_naming_it() {
        let err = BrokerSettings::load(
            Some(Path::new("/nonexistent/broker.conf")),
            &Overrides::default(),
            None,
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("/nonexistent/broker.conf"),
            "{err:#}"
        );
    }

    #[test]
    fn every_supported_key_is_documented() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/CONFIGURATION.md"
        ))
        .expect("docs/CONFIGURATION.md exists");
        for key in supported_keys() {
            assert!(
                doc.contains(&format!("`{key}`")),
                "docs/CONFIGURATION.md does not document {key}"
            );
        }
    }

    #[test]
    fn every_supported_key_is_a_rocketmq_key_or_legacy_spelling() {
        for key in supported_keys() {
            let known = ROCKETMQ_KEYS.split_whitespace().any(|k| k == key)
                || key.starts_with("maped")
                || FERROCKET_OWN_KEYS.contains(&key)
                // RocketMQ reads its TLS settings as system properties and from tls.config.file
                || ferrocket_remoting::tls::TLS_KEYS.contains(&key);
            assert!(known, "{key} is not a RocketMQ setting name");
        }
    }

    #[test]
    fn acl_keys_and_default_file_location() {
        let (s, w) = apply(
            "aclEnable=true\naclPlainFile=/etc/rmq/acl.yml\n\
             innerClientAuthenticationCredentials={\"accessKey\":\"rocketmq2\",\"secretKey\":\"12345678\"}\n",
        )
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert!(s.broker.acl_enable);
        assert_eq!(s.broker.acl_plain_file.as_deref(), Some("/etc/rmq/acl.yml"));
        assert_eq!(
            s.broker
                .inner_client_credentials
                .as_ref()
                .map(|c| c.access_key.as_str()),
            Some("rocketmq2")
        );
        assert!(apply("innerClientAuthenticationCredentials=rocketmq2:123").is_err());
        assert_eq!(
            default_acl_file(
                Some(Path::new("/opt/rmq")),
                Some(Path::new("/x/broker.conf"))
            ),
            Path::new("/opt/rmq/conf/plain_acl.yml")
        );
        assert_eq!(
            default_acl_file(None, Some(Path::new("/x/broker.conf"))),
            Path::new("/x/plain_acl.yml")
        );
        assert_eq!(
            default_acl_file(None, None),
            Path::new("conf/plain_acl.yml")
        );
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("brokername", "brokernmae"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
