//! `ferrocket namesrv`: a stand-alone name server.

use std::path::{Path, PathBuf};

use anyhow::Context;

use ferrocket_namesrv::{NamesrvConfig, NamesrvController};

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
    /// Name server properties file (RocketMQ's `mqnamesrv -c`): the name server keys
    /// (`orderMessageEnable`, ...) and the connection limits (`serverChannelMaxIdleTimeSeconds`, ...).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    let mut config = NamesrvConfig {
        listen: args.listen,
        kv_config_path: args.kv_config,
        ..Default::default()
    };
    if let Some(path) = &args.config {
        apply_config_file(&mut config, path)?;
    }
    let namesrv = NamesrvController::start(config).await?;
    crate::ready::announce(&format!(
        "Ferrocket name server is ready: {}",
        crate::net::connectable(namesrv.local_addr())
    ));
    let name = signals.recv().await;
    tracing::info!("{name} received, shutting down");
    signals.exit_on_second_signal();
    namesrv.shutdown();
    Ok(())
}
