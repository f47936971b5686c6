//! The data plane: a request to an HTTP API's stage, from routing to the answer.
//!
//! 1. The stage: a named stage when the path's first segment names one (its name stays in
//!    `rawPath`), else `$default`; the deployment it serves.
//! 2. CORS preflights are answered from the API's CorsConfiguration.
//! 3. The route (`routes`): none answers 404 `{"message":"Not Found"}`.
//! 4. The integration: AWS_PROXY to Lambda with payload 2.0 or 1.0 (`event`), HTTP_PROXY, within
//!    the integration's timeout (504 after it).
//!
//! Every answer carries `apigw-requestid`, and the CORS headers when the API has a
//! CorsConfiguration and the request an allowed Origin.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use stratus_proto::BoxFuture;

use crate::Inner;
use crate::store::{self, ApiDoc, DeploymentDoc};

pub(crate) mod auth;
pub(crate) mod event;
pub(crate) mod mapping;
mod routes;
pub mod service;

/// A request to an HTTP API, as the execute-api door read it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub api_id: String,
    /// The path after the API (as sent, undecoded, starting with `/`), with the stage's name
    /// first when the request is for a named stage.
    pub path: String,
    pub method: String,
    /// The raw query string, if there was one.
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    /// The Host header (`requestContext.domainName`).
    pub host: String,
    pub protocol: String,
    /// The stage, when the request came through a custom domain's API mapping (`path` is
    /// then the path after the mapping's key).
    pub stage: Option<String>,
    /// Who signed the request for `execute-api` (or why the signature is not valid), when it
    /// is signed: `AWS_IAM` routes need it.
    pub caller: Option<Result<Caller, (String, String)>>,
}

pub use stratus_core::http::{Caller, HttpAnswer, Invoked};

#[derive(Debug, Clone)]
pub enum BackendError {
    /// The function's policy does not let API Gateway in (answered 500).
    Denied(String),
    /// The function or URL does not exist or cannot be reached.
    Unreachable(String),
    /// The function cannot take the invocation now (answered 503).
    Throttled(String),
    /// The call failed (answered 500).
    Failed(String),
}

/// What the data plane needs from the rest of Stratus.
pub trait Backends: Send + Sync {
    /// Invokes `function` (an ARN) for API Gateway, when its policy lets
    /// `apigateway.amazonaws.com` in for `source_arn`.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invoked, BackendError>>;

    /// An HTTP request to any URL.
    fn http<'a>(
        &'a self,
        method: &'a str,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<HttpAnswer, BackendError>>;

    /// Calls an AWS action for a service integration, as its credentials role.
    fn aws(&self, call: service::ServiceCall) -> BoxFuture<'_, Result<HttpAnswer, BackendError>>;

    /// Whether IAM lets a caller `execute-api:Invoke` this route ARN (always, unless the
    /// server enforces IAM).
    fn may_invoke<'a>(&'a self, caller: &'a Caller, route_arn: &'a str) -> BoxFuture<'a, bool>;

    /// Writes lines to a CloudWatch Logs group (access logging).
    fn log<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        group: &'a str,
        stream: &'a str,
        lines: Vec<String>,
    ) -> BoxFuture<'a, ()>;
}

fn message(status: u16, text: &str) -> HttpAnswer {
    HttpAnswer::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        serde_json::json!({ "message": text }).to_string().into_bytes(),
    )
}

fn not_found() -> HttpAnswer {
    message(404, "Not Found")
}

fn internal_error() -> HttpAnswer {
    message(500, "Internal Server Error")
}

/// Everything about one request that the steps share.
pub struct Call<'a> {
    pub req: &'a HttpRequest,
    pub account: String,
    pub region: String,
    pub stage: String,
    pub request_id: String,
    pub now_ms: u64,
    pub route_key: String,
    /// The path as sent, with the stage's name on named stages (`rawPath`).
    pub raw_path: String,
    pub path_params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    /// The request's headers and those API Gateway adds (`x-forwarded-*`).
    pub headers: Vec<(String, String)>,
    pub stage_variables: Vec<(String, String)>,
    /// The path after the stage.
    pub resource_path: String,
    /// What the route's authorizer answered (`requestContext.authorizer`).
    pub authorizer: Option<Value>,
}

