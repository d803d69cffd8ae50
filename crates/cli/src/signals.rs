//! Waiting for SIGINT / SIGTERM, the signals that ask a server to stop cleanly.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGINT and SIGTERM listeners. Create them before starting servers, so a signal that arrives
/// during start-up is handled (after start-up) instead of killing the process half-way.
pub struct ShutdownSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignals {
    /// Installs the handlers.
    pub fn install() -> anyhow::Result<Self> {
        Ok(ShutdownSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for the next SIGINT or SIGTERM and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    /// After the first signal: a second one aborts a shutdown that hangs.
    pub fn exit_on_second_signal(mut self) {
        tokio::spawn(async move {
            let name = self.recv().await;
            tracing::warn!("{name} received again during shutdown, exiting immediately");
            std::process::exit(130);
        });
    }
}
