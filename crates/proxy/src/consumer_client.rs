//! v5 consumers as the broker's admin requests see them: a consumer that sent its Settings on
//! a Telemetry stream is registered with the broker's `ConsumerManager` under its group, so
//! that GET_CONSUMER_RUNNING_INFO and CONSUME_MESSAGE_DIRECTLY reach it.
//!
//! A running-info request with `jstackEnable` becomes a PrintThreadStackTraceCommand and the
//! client's ThreadStackTrace becomes the info's `jstack`; a direct consumption becomes a
//! VerifyMessageCommand whose VerifyMessageResult status becomes the consume result, as on
//! Apache's proxy. Each command carries a nonce that its answer echoes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ferrocket_broker::client::{ConsumerAnswer, ConsumerClient, ConsumerClientError};
use ferrocket_protocol::body::consumer_running_info::{
    CMResult, ConsumeMessageDirectlyResult, ConsumerRunningInfo, SubscriptionKey, PROP_CONSUME_TYPE,
};
use ferrocket_protocol::body::heartbeat::SubscriptionData;
use ferrocket_protocol::code::response;
use ferrocket_protocol::message::MessageExt;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::activity::consumer::to_v2_message;
use crate::telemetry::TelemetrySender;
use crate::v2::settings::PubSub;
use crate::v2::telemetry_command::Command;
use crate::v2::{
    ClientType, Code, FilterType, PrintThreadStackTraceCommand, Settings, TelemetryCommand,
    VerifyMessageCommand,
};

type Reply<T> = oneshot::Sender<Result<T, ConsumerClientError>>;

enum Waiting {
    RunningInfo(ConsumerRunningInfo, Reply<ConsumerRunningInfo>),
    Verify(Reply<ConsumeMessageDirectlyResult>),
}

impl Waiting {
    /// The broker stopped waiting (it timed out).
    fn abandoned(&self) -> bool {
        match self {
            Waiting::RunningInfo(_, tx) => tx.is_closed(),
            Waiting::Verify(tx) => tx.is_closed(),
        }
    }
}

/// Commands sent to v5 consumers whose answer has not come back, by nonce.
#[derive(Default)]
pub struct PendingAnswers {
    waiting: Mutex<HashMap<String, Waiting>>,
    next_nonce: AtomicU64,
}

impl PendingAnswers {
    fn add(&self, waiting: Waiting) -> String {
        let nonce = format!(
            "ferrocket-{}",
            self.next_nonce.fetch_add(1, Ordering::Relaxed)
        );
        let mut table = self.waiting.lock();
        // answers that never came are dropped once the broker gave up on them
        table.retain(|_, w| !w.abandoned());
        table.insert(nonce.clone(), waiting);
        nonce
    }

    fn forget(&self, nonce: &str) {
        self.waiting.lock().remove(nonce);
    }

    /// Completes the request `command` answers; false when it is no such answer.
    pub fn on_answer(&self, command: &TelemetryCommand) -> bool {
        let code = command
            .status
            .as_ref()
            .and_then(|s| Code::try_from(s.code).ok())
            .unwrap_or(Code::Ok);
        let nonce = match &command.command {
            Some(Command::ThreadStackTrace(t)) => &t.nonce,
            Some(Command::VerifyMessageResult(v)) => &v.nonce,
            _ => return false,
        };
        let Some(waiting) = self.waiting.lock().remove(nonce) else {
            tracing::debug!(nonce, "telemetry answer to no pending command");
            return true;
        };
        match (waiting, &command.command) {
            (Waiting::RunningInfo(mut info, tx), Some(Command::ThreadStackTrace(t))) => {
                let result = match code {
                    Code::Ok => {
                        info.jstack = Some(t.thread_stack_trace.clone().unwrap_or_default());
                        Ok(info)
                    }
                    Code::VerifyFifoMessageUnsupported => Err(refused(
                        response::NO_PERMISSION,
                        "the client refused to print its threads",
                    )),
                    _ => Err(refused(
                        response::SYSTEM_ERROR,
                        "the client failed to print its threads",
                    )),
                };
                let _ = tx.send(result);
            }
            (Waiting::Verify(tx), Some(Command::VerifyMessageResult(_))) => {
                let _ = tx.send(Ok(direct_result(code)));
            }
            _ => tracing::debug!(nonce, "telemetry answer of the wrong kind"),
        }
        true
    }
}

fn refused(code: i32, remark: &str) -> ConsumerClientError {
    ConsumerClientError {
        code,
        remark: remark.to_string(),
    }
}

