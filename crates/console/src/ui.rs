//! The single-page UI, embedded in the binary (plain HTML, JavaScript and CSS; no build step).

use crate::http::Response;

const INDEX_HTML: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const APP_CSS: &str = include_str!("../ui/app.css");

/// The asset at `path`, if it is one.
pub fn asset(path: &str) -> Option<Response> {
    Some(match path {
        "/" | "/index.html" => Response::text("text/html; charset=utf-8", INDEX_HTML),
        "/app.js" => Response::text("text/javascript; charset=utf-8", APP_JS),
        "/app.css" => Response::text("text/css; charset=utf-8", APP_CSS),
        _ => return None,
    })
}