impl Call<'_> {
    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{path}`: what IAM and
    /// authorizers' policies decide on.
    pub fn route_arn(&self) -> String {
        format!(
            "arn:{partition}:execute-api:{}:{}:{}/{}/{}{}",
            self.region,
            self.account,
            self.req.api_id,
            self.stage,
            self.req.method,
            self.resource_path,
            partition = stratus_core::partition(&self.region)
        )
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn domain_name(&self) -> &str {
        &self.req.host
    }

    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{route path}` (or
    /// `…/{stage}/$default` for the `$default` route): what the function's policy must allow.
    pub fn source_arn(&self) -> String {
        let tail = match self.route_key.split_once(' ') {
            Some((_, path)) => format!("{}{path}", self.req.method),
            None => self.route_key.clone(),
        };
        format!(
            "arn:{partition}:execute-api:{}:{}:{}/{}/{tail}",
            self.region,
            self.account,
            self.req.api_id,
            self.stage,
            partition = stratus_core::partition(&self.region)
        )
    }
}

/// `dd/MMM/yyyy:HH:mm:ss +0000`.
pub fn clf_time(ms: u64) -> String {
    let iso = stratus_core::time::iso8601_secs(ms / 1000);
    let (date, time) = iso.split_once('T').unwrap_or((&iso, "00:00:00Z"));
    let mut it = date.split('-');
    let (y, m, d) = (it.next().unwrap_or("1970"), it.next().unwrap_or("01"), it.next().unwrap_or("01"));
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mi = m.parse::<usize>().unwrap_or(1).clamp(1, 12) - 1;
    format!("{d}/{}/{y}:{} +0000", MONTHS[mi], time.trim_end_matches('Z'))
}

/// APIs and deployments the data plane read, kept until the next control-plane change; a read
/// that began before a change is not kept (its generation is old).
#[derive(Default)]
pub struct Cache {
    generation: u64,
    apis: HashMap<String, (String, String, Arc<ApiDoc>)>,
    deployments: HashMap<String, Arc<DeploymentDoc>>,
}

pub(crate) fn changed(i: &Inner) {
    if let Ok(mut c) = i.cache.lock() {
        c.generation += 1;
        c.apis.clear();
        c.deployments.clear();
    }
    if let Ok(mut b) = i.buckets.lock() {
        b.clear();
    }
}

/// A route's throttle (its route settings, else the stage's default route settings): a token
/// bucket per API, stage and route; true when the request is over it.
fn throttled(i: &Inner, api: &str, stage_name: &str, stage: &Value, route_key: &str) -> bool {
    let own = stage.get("routeSettings").and_then(|m| m.get(route_key));
    let setting = |k: &str| {
        own.and_then(|s| s.get(k))
            .or_else(|| stage.get("defaultRouteSettings").and_then(|s| s.get(k)))
            .and_then(Value::as_f64)
    };
    let (rate, burst) = (setting("throttlingRateLimit"), setting("throttlingBurstLimit"));
    if rate.is_none() && burst.is_none() {
        return false;
    }
    // AWS's account limits stand in for the one not set.
    let (rate, burst) = (rate.unwrap_or(10_000.0), burst.unwrap_or(5_000.0));
    let now = i.now();
    let Ok(mut buckets) = i.buckets.lock() else { return false };
    if buckets.len() > 100_000 {
        buckets.clear();
    }
    let b = buckets.entry(format!("{api}/{stage_name}/{route_key}")).or_insert((burst, now));
    let elapsed = now.saturating_sub(b.1) as f64 / 1000.0;
    b.0 = (b.0 + elapsed * rate).min(burst);
    b.1 = now;
    if b.0 >= 1.0 {
        b.0 -= 1.0;
        false
    } else {
        true
    }
}

fn generation(i: &Inner) -> u64 {
    i.cache.lock().map(|c| c.generation).unwrap_or(0)
}

/// The API with its account and region, from memory or read.
pub(crate) async fn api_of(i: &Inner, api: &str) -> Option<(String, String, Arc<ApiDoc>)> {
    if let Some(found) = i.cache.lock().ok().and_then(|c| c.apis.get(api).cloned()) {
        return Some(found);
    }
    let g = generation(i);
    let (account, region) = locate(i, api).await?;
    let doc = Arc::new(load(i, &account, &region, api).await?);
    let found = (account, region, doc);
    if let Ok(mut c) = i.cache.lock()
        && c.generation == g
    {
        c.apis.insert(api.to_string(), found.clone());
    }
    Some(found)
}

