//! Amazon API Gateway v2, HTTP and WebSocket APIs (rest-json, signing name `apigateway`, paths
//! `/v2/…`): the control plane (APIs with quick create, routes and route responses,
//! integrations and integration responses, stages with auto-deploy, deployments, CORS
//! configuration, tags) on the Stratus storage interface; the data plane that serves an HTTP
//! API's stage ([`ApiGatewayV2::execute`]), which the binary's execute-api door calls for the
//! APIs REST API Gateway does not know; and WebSocket APIs' connections (`websocket`), whose
//! sockets the binary holds.
//!
//! - `store`: what is stored and where; `errors`: AWS's error shapes.
//! - `apis`, `parts` (routes and integrations), `authorizers`, `responses` (route and integration responses),
//!   `stages` (stages and deployments), `tags`, `openapi` (import and export), `domains`
//!   (custom domain names and API mappings): the operations.
//! - `execute`: a request to an HTTP API's stage, from routing to the integration's answer.
//! - `websocket`: connections, messages and the @connections API.
//!
//! Operations of the model not listed in [`SUPPORTED`] (models, VPC links, portals, routing
//! rules…) answer a BadRequestException saying they are not served.

use std::sync::{Arc, LazyLock};

use serde_json::{Map, Value, json};
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel, ValidationFailure, Wire};
use stratus_storage::Store;

mod apis;
mod authorizers;
mod domains;
mod errors;
pub mod execute;
mod openapi;
mod parts;
mod responses;
mod stages;
mod store;
mod tags;
pub mod websocket;

pub use execute::{BackendError, Backends, Caller, HttpAnswer, HttpRequest, Invoked};
pub use websocket::{Handshake, ManageRequest, Outgoing, Session};

static MODEL: LazyLock<Result<ServiceModel, String>> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../../models/apigatewayv2.json"), None).map_err(|e| e.to_string())
});

/// The operations this server implements.
pub const SUPPORTED: &[&str] = &[
    "CreateApi",
    "GetApi",
    "GetApis",
    "UpdateApi",
    "DeleteApi",
    "DeleteCorsConfiguration",
    "CreateRoute",
    "GetRoute",
    "GetRoutes",
    "UpdateRoute",
    "DeleteRoute",
    "CreateIntegration",
    "GetIntegration",
    "GetIntegrations",
    "UpdateIntegration",
    "DeleteIntegration",
    "CreateStage",
    "GetStage",
    "GetStages",
    "UpdateStage",
    "DeleteStage",
    "CreateDeployment",
    "GetDeployment",
    "GetDeployments",
    "UpdateDeployment",
    "DeleteDeployment",
    "CreateRouteResponse",
    "GetRouteResponse",
    "GetRouteResponses",
    "UpdateRouteResponse",
    "DeleteRouteResponse",
    "CreateIntegrationResponse",
    "GetIntegrationResponse",
    "GetIntegrationResponses",
    "UpdateIntegrationResponse",
    "DeleteIntegrationResponse",
    "CreateAuthorizer",
    "GetAuthorizer",
    "GetAuthorizers",
    "UpdateAuthorizer",
    "DeleteAuthorizer",
    "ImportApi",
    "ReimportApi",
    "ExportApi",
    "CreateDomainName",
    "GetDomainName",
    "GetDomainNames",
    "UpdateDomainName",
    "DeleteDomainName",
    "CreateApiMapping",
    "GetApiMapping",
    "GetApiMappings",
    "UpdateApiMapping",
    "DeleteApiMapping",
    "DeleteRouteSettings",
    "DeleteAccessLogSettings",
    "TagResource",
    "UntagResource",
    "GetTags",
];

/// The API Gateway v2 service.
#[derive(Clone)]
pub struct ApiGatewayV2 {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    pub model: &'static ServiceModel,
    /// What integrations reach (functions, URLs), given by the binary.
    pub backends: std::sync::OnceLock<Arc<dyn Backends>>,
    /// APIs and deployments as the data plane last read them, until the next change.
    pub cache: std::sync::Mutex<execute::Cache>,
    /// The WebSocket connections this node holds.
    pub connections: websocket::Connections,
    /// Lambda authorizers' answers and JWT issuers' keys.
    pub auth: std::sync::Mutex<execute::auth::AuthCache>,
    /// Custom domain names' API mappings, for the execute-api door.
    pub domains: domains::Domains,
    /// Route throttling: a token bucket per API, stage and route.
    pub buckets: std::sync::Mutex<std::collections::HashMap<String, (f64, u64)>>,
    /// This node's id, recorded with the connections it holds.
    pub node: String,
}

