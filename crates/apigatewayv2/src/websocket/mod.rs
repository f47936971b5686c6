//! WebSocket APIs: the connections a node holds and what happens on them. The binary owns the
//! sockets (the handshake and the frames); this module decides:
//!
//! 1. [`connect`]: the `$connect` route's integration runs before the handshake is answered;
//!    a non-2xx status or a failure refuses it with that status. An accepted connection is
//!    kept in memory (its outgoing queue) and recorded in storage with the node that holds it.
//! 2. [`message`]: each message is routed by the API's route selection expression
//!    (`$request.body.action`, any `$request.body.*` path) to its route, else `$default`; the
//!    integration runs, and on a two-way route (one with a RouteResponse) its answer goes back
//!    to the client. A failure answers AWS's `Internal server error` message to the client.
//! 3. [`disconnect`]: the connection is forgotten, then `$disconnect` runs.
//! 4. `manage`: the @connections API (PostToConnection, GetConnection, DeleteConnection).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::Inner;
use crate::execute::{BackendError, Backends, HttpAnswer, api_of, deployment_of};
use crate::store::{self, DeploymentDoc};

mod event;
mod manage;

pub use manage::ManageRequest;
pub(crate) use manage::manage;

/// A client idle this long is disconnected (AWS: 10 minutes).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// No connection lasts longer (AWS: 2 hours).
pub const MAX_DURATION: Duration = Duration::from_secs(7200);
/// AWS's frame and message size limits.
pub const MAX_FRAME: usize = 32 << 10;
pub const MAX_MESSAGE: usize = 128 << 10;
/// Messages waiting to be written to one client; PostToConnection beyond it answers 429.
const QUEUE: usize = 1024;

/// A WebSocket handshake, as the execute-api door read it.
#[derive(Debug, Clone)]
pub struct Handshake {
    pub api_id: String,
    pub stage: String,
    /// The request's headers, names as the client wrote them.
    pub headers: Vec<(String, String)>,
    pub query: Option<String>,
    pub source_ip: String,
    /// `requestContext.domainName`: the API's execute-api host name, with the port when it is
    /// not the scheme's default.
    pub domain_name: String,
    /// Who signed the handshake for `execute-api`, when it is signed (`AWS_IAM` on `$connect`).
    pub caller: Option<Result<crate::Caller, (String, String)>>,
}

/// What the socket's owner writes to the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    Text(String),
    Binary(Vec<u8>),
    /// Close the connection with this code and reason.
    Close(u16, String),
}

/// An accepted connection: its id, the headers to add to the handshake's answer (the
/// `Sec-WebSocket-Protocol` the `$connect` integration chose), and what to write to it.
pub struct Session {
    pub connection_id: String,
    pub headers: Vec<(String, String)>,
    pub outgoing: mpsc::Receiver<Outgoing>,
}

/// One connection held by this node.
pub struct Conn {
    pub id: String,
    pub api_id: String,
    pub stage: String,
    pub account: String,
    pub region: String,
    pub domain_name: String,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub connected_at: u64,
    /// What the `$connect` authorizer answered: every event of the connection carries it.
    pub authorizer: std::sync::OnceLock<Value>,
    last_active: AtomicU64,
    tx: mpsc::Sender<Outgoing>,
}

impl Conn {
    fn send(&self, m: Outgoing) -> bool {
        self.tx.try_send(m).is_ok()
    }

    fn send_json(&self, v: Value) {
        self.send(Outgoing::Text(v.to_string()));
    }
}

/// The connections this node holds, by id.
#[derive(Default)]
pub struct Connections {
    map: std::sync::Mutex<HashMap<String, Arc<Conn>>>,
}

impl Connections {
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Conn>> {
        self.map.lock().ok()?.get(id).cloned()
    }

    fn insert(&self, conn: Arc<Conn>) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(conn.id.clone(), conn);
        }
    }

    fn remove(&self, id: &str) -> Option<Arc<Conn>> {
        self.map.lock().ok()?.remove(id)
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Asks every connection to close (the server resets or stops).
    pub(crate) fn close_all(&self, code: u16, reason: &str) {
        let all: Vec<Arc<Conn>> = self.map.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
        for c in all {
            c.send(Outgoing::Close(code, reason.to_string()));
        }
    }
}

/// Ids as API Gateway makes them for connections, requests and messages (`L0SM9cOFvHcCIhw=`).
fn new_id(i: &Inner) -> String {
    let b = i.env.ids.random_bytes();
    base64::engine::general_purpose::URL_SAFE.encode(&b[..11])
}

