//! Statistics and settings: GET_BROKER_RUNTIME_INFO, GET_BROKER_CONFIG, GET_TOPIC_STATS_INFO,
//! GET_CONSUME_STATS.

use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::body::topic::KvTable;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::admin::{
    GetConsumeStatsRequestHeader, GetTopicStatsInfoRequestHeader,
};
use ferrocket_protocol::RemotingCommand;
use std::collections::{BTreeMap, BTreeSet};

use super::{error, ok_json};
use crate::processor::decode_header;
use crate::service::AdminService;
use ferrocket_protocol::body::consume_stats::{ConsumeStats, OffsetWrapper};
use ferrocket_protocol::body::topic_stats::{TopicOffset, TopicStatsTable};

/// `MQVersion` name of the version this broker reports.
const BROKER_VERSION_DESC: &str = "V5_3_3";

pub(super) fn get_broker_runtime_info(
    ctx: &AdminService,
    request: RemotingCommand,
    earliest_message_time: i64,
) -> Option<RemotingCommand> {
    let stats = &ctx.stats;
    let now = ferrocket_protocol::util::now_millis();
    let up = ((now - ctx.boot_timestamp).max(0) / 1000) as u64;
    let mut t = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        t.insert(k.to_string(), v);
    };
    put("brokerVersionDesc", BROKER_VERSION_DESC.into());
    put(
        "brokerVersion",
        ferrocket_protocol::CURRENT_VERSION.to_string(),
    );
    put("bootTimestamp", ctx.boot_timestamp.to_string());
    put(
        "runtime",
        format!(
            "[ {} days, {} hours, {} minutes, {} seconds ]",
            up / 86_400,
            up % 86_400 / 3_600,
            up % 3_600 / 60,
            up % 60
        ),
    );
    put("putTps", stats.put_tps());
    put("getTransferredTps", stats.get_transferred_tps());
    // 4.9.x brokers spelled the key this way, and 4.9.x mqadmin reads only this spelling
    put("getTransferedTps", stats.get_transferred_tps());
    put("msgPutTotalTodayNow", stats.put_total().to_string());
    put("msgGetTotalTodayNow", stats.get_total().to_string());
    for k in [
        "msgPutTotalTodayMorning",
        "msgPutTotalYesterdayMorning",
        "msgGetTotalTodayMorning",
        "msgGetTotalYesterdayMorning",
        "sendThreadPoolQueueSize",
        "pullThreadPoolQueueSize",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "pageCacheLockTimeMills",
    ] {
        put(k, "0".into());
    }
    put("sendThreadPoolQueueCapacity", "10000".into());
    put("pullThreadPoolQueueCapacity", "100000".into());
    put(
        "earliestMessageTimeStamp",
        earliest_message_time.to_string(),
    );
    for (k, v) in super::ha_admin::replication_runtime_keys(ctx) {
        put(&k, v);
    }
    ok_json(&request, &KvTable { table: t })
}

