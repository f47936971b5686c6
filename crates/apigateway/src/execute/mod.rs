//! The data plane: a request to a deployed stage, from routing to the answer.
//!
//! 1. The stage and its deployment ([`Deployed`], kept while the stage is unchanged).
//! 2. The resource and method (`routes`): none answers 403 Missing Authentication Token.
//! 3. Authorization: the API's resource policy, AWS_IAM, Lambda authorizers (`auth`), then the
//!    API key with its usage plan's throttle and quota (`auth`).
//! 4. Request validation (`validate`).
//! 5. The integration (`integrate`): AWS_PROXY and AWS to Lambda, AWS service actions, HTTP,
//!    HTTP_PROXY, MOCK, with mapping templates (`mapping`).
//!
//! What API Gateway answers itself goes through the API's gateway responses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Value, json};
use stratus_proto::{AwsError, BoxFuture};

use crate::Inner;
use crate::store::{self, ApiDoc, DeploymentDoc};

mod auth;
mod event;
mod integrate;
mod mapping;
mod routes;
mod validate;

pub use auth::Caller;

/// Names and values (headers, query strings, path parameters), in order.
pub type Pairs = Vec<(String, String)>;

/// Deployed stages and API locations kept in memory. Every control-plane change to an API's
/// stages or deployments drops its entries and bumps the generation; a load that started
/// before a change is not kept (its generation is old), so a stale stage is never cached.
#[derive(Default)]
struct DeployedCache {
    generation: u64,
    stages: HashMap<String, Arc<Deployed>>,
    locations: HashMap<String, (String, String)>,
}

/// A request for a stage, as the execute-api door read it.
#[derive(Debug, Clone)]
pub struct ExecuteRequest {
    pub api_id: String,
    pub stage: String,
    /// The path after the stage, as sent (undecoded), starting with `/`.
    pub path: String,
    /// The whole path as sent (`requestContext.path`): with the stage, or as on the custom domain.
    pub full_path: String,
    pub method: String,
    /// The raw query string, if there was one.
    pub query: Option<String>,
    /// In the order and case the door has them.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    /// The Host header (`requestContext.domainName`).
    pub host: String,
    pub protocol: String,
    /// Whether the request came over TLS (`X-Forwarded-Proto`).
    pub secure: bool,
    /// A SigV4 signature for `execute-api`, checked by the door: who signed, or why it fails
    /// (`(error type, message)`).
    pub caller: Option<Result<Caller, (String, String)>>,
}

pub use stratus_core::http::{HttpAnswer, Invoked};

#[derive(Debug, Clone)]
pub enum BackendError {
    /// The resource's policy does not let API Gateway in (answered 500).
    Denied(String),
    /// The endpoint does not exist or cannot be reached (answered 500).
    Unreachable(String),
    /// The call failed (answered 502).
    Failed(String),
}

/// A request to an AWS service for an `AWS` integration.
#[derive(Debug, Clone)]
pub struct ServiceRequest {
    pub account: String,
    pub region: String,
    pub service: String,
    /// For `action/{Action}` URIs: the action (the binary adds `Action=` or `X-Amz-Target`).
    pub action: Option<String>,
    pub method: String,
    /// Path and query, e.g. `/?Action=SendMessage` or `/123456789012/queue`.
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The integration's credentials (a role ARN), if any.
    pub credentials: Option<String>,
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

    /// An AWS service request, signed as the integration's credentials.
    fn aws(&self, req: ServiceRequest) -> BoxFuture<'_, Result<HttpAnswer, BackendError>>;

    /// An HTTP request to any URL.
    fn http<'a>(
        &'a self,
        method: &'a str,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<HttpAnswer, BackendError>>;

