//! The audit log of administrative requests: one line for every request that changes a
//! server's state (topics, groups, offsets, configuration, ACL, registrations), naming the
//! remote address, the `AccessKey` it was signed with (if any), the code and the outcome.

use ferrocket_protocol::code::request as rq;
use ferrocket_protocol::RemotingCommand;

use crate::channel::Channel;

/// Request codes that change what a broker or name server serves.
const ADMIN_WRITE_CODES: &[(i32, &str)] = &[
    (rq::UPDATE_AND_CREATE_TOPIC, "UPDATE_AND_CREATE_TOPIC"),
    (
        rq::UPDATE_AND_CREATE_TOPIC_LIST,
        "UPDATE_AND_CREATE_TOPIC_LIST",
    ),
    (rq::UPDATE_BROKER_CONFIG, "UPDATE_BROKER_CONFIG"),
    (rq::PUT_KV_CONFIG, "PUT_KV_CONFIG"),
    (rq::DELETE_KV_CONFIG, "DELETE_KV_CONFIG"),
    (rq::UNREGISTER_BROKER, "UNREGISTER_BROKER"),
    (
        rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP,
        "UPDATE_AND_CREATE_SUBSCRIPTIONGROUP",
    ),
    (rq::WIPE_WRITE_PERM_OF_BROKER, "WIPE_WRITE_PERM_OF_BROKER"),
    (rq::DELETE_SUBSCRIPTIONGROUP, "DELETE_SUBSCRIPTIONGROUP"),
    (rq::DELETE_TOPIC_IN_BROKER, "DELETE_TOPIC_IN_BROKER"),
    (rq::DELETE_TOPIC_IN_NAMESRV, "DELETE_TOPIC_IN_NAMESRV"),
    (
        rq::INVOKE_BROKER_TO_RESET_OFFSET,
        "INVOKE_BROKER_TO_RESET_OFFSET",
    ),
    (rq::UPDATE_NAMESRV_CONFIG, "UPDATE_NAMESRV_CONFIG"),
    (rq::ADD_WRITE_PERM_OF_BROKER, "ADD_WRITE_PERM_OF_BROKER"),
    // RocketMQ's ACL administration codes
    (50, "UPDATE_AND_CREATE_ACL_CONFIG"),
    (51, "DELETE_ACL_CONFIG"),
    (53, "UPDATE_GLOBAL_WHITE_ADDRS_CONFIG"),
];

/// The name of `code` if it is an administrative write.
pub fn admin_write_name(code: i32) -> Option<&'static str> {
    ADMIN_WRITE_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// What to audit about `request`, taken before it is handled: its code name and `AccessKey`.
pub fn admin_request(request: &RemotingCommand) -> Option<(&'static str, String)> {
    let name = admin_write_name(request.code)?;
    let access_key = request
        .ext_fields
        .get("AccessKey")
        .unwrap_or("")
        .to_string();
    Some((name, access_key))
}

/// Logs one audited request and its outcome (`None`: no reply was sent).
pub fn log(
    channel: &Channel,
    what: &(&'static str, String),
    request_code: i32,
    reply: Option<&RemotingCommand>,
) {
    let (name, access_key) = what;
    tracing::info!(
        target: "ferrocket::audit",
        remote = %channel.remote_addr(),
        access_key = access_key.as_str(),
        code = request_code,
        request = *name,
        response_code = reply.map(|r| r.code),
        remark = reply.and_then(|r| r.remark.as_deref()).unwrap_or(""),
        "admin request"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_writes_are_recognised() {
        assert_eq!(
            admin_write_name(rq::DELETE_TOPIC_IN_BROKER),
            Some("DELETE_TOPIC_IN_BROKER")
        );
        assert_eq!(admin_write_name(rq::SEND_MESSAGE), None);
        let mut req = RemotingCommand::request(rq::UPDATE_BROKER_CONFIG);
        req.ext_fields.insert("AccessKey", "rocketmq2");
        assert_eq!(
            admin_request(&req),
            Some(("UPDATE_BROKER_CONFIG", "rocketmq2".to_string()))
        );
    }
}
