//! `ferrocket namesrv`: a stand-alone name server.

use std::path::PathBuf;

use ferrocket_namesrv::{NamesrvConfig, NamesrvController};

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
}

/// Runs `ferrocket namesrv` until SIGINT or SIGTERM.
pub async fn run(args: NamesrvArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let acl_plain_file = acl_file(&args);
    let namesrv = NamesrvController::start(NamesrvConfig {
        listen: args.listen,
        acl_plain_file,
        kv_config_path: args.kv_config,
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
