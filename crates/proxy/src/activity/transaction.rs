//! `EndTransactionActivity`: EndTransaction. The client names its transaction by topic,
//! message id and transaction id; the half message's offsets come from the
//! [`TransactionDataManager`] and the broker's `TransactionService` commits or rolls it back,
//! the same service END_TRANSACTION uses on the remoting port.

use ferrocket_protocol::header::transaction::EndTransactionRequestHeader;
use ferrocket_protocol::message::sys_flag;

use crate::activity::validator;
use crate::status::{code_of_remoting, ProxyError, ProxyResult};
use crate::transaction::TransactionDataManager;
use crate::v2::{Code, EndTransactionRequest, TransactionResolution, TransactionSource};
use crate::view::ProxyBrokerView;

/// EndTransaction: INVALID_TRANSACTION_ID without a transaction id or when this server holds
/// no open transaction of that id for the topic's producer group (the broker's check-back then
/// asks the producer again); a resolution other than COMMIT or ROLLBACK changes nothing.
pub async fn end_transaction(
    broker: &ProxyBrokerView,
    transactions: &TransactionDataManager,
    request: EndTransactionRequest,
) -> ProxyResult<()> {
    let topic = validator::validate_topic(request.topic.as_ref(), broker)?;
    if request.transaction_id.trim().is_empty() {
        return Err(ProxyError::new(
            Code::InvalidTransactionId,
            "transaction id cannot be empty",
        ));
    }
    let commit_or_rollback = match TransactionResolution::try_from(request.resolution) {
        Ok(TransactionResolution::Commit) => sys_flag::TRANSACTION_COMMIT,
        Ok(TransactionResolution::Rollback) => sys_flag::TRANSACTION_ROLLBACK,
        _ => return Ok(()),
    };
    // a v5 producer's group is the topic it sends to
    let group = topic.as_str();
    let Some(data) = transactions.poll(group, &request.transaction_id) else {
        return Err(ProxyError::new(
            Code::InvalidTransactionId,
            format!(
                "no open transaction {} of producer group {group}",
                request.transaction_id
            ),
        ));
    };
    let header = EndTransactionRequestHeader {
        topic: Some(topic.clone()),
        producer_group: group.to_string(),
        tran_state_table_offset: data.tran_state_table_offset,
        commit_log_offset: data.commit_log_offset,
        commit_or_rollback,
        from_transaction_check: request.source == TransactionSource::SourceServerCheck as i32,
        msg_id: request.message_id.clone(),
        transaction_id: Some(request.transaction_id.clone()),
    };
    match broker.transactions.end_transaction(&header).await {
        Ok(_) => Ok(()),
        Err(e) => {
            transactions.restore(group, &request.transaction_id, data);
            Err(ProxyError::new(code_of_remoting(e.code), e.remark))
        }
    }
}
