//! The Lambda proxy integration's event (payload format 1.0) and the function's answer, exactly
//! as API Gateway builds and reads them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::{Call, HttpAnswer};

/// `{name: value}` (the last value of each name) and `{name: [values]}`, or nulls when empty.
pub fn single_and_multi(pairs: &[(String, String)]) -> (Value, Value) {
    if pairs.is_empty() {
        return (Value::Null, Value::Null);
    }
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        single.insert(k.clone(), Value::String(v.clone()));
        match multi.get_mut(k) {
            Some(Value::Array(a)) => a.push(Value::String(v.clone())),
            _ => {
                multi.insert(k.clone(), json!([v]));
            }
        }
    }
    (Value::Object(single), Value::Object(multi))
}

fn map_or_null(pairs: &[(String, String)]) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        Value::Object(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    }
}

/// The proxy event of a call (`authorizer` is the `requestContext.authorizer` object, if any).
pub fn proxy_event(c: &Call<'_>) -> Value {
    let (headers, multi_headers) = single_and_multi(&c.headers);
    let (query, multi_query) = single_and_multi(&c.query);
    let (body, b64) = body_of(c);
    json!({
        "resource": c.resource_path,
        "path": c.path,
        "httpMethod": c.req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": map_or_null(&c.path_params),
        "stageVariables": map_or_null(&c.stage_variables),
        "requestContext": c.request_context(),
        "body": body,
        "isBase64Encoded": b64,
    })
}

/// The body as the event carries it: null when empty, base64 when its type is binary.
fn body_of(c: &Call<'_>) -> (Value, bool) {
    if c.req.body.is_empty() {
        return (Value::Null, false);
    }
    let content_type = c.header("content-type").unwrap_or("");
    if c.binary_type(content_type) {
        return (Value::String(STANDARD.encode(&c.req.body)), true);
    }
    (Value::String(String::from_utf8_lossy(&c.req.body).into_owned()), false)
}

/// The function's answer as an HTTP response, or None when it is malformed (a 502).
pub fn proxy_response(payload: &[u8], c: &Call<'_>) -> Option<HttpAnswer> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Some(HttpAnswer::new(200, Vec::new(), Vec::new()));
    }
    let v: Value = serde_json::from_slice(payload).ok()?;
    let Value::Object(o) = v else {
        return if v.is_null() { Some(HttpAnswer::new(200, Vec::new(), Vec::new())) } else { None };
    };
    let r = stratus_core::http::ProxyResponse::parse(&o)?;
    let body = if r.base64 && c.accepts_binary() { STANDARD.decode(&r.body).unwrap_or(r.body) } else { r.body };
    Some(HttpAnswer::new(r.status, r.headers, body))
}