pub(crate) async fn deployment_of(
    i: &Inner,
    account: &str,
    region: &str,
    api: &str,
    id: &str,
) -> Option<Arc<DeploymentDoc>> {
    let key = format!("{api}/{id}");
    if let Some(d) = i.cache.lock().ok().and_then(|c| c.deployments.get(&key).cloned()) {
        return Some(d);
    }
    let g = generation(i);
    let d = Arc::new(load_deployment(i, account, region, api, id).await?);
    if let Ok(mut c) = i.cache.lock()
        && c.generation == g
    {
        c.deployments.insert(key, d.clone());
    }
    Some(d)
}

pub(crate) async fn locate(i: &Inner, api: &str) -> Option<(String, String)> {
    let key = store::api_index_key(api);
    let v = i
        .store
        .read_short(move |r| r.get(key.as_bytes()).map_err(stratus_proto::AwsError::from))
        .await
        .ok()
        .flatten()?;
    let s = String::from_utf8(v).ok()?;
    let (a, r) = s.split_once('/')?;
    Some((a.to_string(), r.to_string()))
}

/// The API, and its deployment for a stage.
async fn load(i: &Inner, account: &str, region: &str, api: &str) -> Option<ApiDoc> {
    let key = store::api_key(account, region, api);
    i.store.read_short(move |r| store::get_json(r, &key)).await.ok().flatten()
}

async fn load_deployment(i: &Inner, account: &str, region: &str, api: &str, id: &str) -> Option<DeploymentDoc> {
    let key = store::deployment_key(account, region, api, id);
    i.store.read_short(move |r| store::get_json(r, &key)).await.ok().flatten()
}

fn request_id(i: &Inner) -> String {
    use base64::Engine;
    let b = i.env.ids.random_bytes();
    base64::engine::general_purpose::STANDARD.encode(&b[..10])
}

pub(crate) async fn execute(i: &Inner, req: HttpRequest) -> HttpAnswer {
    let request_id = request_id(i);
    let mut a = run(i, &req, &request_id).await;
    a.set_header("apigw-requestid", request_id);
    a
}

/// The stage a path is for, and the path after it.
fn stage_of<'p>(doc: &ApiDoc, path: &'p str) -> Option<(String, &'p str)> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let (first, rest) = match p.split_once('/') {
        Some((f, _)) => (f, &path[1 + f.len()..]),
        None => (p, ""),
    };
    if !first.is_empty() && first != "$default" && doc.stages.contains_key(first) {
        return Some((first.to_string(), if rest.is_empty() { "/" } else { rest }));
    }
    doc.stages.contains_key("$default").then(|| ("$default".to_string(), path))
}

async fn run(i: &Inner, req: &HttpRequest, request_id: &str) -> HttpAnswer {
    let Some((account, region, doc)) = api_of(i, &req.api_id).await else { return not_found() };
    if doc.api.get("disableExecuteApiEndpoint").and_then(Value::as_bool) == Some(true) {
        return message(403, "Forbidden");
    }
    let cors = doc.api.get("corsConfiguration").filter(|c| c.is_object()).cloned();
    let origin = req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("origin")).map(|(_, v)| v.clone());
    if let (Some(cors), Some(origin)) = (&cors, &origin)
        && req.method == "OPTIONS"
        && req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("access-control-request-method"))
    {
        return preflight(cors, origin, req);
    }
    let mut answer = serve(i, req, &doc, account, region, request_id).await;
    if let (Some(cors), Some(origin)) = (&cors, &origin) {
        add_cors(&mut answer, cors, origin);
    }
    answer
}

async fn serve(
    i: &Inner,
    req: &HttpRequest,
    doc: &ApiDoc,
    account: String,
    region: String,
    request_id: &str,
) -> HttpAnswer {
    let chosen = match &req.stage {
        Some(st) => doc.stages.contains_key(st).then(|| (st.clone(), req.path.as_str())),
        None => stage_of(doc, &req.path),
    };
    let Some((stage_name, path)) = chosen else { return not_found() };
    let Some(stage) = doc.stages.get(&stage_name) else { return not_found() };
    let started = i.now();
    let mut route_key = String::new();
    let answer =
        routed(i, req, stage, &stage_name, path, account.clone(), region.clone(), request_id, &mut route_key).await;
    access_log(i, req, stage, &stage_name, &account, &region, request_id, &route_key, started, &answer).await;
    answer
}

