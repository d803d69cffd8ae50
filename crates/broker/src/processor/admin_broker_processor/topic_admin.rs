//! Topic administration: UPDATE_AND_CREATE_TOPIC, DELETE_TOPIC_IN_BROKER, GET_ALL_TOPIC_CONFIG,
//! GET_TOPIC_CONFIG.

use ferrocket_protocol::body::topic::{DataVersion, TopicConfig, TopicFilterType};
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::admin::{
    CreateTopicRequestHeader, DeleteTopicRequestHeader, GetAllTopicConfigResponseHeader,
    GetTopicConfigRequestHeader,
};
use ferrocket_protocol::RemotingCommand;
use serde::Serialize;
use std::collections::BTreeMap;

use super::{error, ok, ok_json};
use crate::processor::{decode_header, success_with};
use crate::service::AdminService;
use crate::topic::topic_validator;

/// Parses `+key=value,-key` attribute changes into the attributes to store.
fn parse_attributes(raw: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for part in raw
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if let Some(kv) = part.strip_prefix('+') {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| format!("attribute '{part}' has no value"))?;
            out.insert(k.to_string(), v.to_string());
        } else if part.starts_with('-') {
            // a removal of an attribute this topic does not have yet
        } else {
            return Err(format!("attribute '{part}' must start with + or -"));
        }
    }
    Ok(out)
}

/// Creates or updates a topic and, as Apache does, registers the change with every name server
/// before answering, so that a route lookup right after the answer finds the topic.
pub(super) async fn update_and_create_topic(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, CreateTopicRequestHeader);
    if let Err(remark) = topic_validator::validate_topic(&h.topic) {
        return error(&request, response::INVALID_PARAMETER, remark);
    }
    if ctx.topics.is_system_topic(&h.topic) {
        return error(
            &request,
            response::INVALID_PARAMETER,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        );
    }
    let attributes = match parse_attributes(h.attributes.as_deref()) {
        Ok(a) => a,
        Err(remark) => return error(&request, response::INVALID_PARAMETER, remark),
    };
    let config = TopicConfig {
        topic_name: h.topic.clone(),
        read_queue_nums: h.read_queue_nums,
        write_queue_nums: h.write_queue_nums,
        perm: h.perm,
        topic_filter_type: if h.topic_filter_type.eq_ignore_ascii_case("MULTI_TAG") {
            TopicFilterType::MultiTag
        } else {
            TopicFilterType::SingleTag
        },
        topic_sys_flag: h.topic_sys_flag.unwrap_or(0),
        order: h.order,
        attributes,
    };
    if ctx.topics.update_topic_config(config.clone()) {
        tracing::info!(topic = %h.topic, read = h.read_queue_nums, write = h.write_queue_nums, perm = h.perm, "topic created or updated");
        // as Apache, answer once the change is on disk and registered; the write runs on the
        // config persist thread (coalesced with concurrent changes), never on this one
        let (persisted, ()) = tokio::join!(
            ctx.topics.persist_promptly(),
            ctx.registration.register_increment_broker_data([config])
        );
        if let Err(e) = persisted {
            return error(
                &request,
                response::SYSTEM_ERROR,
                format!(
                    "the topic[{}] was updated but config/topics.json could not be written: {e}",
                    h.topic
                ),
            );
        }
    }
    ok(&request)
}

pub(super) fn delete_topic(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, DeleteTopicRequestHeader);
    if h.topic.trim().is_empty() {
        return error(
            &request,
            response::INVALID_PARAMETER,
            "The specified topic is blank.",
        );
    }
    if ctx.topics.is_system_topic(&h.topic) {
        return error(
            &request,
            response::INVALID_PARAMETER,
            format!("The topic[{}] is conflict with system topic.", h.topic),
        );
    }
    ctx.topics.delete_topic_config(&h.topic);
    ctx.offsets.clean_offset_by_topic(&h.topic);
    ctx.store.delete_topics(std::slice::from_ref(&h.topic));
    tracing::info!(topic = %h.topic, "topic deleted");
    ok(&request)
}

/// GET_ALL_TOPIC_CONFIG body (`TopicConfigAndMappingSerializeWrapper`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicConfigAndMappingSerializeWrapper {
    topic_config_table: BTreeMap<String, TopicConfig>,
    data_version: DataVersion,
    mapping_data_version: DataVersion,
    topic_queue_mapping_info_map: BTreeMap<String, serde_json::Value>,
    topic_queue_mapping_detail_map: BTreeMap<String, serde_json::Value>,
}

pub(super) fn get_all_topic_config(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let wrapper = ctx.topics.build_serialize_wrapper();
    let total = wrapper.topic_config_table.len() as i32;
    let body = TopicConfigAndMappingSerializeWrapper {
        topic_config_table: wrapper.topic_config_table,
        data_version: wrapper.data_version.clone(),
        mapping_data_version: wrapper.data_version,
        topic_queue_mapping_info_map: BTreeMap::new(),
        topic_queue_mapping_detail_map: BTreeMap::new(),
    };
    let mut r = success_with(
        &request,
        &GetAllTopicConfigResponseHeader {
            total_topic_num: Some(total),
        },
    );
    r.body = ferrocket_protocol::body::encode(&body);
    Some(r)
}

pub(super) fn get_topic_config(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetTopicConfigRequestHeader);
    match ctx.topics.select_topic_config(&h.topic) {
        Some(t) => ok_json(&request, &t),
        None => error(
            &request,
            response::TOPIC_NOT_EXIST,
            format!("No topic in this broker. topic: {}", h.topic),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_follow_mqadmin_syntax() {
        let a = parse_attributes(Some("+message.type=FIFO,-queue.type")).unwrap();
        assert_eq!(a.get("message.type").map(String::as_str), Some("FIFO"));
        assert_eq!(a.len(), 1);
        assert!(parse_attributes(Some("message.type=FIFO")).is_err());
        assert!(parse_attributes(None).unwrap().is_empty());
    }
}
