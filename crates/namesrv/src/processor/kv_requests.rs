//! PUT/GET/DELETE_KV_CONFIG and GET_KVLIST_BY_NAMESPACE.

use ferrocket_protocol::code::response;
use ferrocket_protocol::RemotingCommand;

use super::{success, DefaultRequestProcessor, HandlerResult};

/// PUT_KV_CONFIG (100).
pub(super) fn put_kv_config(p: &DefaultRequestProcessor, req: &RemotingCommand) -> HandlerResult {
    let (Some(namespace), Some(key)) = (req.ext("namespace"), req.ext("key")) else {
        return Ok(RemotingCommand::error_to(
            req,
            response::SYSTEM_ERROR,
            "namespace or key is null",
        ));
    };
    let value = req.ext_required("value")?;
    p.kv_config_manager.put_kv_config(namespace, key, value);
    Ok(success(req))
}

/// GET_KV_CONFIG (101): the value in response header `value`, or QUERY_NOT_FOUND (22).
pub(super) fn get_kv_config(p: &DefaultRequestProcessor, req: &RemotingCommand) -> HandlerResult {
    let namespace = req.ext_required("namespace")?;
    let key = req.ext_required("key")?;
    Ok(match p.kv_config_manager.get_kv_config(namespace, key) {
        Some(value) => success(req).with_ext("value", value),
        None => RemotingCommand::error_to(
            req,
            response::QUERY_NOT_FOUND,
            format!("No config item, Namespace: {namespace} Key: {key}"),
        ),
    })
}

/// DELETE_KV_CONFIG (102).
pub(super) fn delete_kv_config(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let namespace = req.ext_required("namespace")?;
    let key = req.ext_required("key")?;
    p.kv_config_manager.delete_kv_config(namespace, key);
    Ok(success(req))
}

/// GET_KVLIST_BY_NAMESPACE (219): a KVTable body, or QUERY_NOT_FOUND (22).
pub(super) fn get_kv_list_by_namespace(
    p: &DefaultRequestProcessor,
    req: &RemotingCommand,
) -> HandlerResult {
    let namespace = req.ext_required("namespace")?;
    Ok(
        match p.kv_config_manager.get_kv_list_by_namespace(namespace) {
            Some(table) => success(req).with_body(ferrocket_protocol::body::encode(&table)),
            None => RemotingCommand::error_to(
                req,
                response::QUERY_NOT_FOUND,
                format!("No config item, Namespace: {namespace}"),
            ),
        },
    )
}
