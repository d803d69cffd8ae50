//! `GrpcMessagingApplication`: the MessagingService. Every unary call reads its caller from the
//! metadata (CLIENT_ID_REQUIRED without `x-mq-client-id`), runs its activity and answers a
//! normal response whose `status` says how it went, as Apache's proxy does. The RPCs Apache's
//! proxy does not serve either (PullMessage, UpdateOffset, ...) answer the gRPC status
//! UNIMPLEMENTED, never hang.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Streaming};

use crate::activity::{client, consumer, producer, route, transaction};
use crate::client_settings::GrpcClientSettingsManager;
use crate::context::ProxyContext;
use crate::receipt::ReceiptHandleManager;
use crate::status::{ok, ProxyError};
use crate::telemetry::{TelemetryClients, TelemetrySender};
use crate::transaction::TransactionDataManager;
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
    transactions: Arc<TransactionDataManager>,
    telemetry: Arc<TelemetryClients>,
    receipts: Arc<ReceiptHandleManager>,
    grpc_port: u16,
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
        let transactions = Arc::new(TransactionDataManager::new());
        let telemetry = Arc::new(TelemetryClients::new(
            broker.producers.clone(),
            broker.consumers.clone(),
            transactions.clone(),
        ));
        let settings = Arc::new(GrpcClientSettingsManager::new());
        let receipts = Arc::new(ReceiptHandleManager::new(&broker, settings.clone()));
        GrpcMessagingApplication {
            broker,
            settings,
            transactions,
            telemetry,
            receipts,
            grpc_port,
        }
    }

    /// The messages renewed for push consumers; its task is started by the server.
    pub fn receipts(&self) -> &Arc<ReceiptHandleManager> {
        &self.receipts
    }

    fn renewed_caller<'a>(&'a self, context: &'a ProxyContext) -> consumer::RenewedCaller<'a> {
        consumer::RenewedCaller {
            client_id: &context.client_id,
            receipts: &self.receipts,
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
                let sent = producer::send_message(
                    &self.broker,
                    &self.transactions,
                    &context,
                    request.into_inner(),
                );
                match sent.await {
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
        request: Request<QueryAssignmentRequest>,
    ) -> GrpcResult<QueryAssignmentResponse> {
        let result = ProxyContext::from_request(&request).and_then(|_| {
            consumer::query_assignment(&self.broker, self.grpc_port, request.get_ref())
        });
        Ok(Response::new(QueryAssignmentResponse {
            status: Some(status_of(&result)),
            assignments: result.unwrap_or_default(),
        }))
    }

    type ReceiveMessageStream = BoxStream<ReceiveMessageResponse>;

    async fn receive_message(
        &self,
        request: Request<ReceiveMessageRequest>,
    ) -> GrpcResult<Self::ReceiveMessageStream> {
        let answers = match ProxyContext::from_request(&request) {
            Err(e) => vec![ReceiveMessageResponse {
                content: Some(receive_message_response::Content::Status(e.to_status())),
            }],
            Ok(context) => {
                let caller = consumer::ReceiveCaller {
                    context: &context,
                    time_remaining_millis: grpc_timeout_millis(request.metadata()),
                };
                consumer::receive_message(
                    &self.broker,
                    &self.settings,
                    &self.receipts,
                    caller,
                    request.into_inner(),
                )
                .await
            }
        };
        let stream = futures::stream::iter(answers.into_iter().map(Ok));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn ack_message(
        &self,
        request: Request<AckMessageRequest>,
    ) -> GrpcResult<AckMessageResponse> {
        let result = match ProxyContext::from_request(&request) {
            Err(e) => Err(e),
            Ok(context) => {
                let caller = self.renewed_caller(&context);
                consumer::ack_message(&self.broker.pop, &self.broker, caller, request.into_inner())
                    .await
            }
        };
        Ok(Response::new(match result {
            Ok((status, entries)) => AckMessageResponse {
                status: Some(status),
                entries,
            },
            Err(e) => AckMessageResponse {
                status: Some(e.to_status()),
                entries: Vec::new(),
            },
        }))
    }

    async fn forward_message_to_dead_letter_queue(
        &self,
        request: Request<ForwardMessageToDeadLetterQueueRequest>,
    ) -> GrpcResult<ForwardMessageToDeadLetterQueueResponse> {
        let result = match ProxyContext::from_request(&request) {
            Err(e) => Err(e),
            Ok(context) => {
                let (caller, request) = (self.renewed_caller(&context), request.into_inner());
                consumer::forward_message_to_dead_letter_queue(&self.broker, caller, request).await
            }
        };
        Ok(Response::new(ForwardMessageToDeadLetterQueueResponse {
            status: Some(status_of(&result)),
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
        request: Request<EndTransactionRequest>,
    ) -> GrpcResult<EndTransactionResponse> {
        let result = match ProxyContext::from_request(&request) {
            Ok(_) => {
                transaction::end_transaction(&self.broker, &self.transactions, request.into_inner())
                    .await
            }
            Err(e) => Err(e),
        };
        Ok(Response::new(EndTransactionResponse {
            status: Some(status_of(&result)),
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
        let stream = TelemetryStream {
            settings: self.settings.clone(),
            telemetry: self.telemetry.clone(),
            broker: self.broker.clone(),
            context,
            tx,
        };
        tokio::spawn(stream.serve(inbound));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn notify_client_termination(
        &self,
        request: Request<NotifyClientTerminationRequest>,
    ) -> GrpcResult<NotifyClientTerminationResponse> {
        let result = ProxyContext::from_request(&request).and_then(|context| {
            // the messages it was consuming go to the group's other members
            let group = request.get_ref().group.as_ref().map(|g| g.name.as_str());
            self.receipts.clear_client(&context.client_id, group);
            client::notify_client_termination(&self.settings, &context)
        });
        Ok(Response::new(NotifyClientTerminationResponse {
            status: Some(status_of(&result)),
        }))
    }

    async fn change_invisible_duration(
        &self,
        request: Request<ChangeInvisibleDurationRequest>,
    ) -> GrpcResult<ChangeInvisibleDurationResponse> {
        let result = match ProxyContext::from_request(&request) {
            Err(e) => Err(e),
            Ok(context) => {
                let (caller, request) = (self.renewed_caller(&context), request.into_inner());
                let pop = &self.broker.pop;
                consumer::change_invisible_duration(pop, &self.broker, caller, request).await
            }
        };
        Ok(Response::new(ChangeInvisibleDurationResponse {
            status: Some(status_of(&result)),
            receipt_handle: result.unwrap_or_default(),
        }))
    }

    async fn recall_message(
        &self,
        request: Request<RecallMessageRequest>,
    ) -> GrpcResult<RecallMessageResponse> {
        let result = match ProxyContext::from_request(&request) {
            Ok(context) => {
                producer::recall_message(&self.broker, &context, request.into_inner()).await
            }
            Err(e) => Err(e),
        };
        Ok(Response::new(RecallMessageResponse {
            status: Some(status_of(&result)),
            message_id: result.unwrap_or_default(),
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

/// One client's Telemetry stream: what the server writes on it and what it needs to answer.
struct TelemetryStream {
    settings: Arc<GrpcClientSettingsManager>,
    telemetry: Arc<TelemetryClients>,
    broker: ProxyBrokerView,
    context: ProxyContext,
    tx: TelemetrySender,
}

impl TelemetryStream {
    /// Reads the client's commands until it closes its side, answering each Settings; the
    /// stream is the client's way back from the server while it lasts. A refused command ends
    /// the stream with a gRPC error, as Apache's proxy ends it: INVALID_ARGUMENT for a
    /// client's mistake, INTERNAL otherwise.
    async fn serve(self, mut inbound: Streaming<TelemetryCommand>) {
        loop {
            let command = match inbound.message().await {
                Ok(Some(command)) => command,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(client = %self.context.client_id, error = %e, "telemetry stream ended");
                    break;
                }
            };
            if !self.answer(command).await {
                break;
            }
        }
        self.telemetry.on_closed(&self.context.client_id, &self.tx);
    }

    /// Handles one command; false when the stream is over.
    async fn answer(&self, command: TelemetryCommand) -> bool {
        if self.telemetry.on_answer(&command) {
            return true;
        }
        let result =
            client::telemetry_command(&self.settings, &self.broker, &self.context, command);
        match result {
            Ok(Some(reply)) => {
                if let Some(telemetry_command::Command::Settings(settings)) = &reply.command {
                    self.telemetry
                        .on_settings(&self.context.client_id, settings, &self.tx);
                }
                self.tx.send(Ok(reply)).await.is_ok()
            }
            Ok(None) => true,
            Err(e) => {
                let code = e.code as i32;
                let grpc_code = if (40_000..50_000).contains(&code) {
                    tonic::Code::InvalidArgument
                } else {
                    tonic::Code::Internal
                };
                let _ = self
                    .tx
                    .send(Err(tonic::Status::new(grpc_code, e.message)))
                    .await;
                false
            }
        }
    }
}

/// The time left before a call's deadline, from its `grpc-timeout` header (`<digits><unit>`,
/// unit H, M, S, m, u or n), in milliseconds.
fn grpc_timeout_millis(metadata: &tonic::metadata::MetadataMap) -> Option<i64> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: i64 = digits.parse().ok()?;
    let millis = match unit {
        "H" => amount.saturating_mul(3_600_000),
        "M" => amount.saturating_mul(60_000),
        "S" => amount.saturating_mul(1_000),
        "m" => amount,
        "u" => amount / 1_000,
        "n" => amount / 1_000_000,
        _ => return None,
    };
    Some(millis)
}
