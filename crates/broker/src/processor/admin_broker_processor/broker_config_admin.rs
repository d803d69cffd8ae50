//! UPDATE_BROKER_CONFIG (25): mqadmin `updateBrokerConfig`.

use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;

use super::{error, ok};
use crate::service::AdminService;

/// Applies the properties in the body to the live settings and saves them to the config file.
pub fn update_broker_config(
    ctx: &AdminService,
    request: RemotingCommand,
) -> Option<RemotingCommand> {
    let Some(updater) = ctx.config_updater() else {
        return error(
            &request,
            response::SYSTEM_ERROR,
            "this broker was started without a config updater; change broker.conf and restart",
        );
    };
    if request.body.is_empty() {
        return error(&request, response::SYSTEM_ERROR, "string2Properties error");
    }
    let text = String::from_utf8_lossy(&request.body).into_owned();
    match updater.update(&ctx.config.get(), &text) {
        Ok(update) => {
            ctx.replace_broker_config(update.config);
            if update.after_restart.is_empty() {
                tracing::info!(properties = %text.trim(), "broker config updated");
                ok(&request)
            } else {
                tracing::info!(
                    properties = %text.trim(),
                    after_restart = ?update.after_restart,
                    "broker config updated; some keys apply after a restart"
                );
                ok(&request).map(|r| {
                    r.with_remark(format!(
                        "saved; takes effect after a restart: {}",
                        update.after_restart.join(", ")
                    ))
                })
            }
        }
        Err(e) => {
            tracing::warn!(properties = %text.trim(), error = %e, "broker config update refused");
            error(&request, response::SYSTEM_ERROR, e)
        }
    }
}
