//! The integrations: AWS_PROXY (Lambda, payload 1.0), HTTP_PROXY, and the mapped ones (AWS to
//! Lambda or to a service action or path, HTTP, MOCK) with request templates, passthrough
//! behaviours, integration responses chosen by selection pattern, and response mapping.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::auth::function_of;
use super::mapping::{self, Overrides};
use super::{BackendError, Backends, Call, HttpAnswer, Pairs, ServiceRequest, event, gateway_error};
use crate::{Inner, s};

fn internal(c: &Call<'_>, status: u16) -> HttpAnswer {
    gateway_error(
        Some(c.d),
        "DEFAULT_5XX",
        status,
        "InternalServerErrorException",
        Some("Internal server error"),
        &c.request_id,
        Some(c),
    )
}

fn timed_out(c: &Call<'_>) -> HttpAnswer {
    gateway_error(
        Some(c.d),
        "INTEGRATION_TIMEOUT",
        504,
        "InternalServerErrorException",
        Some("Endpoint request timed out"),
        &c.request_id,
        Some(c),
    )
}

fn timeout_of(integ: &Value) -> Duration {
    Duration::from_millis(integ.get("timeoutInMillis").and_then(Value::as_u64).unwrap_or(29_000).clamp(50, 29_000))
}

pub async fn integrate(i: &Inner, c: &mut Call<'_>, backends: &dyn Backends) -> HttpAnswer {
    let Some(integ) = c.method.get("methodIntegration").cloned() else { return internal(c, 500) };
    match s(&integ, "type") {
        "AWS_PROXY" => lambda_proxy(c, &integ, backends).await,
        "HTTP_PROXY" => http_proxy(c, &integ, backends).await,
        _ => mapped(i, c, &integ, backends).await,
    }
}

/// Headers and query strings the integration's request parameters add.
fn mapped_parameters(c: &Call<'_>, integ: &Value) -> (Pairs, Pairs, Pairs) {
    let (mut headers, mut query, mut path) = (Vec::new(), Vec::new(), Vec::new());
    for (target, expr) in integ.get("requestParameters").and_then(Value::as_object).into_iter().flatten() {
        let Some(value) = expr.as_str().and_then(|e| mapping::request_value(e, c)) else { continue };
        if let Some(h) = target.strip_prefix("integration.request.header.") {
            headers.push((h.to_string(), value));
        } else if let Some(q) = target.strip_prefix("integration.request.querystring.") {
            query.push((q.to_string(), value));
        } else if let Some(p) = target.strip_prefix("integration.request.path.") {
            path.push((p.to_string(), value));
        }
    }
    (headers, query, path)
}

async fn lambda_proxy(c: &mut Call<'_>, integ: &Value, backends: &dyn Backends) -> HttpAnswer {
    let Some(function) = function_of(s(integ, "uri")) else { return internal(c, 500) };
    if !s(integ, "httpMethod").eq_ignore_ascii_case("POST") {
        return internal(c, 500);
    }
    let (headers, query, _) = mapped_parameters(c, integ);
    c.headers.extend(headers);
    c.query.extend(query);
    let payload = event::proxy_event(c).to_string().into_bytes();
    let source_arn = c.method_arn();
    let invoked = tokio::time::timeout(timeout_of(integ), backends.invoke(&function, &source_arn, payload)).await;
    let out = match invoked {
        Err(_) => return timed_out(c),
        Ok(Err(BackendError::Denied(m) | BackendError::Unreachable(m))) => {
            tracing::debug!(%function, error = %m, "Execution failed due to configuration error: Invalid permissions on Lambda function");
            return internal(c, 500);
        }
        Ok(Err(BackendError::Failed(m))) => {
            tracing::debug!(%function, error = %m, "Lambda invocation failed");
            return internal(c, 502);
        }
        Ok(Ok(o)) => o,
    };
    if out.function_error.is_some() {
        return internal(c, 502);
    }
    let Some(mut a) = event::proxy_response(&out.payload, c) else {
        tracing::debug!(%function, "Execution failed due to configuration error: Malformed Lambda proxy response");
        return internal(c, 502);
    };
    if a.header("content-type").is_none() {
        a.headers.push(("Content-Type".into(), "application/json".into()));
    }
    if let Some(t) = c.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-trace-id")).map(|(_, v)| v.clone()) {
        a.set_header("X-Amzn-Trace-Id", t);
    }
    a
}

