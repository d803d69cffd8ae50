//! What ACL demands of each request code a server dispatches, in one table per role.
//!
//! Every code the broker or the name server serves must have an entry here: the servers' tests
//! send every code to a real dispatcher and fail when one is served without a decision, so a new
//! request code cannot slip in unprotected.
//!
//! The model is RocketMQ 4.9's (`PlainAccessValidator.parse`, `Permission.ADMIN_CODE`): on the
//! broker every request is signed by a known account, some codes need `admin: true`, and the codes
//! that name topics and groups need PUB/SUB on them ([`crate::resource`]). Stricter than RocketMQ,
//! the ACL admin codes, INVOKE_BROKER_TO_RESET_OFFSET and the name server's write codes are
//! admin-only, and RocketMQ's name server, which checks nothing, here refuses unsigned writes.

use ferrocket_protocol::code::request as rq;

/// `RequestCode.GET_BROKER_MEMBER_GROUP`.
pub const GET_BROKER_MEMBER_GROUP: i32 = 901;

/// How ACL treats one request code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclDecision {
    /// Signed by an account with `admin: true`.
    Admin,
    /// Signed, and the topics and groups it names need PUB or SUB ([`crate::resource`]).
    Resources,
    /// Signed by any known account (queries, client bookkeeping, replication).
    Signed,
    /// Served without credentials (the name server's route and configuration queries, which
    /// clients send before they know any account's broker).
    Open,
}

/// The broker's decision for `code`, `None` when the table has no entry.
pub fn broker_decision(code: i32) -> Option<AclDecision> {
    use AclDecision::*;
    let decision = match code {
        rq::SEND_MESSAGE
        | rq::SEND_MESSAGE_V2
        | rq::SEND_BATCH_MESSAGE
        | rq::CONSUMER_SEND_MSG_BACK
        | rq::PULL_MESSAGE
        | rq::LITE_PULL_MESSAGE
        | rq::QUERY_MESSAGE
        | rq::HEART_BEAT
        | rq::UNREGISTER_CLIENT
        | rq::GET_CONSUMER_LIST_BY_GROUP
        | rq::UPDATE_CONSUMER_OFFSET
        | rq::QUERY_CONSUMER_OFFSET
        | rq::POP_MESSAGE
        | rq::PEEK_MESSAGE
        | rq::ACK_MESSAGE
        | rq::CHANGE_MESSAGE_INVISIBLETIME
        | rq::NOTIFICATION
        | rq::POLLING_INFO
        | rq::RECALL_MESSAGE => Resources,
        rq::UPDATE_AND_CREATE_TOPIC
        | rq::UPDATE_AND_CREATE_TOPIC_LIST
        | rq::UPDATE_BROKER_CONFIG
        | rq::DELETE_TOPIC_IN_BROKER
        | rq::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
        | rq::DELETE_SUBSCRIPTIONGROUP
        | rq::INVOKE_BROKER_TO_RESET_OFFSET
        | crate::UPDATE_AND_CREATE_ACL_CONFIG
        | crate::DELETE_ACL_CONFIG
        | crate::GET_BROKER_CLUSTER_ACL_INFO
        | crate::UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
        | crate::GET_BROKER_CLUSTER_ACL_CONFIG
        | rq::SET_MESSAGE_REQUEST_MODE => Admin,
        // RocketMQ checks only the signature of these.
        rq::SEND_REPLY_MESSAGE
        | rq::SEND_REPLY_MESSAGE_V2
        | rq::END_TRANSACTION
        | rq::CHECK_CLIENT_CONFIG
        | rq::VIEW_MESSAGE_BY_ID
        | rq::LOCK_BATCH_MQ
        | rq::UNLOCK_BATCH_MQ
        | rq::GET_ALL_TOPIC_CONFIG
        | rq::GET_TOPIC_CONFIG
        | rq::GET_ALL_SUBSCRIPTIONGROUP_CONFIG
        | rq::GET_BROKER_RUNTIME_INFO
        | rq::GET_BROKER_CONFIG
        | rq::GET_TOPIC_STATS_INFO
        | rq::GET_CONSUME_STATS
        | rq::GET_CONSUMER_CONNECTION_LIST
        | rq::GET_PRODUCER_CONNECTION_LIST
        | rq::QUERY_TOPIC_CONSUME_BY_WHO
        | rq::QUERY_TOPICS_BY_CONSUMER
        | rq::GET_MAX_OFFSET
        | rq::GET_MIN_OFFSET
        | rq::SEARCH_OFFSET_BY_TIMESTAMP
        | rq::GET_EARLIEST_MSG_STORETIME
        | rq::GET_BROKER_HA_STATUS
        | rq::GET_ALL_CONSUMER_OFFSET
        | rq::GET_ALL_DELAY_OFFSET
        // forwarded to the consumer, which answers them
        | rq::GET_CONSUMER_RUNNING_INFO
        | rq::CONSUME_MESSAGE_DIRECTLY
        // the acks of a batch name their topics and groups in the body
        | rq::BATCH_ACK_MESSAGE
        | rq::QUERY_ASSIGNMENT => Signed,
        _ => return None,
    };
    Some(decision)
}

