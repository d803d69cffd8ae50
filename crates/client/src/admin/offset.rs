//! Consumer offset resets (INVOKE_BROKER_TO_RESET_OFFSET).

use std::collections::BTreeMap;

use super::body::decode;
use ferrocket_protocol::body::queue::MessageQueue;
use ferrocket_protocol::code::request;
use ferrocket_protocol::RemotingCommand;

use super::body::ResetOffsetBody;
use super::MQAdminExt;
use crate::error::Result;

impl MQAdminExt {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) on every master serving `topic`: moves `group` to the
    /// first message stored at or after `timestamp` (-1: the end of each queue). Online members
    /// are told by their broker. A group with no member online fails with CONSUMER_NOT_ONLINE
    /// (206), as in RocketMQ.
    pub async fn reset_offset_by_timestamp(
        &self,
        topic: &str,
        group: &str,
        timestamp: i64,
        force: bool,
    ) -> Result<BTreeMap<MessageQueue, i64>> {
        let route = self.examine_topic_route_info(topic).await?;
        let mut merged = BTreeMap::new();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let req = RemotingCommand::request(request::INVOKE_BROKER_TO_RESET_OFFSET)
                .with_ext("topic", topic)
                .with_ext("group", group)
                .with_ext("timestamp", timestamp.to_string())
                .with_ext("isForce", force.to_string());
            let resp = self.call_broker(addr, req).await?;
            if !resp.body.is_empty() {
                let body: ResetOffsetBody = decode(&resp.body)?;
                merged.extend(body.offset_table);
            }
        }
        Ok(merged)
    }
}

impl MQAdminExt {
    /// INVOKE_BROKER_TO_RESET_OFFSET (222) for one queue of the broker at `addr`, to `offset`.
    pub async fn reset_offset_by_queue_id(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<()> {
        let req = RemotingCommand::request(request::INVOKE_BROKER_TO_RESET_OFFSET)
            .with_ext("topic", topic)
            .with_ext("group", group)
            .with_ext("timestamp", "0")
            .with_ext("isForce", "true")
            .with_ext("queueId", queue_id.to_string())
            .with_ext("offset", offset.to_string());
        self.call_broker(addr, req).await?;
        Ok(())
    }
}
