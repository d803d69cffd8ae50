//! Requests to the controller quorum: leader-only requests follow the leader (asked with
//! CONTROLLER_GET_METADATA_INFO, re-asked on CONTROLLER_NOT_LEADER), heartbeats go to all.

use std::time::Duration;

use ferrocket_protocol::code::{request, response};
use ferrocket_protocol::RemotingCommand;
use ferrocket_remoting::RemotingClient;
use parking_lot::Mutex;

/// Attempts of one leader-only request (each may re-discover the leader).
const LEADER_ATTEMPTS: usize = 3;
/// Deadline of one request to one controller.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// What can go wrong talking to the controllers.
#[derive(Debug, thiserror::Error)]
pub enum ControllerModeError {
    /// `controllerAddr` is empty.
    #[error("enableControllerMode=true needs controllerAddr")]
    NoControllers,
    /// No controller named a leader, or the leader could not be reached.
    #[error("no controller leader reachable among {0}")]
    NoLeader(String),
    /// The controller answered, but not as hoped.
    #[error("controller refused: {0}")]
    Refused(String),
    /// The broker identity file could not be read or written.
    #[error("broker identity file {path}: {source}")]
    Identity {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl ControllerModeError {
    pub(crate) fn answer(answer: &RemotingCommand, what: &str) -> Self {
        ControllerModeError::Refused(format!(
            "{what} (code {}, {})",
            answer.code,
            answer.remark.as_deref().unwrap_or("")
        ))
    }
}

/// The controller addresses and the leader last found among them.
pub struct ControllerClient {
    addrs: Vec<String>,
    remoting: RemotingClient,
    leader: Mutex<Option<String>>,
}

impl ControllerClient {
    /// A client of the controllers at `addrs`.
    pub fn new(addrs: Vec<String>) -> Result<Self, ControllerModeError> {
        if addrs.is_empty() {
            return Err(ControllerModeError::NoControllers);
        }
        Ok(ControllerClient {
            addrs,
            remoting: RemotingClient::new(),
            leader: Mutex::new(None),
        })
    }

    /// Sends a leader-only request to the leader, finding it again when the one known is gone
    /// or says it no longer leads.
    pub async fn invoke_leader(
        &self,
        cmd: RemotingCommand,
    ) -> Result<RemotingCommand, ControllerModeError> {
        for _ in 0..LEADER_ATTEMPTS {
            let known = self.leader.lock().clone();
            let leader = match known {
                Some(l) => l,
                None => match self.discover_leader().await {
                    Some(l) => l,
                    None => break,
                },
            };
            match self
                .remoting
                .invoke(&leader, cmd.clone(), REQUEST_TIMEOUT)
                .await
            {
                Ok(answer) if answer.code != response::CONTROLLER_NOT_LEADER => return Ok(answer),
                Ok(_) => tracing::info!(%leader, "controller no longer leads; asking again"),
                Err(e) => tracing::warn!(%leader, error = %e, "controller leader unreachable"),
            }
            *self.leader.lock() = None;
        }
        Err(ControllerModeError::NoLeader(self.addrs.join(";")))
    }

    /// CONTROLLER_GET_METADATA_INFO to each controller in turn until one names the leader.
    async fn discover_leader(&self) -> Option<String> {
        for addr in &self.addrs {
            let cmd = RemotingCommand::request(request::CONTROLLER_GET_METADATA_INFO);
            let Ok(answer) = self.remoting.invoke(addr, cmd, REQUEST_TIMEOUT).await else {
                continue;
            };
            let leader = if answer.ext_bool("isLeader") == Some(true) {
                Some(addr.clone())
            } else {
                answer
                    .ext("controllerLeaderAddress")
                    .filter(|a| !a.is_empty())
                    .map(str::to_string)
            };
            if let Some(l) = leader {
                *self.leader.lock() = Some(l.clone());
                return Some(l);
            }
        }
        None
    }

    /// Sends `cmd` to every controller concurrently, waiting at most `timeout` for each.
    pub async fn send_to_all(&self, cmd: RemotingCommand, timeout: Duration) {
        let sends = self.addrs.iter().map(|addr| {
            let cmd = cmd.clone();
            async move {
                if let Err(e) = self.remoting.invoke(addr, cmd, timeout).await {
                    tracing::debug!(%addr, error = %e, "heartbeat to the controller failed");
                }
            }
        });
        futures::future::join_all(sends).await;
    }
}
