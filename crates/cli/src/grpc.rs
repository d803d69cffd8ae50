//! Starts the gRPC endpoint for the RocketMQ 5 clients next to a broker (`grpcServerEnable`,
//! `grpcServerPort`), checking the v5 clients' credentials against plain_acl.yml under `aclEnable`.

use std::sync::Arc;

use ferrocket_broker::BrokerController;
use ferrocket_proxy::{GrpcServer, GrpcServerConfig, ProxyBrokerView};

/// Starts the gRPC port unless `grpcServerEnable` is false, and prints `gRPC: ADDR:PORT`. A port
/// that cannot be opened is logged and the broker keeps serving its remoting clients.
pub async fn start_grpc(broker: &Arc<BrokerController>) -> Option<GrpcServer> {
    let broker_config = broker.broker_config();
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
        transactions: broker.transaction_service().clone(),
        producers: broker.producer_manager().clone(),
        pop: broker.pop_service(),
        send_back: broker.send_back_service(),
        consumers: broker.consumer_manager().clone(),
        acl: broker
            .acl_validator()
            .map(|v| ferrocket_acl::GrpcAccessChecker::new(v.clone())),
        max_message_size: broker.message_store_config().max_message_size,
    }
}
