//! The @connections API (`apigatewaymanagementapi`, signed for `execute-api`):
//! PostToConnection, GetConnection and DeleteConnection on a connection this node holds; a
//! connection that is not (closed, or held by a run that ended) is gone: 410 GoneException.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde_json::json;

use super::{MAX_MESSAGE, Outgoing};
use crate::Inner;
use crate::execute::HttpAnswer;

/// A request to `/{stage}/@connections/{connectionId}`.
#[derive(Debug, Clone)]
pub struct ManageRequest {
    pub api_id: String,
    pub stage: String,
    pub method: String,
    /// Percent-decoded.
    pub connection_id: String,
    pub body: Bytes,
}

fn error(status: u16, code: &str, message: Option<&str>) -> HttpAnswer {
    let body = match message {
        Some(m) => json!({ "message": m }),
        None => json!({}),
    };
    HttpAnswer::new(
        status,
        vec![("content-type".into(), "application/json".into()), ("x-amzn-ErrorType".into(), code.into())],
        body.to_string().into_bytes(),
    )
}

pub(crate) async fn manage(i: &Inner, req: ManageRequest) -> HttpAnswer {
    let conn = i.connections.get(&req.connection_id).filter(|c| c.api_id == req.api_id);
    let Some(conn) = conn else { return error(410, "GoneException", None) };
    match req.method.as_str() {
        "POST" => {
            if req.body.len() > MAX_MESSAGE {
                return error(413, "PayloadTooLargeException", Some("Message too long"));
            }
            let out = match std::str::from_utf8(&req.body) {
                Ok(text) => Outgoing::Text(text.to_string()),
                Err(_) => Outgoing::Binary(req.body.to_vec()),
            };
            match conn.tx.try_send(out) {
                Ok(()) => HttpAnswer::new(200, Vec::new(), Vec::new()),
                Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => error(429, "LimitExceededException", None),
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => error(410, "GoneException", None),
            }
        }
        "GET" => {
            let mut identity = json!({ "sourceIp": conn.source_ip });
            if let Some(ua) = &conn.user_agent {
                identity["userAgent"] = json!(ua);
            }
            let body = json!({
                "connectedAt": stratus_core::time::iso8601_millis(conn.connected_at),
                "identity": identity,
                "lastActiveAt": stratus_core::time::iso8601_millis(conn.last_active.load(Ordering::Relaxed)),
            });
            HttpAnswer::new(
                200,
                vec![("content-type".into(), "application/json".into())],
                body.to_string().into_bytes(),
            )
        }
        "DELETE" => {
            conn.send(Outgoing::Close(1000, "Connection deleted".into()));
            HttpAnswer::new(204, Vec::new(), Vec::new())
        }
        _ => error(403, "ForbiddenException", None),
    }
}
