//! `EndTransactionProcessor`: END_TRANSACTION (37) commits or rolls back a half message through
//! the broker's [`TransactionService`].

use ferrocket_protocol::code::response;
use ferrocket_protocol::header::transaction::EndTransactionRequestHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::decode_header;
use super::error;
use crate::service::transaction_service::{TransactionResolution, TransactionService};

/// Handles END_TRANSACTION. Java clients send it one-way, so the reply is usually dropped.
pub async fn process(
    service: &TransactionService,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, EndTransactionRequestHeader);
    match service.end_transaction(&h).await {
        Ok(TransactionResolution::Unknown) => {
            tracing::debug!(producer = %channel.remote_addr(), msg_id = %h.msg_id, "transaction still unknown");
            None
        }
        Ok(_) => Some(RemotingCommand::response_to(&request, response::SUCCESS)),
        Err(e) => error(&request, e.code, e.remark),
    }
}
