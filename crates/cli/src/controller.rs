//! `ferrocket controller`: a RocketMQ 5 controller (`mqcontroller -c controller.conf`), and the
//! controller the name server embeds with `enableControllerInNamesrv=true`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use ferrocket_controller::{ControllerConfig, ControllerManager};

use crate::signals::ShutdownSignals;

/// Arguments of `ferrocket controller`.
#[derive(clap::Args)]
pub struct ControllerArgs {
    /// Controller properties file (RocketMQ's `mqcontroller -c`): `controllerDLegerGroup`,
    /// `controllerDLegerPeers`, `controllerDLegerSelfId`, `controllerStorePath`, ...
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: PathBuf,
}

/// The `key=value` pairs of a properties file.
pub fn read_properties(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    let props = crate::properties::parse(&crate::properties::decode_text(&bytes))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(props.into_iter().map(|p| (p.key, p.value)).collect())
}

/// The controller settings of `pairs`.
pub fn controller_config(
    pairs: &[(String, String)],
    path: &Path,
) -> anyhow::Result<ControllerConfig> {
    let mut config = ControllerConfig::default();
    config
        .apply(pairs)
        .and_then(|()| config.validate())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(config)
}

/// Is `enableControllerInNamesrv` set among `pairs`?
pub fn enabled_in_namesrv(pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .any(|(k, v)| k == "enableControllerInNamesrv" && v.trim().eq_ignore_ascii_case("true"))
}

/// Runs `ferrocket controller` until SIGINT or SIGTERM.
pub async fn run(args: ControllerArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let pairs = read_properties(&args.config)?;
    let config = controller_config(&pairs, &args.config)?;
    let controller = ControllerManager::start(config).await?;
    crate::ready::announce(&format!(
        "Ferrocket controller is ready: {}",
        controller.local_addr()
    ));
    let name = signals.recv().await;
    tracing::info!("{name} received, shutting down");
    signals.exit_on_second_signal();
    controller.shutdown().await;
    Ok(())
}
