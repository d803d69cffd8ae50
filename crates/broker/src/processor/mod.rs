//! Request processors and the dispatcher routing each request code to one of them
//! (RocketMQ's `registerProcessor` table).

pub mod ack_message_processor;
pub mod admin_broker_processor;
pub mod change_invisible_time_processor;
pub mod client_manage_processor;
pub mod consumer_manage_processor;
pub mod consumer_send_msg_back;
pub mod end_transaction_processor;
pub mod notification_processor;
pub mod offset_moved_event;
pub mod peek_message_processor;
pub mod polling_info_processor;
pub mod pop_message_processor;
pub mod pull_message_processor;
pub mod query_assignment_processor;
pub mod query_message_processor;
pub mod recall_message_processor;
pub mod reply_message_processor;
pub mod request_queue;
pub mod send_message_processor;
mod slave_guard;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock};

use ferrocket_acl::{
    with_caller, AclAdminContext, Authentication, Caller, PlainAccessValidator, ACL_ADMIN_CODES,
};
use ferrocket_protocol::code::{request as rq, response};
use ferrocket_protocol::header::CommandCustomHeader;
use ferrocket_protocol::{HeaderError, RemotingCommand};
use ferrocket_remoting::{Channel, RequestProcessor};
use ferrocket_store::DefaultMessageStore;
use futures::FutureExt;
use parking_lot::Mutex;
use request_queue::RequestQueues;

use crate::broker_config::RequestQueueConfig;
use crate::client::client_housekeeping::ClientHousekeepingService;
use crate::client::ProducerManager;
use crate::service::{AdminService, PullService, SendService, TransactionService};
use client_manage_processor::ClientManageContext;
use consumer_manage_processor::ConsumerManageContext;
use notification_processor::NotificationContext;
use polling_info_processor::PollingInfoContext;
use query_assignment_processor::QueryAssignmentContext;

/// The processors the dispatcher routes to, each with only what it uses (RocketMQ's processor
/// table). Built once by the broker after its managers and services exist.
pub struct Processors {
    /// SEND_MESSAGE, SEND_MESSAGE_V2, SEND_BATCH_MESSAGE, and the reply sends.
    pub send: Arc<SendService>,
    /// PULL_MESSAGE, LITE_PULL_MESSAGE.
    pub pull: Arc<PullService>,
    /// The requesters a reply message is pushed to.
    pub producers: Arc<ProducerManager>,
    /// HEART_BEAT, UNREGISTER_CLIENT, CHECK_CLIENT_CONFIG.
    pub client_manage: ClientManageContext,
    /// GET_CONSUMER_LIST_BY_GROUP, QUERY_CONSUMER_OFFSET, UPDATE_CONSUMER_OFFSET.
    pub consumer_manage: ConsumerManageContext,
    /// CONSUMER_SEND_MSG_BACK.
    pub send_back: Arc<crate::service::SendBackService>,
    /// END_TRANSACTION.
    pub end_transaction: Arc<TransactionService>,
    /// POP_MESSAGE.
    pub pop: Arc<crate::service::PopService>,
    /// QUERY_ASSIGNMENT, SET_MESSAGE_REQUEST_MODE.
    pub query_assignment: QueryAssignmentContext,
    /// NOTIFICATION.
    pub notification: NotificationContext,
    /// POLLING_INFO.
    pub polling_info: PollingInfoContext,
    /// PEEK_MESSAGE.
    pub peek: peek_message_processor::PeekMessageContext,
    /// QUERY_MESSAGE, VIEW_MESSAGE_BY_ID.
    pub query: Arc<DefaultMessageStore>,
    /// Every admin code no other processor claims.
    pub admin: Arc<AdminService>,
    /// `Some` when `aclEnable`: checks every request before it is dispatched, and serves the
    /// ACL admin codes.
    pub acl: Option<Arc<PlainAccessValidator>>,
    /// `brokerRole=SLAVE`: writes are refused.
    pub slave: bool,
}

/// The broker's `RequestProcessor`: routes requests by code, tracks connections.
pub struct BrokerRequestProcessor {
    processors: OnceLock<Processors>,
    housekeeping: Arc<ClientHousekeepingService>,
    channels: Mutex<HashMap<u64, Channel>>,
    queues: RequestQueues,
    /// Controller mode: who serves NOTIFY_BROKER_ROLE_CHANGED and GET_BROKER_EPOCH_CACHE.
    controller_mode_handler: OnceLock<ControllerModeHandler>,
}

