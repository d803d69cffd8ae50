//! `ClientActivity`: Heartbeat, NotifyClientTermination and the Settings exchange of the
//! Telemetry stream. A v5 client first sends its Settings on Telemetry and waits for the answer
//! before it reports itself started; heartbeats and its termination refer to those settings.

use crate::client_settings::GrpcClientSettingsManager;
use crate::context::ProxyContext;
use crate::status::{ok, ProxyError, ProxyResult};
use crate::v2::telemetry_command::Command;
use crate::v2::{Code, Settings, TelemetryCommand};
use crate::view::ProxyBrokerView;

fn unrecognized(client_id: &str) -> ProxyError {
    ProxyError::new(
        Code::UnrecognizedClientType,
        format!(
            "no settings of client {client_id}: open the Telemetry stream and send Settings first"
        ),
    )
}

/// Heartbeat: the client must have sent its settings (UNRECOGNIZED_CLIENT_TYPE otherwise, as
/// Apache's proxy answers); it is marked alive.
pub fn heartbeat(settings: &GrpcClientSettingsManager, context: &ProxyContext) -> ProxyResult<()> {
    settings
        .touch(&context.client_id)
        .map(|_| ())
        .ok_or_else(|| unrecognized(&context.client_id))
}

/// NotifyClientTermination: the client's settings are dropped.
pub fn notify_client_termination(
    settings: &GrpcClientSettingsManager,
    context: &ProxyContext,
) -> ProxyResult<()> {
    settings
        .remove(&context.client_id)
        .map(|_| ())
        .ok_or_else(|| unrecognized(&context.client_id))
}

/// One command received on a Telemetry stream: Settings are stored and answered with the
/// merged settings and status OK; what a client sends back for server-initiated commands
/// (thread stack traces, verification results) needs no answer, since this server sends
/// none of those commands yet.
pub fn telemetry_command(
    settings: &GrpcClientSettingsManager,
    broker: &ProxyBrokerView,
    context: &ProxyContext,
    command: TelemetryCommand,
) -> ProxyResult<Option<TelemetryCommand>> {
    match command.command {
        Some(Command::Settings(s)) => {
            let merged: Settings = settings.update(&context.client_id, s, broker)?;
            Ok(Some(TelemetryCommand {
                status: Some(ok()),
                command: Some(Command::Settings(merged)),
            }))
        }
        Some(other) => {
            tracing::debug!(
                client = %context.client_id,
                command = ?std::mem::discriminant(&other),
                "telemetry command ignored"
            );
            Ok(None)
        }
        None => Err(ProxyError::new(
            Code::BadRequest,
            "a telemetry command without content",
        )),
    }
}
