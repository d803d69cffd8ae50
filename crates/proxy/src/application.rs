//! `GrpcMessagingApplication`: the MessagingService. Every unary call reads its caller from the
//! metadata (CLIENT_ID_REQUIRED without `x-mq-client-id`), runs its activity and answers a
//! normal response whose `status` says how it went, as Apache's proxy does. Calls this server
//! does not serve yet answer NOT_IMPLEMENTED in that status (or the gRPC status UNIMPLEMENTED
//! for the RPCs Apache's proxy does not serve either), never hang.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Streaming};

use crate::activity::{client, producer, route};
use crate::client_settings::GrpcClientSettingsManager;
use crate::context::ProxyContext;
use crate::status::{ok, status, ProxyError};
use crate::v2::messaging_service_server::MessagingService;
use crate::v2::*;
use crate::view::ProxyBrokerView;

/// Commands queued towards one Telemetry stream's client.
const TELEMETRY_OUTBOUND_QUEUE: usize = 16;

type GrpcResult<T> = Result<Response<T>, tonic::Status>;
type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, tonic::Status>> + Send + 'static>>;

/// The service behind the gRPC port.
pub struct GrpcMessagingApplication {
    broker: ProxyBrokerView,
    settings: Arc<GrpcClientSettingsManager>,
    grpc_port: u16,
}

fn not_implemented(what: &str) -> Status {
    status(
        Code::NotImplemented,
        format!("{what} is not served on Ferrocket's gRPC port yet"),
    )
}

fn status_of<T>(result: &Result<T, ProxyError>) -> Status {
    match result {
        Ok(_) => ok(),
        Err(e) => e.to_status(),
    }
}

impl GrpcMessagingApplication {
    /// The service for `broker`, whose routes point clients at `grpc_port`.
    pub fn new(broker: ProxyBrokerView, grpc_port: u16) -> Self {
        GrpcMessagingApplication {
            broker,
            settings: Arc::new(GrpcClientSettingsManager::new()),
            grpc_port,
        }
    }

    /// The settings of the clients that sent theirs.
    pub fn client_settings(&self) -> &Arc<GrpcClientSettingsManager> {
        &self.settings
    }
}

#[tonic::async_trait]
impl MessagingService for GrpcMessagingApplication {
    async fn query_route(
        &self,
        request: Request<QueryRouteRequest>,
    ) -> GrpcResult<QueryRouteResponse> {
        let result = ProxyContext::from_request(&request)
            .and_then(|_| route::query_route(&self.broker, self.grpc_port, request.get_ref()));
        Ok(Response::new(QueryRouteResponse {
            status: Some(status_of(&result)),
            message_queues: result.unwrap_or_default(),
        }))
    }

    async fn heartbeat(&self, request: Request<HeartbeatRequest>) -> GrpcResult<HeartbeatResponse> {
        let result = ProxyContext::from_request(&request)
            .and_then(|context| client::heartbeat(&self.settings, &context));
        Ok(Response::new(HeartbeatResponse {
            status: Some(status_of(&result)),
        }))
    }

    async fn send_message(
        &self,
        request: Request<SendMessageRequest>,
    ) -> GrpcResult<SendMessageResponse> {
        let response = match ProxyContext::from_request(&request) {
            Err(e) => SendMessageResponse {
                status: Some(e.to_status()),
                entries: Vec::new(),
            },
            Ok(context) => {
                match producer::send_message(&self.broker, &context, request.into_inner()).await {
                    Ok(outcome) => SendMessageResponse {
                        status: Some(outcome.status),
                        entries: outcome.entries,
                    },
                    Err(e) => SendMessageResponse {
                        status: Some(e.to_status()),
                        entries: Vec::new(),
                    },
                }
            }
        };
        Ok(Response::new(response))
    }

    async fn query_assignment(
        &self,
        _request: Request<QueryAssignmentRequest>,
    ) -> GrpcResult<QueryAssignmentResponse> {
        Ok(Response::new(QueryAssignmentResponse {
            status: Some(not_implemented("QueryAssignment (push consumers)")),
            assignments: Vec::new(),
        }))
    }

