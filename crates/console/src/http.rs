//! The console handlers' request and response types, and their conversion from and to axum's:
//! handlers see a decoded path, query pairs and the whole body, and answer a status, a content
//! type and bytes. HTTP itself (parsing, limits, timeouts) is hyper's and tower's, in `server`.

use axum::extract::FromRequest;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Largest request body accepted (a message sent from the console).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// A parsed request.
#[derive(Debug, Default)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query string, percent-decoded.
    pub path: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// `Content-Type` without parameters, lower-cased (empty when absent).
    pub content_type: String,
}

impl Request {
    /// Whether the body is declared as JSON. Browsers send a cross-site form or a cross-origin
    /// `fetch` without a preflight only as form or text types, so requiring JSON on every POST
    /// keeps other web pages from driving the console.
    pub fn is_json(&self) -> bool {
        self.content_type == "application/json"
    }

    /// The first query parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required, non-empty query parameter.
    pub fn required(&self, name: &str) -> Result<&str, Response> {
        match self.param(name).map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Response::error(
                400,
                format!("the query parameter '{name}' is required"),
            )),
        }
    }

    /// A numeric query parameter with a default.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Response> {
        match self.param(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                Response::error(
                    400,
                    format!("the query parameter '{name}' is not a number: {v}"),
                )
            }),
        }
    }

    /// The body as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Response> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Response::error(400, format!("the request body is not valid JSON: {e}")))
    }
}

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// 200 with a JSON body.
    pub fn json<T: Serialize>(value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response {
                status: 200,
                content_type: "application/json",
                body,
            },
            Err(e) => Response::error(500, format!("cannot encode the answer: {e}")),
        }
    }

    /// An error with `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> Response {
        let body = serde_json::json!({ "error": message.into() });
        Response {
            status,
            content_type: "application/json",
            body: body.to_string().into_bytes(),
        }
    }

    /// 200 with a static text body.
    pub fn text(content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status: 200,
            content_type,
            body: body.into(),
        }
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> axum::response::Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ];
        (status, headers, self.body).into_response()
    }
}

#[axum::async_trait]
impl<S: Send + Sync> FromRequest<S> for Request {
    type Rejection = Response;

    /// The handlers' view of a request: method, decoded path and query, `Content-Type` and the
    /// body (bounded by the body limit layer in front of the router).
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let method = req.method().as_str().to_string();
        let path = percent_decode(req.uri().path());
        let query = parse_query(req.uri().query().unwrap_or(""));
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let body = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status().as_u16();
            Response::error(
                status,
                format!("cannot read the request body: {}", e.body_text()),
            )
        })?;
        Ok(Request {
            method,
            path,
            query,
            body: body.to_vec(),
            content_type,
        })
    }
}

/// `a=1&b=x%20y` into pairs (`+` is a space, as forms send it).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        let q = parse_query("topic=%25DLQ%25g1&q=a+b&empty=&flag");
        assert_eq!(q[0], ("topic".into(), "%DLQ%g1".into()));
        assert_eq!(q[1], ("q".into(), "a b".into()));
        assert_eq!(q[2], ("empty".into(), "".into()));
        assert_eq!(q[3], ("flag".into(), "".into()));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
