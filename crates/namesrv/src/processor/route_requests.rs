//! Requests clients and admin tools send about routes, topics and clusters.

use ferrocket_protocol::body::topic::TopicList;
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;

use super::{success, DefaultRequestProcessor, HandlerResult};
use crate::kv_config_manager::NAMESPACE_ORDER_TOPIC_CONFIG;

/// RocketMQ's `FAQUrl.suggestTodo(APPLY_TOPIC_URL)`, appended to "no route" remarks.
const APPLY_TOPIC_TIP: &str =
    "\nSee https://rocketmq.apache.org/docs/bestPractice/06FAQ for further details.";

/// GET_ROUTEINFO_BY_TOPIC (105). Always standard JSON (quoted map keys): every client accepts it.
pub(super) fn get_route_info_by_topic(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let topic = req.ext_required("topic")?;
    let Some(mut route) = p.route_info_manager.pickup_topic_route_data(topic) else {
        return Ok(RemotingCommand::error_to(
            req,
            response::TOPIC_NOT_EXIST,
            format!("No topic route info in name server for the topic: {topic}{APPLY_TOPIC_TIP}"),
        ));
    };
    if p.config.read().order_message_enable {
        route.order_topic_conf = p
            .kv_config_manager
            .get_kv_config(NAMESPACE_ORDER_TOPIC_CONFIG, topic);
    }
    Ok(success(req).with_body(ferrocket_protocol::body::encode(&route)))
}

/// GET_BROKER_CLUSTER_INFO (106).
pub(super) fn get_broker_cluster_info(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let info = p.route_info_manager.get_all_cluster_info();
    Ok(success(req).with_body(ferrocket_protocol::body::encode(&info)))
}

/// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206).
pub(super) fn get_all_topic_list(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    if !p.config.read().enable_all_topic_list {
        return Ok(disabled(req));
    }
    Ok(topic_list(req, &p.route_info_manager.get_all_topic_list()))
}

/// DELETE_TOPIC_IN_NAMESRV (216): from one cluster when `clusterName` is given, else everywhere.
pub(super) fn delete_topic_in_namesrv(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let topic = req.ext_required("topic")?;
    match req.ext("clusterName").filter(|c| !c.is_empty()) {
        Some(cluster) => p.route_info_manager.delete_topic_in_cluster(topic, cluster),
        None => p.route_info_manager.delete_topic(topic),
    }
    tracing::info!(
        topic,
        cluster = req.ext("clusterName"),
        "topic deleted from the name server"
    );
    Ok(success(req))
}

/// GET_TOPICS_BY_CLUSTER (224).
pub(super) fn get_topics_by_cluster(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    if !p.config.read().enable_topic_list {
        return Ok(disabled(req));
    }
    let cluster = req.ext_required("cluster")?;
    Ok(topic_list(
        req,
        &p.route_info_manager.get_topics_by_cluster(cluster),
    ))
}

/// GET_SYSTEM_TOPIC_LIST_FROM_NS (304).
pub(super) fn get_system_topic_list(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    Ok(topic_list(
        req,
        &p.route_info_manager.get_system_topic_list(),
    ))
}

/// GET_UNIT_TOPIC_LIST (311), GET_HAS_UNIT_SUB_TOPIC_LIST (312), GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST (313).
pub(super) fn get_unit_topic_list(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    if !p.config.read().enable_topic_list {
        return Ok(disabled(req));
    }
    let rim = &p.route_info_manager;
    let list = match req.code {
        request::GET_UNIT_TOPIC_LIST => rim.get_unit_topics(),
        request::GET_HAS_UNIT_SUB_TOPIC_LIST => rim.get_has_unit_sub_topic_list(),
        _ => rim.get_has_unit_sub_ununit_topic_list(),
    };
    Ok(topic_list(req, &list))
}

/// WIPE_WRITE_PERM_OF_BROKER (205).
pub(super) fn wipe_write_perm_of_broker(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let broker_name = req.ext_required("brokerName")?;
    let count = p.route_info_manager.wipe_write_perm_of_broker(broker_name);
    tracing::info!(
        broker = broker_name,
        topics = count,
        "write permission wiped"
    );
    Ok(success(req).with_ext("wipeTopicCount", count))
}

/// ADD_WRITE_PERM_OF_BROKER (327).
pub(super) fn add_write_perm_of_broker(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let broker_name = req.ext_required("brokerName")?;
    let count = p.route_info_manager.add_write_perm_of_broker(broker_name);
    tracing::info!(
        broker = broker_name,
        topics = count,
        "write permission added"
    );
    Ok(success(req).with_ext("addTopicCount", count))
}

fn topic_list(req: &RemotingCommand, list: &TopicList) -> RemotingCommand {
    success(req).with_body(ferrocket_protocol::body::encode(list))
}

fn disabled(req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::error_to(req, response::SYSTEM_ERROR, "disable")
}
