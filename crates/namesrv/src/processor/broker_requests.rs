//! Requests brokers send: registration, unregistration, liveness and topic registration.

use ferrocket_protocol::body::route::TopicRouteData;
use ferrocket_protocol::body::topic::DataVersion;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::register_broker::{
    RegisterBrokerRequestHeader, RegisterBrokerResponseHeader, UnRegisterBrokerRequestHeader,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::{success, DefaultRequestProcessor, HandlerResult, RequestError};
use crate::header::BrokerIdentityHeader;
use crate::kv_config_manager::NAMESPACE_ORDER_TOPIC_CONFIG;
use crate::register_broker_body;
use crate::route_info_manager::{BrokerRegistration, BrokerUnregistration};

/// REGISTER_BROKER (103).
pub(super) fn register_broker(
    p: &DefaultRequestProcessor,
    channel: &Channel,
    req: &RemotingCommand,
) -> HandlerResult {
    let header = RegisterBrokerRequestHeader::decode(req)?;
    if header.body_crc32 != 0 && ferrocket_protocol::util::crc32(&req.body) != header.body_crc32 {
        tracing::warn!(remote = %channel.remote_addr(), broker = %header.broker_name, "REGISTER_BROKER body crc32 does not match");
        return Ok(RemotingCommand::error_to(
            req,
            response::SYSTEM_ERROR,
            "crc32 not match",
        ));
    }
    let body = register_broker_body::decode(&req.body, header.compressed)
        .map_err(|e| RequestError::Body(format!("Failed to decode RegisterBrokerBody: {e}")))?;
    tracing::debug!(
        broker = %header.broker_name,
        addr = %header.broker_addr,
        topics = body.topic_config_serialize_wrapper.topic_config_table.len(),
        "REGISTER_BROKER"
    );
    let result = p.route_info_manager.register_broker(BrokerRegistration {
        cluster_name: header.cluster_name,
        broker_addr: header.broker_addr,
        broker_name: header.broker_name,
        broker_id: header.broker_id,
        ha_server_addr: header.ha_server_addr,
        heartbeat_timeout_millis: header
            .heartbeat_timeout_millis
            .filter(|ms| *ms > 0)
            .map(|ms| ms as u64),
        enable_acting_master: header.enable_acting_master,
        topic_config_wrapper: body.topic_config_serialize_wrapper,
        filter_server_list: Some(body.filter_server_list),
        channel: Some(channel.clone()),
    });
    let Some(result) = result else {
        return Ok(RemotingCommand::error_to(
            req,
            response::SYSTEM_ERROR,
            "register broker failed",
        ));
    };
    let mut resp = success(req);
    RegisterBrokerResponseHeader {
        ha_server_addr: result.ha_server_addr,
        master_addr: result.master_addr,
    }
    .write_to(&mut resp);
    if p.config.read().return_order_topic_config_to_broker {
        if let Some(kv) = p
            .kv_config_manager
            .get_kv_list_by_namespace(NAMESPACE_ORDER_TOPIC_CONFIG)
        {
            resp = resp.with_body(ferrocket_protocol::body::encode(&kv));
        }
    }
    Ok(resp)
}

/// UNREGISTER_BROKER (104).
pub(super) fn unregister_broker(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let h = UnRegisterBrokerRequestHeader::decode(req)?;
    p.route_info_manager
        .unregister_brokers(&[BrokerUnregistration {
            cluster_name: h.cluster_name,
            broker_addr: h.broker_addr,
            broker_name: h.broker_name,
            broker_id: h.broker_id,
        }]);
    Ok(success(req))
}

/// QUERY_DATA_VERSION (322): has the broker's topic table changed since it last registered?
pub(super) fn query_data_version(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let h = BrokerIdentityHeader::decode(req)?;
    let version: DataVersion = if req.body.is_empty() {
        DataVersion::default()
    } else {
        ferrocket_protocol::body::decode(&req.body)
            .map_err(|e| RequestError::Body(format!("malformed DataVersion: {e}")))?
    };
    let rim = &p.route_info_manager;
    let changed = rim.is_broker_topic_config_changed(&h.cluster_name, &h.broker_addr, &version);
    rim.update_broker_info_update_timestamp(&h.cluster_name, &h.broker_addr);
    let mut resp = success(req).with_ext("changed", changed);
    if let Some(ours) = rim.query_broker_topic_config(&h.cluster_name, &h.broker_addr) {
        resp = resp.with_body(ferrocket_protocol::body::encode(&ours));
    }
    Ok(resp)
}

/// BROKER_HEARTBEAT (904): keeps a registered broker alive between registrations.
pub(super) fn broker_heartbeat(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let h = BrokerIdentityHeader::decode(req)?;
    p.route_info_manager
        .update_broker_info_update_timestamp(&h.cluster_name, &h.broker_addr);
    Ok(success(req))
}

/// GET_BROKER_MEMBER_GROUP (901): the ids and addresses of one broker group.
pub(super) fn get_broker_member_group(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let cluster = req.ext("clusterName").unwrap_or_default();
    let broker_name = req.ext_required("brokerName")?;
    let addrs: serde_json::Map<String, serde_json::Value> = p
        .route_info_manager
        .get_broker_member_group(broker_name)
        .into_iter()
        .map(|(id, addr)| (id.to_string(), serde_json::Value::String(addr)))
        .collect();
    let body = serde_json::json!({
        "brokerMemberGroup": {
            "cluster": cluster,
            "brokerName": broker_name,
            "brokerAddrs": addrs,
        }
    });
    Ok(success(req).with_body(ferrocket_protocol::body::encode(&body)))
}

/// REGISTER_TOPIC_IN_NAMESRV (217): adds queue data of already-registered brokers.
pub(super) fn register_topic_in_namesrv(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let topic = req.ext_required("topic")?;
    if !req.body.is_empty() {
        let route: TopicRouteData = ferrocket_protocol::body::decode(&req.body)
            .map_err(|e| RequestError::Body(format!("malformed TopicRouteData: {e}")))?;
        p.route_info_manager
            .register_topic(topic, &route.queue_datas);
    }
    Ok(success(req))
}