    /// Whether IAM lets the caller (None: anonymous) invoke `method_arn`, given the API's
    /// resource policy: `Err` carries whether the deny was explicit.
    fn may_invoke<'a>(
        &'a self,
        caller: Option<&'a Caller>,
        policy: Option<&'a str>,
        iam: bool,
        method_arn: &'a str,
        source_ip: &'a str,
    ) -> BoxFuture<'a, Result<(), bool>>;

    /// Writes lines to a CloudWatch Logs group (access and execution logging).
    fn log<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        group: &'a str,
        stream: &'a str,
        lines: Vec<String>,
    ) -> BoxFuture<'a, ()>;
}

/// A deployed stage: the API as deployed, the stage's settings, and its routes.
pub struct Deployed {
    pub account: String,
    pub region: String,
    pub stage: Value,
    pub deployment_id: String,
    pub doc: ApiDoc,
    routes: Vec<routes::Route>,
    /// Mapping templates of this deployment, parsed once.
    pub(crate) templates: Mutex<HashMap<String, Arc<stratus_vtl::Template>>>,
}

/// The data plane's state: deployed stages, authorizer results, throttles, usage.
#[derive(Default)]
pub struct Runtime {
    deployed: Mutex<DeployedCache>,
    pub(crate) auth: auth::AuthState,
    /// Custom domain names (lower case), so the door can claim their requests by host.
    pub(crate) domains: std::sync::RwLock<std::collections::HashSet<String>>,
}

impl Runtime {
    pub fn clear(&self) {
        if let Ok(mut d) = self.deployed.lock() {
            d.generation += 1;
            d.stages.clear();
            d.locations.clear();
        }
        if let Ok(mut d) = self.domains.write() {
            d.clear();
        }
        self.auth.clear();
    }

    pub fn forget_api(&self, api: &str) {
        if let Ok(mut d) = self.deployed.lock() {
            d.generation += 1;
            let prefix = format!("{api}/");
            d.stages.retain(|k, _| !k.starts_with(&prefix));
            d.locations.remove(api);
        }
    }

    fn generation(&self) -> u64 {
        self.deployed.lock().map(|d| d.generation).unwrap_or(0)
    }

    pub fn flush_authorizers(&self, api: &str) {
        self.auth.flush(api);
    }

    pub fn used_on(&self, plan: &str, key: &str, day: i64) -> u64 {
        self.auth.used_on(plan, key, day)
    }
}

pub(crate) async fn locate(i: &Inner, api: &str) -> Option<(String, String)> {
    if let Some(found) = i.runtime.deployed.lock().ok().and_then(|d| d.locations.get(api).cloned()) {
        return Some(found);
    }
    let generation = i.runtime.generation();
    let key = store::api_index_key(api);
    let v = i.store.read_short(move |r| r.get(key.as_bytes()).map_err(store::store_err)).await.ok().flatten()?;
    let s = String::from_utf8(v).ok()?;
    let (a, r) = s.split_once('/')?;
    let found = (a.to_string(), r.to_string());
    if let Ok(mut d) = i.runtime.deployed.lock()
        && d.generation == generation
    {
        d.locations.insert(api.to_string(), found.clone());
    }
    Some(found)
}

/// The deployed stage: from memory, else read (and kept until the API's stages or deployments
/// change).
async fn deployed(
    i: &Inner,
    account: &str,
    region: &str,
    api: &str,
    stage: &str,
) -> Result<Option<Arc<Deployed>>, AwsError> {
    let cache_key = format!("{api}/{stage}");
    if let Some(d) = i.runtime.deployed.lock().ok().and_then(|m| m.stages.get(&cache_key).cloned()) {
        return Ok(Some(d));
    }
    let generation = i.runtime.generation();
    let key = store::stage_key(account, region, api, stage);
    let raw = i.store.read_short(move |r| r.get(key.as_bytes()).map_err(store::store_err)).await?;
    let Some(raw) = raw else { return Ok(None) };
    let st: Value = serde_json::from_slice(&raw).map_err(|e| AwsError::internal(e.to_string()))?;
    let deployment_id = st.get("deploymentId").and_then(Value::as_str).unwrap_or("").to_string();
    let dk = store::deployment_key(account, region, api, &deployment_id);
    let doc: Option<DeploymentDoc> = i.store.read(move |r| store::get_json(r, &dk)).await?;
    let Some(doc) = doc else { return Ok(None) };
    let d = Arc::new(Deployed {
        account: account.to_string(),
        region: region.to_string(),
        stage: st,
        deployment_id,
        routes: routes::compile(&doc.snapshot),
        doc: doc.snapshot,
        templates: Mutex::default(),
    });
    if let Ok(mut m) = i.runtime.deployed.lock()
        && m.generation == generation
    {
        m.stages.insert(cache_key, d.clone());
    }
    Ok(Some(d))
}

