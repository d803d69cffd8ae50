//! Starts the web console next to a broker (`consoleEnable`, `consolePort`,
//! `consoleListenAddress`).

use std::sync::Arc;

use ferrocket_broker::BrokerController;
use ferrocket_console::{BrokerView, ConsoleConfig, ConsoleServer};

/// Starts the console unless `consoleEnable` is false, and prints `Console: http://ADDR:PORT/`.
/// A port that cannot be bound is logged and the broker keeps serving without a console.
pub async fn start_console(broker: &Arc<BrokerController>) -> Option<ConsoleServer> {
    let config = ConsoleConfig::from_broker_config(&broker.broker_config())?;
    match ConsoleServer::start(broker_view(broker), &config).await {
        Ok(console) => {
            let addr = crate::net::connectable(console.local_addr());
            crate::ready::announce(&format!("Console: http://{addr}/"));
            Some(console)
        }
        Err(e) => {
            tracing::error!(
                error = %e,
                "the web console is not available (set consolePort, or consoleEnable=false)"
            );
            None
        }
    }
}

/// The managers and services of `broker` the console uses; the console never holds the
/// controller itself.
fn broker_view(broker: &BrokerController) -> BrokerView {
    BrokerView {
        config: broker.shared_broker_config(),
        store_config: broker.message_store_config().clone(),
        store: broker.message_store().clone(),
        topics: broker.topic_config_manager().clone(),
        groups: broker.subscription_group_manager().clone(),
        offsets: broker.consumer_offset_manager().clone(),
        consumers: broker.consumer_manager().clone(),
        producers: broker.producer_manager().clone(),
        stats: broker.broker_stats_manager().clone(),
        send: broker.send_service().clone(),
        admin: broker.admin_service().clone(),
        store_host: broker.store_host(),
        boot_timestamp: broker.boot_timestamp(),
    }
}

/// `ferrocket console-password-hash`: reads one line (the password) from standard input and
/// prints its Argon2 PHC string, to paste into `consolePasswordHash`.
pub fn print_password_hash() -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        anyhow::bail!(
            "no password on standard input (echo -n 'secret' | ferrocket console-password-hash)"
        );
    }
    let hash = ferrocket_console::security::hash_password(password)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    println!("{hash}");
    Ok(())
}
