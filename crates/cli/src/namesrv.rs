//! `ferrocket namesrv`: a stand-alone name server.

use std::path::{Path, PathBuf};

use ferrocket_namesrv::{NamesrvConfig, NamesrvController};
use ferrocket_remoting::TlsSettings;

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

/// Runs `ferrocket namesrv` until SIGINT or SIGTERM.
pub async fn run(args: NamesrvArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let acl_plain_file = acl_file(&args);
    let tls = tls_settings(args.tls_config.as_deref())?;
    let namesrv = NamesrvController::start(NamesrvConfig {
        listen: args.listen,
        acl_plain_file,
        kv_config_path: args.kv_config,
        tls,
        ..Default::default()
    })
    .await?;
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

fn acl_file(args: &NamesrvArgs) -> Option<PathBuf> {
    if !args.acl_enable {
        return None;
    }
    args.acl_file.clone().or_else(|| {
        let home = std::env::var_os("ROCKETMQ_HOME").map(PathBuf::from);
        Some(crate::config::default_acl_file(home.as_deref(), None))
    })
}
