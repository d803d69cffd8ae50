//! Message property names (RocketMQ `MessageConst`).

/// Business keys, separated by [`KEY_SEPARATOR`].
pub const KEYS: &str = "KEYS";
/// The message tag; its Java hash is the consume-queue tags code.
pub const TAGS: &str = "TAGS";
/// "false" when the producer does not wait for flush/replication.
pub const WAIT: &str = "WAIT";
/// Delay level 1..18.
pub const DELAY: &str = "DELAY";
/// Original topic of a message living in a retry topic.
pub const RETRY_TOPIC: &str = "RETRY_TOPIC";
/// Original topic while parked in a system topic.
pub const REAL_TOPIC: &str = "REAL_TOPIC";
/// Original queue id while parked in a system topic.
pub const REAL_QID: &str = "REAL_QID";
/// "true" for transactional half messages.
pub const TRAN_MSG: &str = "TRAN_MSG";
/// Producer group of a transactional message.
pub const PGROUP: &str = "PGROUP";
/// Queue min offset, set by the client on pulled messages.
pub const MIN_OFFSET: &str = "MIN_OFFSET";
/// Queue max offset, set by the client on pulled messages.
pub const MAX_OFFSET: &str = "MAX_OFFSET";
/// Buyer id (legacy).
pub const BUYER_ID: &str = "BUYER_ID";
/// Offset msgId of the first delivery, kept across retries.
pub const ORIGIN_MESSAGE_ID: &str = "ORIGIN_MESSAGE_ID";
/// Legacy transfer flag.
pub const TRANSFER_FLAG: &str = "TRANSFER_FLAG";
/// Legacy correction flag.
pub const CORRECTION_FLAG: &str = "CORRECTION_FLAG";
/// Legacy MQ2 flag.
pub const MQ2_FLAG: &str = "MQ2_FLAG";
/// Reconsume count carried by a client-side resend.
pub const RECONSUME_TIME: &str = "RECONSUME_TIME";
/// Broker region.
pub const MSG_REGION: &str = "MSG_REGION";
/// Trace switch, "true"/"false".
pub const TRACE_ON: &str = "TRACE_ON";
/// Client-generated unique message id.
pub const UNIQ_KEY: &str = "UNIQ_KEY";
/// Extended unique info.
pub const EXTEND_UNIQ_INFO: &str = "EXTEND_UNIQ_INFO";
/// Max reconsume times carried by a retry send.
pub const MAX_RECONSUME_TIMES: &str = "MAX_RECONSUME_TIMES";
/// Set client-side while consuming.
pub const CONSUME_START_TIME: &str = "CONSUME_START_TIME";
/// Inner-batch message count.
pub const INNER_NUM: &str = "INNER_NUM";
/// Inner-batch base offset.
pub const INNER_BASE: &str = "INNER_BASE";
/// Duplication info.
pub const DUP_INFO: &str = "DUP_INFO";
/// First transaction check-back not before this many seconds.
pub const CHECK_IMMUNITY_TIME_IN_SECONDS: &str = "CHECK_IMMUNITY_TIME_IN_SECONDS";
/// Queue offset of a half message.
pub const TRAN_PREPARED_QUEUE_OFFSET: &str = "TRAN_PREPARED_QUEUE_OFFSET";
/// Transaction id.
pub const TRANSACTION_ID: &str = "__transactionId__";
/// Transaction check-back counter.
pub const TRANSACTION_CHECK_TIMES: &str = "TRANSACTION_CHECK_TIMES";
/// Namespace instance id.
pub const INSTANCE_ID: &str = "INSTANCE_ID";
/// Request-reply correlation id.
pub const CORRELATION_ID: &str = "CORRELATION_ID";
/// Request-reply target client.
pub const REPLY_TO_CLIENT: &str = "REPLY_TO_CLIENT";
/// Request-reply time to live.
pub const TTL: &str = "TTL";
/// Request-reply arrive time.
pub const ARRIVE_TIME: &str = "ARRIVE_TIME";
/// Request-reply push time.
pub const PUSH_REPLY_TIME: &str = "PUSH_REPLY_TIME";
/// Message type (`reply`).
pub const MSG_TYPE: &str = "MSG_TYPE";
/// Broker cluster name.
pub const CLUSTER: &str = "CLUSTER";
/// POP checkpoint.
pub const POP_CK: &str = "POP_CK";
/// POP checkpoint offset.
pub const POP_CK_OFFSET: &str = "POP_CK_OFFSET";
/// First POP time.
pub const FIRST_POP_TIME: &str = "1ST_POP_TIME";
/// Sharding key.
pub const SHARDING_KEY: &str = "__SHARDINGKEY";
/// Forward queue id.
pub const FORWARD_QUEUE_ID: &str = "PROPERTY_FORWARD_QUEUE_ID";
/// Redirect flag.
pub const REDIRECT: &str = "REDIRECT";
/// Multi-dispatch queues.
pub const INNER_MULTI_DISPATCH: &str = "INNER_MULTI_DISPATCH";
/// Multi-dispatch queue offsets.
pub const INNER_MULTI_QUEUE_OFFSET: &str = "INNER_MULTI_QUEUE_OFFSET";
/// Trace context.
pub const TRACE_CONTEXT: &str = "TRACE_CONTEXT";
/// Timer: delay in seconds.
pub const TIMER_DELAY_SEC: &str = "TIMER_DELAY_SEC";
/// Timer: delivery time in ms.
pub const TIMER_DELIVER_MS: &str = "TIMER_DELIVER_MS";
/// Timer: delay in ms.
pub const TIMER_DELAY_MS: &str = "TIMER_DELAY_MS";
/// Timer: enqueue time.
pub const TIMER_ENQUEUE_MS: &str = "TIMER_ENQUEUE_MS";
/// Timer: dequeue time.
pub const TIMER_DEQUEUE_MS: &str = "TIMER_DEQUEUE_MS";
/// Timer: roll count.
pub const TIMER_ROLL_TIMES: &str = "TIMER_ROLL_TIMES";
/// Timer: out time.
pub const TIMER_OUT_MS: &str = "TIMER_OUT_MS";
/// Timer: unique key of a deleted timer message.
pub const TIMER_DEL_UNIQKEY: &str = "TIMER_DEL_UNIQKEY";
/// Timer: delay level.
pub const TIMER_DELAY_LEVEL: &str = "TIMER_DELAY_LEVEL";
/// Born host (5.x).
pub const BORN_HOST: &str = "__BORNHOST";
/// Born timestamp (5.x).
pub const BORN_TIMESTAMP: &str = "BORN_TIMESTAMP";
/// Optional properties CRC appended by a 5.x store.
pub const CRC32: &str = "__CRC32#";
/// Original topic of a dead-letter message.
pub const DLQ_ORIGIN_TOPIC: &str = "DLQ_ORIGIN_TOPIC";
/// Original message id of a dead-letter message.
pub const DLQ_ORIGIN_MESSAGE_ID: &str = "DLQ_ORIGIN_MESSAGE_ID";
/// Legacy timed delivery.
pub const START_DELIVER_TIME: &str = "__STARTDELIVERTIME";
/// Prefix of properties that are never persisted.
pub const TRANSIENT_PREFIX: &str = "__RMQ.TRANSIENT.";

/// Separator between several keys in [`KEYS`].
pub const KEY_SEPARATOR: &str = " ";
/// Separator between a property name and its value.
pub const NAME_VALUE_SEPARATOR: char = '\u{1}';
/// Terminator of each property.
pub const PROPERTY_SEPARATOR: char = '\u{2}';
