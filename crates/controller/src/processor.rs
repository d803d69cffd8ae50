//! `ControllerRequestProcessor`: the controller request codes, and the Raft RPCs of its peers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::{Channel, RequestProcessor};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::code::{request, response};
use crate::config::parse_properties;
use crate::controller::{on_broker_inactive, ControllerInner};
use crate::heartbeat::Heartbeat;
use crate::replicas_info_manager::{ControllerResult, ElectMasterRequest};

/// Answers requests on a controller's address.
pub struct ControllerRequestProcessor {
    inner: Arc<ControllerInner>,
}

impl ControllerRequestProcessor {
    pub fn new(inner: Arc<ControllerInner>) -> Self {
        ControllerRequestProcessor { inner }
    }
}

fn reply(req: &RemotingCommand, r: ControllerResult) -> RemotingCommand {
    let mut cmd = RemotingCommand::response_to(req, r.code);
    for (k, v) in r.header {
        cmd = cmd.with_ext(k, v);
    }
    if let Some(remark) = r.remark {
        cmd = cmd.with_remark(remark);
    }
    if let Some(body) = r.body {
        cmd = cmd.with_body(body);
    }
    cmd
}

fn invalid(req: &RemotingCommand, remark: impl Into<String>) -> RemotingCommand {
    RemotingCommand::error_to(req, response::CONTROLLER_INVALID_REQUEST, remark)
}

fn ext_string(req: &RemotingCommand, key: &str) -> String {
    req.ext(key).unwrap_or_default().to_string()
}

/// A Java `Long` broker id: absent or negative means none.
fn ext_broker_id(req: &RemotingCommand, key: &str) -> Option<u64> {
    req.ext(key)
        .and_then(|v| v.trim().parse::<i64>().ok())
        .and_then(|v| u64::try_from(v).ok())
}

fn ext_num<T: std::str::FromStr>(req: &RemotingCommand, key: &str) -> Option<T> {
    req.ext(key).and_then(|v| v.trim().parse().ok())
}

impl RequestProcessor for ControllerRequestProcessor {
    async fn process_request(
        &self,
        channel: Channel,
        req: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let inner = &self.inner;
        let resp = match req.code {
            request::RAFT_APPEND_ENTRIES => {
                raft_rpc(&req, |r| async move { inner.raft.append_entries(r).await }).await
            }
            request::RAFT_VOTE => raft_rpc(&req, |r| async move { inner.raft.vote(r).await }).await,
            request::RAFT_INSTALL_SNAPSHOT => {
                raft_rpc(
                    &req,
                    |r| async move { inner.raft.install_snapshot(r).await },
                )
                .await
            }
            request::LOCAL_REPLICAS_INFO => {
                let body = serde_json::to_vec(&*inner.state.read()).unwrap_or_default();
                RemotingCommand::response_to(&req, response::SUCCESS).with_body(body)
            }
            request::CONTROLLER_GET_METADATA_INFO => self.metadata(&req),
            request::BROKER_HEARTBEAT => self.heartbeat(&req, channel),
            request::GET_CONTROLLER_CONFIG => RemotingCommand::response_to(&req, response::SUCCESS)
                .with_body(inner.config.read().to_properties_text().into_bytes()),
            request::UPDATE_CONTROLLER_CONFIG => self.update_config(&req),
            _ => self.event(&req).await,
        };
        Some(resp)
    }

    fn on_channel_close(&self, channel: &Channel) {
        let gone = self.inner.heartbeat.on_channel_close(channel);
        if gone.is_empty() {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            for (_, name, id) in gone {
                on_broker_inactive(&inner, &name, id).await;
            }
        });
    }
}