/// Serves the controller-mode codes (NOTIFY_BROKER_ROLE_CHANGED from a controller,
/// GET_BROKER_EPOCH_CACHE from mqadmin or a returning replica) and returns the response.
pub type ControllerModeHandler = Arc<dyn Fn(&RemotingCommand) -> RemotingCommand + Send + Sync>;

impl BrokerRequestProcessor {
    /// A dispatcher whose closed connections are reported to `housekeeping`, with request
    /// queues sized by `queues`.
    pub fn new(housekeeping: Arc<ClientHousekeepingService>, queues: &RequestQueueConfig) -> Self {
        BrokerRequestProcessor {
            processors: OnceLock::new(),
            housekeeping,
            channels: Mutex::new(HashMap::new()),
            queues: RequestQueues::new(queues),
            controller_mode_handler: OnceLock::new(),
        }
    }

    /// Controller mode: hands NOTIFY_BROKER_ROLE_CHANGED and GET_BROKER_EPOCH_CACHE to `handler`;
    /// without one they are refused as unsupported codes.
    pub fn set_controller_mode_handler(&self, handler: ControllerModeHandler) {
        let _ = self.controller_mode_handler.set(handler);
    }

    /// Installs the processors once the broker's services are built (the server is bound
    /// first, to learn the broker's address); requests arriving earlier are answered
    /// SYSTEM_BUSY.
    pub fn attach(&self, processors: Processors) {
        let store = Arc::downgrade(&processors.query);
        self.queues.set_page_cache_probe(move || {
            store.upgrade().is_some_and(|s| s.is_os_page_cache_busy())
        });
        let _ = self.processors.set(processors);
    }

    /// Closes every client connection (shutdown).
    pub fn close_all_channels(&self) {
        let channels: Vec<Channel> = self.channels.lock().values().cloned().collect();
        for ch in channels {
            ch.close();
        }
    }
}

impl RequestProcessor for BrokerRequestProcessor {
    async fn process_request(
        &self,
        channel: Channel,
        request: RemotingCommand,
    ) -> Option<RemotingCommand> {
        let Some(processors) = self.processors.get() else {
            return Some(RemotingCommand::error_to(
                &request,
                response::SYSTEM_BUSY,
                "[REJECTREQUEST]system busy, the broker is starting or stopping",
            ));
        };
        // Bounded queues first, as RocketMQ runs its RPC hooks on the processor's pool.
        let admitted = match self.queues.admit(&request).await {
            Ok(place) => place,
            Err(busy) => return Some(busy),
        };
        // The one ACL hook: a refused request goes no further.
        let caller = match &processors.acl {
            Some(acl) => match acl.check(&request, channel.remote_addr()) {
                Ok(caller) => caller,
                Err(e) => return Some(ferrocket_acl::refusal(&request, &e)),
            },
            None => Caller::anonymous(Authentication::Disabled),
        };
        if matches!(
            request.code,
            rq::NOTIFY_BROKER_ROLE_CHANGED | rq::GET_BROKER_EPOCH_CACHE
        ) {
            if let Some(handler) = self.controller_mode_handler.get() {
                return Some(handler(&request));
            }
        }
        let code = request.code;
        let skeleton = RemotingCommand::response_to(&request, response::SYSTEM_ERROR);
        let audited = ferrocket_remoting::audit::admin_request(&request);
        let serve = AssertUnwindSafe(dispatch(processors, &channel, request)).catch_unwind();
        match with_caller(caller, admitted.scope(serve)).await {
            Ok(reply) => {
                if let Some(what) = &audited {
                    ferrocket_remoting::audit::log(&channel, what, code, reply.as_ref());
                }
                reply
            }
            Err(panic) => {
                let what = ferrocket_remoting::panic_message(panic.as_ref());
                tracing::error!(code, remote = %channel.remote_addr(), panic = %what, "request processing panicked");
                Some(skeleton.with_remark(format!(
                    "the broker failed to process request {code}: {what}"
                )))
            }
        }
    }

    fn on_channel_open(&self, channel: &Channel) {
        self.channels.lock().insert(channel.id(), channel.clone());
    }

    fn on_channel_close(&self, channel: &Channel) {
        self.channels.lock().remove(&channel.id());
        self.housekeeping.on_channel_close(channel);
    }
}