/// Everything about one request that the steps share.
pub struct Call<'a> {
    pub req: &'a ExecuteRequest,
    pub d: &'a Deployed,
    pub request_id: String,
    pub extended_id: String,
    pub now_ms: u64,
    pub resource_id: String,
    pub resource_path: String,
    /// The path after the stage, with empty segments removed (the event's `path`).
    pub path: String,
    pub method: Value,
    pub path_params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub stage_variables: Vec<(String, String)>,
    pub authorizer: Option<Value>,
    pub caller: Option<Caller>,
    pub api_key: Option<(String, String)>,
    pub error: Option<(String, String)>,
}

impl Call<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn api_id(&self) -> &str {
        &self.req.api_id
    }

    fn binary_types(&self) -> Vec<&str> {
        self.d
            .doc
            .api
            .get("binaryMediaTypes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether a media type is one of the API's binary media types (`*/*` and `image/*` too).
    pub fn binary_type(&self, content_type: &str) -> bool {
        let ct = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if ct.is_empty() {
            return false;
        }
        self.binary_types().iter().any(|t| media_matches(t, &ct))
    }

    /// Whether the client's `Accept` (its first type) is a binary media type.
    pub fn accepts_binary(&self) -> bool {
        let accept = self.header("accept").unwrap_or("");
        let first = accept.split(',').next().unwrap_or("");
        self.binary_type(first)
    }

    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}`.
    pub fn method_arn(&self) -> String {
        format!(
            "arn:{partition}:execute-api:{}:{}:{}/{}/{}/{}",
            self.d.region,
            self.d.account,
            self.req.api_id,
            self.req.stage,
            self.req.method,
            self.path.trim_start_matches('/'),
            partition = stratus_core::partition(&self.d.region)
        )
    }

    pub fn identity(&self) -> Value {
        let c = self.caller.as_ref();
        let mut id = json!({
            "cognitoIdentityPoolId": null,
            "accountId": c.map(|c| c.account.clone()),
            "cognitoIdentityId": null,
            "caller": c.map(|c| c.user_id.clone()),
            "sourceIp": self.req.source_ip,
            "principalOrgId": null,
            "accessKey": c.map(|c| c.access_key.clone()),
            "cognitoAuthenticationType": null,
            "cognitoAuthenticationProvider": null,
            "userArn": c.map(|c| c.arn.clone()),
            "userAgent": self.header("user-agent"),
            "user": c.map(|c| c.user_id.clone()),
        });
        if let Some((key_id, value)) = &self.api_key {
            id["apiKey"] = json!(value);
            id["apiKeyId"] = json!(key_id);
        }
        id
    }

    pub fn request_context(&self) -> Value {
        let mut rc = json!({
            "resourceId": self.resource_id,
            "resourcePath": self.resource_path,
            "httpMethod": self.req.method,
            "extendedRequestId": self.extended_id,
            "requestTime": clf_time(self.now_ms),
            "path": self.req.full_path,
            "accountId": self.d.account,
            "protocol": self.req.protocol,
            "stage": self.req.stage,
            "domainPrefix": self.req.host.split('.').next().unwrap_or(""),
            "requestTimeEpoch": self.now_ms,
            "requestId": self.request_id,
            "identity": self.identity(),
            "domainName": self.req.host,
            "deploymentId": self.d.deployment_id,
            "apiId": self.req.api_id,
        });
        if let Some(a) = &self.authorizer {
            rc["authorizer"] = a.clone();
        }
        rc
    }

    /// `$context` for mapping templates and access logs.
    pub fn context_variables(&self) -> Value {
        let mut c = self.request_context();
        let (msg, ty) = self.error.clone().unwrap_or_default();
        c["error"] = json!({
            "message": msg,
            "messageString": Value::String(msg.clone()).to_string(),
            "responseType": ty,
            "validationErrorString": "",
        });
        c["requestOverride"] = json!({"header": {}, "querystring": {}, "path": {}});
        c["responseOverride"] = json!({"header": {}});
        if let Some(a) = &self.authorizer {
            c["authorizer"] = a.clone();
        }
        c
    }
}

fn media_matches(pattern: &str, ct: &str) -> bool {
    let p = pattern.trim().to_ascii_lowercase();
    if p == "*/*" {
        return true;
    }
    match p.strip_suffix("/*") {
        Some(major) => ct.split('/').next() == Some(major),
        None => p == ct,
    }
}

/// `dd/MMM/yyyy:HH:mm:ss +0000`.
pub fn clf_time(ms: u64) -> String {
    let iso = stratus_core::time::iso8601_secs(ms / 1000);
    // iso: yyyy-mm-ddTHH:MM:SSZ
    let (date, time) = iso.split_once('T').unwrap_or((&iso, "00:00:00Z"));
    let mut it = date.split('-');
    let (y, m, d) = (it.next().unwrap_or("1970"), it.next().unwrap_or("01"), it.next().unwrap_or("01"));
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mi = m.parse::<usize>().unwrap_or(1).clamp(1, 12) - 1;
    format!("{d}/{}/{y}:{} +0000", MONTHS[mi], time.trim_end_matches('Z'))
}

/// Query pairs of a raw query string, form-decoded (`+` is a space).
fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    match q {
        Some(q) if !q.is_empty() => {
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        }
        _ => Vec::new(),
    }
}

/// A gateway response of `kind` with its default status and message.
pub(crate) fn gateway_error(
    d: Option<&Deployed>,
    kind: &str,
    status: u16,
    error_type: &str,
    message: Option<&str>,
    request_id: &str,
    ctx: Option<&Call<'_>>,
) -> HttpAnswer {
    let (code, params, templates) = match d {
        Some(d) => crate::responses::effective(&d.doc, kind, status),
        None => (status, Default::default(), Default::default()),
    };
    let message_json = match message {
        Some(m) => Value::String(m.to_string()).to_string(),
        None => "null".to_string(),
    };
    let template =
        templates.get("application/json").and_then(Value::as_str).unwrap_or(crate::responses::DEFAULT_TEMPLATE);
    let body = if template == crate::responses::DEFAULT_TEMPLATE {
        format!("{{\"message\":{message_json}}}")
    } else {
        let rendered = match ctx {
            Some(c) => mapping::render_error(template, c, message.unwrap_or(""), kind),
            None => mapping::render_bare_error(template, message.unwrap_or(""), kind, request_id),
        };
        rendered.unwrap_or_else(|_| format!("{{\"message\":{message_json}}}"))
    };
    let mut a = HttpAnswer::new(code, vec![("Content-Type".into(), "application/json".into())], body.into_bytes());
    a.set_header("x-amzn-ErrorType", error_type.to_string());
    for (k, v) in params {
        if let (Some(h), Some(v)) = (k.strip_prefix("gatewayresponse.header."), v.as_str()) {
            let value = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).map(str::to_string).or_else(|| {
                ctx.and_then(|c| v.strip_prefix("method.request.header.").and_then(|n| c.header(n)).map(str::to_string))
            });
            if let Some(value) = value {
                a.set_header(h, value);
            }
        }
    }
    a
}

fn forbidden(request_id: &str) -> HttpAnswer {
    gateway_error(None, "DEFAULT_4XX", 403, "ForbiddenException", Some("Forbidden"), request_id, None)
}

fn stamp(mut a: HttpAnswer, request_id: &str, extended_id: &str) -> HttpAnswer {
    a.set_header("x-amzn-RequestId", request_id.to_string());
    a.set_header("x-amz-apigw-id", extended_id.to_string());
    a
}

/// `Root=1-{8 hex seconds}-{24 hex}`.
fn trace_id(now_ms: u64, ids: &dyn stratus_core::IdSource) -> String {
    let r = ids.random_bytes();
    format!("Root=1-{:08x}-{}", now_ms / 1000, hex::encode(&r[..12]))
}

fn extended_id(i: &Inner) -> String {
    use base64::Engine;
    let b = i.env.ids.random_bytes();
    base64::engine::general_purpose::STANDARD.encode(&b[..11])
}

pub(crate) async fn execute(i: &Inner, req: ExecuteRequest) -> HttpAnswer {
    let request_id = i.env.ids.uuid();
    let extended_id = extended_id(i);
    let Some(backends) = i.backends.get().cloned() else {
        return stamp(
            gateway_error(
                None,
                "DEFAULT_5XX",
                500,
                "InternalServerErrorException",
                Some("Internal server error"),
                &request_id,
                None,
            ),
            &request_id,
            &extended_id,
        );
    };
    let a = run(i, &req, backends.as_ref(), &request_id, &extended_id).await;
    stamp(a, &request_id, &extended_id)
}

async fn run(
    i: &Inner,
    req: &ExecuteRequest,
    backends: &dyn Backends,
    request_id: &str,
    extended_id: &str,
) -> HttpAnswer {
    let Some((account, region)) = locate(i, &req.api_id).await else { return forbidden(request_id) };
    let d = match deployed(i, &account, &region, &req.api_id, &req.stage).await {
        Ok(Some(d)) => d,
        Ok(None) => return forbidden(request_id),
        Err(e) => {
            tracing::warn!(api = %req.api_id, error = %e.message, "cannot read the stage");
            return gateway_error(
                None,
                "DEFAULT_5XX",
                500,
                "InternalServerErrorException",
                Some("Internal server error"),
                request_id,
                None,
            );
        }
    };
    if d.doc.api.get("disableExecuteApiEndpoint").and_then(Value::as_bool) == Some(true)
        && req.host.contains(".execute-api.")
    {
        return forbidden(request_id);
    }
    serve(i, &d, req, backends, request_id, extended_id).await
}

/// Runs a request on a deployed stage (or, for TestInvokeMethod, on the API as it is).
async fn serve(
    i: &Inner,
    d: &Deployed,
    req: &ExecuteRequest,
    backends: &dyn Backends,
    request_id: &str,
    extended_id: &str,
) -> HttpAnswer {
    let missing_token = || {
        gateway_error(
            Some(d),
            "MISSING_AUTHENTICATION_TOKEN",
            403,
            "MissingAuthenticationTokenException",
            Some("Missing Authentication Token"),
            request_id,
            None,
        )
    };
    let Some((route, path_params)) = routes::find(&d.routes, &req.path) else { return missing_token() };
    let Some(resource) = d.doc.resources.get(&route.resource_id) else { return missing_token() };
    let method = resource.methods.get(&req.method).or_else(|| resource.methods.get("ANY"));
    let Some(method) = method else { return missing_token() };
    let normalized = {
        let parts: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
        let trailing = req.path.ends_with('/') && !parts.is_empty();
        format!("/{}{}", parts.join("/"), if trailing { "/" } else { "" })
    };
    let mut headers = req.headers.clone();
    headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-length") && !k.eq_ignore_ascii_case("connection"));
    let default_port = if req.secure { "443" } else { "80" };
    let port = req.host.rsplit_once(':').map(|(_, p)| p.to_string()).unwrap_or_else(|| default_port.into());
    let now_ms = i.now();
    for (k, v) in [
        ("X-Forwarded-For", req.source_ip.clone()),
        ("X-Forwarded-Port", port),
        ("X-Forwarded-Proto", if req.secure { "https" } else { "http" }.to_string()),
        ("X-Amzn-Trace-Id", trace_id(now_ms, i.env.ids.as_ref())),
    ] {
        if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
            headers.push((k.to_string(), v));
        }
    }
    let stage_variables: Vec<(String, String)> = d
        .stage
        .get("variables")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    let mut call = Call {
        req,
        d,
        request_id: request_id.to_string(),
        extended_id: extended_id.to_string(),
        now_ms,
        resource_id: resource.id.clone(),
        resource_path: resource.path.clone(),
        path: normalized,
        method: method.clone(),
        path_params,
        query: query_pairs(req.query.as_deref()),
        headers,
        stage_variables,
        authorizer: None,
        caller: None,
        api_key: None,
        error: None,
    };
    let started = std::time::Instant::now();
    let answer = match auth::authorize(i, &mut call, backends).await {
        Err(a) => a,
        Ok(()) => match validate::request(&call) {
            Err(a) => a,
            Ok(()) => integrate::integrate(i, &mut call, backends).await,
        },
    };
    access_log(&call, &answer, backends).await;
    execution_log(&call, &answer, started.elapsed(), backends).await;
    answer
}

/// The method's logging level from the stage's method settings (`{path}/{METHOD}`, then
/// `*/*`): `OFF` when none is set.
fn logging_level<'d>(c: &'d Call<'_>) -> &'d str {
    let settings = c.d.stage.get("methodSettings").and_then(Value::as_object);
    let own = format!("{}/{}", c.resource_path.trim_start_matches('/'), c.req.method);
    settings
        .and_then(|s| s.get(&own).or_else(|| s.get("*/*")))
        .and_then(|m| m.get("loggingLevel"))
        .and_then(Value::as_str)
        .unwrap_or("OFF")
}

