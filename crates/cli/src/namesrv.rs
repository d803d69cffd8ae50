//! `ferrocket namesrv`: a stand-alone name server.

use std::path::{Path, PathBuf};

use anyhow::Context;

use ferrocket_namesrv::{NamesrvConfig, NamesrvController};
use ferrocket_remoting::TlsSettings;

use crate::config::{keys, server_keys};
use crate::signals::ShutdownSignals;

/// Arguments of `ferrocket namesrv`.
#[derive(clap::Args)]
pub struct NamesrvArgs {
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:9876")]
    pub listen: String,
    /// Persist KV config (PUT_KV_CONFIG) in this file, like RocketMQ's `kvConfigPath`; kept in
    /// memory only when absent.
    #[arg(long, value_name = "FILE")]
    pub kv_config: Option<PathBuf>,
    /// Refuse REGISTER_BROKER, UNREGISTER_BROKER, KV and config updates unless signed by an
    /// admin account of plain_acl.yml (route queries stay open).
    #[arg(long)]
    pub acl_enable: bool,
    /// plain_acl.yml to enforce with --acl-enable (default ${ROCKETMQ_HOME}/conf/plain_acl.yml,
    /// else ./conf/plain_acl.yml).
    #[arg(long, value_name = "FILE")]
    pub acl_file: Option<PathBuf>,
    /// A properties file with RocketMQ's TLS keys (`tls.server.mode`, `tls.server.certPath`, ...);
    /// the file named by its `tls.config.file` (default /etc/rocketmq/tls.properties) is read too.
    #[arg(long, value_name = "FILE")]
    pub tls_config: Option<PathBuf>,
    /// Name server properties file (RocketMQ's `mqnamesrv -c`): the name server keys
    /// (`orderMessageEnable`, ...) and the connection limits (`serverChannelMaxIdleTimeSeconds`, ...).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The name server's TLS settings: `--tls-config`, then the `tls.config.file` it names.
fn tls_settings(file: Option<&Path>) -> anyhow::Result<TlsSettings> {
    let mut tls = TlsSettings::default();
    if let Some(path) = file {
        for w in crate::config::apply_tls_properties(&mut tls, path, &[])? {
            tracing::warn!("{w}");
        }
    }
    for w in crate::config::apply_tls_file(&mut tls)? {
        tracing::warn!("{w}");
    }
    Ok(tls)
}

/// Applies the properties file at `path` to `config`: connection limits through the shared
/// server key table, the name server's own keys as UPDATE_NAMESRV_CONFIG would.
fn apply_config_file(config: &mut NamesrvConfig, path: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the name server config file {}", path.display()))?;
    let props = crate::properties::parse(&crate::properties::decode_text(&bytes))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut others = Vec::new();
    for p in props {
        match keys::find(server_keys::SERVER_KEYS, &p.key) {
            Some(k) => (k.apply)(&mut config.server, &p.value).map_err(|reason| {
                anyhow::anyhow!(
                    "{}:{}: bad value '{}' for key '{}': {reason}",
                    path.display(),
                    p.line,
                    p.value,
                    p.key
                )
            })?,
            None => others.push((p.key, p.value)),
        }
    }
    config
        .apply_updates(&others)
        .map_err(|e| anyhow::anyhow!("{}: {e:?}", path.display()))
}

/// Runs `ferrocket namesrv` until SIGINT or SIGTERM.
pub async fn run(args: NamesrvArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let acl_plain_file = acl_file(&args);
    let tls = tls_settings(args.tls_config.as_deref())?;
    let mut config = NamesrvConfig {
        listen: args.listen,
        acl_plain_file,
        kv_config_path: args.kv_config,
        tls,
        ..Default::default()
    };
    let mut embedded = None;
    if let Some(path) = &args.config {
        apply_config_file(&mut config, path)?;
        // RocketMQ 5: `enableControllerInNamesrv=true` runs a controller in this process, on
        // its own `controllerDLegerPeers` address, configured by the same file.
        let pairs = crate::controller::read_properties(path)?;
        if crate::controller::enabled_in_namesrv(&pairs) {
            let c = crate::controller::controller_config(&pairs, path)?;
            embedded = Some(ferrocket_controller::ControllerManager::start(c).await?);
        }
    }
    let namesrv = NamesrvController::start(config).await?;
    if let Some(c) = &embedded {
        tracing::info!(addr = %c.local_addr(), "controller embedded in the name server");
    }
    crate::ready::announce(&format!(
        "Ferrocket name server is ready: {}",
        crate::net::connectable(namesrv.local_addr())
    ));
    let name = signals.recv().await;
    tracing::info!("{name} received, shutting down");
    signals.exit_on_second_signal();
    namesrv.shutdown();
    if let Some(c) = &embedded {
        c.shutdown().await;
    }
    Ok(())
}

fn acl_file(args: &NamesrvArgs) -> Option<PathBuf> {
    if !args.acl_enable {
        return None;
    }
    args.acl_file.clone().or_else(|| {
        let home = std::env::var_os("ROCKETMQ_HOME").map(PathBuf::from);
        Some(crate::config::default_acl_file(home.as_deref(), None))
    })
}
