//! Maps method and path to a handler.

use std::sync::Arc;

use axum::extract::State;
use axum::Router;

use crate::api::{dlq, groups, messages, overview, replication, topics};
use crate::http::{Request, Response};
use crate::metrics;
use crate::security::{guard, ConsoleSecurity};
use crate::server::{blocking, ConsoleContext};
use crate::ui;

type Handler = fn(&Arc<ConsoleContext>, &Request) -> Response;

/// The synchronous handler for `method path`, if any.
fn sync_handler(method: &str, path: &str) -> Option<Handler> {
    Some(match (method, path) {
        ("GET", "/api/overview") => |c, _| overview::overview(c),
        ("GET", "/api/config") => |c, _| overview::config(c),
        ("GET", "/api/topics") => topics::list,
        ("POST", "/api/topic") => topics::upsert,
        ("POST", "/api/topic/delete") => topics::delete,
        ("GET", "/api/topic/status") => topics::status,
        ("GET", "/api/topic/route") => topics::route,
        ("GET", "/api/groups") => groups::list,
        ("GET", "/api/group") => groups::detail,
        ("POST", "/api/group/reset-offset") => groups::reset_offset,
        ("GET", "/api/producers") => groups::producers,
        ("GET", "/api/messages/by-time") => messages::by_time,
        ("GET", "/api/messages/by-key") => messages::by_key,
        ("GET", "/api/message") => messages::get,
        ("GET", "/api/dlq/groups") => dlq::groups,
        ("GET", "/api/dlq") => dlq::list,
        ("GET", "/metrics") => {
            |c, _| Response::text(metrics::CONTENT_TYPE, metrics::render(&c.broker))
        }
        _ => return None,
    })
}

/// The console's HTTP application: every request passes the security guard, then [`route`].
pub fn app(ctx: Arc<ConsoleContext>, security: Arc<ConsoleSecurity>) -> Router {
    Router::new()
        .fallback(route)
        .with_state(ctx)
        .layer(axum::middleware::from_fn_with_state(security, guard))
}

/// Answers one request.
pub async fn route(State(ctx): State<Arc<ConsoleContext>>, req: Request) -> Response {
    if req.method == "GET" {
        if let Some(r) = ui::asset(&req.path) {
            return r;
        }
    }
    if req.method == "POST" && !req.is_json() {
        return Response::error(
            415,
            "POST requests must send Content-Type: application/json",
        );
    }
    if let Some(handler) = sync_handler(&req.method, &req.path) {
        // handlers read mapped files and walk directories: keep them off the reactor threads
        return blocking(move || handler(&ctx, &req)).await;
    }
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/api/message/send") => messages::send(ctx, req).await,
        ("POST", "/api/dlq/resend") => dlq::resend(ctx, req).await,
        ("GET", "/api/replication") => replication::replication(ctx).await,
        (_, p) if p.starts_with("/api/") || p == "/metrics" => {
            Response::error(404, format!("no API at {} {p}", req.method))
        }
        _ => Response::error(404, format!("no page at {}", req.path)),
    }
}
