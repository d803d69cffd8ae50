//! `ferrocket broker`: a broker configured by a RocketMQ broker properties file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ferrocket_broker::BrokerController;

use crate::advertise;
use crate::config::updater::FileConfigUpdater;
use crate::config::{BrokerSettings, Overrides};
use crate::signals::ShutdownSignals;

/// How long a clean shutdown (flush, persist, unregister) may take before the process gives up.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(60);

/// Arguments of `ferrocket broker`.
#[derive(clap::Args)]
pub struct BrokerArgs {
    /// RocketMQ broker properties file (`broker.conf`), read as-is.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Name server addresses, `;`-separated; overrides `namesrvAddr` and `NAMESRV_ADDR`.
    #[arg(short = 'n', long = "namesrv", value_name = "NAMESRV_ADDRS")]
    pub namesrv: Option<String>,
    /// Store root directory; overrides `storePathRootDir` (default ./store).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
}

/// Runs `ferrocket broker` until SIGINT or SIGTERM, then shuts down cleanly.
pub async fn run(args: BrokerArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let overrides = Overrides {
        namesrv_addr: args.namesrv,
        store_dir: args.store,
    };
    let env_namesrv = std::env::var("NAMESRV_ADDR").ok();
    let (settings, warnings) =
        BrokerSettings::load(args.config.as_deref(), &overrides, env_namesrv)?;
    crate::logging::apply_config_level(settings.log_level.as_deref());
    for w in &warnings {
        tracing::warn!("{w}");
    }
    if settings.broker.controller_mode.enable_controller_mode {
        return crate::controller_mode::run(settings, args.config, signals).await;
    }
    let namesrv = settings.broker.namesrv_addrs().join(";");
    let broker = start_broker(settings, args.config.clone()).await?;
    let console = crate::console::start_console(&broker).await;
    let grpc = crate::grpc::start_grpc(&broker).await;
    crate::ready::announce(&format!(
        "Ferrocket broker is ready: broker {}, name server {}",
        advertised_addr(&broker),
        if namesrv.is_empty() { "none" } else { &namesrv }
    ));
    let name = signals.recv().await;
    tracing::info!("{name} received, shutting down");
    signals.exit_on_second_signal();
    if let Some(c) = &console {
        c.shutdown();
    }
    if let Some(g) = &grpc {
        g.shutdown();
    }
    stop_broker(&broker).await
}

/// Starts the broker; returns once it listens and has registered with its name servers.
/// Logs which address clients will be told, and warns when that address looks wrong.
/// UPDATE_BROKER_CONFIG saves into `config_file`, or `config/broker.properties` under the store
/// root when the broker was started without one.
pub async fn start_broker(
    settings: BrokerSettings,
    config_file: Option<PathBuf>,
) -> anyhow::Result<Arc<BrokerController>> {
    let BrokerSettings {
        broker,
        store,
        broker_ip_source,
        ..
    } = settings;
    let save_to = config_file.unwrap_or_else(|| {
        store
            .store_path_root_dir
            .join("config")
            .join("broker.properties")
    });
    let store_for_updates = store.clone();
    let name = broker.broker_name.clone();
    let bind = broker.bind_address.trim().parse::<std::net::IpAddr>().ok();
    let controller = BrokerController::start(broker, store)
        .await
        .with_context(|| format!("broker {name} failed to start"))?;
    controller.set_config_updater(Arc::new(FileConfigUpdater::new(save_to, store_for_updates)));
    let advertised = advertised_addr(&controller);
    tracing::info!(
        "{}",
        advertise::startup_line(&advertised, &broker_ip_source)
    );
    let broker_ip = controller.broker_config().broker_ip1.trim().parse().ok();
    if let (Some(ip), Some(bind)) = (broker_ip, bind) {
        if let Some(w) = advertise::advertised_warning(ip, bind) {
            tracing::warn!("{w}");
        }
    }
    Ok(controller)
}

/// The `ip:port` clients are told to use: `brokerIP1` and the port actually bound.
pub fn advertised_addr(broker: &BrokerController) -> String {
    broker.broker_addr()
}

/// Stops accepting, flushes, persists offsets and configs and unregisters from the name servers.
pub async fn stop_broker(broker: &BrokerController) -> anyhow::Result<()> {
    tokio::time::timeout(SHUTDOWN_TIMEOUT, broker.shutdown())
        .await
        .map_err(|_| anyhow::anyhow!("broker shutdown did not finish within {SHUTDOWN_TIMEOUT:?}"))
}