/// The stage's access log line (`accessLogSettings`: a log group ARN and a `$context` format).
#[allow(clippy::too_many_arguments)]
async fn access_log(
    i: &Inner,
    req: &HttpRequest,
    stage: &Value,
    stage_name: &str,
    account: &str,
    region: &str,
    request_id: &str,
    route_key: &str,
    started: u64,
    a: &HttpAnswer,
) {
    let Some(settings) = stage.get("accessLogSettings") else { return };
    let (Some(dest), Some(format)) =
        (settings.get("destinationArn").and_then(Value::as_str), settings.get("format").and_then(Value::as_str))
    else {
        return;
    };
    let Some(arn) = stratus_core::Arn::parse(dest) else { return };
    let group = arn.resource.trim_start_matches("log-group:").trim_end_matches(":*").to_string();
    let Some(backends) = i.backends.get().cloned() else { return };
    let ctx = serde_json::json!({
        "requestId": request_id,
        "apiId": req.api_id,
        "stage": stage_name,
        "routeKey": if route_key.is_empty() { "-" } else { route_key },
        "httpMethod": req.method,
        "path": req.path,
        "protocol": req.protocol,
        "status": a.status,
        "responseLength": a.body.len(),
        "domainName": req.host,
        "requestTime": clf_time(started),
        "requestTimeEpoch": started / 1000,
        "integrationLatency": i.now().saturating_sub(started),
        "identity": {"sourceIp": req.source_ip, "userAgent": req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("user-agent")).map(|(_, v)| v.clone())},
    });
    let line = substitute_context(format, &ctx);
    backends.log(account, region, &group, stage_name, vec![line]).await;
}

/// Replaces `$context.a.b` in an access log format (`-` for what is not known).
pub fn substitute_context(format: &str, ctx: &Value) -> String {
    let mut out = String::with_capacity(format.len());
    let mut rest = format;
    while let Some(pos) = rest.find("$context.") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + "$context.".len()..];
        let end = after.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_')).unwrap_or(after.len());
        let name = after[..end].trim_end_matches('.');
        let mut cur = Some(ctx);
        for part in name.split('.') {
            cur = cur.and_then(|v| v.get(part));
        }
        let value = match cur {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => "-".to_string(),
            Some(other) => other.to_string(),
        };
        out.push_str(&value);
        rest = &after[name.len()..];
    }
    out.push_str(rest);
    out
}

#[allow(clippy::too_many_arguments)]
async fn routed(
    i: &Inner,
    req: &HttpRequest,
    stage: &Value,
    stage_name: &str,
    path: &str,
    account: String,
    region: String,
    request_id: &str,
    route_key_out: &mut String,
) -> HttpAnswer {
    let stage_name = stage_name.to_string();
    let Some(dep_id) = stage.get("deploymentId").and_then(Value::as_str) else { return not_found() };
    let Some(dep) = deployment_of(i, &account, &region, &req.api_id, dep_id).await else { return not_found() };
    let Some((route, path_params)) = routes::find(&dep.routes, &req.method, path) else { return not_found() };
    let target = route.get("target").and_then(Value::as_str).unwrap_or("");
    let integration = target.strip_prefix("integrations/").and_then(|id| dep.integrations.get(id));
    let Some(integration) = integration else { return not_found() };
    let Some(backends) = i.backends.get().cloned() else { return internal_error() };
    let key = route.get("routeKey").and_then(Value::as_str).unwrap_or("");
    if throttled(i, &req.api_id, &stage_name, stage, key) {
        return message(429, "Too Many Requests");
    }

    let mut headers: Vec<(String, String)> = req.headers.clone();
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("connection"));
    let port = req.host.rsplit_once(':').map(|(_, p)| p.to_string()).unwrap_or_else(|| "80".into());
    for (k, v) in [
        ("x-forwarded-for", req.source_ip.clone()),
        ("x-forwarded-port", port),
        ("x-forwarded-proto", "http".to_string()),
    ] {
        if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
            headers.push((k.to_string(), v));
        }
    }
    let query = match req.query.as_deref() {
        Some(q) if !q.is_empty() => {
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        }
        _ => Vec::new(),
    };
    let stage_variables = stage
        .get("stageVariables")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    *route_key_out = route.get("routeKey").and_then(Value::as_str).unwrap_or("").to_string();
    let mut call = Call {
        req,
        account,
        region,
        stage: stage_name,
        request_id: request_id.to_string(),
        now_ms: i.now(),
        route_key: route.get("routeKey").and_then(Value::as_str).unwrap_or("").to_string(),
        raw_path: req.path.clone(),
        path_params,
        query,
        headers,
        stage_variables,
        resource_path: path.to_string(),
        authorizer: None,
    };
    let v2 = integration.get("payloadFormatVersion").and_then(Value::as_str) != Some("1.0");
    match auth::authorize(i, &call, route, &dep, backends.as_ref(), v2).await {
        Ok(a) => call.authorizer = a,
        Err(refused) => return refused,
    }
    let timeout = Duration::from_millis(integration.get("timeoutInMillis").and_then(Value::as_u64).unwrap_or(30000));
    let work = integrate(&call, integration, backends.as_ref(), timeout);
    match tokio::time::timeout(timeout, work).await {
        Ok(a) => a,
        Err(_) => message(504, "Endpoint request timed out"),
    }
}