fn answer(status: u16, text: &str) -> HttpAnswer {
    HttpAnswer::new(
        status,
        vec![("content-type".into(), "application/json".into())],
        json!({ "message": text }).to_string().into_bytes(),
    )
}

fn stage_variables(stage: &Value) -> Vec<(String, String)> {
    stage
        .get("stageVariables")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default()
}

/// The value a selection expression (`$request.body.a.b`, `${request.body.a}`) picks from a
/// message; a literal (`\$default`, `action`) is itself.
pub fn select(expression: &str, body: &[u8]) -> Option<String> {
    let e = expression.trim();
    let inner = e.strip_prefix("${").and_then(|x| x.strip_suffix('}')).map(|x| format!("${x}"));
    let e = inner.as_deref().unwrap_or(e);
    let Some(path) = e.strip_prefix("$request.body") else {
        return Some(e.strip_prefix('\\').unwrap_or(e).to_string());
    };
    let mut cur: Value = serde_json::from_slice(body).ok()?;
    for part in path.split('.').filter(|p| !p.is_empty()) {
        cur = cur.get(part)?.clone();
    }
    match cur {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The route for a key in a deployment, with its id.
fn route_for<'d>(dep: &'d DeploymentDoc, key: &str) -> Option<(&'d String, &'d Value)> {
    dep.routes.iter().find(|(_, r)| r.get("routeKey").and_then(Value::as_str) == Some(key))
}

/// What an integration answered.
enum Outcome {
    Reply { status: u16, headers: Vec<(String, String)>, body: Option<(Vec<u8>, bool)> },
    Failed,
}

struct Step<'a> {
    i: &'a Inner,
    conn: &'a Conn,
    dep: &'a DeploymentDoc,
    route_key: &'a str,
    route: &'a Value,
    request_id: &'a str,
    stage_variables: &'a [(String, String)],
}

