//! ACL 1.0 on the gRPC port: with `aclEnable`, every call is checked against the broker's
//! plain_acl.yml (the same rules, reloads included, as the remoting port) before it is served.
//!
//! [`AclMessagingService`] wraps the MessagingService: it names what each call needs, as
//! Apache RocketMQ 5's proxy does (`PlainAccessResource.parse` of its gRPC messages), asks the
//! broker's [`GrpcAccessChecker`], and serves the call under the accepted [`Caller`] or answers it
//! refused without serving it:
//!
//! | call | needs |
//! |---|---|
//! | QueryRoute | PUB or SUB on the topic |
//! | Heartbeat | SUB on the group of a consumer; a producer only authenticates |
//! | SendMessage | PUB on each message's topic |
//! | ReceiveMessage, AckMessage, ChangeInvisibleDuration, ForwardMessageToDeadLetterQueue, QueryAssignment | SUB on the topic and on the group |
//! | EndTransaction, RecallMessage | PUB on the topic |
//! | NotifyClientTermination | SUB on the group, when one is named |
//! | Telemetry | authenticated when the stream opens |
//! | the calls not served (PullMessage, ...) | authenticated |
//!
//! A refusal is a normal response whose status is UNAUTHORIZED (no, unknown or badly signed
//! credentials) or FORBIDDEN (a permission the account lacks), with a message naming the access
//! key, the resource and the permission; the v5 clients raise them as `UnauthorizedException` and
//! `ForbiddenException`. (Apache's 5.0-5.2 proxy ends the call with the gRPC status
//! PERMISSION_DENIED and no message instead.) A refused Telemetry stream ends with the gRPC
//! status UNAUTHENTICATED.

use ferrocket_acl::permission::{ANY, PUB, SUB};
use ferrocket_acl::resource::RETRY_GROUP_TOPIC_PREFIX;
use ferrocket_acl::{with_caller, Caller, GrpcAccessChecker, GrpcCall, GrpcRefusal};
use tonic::{Request, Response, Streaming};

use crate::application::GrpcMessagingApplication;
use crate::context::PeerAddr;
use crate::status::status;
use crate::v2::messaging_service_server::MessagingService;
use crate::v2::*;

type GrpcResult<T> = Result<Response<T>, tonic::Status>;

/// The MessagingService behind the gRPC port, checking each call first when ACL is on.
pub struct AclMessagingService {
    inner: GrpcMessagingApplication,
    acl: Option<GrpcAccessChecker>,
}

impl AclMessagingService {
    /// Serves `inner`, checking calls with `acl` (`None`: ACL is off, every call is served).
    pub fn new(inner: GrpcMessagingApplication, acl: Option<GrpcAccessChecker>) -> Self {
        AclMessagingService { inner, acl }
    }

    /// The caller of `request`, or why it is refused; everyone is let in with ACL off.
    /// `needed` is only built with ACL on: a served call allocates nothing for it.
    fn check<T>(
        &self,
        request: &Request<T>,
        needed: impl FnOnce() -> Needed,
    ) -> Result<Caller, GrpcRefusal> {
        let Some(acl) = &self.acl else {
            return Ok(Caller::anonymous(ferrocket_acl::Authentication::Disabled));
        };
        let metadata = request.metadata();
        let text = |key: &str| metadata.get(key).and_then(|v| v.to_str().ok());
        let peer = request
            .extensions()
            .get::<PeerAddr>()
            .map(|p| p.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let call = GrpcCall {
            peer,
            authorization: text(ferrocket_acl::grpc::AUTHORIZATION),
            date_time: text(ferrocket_acl::grpc::DATE_TIME),
        };
        acl.check(call, &needed().0)
    }
}

/// The topics and groups (as `%RETRY%<group>`) a call needs, with their permission.
#[derive(Default)]
struct Needed(Vec<(String, u8)>);

impl Needed {
    fn topic(mut self, topic: &Option<Resource>, perm: u8) -> Self {
        if let Some(name) = topic.as_ref().map(|t| &t.name).filter(|n| !n.is_empty()) {
            if !self.0.iter().any(|(r, p)| r == name && *p == perm) {
                self.0.push((name.clone(), perm));
            }
        }
        self
    }

