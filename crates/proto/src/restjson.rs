//! The rest-json protocol (Lambda, API Gateway, CloudWatch-style REST APIs): the operation is
//! chosen by method and URI template; input members are bound to URI labels, the query string,
//! headers, a raw payload or the JSON body; outputs likewise to the status code, headers and
//! body. Errors carry `x-amzn-ErrorType` and a JSON body with `message`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

use crate::error::{AwsError, ValidationFailure};
use crate::model::{Location, Operation, ServiceModel, Shape, ShapeKind};
use crate::query::Params;
use crate::{ApiRequest, Decoded, respond};

/// A request URI template, split into path segments and required literal query keys.
#[derive(Debug, Clone)]
pub struct UriTemplate {
    segments: Vec<Segment>,
    query: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Label(String),
    Greedy(String),
}

impl UriTemplate {
    pub fn parse(template: &str) -> Self {
        let (path, query) = template.split_once('?').unwrap_or((template, ""));
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(l) => match l.strip_suffix('+') {
                    Some(g) => Segment::Greedy(g.to_string()),
                    None => Segment::Label(l.to_string()),
                },
                None => Segment::Literal(s.to_string()),
            })
            .collect();
        let query = query
            .split('&')
            .filter(|q| !q.is_empty())
            .map(|q| match q.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (q.to_string(), None),
            })
            .collect();
        Self { segments, query }
    }

    /// The labels, if `path` (undecoded) and `params` match; with how many literal segments
    /// matched, so that the most specific template wins.
    fn matches(&self, path: &str, params: &Params) -> Option<(usize, Vec<(String, String)>)> {
        for (k, v) in &self.query {
            match (params.get(k), v) {
                (None, _) => return None,
                (Some(got), Some(want)) if got != want => return None,
                _ => {}
            }
        }
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut labels = Vec::new();
        let mut literal = 0;
        let mut i = 0;
        for seg in &self.segments {
            match seg {
                Segment::Literal(l) => {
                    if parts.get(i) != Some(&l.as_str()) {
                        return None;
                    }
                    literal += 1;
                    i += 1;
                }
                Segment::Label(name) => {
                    let p = parts.get(i)?;
                    labels.push((name.clone(), decode(p)?));
                    i += 1;
                }
                Segment::Greedy(name) => {
                    if i >= parts.len() {
                        return None;
                    }
                    labels.push((name.clone(), decode(&parts[i..].join("/"))?));
                    i = parts.len();
                }
            }
        }
        (i == parts.len()).then_some((literal, labels))
    }
}

fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// URI labels and their decoded values.
pub type Labels = Vec<(String, String)>;

/// Finds the operation for a request: method and the most specific matching template.
pub fn route<'m>(
    model: &'m ServiceModel,
    method: &str,
    path: &str,
    params: &Params,
) -> Option<(&'m Operation, Labels)> {
    let mut best: Option<(usize, &Operation, Labels)> = None;
    for op in model.operations.values() {
        if !op.method.eq_ignore_ascii_case(method) {
            continue;
        }
        let t = UriTemplate::parse(&op.request_uri);
        if let Some((score, labels)) = t.matches(path, params) {
            let score = score * 10 + t.query.len();
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, op, labels));
            }
        }
    }
    best.map(|(_, op, labels)| (op, labels))
}

/// Whether one of the model's operations has this method and a URI template matching `uri`
/// (how unsigned REST requests find their service).
pub fn claims(model: &ServiceModel, method: &str, uri: &http::Uri) -> bool {
    let mut params = Params::new();
    if let Some(q) = uri.query() {
        let mut multi: Vec<(String, String)> = Vec::new();
        if crate::query::parse_form_multi(q.as_bytes(), &mut multi).is_err() {
            return false;
        }
        for (k, v) in multi {
            params.entry(k).or_insert(v);
        }
    }
    route(model, method, uri.path(), &params).is_some()
}

