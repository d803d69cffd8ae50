//! Overview (totals and TPS history) and the cluster/broker configuration page.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::disk_usage;
use crate::http::Response;
use crate::server::ConsoleContext;

/// GET /api/overview
pub fn overview(ctx: &Arc<ConsoleContext>) -> Response {
    let b = &ctx.broker;
    let stats = &b.stats;
    let store = &b.store;
    let groups = crate::api::groups::all_group_names(b).len();
    Response::json(&json!({
        "clusterName": b.broker_config().broker_cluster_name,
        "brokerName": b.broker_config().broker_name,
        "brokerId": b.broker_config().broker_id,
        "brokerAddr": b.broker_addr(),
        "version": env!("CARGO_PKG_VERSION"),
        "bootTimestamp": b.boot_timestamp,
        "putTotal": stats.put_total(),
        "getTotal": stats.get_total(),
        "putTps": stats.put_tps(),
        "getTransferredTps": stats.get_transferred_tps(),
        "topicCount": b.topics.topic_names().len(),
        "groupCount": groups,
        "commitLogMinOffset": store.get_min_phy_offset(),
        "commitLogMaxOffset": store.get_max_phy_offset(),
        "disk": disk_usage::measure(&b.store_config),
        "tps": ctx.tps.points(),
    }))
}

/// GET /api/config: the cluster this broker belongs to and every setting it runs with.
pub fn config(ctx: &Arc<ConsoleContext>) -> Response {
    let b = &ctx.broker;
    let c = b.broker_config();
    let broker: Vec<(&str, Value)> = vec![
        ("brokerClusterName", json!(c.broker_cluster_name)),
        ("brokerName", json!(c.broker_name)),
        ("brokerId", json!(c.broker_id)),
        ("brokerIP1", json!(c.broker_ip1)),
        ("listenPort", json!(c.listen_port)),
        ("bindAddress", json!(c.bind_address)),
        (
            "namesrvAddr",
            json!(c.namesrv_addr.clone().unwrap_or_default()),
        ),
        ("autoCreateTopicEnable", json!(c.auto_create_topic_enable)),
        (
            "autoCreateSubscriptionGroup",
            json!(c.auto_create_subscription_group),
        ),
        ("defaultTopicQueueNums", json!(c.default_topic_queue_nums)),
        ("clusterTopicEnable", json!(c.cluster_topic_enable)),
        ("brokerTopicEnable", json!(c.broker_topic_enable)),
        ("brokerPermission", json!(c.broker_permission)),
        (
            "registerNameServerPeriod",
            json!(c.register_name_server_period),
        ),
        (
            "registerBrokerTimeoutMills",
            json!(c.register_broker_timeout_mills),
        ),
        (
            "flushConsumerOffsetInterval",
            json!(c.flush_consumer_offset_interval),
        ),
        ("longPollingEnable", json!(c.long_polling_enable)),
        ("shortPollingTimeMills", json!(c.short_polling_time_mills)),
        (
            "notifyConsumerIdsChangedEnable",
            json!(c.notify_consumer_ids_changed_enable),
        ),
        ("regionId", json!(c.region_id)),
        ("traceOn", json!(c.trace_on)),
        ("channelExpiredTimeout", json!(c.channel_expired_timeout)),
        ("enablePropertyFilter", json!(c.enable_property_filter)),
        (
            "rejectTransactionMessage",
            json!(c.reject_transaction_message),
        ),
        ("transactionTimeOut", json!(c.transaction_time_out)),
        ("transactionCheckMax", json!(c.transaction_check_max)),
        (
            "transactionCheckInterval",
            json!(c.transaction_check_interval),
        ),
        ("consoleEnable", json!(c.console_enable)),
        ("consolePort", json!(c.console_port)),
        ("consoleListenAddress", json!(c.console_listen_address)),
    ];
    let broker: serde_json::Map<String, Value> = broker
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let store = serde_json::to_value(&b.store_config).unwrap_or(Value::Null);
    Response::json(&json!({
        "cluster": {
            "clusterName": c.broker_cluster_name,
            "brokers": [{
                "brokerName": c.broker_name,
                "brokerId": c.broker_id,
                "addr": b.broker_addr(),
                "role": b.store_config.broker_role.as_str(),
                "bootTimestamp": b.boot_timestamp,
            }],
        },
        "broker": broker,
        "store": store,
    }))
}