impl Step<'_> {
    fn source_arn(&self) -> String {
        let c = self.conn;
        format!(
            "arn:{partition}:execute-api:{}:{}:{}/{}/{}",
            c.region,
            c.account,
            c.api_id,
            c.stage,
            self.route_key,
            partition = stratus_core::partition(&c.region)
        )
    }

    /// `$context` for mapping templates.
    fn context(&self, now: u64, kind: &event::Kind<'_>) -> Value {
        event::request_context(self.conn, self.route_key, kind, self.request_id, now)
    }

    async fn integrate(&self, kind: event::Kind<'_>) -> Outcome {
        let Some(backends) = self.i.backends.get().cloned() else { return Outcome::Failed };
        let target = self.route.get("target").and_then(Value::as_str).unwrap_or("");
        let Some((integration_id, integration)) =
            target.strip_prefix("integrations/").and_then(|id| self.dep.integrations.get_key_value(id))
        else {
            return Outcome::Failed;
        };
        let timeout =
            Duration::from_millis(integration.get("timeoutInMillis").and_then(Value::as_u64).unwrap_or(29_000));
        let work = self.run(integration_id, integration, backends.as_ref(), kind);
        tokio::time::timeout(timeout, work).await.unwrap_or(Outcome::Failed)
    }

    async fn run(
        &self,
        integration_id: &str,
        integration: &Value,
        backends: &dyn Backends,
        kind: event::Kind<'_>,
    ) -> Outcome {
        let now = self.i.now();
        let uri = integration.get("integrationUri").and_then(Value::as_str).unwrap_or("");
        let body: &[u8] = match &kind {
            event::Kind::Message { body, .. } => body,
            _ => b"",
        };
        let ty = integration.get("integrationType").and_then(Value::as_str).unwrap_or("");
        match ty {
            "AWS_PROXY" => {
                let Some(function) = crate::parts::function_of(uri) else { return Outcome::Failed };
                let e = event::event(self.conn, self.route_key, &kind, self.request_id, now, self.stage_variables);
                match backends.invoke(function, &self.source_arn(), e.to_string().into_bytes()).await {
                    Ok(r) if r.function_error.is_none() => {
                        let a = event::proxy_answer(&r.payload);
                        Outcome::Reply { status: a.status, headers: a.headers, body: a.body }
                    }
                    Ok(_) => Outcome::Failed,
                    Err(e) => {
                        log_failure(self.conn, &e);
                        Outcome::Failed
                    }
                }
            }
            "AWS" | "MOCK" | "HTTP" => {
                let ctx = self.context(now, &kind);
                let Ok(request) = self.request_template(integration, body, &ctx) else { return Outcome::Failed };
                let (status, output) = match ty {
                    "AWS" => {
                        let Some(function) = crate::parts::function_of(uri) else { return Outcome::Failed };
                        match backends.invoke(function, &self.source_arn(), request.into_bytes()).await {
                            Ok(r) if r.function_error.is_none() => (200, r.payload),
                            Ok(_) => return Outcome::Failed,
                            Err(e) => {
                                log_failure(self.conn, &e);
                                return Outcome::Failed;
                            }
                        }
                    }
                    "HTTP" => match self.http(backends, integration, uri, request.into_bytes()).await {
                        Some(a) => (a.status, a.body),
                        None => return Outcome::Failed,
                    },
                    _ => {
                        let status = serde_json::from_str::<Value>(&request)
                            .ok()
                            .and_then(|v| v.get("statusCode").and_then(Value::as_u64))
                            .and_then(|s| u16::try_from(s).ok())
                            .unwrap_or(200);
                        (status, Vec::new())
                    }
                };
                self.integration_response(integration_id, status, output, &ctx)
            }
            "HTTP_PROXY" => match self.http(backends, integration, uri, body.to_vec()).await {
                Some(a) => Outcome::Reply { status: a.status, headers: Vec::new(), body: Some((a.body, false)) },
                None => Outcome::Failed,
            },
            _ => Outcome::Failed,
        }
    }

    async fn http(&self, backends: &dyn Backends, integration: &Value, uri: &str, body: Vec<u8>) -> Option<HttpAnswer> {
        let method = match integration.get("integrationMethod").and_then(Value::as_str) {
            Some(m) if m != "ANY" => m,
            _ => "POST",
        };
        let headers = vec![("content-type".to_string(), "application/json".to_string())];
        match backends.http(method, uri, headers, body, Duration::from_secs(29)).await {
            Ok(a) => Some(a),
            Err(e) => {
                log_failure(self.conn, &e);
                None
            }
        }
    }

    /// The request template the integration's template selection expression picks (else
    /// `$default`); without one the message passes through as it is.
    fn request_template(&self, integration: &Value, body: &[u8], ctx: &Value) -> Result<String, String> {
        let templates = integration.get("requestTemplates").and_then(Value::as_object);
        let key = integration
            .get("templateSelectionExpression")
            .and_then(Value::as_str)
            .and_then(|e| select(e, body))
            .unwrap_or_else(|| "$default".to_string());
        let template = templates.and_then(|t| t.get(&key).or_else(|| t.get("$default"))).and_then(Value::as_str);
        match template {
            Some(t) => render(t, body, ctx, self.stage_variables),
            None if integration.get("passthroughBehavior").and_then(Value::as_str) == Some("NEVER") => {
                Err("no request template matches".into())
            }
            None => Ok(String::from_utf8_lossy(body).into_owned()),
        }
    }

    /// The integration response for a status (`/regex/` keys first, then `$default`) and its
    /// template's output; without one the integration's output is the answer.
    fn integration_response(&self, integration_id: &str, status: u16, output: Vec<u8>, ctx: &Value) -> Outcome {
        let responses = self.dep.integration_responses.get(integration_id);
        let code = status.to_string();
        let chosen = responses.and_then(|all| {
            let by_regex = all.values().find(|r| {
                let key = r.get("integrationResponseKey").and_then(Value::as_str).unwrap_or("");
                key.len() >= 2
                    && key.starts_with('/')
                    && key.ends_with('/')
                    && regex::Regex::new(&format!("^(?:{})$", &key[1..key.len() - 1]))
                        .is_ok_and(|re| re.is_match(&code))
            });
            by_regex.or_else(|| {
                all.values().find(|r| r.get("integrationResponseKey").and_then(Value::as_str) == Some("$default"))
            })
        });
        let Some(response) = chosen else {
            let body = (!output.is_empty()).then_some((output, false));
            return Outcome::Reply { status, headers: Vec::new(), body };
        };
        let templates = response.get("responseTemplates").and_then(Value::as_object);
        let key = response
            .get("templateSelectionExpression")
            .and_then(Value::as_str)
            .and_then(|e| select(e, &output))
            .unwrap_or_else(|| "$default".to_string());
        let template = templates.and_then(|t| t.get(&key).or_else(|| t.get("$default"))).and_then(Value::as_str);
        let body = match template {
            Some(t) => match render(t, &output, ctx, self.stage_variables) {
                Ok(s) => s.into_bytes(),
                Err(e) => {
                    tracing::debug!(api = %self.conn.api_id, error = %e, "response template failed");
                    return Outcome::Failed;
                }
            },
            None => output,
        };
        Outcome::Reply { status, headers: Vec::new(), body: (!body.is_empty()).then_some((body, false)) }
    }
}

