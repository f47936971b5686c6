//! Lambda targets: the event a function receives from a load balancer, and how its answer
//! becomes the HTTP response (AWS's "Lambda functions as targets" contract).

use base64::Engine;
use serde_json::{Map, Value, json};

use super::{AlbRequest, HttpAnswer};

/// Request bodies larger than this answer 413; larger function answers are a 502.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// Content types whose bodies the event carries as text (others are base64).
fn is_text(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    ct.starts_with("text/") || matches!(ct.as_str(), "application/json" | "application/javascript" | "application/xml")
}

/// Query parameters as received (not decoded), in order.
pub fn raw_query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (p.to_string(), String::new()),
        })
        .collect()
}

/// The event for `req`, whose headers already carry what the load balancer adds.
pub fn event(req: &AlbRequest, target_group_arn: &str, multi_value: bool) -> Value {
    let mut ev = Map::new();
    ev.insert("requestContext".into(), json!({"elb": {"targetGroupArn": target_group_arn}}));
    ev.insert("httpMethod".into(), Value::String(req.method.clone()));
    ev.insert("path".into(), Value::String(req.path.clone()));
    let query = raw_query_pairs(req.query.as_deref());
    let headers: Vec<(String, String)> = req.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect();
    if multi_value {
        ev.insert("multiValueQueryStringParameters".into(), multi(&query));
        ev.insert("multiValueHeaders".into(), multi(&headers));
    } else {
        ev.insert("queryStringParameters".into(), single(&query));
        ev.insert("headers".into(), single(&headers));
    }
    let content_type = req.header("content-type");
    let (body, b64) = if req.body.is_empty() {
        (String::new(), false)
    } else if is_text(content_type) {
        match std::str::from_utf8(&req.body) {
            Ok(s) => (s.to_string(), false),
            Err(_) => (base64::engine::general_purpose::STANDARD.encode(&req.body), true),
        }
    } else {
        (base64::engine::general_purpose::STANDARD.encode(&req.body), true)
    };
    ev.insert("body".into(), Value::String(body));
    ev.insert("isBase64Encoded".into(), Value::Bool(b64));
    Value::Object(ev)
}

/// Last value wins.
fn single(pairs: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.clone(), Value::String(v.clone()));
    }
    Value::Object(m)
}

fn multi(pairs: &[(String, String)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        if let Value::Array(a) = m.entry(k.clone()).or_insert_with(|| Value::Array(Vec::new())) {
            a.push(Value::String(v.clone()));
        }
    }
    Value::Object(m)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Headers the load balancer sets itself, whatever the function answers.
fn hop_by_hop(name: &str) -> bool {
    ["connection", "transfer-encoding", "content-length", "keep-alive", "upgrade"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// The HTTP response for a function's answer; `None` when the answer is malformed (502).
pub fn response(payload: &[u8], multi_value: bool) -> Option<HttpAnswer> {
    if payload.len() > MAX_PAYLOAD {
        return None;
    }
    let v: Value = serde_json::from_slice(payload).ok()?;
    let obj = v.as_object()?;
    let status = match obj.get("statusCode")? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    if !(100..=599).contains(&status) {
        return None;
    }
    let mut headers = Vec::new();
    if multi_value {
        if let Some(h) = obj.get("multiValueHeaders").filter(|h| !h.is_null()) {
            for (k, vals) in h.as_object()? {
                for val in vals.as_array()? {
                    headers.push((k.clone(), scalar_text(val)?));
                }
            }
        }
    } else {
        let single = obj.get("headers").filter(|h| !h.is_null());
        if single.is_none() && obj.get("multiValueHeaders").is_some_and(|h| !h.is_null()) {
            // Multi-value headers while the target group does not enable them.
            return None;
        }
        if let Some(h) = single {
            for (k, val) in h.as_object()? {
                headers.push((k.clone(), scalar_text(val)?));
            }
        }
    }
    headers.retain(|(k, _)| !hop_by_hop(k));
    let b64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return None,
    };
    let body = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if b64 => base64::engine::general_purpose::STANDARD.decode(s.trim()).ok()?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(_) => return None,
    };
    Some(HttpAnswer { status: status as u16, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: Vec<(&str, &str)>, query: Option<&str>, body: &[u8]) -> AlbRequest {
        AlbRequest {
            method: "POST".into(),
            path: "/lambda".into(),
            query: query.map(str::to_string),
            headers: headers.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: bytes::Bytes::copy_from_slice(body),
            source_ip: "127.0.0.1".into(),
            host: "lb-1.us-east-1.elb.localhost".into(),
            port: None,
        }
    }

    #[test]
    fn event_single_value() {
        let r = req(
            vec![("Content-Type", "application/json"), ("X-A", "1"), ("x-a", "2")],
            Some("a=1&a=2&b=%20x&flag"),
            b"{\"k\":1}",
        );
        let ev = event(&r, "arn:tg", false);
        assert_eq!(ev["requestContext"]["elb"]["targetGroupArn"], "arn:tg");
        assert_eq!(ev["httpMethod"], "POST");
        assert_eq!(ev["path"], "/lambda");
        assert_eq!(ev["queryStringParameters"], json!({"a": "2", "b": "%20x", "flag": ""}));
        assert_eq!(ev["headers"]["x-a"], "2");
        assert_eq!(ev["headers"]["content-type"], "application/json");
        assert_eq!(ev["body"], "{\"k\":1}");
        assert_eq!(ev["isBase64Encoded"], false);
        assert!(ev.get("multiValueHeaders").is_none());
    }

    #[test]
    fn event_multi_value_and_binary() {
        let r = req(vec![("X-A", "1"), ("x-a", "2"), ("Content-Type", "image/png")], None, &[0, 1, 2]);
        let ev = event(&r, "arn:tg", true);
        assert_eq!(ev["multiValueHeaders"]["x-a"], json!(["1", "2"]));
        assert_eq!(ev["multiValueQueryStringParameters"], json!({}));
        assert!(ev.get("headers").is_none() && ev.get("queryStringParameters").is_none());
        assert_eq!(ev["body"], "AAEC");
        assert_eq!(ev["isBase64Encoded"], true);
        let empty = event(&req(vec![], None, b""), "arn:tg", false);
        assert_eq!(empty["body"], "");
        assert_eq!(empty["isBase64Encoded"], false);
        assert_eq!(empty["queryStringParameters"], json!({}));
    }

    #[test]
    fn responses() {
        let ok = response(br#"{"statusCode": 201, "statusDescription": "201 Created", "headers": {"X-B": "1", "Connection": "close"}, "body": "hi"}"#, false)
            .expect("valid");
        assert_eq!(ok.status, 201);
        assert_eq!(ok.headers, vec![("X-B".to_string(), "1".to_string())]);
        assert_eq!(ok.body, b"hi");
        let bin = response(br#"{"statusCode": 200, "isBase64Encoded": true, "body": "AAEC"}"#, false).expect("valid");
        assert_eq!(bin.body, vec![0, 1, 2]);
        let multi = response(br#"{"statusCode": 200, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}}"#, true)
            .expect("valid");
        assert_eq!(multi.headers.len(), 2);
        assert!(response(br#"{"statusCode": 200, "multiValueHeaders": {"A": ["1"]}}"#, false).is_none());
        assert!(response(b"not json", false).is_none());
        assert!(response(br#"{"body": "no status"}"#, false).is_none());
        assert!(response(br#"{"statusCode": 200, "body": 5}"#, false).is_none());
        assert!(response(br#"{"statusCode": 200, "isBase64Encoded": true, "body": "!!"}"#, false).is_none());
        assert!(response(b"[1]", false).is_none());
    }
}