async fn integrate(c: &Call<'_>, integration: &Value, backends: &dyn Backends, timeout: Duration) -> HttpAnswer {
    let mut answer = integrate_only(c, integration, backends, timeout).await;
    mapping::map_response(integration, c, &mut answer);
    answer
}

async fn integrate_only(c: &Call<'_>, integration: &Value, backends: &dyn Backends, timeout: Duration) -> HttpAnswer {
    let uri = integration.get("integrationUri").and_then(Value::as_str).unwrap_or("");
    if let Some(subtype) = integration.get("integrationSubtype").and_then(Value::as_str) {
        return service::call(c, integration, subtype, backends).await;
    }
    match integration.get("integrationType").and_then(Value::as_str) {
        Some("AWS_PROXY") => {
            let Some(function) = crate::parts::function_of(uri) else { return internal_error() };
            let v2 = integration.get("payloadFormatVersion").and_then(Value::as_str) != Some("1.0");
            let event = if v2 { event::event_v2(c) } else { event::event_v1(c) };
            let invoked = backends.invoke(function, &c.source_arn(), event.to_string().into_bytes()).await;
            match invoked {
                Ok(r) if r.function_error.is_none() => {
                    let answer = if v2 { event::response_v2(&r.payload) } else { event::response_v1(&r.payload) };
                    answer.unwrap_or_else(|| {
                        tracing::debug!(api = %c.req.api_id, "the function's answer is not a valid response");
                        internal_error()
                    })
                }
                Ok(_) => internal_error(),
                Err(BackendError::Throttled(e)) => {
                    tracing::debug!(api = %c.req.api_id, error = %e, "function throttled");
                    message(503, "Service Unavailable")
                }
                Err(BackendError::Denied(e) | BackendError::Unreachable(e) | BackendError::Failed(e)) => {
                    tracing::debug!(api = %c.req.api_id, error = %e, "cannot invoke the function");
                    internal_error()
                }
            }
        }
        Some("HTTP_PROXY") => http_proxy(c, integration, uri, backends, timeout).await,
        _ => internal_error(),
    }
}

/// The integration URI with `{name}` path parameters filled in (the path replaced when the
/// mapping overwrites it), and the query string (as sent, or as mapped).
fn proxy_url(uri: &str, c: &Call<'_>, path: Option<&str>, query: Option<&[(String, String)]>) -> String {
    let mut url = uri.to_string();
    for (k, v) in &c.path_params {
        url = url.replace(&format!("{{{k}}}"), v).replace(&format!("{{{k}+}}"), v);
    }
    if let Some(p) = path {
        let origin_end = url.find("://").map(|i| i + 3).and_then(|i| url[i..].find('/').map(|j| i + j));
        let origin = origin_end.map_or(url.as_str(), |e| &url[..e]);
        url = format!("{origin}{}{p}", if p.starts_with('/') { "" } else { "/" });
    }
    let q = match query {
        Some(pairs) => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                ser.append_pair(k, v);
            }
            ser.finish()
        }
        None => c.req.query.clone().unwrap_or_default(),
    };
    if q.is_empty() { url } else { format!("{url}{}{q}", if url.contains('?') { '&' } else { '?' }) }
}

