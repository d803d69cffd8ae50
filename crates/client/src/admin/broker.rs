//! Broker settings and runtime statistics.

use std::collections::BTreeMap;

use ferrocket_protocol::body::decode;
use ferrocket_protocol::body::ha_runtime_info::HARuntimeInfo;
use ferrocket_protocol::body::topic::KvTable;
use ferrocket_protocol::code::request;
use ferrocket_protocol::RemotingCommand;

use super::MQAdminExt;
use crate::error::Result;

impl MQAdminExt {
    /// GET_BROKER_HA_STATUS (907, RocketMQ 5.x): a master's slave connections or a slave's
    /// HA client.
    pub async fn get_broker_ha_status(&self, addr: &str) -> Result<HARuntimeInfo> {
        let resp = self
            .call_broker(
                addr,
                RemotingCommand::request(request::GET_BROKER_HA_STATUS),
            )
            .await?;
        Ok(decode(&resp.body)?)
    }

    /// GET_BROKER_RUNTIME_INFO (28).
    pub async fn fetch_broker_runtime_stats(&self, addr: &str) -> Result<KvTable> {
        let resp = self
            .call_broker(
                addr,
                RemotingCommand::request(request::GET_BROKER_RUNTIME_INFO),
            )
            .await?;
        Ok(decode(&resp.body)?)
    }

    /// GET_BROKER_CONFIG (26): the broker's settings as `key=value` lines, parsed.
    pub async fn get_broker_config(&self, addr: &str) -> Result<BTreeMap<String, String>> {
        let resp = self
            .call_broker(addr, RemotingCommand::request(request::GET_BROKER_CONFIG))
            .await?;
        Ok(parse_properties(&String::from_utf8_lossy(&resp.body)))
    }

    /// UPDATE_BROKER_CONFIG (25): the body is the changed settings as properties text.
    pub async fn update_broker_config(
        &self,
        addr: &str,
        settings: &BTreeMap<String, String>,
    ) -> Result<()> {
        let text: String = settings.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        let req =
            RemotingCommand::request(request::UPDATE_BROKER_CONFIG).with_body(text.into_bytes());
        self.call_broker(addr, req).await?;
        Ok(())
    }
}

/// Reads `key=value` lines (`MixAll.string2Properties` for the simple text brokers write).
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn properties_lines_parse() {
        let p = super::parse_properties("a=1\n# c\nb = x=y\n\n");
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "x=y");
        assert_eq!(p.len(), 2);
    }
}