async fn dispatch(
    p: &Processors,
    channel: &Channel,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    if let Some(refusal) = slave_guard::refuse_on_slave(p.slave, &request) {
        return Some(refusal);
    }
    match request.code {
        rq::SEND_MESSAGE | rq::SEND_MESSAGE_V2 | rq::SEND_BATCH_MESSAGE => {
            send_message_processor::process(&p.send, channel, request).await
        }
        rq::SEND_REPLY_MESSAGE | rq::SEND_REPLY_MESSAGE_V2 => {
            reply_message_processor::process(&p.send, &p.producers, channel, request).await
        }
        rq::RECALL_MESSAGE => recall_message_processor::process(&p.send, channel, request).await,
        rq::END_TRANSACTION => {
            end_transaction_processor::process(&p.end_transaction, channel, request).await
        }
        rq::CONSUMER_SEND_MSG_BACK => {
            consumer_send_msg_back::process(&p.send_back, channel, request).await
        }
        rq::PULL_MESSAGE | rq::LITE_PULL_MESSAGE => {
            pull_message_processor::process(&p.pull, channel, request).await
        }
        rq::HEART_BEAT | rq::UNREGISTER_CLIENT | rq::CHECK_CLIENT_CONFIG => {
            client_manage_processor::process(&p.client_manage, channel, request)
        }
        rq::GET_CONSUMER_LIST_BY_GROUP | rq::QUERY_CONSUMER_OFFSET | rq::UPDATE_CONSUMER_OFFSET => {
            consumer_manage_processor::process(&p.consumer_manage, channel, request)
        }
        rq::QUERY_MESSAGE | rq::VIEW_MESSAGE_BY_ID => {
            query_message_processor::process(&p.query, channel, request).await
        }
        rq::POP_MESSAGE => pop_message_processor::process(&p.pop, channel, request).await,
        rq::ACK_MESSAGE | rq::BATCH_ACK_MESSAGE => {
            ack_message_processor::process(&p.pop, channel, request).await
        }
        rq::CHANGE_MESSAGE_INVISIBLETIME => {
            change_invisible_time_processor::process(&p.pop, channel, request).await
        }
        rq::NOTIFICATION => {
            notification_processor::process(&p.notification, channel, request).await
        }
        rq::POLLING_INFO => polling_info_processor::process(&p.polling_info, channel, request),
        rq::PEEK_MESSAGE => peek_message_processor::process(&p.peek, channel, request).await,
        rq::QUERY_ASSIGNMENT | rq::SET_MESSAGE_REQUEST_MODE => {
            query_assignment_processor::process(&p.query_assignment, channel, request).await
        }
        code if ACL_ADMIN_CODES.contains(&code) => {
            let config = p.admin.broker_config();
            let context = AclAdminContext {
                broker_name: config.broker_name.clone(),
                broker_addr: p.admin.broker_addr(),
                cluster_name: config.broker_cluster_name.clone(),
            };
            Some(ferrocket_acl::process_admin(p.acl.as_ref(), &context, &request).await)
        }
        _ => admin_broker_processor::process(&p.admin, channel, request).await,
    }
}

/// The reply to a request whose header does not decode (RocketMQ answers SYSTEM_ERROR).
/// An error reply to `request`, for processors that answer with `Option`.
pub(crate) fn error(
    request: &RemotingCommand,
    code: i32,
    remark: impl Into<String>,
) -> Option<RemotingCommand> {
    Some(RemotingCommand::error_to(request, code, remark))
}

pub(crate) fn header_error(request: &RemotingCommand, e: HeaderError) -> RemotingCommand {
    RemotingCommand::error_to(request, response::SYSTEM_ERROR, e.to_string())
}

/// Decodes a header or returns the error reply from the enclosing function.
macro_rules! decode_header {
    ($request:expr, $ty:ty) => {
        match <$ty as ferrocket_protocol::header::CommandCustomHeader>::decode(&$request) {
            Ok(h) => h,
            Err(e) => return Some(crate::processor::header_error(&$request, e)),
        }
    };
}
pub(crate) use decode_header;

/// A success reply carrying `header`.
pub(crate) fn success_with<H: CommandCustomHeader>(
    request: &RemotingCommand,
    header: &H,
) -> RemotingCommand {
    let mut r = RemotingCommand::response_to(request, response::SUCCESS);
    header.write_to(&mut r);
    r
}

/// Decodes a JSON body or returns the error reply from the enclosing function.
macro_rules! decode_body {
    ($request:expr, $ty:ty) => {
        match ferrocket_protocol::body::decode::<$ty>(&$request.body) {
            Ok(b) => b,
            Err(e) => {
                return Some(ferrocket_protocol::RemotingCommand::error_to(
                    &$request,
                    ferrocket_protocol::code::response::SYSTEM_ERROR,
                    format!("malformed request body: {e}"),
                ))
            }
        }
    };
}
pub(crate) use decode_body;
