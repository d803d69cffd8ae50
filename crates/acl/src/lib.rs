//! RocketMQ ACL 1.0 for Ferrocket: the accounts of `plain_acl.yml`, the request signature of the
//! official `AclClientRPCHook`, and RocketMQ's permission model (PUB/SUB/DENY, admin-only codes,
//! groups checked through their retry topic, white-listed addresses).
//!
//! The broker and the name server call [`PlainAccessValidator::check`] once per request, before
//! dispatching it; a refusal is answered NO_PERMISSION with RocketMQ's remark and the request goes
//! no further. The identity a request was accepted under is available to the code that serves it
//! through [`current_caller`].

mod admin;
mod caller;
pub mod decision;
pub mod grpc;
pub mod permission;
pub mod plain_config;
pub mod remote_address;
pub mod resource;
pub mod signature;
mod validator;
mod watcher;

use std::path::PathBuf;

pub use admin::{process_admin, AclAdminContext, ACL_ADMIN_CODES};
pub use caller::{current_caller, with_caller, Authentication, Caller};
pub use decision::{broker_decision, namesrv_code_needs_check, namesrv_decision, AclDecision};
pub use grpc::{GrpcAccessChecker, GrpcCall, GrpcRefusal};
pub use validator::AclRules;
pub use watcher::{PlainAccessValidator, ACL_DIR_NAME, WATCH_INTERVAL};

/// `RequestCode.UPDATE_AND_CREATE_ACL_CONFIG`.
pub const UPDATE_AND_CREATE_ACL_CONFIG: i32 = 50;
/// `RequestCode.DELETE_ACL_CONFIG`.
pub const DELETE_ACL_CONFIG: i32 = 51;
/// `RequestCode.GET_BROKER_CLUSTER_ACL_INFO`.
pub const GET_BROKER_CLUSTER_ACL_INFO: i32 = 52;
/// `RequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG`.
pub const UPDATE_GLOBAL_WHITE_ADDRS_CONFIG: i32 = 53;

/// `RequestCode.GET_BROKER_CLUSTER_ACL_CONFIG`: every account of the ACL files (RocketMQ 4.5 to
/// 4.9.7 and 5.0 to 5.1; removed from 4.9.8 and 5.2 because it answered anyone).
pub const GET_BROKER_CLUSTER_ACL_CONFIG: i32 = 54;

/// Name of the ACL file (`plain_acl.yml`, in `${ROCKETMQ_HOME}/conf` for RocketMQ).
pub const PLAIN_ACL_FILE_NAME: &str = "plain_acl.yml";

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    /// The request is refused; the text is RocketMQ's remark.
    #[error("{0}")]
    Denied(String),
    /// The request cannot be checked (e.g. an undecodable heartbeat body).
    #[error("{0}")]
    Request(String),
    /// plain_acl.yml cannot be read or is invalid.
    #[error("ACL file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// The reply to a refused request: NO_PERMISSION (16) with RocketMQ's message as the remark.
pub fn refusal(
    request: &ferrocket_protocol::RemotingCommand,
    error: &AclError,
) -> ferrocket_protocol::RemotingCommand {
    ferrocket_protocol::RemotingCommand::error_to(
        request,
        ferrocket_protocol::code::response::NO_PERMISSION,
        error.to_string(),
    )
}

/// An account's access and secret key, used to sign outgoing requests.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionCredentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for SessionCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"***")
            .finish()
    }
}

impl SessionCredentials {
    /// Credentials from a key pair.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Self {
        SessionCredentials {
            access_key: access_key.into(),
            secret_key: secret_key.into(),
        }
    }

    /// Parses RocketMQ's `innerClientAuthenticationCredentials` value,
    /// `{"accessKey":"…","secretKey":"…"}`.
    pub fn parse_json(text: &str) -> Result<SessionCredentials, String> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Json {
            access_key: String,
            secret_key: String,
        }
        let j: Json = serde_json::from_str(text)
            .map_err(|e| format!("expected {{\"accessKey\":\"…\",\"secretKey\":\"…\"}}: {e}"))?;
        Ok(SessionCredentials::new(j.access_key, j.secret_key))
    }

    /// Signs `request` (call after every ext field and the body are set).
    pub fn sign(&self, request: &mut ferrocket_protocol::RemotingCommand) {
        signature::sign(request, &self.access_key, &self.secret_key);
    }
}
