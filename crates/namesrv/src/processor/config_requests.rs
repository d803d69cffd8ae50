//! GET_NAMESRV_CONFIG and UPDATE_NAMESRV_CONFIG: the server's settings as properties text.

use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;

use super::{success, DefaultRequestProcessor, HandlerResult, RequestError};
use crate::config::{parse_simple_properties, ConfigUpdateError};

/// GET_NAMESRV_CONFIG (319): `key=value` lines.
pub(super) fn get_namesrv_config(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let text = p.config.read().to_properties_text();
    Ok(success(req).with_body(text.into_bytes()))
}

/// UPDATE_NAMESRV_CONFIG (318): body is properties text; black-listed keys get NO_PERMISSION.
pub(super) fn update_namesrv_config(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    if req.body.is_empty() {
        return Ok(success(req));
    }
    let text = std::str::from_utf8(&req.body)
        .map_err(|_| RequestError::Body("config body is not UTF-8".into()))?;
    let pairs = parse_simple_properties(text);
    let mut config = p.config.write();
    match config.apply_updates(&pairs) {
        Ok(()) => {
            p.route_info_manager
                .set_delete_topic_with_broker_registration(
                    config.delete_topic_with_broker_registration,
                );
            tracing::info!(keys = ?pairs.iter().map(|(k, _)| k).collect::<Vec<_>>(), "name server config updated");
            Ok(success(req))
        }
        Err(ConfigUpdateError::BlackListed(_)) => Ok(RemotingCommand::error_to(
            req,
            response::NO_PERMISSION,
            "Can not update config in black list.",
        )),
        Err(ConfigUpdateError::BadValue { key, value }) => Ok(RemotingCommand::error_to(
            req,
            response::SYSTEM_ERROR,
            format!("bad value '{value}' for name server config key '{key}'"),
        )),
    }
}