fn render(template: &str, body: &[u8], ctx: &Value, stage_variables: &[(String, String)]) -> Result<String, String> {
    let t = stratus_vtl::Template::parse(template).map_err(|e| e.to_string())?;
    let vars = stratus_vtl::apigw::Variables {
        body: String::from_utf8_lossy(body).into_owned(),
        params: Default::default(),
        context: ctx.clone(),
        stage_variables: stage_variables.to_vec(),
    };
    t.render(&mut vars.into_context()).map_err(|e| e.to_string())
}

fn log_failure(conn: &Conn, e: &BackendError) {
    tracing::debug!(api = %conn.api_id, connection = %conn.id, error = ?e, "WebSocket integration failed");
}

/// A handshake: runs `$connect`, and on success holds the connection.
pub(crate) async fn connect(i: &Inner, hs: Handshake) -> Result<Session, HttpAnswer> {
    let forbidden = || answer(403, "Forbidden");
    let Some((account, region, doc)) = api_of(i, &hs.api_id).await else { return Err(forbidden()) };
    if !doc.is_websocket() {
        return Err(answer(400, "Bad Request"));
    }
    let Some(stage) = doc.stages.get(&hs.stage) else { return Err(forbidden()) };
    let Some(dep_id) = stage.get("deploymentId").and_then(Value::as_str) else { return Err(forbidden()) };
    let Some(dep) = deployment_of(i, &account, &region, &hs.api_id, dep_id).await else { return Err(forbidden()) };
    let stage_variables = stage_variables(stage);
    let (tx, rx) = mpsc::channel(QUEUE);
    let now = i.now();
    let user_agent = hs.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("user-agent")).map(|(_, v)| v.clone());
    let conn = Arc::new(Conn {
        id: new_id(i),
        api_id: hs.api_id.clone(),
        stage: hs.stage.clone(),
        account,
        region,
        domain_name: hs.domain_name.clone(),
        source_ip: hs.source_ip.clone(),
        user_agent,
        connected_at: now,
        authorizer: std::sync::OnceLock::new(),
        last_active: AtomicU64::new(now),
        tx,
    });
    let mut headers = Vec::new();
    if let Some((_, route)) = route_for(&dep, "$connect") {
        let Some(backends) = i.backends.get().cloned() else { return Err(answer(500, "Internal server error")) };
        let granted = authorize_connect(i, &conn, &dep, route, &hs, &stage_variables, backends.as_ref()).await?;
        if let Some(g) = granted {
            let _ = conn.authorizer.set(g);
        }
        let request_id = new_id(i);
        let step = Step {
            i,
            conn: &conn,
            dep: &dep,
            route_key: "$connect",
            route,
            request_id: &request_id,
            stage_variables: &stage_variables,
        };
        match step.integrate(event::Kind::Connect { headers: &hs.headers, query: hs.query.as_deref() }).await {
            Outcome::Reply { status, headers: h, .. } if (200..300).contains(&status) => {
                headers = h.into_iter().filter(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-protocol")).collect();
            }
            Outcome::Reply { status, body, .. } => {
                let body = body.map(|(b, _)| b).unwrap_or_default();
                return Err(HttpAnswer::new(status, Vec::new(), body));
            }
            Outcome::Failed => return Err(answer(500, "Internal server error")),
        }
    }
    let record = json!({
        "apiId": conn.api_id, "stage": conn.stage, "node": i.node, "connectedAt": conn.connected_at,
    });
    let key = store::connection_key(&conn.id);
    let stored = i.store.write(move |t| store::put_json(t, &key, &record)).await;
    if let Err(e) = stored {
        tracing::warn!(error = %e.message, "cannot record a WebSocket connection");
        return Err(answer(500, "Internal server error"));
    }
    i.connections.insert(conn.clone());
    Ok(Session { connection_id: conn.id.clone(), headers, outgoing: rx })
}

