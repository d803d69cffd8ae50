//! Name-server request headers not shared with other roles (REGISTER_BROKER and
//! UNREGISTER_BROKER use `ferrocket_protocol::header::register_broker`).
//!
//! Decoding is lenient where RocketMQ is: it only logs a missing `@CFNotNull` field, so only the
//! fields the name server cannot work without are required here.

use ferrocket_protocol::{HeaderError, RemotingCommand};

/// The broker identity carried by QUERY_DATA_VERSION (322) and BROKER_HEARTBEAT (904).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerIdentityHeader {
    /// `clusterName`.
    pub cluster_name: String,
    /// `brokerAddr`.
    pub broker_addr: String,
    /// `brokerName` (optional for the lookups the name server does).
    pub broker_name: Option<String>,
}

impl BrokerIdentityHeader {
    /// Reads the header from a request's ext fields.
    pub fn decode(request: &RemotingCommand) -> Result<Self, HeaderError> {
        Ok(BrokerIdentityHeader {
            cluster_name: request.ext_required("clusterName")?.to_string(),
            broker_addr: request.ext_required("brokerAddr")?.to_string(),
            broker_name: request.ext("brokerName").map(String::from),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_header_requires_cluster_and_address() {
        let req = RemotingCommand::request(904)
            .with_ext("clusterName", "DefaultCluster")
            .with_ext("brokerAddr", "10.0.0.1:10911");
        let h = BrokerIdentityHeader::decode(&req).unwrap();
        assert_eq!(h.broker_addr, "10.0.0.1:10911");
        assert_eq!(h.broker_name, None);
        let req = RemotingCommand::request(904).with_ext("clusterName", "c");
        assert_eq!(
            BrokerIdentityHeader::decode(&req).unwrap_err(),
            HeaderError::Missing("brokerAddr")
        );
    }
}
