//! Topic calls on brokers: create/update, delete, statistics, consumers of a topic.

use super::body::decode;
use ferrocket_protocol::body::topic::TopicConfig;
use ferrocket_protocol::code::request;
use ferrocket_protocol::RemotingCommand;

use super::body::{GroupList, TopicStatsTable};
use super::MQAdminExt;
use crate::error::Result;

impl MQAdminExt {
    /// UPDATE_AND_CREATE_TOPIC (17) on the broker at `addr`.
    pub async fn create_and_update_topic_config(
        &self,
        addr: &str,
        config: &TopicConfig,
    ) -> Result<()> {
        let attributes: Vec<String> = config
            .attributes
            .iter()
            .map(|(k, v)| format!("+{k}={v}"))
            .collect();
        let req = RemotingCommand::request(request::UPDATE_AND_CREATE_TOPIC)
            .with_ext("topic", config.topic_name.as_str())
            .with_ext("defaultTopic", "TBW102")
            .with_ext("readQueueNums", config.read_queue_nums.to_string())
            .with_ext("writeQueueNums", config.write_queue_nums.to_string())
            .with_ext("perm", config.perm.to_string())
            .with_ext("topicFilterType", config.topic_filter_type.as_str())
            .with_ext("topicSysFlag", config.topic_sys_flag.to_string())
            .with_ext("order", config.order.to_string())
            .with_ext("attributes", attributes.join(","));
        self.call_broker(addr, req).await?;
        Ok(())
    }

    /// DELETE_TOPIC_IN_BROKER (215) on the broker at `addr`.
    pub async fn delete_topic_in_broker(&self, addr: &str, topic: &str) -> Result<()> {
        let req =
            RemotingCommand::request(request::DELETE_TOPIC_IN_BROKER).with_ext("topic", topic);
        self.call_broker(addr, req).await?;
        Ok(())
    }

    /// GET_TOPIC_CONFIG (351) on the broker at `addr`.
    pub async fn examine_topic_config(&self, addr: &str, topic: &str) -> Result<TopicConfig> {
        let req = RemotingCommand::request(request::GET_TOPIC_CONFIG).with_ext("topic", topic);
        let resp = self.call_broker(addr, req).await?;
        Ok(decode(&resp.body)?)
    }

    /// GET_TOPIC_STATS_INFO (202) on every master serving `topic`, merged.
    pub async fn examine_topic_stats(&self, topic: &str) -> Result<TopicStatsTable> {
        let route = self.examine_topic_route_info(topic).await?;
        let mut merged = TopicStatsTable::default();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let req =
                RemotingCommand::request(request::GET_TOPIC_STATS_INFO).with_ext("topic", topic);
            let resp = self.call_broker(addr, req).await?;
            let t: TopicStatsTable = decode(&resp.body)?;
            merged.offset_table.extend(t.offset_table);
            merged.topic_put_tps += t.topic_put_tps;
        }
        Ok(merged)
    }

    /// QUERY_TOPIC_CONSUME_BY_WHO (300) on every master serving `topic`, merged.
    pub async fn query_topic_consume_by_who(&self, topic: &str) -> Result<GroupList> {
        let route = self.examine_topic_route_info(topic).await?;
        let mut merged = GroupList::default();
        for b in &route.broker_datas {
            let Some(addr) = b.master_addr() else {
                continue;
            };
            let req = RemotingCommand::request(request::QUERY_TOPIC_CONSUME_BY_WHO)
                .with_ext("topic", topic);
            let resp = self.call_broker(addr, req).await?;
            let g: GroupList = decode(&resp.body)?;
            merged.group_list.extend(g.group_list);
        }
        Ok(merged)
    }
}