pub(super) fn get_broker_config(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let c = ctx.config.get();
    let pairs: [(&str, String); 20] = [
        ("brokerClusterName", c.broker_cluster_name.clone()),
        ("brokerName", c.broker_name.clone()),
        ("brokerId", c.broker_id.to_string()),
        ("brokerIP1", c.broker_ip1.clone()),
        ("listenPort", c.listen_port.to_string()),
        ("namesrvAddr", c.namesrv_addr.clone().unwrap_or_default()),
        (
            "autoCreateTopicEnable",
            c.auto_create_topic_enable.to_string(),
        ),
        (
            "autoCreateSubscriptionGroup",
            c.auto_create_subscription_group.to_string(),
        ),
        (
            "defaultTopicQueueNums",
            c.default_topic_queue_nums.to_string(),
        ),
        ("brokerPermission", c.broker_permission.to_string()),
        (
            "registerNameServerPeriod",
            c.register_name_server_period.to_string(),
        ),
        (
            "flushConsumerOffsetInterval",
            c.flush_consumer_offset_interval.to_string(),
        ),
        ("longPollingEnable", c.long_polling_enable.to_string()),
        (
            "shortPollingTimeMills",
            c.short_polling_time_mills.to_string(),
        ),
        (
            "notifyConsumerIdsChangedEnable",
            c.notify_consumer_ids_changed_enable.to_string(),
        ),
        ("regionId", c.region_id.clone()),
        ("traceOn", c.trace_on.to_string()),
        (
            "storeReplyMessageEnable",
            c.store_reply_message_enable.to_string(),
        ),
        (
            "channelExpiredTimeout",
            c.channel_expired_timeout.to_string(),
        ),
        ("enablePropertyFilter", c.enable_property_filter.to_string()),
    ];
    let mut text = String::new();
    let replication = super::ha_admin::replication_config_keys(ctx);
    for (k, v) in pairs.into_iter().chain(replication) {
        text.push_str(k);
        text.push('=');
        text.push_str(&v);
        text.push('\n');
    }
    let version = serde_json::to_string(&ctx.topics.data_version()).unwrap_or_default();
    Some(
        RemotingCommand::response_to(&request, response::SUCCESS)
            .with_ext("version", version)
            .with_body(text.into_bytes()),
    )
}

pub(super) fn get_topic_stats_info(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetTopicStatsInfoRequestHeader);
    let Some(topic) = ctx.topics.select_topic_config(&h.topic) else {
        return error(
            &request,
            response::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist", h.topic),
        );
    };
    let store = &ctx.store;
    let broker_name = &ctx.config.get().broker_name;
    let mut table = TopicStatsTable::default();
    for queue_id in 0..topic.write_queue_nums.max(topic.read_queue_nums) {
        let max = store.get_max_offset_in_queue(&h.topic, queue_id);
        let min = store.get_min_offset_in_queue(&h.topic, queue_id);
        let last = if max > 0 {
            store.get_message_store_timestamp(&h.topic, queue_id, max - 1)
        } else {
            0
        };
        table.offset_table.insert(
            MessageQueue::new(&h.topic, broker_name, queue_id),
            TopicOffset {
                min_offset: min,
                max_offset: max,
                last_update_timestamp: last.max(0),
            },
        );
    }
    super::fastjson_body::ok(&request, &table)
}

pub(super) fn get_consume_stats(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetConsumeStatsRequestHeader);
    let offsets = &ctx.offsets;
    let topics: BTreeSet<String> = match (&h.topic, &h.topic_list) {
        (Some(t), _) if !t.is_empty() => [t.clone()].into(),
        (_, Some(list)) if !list.is_empty() => list
            .split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .collect(),
        _ => offsets.which_topic_by_consumer(&h.consumer_group),
    };
    let store = &ctx.store;
    let broker_name = &ctx.config.get().broker_name;
    let mut stats = ConsumeStats::default();
    for topic in topics {
        let Some(config) = ctx.topics.select_topic_config(&topic) else {
            continue;
        };
        for queue_id in 0..config.write_queue_nums {
            let broker_offset = store.get_max_offset_in_queue(&topic, queue_id).max(0);
            let consumer_offset = offsets
                .query_offset(&h.consumer_group, &topic, queue_id)
                .max(0);
            let pull_offset = offsets
                .query_pull_offset(&h.consumer_group, &topic, queue_id)
                .max(consumer_offset);
            let last_timestamp = if consumer_offset > 0 {
                store
                    .get_message_store_timestamp(&topic, queue_id, consumer_offset - 1)
                    .max(0)
            } else {
                0
            };
            stats.offset_table.insert(
                MessageQueue::new(&topic, broker_name, queue_id),
                OffsetWrapper {
                    broker_offset,
                    consumer_offset,
                    pull_offset,
                    last_timestamp,
                },
            );
        }
    }
    super::fastjson_body::ok(&request, &stats)
}
