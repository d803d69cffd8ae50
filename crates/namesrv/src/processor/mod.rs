//! `DefaultRequestProcessor`: answers every name-server request code.
//!
//! Handlers are grouped by who calls them: brokers (`broker_requests`), clients and admin tools
//! asking about routes (`route_requests`), KV config (`kv_requests`) and the server's own
//! settings (`config_requests`). Unknown codes get REQUEST_CODE_NOT_SUPPORTED (3).

mod broker_requests;
mod config_requests;
mod kv_requests;
mod route_requests;

use std::collections::HashMap;
use std::sync::Arc;

use ferrocket_acl::{with_caller, Authentication, Caller, PlainAccessValidator};
use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::{HeaderError, RemotingCommand};
use ferrocket_remoting::{unsupported_request, Channel, RequestProcessor};
use parking_lot::{Mutex, RwLock};

use crate::config::NamesrvConfig;
use crate::kv_config_manager::KvConfigManager;
use crate::route_info_manager::RouteInfoManager;

/// GET_BROKER_MEMBER_GROUP (`RequestCode.GET_BROKER_MEMBER_GROUP`).
pub const GET_BROKER_MEMBER_GROUP: i32 = 901;

/// Why a request could not be served; answered with SYSTEM_ERROR and this text as the remark.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RequestError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("{0}")]
    Body(String),
}

type HandlerResult = Result<RemotingCommand, RequestError>;

/// The name server's request processor.
pub struct DefaultRequestProcessor {
    config: RwLock<NamesrvConfig>,
    route_info_manager: Arc<RouteInfoManager>,
    kv_config_manager: Arc<KvConfigManager>,
    channels: Mutex<OpenChannels>,
    /// Checks the state-changing codes when ACL is on.
    acl: Option<Arc<PlainAccessValidator>>,
}

/// Connections currently open; once `closed`, new ones are closed as soon as they open.
#[derive(Default)]
struct OpenChannels {
    by_id: HashMap<u64, Channel>,
    closed: bool,
}

impl DefaultRequestProcessor {
    /// A processor over the given tables.
    pub fn new(
        config: NamesrvConfig,
        route_info_manager: Arc<RouteInfoManager>,
        kv_config_manager: Arc<KvConfigManager>,
    ) -> Self {
        route_info_manager.set_delete_topic_with_broker_registration(
            config.delete_topic_with_broker_registration,
        );
        DefaultRequestProcessor {
            config: RwLock::new(config),
            route_info_manager,
            kv_config_manager,
            channels: Mutex::new(OpenChannels::default()),
            acl: None,
        }
    }

    /// Refuses the state-changing codes (REGISTER_BROKER, UNREGISTER_BROKER, KV and config
    /// updates, ...) unless signed by an admin account of `acl`.
    pub fn set_acl_validator(&mut self, acl: Arc<PlainAccessValidator>) {
        self.acl = Some(acl);
    }

    /// The current settings (UPDATE_NAMESRV_CONFIG may change them at run time).
    pub fn config(&self) -> NamesrvConfig {
        self.config.read().clone()
    }

    /// The route tables.
    pub fn route_info_manager(&self) -> &Arc<RouteInfoManager> {
        &self.route_info_manager
    }

    /// The KV config.
    pub fn kv_config_manager(&self) -> &Arc<KvConfigManager> {
        &self.kv_config_manager
    }

    /// Closes every open connection, and any accepted from now on (used at shutdown).
    pub fn close_all_channels(&self) {
        let channels: Vec<Channel> = {
            let mut open = self.channels.lock();
            open.closed = true;
            open.by_id.drain().map(|(_, c)| c).collect()
        };
        for c in channels {
            c.close();
        }
    }

