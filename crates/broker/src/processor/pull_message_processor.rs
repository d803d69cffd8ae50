//! `PullMessageProcessor`: PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361), with long polling.
//!
//! A thin adapter: decodes the header, lets the [`PullService`] validate, read (holding the pull
//! while nothing is available) and answer, and encodes the answer as RocketMQ's pull response.

use ferrocket_protocol::header::pull_message::PullMessageRequestHeader;
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::Channel;

use super::header_error;
use crate::service::pull_service::{refusal_header, PullResponse, PullService};

/// Handles a pull.
pub async fn process(
    pull: &PullService,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let h = match PullMessageRequestHeader::decode(&request) {
        Ok(h) => h,
        Err(e) => {
            // even a refusal carries the four offsets every pull response must have
            let mut r = header_error(&request, e);
            refusal_header(0, None).write_to(&mut r);
            return Some(r);
        }
    };
    let answer = pull.pull_message(&h, channel.remote_addr()).await;
    Some(pull_response(&request, answer))
}

fn pull_response(request: &RemotingCommand, answer: PullResponse) -> RemotingCommand {
    let mut r = RemotingCommand::response_to(request, answer.code);
    answer.header.write_to(&mut r);
    if let Some(remark) = answer.remark {
        r = r.with_remark(remark);
    }
    // the records go out as slices of the mapped files, never joined into one buffer
    r.body_tail = answer.messages;
    r
}