/// The name server's decision for `code`, `None` when the table has no entry.
pub fn namesrv_decision(code: i32) -> Option<AclDecision> {
    use AclDecision::*;
    let decision = match code {
        rq::PUT_KV_CONFIG
        | rq::DELETE_KV_CONFIG
        | rq::REGISTER_BROKER
        | rq::UNREGISTER_BROKER
        | rq::REGISTER_TOPIC_IN_NAMESRV
        | rq::DELETE_TOPIC_IN_NAMESRV
        | rq::WIPE_WRITE_PERM_OF_BROKER
        | rq::ADD_WRITE_PERM_OF_BROKER
        | rq::UPDATE_NAMESRV_CONFIG => Admin,
        rq::GET_KV_CONFIG
        | rq::GET_KVLIST_BY_NAMESPACE
        | rq::QUERY_DATA_VERSION
        | rq::BROKER_HEARTBEAT
        | GET_BROKER_MEMBER_GROUP
        | rq::GET_ROUTEINFO_BY_TOPIC
        | rq::GET_BROKER_CLUSTER_INFO
        | rq::GET_ALL_TOPIC_LIST_FROM_NAMESERVER
        | rq::GET_TOPICS_BY_CLUSTER
        | rq::GET_SYSTEM_TOPIC_LIST_FROM_NS
        | rq::GET_UNIT_TOPIC_LIST
        | rq::GET_HAS_UNIT_SUB_TOPIC_LIST
        | rq::GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST
        | rq::GET_NAMESRV_CONFIG => Open,
        _ => return None,
    };
    Some(decision)
}

/// True when the name server checks `code` (everything not [`AclDecision::Open`], so a code
/// missing from the table is checked too).
pub fn namesrv_code_needs_check(code: i32) -> bool {
    namesrv_decision(code) != Some(AclDecision::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocketmq_admin_codes_are_admin_on_the_broker() {
        // Permission.ADMIN_CODE of RocketMQ 4.9.8 and 5.x
        for code in [17, 25, 215, 200, 207] {
            assert_eq!(broker_decision(code), Some(AclDecision::Admin), "{code}");
        }
    }

    #[test]
    fn resource_codes_name_their_resources() {
        use ferrocket_protocol::RemotingCommand;
        for code in 0..=400_000 {
            if broker_decision(code) != Some(AclDecision::Resources) || code == rq::HEART_BEAT {
                continue;
            }
            let mut r = RemotingCommand::request(code);
            for field in ["topic", "b", "a", "group", "consumerGroup", "originTopic"] {
                r.ext_fields.insert(field, "x");
            }
            assert!(
                !crate::resource::needed_resources(&r).unwrap().is_empty(),
                "code {code} is Resources but names nothing"
            );
        }
    }
}