/// `uri` with `{name}` replaced by mapped path parameters, else the method's own.
fn substitute(uri: &str, c: &Call<'_>, mapped: &[(String, String)]) -> String {
    let mut out = uri.to_string();
    for (k, v) in mapped.iter().chain(c.path_params.iter()) {
        out = out.replace(&format!("{{{k}}}"), v).replace(&format!("{{{k}+}}"), v);
    }
    out
}

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "te",
    "trailer",
    "proxy-connection",
];

async fn http_proxy(c: &mut Call<'_>, integ: &Value, backends: &dyn Backends) -> HttpAnswer {
    let (mapped_headers, mapped_query, mapped_path) = mapped_parameters(c, integ);
    let mut url = substitute(s(integ, "uri"), c, &mapped_path);
    let mut query: Vec<String> = c.req.query.iter().filter(|q| !q.is_empty()).cloned().collect();
    query.extend(mapped_query.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))));
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
    }
    let mut headers: Vec<(String, String)> =
        c.headers.iter().filter(|(k, _)| !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str())).cloned().collect();
    for (k, v) in mapped_headers {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&k));
        headers.push((k, v));
    }
    let method = match s(integ, "httpMethod") {
        "ANY" | "" => c.req.method.clone(),
        m => m.to_string(),
    };
    let r = tokio::time::timeout(timeout_of(integ), backends.http(&method, &url, headers, c.req.body.to_vec())).await;
    match r {
        Err(_) => timed_out(c),
        Ok(Err(e)) => {
            tracing::debug!(%url, error = ?e, "Execution failed due to configuration error: Invalid endpoint address");
            internal(c, 500)
        }
        Ok(Ok(mut a)) => {
            a.headers.retain(|(k, _)| !HOP_BY_HOP.contains(&k.to_ascii_lowercase().as_str()));
            a
        }
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The integration's answer before the integration response maps it.
struct Backend {
    /// What selection patterns are matched against: the status code, or a Lambda function's
    /// error message.
    selector: String,
    failed: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn mapped(_i: &Inner, c: &mut Call<'_>, integ: &Value, backends: &dyn Backends) -> HttpAnswer {
    // The integration request body: the template for the request's content type, or the
    // method request's body as the passthrough behaviour allows.
    let templates = integ.get("requestTemplates").and_then(Value::as_object);
    let content_type = c.header("content-type").map(str::to_string);
    let body_text = String::from_utf8_lossy(&c.req.body).into_owned();
    let (body, overrides) = match mapping::select(templates, content_type.as_deref()) {
        Some((_, Some(t))) if !t.is_empty() => match mapping::render_request(t, c, &body_text) {
            Ok(x) => x,
            Err(e) => {
                tracing::debug!(request_id = %c.request_id, error = %e, "Execution failed due to configuration error: the request template");
                return internal(c, 500);
            }
        },
        Some(_) => (body_text.clone(), Overrides::default()),
        None => {
            let passthrough = match s(integ, "passthroughBehavior") {
                "NEVER" => false,
                "WHEN_NO_TEMPLATES" => templates.is_none_or(Map::is_empty),
                _ => true,
            };
            if !passthrough {
                return gateway_error(
                    Some(c.d),
                    "UNSUPPORTED_MEDIA_TYPE",
                    415,
                    "UnsupportedMediaTypeException",
                    Some("Unsupported Media Type"),
                    &c.request_id,
                    Some(c),
                );
            }
            (body_text.clone(), Overrides::default())
        }
    };
    let (mut headers, mut query, path) = mapped_parameters(c, integ);
    headers.extend(overrides.request_headers);
    query.extend(overrides.request_query);
    let mut path = path;
    path.extend(overrides.request_path);
    let t = s(integ, "type");
    let call = async {
        match t {
            "MOCK" => {
                let status = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v.get("statusCode").and_then(|s| s.as_u64().or_else(|| s.as_str().and_then(|s| s.parse().ok())))
                    })
                    .unwrap_or(200);
                Ok(Backend { selector: status.to_string(), failed: false, headers: Vec::new(), body: Vec::new() })
            }
            "AWS" => aws(c, integ, backends, body.into_bytes(), headers, query, &path).await,
            _ => http(c, integ, backends, body.into_bytes(), headers, query, &path).await,
        }
    };
    let backend = match tokio::time::timeout(timeout_of(integ), call).await {
        Err(_) => return timed_out(c),
        Ok(Err(a)) => return *a,
        Ok(Ok(b)) => b,
    };
    respond(c, integ, backend)
}