/// Execution logging, when the stage's method settings turn it on: lines in
/// `API-Gateway-Execution-Logs_{api}/{stage}` as API Gateway writes them (`INFO`: every
/// request; `ERROR`: those that failed).
async fn execution_log(c: &Call<'_>, a: &HttpAnswer, took: std::time::Duration, backends: &dyn Backends) {
    let level = logging_level(c);
    let failed = a.status >= 400;
    if level == "OFF" || (level == "ERROR" && !failed) {
        return;
    }
    let group = format!("API-Gateway-Execution-Logs_{}/{}", c.api_id(), c.req.stage);
    let id = &c.request_id;
    let mut lines = vec![
        format!("({id}) Extended Request Id: {}", c.extended_id),
        format!("({id}) Starting execution for request: {id}"),
        format!("({id}) HTTP Method: {}, Resource Path: {}", c.req.method, c.path),
    ];
    if let Some(ty) = a.header("x-amzn-ErrorType") {
        lines.push(format!("({id}) Execution failed: {ty}"));
    }
    lines.push(format!("({id}) Method completed with status: {}", a.status));
    lines.push(format!("({id}) Method took {} ms", took.as_millis()));
    backends.log(&c.d.account, &c.d.region, &group, &c.d.deployment_id, lines).await;
}

