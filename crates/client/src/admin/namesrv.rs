//! Name-server calls: cluster info, topic list, routes, broker write permission, topic removal.

use ferrocket_protocol::body::decode;
use ferrocket_protocol::body::route::{ClusterInfo, TopicRouteData};
use ferrocket_protocol::body::topic::TopicList;
use ferrocket_protocol::code::request;
use ferrocket_protocol::RemotingCommand;

use super::MQAdminExt;
use crate::error::{ClientError, Result};

impl MQAdminExt {
    /// GET_BROKER_CLUSTER_INFO (106).
    pub async fn examine_broker_cluster_info(&self) -> Result<ClusterInfo> {
        let resp = self
            .call_namesrv(
                None,
                RemotingCommand::request(request::GET_BROKER_CLUSTER_INFO),
            )
            .await?;
        Ok(decode(&resp.body)?)
    }

    /// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206).
    pub async fn fetch_all_topic_list(&self) -> Result<TopicList> {
        let req = RemotingCommand::request(request::GET_ALL_TOPIC_LIST_FROM_NAMESERVER);
        let resp = self.call_namesrv(None, req).await?;
        Ok(decode(&resp.body)?)
    }

    /// GET_ROUTEINFO_BY_TOPIC (105); a topic without route is [`ClientError::NoRoute`].
    pub async fn examine_topic_route_info(&self, topic: &str) -> Result<TopicRouteData> {
        self.api
            .get_topic_route(topic, self.timeout)
            .await?
            .ok_or_else(|| ClientError::NoRoute(topic.to_string()))
    }

    /// WIPE_WRITE_PERM_OF_BROKER (205) on one name server; returns how many topics changed.
    pub async fn wipe_write_perm_of_broker(&self, namesrv: &str, broker_name: &str) -> Result<i32> {
        let req = RemotingCommand::request(request::WIPE_WRITE_PERM_OF_BROKER)
            .with_ext("brokerName", broker_name);
        let resp = self.call_namesrv(Some(namesrv), req).await?;
        count_field(&resp, "wipeTopicCount")
    }

    /// ADD_WRITE_PERM_OF_BROKER (327) on one name server; returns how many topics changed.
    pub async fn add_write_perm_of_broker(&self, namesrv: &str, broker_name: &str) -> Result<i32> {
        let req = RemotingCommand::request(request::ADD_WRITE_PERM_OF_BROKER)
            .with_ext("brokerName", broker_name);
        let resp = self.call_namesrv(Some(namesrv), req).await?;
        count_field(&resp, "addTopicCount")
    }

    /// DELETE_TOPIC_IN_NAMESRV (216) on every configured name server.
    pub async fn delete_topic_in_namesrv(&self, topic: &str, cluster: Option<&str>) -> Result<()> {
        for addr in self.namesrv_addrs().to_vec() {
            let mut req =
                RemotingCommand::request(request::DELETE_TOPIC_IN_NAMESRV).with_ext("topic", topic);
            if let Some(c) = cluster {
                req = req.with_ext("clusterName", c);
            }
            self.call_namesrv(Some(&addr), req).await?;
        }
        Ok(())
    }
}

fn count_field(resp: &RemotingCommand, name: &str) -> Result<i32> {
    resp.ext(name)
        .unwrap_or("0")
        .parse()
        .map_err(|_| ClientError::BadResponse(format!("{name} is not a number")))
}
