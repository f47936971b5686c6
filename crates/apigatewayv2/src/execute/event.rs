//! The Lambda proxy events of HTTP APIs (payload format 2.0 and 1.0) and the rules by which a
//! function's answer becomes the HTTP response, as AWS documents them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use stratus_core::http::{proxy_status as status_of, proxy_text as text};

use super::{Call, HttpAnswer};

/// Whether a body of this content type reaches the function as text (else base64).
pub fn is_text(content_type: &str) -> bool {
    let ct = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    ct.starts_with("text/")
        || ct.ends_with("/json")
        || ct.ends_with("+json")
        || ct.ends_with("/xml")
        || ct.ends_with("+xml")
        || ct == "application/javascript"
        || ct == "application/ecmascript"
}

fn body_of(c: &Call<'_>) -> Option<(Value, bool)> {
    if c.req.body.is_empty() {
        return None;
    }
    let ct = c.header("content-type").unwrap_or("");
    if is_text(ct) && std::str::from_utf8(&c.req.body).is_ok() {
        Some((Value::String(String::from_utf8_lossy(&c.req.body).into_owned()), false))
    } else {
        Some((Value::String(STANDARD.encode(&c.req.body)), true))
    }
}

fn object(pairs: &[(String, String)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
}

/// Values of repeated names joined with commas, in first-seen order.
pub fn joined(pairs: impl IntoIterator<Item = (String, String)>) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (k, v) in pairs {
        match out.get_mut(&k) {
            Some(Value::String(s)) => {
                s.push(',');
                s.push_str(&v);
            }
            _ => {
                out.insert(k, Value::String(v));
            }
        }
    }
    out
}

/// The cookies of the request's Cookie headers, one entry each.
pub fn cookies(headers: &[(String, String)]) -> Vec<String> {
    headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// The payload format 2.0 event.
pub fn event_v2(c: &Call<'_>) -> Value {
    let headers = joined(
        c.headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("cookie"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
    );
    let mut e = json!({
        "version": "2.0",
        "routeKey": c.route_key,
        "rawPath": c.raw_path,
        "rawQueryString": c.req.query.clone().unwrap_or_default(),
        "headers": headers,
        "requestContext": {
            "accountId": c.account,
            "apiId": c.req.api_id,
            "domainName": c.domain_name(),
            "domainPrefix": c.domain_name().split('.').next().unwrap_or(""),
            "http": {
                "method": c.req.method,
                "path": c.raw_path,
                "protocol": c.req.protocol,
                "sourceIp": c.req.source_ip,
                "userAgent": c.header("user-agent").unwrap_or(""),
            },
            "requestId": c.request_id,
            "routeKey": c.route_key,
            "stage": c.stage,
            "time": super::clf_time(c.now_ms),
            "timeEpoch": c.now_ms,
        },
        "isBase64Encoded": false,
    });
    if let Some(a) = &c.authorizer {
        e["requestContext"]["authorizer"] = a.clone();
    }
    let cookies = cookies(&c.headers);
    if !cookies.is_empty() {
        e["cookies"] = json!(cookies);
    }
    if !c.query.is_empty() {
        e["queryStringParameters"] = Value::Object(joined(c.query.iter().cloned()));
    }
    if !c.path_params.is_empty() {
        e["pathParameters"] = Value::Object(object(&c.path_params));
    }
    if !c.stage_variables.is_empty() {
        e["stageVariables"] = Value::Object(object(&c.stage_variables));
    }
    if let Some((body, b64)) = body_of(c) {
        e["body"] = body;
        e["isBase64Encoded"] = json!(b64);
    }
    e
}

/// `{name: value}` (the last value of each name) and `{name: [values]}`, or nulls when empty.
fn single_and_multi(pairs: &[(String, String)]) -> (Value, Value) {
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

fn or_null(pairs: &[(String, String)]) -> Value {
    if pairs.is_empty() { Value::Null } else { Value::Object(object(pairs)) }
}

/// The payload format 1.0 event (the REST API proxy event, as HTTP APIs send it).
pub fn event_v1(c: &Call<'_>) -> Value {
    let (headers, multi_headers) = single_and_multi(&c.headers);
    let (query, multi_query) = single_and_multi(&c.query);
    let resource = c.route_key.split_once(' ').map(|(_, p)| p).unwrap_or(&c.route_key).to_string();
    let (body, b64) = body_of(c).unwrap_or((Value::Null, false));
    let mut e = json!({
        "version": "1.0",
        "resource": resource,
        "path": c.raw_path,
        "httpMethod": c.req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "requestContext": {
            "accountId": c.account,
            "apiId": c.req.api_id,
            "domainName": c.domain_name(),
            "domainPrefix": c.domain_name().split('.').next().unwrap_or(""),
            "extendedRequestId": c.request_id,
            "httpMethod": c.req.method,
            "identity": {
                "accessKey": null, "accountId": null, "caller": null, "cognitoAuthenticationProvider": null,
                "cognitoAuthenticationType": null, "cognitoIdentityId": null, "cognitoIdentityPoolId": null,
                "principalOrgId": null, "sourceIp": c.req.source_ip, "user": null,
                "userAgent": c.header("user-agent").unwrap_or(""), "userArn": null,
            },
            "path": c.raw_path,
            "protocol": c.req.protocol,
            "requestId": c.request_id,
            "requestTime": super::clf_time(c.now_ms),
            "requestTimeEpoch": c.now_ms,
            "resourceId": c.route_key,
            "resourcePath": resource,
            "stage": c.stage,
        },
        "pathParameters": or_null(&c.path_params),
        "stageVariables": or_null(&c.stage_variables),
        "body": body,
        "isBase64Encoded": b64,
    });
    if let Some(a) = &c.authorizer {
        e["requestContext"]["authorizer"] = a.clone();
    }
    e
}

fn body_bytes(o: &Map<String, Value>) -> Option<Vec<u8>> {
    let body = match o.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    let b64 = match o.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(_) => return None,
    };
    if b64 { STANDARD.decode(&body).ok() } else { Some(body) }
}

/// The function's answer under payload 2.0, or None when it is not JSON (a 500). An object
/// with `statusCode` is a structured response; anything else is the body of a 200 answered as
/// `application/json` (a string without its quotes).
pub fn response_v2(payload: &[u8]) -> Option<HttpAnswer> {
    let json_type = || vec![("content-type".to_string(), "application/json".to_string())];
    let v: Value = serde_json::from_slice(payload).ok()?;
    let o = match v {
        Value::Object(o) if o.contains_key("statusCode") => o,
        Value::String(s) => return Some(HttpAnswer::new(200, json_type(), s.into_bytes())),
        other => return Some(HttpAnswer::new(200, json_type(), other.to_string().into_bytes())),
    };
    let status = status_of(o.get("statusCode"))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    match o.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                headers.push((k.clone(), text(v)?));
            }
        }
        Some(_) => return None,
    }
    match o.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, vs) in m {
                let Value::Array(vs) = vs else { return None };
                for v in vs {
                    headers.push((k.clone(), text(v)?));
                }
            }
        }
        Some(_) => return None,
    }
    match o.get("cookies") {
        None | Some(Value::Null) => {}
        Some(Value::Array(cs)) => {
            for c in cs {
                headers.push(("set-cookie".to_string(), text(c)?));
            }
        }
        Some(_) => return None,
    }
    Some(HttpAnswer::new(status, headers, body_bytes(&o)?))
}

