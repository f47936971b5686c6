//! The Lambda proxy events of WebSocket APIs, as AWS documents them: CONNECT (with the
//! handshake's headers and query string), MESSAGE (the message as `body`) and DISCONNECT (with
//! `disconnectStatusCode` and `disconnectReason`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::Conn;
use crate::execute::clf_time;

/// What one event is about.
pub enum Kind<'a> {
    Connect { headers: &'a [(String, String)], query: Option<&'a str> },
    Message { message_id: &'a str, body: &'a [u8], binary: bool },
    Disconnect { code: u16, reason: &'a str },
}

fn single_and_multi(pairs: &[(String, String)]) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        single.insert(k.clone(), Value::String(v.clone()));
        match multi.get_mut(k).and_then(Value::as_array_mut) {
            Some(list) => list.push(Value::String(v.clone())),
            None => {
                multi.insert(k.clone(), json!([v]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

/// `requestContext` for one event on a connection.
pub fn request_context(conn: &Conn, route_key: &str, kind: &Kind<'_>, request_id: &str, now: u64) -> Value {
    let event_type = match kind {
        Kind::Connect { .. } => "CONNECT",
        Kind::Message { .. } => "MESSAGE",
        Kind::Disconnect { .. } => "DISCONNECT",
    };
    let mut identity = json!({ "sourceIp": conn.source_ip });
    if let Some(ua) = &conn.user_agent {
        identity["userAgent"] = json!(ua);
    }
    let mut ctx = json!({
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": clf_time(now),
        "messageDirection": "IN",
        "stage": conn.stage,
        "connectedAt": conn.connected_at,
        "requestTimeEpoch": now,
        "identity": identity,
        "requestId": request_id,
        "domainName": conn.domain_name,
        "connectionId": conn.id,
        "apiId": conn.api_id,
    });
    if let Some(a) = conn.authorizer.get() {
        ctx["authorizer"] = a.clone();
    }
    match kind {
        Kind::Message { message_id, .. } => ctx["messageId"] = json!(message_id),
        Kind::Disconnect { code, reason } => {
            ctx["disconnectStatusCode"] = json!(code);
            ctx["disconnectReason"] = json!(reason);
        }
        Kind::Connect { .. } => {}
    }
    ctx
}

/// The event a Lambda proxy integration receives.
pub fn event(
    conn: &Conn,
    route_key: &str,
    kind: &Kind<'_>,
    request_id: &str,
    now: u64,
    stage_variables: &[(String, String)],
) -> Value {
    let mut e = Map::new();
    match kind {
        Kind::Connect { headers, query } => {
            let (single, multi) = single_and_multi(headers);
            e.insert("headers".into(), single);
            e.insert("multiValueHeaders".into(), multi);
            if let Some(q) = query.filter(|q| !q.is_empty()) {
                let pairs: Vec<(String, String)> =
                    form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                let (single, multi) = single_and_multi(&pairs);
                e.insert("queryStringParameters".into(), single);
                e.insert("multiValueQueryStringParameters".into(), multi);
            }
        }
        Kind::Disconnect { .. } => {
            let pairs: Vec<(String, String)> = vec![
                ("Host".into(), conn.domain_name.clone()),
                ("x-api-key".into(), String::new()),
                ("X-Forwarded-For".into(), String::new()),
                ("x-restapi".into(), String::new()),
            ];
            let (single, multi) = single_and_multi(&pairs);
            e.insert("headers".into(), single);
            e.insert("multiValueHeaders".into(), multi);
        }
        Kind::Message { .. } => {}
    }
    e.insert("requestContext".into(), request_context(conn, route_key, kind, request_id, now));
    if !stage_variables.is_empty() {
        let vars: Map<String, Value> =
            stage_variables.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
        e.insert("stageVariables".into(), Value::Object(vars));
    }
    match kind {
        Kind::Message { body, binary: true, .. } => {
            e.insert("body".into(), Value::String(STANDARD.encode(body)));
            e.insert("isBase64Encoded".into(), Value::Bool(true));
        }
        Kind::Message { body, .. } => {
            e.insert("body".into(), Value::String(String::from_utf8_lossy(body).into_owned()));
            e.insert("isBase64Encoded".into(), Value::Bool(false));
        }
        _ => {
            e.insert("isBase64Encoded".into(), Value::Bool(false));
        }
    }
    Value::Object(e)
}

/// What a function's answer to a proxy event means: its status (`statusCode`, 200 when the
/// answer is not a proxy response), headers, and the body to send back on two-way routes.
pub struct ProxyAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Option<(Vec<u8>, bool)>,
}

pub fn proxy_answer(payload: &[u8]) -> ProxyAnswer {
    let parsed: Option<Value> = serde_json::from_slice(payload).ok();
    let Some(Value::Object(o)) = parsed.as_ref().filter(|v| v.get("statusCode").is_some()) else {
        let body = match &parsed {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some((s.clone().into_bytes(), false)),
            Some(_) => Some((payload.to_vec(), false)),
        };
        return ProxyAnswer { status: 200, headers: Vec::new(), body };
    };
    let status = match o.get("statusCode") {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(500),
        Some(Value::String(s)) => s.parse().unwrap_or(500),
        _ => 500,
    };
    let headers = o
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), s.clone())),
                    Value::Number(_) | Value::Bool(_) => Some((k.clone(), v.to_string())),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let base64 = o.get("isBase64Encoded").and_then(Value::as_bool) == Some(true);
    let body = match o.get("body") {
        Some(Value::String(s)) if base64 => STANDARD.decode(s).ok().map(|b| (b, true)),
        Some(Value::String(s)) => Some((s.clone().into_bytes(), false)),
        Some(Value::Null) | None => None,
        Some(other) => Some((other.to_string().into_bytes(), false)),
    };
    ProxyAnswer { status, headers, body }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn answers_of_functions() {
        let a = proxy_answer(br#"{"statusCode": 401, "body": "no"}"#);
        assert_eq!((a.status, a.body.unwrap().0), (401, b"no".to_vec()));
        let a = proxy_answer(br#"{"statusCode": "200", "headers": {"Sec-WebSocket-Protocol": "chat"}}"#);
        assert_eq!(a.status, 200);
        assert_eq!(a.headers, vec![("Sec-WebSocket-Protocol".to_string(), "chat".to_string())]);
        assert!(a.body.is_none());
        let a = proxy_answer(br#"{"hello": 1}"#);
        assert_eq!((a.status, a.body.unwrap().0), (200, br#"{"hello": 1}"#.to_vec()));
        let a = proxy_answer(b"\"text\"");
        assert_eq!(a.body.unwrap().0, b"text".to_vec());
        assert!(proxy_answer(b"null").body.is_none());
        let a = proxy_answer(br#"{"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}"#);
        assert_eq!(a.body.unwrap(), (b"hi".to_vec(), true));
    }
}