pub fn decode_request<'m>(model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<Decoded<'m>, AwsError> {
    let mut params = Params::new();
    let mut multi: Vec<(String, String)> = Vec::new();
    if let Some(q) = req.uri.query() {
        crate::query::parse_form_multi(q.as_bytes(), &mut multi)
            .map_err(|m| AwsError::new("SerializationException", m))?;
        for (k, v) in &multi {
            params.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let Some((op, labels)) = route(model, req.method.as_str(), req.uri.path(), &params) else {
        return Err(AwsError::new(
            "UnknownOperationException",
            format!("No operation matches {} {}", req.method, req.uri.path()),
        )
        .with_status(404));
    };
    let Some(shape) = op.input.as_deref().and_then(|s| model.shape(s)) else {
        return Ok(Decoded::Ok(op, Value::Object(Map::new())));
    };
    match decode_input(model, shape, req, &labels, &multi) {
        Ok(v) => Ok(Decoded::Ok(op, v)),
        Err(Bad::Invalid(f)) => Ok(Decoded::Invalid(op, f)),
        Err(Bad::Body(e)) => Err(e),
    }
}

enum Bad {
    Invalid(ValidationFailure),
    Body(AwsError),
}

fn scalar(shape: &Shape, raw: &str, member: &str) -> Result<Value, Bad> {
    crate::query::scalar(shape, raw, member, member).map_err(Bad::Invalid)
}

fn decode_input(
    model: &ServiceModel,
    shape: &Shape,
    req: &ApiRequest<'_>,
    labels: &[(String, String)],
    query: &[(String, String)],
) -> Result<Value, Bad> {
    let mut obj = Map::new();
    let mut body_members = false;
    for (name, m) in &shape.members {
        let Some(ms) = model.shape(&m.shape) else { continue };
        let wire = m.location_name.as_deref().unwrap_or(name);
        let v = match m.location {
            Location::Uri => match labels.iter().find(|(l, _)| l == wire) {
                Some((_, raw)) => Some(scalar(ms, raw, name)?),
                None => None,
            },
            Location::Querystring => match ms.kind {
                ShapeKind::List => {
                    let item = ms.member.as_ref().and_then(|i| model.shape(&i.shape));
                    let vals: Vec<Value> = query
                        .iter()
                        .filter(|(k, _)| k == wire)
                        .map(|(_, v)| item.map_or(Ok(Value::String(v.clone())), |s| scalar(s, v, name)))
                        .collect::<Result<_, _>>()?;
                    (!vals.is_empty()).then_some(Value::Array(vals))
                }
                ShapeKind::Map => {
                    let mut map = Map::new();
                    for (k, v) in query {
                        map.entry(k.clone()).or_insert_with(|| Value::String(v.clone()));
                    }
                    (!map.is_empty()).then_some(Value::Object(map))
                }
                _ => match query.iter().find(|(k, _)| k == wire) {
                    Some((_, raw)) => Some(scalar(ms, raw, name)?),
                    None => None,
                },
            },
            Location::Header => match req.headers.get(wire).and_then(|h| h.to_str().ok()) {
                Some(raw) if m.json_value => {
                    let decoded =
                        STANDARD.decode(raw.trim()).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok());
                    decoded.or_else(|| Some(Value::String(raw.to_string())))
                }
                Some(raw) => Some(scalar(ms, raw.trim(), name)?),
                None => None,
            },
            Location::Headers => {
                let prefix = wire.to_ascii_lowercase();
                let mut map = Map::new();
                for (k, v) in req.headers {
                    if let (Some(rest), Ok(v)) = (k.as_str().strip_prefix(&prefix), v.to_str()) {
                        map.insert(rest.to_string(), Value::String(v.to_string()));
                    }
                }
                (!map.is_empty()).then_some(Value::Object(map))
            }
            Location::StatusCode => None,
            Location::Body => {
                if shape.payload.as_deref() == Some(name.as_str()) {
                    payload(ms, req.body)?
                } else {
                    body_members = true;
                    None
                }
            }
        };
        if let Some(v) = v {
            obj.insert(name.clone(), v);
        }
    }
    if body_members && shape.payload.is_none() && !req.body.iter().all(u8::is_ascii_whitespace) {
        let body: Value = serde_json::from_slice(req.body).map_err(|e| {
            Bad::Body(AwsError::new("SerializationException", format!("Could not parse the request body as JSON: {e}")))
        })?;
        let Value::Object(fields) = body else {
            return Err(Bad::Body(AwsError::new("SerializationException", "The request body must be a JSON object.")));
        };
        for (k, v) in fields {
            // Body members go by their wire name (`locationName`), which may differ from the
            // member's (API Gateway's `integrationHttpMethod` is `httpMethod` on the wire).
            let member = shape.members.iter().find(|(name, m)| {
                m.location == Location::Body && m.location_name.as_deref().unwrap_or(name.as_str()) == k
            });
            if let Some((name, _)) = member {
                obj.insert(name.clone(), v);
            }
        }
    }
    Ok(Value::Object(obj))
}

fn payload(shape: &Shape, body: &[u8]) -> Result<Option<Value>, Bad> {
    if body.is_empty() {
        return Ok(None);
    }
    Ok(Some(match shape.kind {
        ShapeKind::Blob => Value::String(STANDARD.encode(body)),
        ShapeKind::String => Value::String(String::from_utf8_lossy(body).into_owned()),
        _ => serde_json::from_slice(body).map_err(|e| {
            Bad::Body(AwsError::new("SerializationException", format!("Could not parse the request body as JSON: {e}")))
        })?,
    }))
}

fn header_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn encode_response(model: &ServiceModel, op: &Operation, output: Value, request_id: &str) -> Response<Bytes> {
    let mut status = op.response_code;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut content_type = "application/json";
    let mut body: Option<Bytes> = None;
    let Value::Object(mut obj) = output else {
        return respond(
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            content_type,
            request_id,
            Bytes::from_static(b"{}"),
        );
    };
    if let Some(shape) = op.output.as_deref().and_then(|s| model.shape(s)) {
        for (name, m) in &shape.members {
            if !matches!(m.location, Location::Body) || shape.payload.as_deref() == Some(name.as_str()) {
                let Some(v) = obj.remove(name).filter(|v| !v.is_null()) else { continue };
                let wire = m.location_name.as_deref().unwrap_or(name);
                match m.location {
                    Location::StatusCode => status = v.as_u64().map(|s| s as u16).unwrap_or(status),
                    Location::Header if m.json_value => {
                        headers.push((wire.to_string(), STANDARD.encode(v.to_string())))
                    }
                    Location::Header => headers.push((wire.to_string(), header_text(&v))),
                    Location::Headers => {
                        if let Value::Object(map) = v {
                            headers.extend(map.into_iter().map(|(k, v)| (format!("{wire}{k}"), header_text(&v))));
                        }
                    }
                    _ => {
                        let kind = model.shape(&m.shape).map(|s| s.kind);
                        body = Some(match (kind, v) {
                            (Some(ShapeKind::Blob), Value::String(b64)) => {
                                content_type = "application/octet-stream";
                                Bytes::from(STANDARD.decode(b64).unwrap_or_default())
                            }
                            (Some(ShapeKind::String), Value::String(s)) => {
                                content_type = "text/plain";
                                Bytes::from(s)
                            }
                            (_, other) => Bytes::from(other.to_string()),
                        });
                    }
                }
            }
        }
    }
    // An output whose payload member is absent has an empty body (Invoke with Event).
    let has_payload = op.output.as_deref().and_then(|s| model.shape(s)).is_some_and(|s| s.payload.is_some());
    if let Some(shape) = op.output.as_deref().and_then(|s| model.shape(s)) {
        for (name, m) in &shape.members {
            if let Some(wire) = m.location_name.as_deref().filter(|w| *w != name && m.location == Location::Body)
                && let Some(v) = obj.remove(name)
            {
                obj.insert(wire.to_string(), v);
            }
        }
    }
    let body =
        body.unwrap_or_else(|| if has_payload { Bytes::new() } else { Bytes::from(Value::Object(obj).to_string()) });
    let mut r = respond(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), content_type, request_id, body);
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            r.headers_mut().insert(name, value);
        }
    }
    r
}