/// The function's answer under payload 1.0 (the REST API proxy rules), or None when malformed.
pub fn response_v1(payload: &[u8]) -> Option<HttpAnswer> {
    let v: Value = serde_json::from_slice(payload).ok()?;
    let Value::Object(o) = v else { return None };
    let r = stratus_core::http::ProxyResponse::parse(&o)?;
    let body = if r.base64 { STANDARD.decode(&r.body).ok()? } else { r.body };
    Some(HttpAnswer::new(r.status, r.headers, body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn simple_responses_are_inferred() {
        let a = response_v2(br#""hello""#).unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(a.header("content-type"), Some("application/json"));
        let a = response_v2(br#"{"message": "hi"}"#).unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &br#"{"message":"hi"}"#[..]));
        let a = response_v2(b"42").unwrap();
        assert_eq!(a.body, b"42");
        assert!(response_v2(b"not json").is_none());
    }

    #[test]
    fn structured_responses() {
        let a = response_v2(
            br#"{"statusCode": 201, "headers": {"x-a": "1", "x-n": 2}, "cookies": ["a=1", "b=2; Path=/"],
                 "body": "aGk=", "isBase64Encoded": true}"#,
        )
        .unwrap();
        assert_eq!(a.status, 201);
        assert_eq!(a.body, b"hi");
        assert_eq!(a.header("x-n"), Some("2"));
        let cookies: Vec<&str> = a.headers.iter().filter(|(k, _)| k == "set-cookie").map(|(_, v)| v.as_str()).collect();
        assert_eq!(cookies, ["a=1", "b=2; Path=/"]);
        assert!(response_v2(br#"{"statusCode": "abc"}"#).is_none());
        assert!(response_v2(br#"{"statusCode": 200, "headers": []}"#).is_none());
    }

    #[test]
    fn version_one_responses() {
        let a = response_v1(br#"{"statusCode": 202, "body": "x", "multiValueHeaders": {"a": ["1", "2"]}}"#).unwrap();
        assert_eq!((a.status, a.headers.len()), (202, 2));
        assert!(response_v1(br#""bare""#).is_none());
        assert!(response_v1(br#"{"statusCode": 200, "extra": 1}"#).is_none());
    }

    #[test]
    fn cookies_headers_and_text_types() {
        let h = vec![("Cookie".to_string(), "a=1; b=2".to_string()), ("cookie".to_string(), "c=3".to_string())];
        assert_eq!(cookies(&h), ["a=1", "b=2", "c=3"]);
        let j = joined(vec![("x".into(), "1".into()), ("x".into(), "2".into()), ("y".into(), "3".into())]);
        assert_eq!(Value::Object(j), json!({"x": "1,2", "y": "3"}));
        assert!(is_text("application/json; charset=utf-8"));
        assert!(is_text("text/plain"));
        assert!(!is_text("application/octet-stream"));
        assert!(!is_text("application/x-www-form-urlencoded"));
        assert!(!is_text(""));
    }
}