impl Inner {
    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }

    /// An identifier as API Gateway makes them: `len` characters of `[a-z0-9]`.
    pub fn id(&self, len: usize) -> String {
        stratus_core::alnum_id(self.env.ids.as_ref(), len)
    }
}

impl ApiGatewayV2 {
    pub fn new(store: Store, env: Env) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                model,
                node: stratus_core::alnum_id(env.ids.as_ref(), 12),
                backends: std::sync::OnceLock::new(),
                cache: Default::default(),
                connections: Default::default(),
                auth: Default::default(),
                domains: Default::default(),
                buckets: Default::default(),
                env,
            }),
        })
    }

    /// At start: forgets the WebSocket connections an earlier run held.
    pub async fn start(&self) -> Result<(), String> {
        domains::reload(&self.inner).await.map_err(|e| format!("cannot read custom domain names: {}", e.message))?;
        websocket::forget_earlier(&self.inner).await
    }

    /// Whether a Host is one of the custom domain names mapped to API Gateway v2 APIs.
    pub fn is_domain(&self, host: &str) -> bool {
        self.inner.domains.contains(host)
    }

    /// Where a custom domain name's request goes: `(api id, stage, the path after the
    /// mapping's key)`.
    pub fn map_domain(&self, host: &str, path: &str) -> Option<(String, String, String)> {
        self.inner.domains.route(host, path)
    }

    /// Closes every WebSocket connection and forgets what the data plane read (a reset).
    pub fn reset(&self) {
        self.inner.connections.close_all(1001, "Going away");
        execute::changed(&self.inner);
        if let Ok(mut a) = self.inner.auth.lock() {
            *a = Default::default();
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let _ = domains::reload(&inner).await;
        });
    }

    /// Whether the API with this id is a WebSocket API (`None`: no such API).
    pub async fn is_websocket(&self, api_id: &str) -> Option<bool> {
        execute::api_of(&self.inner, api_id).await.map(|(_, _, doc)| doc.is_websocket())
    }

    /// A WebSocket handshake: runs `$connect`; on success the connection is held and the caller
    /// completes the handshake and pumps its frames, calling [`ApiGatewayV2::ws_message`] and
    /// finally [`ApiGatewayV2::ws_disconnect`].
    pub async fn ws_connect(&self, hs: Handshake) -> Result<Session, HttpAnswer> {
        websocket::connect(&self.inner, hs).await
    }

    /// A message a client sent on a connection.
    pub async fn ws_message(&self, connection_id: &str, body: &[u8], binary: bool) {
        websocket::message(&self.inner, connection_id, body, binary).await
    }

    /// A connection ended, closed by either side with `code` and `reason`.
    pub async fn ws_disconnect(&self, connection_id: &str, code: u16, reason: &str) {
        websocket::disconnect(&self.inner, connection_id, code, reason).await
    }

    /// A call to the @connections API.
    pub async fn ws_manage(&self, req: ManageRequest) -> HttpAnswer {
        websocket::manage(&self.inner, req).await
    }

    /// How many WebSocket connections this node holds.
    pub fn ws_connections(&self) -> usize {
        self.inner.connections.len()
    }

    /// Connects the integrations to the rest of Stratus (once, at start).
    pub fn set_backends(&self, backends: Arc<dyn Backends>) {
        let _ = self.inner.backends.set(backends);
    }

    /// Serves a request to one of the API's stages (the execute-api door).
    pub async fn execute(&self, req: HttpRequest) -> HttpAnswer {
        execute::execute(&self.inner, req).await
    }

    /// The account and region of the HTTP API with this id, if there is one.
    pub async fn locate(&self, api_id: &str) -> Option<(String, String)> {
        execute::locate(&self.inner, api_id).await
    }
}