/// Decodes a Raft RPC, runs it, and answers with the JSON of its result.
async fn raft_rpc<Req, Resp, E, F, Fut>(req: &RemotingCommand, call: F) -> RemotingCommand
where
    Req: DeserializeOwned,
    Resp: Serialize,
    E: Serialize,
    F: FnOnce(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Resp, E>>,
{
    let rpc: Req = match serde_json::from_slice(&req.full_body()) {
        Ok(r) => r,
        Err(e) => return invalid(req, format!("bad raft request: {e}")),
    };
    let result = call(rpc).await;
    match serde_json::to_vec(&result) {
        Ok(body) => RemotingCommand::response_to(req, response::SUCCESS).with_body(body),
        Err(e) => RemotingCommand::error_to(req, response::SYSTEM_ERROR, e.to_string()),
    }
}

impl ControllerRequestProcessor {
    /// CONTROLLER_GET_METADATA_INFO: group, leader id and address, whether this one leads, peers.
    fn metadata(&self, req: &RemotingCommand) -> RemotingCommand {
        let config = self.inner.config.read();
        let leader = self
            .inner
            .leader_id()
            .and_then(|id| config.peers.get(id as usize));
        let peers: String = config
            .peers
            .iter()
            .map(|p| format!("{}:{};", p.id, p.addr))
            .collect();
        let mut cmd = RemotingCommand::response_to(req, response::SUCCESS)
            .with_ext("group", &config.group)
            .with_ext("isLeader", self.inner.is_leader())
            .with_ext("peers", peers);
        if let Some(l) = leader {
            cmd = cmd
                .with_ext("controllerLeaderId", &l.id)
                .with_ext("controllerLeaderAddress", &l.addr);
        }
        cmd
    }

    fn heartbeat(&self, req: &RemotingCommand, channel: Channel) -> RemotingCommand {
        let Some(broker_id) = ext_broker_id(req, "brokerId") else {
            return invalid(req, "Heart beat with empty brokerId");
        };
        let hb = Heartbeat {
            broker_addr: ext_string(req, "brokerAddr"),
            heartbeat_timeout: ext_num::<u64>(req, "heartbeatTimeoutMills")
                .map(Duration::from_millis),
            epoch: ext_num(req, "epoch"),
            max_offset: ext_num(req, "maxOffset"),
            confirm_offset: ext_num(req, "confirmOffset"),
            election_priority: ext_num(req, "electionPriority"),
        };
        let id = (
            ext_string(req, "clusterName"),
            ext_string(req, "brokerName"),
            broker_id,
        );
        self.inner
            .heartbeat
            .on_broker_heartbeat(id, hb, Some(channel));
        RemotingCommand::response_to(req, response::SUCCESS).with_remark("Heart beat success")
    }

    /// UPDATE_CONTROLLER_CONFIG: `key=value` lines; black-listed keys are refused.
    fn update_config(&self, req: &RemotingCommand) -> RemotingCommand {
        let text = String::from_utf8_lossy(&req.full_body()).into_owned();
        let pairs = parse_properties(&text);
        let mut config = self.inner.config.write();
        let black = config.black_list();
        if pairs.iter().any(|(k, _)| black.contains(k)) {
            return RemotingCommand::error_to(
                req,
                response::NO_PERMISSION,
                "Can not update config in black list.",
            );
        }
        // The quorum's shape cannot change at run time.
        let fixed = [
            "controllerDLegerPeers",
            "controllerDLegerSelfId",
            "controllerDLegerGroup",
            "controllerStorePath",
        ];
        if let Some((k, _)) = pairs.iter().find(|(k, _)| fixed.contains(&k.as_str())) {
            return RemotingCommand::error_to(
                req,
                response::NO_PERMISSION,
                format!("{k} cannot be changed at run time"),
            );
        }
        match config.apply(&pairs) {
            Ok(()) => RemotingCommand::response_to(req, response::SUCCESS),
            Err(e) => RemotingCommand::error_to(req, response::SYSTEM_ERROR, e.to_string()),
        }
    }

    /// The codes that read or change the replicated state: answered by the leader only.
    async fn event(&self, req: &RemotingCommand) -> RemotingCommand {
        let inner = &self.inner;
        let cluster = ext_string(req, "clusterName");
        let name = ext_string(req, "brokerName");
        let result = match req.code {
            request::CONTROLLER_ALTER_SYNC_STATE_SET => {
                let body: serde_json::Value =
                    serde_json::from_slice(&req.full_body()).unwrap_or_default();
                let set: BTreeSet<u64> = body["syncStateSet"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
                    .unwrap_or_default();
                let set_epoch = body["syncStateSetEpoch"].as_i64().unwrap_or(-1) as i32;
                let master = ext_broker_id(req, "masterBrokerId");
                let master_epoch = ext_num(req, "masterEpoch").unwrap_or(-1);
                inner
                    .run_event(|s, alive| {
                        s.alter_sync_state_set(&name, master, master_epoch, &set, set_epoch, alive)
                    })
                    .await
            }
            request::CONTROLLER_ELECT_MASTER => return self.elect_master(req, cluster, name).await,
            request::CONTROLLER_REGISTER_BROKER => {
                let Some(id) = ext_broker_id(req, "brokerId") else {
                    return invalid(req, "brokerId is required");
                };
                let addr = ext_string(req, "brokerAddress");
                inner
                    .run_event(|s, alive| s.register_broker(&cluster, &name, id, &addr, alive))
                    .await
            }
            request::CONTROLLER_GET_REPLICA_INFO => {
                inner.run_event(|s, _| s.get_replica_info(&name)).await
            }
            request::CONTROLLER_GET_SYNC_STATE_DATA => {
                let names: Vec<String> =
                    serde_json::from_slice(&req.full_body()).unwrap_or_default();
                if names.is_empty() {
                    return RemotingCommand::response_to(req, response::SUCCESS);
                }
                inner
                    .run_event(|s, alive| s.get_sync_state_data(&names, alive))
                    .await
            }
            request::CLEAN_BROKER_DATA => {
                let ids = req.ext("brokerControllerIdsToClean").map(str::to_string);
                let living = req.ext_bool("isCleanLivingBroker").unwrap_or(false);
                inner
                    .run_event(|s, alive| {
                        s.clean_broker_data(&cluster, &name, ids.as_deref(), living, alive)
                    })
                    .await
            }
            request::CONTROLLER_GET_NEXT_BROKER_ID => {
                inner
                    .run_event(|s, _| s.get_next_broker_id(&cluster, &name))
                    .await
            }
            request::CONTROLLER_APPLY_BROKER_ID => {
                let Some(id) = ext_broker_id(req, "appliedBrokerId") else {
                    return invalid(req, "appliedBrokerId is required");
                };
                let code = ext_string(req, "registerCheckCode");
                inner
                    .run_event(|s, _| s.apply_broker_id(&cluster, &name, id, &code))
                    .await
            }
            other => {
                return RemotingCommand::error_to(
                    req,
                    response::REQUEST_CODE_NOT_SUPPORTED,
                    format!(" request type {other} not supported"),
                )
            }
        };
        reply(req, result)
    }

    async fn elect_master(
        &self,
        req: &RemotingCommand,
        cluster: String,
        name: String,
    ) -> RemotingCommand {
        let elect = ElectMasterRequest {
            cluster_name: cluster,
            broker_name: name.clone(),
            broker_id: ext_broker_id(req, "brokerId"),
            designate_elect: req.ext_bool("designateElect").unwrap_or(false),
        };
        let unclean = self.inner.config.read().enable_elect_unclean_master;
        let result = self
            .inner
            .run_event(|s, alive| s.elect_master(&elect, unclean, alive))
            .await;
        if result.code == response::SUCCESS {
            let inner = self.inner.clone();
            let elected = result.clone();
            tokio::spawn(async move { inner.notify_broker_role_changed(&name, &elected).await });
        }
        reply(req, result)
    }
}