/// The stage's access log line, when it has an access log destination.
async fn access_log(c: &Call<'_>, a: &HttpAnswer, backends: &dyn Backends) {
    let Some(settings) = c.d.stage.get("accessLogSettings") else { return };
    let (Some(dest), Some(format)) =
        (settings.get("destinationArn").and_then(Value::as_str), settings.get("format").and_then(Value::as_str))
    else {
        return;
    };
    let Some(arn) = stratus_core::Arn::parse(dest) else { return };
    let group = arn.resource.trim_start_matches("log-group:").trim_end_matches(":*").to_string();
    let mut ctx = c.context_variables();
    ctx["status"] = json!(a.status);
    ctx["responseLength"] = json!(a.body.len());
    ctx["integrationLatency"] = json!(0);
    let line = mapping::substitute_context(format, &ctx);
    backends.log(&c.d.account, &c.d.region, &group, &c.d.deployment_id, vec![line]).await;
}

/// TestInvokeMethod: the method run on the API as it is now (undeployed), stage
/// `test-invoke-stage`, with an execution log.
pub(crate) async fn test_invoke(
    i: &Inner,
    ctx: &stratus_core::RequestContext,
    input: Value,
) -> Result<Value, AwsError> {
    let api_id = crate::s(&input, "restApiId").to_string();
    let (account, region, a2) = (ctx.account.clone(), ctx.region.clone(), api_id.clone());
    let doc = i
        .store
        .read(move |r| store::load_api(r, &account, &region, &a2))
        .await
        .map_err(|_| crate::errors::resource_not_found(&ctx.account, crate::s(&input, "resourceId")))?;
    let resource = doc.resource(&ctx.account, crate::s(&input, "resourceId"))?.clone();
    let method = crate::s(&input, "httpMethod").to_string();
    if !resource.methods.contains_key(&method) {
        return Err(crate::errors::method_not_found());
    }
    let pq = input.get("pathWithQueryString").and_then(Value::as_str).unwrap_or(&resource.path).to_string();
    let (path, query) = match pq.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (pq.clone(), None),
    };
    let mut headers: Vec<(String, String)> = input
        .get("headers")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    if headers.is_empty() {
        headers = Vec::new();
    }
    let stage_vars = input.get("stageVariables").cloned().unwrap_or(json!({}));
    let routes = routes::compile(&doc);
    let d = Deployed {
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        stage: json!({"stageName": "test-invoke-stage", "variables": stage_vars}),
        deployment_id: "test-invoke-deployment-id".into(),
        doc,
        routes,
        templates: Mutex::default(),
    };
    let req = ExecuteRequest {
        api_id: api_id.clone(),
        stage: "test-invoke-stage".into(),
        path: path.clone(),
        full_path: path.clone(),
        method: method.clone(),
        query,
        headers,
        body: Bytes::from(crate::s(&input, "body").to_string()),
        source_ip: "test-invoke-source-ip".into(),
        host: "testPrefix.testDomainName".into(),
        protocol: "HTTP/1.1".into(),
        secure: true,
        caller: None,
    };
    let Some(backends) = i.backends.get().cloned() else {
        return Err(AwsError::internal("no integrations are connected"));
    };
    let started = std::time::Instant::now();
    let request_id = i.env.ids.uuid();
    let a = serve(i, &d, &req, backends.as_ref(), &request_id, &request_id).await;
    let latency = started.elapsed().as_millis() as u64;
    let mut headers = serde_json::Map::new();
    let mut multi: serde_json::Map<String, Value> = serde_json::Map::new();
    for (k, v) in &a.headers {
        headers.insert(k.clone(), json!(v));
        match multi.get_mut(k) {
            Some(Value::Array(l)) => l.push(json!(v)),
            _ => {
                multi.insert(k.clone(), json!([v]));
            }
        }
    }
    let stamp_time = stratus_core::time::iso8601_secs(i.now() / 1000);
    let log = format!(
        "Execution log for request {request_id}\n{stamp_time} : Starting execution for request: {request_id}\n{stamp_time} : HTTP Method: {method}, Resource Path: {path}\n{stamp_time} : Method completed with status: {}\n",
        a.status
    );
    Ok(json!({
        "status": a.status,
        "body": String::from_utf8_lossy(&a.body),
        "headers": headers,
        "multiValueHeaders": multi,
        "log": log,
        "latency": latency,
    }))
}