async fn http_proxy(
    c: &Call<'_>,
    integration: &Value,
    uri: &str,
    backends: &dyn Backends,
    timeout: Duration,
) -> HttpAnswer {
    let method = match integration.get("integrationMethod").and_then(Value::as_str) {
        Some("ANY") | None => c.req.method.as_str(),
        Some(m) => m,
    };
    let mut headers: Vec<(String, String)> = c
        .headers
        .iter()
        .filter(|(k, _)| !["host", "content-length", "transfer-encoding"].contains(&k.to_ascii_lowercase().as_str()))
        .cloned()
        .collect();
    let mapped = integration.get("requestParameters").is_some_and(|m| m.as_object().is_some_and(|o| !o.is_empty()));
    let url = if mapped {
        let mut query = c.query.clone();
        let path = mapping::map_request(integration, c, &mut headers, &mut query);
        proxy_url(uri, c, path.as_deref(), Some(&query))
    } else {
        proxy_url(uri, c, None, None)
    };
    match backends.http(method, &url, headers, c.req.body.to_vec(), timeout).await {
        Ok(mut a) => {
            a.headers.retain(|(k, _)| {
                !["connection", "transfer-encoding", "content-length", "keep-alive"]
                    .contains(&k.to_ascii_lowercase().as_str())
            });
            a
        }
        Err(e) => {
            tracing::debug!(api = %c.req.api_id, error = ?e, "HTTP_PROXY integration failed");
            message(503, "Service Unavailable")
        }
    }
}

fn list(cors: &Value, name: &str) -> Vec<String> {
    cors.get(name)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The `Access-Control-Allow-Origin` value for an origin, when the configuration allows it.
fn allowed_origin(cors: &Value, origin: &str) -> Option<String> {
    let origins = list(cors, "allowOrigins");
    let credentials = cors.get("allowCredentials").and_then(Value::as_bool) == Some(true);
    if origins.iter().any(|o| o == "*") {
        return Some(if credentials { origin.to_string() } else { "*".to_string() });
    }
    origins.iter().any(|o| o.eq_ignore_ascii_case(origin)).then(|| origin.to_string())
}

fn preflight(cors: &Value, origin: &str, req: &HttpRequest) -> HttpAnswer {
    let mut a = HttpAnswer::new(204, Vec::new(), Vec::new());
    let Some(allow) = allowed_origin(cors, origin) else { return a };
    a.set_header("access-control-allow-origin", allow);
    let methods = list(cors, "allowMethods");
    if !methods.is_empty() {
        a.set_header("access-control-allow-methods", methods.join(","));
    }
    let headers = list(cors, "allowHeaders");
    if headers.iter().any(|h| h == "*") {
        let asked = req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("access-control-request-headers"));
        if let Some((_, v)) = asked {
            a.set_header("access-control-allow-headers", v.clone());
        }
    } else if !headers.is_empty() {
        a.set_header("access-control-allow-headers", headers.join(","));
    }
    if let Some(age) = cors.get("maxAge").and_then(Value::as_i64).filter(|a| *a >= 0) {
        a.set_header("access-control-max-age", age.to_string());
    }
    if cors.get("allowCredentials").and_then(Value::as_bool) == Some(true) {
        a.set_header("access-control-allow-credentials", "true".into());
    }
    a
}

fn add_cors(a: &mut HttpAnswer, cors: &Value, origin: &str) {
    let Some(allow) = allowed_origin(cors, origin) else { return };
    a.set_header("access-control-allow-origin", allow);
    if cors.get("allowCredentials").and_then(Value::as_bool) == Some(true) {
        a.set_header("access-control-allow-credentials", "true".into());
    }
    let expose = list(cors, "exposeHeaders");
    if !expose.is_empty() {
        a.set_header("access-control-expose-headers", expose.join(","));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn stages_from_paths() {
        let mut doc = ApiDoc::default();
        doc.stages.insert("prod".into(), json!({}));
        assert_eq!(stage_of(&doc, "/prod/pets"), Some(("prod".into(), "/pets")));
        assert_eq!(stage_of(&doc, "/prod"), Some(("prod".into(), "/")));
        assert_eq!(stage_of(&doc, "/pets"), None);
        doc.stages.insert("$default".into(), json!({}));
        assert_eq!(stage_of(&doc, "/pets/1"), Some(("$default".into(), "/pets/1")));
        assert_eq!(stage_of(&doc, "/"), Some(("$default".into(), "/")));
    }

    #[test]
    fn cors_origins() {
        let cors = json!({"allowOrigins": ["https://a.example"], "allowMethods": ["GET", "POST"], "maxAge": 60});
        assert_eq!(allowed_origin(&cors, "https://a.example").as_deref(), Some("https://a.example"));
        assert_eq!(allowed_origin(&cors, "https://b.example"), None);
        let any = json!({"allowOrigins": ["*"]});
        assert_eq!(allowed_origin(&any, "https://b.example").as_deref(), Some("*"));
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
    }
}
