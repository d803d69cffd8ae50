//! Starts the gRPC endpoint for the RocketMQ 5 clients next to a broker (`grpcServerEnable`,
//! `grpcServerPort`).

use std::sync::Arc;

use ferrocket_broker::BrokerController;
use ferrocket_proxy::{GrpcServer, GrpcServerConfig, ProxyBrokerView};

/// Starts the gRPC port unless `grpcServerEnable` is false, and prints `gRPC: ADDR:PORT`. A port
/// that cannot be opened is logged and the broker keeps serving its remoting clients.
pub async fn start_grpc(broker: &Arc<BrokerController>) -> Option<GrpcServer> {
    let broker_config = broker.broker_config();
    if GrpcServerConfig::closed_by_acl(&broker_config) {
        tracing::warn!(
            "the gRPC port is not served: aclEnable=true and the gRPC endpoint does not \
             authenticate RocketMQ 5 clients yet (set grpcServerEnable=false to silence this)"
        );
        return None;
    }
    let config = match GrpcServerConfig::from_broker_config(&broker_config) {
        Ok(config) => config?,
        Err(e) => {
            tracing::error!(
                error = %e,
                "the gRPC port is not available: check tlsCertPath, tlsKeyPath and tlsTestModeEnable \
                 (or the tls.server.* settings it falls back to)"
            );
            return None;
        }
    };
    match GrpcServer::start(config, broker_view(broker)).await {
        Ok(server) => {
            let addr = crate::net::connectable(server.local_addr());
            crate::ready::announce(&format!("gRPC: {addr} (TLS and plaintext)"));
            Some(server)
        }
        Err(e) => {
            tracing::error!(
                error = %e,
                "the gRPC port is not available (set grpcServerPort, or grpcServerEnable=false)"
            );
            None
        }
    }
}

/// The managers and services of `broker` the gRPC endpoint uses; it never holds the
/// controller itself.
fn broker_view(broker: &BrokerController) -> ProxyBrokerView {
    ProxyBrokerView {
        config: broker.shared_broker_config(),
        topics: broker.topic_config_manager().clone(),
        groups: broker.subscription_group_manager().clone(),
        send: broker.send_service().clone(),
        max_message_size: broker.message_store_config().max_message_size,
    }
}