async fn aws(
    c: &Call<'_>,
    integ: &Value,
    backends: &dyn Backends,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    path: &[(String, String)],
) -> Result<Backend, Box<HttpAnswer>> {
    let uri = s(integ, "uri");
    // arn:aws:apigateway:{region}:{subdomain.}{service}:{action|path}/{rest}
    let mut parts = uri.splitn(6, ':');
    let (_, _, _, region, service, kind) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next());
    let (Some(region), Some(service), Some(kind)) = (region, service, kind) else {
        return Err(Box::new(internal(c, 500)));
    };
    let service = service.rsplit('.').next().unwrap_or(service).to_string();
    let region = if region.is_empty() { c.d.region.clone() } else { region.to_string() };
    if service == "lambda"
        && let Some(function) = function_of(uri)
    {
        let payload = if body.is_empty() { b"{}".to_vec() } else { body };
        let out = match backends.invoke(&function, &c.method_arn(), payload).await {
            Ok(o) => o,
            Err(BackendError::Failed(_)) => return Err(Box::new(internal(c, 502))),
            Err(_) => return Err(Box::new(internal(c, 500))),
        };
        let (selector, failed) = match &out.function_error {
            Some(_) => {
                let v: Value = serde_json::from_slice(&out.payload).unwrap_or(Value::Null);
                (v.get("errorMessage").and_then(Value::as_str).unwrap_or("").to_string(), true)
            }
            None => ("200".to_string(), false),
        };
        return Ok(Backend {
            selector,
            failed,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: out.payload,
        });
    }
    let (action, mut path_and_query) = match kind.split_once('/') {
        Some(("action", a)) => (Some(a.to_string()), "/".to_string()),
        Some(("path", p)) => (None, substitute(&format!("/{}", p.trim_start_matches('/')), c, path)),
        _ => return Err(Box::new(internal(c, 500))),
    };
    let mut q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect();
    if let Some(a) = &action
        && !matches!(service.as_str(), "dynamodb" | "kinesis" | "logs" | "lambda")
        && !String::from_utf8_lossy(&body).contains("Action=")
    {
        q.insert(0, format!("Action={}", urlencode(a)));
    }
    if !q.is_empty() {
        path_and_query.push(if path_and_query.contains('?') { '&' } else { '?' });
        path_and_query.push_str(&q.join("&"));
    }
    let req = ServiceRequest {
        account: c.d.account.clone(),
        region,
        service,
        action,
        method: match s(integ, "httpMethod") {
            "" | "ANY" => "POST".to_string(),
            m => m.to_string(),
        },
        path_and_query,
        headers,
        body,
        credentials: integ.get("credentials").and_then(Value::as_str).map(str::to_string),
    };
    match backends.aws(req).await {
        Ok(a) => {
            Ok(Backend { selector: a.status.to_string(), failed: a.status >= 400, headers: a.headers, body: a.body })
        }
        Err(e) => {
            tracing::debug!(error = ?e, "the AWS integration failed");
            Err(Box::new(internal(c, 500)))
        }
    }
}