/// A string member of an input (by its wire name).
pub(crate) fn s<'a>(input: &'a Value, name: &str) -> &'a str {
    input.get(name).and_then(Value::as_str).unwrap_or("")
}

/// The input with its members under their wire names (`ApiId` → `apiId`), as stored.
fn wire_input(model: &ServiceModel, op: &Operation, input: Value) -> Value {
    let Value::Object(obj) = input else { return input };
    let shape = op.input.as_deref().and_then(|s| model.shape(s));
    let mut out = Map::new();
    for (k, v) in obj {
        let wire =
            shape.and_then(|s| s.members.get(&k)).and_then(|m| m.location_name.clone()).unwrap_or_else(|| k.clone());
        out.insert(wire, v);
    }
    Value::Object(out)
}

/// `http://{id}.execute-api.localhost:{port}` (`wss://…` for WebSocket APIs) from the Host the
/// request came to.
pub(crate) fn endpoint(ctx: &RequestContext, id: &str, websocket: bool) -> String {
    let scheme = if websocket { "wss" } else { "http" };
    let port = ctx.host.rsplit_once(':').map(|(_, p)| p).filter(|p| p.chars().all(|c| c.is_ascii_digit()));
    match port {
        Some(p) => format!("{scheme}://{id}.execute-api.localhost:{p}"),
        None => format!("{scheme}://{id}.execute-api.localhost"),
    }
}

impl Service for ApiGatewayV2 {
    fn model(&self) -> &ServiceModel {
        self.inner.model
    }

    fn validation_error(&self, _op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        let e = failure.to_validation_exception();
        errors::bad_request(e.message)
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            let input = wire_input(i.model, op, input);
            let answer = match op.name.as_str() {
                "CreateApi" => apis::create(i, ctx, input).await,
                "GetApi" => apis::get(i, ctx, input).await,
                "GetApis" => apis::list(i, ctx, input).await,
                "UpdateApi" => apis::update(i, ctx, input).await,
                "DeleteApi" => apis::delete(i, ctx, input).await,
                "DeleteCorsConfiguration" => apis::delete_cors(i, ctx, input).await,
                "CreateRoute" => parts::create_route(i, ctx, input).await,
                "GetRoute" => parts::get_route(i, ctx, input).await,
                "GetRoutes" => parts::list_routes(i, ctx, input).await,
                "UpdateRoute" => parts::update_route(i, ctx, input).await,
                "DeleteRoute" => parts::delete_route(i, ctx, input).await,
                "CreateIntegration" => parts::create_integration(i, ctx, input).await,
                "GetIntegration" => parts::get_integration(i, ctx, input).await,
                "GetIntegrations" => parts::list_integrations(i, ctx, input).await,
                "UpdateIntegration" => parts::update_integration(i, ctx, input).await,
                "DeleteIntegration" => parts::delete_integration(i, ctx, input).await,
                "CreateStage" => stages::create_stage(i, ctx, input).await,
                "GetStage" => stages::get_stage(i, ctx, input).await,
                "GetStages" => stages::list_stages(i, ctx, input).await,
                "UpdateStage" => stages::update_stage(i, ctx, input).await,
                "DeleteStage" => stages::delete_stage(i, ctx, input).await,
                "CreateDeployment" => stages::create_deployment(i, ctx, input).await,
                "GetDeployment" => stages::get_deployment(i, ctx, input).await,
                "GetDeployments" => stages::list_deployments(i, ctx, input).await,
                "UpdateDeployment" => stages::update_deployment(i, ctx, input).await,
                "DeleteDeployment" => stages::delete_deployment(i, ctx, input).await,
                "CreateRouteResponse" => responses::create(i, ctx, input, &responses::ROUTE).await,
                "GetRouteResponse" => responses::get(i, ctx, input, &responses::ROUTE).await,
                "GetRouteResponses" => responses::list(i, ctx, input, &responses::ROUTE).await,
                "UpdateRouteResponse" => responses::update(i, ctx, input, &responses::ROUTE).await,
                "DeleteRouteResponse" => responses::delete(i, ctx, input, &responses::ROUTE).await,
                "CreateIntegrationResponse" => responses::create(i, ctx, input, &responses::INTEGRATION).await,
                "GetIntegrationResponse" => responses::get(i, ctx, input, &responses::INTEGRATION).await,
                "GetIntegrationResponses" => responses::list(i, ctx, input, &responses::INTEGRATION).await,
                "UpdateIntegrationResponse" => responses::update(i, ctx, input, &responses::INTEGRATION).await,
                "DeleteIntegrationResponse" => responses::delete(i, ctx, input, &responses::INTEGRATION).await,
                "CreateAuthorizer" => authorizers::create(i, ctx, input).await,
                "GetAuthorizer" => authorizers::get(i, ctx, input).await,
                "GetAuthorizers" => authorizers::list(i, ctx, input).await,
                "UpdateAuthorizer" => authorizers::update(i, ctx, input).await,
                "DeleteAuthorizer" => authorizers::delete(i, ctx, input).await,
                "ImportApi" => openapi::import(i, ctx, input).await,
                "ReimportApi" => openapi::reimport(i, ctx, input).await,
                "ExportApi" => openapi::export(i, ctx, input).await,
                "CreateDomainName" => domains::create(i, ctx, input).await,
                "GetDomainName" => domains::get(i, ctx, input).await,
                "GetDomainNames" => domains::list(i, ctx, input).await,
                "UpdateDomainName" => domains::update(i, ctx, input).await,
                "DeleteDomainName" => domains::delete(i, ctx, input).await,
                "CreateApiMapping" => domains::create_mapping(i, ctx, input).await,
                "GetApiMapping" => domains::get_mapping(i, ctx, input).await,
                "GetApiMappings" => domains::list_mappings(i, ctx, input).await,
                "UpdateApiMapping" => domains::update_mapping(i, ctx, input).await,
                "DeleteApiMapping" => domains::delete_mapping(i, ctx, input).await,
                "DeleteRouteSettings" => stages::delete_route_settings(i, ctx, input).await,
                "DeleteAccessLogSettings" => stages::delete_access_log_settings(i, ctx, input).await,
                "TagResource" => tags::tag(i, ctx, input).await,
                "UntagResource" => tags::untag(i, ctx, input).await,
                "GetTags" => tags::get(i, ctx, input).await,
                other => Err(errors::unsupported(other)),
            };
            // The data plane reads APIs and deployments again after any change.
            if !op.name.starts_with("Get") {
                execute::changed(i);
            }
            answer
        })
    }
}