    fn group(mut self, group: &Option<Resource>) -> Self {
        if let Some(name) = group.as_ref().map(|g| &g.name).filter(|n| !n.is_empty()) {
            self.0
                .push((format!("{RETRY_GROUP_TOPIC_PREFIX}{name}"), SUB));
        }
        self
    }
}

/// The v2 status of a refusal.
fn refused(refusal: &GrpcRefusal) -> Status {
    let code = match refusal {
        GrpcRefusal::Unauthenticated(_) => Code::Unauthorized,
        GrpcRefusal::Forbidden(_) => Code::Forbidden,
    };
    status(code, refusal.to_string())
}

/// Checks the call, then serves it under its caller or answers `$refusal(status)`.
macro_rules! guarded {
    ($self:ident, $request:ident, $needed:expr, $serve:ident, $refusal:expr) => {
        match $self.check(&$request, $needed) {
            Ok(caller) => with_caller(caller, $self.inner.$serve($request)).await,
            Err(refusal) => Ok(Response::new($refusal(refused(&refusal)))),
        }
    };
}

/// Checks a call the endpoint does not serve: a refusal is a gRPC error like the
/// UNIMPLEMENTED it would otherwise get.
macro_rules! authenticated {
    ($self:ident, $request:ident, $serve:ident) => {
        match $self.check(&$request, Needed::default) {
            Ok(caller) => with_caller(caller, $self.inner.$serve($request)).await,
            Err(refusal) => Err(tonic::Status::unauthenticated(refusal.to_string())),
        }
    };
}

#[tonic::async_trait]
impl MessagingService for AclMessagingService {
    async fn query_route(
        &self,
        request: Request<QueryRouteRequest>,
    ) -> GrpcResult<QueryRouteResponse> {
        let needed = || Needed::default().topic(&request.get_ref().topic, ANY);
        guarded!(self, request, needed, query_route, |status| {
            QueryRouteResponse {
                status: Some(status),
                ..Default::default()
            }
        })
    }