async fn http(
    c: &Call<'_>,
    integ: &Value,
    backends: &dyn Backends,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    path: &[(String, String)],
) -> Result<Backend, Box<HttpAnswer>> {
    let mut url = substitute(s(integ, "uri"), c, path);
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(
            &query.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&"),
        );
    }
    let method = match s(integ, "httpMethod") {
        "" | "ANY" => c.req.method.clone(),
        m => m.to_string(),
    };
    match backends.http(&method, &url, headers, body).await {
        Ok(a) => {
            Ok(Backend { selector: a.status.to_string(), failed: a.status >= 400, headers: a.headers, body: a.body })
        }
        Err(e) => {
            tracing::debug!(%url, error = ?e, "Execution failed due to configuration error: Invalid endpoint address");
            Err(Box::new(internal(c, 500)))
        }
    }
}

/// The integration response for the backend's answer: the first whose selection pattern
/// matches (the whole selector), else the default one (no pattern).
fn choose<'v>(integ: &'v Value, b: &Backend) -> Option<&'v Value> {
    let responses = integ.get("integrationResponses").and_then(Value::as_object)?;
    let mut default = None;
    for r in responses.values() {
        match r.get("selectionPattern").and_then(Value::as_str).filter(|p| !p.is_empty()) {
            None => default = default.or(Some(r)),
            Some(p) => {
                // A Lambda function's success is matched by the default response only.
                if integ.get("uri").and_then(Value::as_str).is_some_and(|u| u.contains(":lambda:path/")) && !b.failed {
                    continue;
                }
                let matched =
                    regex::Regex::new(&format!("^(?s:{p})$")).map(|re| re.is_match(&b.selector)).unwrap_or(false);
                if matched {
                    return Some(r);
                }
            }
        }
    }
    default
}

fn respond(c: &Call<'_>, integ: &Value, b: Backend) -> HttpAnswer {
    let Some(r) = choose(integ, &b) else {
        tracing::debug!(request_id = %c.request_id, "Execution failed due to configuration error: No match for output mapping and no default output mapping configured");
        return internal(c, 500);
    };
    let mut status: u16 = s(r, "statusCode").parse().unwrap_or(200);
    let mut headers: Vec<(String, String)> = Vec::new();
    for (target, expr) in r.get("responseParameters").and_then(Value::as_object).into_iter().flatten() {
        if let (Some(h), Some(value)) = (
            target.strip_prefix("method.response.header."),
            expr.as_str().and_then(|e| mapping::response_value(e, c, &b.headers, &b.body)),
        ) {
            headers.push((h.to_string(), value));
        }
    }
    let templates = r.get("responseTemplates").and_then(Value::as_object);
    let accept = c
        .header("accept")
        .map(|a| a.split(',').next().unwrap_or("").trim().to_string())
        .filter(|a| !a.is_empty() && a != "*/*");
    let chosen = templates.and_then(|t| {
        accept
            .as_deref()
            .and_then(|a| t.get_key_value(a))
            .or_else(|| t.get_key_value("application/json"))
            .or_else(|| t.iter().next())
    });
    let (body, content_type) = match chosen {
        Some((ct, Value::String(t))) if !t.is_empty() => {
            let text = String::from_utf8_lossy(&b.body).into_owned();
            match mapping::render_response(t, c, &text) {
                Ok((out, o)) => {
                    if let Some(s) = o.status {
                        status = s;
                    }
                    for (k, v) in o.headers {
                        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&k));
                        headers.push((k, v));
                    }
                    (out.into_bytes(), ct.clone())
                }
                Err(e) => {
                    tracing::debug!(request_id = %c.request_id, error = %e, "Execution failed due to configuration error: the response template");
                    return internal(c, 500);
                }
            }
        }
        Some((ct, _)) => (b.body, ct.clone()),
        None => {
            let ct = b.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v.clone());
            (b.body, ct.unwrap_or_else(|| "application/json".into()))
        }
    };
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
        headers.push(("Content-Type".into(), content_type));
    }
    let _ = json!(null);
    HttpAnswer::new(status, headers, body)
}
