//! Every typed header read from arbitrary `extFields` (one `key=value` per input line):
//! a missing or malformed field is an error, never a panic, and a header that decodes
//! re-encodes into fields that decode again.
#![no_main]

use ferrocket_protocol::header::{
    admin, client, consumer_offset, consumer_send_msg_back, pull_message, query_message,
    queue_offset, register_broker, send_message, transaction, CommandCustomHeader,
};
use ferrocket_protocol::RemotingCommand;
use libfuzzer_sys::fuzz_target;

fn round_trip<H: CommandCustomHeader>(cmd: &RemotingCommand, name: &str) {
    if let Ok(h) = H::decode(cmd) {
        let mut again = RemotingCommand::request(cmd.code);
        h.write_to(&mut again);
        if let Err(e) = H::decode(&again) {
            panic!("{name} does not decode its own encoding: {e}");
        }
    }
}

macro_rules! each_header {
    ($cmd:expr; $($t:ty),* $(,)?) => {$(
        round_trip::<$t>($cmd, stringify!($t));
    )*};
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let code = lines
        .next()
        .and_then(|l| l.trim().parse::<i32>().ok())
        .unwrap_or(10);
    let mut cmd = RemotingCommand::request(code);
    for line in lines {
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        cmd.ext_fields.insert(k.to_owned(), v);
    }
    let _ = send_message::SendMessageRequestHeader::decode_for_code(&cmd);
    let _ = send_message::SendMessageRequestHeader::decode_v2(&cmd);
    each_header!(&cmd;
        admin::CreateTopicRequestHeader,
        admin::DeleteTopicRequestHeader,
        admin::GetTopicConfigRequestHeader,
        admin::GetAllTopicConfigResponseHeader,
        admin::DeleteSubscriptionGroupRequestHeader,
        admin::GetConsumeStatsRequestHeader,
        admin::GetTopicStatsInfoRequestHeader,
        admin::GetConsumerConnectionListRequestHeader,
        admin::GetProducerConnectionListRequestHeader,
        client::UnregisterClientRequestHeader,
        client::GetConsumerListByGroupRequestHeader,
        client::NotifyConsumerIdsChangedRequestHeader,
        client::HeartbeatRequestHeader,
        consumer_offset::QueryConsumerOffsetRequestHeader,
        consumer_offset::QueryConsumerOffsetResponseHeader,
        consumer_offset::UpdateConsumerOffsetRequestHeader,
        consumer_send_msg_back::ConsumerSendMsgBackRequestHeader,
        pull_message::PullMessageRequestHeader,
        pull_message::PullMessageResponseHeader,
        query_message::ViewMessageRequestHeader,
        query_message::QueryMessageRequestHeader,
        query_message::QueryMessageResponseHeader,
        queue_offset::GetMaxOffsetRequestHeader,
        queue_offset::GetMaxOffsetResponseHeader,
        queue_offset::GetMinOffsetRequestHeader,
        queue_offset::GetMinOffsetResponseHeader,
        queue_offset::SearchOffsetRequestHeader,
        queue_offset::SearchOffsetResponseHeader,
        queue_offset::GetEarliestMsgStoretimeRequestHeader,
        queue_offset::GetEarliestMsgStoretimeResponseHeader,
        register_broker::RegisterBrokerRequestHeader,
        register_broker::RegisterBrokerResponseHeader,
        register_broker::UnRegisterBrokerRequestHeader,
        send_message::SendMessageRequestHeader,
        send_message::SendMessageResponseHeader,
        transaction::EndTransactionRequestHeader,
        transaction::CheckTransactionStateRequestHeader,
    );
});