    async fn heartbeat(&self, request: Request<HeartbeatRequest>) -> GrpcResult<HeartbeatResponse> {
        let r = request.get_ref();
        let consumer = [ClientType::PushConsumer, ClientType::SimpleConsumer]
            .map(|t| t as i32)
            .contains(&r.client_type);
        let needed = || {
            if consumer {
                Needed::default().group(&r.group)
            } else {
                Needed::default()
            }
        };
        guarded!(self, request, needed, heartbeat, |status| {
            HeartbeatResponse {
                status: Some(status),
            }
        })
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> GrpcResult<SendMessageResponse> {
        let needed = || {
            request
                .get_ref()
                .messages
                .iter()
                .fold(Needed::default(), |n, m| n.topic(&m.topic, PUB))
        };
        guarded!(self, request, needed, send_message, |status| {
            SendMessageResponse {
                status: Some(status),
                entries: Vec::new(),
            }
        })
    }

    async fn query_assignment(
        &self,
        request: Request<QueryAssignmentRequest>,
    ) -> GrpcResult<QueryAssignmentResponse> {
        let r = request.get_ref();
        let needed = || Needed::default().topic(&r.topic, SUB).group(&r.group);
        guarded!(self, request, needed, query_assignment, |status| {
            QueryAssignmentResponse {
                status: Some(status),
                assignments: Vec::new(),
            }
        })
    }

    type ReceiveMessageStream =
        <GrpcMessagingApplication as MessagingService>::ReceiveMessageStream;

    async fn receive_message(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> GrpcResult<Self::ReceiveMessageStream> {
        let r = request.get_ref();
        let needed = || {
            let topic = r.message_queue.as_ref().and_then(|q| q.topic.clone());
            Needed::default().topic(&topic, SUB).group(&r.group)
        };
        guarded!(self, request, needed, receive_message, |status| {
            let answer = ReceiveMessageResponse {
                content: Some(receive_message_response::Content::Status(status)),
            };
            Box::pin(futures::stream::iter([Ok(answer)])) as Self::ReceiveMessageStream
        })
    }

    async fn ack_message(
        &self,
        request: Request<AckMessageRequest>,
    ) -> GrpcResult<AckMessageResponse> {
        let r = request.get_ref();
        let needed = || Needed::default().topic(&r.topic, SUB).group(&r.group);
        guarded!(self, request, needed, ack_message, |status| {
            AckMessageResponse {
                status: Some(status),
                entries: Vec::new(),
            }
        })
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> GrpcResult<ForwardMessageToDeadLetterQueueResponse> {
        let r = request.get_ref();
        let needed = || Needed::default().topic(&r.topic, SUB).group(&r.group);
        guarded!(
            self,
            request,
            needed,
            forward_message_to_dead_letter_queue,
            |status| {
                ForwardMessageToDeadLetterQueueResponse {
                    status: Some(status),
                }
            }
        )
    }

    type PullMessageStream = <GrpcMessagingApplication as MessagingService>::PullMessageStream;

    async fn pull_message(
        &self,
        request: Request<PullMessageRequest>,
    ) -> GrpcResult<Self::PullMessageStream> {
        authenticated!(self, request, pull_message)
    }

    async fn update_offset(
        &self,
        request: Request<UpdateOffsetRequest>,
    ) -> GrpcResult<UpdateOffsetResponse> {
        authenticated!(self, request, update_offset)
    }

    async fn get_offset(
        &self,
        request: Request<GetOffsetRequest>,
    ) -> GrpcResult<GetOffsetResponse> {
        authenticated!(self, request, get_offset)
    }

    async fn query_offset(
        &self,
        request: Request<QueryOffsetRequest>,
    ) -> GrpcResult<QueryOffsetResponse> {
        authenticated!(self, request, query_offset)
    }

    async fn end_transaction(
        &self,
        request: Request<EndTransactionRequest>,
    ) -> GrpcResult<EndTransactionResponse> {
        let needed = || Needed::default().topic(&request.get_ref().topic, PUB);
        guarded!(self, request, needed, end_transaction, |status| {
            EndTransactionResponse {
                status: Some(status),
            }
        })
    }

    type TelemetryStream = <GrpcMessagingApplication as MessagingService>::TelemetryStream;

    /// Only the stream's credentials are checked: what a Settings command declares is checked
    /// when the client uses it (each send, receive and ack).
    async fn telemetry(
        &self,
        request: Request<Streaming<TelemetryCommand>>,
    ) -> GrpcResult<Self::TelemetryStream> {
        authenticated!(self, request, telemetry)
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> GrpcResult<NotifyClientTerminationResponse> {
        let needed = || Needed::default().group(&request.get_ref().group);
        guarded!(self, request, needed, notify_client_termination, |status| {
            NotifyClientTerminationResponse {
                status: Some(status),
            }
        })
    }

    async fn change_invisible_duration(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> GrpcResult<ChangeInvisibleDurationResponse> {
        let r = request.get_ref();
        let needed = || Needed::default().topic(&r.topic, SUB).group(&r.group);
        guarded!(self, request, needed, change_invisible_duration, |status| {
            ChangeInvisibleDurationResponse {
                status: Some(status),
                receipt_handle: String::new(),
            }
        })
    }

    async fn recall_message(
        &self,
        request: Request<RecallMessageRequest>,
    ) -> GrpcResult<RecallMessageResponse> {
        let needed = || Needed::default().topic(&request.get_ref().topic, PUB);
        guarded!(self, request, needed, recall_message, |status| {
            RecallMessageResponse {
                status: Some(status),
                message_id: String::new(),
            }
        })
    }

    async fn sync_lite_subscription(
        &self,
        request: Request<SyncLiteSubscriptionRequest>,
    ) -> GrpcResult<SyncLiteSubscriptionResponse> {
        authenticated!(self, request, sync_lite_subscription)
    }
}
