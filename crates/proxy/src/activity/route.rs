//! `RouteActivity`: QueryRoute. The broker answers with its own route, as Apache's proxy does in
//! local mode: the topic's queues on this broker, whose endpoint is the broker's advertised
//! address with the gRPC port, so every later call of the client comes back to this port.

use std::net::IpAddr;

use ferrocket_protocol::body::topic::{perm, TopicConfig};

use crate::activity::validator;
use crate::status::{ProxyError, ProxyResult};
use crate::v2::{
    Address, AddressScheme, Broker, Code, Endpoints, MessageQueue, MessageType, Permission,
    QueryRouteRequest, Resource,
};
use crate::view::ProxyBrokerView;

/// Apache's topic attribute that says which message types a topic takes.
pub const MESSAGE_TYPE_ATTRIBUTE: &str = "message.type";

/// The message types a topic takes: its `message.type` attribute (NORMAL, FIFO, DELAY,
/// TRANSACTION, or MIXED for all four). A topic without one (every topic created by the 4.x
/// tools) takes all four: Ferrocket's topics are not typed.
pub fn accepted_message_types(topic: &TopicConfig) -> Vec<i32> {
    let all = || {
        vec![
            MessageType::Normal as i32,
            MessageType::Fifo as i32,
            MessageType::Delay as i32,
            MessageType::Transaction as i32,
        ]
    };
    let declared = topic
        .attributes
        .iter()
        .find(|(k, _)| k.trim_start_matches(['+', '-']) == MESSAGE_TYPE_ATTRIBUTE)
        .map(|(_, v)| v.trim().to_ascii_uppercase());
    match declared.as_deref() {
        Some("NORMAL") => vec![MessageType::Normal as i32],
        Some("FIFO") => vec![MessageType::Fifo as i32],
        Some("DELAY") => vec![MessageType::Delay as i32],
        Some("TRANSACTION") => vec![MessageType::Transaction as i32],
        _ => all(),
    }
}

/// The endpoints of this broker's gRPC port: `brokerIP1` and the bound port, with the scheme
/// the address has (Apache's `Address.buildScheme`).
pub fn broker_endpoints(host: &str, grpc_port: u16) -> Endpoints {
    let scheme = match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => AddressScheme::IPv4,
        Ok(IpAddr::V6(_)) => AddressScheme::IPv6,
        Err(_) => AddressScheme::DomainName,
    };
    Endpoints {
        scheme: scheme as i32,
        addresses: vec![Address {
            host: host.to_string(),
            port: i32::from(grpc_port),
        }],
    }
}

/// The settings of topic `name`; TOPIC_NOT_FOUND when it does not exist.
pub fn existing_topic(broker: &ProxyBrokerView, name: &str) -> ProxyResult<TopicConfig> {
    broker
        .topics
        .select_topic_config(name)
        .ok_or_else(|| ProxyError::new(Code::TopicNotFound, format!("topic not found: {name}")))
}

/// This broker as routes and assignments name it: its name, id and gRPC endpoint.
pub fn this_broker(broker: &ProxyBrokerView, grpc_port: u16) -> Broker {
    let config = broker.config.get();
    Broker {
        name: config.broker_name.clone(),
        id: i32::try_from(config.broker_id).unwrap_or(0),
        endpoints: Some(broker_endpoints(&config.broker_ip1, grpc_port)),
    }
}

/// QueryRoute: the topic's queues on this broker. Queue `i` is readable when `i` is below the
/// topic's read queue count and the topic and broker permit reads, writable likewise; a queue
/// that is neither is left out. An unknown topic is TOPIC_NOT_FOUND (the v5 clients need the
/// topic to exist; they never create one by sending).
pub fn query_route(
    broker: &ProxyBrokerView,
    grpc_port: u16,
    request: &QueryRouteRequest,
) -> ProxyResult<Vec<MessageQueue>> {
    let name = validator::validate_topic(request.topic.as_ref(), broker)?;
    let topic = existing_topic(broker, &name)?;
    let config = broker.config.get();
    let readable = perm::is_readable(topic.perm) && perm::is_readable(config.broker_permission);
    let writable = perm::is_writeable(topic.perm) && perm::is_writeable(config.broker_permission);
    let broker_desc = this_broker(broker, grpc_port);
    let resource = Resource {
        resource_namespace: request
            .topic
            .as_ref()
            .map(|t| t.resource_namespace.clone())
            .unwrap_or_default(),
        name: name.clone(),
    };
    let accept = accepted_message_types(&topic);
    let queue_count = topic.read_queue_nums.max(topic.write_queue_nums).max(0);
    let queues = (0..queue_count)
        .filter_map(|id| {
            let r = readable && id < topic.read_queue_nums;
            let w = writable && id < topic.write_queue_nums;
            let permission = match (r, w) {
                (true, true) => Permission::ReadWrite,
                (true, false) => Permission::Read,
                (false, true) => Permission::Write,
                (false, false) => return None,
            };
            Some(MessageQueue {
                topic: Some(resource.clone()),
                id,
                permission: permission as i32,
                broker: Some(broker_desc.clone()),
                accept_message_types: accept.clone(),
            })
        })
        .collect();
    Ok(queues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_carry_the_address_scheme() {
        assert_eq!(
            broker_endpoints("127.0.0.1", 8081).scheme,
            AddressScheme::IPv4 as i32
        );
        assert_eq!(
            broker_endpoints("::1", 8081).scheme,
            AddressScheme::IPv6 as i32
        );
        assert_eq!(
            broker_endpoints("broker-a.example", 8081).scheme,
            AddressScheme::DomainName as i32
        );
    }

    #[test]
    fn untyped_topics_take_every_message_type() {
        let mut topic = TopicConfig::new("T", 4);
        assert_eq!(accepted_message_types(&topic).len(), 4);
        topic
            .attributes
            .insert("+message.type".into(), "FIFO".into());
        assert_eq!(
            accepted_message_types(&topic),
            vec![MessageType::Fifo as i32]
        );
    }
}
