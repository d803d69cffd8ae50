//! Who is connected: GET_CONSUMER_CONNECTION_LIST, GET_PRODUCER_CONNECTION_LIST,
//! QUERY_TOPIC_CONSUME_BY_WHO, QUERY_TOPICS_BY_CONSUMER.

use ferrocket_protocol::body::topic::TopicList;
use ferrocket_protocol::code::response;
use ferrocket_protocol::header::admin::{
    GetConsumerConnectionListRequestHeader, GetProducerConnectionListRequestHeader,
};
use ferrocket_protocol::RemotingCommand;
use std::collections::BTreeSet;

use super::{error, ok_json};
use crate::processor::{decode_header, header_error};
use crate::service::AdminService;
use ferrocket_protocol::body::connection::{
    Connection, ConsumerConnection, GroupList, ProducerConnection,
};

pub(super) fn get_consumer_connection_list(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetConsumerConnectionListRequestHeader);
    let Some(info) = ctx.consumers.get_consumer_group_info(&h.consumer_group) else {
        return error(
            &request,
            response::CONSUMER_NOT_ONLINE,
            format!("the consumer group[{}] not online", h.consumer_group),
        );
    };
    let body = ConsumerConnection {
        connection_set: info
            .channel_info_table
            .values()
            .map(|c| Connection {
                client_id: c.client_id.clone(),
                client_addr: c.channel.remote_addr().to_string(),
                language: c.language.name().to_string(),
                version: c.version,
            })
            .collect(),
        subscription_table: info.subscription_table.into_iter().collect(),
        consume_type: info.consume_type,
        message_model: info.message_model,
        consume_from_where: info.consume_from_where,
    };
    ok_json(&request, &body)
}

pub(super) fn get_producer_connection_list(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, GetProducerConnectionListRequestHeader);
    let members = ctx.producers.get_connections(&h.producer_group);
    if members.is_empty() {
        return error(
            &request,
            response::SYSTEM_ERROR,
            format!("the producer group[{}] not exist", h.producer_group),
        );
    }
    let body = ProducerConnection {
        connection_set: members
            .into_iter()
            .map(|c| Connection {
                client_id: c.client_id,
                client_addr: c.channel.remote_addr().to_string(),
                language: c.language.name().to_string(),
                version: c.version,
            })
            .collect(),
    };
    ok_json(&request, &body)
}

pub(super) fn query_topic_consume_by_who(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let topic = match request.ext_required("topic") {
        Ok(t) => t.to_string(),
        Err(e) => return Some(header_error(&request, e)),
    };
    let mut groups: BTreeSet<String> = ctx
        .consumers
        .query_topic_consume_by_who(&topic)
        .into_iter()
        .collect();
    groups.extend(ctx.offsets.which_group_by_topic(&topic));
    ok_json(&request, &GroupList { group_list: groups })
}

pub(super) fn query_topics_by_consumer(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let group = match request.ext_required("group") {
        Ok(g) => g.to_string(),
        Err(e) => return Some(header_error(&request, e)),
    };
    let body = TopicList {
        topic_list: ctx.offsets.which_topic_by_consumer(&group),
        broker_addr: Some(ctx.broker_addr()),
    };
    ok_json(&request, &body)
}