/// The value of a WebSocket identity source (`route.request.header.X`,
/// `route.request.querystring.x`, `stageVariables.x`) in a handshake.
fn identity_value(hs: &Handshake, stage_variables: &[(String, String)], source: &str) -> Option<String> {
    if let Some(name) = source.strip_prefix("route.request.header.") {
        let values: Vec<&str> =
            hs.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("route.request.querystring.") {
        let q = hs.query.as_deref().unwrap_or("");
        let values: Vec<String> =
            form_urlencoded::parse(q.as_bytes()).filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    let name = source.strip_prefix("stageVariables.")?;
    stage_variables.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The `$connect` route's authorization: `AWS_IAM` (a signed handshake, decided by IAM) or
/// `CUSTOM` (a Lambda REQUEST authorizer answering an IAM policy for the `$connect` method ARN);
/// its answer (`principalId` and `context`) is the connection's `requestContext.authorizer`.
#[allow(clippy::too_many_arguments)]
async fn authorize_connect(
    i: &Inner,
    conn: &Conn,
    dep: &DeploymentDoc,
    route: &Value,
    hs: &Handshake,
    stage_variables: &[(String, String)],
    backends: &dyn Backends,
) -> Result<Option<Value>, HttpAnswer> {
    let method_arn = format!(
        "arn:{partition}:execute-api:{}:{}:{}/{}/$connect",
        conn.region,
        conn.account,
        conn.api_id,
        conn.stage,
        partition = stratus_core::partition(&conn.region)
    );
    match route.get("authorizationType").and_then(Value::as_str).unwrap_or("NONE") {
        "AWS_IAM" => match &hs.caller {
            Some(Ok(caller)) if backends.may_invoke(caller, &method_arn).await => Ok(None),
            Some(Err((_, text))) => Err(answer(403, text)),
            _ => Err(answer(403, "Forbidden")),
        },
        "CUSTOM" => {
            let id = route.get("authorizerId").and_then(Value::as_str).unwrap_or("");
            let Some(a) = dep.authorizers.get(id) else { return Err(answer(500, "Internal server error")) };
            let names: Vec<&str> = a
                .get("identitySource")
                .and_then(Value::as_array)
                .map(|l| l.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut values = Vec::new();
            for n in &names {
                match identity_value(hs, stage_variables, n) {
                    Some(v) => values.push(v),
                    None => return Err(answer(401, "Unauthorized")),
                }
            }
            let Some(function) = a.get("authorizerUri").and_then(Value::as_str).and_then(crate::parts::function_of)
            else {
                return Err(answer(500, "Internal server error"));
            };
            let request_id = new_id(i);
            let mut e = event::event(
                conn,
                "$connect",
                &event::Kind::Connect { headers: &hs.headers, query: hs.query.as_deref() },
                &request_id,
                i.now(),
                stage_variables,
            );
            e["type"] = json!("REQUEST");
            e["methodArn"] = json!(method_arn);
            e.as_object_mut().map(|o| o.remove("isBase64Encoded"));
            let source_arn = format!(
                "arn:{partition}:execute-api:{}:{}:{}/authorizers/{id}",
                conn.region,
                conn.account,
                conn.api_id,
                partition = stratus_core::partition(&conn.region)
            );
            let invoked = backends.invoke(function, &source_arn, e.to_string().into_bytes()).await;
            let answered = match invoked {
                Ok(r) if r.function_error.is_none() => serde_json::from_slice::<Value>(&r.payload).ok(),
                _ => None,
            };
            let Some(answered) = answered else { return Err(answer(500, "Internal server error")) };
            let Some(policy) = answered.get("policyDocument") else { return Err(answer(500, "Internal server error")) };
            if stratus_core::http::policy_decision(policy, &method_arn) != Some(true) {
                return Err(answer(403, "Forbidden"));
            }
            let mut granted = answered.get("context").filter(|c| c.is_object()).cloned().unwrap_or_else(|| json!({}));
            granted["principalId"] = answered.get("principalId").cloned().unwrap_or(Value::Null);
            Ok(Some(granted))
        }
        _ => Ok(None),
    }
}

/// A message from a client: routed, integrated, answered on two-way routes.
pub(crate) async fn message(i: &Inner, connection_id: &str, body: &[u8], binary: bool) {
    let Some(conn) = i.connections.get(connection_id) else { return };
    let now = i.now();
    conn.last_active.store(now, Ordering::Relaxed);
    let request_id = new_id(i);
    let error = |text: &str| json!({"message": text, "connectionId": conn.id, "requestId": request_id});
    let Some((_, _, doc)) = api_of(i, &conn.api_id).await else {
        conn.send_json(error("Forbidden"));
        return;
    };
    let found = match doc.stages.get(&conn.stage) {
        Some(stage) => match stage.get("deploymentId").and_then(Value::as_str) {
            Some(dep_id) => deployment_of(i, &conn.account, &conn.region, &conn.api_id, dep_id)
                .await
                .map(|d| (d, stage_variables(stage))),
            None => None,
        },
        None => None,
    };
    let Some((dep, stage_variables)) = found else {
        conn.send_json(error("Forbidden"));
        return;
    };
    let expression = doc.api.get("routeSelectionExpression").and_then(Value::as_str).unwrap_or("$request.body.action");
    let selected = if binary { None } else { select(expression, body) };
    let route = selected
        .as_deref()
        .filter(|k| !k.starts_with('$'))
        .and_then(|k| route_for(&dep, k))
        .or_else(|| route_for(&dep, "$default"));
    let Some((route_id, route)) = route else {
        conn.send_json(error("Forbidden"));
        return;
    };
    let route_key = route.get("routeKey").and_then(Value::as_str).unwrap_or("$default");
    let message_id = new_id(i);
    let step = Step {
        i,
        conn: &conn,
        dep: &dep,
        route_key,
        route,
        request_id: &request_id,
        stage_variables: &stage_variables,
    };
    let two_way = dep.route_responses.get(route_id).is_some_and(|r| !r.is_empty());
    match step.integrate(event::Kind::Message { message_id: &message_id, body, binary }).await {
        Outcome::Failed => conn.send_json(error("Internal server error")),
        Outcome::Reply { body: Some((b, is_binary)), .. } if two_way => {
            let out = match (is_binary, String::from_utf8(b)) {
                (false, Ok(text)) => Outgoing::Text(text),
                (_, Ok(text)) => Outgoing::Binary(text.into_bytes()),
                (_, Err(e)) => Outgoing::Binary(e.into_bytes()),
            };
            conn.send(out);
        }
        Outcome::Reply { .. } => {}
    }
}

/// The connection ended (`code` and `reason` as the closing side gave them): it is forgotten,
/// then `$disconnect` runs.
pub(crate) async fn disconnect(i: &Inner, connection_id: &str, code: u16, reason: &str) {
    let Some(conn) = i.connections.remove(connection_id) else { return };
    let key = store::connection_key(connection_id);
    if let Err(e) = i.store.write(move |t| t.delete(key.as_bytes()).map_err(stratus_proto::AwsError::from)).await {
        tracing::debug!(error = %e.message, "cannot forget a WebSocket connection");
    }
    let Some((_, _, doc)) = api_of(i, &conn.api_id).await else { return };
    let Some(stage) = doc.stages.get(&conn.stage) else { return };
    let Some(dep_id) = stage.get("deploymentId").and_then(Value::as_str) else { return };
    let Some(dep) = deployment_of(i, &conn.account, &conn.region, &conn.api_id, dep_id).await else { return };
    let Some((_, route)) = route_for(&dep, "$disconnect") else { return };
    let request_id = new_id(i);
    let stage_variables = stage_variables(stage);
    let step = Step {
        i,
        conn: &conn,
        dep: &dep,
        route_key: "$disconnect",
        route,
        request_id: &request_id,
        stage_variables: &stage_variables,
    };
    let _ = step.integrate(event::Kind::Disconnect { code, reason }).await;
}

/// At start: connections recorded by an earlier run are gone (their sockets closed with it).
pub(crate) async fn forget_earlier(i: &Inner) -> Result<(), String> {
    i.store
        .write(|t| store::delete_prefix(t, store::CONNECTIONS_PREFIX))
        .await
        .map_err(|e| format!("cannot clear WebSocket connections: {}", e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_expressions() {
        let body = br#"{"action": "sendmessage", "a": {"b": 7}, "n": null}"#;
        assert_eq!(select("$request.body.action", body).as_deref(), Some("sendmessage"));
        assert_eq!(select("${request.body.action}", body).as_deref(), Some("sendmessage"));
        assert_eq!(select("$request.body.a.b", body).as_deref(), Some("7"));
        assert_eq!(select("$request.body.n", body), None);
        assert_eq!(select("$request.body.missing", body), None);
        assert_eq!(select("$request.body.action", b"not json"), None);
        assert_eq!(select("\\$default", body).as_deref(), Some("$default"));
    }
}
