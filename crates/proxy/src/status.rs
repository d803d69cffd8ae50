//! The v2 `Status` carried in every response, and the mapping of the broker's remoting
//! response codes to v2 [`Code`]s that Apache's proxy applies (`ResponseBuilder`).

use ferrocket_protocol::code::response;

use crate::v2::{Code, Status};

/// A `Status` with `code` and `message`.
pub fn status(code: Code, message: impl Into<String>) -> Status {
    Status {
        code: code as i32,
        message: message.into(),
    }
}

/// `Status{OK}`.
pub fn ok() -> Status {
    status(Code::Ok, "OK")
}

/// The v2 code Apache's proxy reports for a broker response code: SYSTEM_BUSY is
/// TOO_MANY_REQUESTS (clients back off and retry), an unsupported request NOT_IMPLEMENTED, a
/// missing group CONSUMER_GROUP_NOT_FOUND, a missing topic TOPIC_NOT_FOUND; a message stored
/// less durably than asked reports the persistence it lacked; anything else is
/// INTERNAL_SERVER_ERROR.
pub fn code_of_remoting(remoting_code: i32) -> Code {
    match remoting_code {
        response::SUCCESS => Code::Ok,
        response::SYSTEM_BUSY => Code::TooManyRequests,
        response::REQUEST_CODE_NOT_SUPPORTED => Code::NotImplemented,
        response::SUBSCRIPTION_GROUP_NOT_EXIST => Code::ConsumerGroupNotFound,
        response::TOPIC_NOT_EXIST => Code::TopicNotFound,
        response::FLUSH_DISK_TIMEOUT => Code::MasterPersistenceTimeout,
        response::FLUSH_SLAVE_TIMEOUT => Code::SlavePersistenceTimeout,
        response::SLAVE_NOT_AVAILABLE => Code::HaNotAvailable,
        _ => Code::InternalServerError,
    }
}

/// A failed call: the code and the message it is answered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ProxyError {
    /// The v2 code.
    pub code: Code,
    /// What went wrong, for a human.
    pub message: String,
}

impl ProxyError {
    /// An error with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ProxyError {
            code,
            message: message.into(),
        }
    }

    /// The `Status` this error is answered with.
    pub fn to_status(&self) -> Status {
        status(self.code, self.message.clone())
    }
}

/// Every call's result inside the proxy.
pub type ProxyResult<T> = Result<T, ProxyError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_codes_map_as_apache_proxy_maps_them() {
        let expected = [
            (response::SUCCESS, Code::Ok),
            (response::SYSTEM_BUSY, Code::TooManyRequests),
            (response::REQUEST_CODE_NOT_SUPPORTED, Code::NotImplemented),
            (
                response::SUBSCRIPTION_GROUP_NOT_EXIST,
                Code::ConsumerGroupNotFound,
            ),
            (response::TOPIC_NOT_EXIST, Code::TopicNotFound),
            (response::FLUSH_DISK_TIMEOUT, Code::MasterPersistenceTimeout),
            (response::MESSAGE_ILLEGAL, Code::InternalServerError),
        ];
        for (remoting, v2) in expected {
            assert_eq!(code_of_remoting(remoting), v2, "remoting code {remoting}");
        }
        assert_eq!(Code::Ok as i32, 20000);
        assert_eq!(Code::NotImplemented as i32, 50100);
    }
}