/// The consume result a VerifyMessageResult status stands for (none for other statuses).
fn direct_result(code: Code) -> ConsumeMessageDirectlyResult {
    let consume_result = match code {
        Code::Ok => Some(CMResult::CrSuccess),
        Code::FailedToConsumeMessage => Some(CMResult::CrLater),
        Code::MessageCorrupted => Some(CMResult::CrReturnNull),
        _ => None,
    };
    ConsumeMessageDirectlyResult {
        consume_result,
        remark: Some("from gRPC client".to_string()),
        ..Default::default()
    }
}

/// The consumer group and the running info a consumer's `settings` describe; `None` for a
/// client that is no consumer.
pub fn consumer_of(settings: &Settings) -> Option<(String, ConsumerRunningInfo)> {
    let client_type = settings
        .client_type
        .and_then(|t| ClientType::try_from(t).ok())?;
    let consume_type = match client_type {
        ClientType::PushConsumer => "CONSUME_PASSIVELY",
        ClientType::SimpleConsumer => "CONSUME_ACTIVELY",
        _ => return None,
    };
    let Some(PubSub::Subscription(subscription)) = &settings.pub_sub else {
        return None;
    };
    let group = subscription.group.as_ref()?.name.clone();
    let mut info = ConsumerRunningInfo::default();
    info.properties
        .insert(PROP_CONSUME_TYPE.to_string(), consume_type.into());
    for entry in &subscription.subscriptions {
        let Some(topic) = entry.topic.as_ref().map(|t| t.name.as_str()) else {
            continue;
        };
        let (kind, expression) = entry
            .expression
            .as_ref()
            .map(|e| (e.r#type, e.expression.as_str()))
            .unwrap_or((FilterType::Tag as i32, "*"));
        let data = if kind == FilterType::Sql as i32 {
            SubscriptionData {
                topic: topic.to_string(),
                sub_string: expression.to_string(),
                expression_type: "SQL92".to_string(),
                ..Default::default()
            }
        } else {
            SubscriptionData::tag(topic, expression)
        };
        info.subscription_set.insert(SubscriptionKey(data));
    }
    Some((group, info))
}

/// A v5 consumer as the broker sees it: its Telemetry stream.
pub struct GrpcConsumerClient {
    /// The client's `x-mq-client-id`.
    pub client_id: String,
    /// Its Telemetry stream.
    pub sender: TelemetrySender,
    /// What the consumer's settings say about it.
    pub info: ConsumerRunningInfo,
    /// Where the commands sent to it wait for their answer.
    pub pending: Arc<PendingAnswers>,
}

impl GrpcConsumerClient {
    /// Writes `command` without waiting on a slow client.
    fn write(&self, nonce: &str, command: Command) -> Result<(), ConsumerClientError> {
        let command = TelemetryCommand {
            status: None,
            command: Some(command),
        };
        self.sender.try_send(Ok(command)).map_err(|e| {
            self.pending.forget(nonce);
            refused(
                response::SYSTEM_ERROR,
                &format!("telemetry stream of {} refused: {e}", self.client_id),
            )
        })
    }
}

impl ConsumerClient for GrpcConsumerClient {
    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn is_active(&self) -> bool {
        !self.sender.is_closed()
    }

    /// Without `jstack_enable` the settings are all there is to tell, answered at once.
    fn consumer_running_info(
        &self,
        jstack_enable: bool,
    ) -> Result<ConsumerAnswer<ConsumerRunningInfo>, ConsumerClientError> {
        let (tx, rx) = oneshot::channel();
        if !jstack_enable {
            let _ = tx.send(Ok(self.info.clone()));
            return Ok(rx);
        }
        let nonce = self
            .pending
            .add(Waiting::RunningInfo(self.info.clone(), tx));
        let command = PrintThreadStackTraceCommand {
            nonce: nonce.clone(),
        };
        self.write(&nonce, Command::PrintThreadStackTraceCommand(command))?;
        Ok(rx)
    }

    fn consume_message_directly(
        &self,
        message: MessageExt,
    ) -> Result<ConsumerAnswer<ConsumeMessageDirectlyResult>, ConsumerClientError> {
        let (tx, rx) = oneshot::channel();
        let nonce = self.pending.add(Waiting::Verify(tx));
        let command = VerifyMessageCommand {
            nonce: nonce.clone(),
            message: Some(to_v2_message(message)),
        };
        self.write(&nonce, Command::VerifyMessageCommand(command))?;
        Ok(rx)
    }
}
