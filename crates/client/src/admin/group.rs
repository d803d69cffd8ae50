//! Consumer and producer group calls: subscription groups, consume progress, connections.

use super::body::decode;
use ferrocket_protocol::body::encode;
use ferrocket_protocol::code::request;
use ferrocket_protocol::RemotingCommand;

use super::body::{
    ConsumeMessageDirectlyResult, ConsumeStats, ConsumerConnection, ConsumerRunningInfo,
    ProducerConnection, SubscriptionGroupConfig,
};
use super::MQAdminExt;
use crate::error::{ClientError, Result};

impl MQAdminExt {
    /// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200) on the broker at `addr`.
    pub async fn create_and_update_subscription_group_config(
        &self,
        addr: &str,
        config: &SubscriptionGroupConfig,
    ) -> Result<()> {
        let req = RemotingCommand::request(request::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP)
            .with_body(encode(config));
        self.call_broker(addr, req).await?;
        Ok(())
    }

    /// DELETE_SUBSCRIPTIONGROUP (207) on the broker at `addr`.
    pub async fn delete_subscription_group(
        &self,
        addr: &str,
        group: &str,
        remove_offset: bool,
    ) -> Result<()> {
        let req = RemotingCommand::request(request::DELETE_SUBSCRIPTIONGROUP)
            .with_ext("groupName", group)
            .with_ext("cleanOffset", remove_offset.to_string());
        self.call_broker(addr, req).await?;
        Ok(())
    }

    /// GET_CONSUME_STATS (208) on every master of the cluster(s), merged; `topic` narrows it.
    pub async fn examine_consume_stats(
        &self,
        cluster: Option<&str>,
        group: &str,
        topic: Option<&str>,
    ) -> Result<ConsumeStats> {
        let mut merged = ConsumeStats::default();
        for addr in self.master_addrs(cluster).await? {
            let mut req = RemotingCommand::request(request::GET_CONSUME_STATS)
                .with_ext("consumerGroup", group);
            if let Some(t) = topic {
                req = req.with_ext("topic", t);
            }
            let resp = self.call_broker(&addr, req).await?;
            let s: ConsumeStats = decode(&resp.body)?;
            merged.offset_table.extend(s.offset_table);
            merged.consume_tps += s.consume_tps;
        }
        Ok(merged)
    }

    /// GET_CONSUMER_CONNECTION_LIST (203): the first broker that knows the group online answers.
    pub async fn examine_consumer_connection_info(
        &self,
        group: &str,
        broker_addr: Option<&str>,
    ) -> Result<ConsumerConnection> {
        let addrs = match broker_addr {
            Some(a) => [a.to_string()].into(),
            None => self.master_addrs(None).await?,
        };
        let mut last = None;
        for addr in addrs {
            let req = RemotingCommand::request(request::GET_CONSUMER_CONNECTION_LIST)
                .with_ext("consumerGroup", group);
            match self.call_broker(&addr, req).await {
                Ok(resp) => return Ok(decode(&resp.body)?),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(ClientError::BrokerNotFound("any".into())))
    }

    /// GET_CONSUMER_RUNNING_INFO (307): the broker `client_id` of `group` is connected to
    /// asks it for its running info (with its thread dump when `jstack`). Every master is
    /// tried until one knows the client.
    pub async fn get_consumer_running_info(
        &self,
        group: &str,
        client_id: &str,
        jstack: bool,
    ) -> Result<ConsumerRunningInfo> {
        let mut last = None;
        for addr in self.master_addrs(None).await? {
            let req = RemotingCommand::request(request::GET_CONSUMER_RUNNING_INFO)
                .with_ext("consumerGroup", group)
                .with_ext("clientId", client_id)
                .with_ext("jstackEnable", jstack.to_string());
            match self.call_broker(&addr, req).await {
                Ok(resp) => return Ok(decode(&resp.body)?),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(ClientError::BrokerNotFound("any".into())))
    }

    /// CONSUME_MESSAGE_DIRECTLY (309): the broker storing `msg_id` hands the message to
    /// `client_id` of `group`, which consumes it now and says how it went.
    pub async fn consume_message_directly(
        &self,
        group: &str,
        client_id: &str,
        topic: &str,
        msg_id: &str,
    ) -> Result<ConsumeMessageDirectlyResult> {
        let message = self.view_message(msg_id).await?;
        let addr = message.store_host.to_string();
        let req = RemotingCommand::request(request::CONSUME_MESSAGE_DIRECTLY)
            .with_ext("consumerGroup", group)
            .with_ext("clientId", client_id)
            .with_ext("msgId", msg_id)
            .with_ext("topic", topic);
        let resp = self.call_broker(&addr, req).await?;
        Ok(decode(&resp.body)?)
    }

    /// GET_PRODUCER_CONNECTION_LIST (204) on the masters serving `topic`, merged.
    pub async fn examine_producer_connection_info(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<ProducerConnection> {
        let route = self.examine_topic_route_info(topic).await?;
        let mut merged = ProducerConnection::default();
        let mut last = None;
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let req = RemotingCommand::request(request::GET_PRODUCER_CONNECTION_LIST)
                .with_ext("producerGroup", group);
            match self.call_broker(addr, req).await {
                Ok(resp) => {
                    let p: ProducerConnection = decode(&resp.body)?;
                    merged.connection_set.extend(p.connection_set);
                }
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) if merged.connection_set.is_empty() => Err(e),
            _ => Ok(merged),
        }
    }
}
