//! Client errors.

use ferrocket_protocol::code::response;
use ferrocket_protocol::HeaderError;
use ferrocket_remoting::RemotingError;
use thiserror::Error;

/// Why a client operation failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The transport failed: connect, timeout, or connection closed.
    #[error(transparent)]
    Remoting(#[from] RemotingError),
    /// A broker answered with an error code.
    #[error("broker {addr} answered code {code}: {remark}")]
    Broker {
        /// The response code.
        code: i32,
        /// The response remark.
        remark: String,
        /// The broker address.
        addr: String,
    },
    /// A name server answered with an error code.
    #[error("name server {addr} answered code {code}: {remark}")]
    NameServer {
        /// The response code.
        code: i32,
        /// The response remark.
        remark: String,
        /// The name server address.
        addr: String,
    },
    /// No name server has a route for the topic (and, for producers, no TBW102 route either).
    #[error("no route info of topic {0} in the name server")]
    NoRoute(String),
    /// The TLS settings cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// No name server address was configured.
    #[error("no name server address configured (set --namesrv or NAMESRV_ADDR)")]
    NoNameServer,
    /// The route names a broker that has no master address.
    #[error("no address known for broker {0}")]
    BrokerNotFound(String),
    /// The overall send timeout elapsed before a send succeeded.
    #[error("send to topic {topic} timed out after {millis} ms ({attempts} attempts){}", last.as_ref().map(|e| format!(", last error: {e}")).unwrap_or_default())]
    SendTimeout {
        /// The topic.
        topic: String,
        /// The configured timeout.
        millis: u64,
        /// Attempts made.
        attempts: u32,
        /// The last error seen, if any.
        last: Option<Box<ClientError>>,
    },
    /// The message breaks a client-side rule (topic name, body size...).
    #[error("illegal message: {0}")]
    IllegalMessage(String),
    /// A response lacks a field or has an undecodable body.
    #[error("malformed response: {0}")]
    BadResponse(String),
    /// The client is not in a state that allows the operation.
    #[error("client state: {0}")]
    State(&'static str),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl From<HeaderError> for ClientError {
    fn from(e: HeaderError) -> Self {
        ClientError::BadResponse(e.to_string())
    }
}

impl From<serde_json::Error> for ClientError {
    fn from(e: serde_json::Error) -> Self {
        ClientError::BadResponse(format!("JSON body: {e}"))
    }
}

/// Broker response codes after which a producer retries on another queue
/// (`DefaultMQProducer.retryResponseCodes`).
pub const RETRY_RESPONSE_CODES: [i32; 8] = [
    response::TOPIC_NOT_EXIST,
    response::SERVICE_NOT_AVAILABLE,
    response::SYSTEM_ERROR,
    response::SYSTEM_BUSY,
    response::NO_PERMISSION,
    204, // NO_BUYER_ID
    205, // NOT_IN_CURRENT_UNIT
    response::GO_AWAY,
];

impl ClientError {
    /// True when a send that failed this way may succeed on another queue or broker.
    pub fn is_retryable_send(&self) -> bool {
        match self {
            ClientError::Remoting(_) | ClientError::BrokerNotFound(_) => true,
            ClientError::Broker { code, .. } => RETRY_RESPONSE_CODES.contains(code),
            _ => false,
        }
    }

    /// The broker or name server response code, if this error carries one.
    pub fn response_code(&self) -> Option<i32> {
        match self {
            ClientError::Broker { code, .. } | ClientError::NameServer { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes_follow_the_java_producer() {
        let broker = |code| ClientError::Broker {
            code,
            remark: String::new(),
            addr: "b".into(),
        };
        for code in [17, 14, 1, 2, 16, 204, 205, 1500] {
            assert!(broker(code).is_retryable_send(), "{code}");
        }
        for code in [13, 29, 26, 10] {
            assert!(!broker(code).is_retryable_send(), "{code}");
        }
        let timeout = ClientError::Remoting(RemotingError::Timeout {
            addr: "x".into(),
            millis: 1,
        });
        assert!(timeout.is_retryable_send());
        assert!(!ClientError::IllegalMessage("x".into()).is_retryable_send());
    }
}