    type ReceiveMessageStream = BoxStream<ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        _request: Request<ReceiveMessageRequest>,
    ) -> GrpcResult<Self::ReceiveMessageStream> {
        let answer = ReceiveMessageResponse {
            content: Some(receive_message_response::Content::Status(not_implemented(
                "ReceiveMessage",
            ))),
        };
        Ok(Response::new(Box::pin(futures::stream::iter([Ok(answer)]))))
    }

    async fn ack_message(
        &self,
        _request: Request<AckMessageRequest>,
    ) -> GrpcResult<AckMessageResponse> {
        Ok(Response::new(AckMessageResponse {
            status: Some(not_implemented("AckMessage")),
            entries: Vec::new(),
        }))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        _request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> GrpcResult<ForwardMessageToDeadLetterQueueResponse> {
        Ok(Response::new(ForwardMessageToDeadLetterQueueResponse {
            status: Some(not_implemented("ForwardMessageToDeadLetterQueue")),
        }))
    }

    type PullMessageStream = BoxStream<PullMessageResponse>;

    async fn pull_message(
        &self,
        _request: Request<PullMessageRequest>,
    ) -> GrpcResult<Self::PullMessageStream> {
        Err(tonic::Status::unimplemented("PullMessage is not served"))
    }

    async fn update_offset(
        &self,
        _request: Request<UpdateOffsetRequest>,
    ) -> GrpcResult<UpdateOffsetResponse> {
        Err(tonic::Status::unimplemented("UpdateOffset is not served"))
    }

    async fn get_offset(
        &self,
        _request: Request<GetOffsetRequest>,
    ) -> GrpcResult<GetOffsetResponse> {
        Err(tonic::Status::unimplemented("GetOffset is not served"))
    }

    async fn query_offset(
        &self,
        _request: Request<QueryOffsetRequest>,
    ) -> GrpcResult<QueryOffsetResponse> {
        Err(tonic::Status::unimplemented("QueryOffset is not served"))
    }

    async fn end_transaction(
        &self,
        _request: Request<EndTransactionRequest>,
    ) -> GrpcResult<EndTransactionResponse> {
        Ok(Response::new(EndTransactionResponse {
            status: Some(not_implemented("EndTransaction")),
        }))
    }

    type TelemetryStream = BoxStream<TelemetryCommand>;

    async fn telemetry(
        &self,
        request: Request<Streaming<TelemetryCommand>>,
    ) -> GrpcResult<Self::TelemetryStream> {
        let context = ProxyContext::from_request(&request)
            .map_err(|e| tonic::Status::invalid_argument(e.message))?;
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(TELEMETRY_OUTBOUND_QUEUE);
        let settings = self.settings.clone();
        let broker = self.broker.clone();
        tokio::spawn(serve_telemetry(inbound, tx, settings, broker, context));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> GrpcResult<NotifyClientTerminationResponse> {
        let result = ProxyContext::from_request(&request)
            .and_then(|context| client::notify_client_termination(&self.settings, &context));
        Ok(Response::new(NotifyClientTerminationResponse {
            status: Some(status_of(&result)),
        }))
    }

    async fn change_invisible_duration(
        &self,
        _request: Request<ChangeInvisibleDurationRequest>,
    ) -> GrpcResult<ChangeInvisibleDurationResponse> {
        Ok(Response::new(ChangeInvisibleDurationResponse {
            status: Some(not_implemented("ChangeInvisibleDuration")),
            receipt_handle: String::new(),
        }))
    }

    async fn recall_message(
        &self,
        _request: Request<RecallMessageRequest>,
    ) -> GrpcResult<RecallMessageResponse> {
        Ok(Response::new(RecallMessageResponse {
            status: Some(not_implemented("RecallMessage")),
            message_id: String::new(),
        }))
    }

    async fn sync_lite_subscription(
        &self,
        _request: Request<SyncLiteSubscriptionRequest>,
    ) -> GrpcResult<SyncLiteSubscriptionResponse> {
        Err(tonic::Status::unimplemented(
            "SyncLiteSubscription is not served",
        ))
    }
}

/// Reads one client's Telemetry commands until it closes its side, answering each Settings.
/// A refused command ends the stream with a gRPC error, as Apache's proxy ends it:
/// INVALID_ARGUMENT for a client's mistake, INTERNAL otherwise.
async fn serve_telemetry(
    mut inbound: Streaming<TelemetryCommand>,
    tx: mpsc::Sender<Result<TelemetryCommand, tonic::Status>>,
    settings: Arc<GrpcClientSettingsManager>,
    broker: ProxyBrokerView,
    context: ProxyContext,
) {
    loop {
        let command = match inbound.message().await {
            Ok(Some(command)) => command,
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(client = %context.client_id, error = %e, "telemetry stream ended");
                return;
            }
        };
        match client::telemetry_command(&settings, &broker, &context, command) {
            Ok(Some(reply)) => {
                if tx.send(Ok(reply)).await.is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                let code = e.code as i32;
                let grpc_code = if (40_000..50_000).contains(&code) {
                    tonic::Code::InvalidArgument
                } else {
                    tonic::Code::Internal
                };
                let _ = tx.send(Err(tonic::Status::new(grpc_code, e.message))).await;
                return;
            }
        }
    }
}
