//! `ferrocket standalone`: a name server and a broker in one process, with a local store.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use ferrocket_namesrv::{NamesrvConfig, NamesrvController};

use crate::broker::{advertised_addr, start_broker, stop_broker};
use crate::config::{BrokerSettings, Overrides};
use crate::signals::ShutdownSignals;

/// How long to wait for the embedded broker to show up in the embedded name server.
const REGISTRATION_TIMEOUT: Duration = Duration::from_secs(30);

/// Arguments of `ferrocket standalone`.
#[derive(clap::Args)]
pub struct StandaloneArgs {
    /// Store root directory; overrides `storePathRootDir` (default ./store).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Address the embedded name server listens on.
    #[arg(long, value_name = "HOST:PORT", default_value = "0.0.0.0:9876")]
    pub namesrv_listen: String,
    /// RocketMQ broker properties file for the embedded broker (its `namesrvAddr` is replaced by
    /// the embedded name server).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Runs `ferrocket standalone` until SIGINT or SIGTERM, then shuts both servers down cleanly.
pub async fn run(args: StandaloneArgs) -> anyhow::Result<()> {
    let mut signals = ShutdownSignals::install()?;
    let overrides = Overrides {
        namesrv_addr: None,
        store_dir: args.store,
    };
    let (mut settings, warnings) = BrokerSettings::load(args.config.as_deref(), &overrides, None)?;
    crate::logging::apply_config_level(settings.log_level.as_deref());
    for w in &warnings {
        tracing::warn!("{w}");
    }

    // With ACL on, the embedded name server enforces the broker's plain_acl.yml, so the broker
    // needs an admin account to register with it.
    let namesrv_acl = match &settings.broker.acl_plain_file {
        Some(file) if settings.broker.acl_enable => {
            if settings.broker.inner_client_credentials.is_none() {
                anyhow::bail!(
                    "aclEnable=true in standalone mode needs innerClientAuthenticationCredentials \
                     (an admin account of {file}) so the broker can register with its name server"
                );
            }
            Some(PathBuf::from(file))
        }
        _ => None,
    };
    let namesrv = NamesrvController::start(NamesrvConfig {
        listen: args.namesrv_listen,
        acl_plain_file: namesrv_acl,
        tls: settings.broker.tls.clone(),
        // one file configures both ports of the process, as it sets their shared fd limit
        server: settings.broker.server.clone(),
        ..Default::default()
    })
    .await?;
    let namesrv_addr = crate::net::connectable(namesrv.local_addr()).to_string();
    if let Some(from_file) = settings.broker.namesrv_addr.as_deref() {
        tracing::info!(
            ignored = from_file,
            "standalone broker registers with the embedded name server only"
        );
    }
    settings.broker.namesrv_addr = Some(namesrv_addr.clone());

    let broker = match start_broker(settings, args.config.clone()).await {
        Ok(b) => b,
        Err(e) => {
            namesrv.shutdown();
            return Err(e);
        }
    };
    wait_for_registration(&namesrv).await?;
    let console = crate::console::start_console(&broker).await;
    let grpc = crate::grpc::start_grpc(&broker).await;
    crate::ready::announce(&format!(
        "Ferrocket standalone is ready: name server {namesrv_addr}, broker {}",
        advertised_addr(&broker)
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
    // The broker goes first: it unregisters from the name server that is still listening.
    let stopped = stop_broker(&broker).await;
    namesrv.shutdown();
    stopped
}

/// The broker awaits its first registration before `start` returns; this double-checks it from
/// the name server's side, so "ready" always means a client can get a route.
async fn wait_for_registration(namesrv: &NamesrvController) -> anyhow::Result<()> {
    let deadline = Instant::now() + REGISTRATION_TIMEOUT;
    while namesrv.route_info_manager().live_broker_count() == 0 {
        if Instant::now() > deadline {
            return Err(anyhow::anyhow!(
                "no registration within {REGISTRATION_TIMEOUT:?}"
            ))
            .context("the embedded broker did not register with the embedded name server");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