/// A page of `items` after the `nextToken`, at most `maxResults` (all by default).
pub(crate) fn page(items: Vec<Value>, input: &Value) -> Result<Value, AwsError> {
    let limit = match input.get("maxResults").and_then(Value::as_str) {
        Some(m) => match m.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => return Err(errors::bad_request(format!("Invalid MaxResults {m}"))),
        },
        None => usize::MAX,
    };
    let start = match input.get("nextToken").and_then(Value::as_str) {
        Some(t) => t.parse::<usize>().map_err(|_| errors::bad_request("Invalid NextToken"))?,
        None => 0,
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let mut out = json!({ "items": page });
    if start.saturating_add(limit) < total {
        out["nextToken"] = Value::String((start + limit).to_string());
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_tokens() {
        let items: Vec<Value> = (0..5).map(|n| json!(n)).collect();
        let p = page(items.clone(), &json!({"maxResults": "2"})).unwrap();
        assert_eq!(p["items"], json!([0, 1]));
        assert_eq!(p["nextToken"], "2");
        let p = page(items.clone(), &json!({"maxResults": "2", "nextToken": "4"})).unwrap();
        assert_eq!(p["items"], json!([4]));
        assert!(p.get("nextToken").is_none());
        assert!(page(items, &json!({"maxResults": "x"})).is_err());
    }

    #[test]
    fn endpoints_from_the_host() {
        let mut ctx = RequestContext::internal("1", "us-east-1", "r".into());
        ctx.host = "127.0.0.1:4566".into();
        assert_eq!(endpoint(&ctx, "abc", false), "http://abc.execute-api.localhost:4566");
        assert_eq!(endpoint(&ctx, "abc", true), "wss://abc.execute-api.localhost:4566");
        ctx.host = "localhost".into();
        assert_eq!(endpoint(&ctx, "abc", false), "http://abc.execute-api.localhost");
    }
}
