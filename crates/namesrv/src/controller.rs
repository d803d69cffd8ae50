//! `NamesrvController`: binds the server, runs the broker-expiry scan, stops both.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferrocket_remoting::RemotingServer;
use tokio::task::JoinHandle;

use ferrocket_acl::PlainAccessValidator;

use crate::config::NamesrvConfig;
use crate::error::NamesrvError;
use crate::kv_config_manager::KvConfigManager;
use crate::processor::DefaultRequestProcessor;
use crate::route_info_manager::RouteInfoManager;

/// A running name server. Dropping it shuts it down.
pub struct NamesrvController {
    server: RemotingServer,
    processor: Arc<DefaultRequestProcessor>,
    scan_task: JoinHandle<()>,
    acl_watch: Option<JoinHandle<()>>,
    stopped: AtomicBool,
}

impl NamesrvController {
    /// Loads the KV config, binds `config.listen` and starts the broker-expiry scan, on the
    /// current tokio runtime.
    pub async fn start(config: NamesrvConfig) -> Result<NamesrvController, NamesrvError> {
        let kv = match &config.kv_config_path {
            Some(path) => KvConfigManager::load(path)?,
            None => KvConfigManager::in_memory(),
        };
        let routes = Arc::new(RouteInfoManager::new(Duration::from_millis(
            config.broker_channel_expired_time_ms,
        )));
        let acl = match &config.acl_plain_file {
            Some(path) => Some(PlainAccessValidator::load(path)?),
            None => None,
        };
        let listen = config.listen.clone();
        let tls = config
            .tls
            .server()
            .map_err(|e| NamesrvError::Tls(e.to_string()))?;
        let server_config = config.server.clone();
        let mut processor = DefaultRequestProcessor::new(config, routes, Arc::new(kv));
        if let Some(acl) = &acl {
            processor.set_acl_validator(acl.clone());
        }
        let processor = Arc::new(processor);
        let server =
            RemotingServer::bind_with_options(&listen, processor.clone(), server_config, Some(tls))
            .await
            .map_err(|source| NamesrvError::Bind {
                addr: listen.clone(),
                source,
            })?;
        let scan_task = tokio::spawn(scan_not_active_brokers(processor.clone()));
        let acl_watch = acl.map(|a| a.spawn_watcher(ferrocket_acl::WATCH_INTERVAL));
        tracing::info!(addr = %server.local_addr(), "name server listening");
        Ok(NamesrvController {
            server,
            processor,
            scan_task,
            acl_watch,
            stopped: AtomicBool::new(false),
        })
    }

    /// The bound address (useful when listening on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The route tables.
    pub fn route_info_manager(&self) -> &Arc<RouteInfoManager> {
        self.processor.route_info_manager()
    }

    /// The KV config.
    pub fn kv_config_manager(&self) -> &Arc<KvConfigManager> {
        self.processor.kv_config_manager()
    }

    /// The current settings.
    pub fn config(&self) -> NamesrvConfig {
        self.processor.config()
    }

    /// Stops accepting, stops the expiry scan and closes every connection. Idempotent.
    pub fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        self.server.shutdown();
        self.scan_task.abort();
        if let Some(w) = &self.acl_watch {
            w.abort();
        }
        self.processor.close_all_channels();
        tracing::info!(addr = %self.local_addr(), "name server stopped");
    }
}

impl Drop for NamesrvController {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Every `scanNotActiveBrokerInterval`, unregisters expired brokers and closes their connections.
async fn scan_not_active_brokers(processor: Arc<DefaultRequestProcessor>) {
    loop {
        let interval = processor.config().scan_not_active_broker_interval_ms.max(1);
        tokio::time::sleep(Duration::from_millis(interval)).await;
        for channel in processor.route_info_manager().scan_not_active_broker() {
            channel.close();
        }
    }
}