    /// Answers one request.
    pub fn handle(&self, channel: &Channel, req: &RemotingCommand) -> RemotingCommand {
        use request::*;
        let result = match req.code {
            PUT_KV_CONFIG => kv_requests::put_kv_config(self, req),
            GET_KV_CONFIG => kv_requests::get_kv_config(self, req),
            DELETE_KV_CONFIG => kv_requests::delete_kv_config(self, req),
            GET_KVLIST_BY_NAMESPACE => kv_requests::get_kv_list_by_namespace(self, req),
            REGISTER_BROKER => broker_requests::register_broker(self, channel, req),
            UNREGISTER_BROKER => broker_requests::unregister_broker(self, req),
            QUERY_DATA_VERSION => broker_requests::query_data_version(self, req),
            BROKER_HEARTBEAT => broker_requests::broker_heartbeat(self, req),
            GET_BROKER_MEMBER_GROUP => broker_requests::get_broker_member_group(self, req),
            REGISTER_TOPIC_IN_NAMESRV => broker_requests::register_topic_in_namesrv(self, req),
            GET_ROUTEINFO_BY_TOPIC => route_requests::get_route_info_by_topic(self, req),
            GET_BROKER_CLUSTER_INFO => route_requests::get_broker_cluster_info(self, req),
            GET_ALL_TOPIC_LIST_FROM_NAMESERVER => route_requests::get_all_topic_list(self, req),
            DELETE_TOPIC_IN_NAMESRV => route_requests::delete_topic_in_namesrv(self, req),
            GET_TOPICS_BY_CLUSTER => route_requests::get_topics_by_cluster(self, req),
            GET_SYSTEM_TOPIC_LIST_FROM_NS => route_requests::get_system_topic_list(self, req),
            GET_UNIT_TOPIC_LIST
            | GET_HAS_UNIT_SUB_TOPIC_LIST
            | GET_HAS_UNIT_SUB_UNUNIT_TOPIC_LIST => route_requests::get_unit_topic_list(self, req),
            WIPE_WRITE_PERM_OF_BROKER => route_requests::wipe_write_perm_of_broker(self, req),
            ADD_WRITE_PERM_OF_BROKER => route_requests::add_write_perm_of_broker(self, req),
            GET_NAMESRV_CONFIG => config_requests::get_namesrv_config(self, req),
            UPDATE_NAMESRV_CONFIG => config_requests::update_namesrv_config(self, req),
            _ => return unsupported_request(req),
        };
        result.unwrap_or_else(|e| {
            tracing::debug!(code = req.code, remote = %channel.remote_addr(), error = %e, "request failed");
            RemotingCommand::error_to(req, response::SYSTEM_ERROR, e.to_string())
        })
    }
}

impl RequestProcessor for DefaultRequestProcessor {
    async fn process_request(
        &self,
        channel: Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        // The one ACL hook: a refused request goes no further.
        let caller = match &self.acl {
            Some(acl) if ferrocket_acl::namesrv_code_needs_check(request.code) => {
                match acl.check(&request, channel.remote_addr()) {
                    Ok(caller) => caller,
                    Err(e) => return Some(ferrocket_acl::refusal(&request, &e)),
                }
            }
            Some(_) => Caller::anonymous(Authentication::NotChecked),
            None => Caller::anonymous(Authentication::Disabled),
        };
        let reply = with_caller(caller, async { self.handle(&channel, &request) }).await;
        if let Some(what) = ferrocket_remoting::audit::admin_request(&request) {
            ferrocket_remoting::audit::log(&channel, &what, request.code, Some(&reply));
        }
        Some(reply)
    }

    fn on_channel_open(&self, channel: &Channel) {
        let mut open = self.channels.lock();
        if open.closed {
            channel.close();
        } else {
            open.by_id.insert(channel.id(), channel.clone());
        }
    }

    fn on_channel_close(&self, channel: &Channel) {
        self.channels.lock().by_id.remove(&channel.id());
        self.route_info_manager.on_channel_destroy(channel);
    }
}

/// A SUCCESS response to `req`.
fn success(req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(req, response::SUCCESS)
}