pub fn encode_error(model: &ServiceModel, err: &AwsError, request_id: &str) -> Response<Bytes> {
    let (_, status, _) = model.error_info(&err.code);
    let status = err.status.unwrap_or(status);
    let mut body = serde_json::json!({ "message": err.message, "Type": if status < 500 { "User" } else { "Service" } });
    if let Value::Object(obj) = &mut body {
        for (k, v) in &err.fields {
            obj.insert(k.clone(), crate::field_value(v));
        }
    }
    let mut r = respond(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        "application/json",
        request_id,
        Bytes::from(body.to_string()),
    );
    if let Ok(v) = HeaderValue::from_str(&err.code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::{HeaderMap, Method, Uri};

    use super::*;

    fn lambda() -> ServiceModel {
        ServiceModel::parse(include_str!("../../../models/lambda.json"), None).unwrap()
    }

    fn decode_ok(m: &ServiceModel, method: Method, uri: &str, headers: HeaderMap, body: &[u8]) -> (String, Value) {
        let uri: Uri = uri.parse().unwrap();
        let req = ApiRequest { method: &method, uri: &uri, headers: &headers, body };
        match decode_request(m, &req).unwrap() {
            Decoded::Ok(op, v) => (op.name.clone(), v),
            Decoded::Invalid(op, f) => panic!("{} invalid: {f:?}", op.name),
        }
    }

    #[test]
    fn routes_by_method_and_template() {
        let m = lambda();
        let (op, v) = decode_ok(&m, Method::GET, "/2015-03-31/functions/my-fn?Qualifier=3", HeaderMap::new(), b"");
        assert_eq!(op, "GetFunction");
        assert_eq!(v, serde_json::json!({"FunctionName": "my-fn", "Qualifier": "3"}));
        let (op, v) = decode_ok(&m, Method::GET, "/2015-03-31/functions/?MaxItems=5&Marker=abc", HeaderMap::new(), b"");
        assert_eq!(op, "ListFunctions");
        assert_eq!(v, serde_json::json!({"MaxItems": 5, "Marker": "abc"}));
        let (op, _) = decode_ok(
            &m,
            Method::DELETE,
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ax",
            HeaderMap::new(),
            b"",
        );
        assert_eq!(op, "DeleteFunction");
    }

    #[test]
    fn binds_headers_and_raw_payload() {
        let m = lambda();
        let mut h = HeaderMap::new();
        h.insert("x-amz-invocation-type", "Event".parse().unwrap());
        h.insert("x-amz-log-type", "Tail".parse().unwrap());
        let (op, v) = decode_ok(&m, Method::POST, "/2015-03-31/functions/f/invocations", h, b"{\"k\":1}");
        assert_eq!(op, "Invoke");
        assert_eq!(v["InvocationType"], "Event");
        assert_eq!(v["LogType"], "Tail");
        assert_eq!(STANDARD.decode(v["Payload"].as_str().unwrap()).unwrap(), b"{\"k\":1}");
    }

    #[test]
    fn json_body_members_and_bad_bodies() {
        let m = lambda();
        let (op, v) = decode_ok(
            &m,
            Method::PUT,
            "/2017-10-31/functions/f/concurrency",
            HeaderMap::new(),
            br#"{"ReservedConcurrentExecutions": 3}"#,
        );
        assert_eq!(op, "PutFunctionConcurrency");
        assert_eq!(v, serde_json::json!({"FunctionName": "f", "ReservedConcurrentExecutions": 3}));
        let uri: Uri = "/2017-10-31/functions/f/concurrency".parse().unwrap();
        let h = HeaderMap::new();
        let req = ApiRequest { method: &Method::PUT, uri: &uri, headers: &h, body: b"{not json" };
        assert!(matches!(decode_request(&m, &req), Err(e) if e.code == "SerializationException"));
        let uri: Uri = "/2015-03-31/nothing/here".parse().unwrap();
        let req = ApiRequest { method: &Method::GET, uri: &uri, headers: &h, body: b"" };
        assert!(matches!(decode_request(&m, &req), Err(e) if e.status == Some(404)));
        let uri: Uri = "/2015-03-31/functions/?MaxItems=many".parse().unwrap();
        let req = ApiRequest { method: &Method::GET, uri: &uri, headers: &h, body: b"" };
        assert!(matches!(decode_request(&m, &req), Ok(Decoded::Invalid(_, ValidationFailure::Type { .. }))));
    }

    #[test]
    fn encodes_status_headers_and_payload() {
        let m = lambda();
        let op = m.operation("Invoke").unwrap();
        let out = serde_json::json!({
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "ExecutedVersion": "$LATEST",
            "Payload": STANDARD.encode(b"{\"errorMessage\":\"x\"}"),
        });
        let r = encode_response(&m, op, out, "rid");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-amz-function-error"], "Unhandled");
        assert_eq!(r.headers()["x-amz-executed-version"], "$LATEST");
        assert_eq!(r.body().as_ref(), b"{\"errorMessage\":\"x\"}");
        let op = m.operation("CreateFunction").unwrap();
        let r = encode_response(&m, op, serde_json::json!({"FunctionName": "f"}), "rid");
        assert_eq!(r.status(), 201);
        assert_eq!(r.body().as_ref(), br#"{"FunctionName":"f"}"#);
    }

    #[test]
    fn errors_carry_the_type_header_and_model_status() {
        let m = lambda();
        let r = encode_error(&m, &AwsError::new("ResourceNotFoundException", "Function not found: x"), "rid");
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["x-amzn-errortype"], "ResourceNotFoundException");
        let body: Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["message"], "Function not found: x");
    }
}
