//! Transaction headers: END_TRANSACTION (37, producer → broker) and CHECK_TRANSACTION_STATE
//! (39, broker → producer); and RECALL_MESSAGE (370), which withdraws a timer message.

use super::command_custom_header::command_header;

command_header! {
    /// `EndTransactionRequestHeader`.
    pub struct EndTransactionRequestHeader {
        /// Real topic, informational.
        topic: Option<String> = "topic",
        /// Must equal the half message's PGROUP.
        producer_group: String = "producerGroup",
        /// Queue offset of the half message.
        tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Commit-log offset of the half message.
        commit_log_offset: i64 = "commitLogOffset",
        /// 0 unknown, 8 commit, 12 rollback.
        commit_or_rollback: i32 = "commitOrRollback",
        /// True when answering CHECK_TRANSACTION_STATE.
        from_transaction_check: bool = "fromTransactionCheck" or false,
        /// The message's UNIQ_KEY.
        msg_id: String = "msgId",
        /// Transaction id.
        transaction_id: Option<String> = "transactionId",
    }
}

command_header! {
    /// `CheckTransactionStateRequestHeader`.
    pub struct CheckTransactionStateRequestHeader {
        /// Real topic of the half message.
        topic: Option<String> = "topic",
        /// Queue offset of the half message.
        tran_state_table_offset: i64 = "tranStateTableOffset",
        /// Commit-log offset of the half message.
        commit_log_offset: i64 = "commitLogOffset",
        /// The message's UNIQ_KEY.
        msg_id: Option<String> = "msgId",
        /// Transaction id.
        transaction_id: Option<String> = "transactionId",
        /// Offset message id of the half message.
        offset_msg_id: Option<String> = "offsetMsgId",
        /// Broker name.
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// `RecallMessageRequestHeader` (RECALL_MESSAGE, RocketMQ 5.3.2+).
    pub struct RecallMessageRequestHeader {
        /// The producer's group, informational.
        producer_group: Option<String> = "producerGroup",
        /// The topic the timer message was sent to; must be the handle's.
        topic: String = "topic",
        /// The handle the send returned.
        recall_handle: String = "recallHandle",
        /// Broker name, as every 5.x RPC header carries it.
        broker_name: Option<String> = "bname",
    }
}

command_header! {
    /// `RecallMessageResponseHeader`.
    pub struct RecallMessageResponseHeader {
        /// UNIQ_KEY of the recalled message.
        msg_id: String = "msgId",
    }
}
