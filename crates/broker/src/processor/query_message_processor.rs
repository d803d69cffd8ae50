//! `QueryMessageProcessor`: VIEW_MESSAGE_BY_ID (33) and QUERY_MESSAGE (12).
//!
//! QUERY_MESSAGE looks the key up in the store's index (`topic#key`, newest index files first)
//! and answers the stored records back to back. With the `_UNIQUE_KEY_QUERY` ext field set to
//! `true` (MQAdminImpl's `queryMessageByUniqKey`) `maxNum` becomes `defaultQueryMaxNum`.

use std::sync::Arc;

use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::query_message::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
    UNIQUE_KEY_QUERY,
};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{unsupported_request, Channel};

use super::decode_header;
use ferrocket_store::DefaultMessageStore;

/// Handles the query codes.
pub async fn process(
    store: &Arc<DefaultMessageStore>,
    _channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    match request.code {
        rq::VIEW_MESSAGE_BY_ID => view_message_by_id(store, request),
        rq::QUERY_MESSAGE => {
            let store = store.clone();
            // index lookups touch mapped pages that may have to be read in from disk
            tokio::task::spawn_blocking(move || query_message(&store, request))
                .await
                .unwrap_or(None)
        }
        _ => Some(unsupported_request(&request)),
    }
}

fn view_message_by_id(
    store: &Arc<DefaultMessageStore>,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, ViewMessageRequestHeader);
    match store.look_message_by_offset(h.offset) {
        Some(record) => {
            let mut r = RemotingCommand::response_to(&request, response::SUCCESS);
            r.body_tail = vec![record];
            Some(r)
        }
        None => Some(RemotingCommand::error_to(
            &request,
            response::SYSTEM_ERROR,
            format!("can not find message by the offset, {}", h.offset),
        )),
    }
}

fn query_message(
    store: &Arc<DefaultMessageStore>,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = decode_header!(request, QueryMessageRequestHeader);
    let unique = request.ext_bool(UNIQUE_KEY_QUERY).unwrap_or(false);
    let max_num = if unique {
        store.config().default_query_max_num
    } else {
        h.max_num
    }
    .max(0) as usize;
    let result = store.query_message(
        &h.topic,
        &h.key,
        max_num,
        h.begin_timestamp,
        h.end_timestamp,
    );
    let header = QueryMessageResponseHeader {
        index_last_update_timestamp: result.index_last_update_timestamp,
        index_last_update_phyoffset: result.index_last_update_phyoffset,
    };
    let mut r = if result.messages.is_empty() {
        RemotingCommand::error_to(
            &request,
            response::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        )
    } else {
        let mut r = RemotingCommand::response_to(&request, response::SUCCESS);
        r.body_tail = result.messages;
        r
    };
    header.write_to(&mut r);
    Some(r)
}
