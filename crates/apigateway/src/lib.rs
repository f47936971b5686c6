//! Amazon API Gateway REST APIs (rest-json, `apigateway`): the control plane (APIs, resources,
//! methods, integrations, deployments, stages, authorizers, models and request validators,
//! gateway responses, API keys and usage plans, domain names, tags, OpenAPI import and
//! export) on the Stratus storage interface, and the data plane that serves a deployed stage
//! ([`ApiGateway::execute`]), which the binary's execute-api door calls.
//!
//! - `store`: what is stored and where; `patch`: patch operations.
//! - `restapis`, `resources`, `deployments`, `authorizers`, `models`, `responses`, `keys`,
//!   `domains`, `tags`: the operations; `openapi`: import and export.
//! - `execute`: a request to a stage, from routing to the integration's answer, with
//!   `schema` (request validation) and the mapping templates of `stratus-vtl`.
//!
//! Operations of the model not listed in [`SUPPORTED`] answer AWS's error for an unsupported
//! feature.

use std::sync::{Arc, LazyLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel};
use stratus_storage::Store;

mod authorizers;
mod deployments;
mod domains;
mod errors;
pub mod execute;
mod keys;
mod models;
mod openapi;
mod patch;
mod resources;
mod responses;
mod restapis;
mod schema;
mod store;
mod tags;

pub use execute::{BackendError, Backends, Caller, ExecuteRequest, HttpAnswer, Invoked, ServiceRequest};

static MODEL: LazyLock<Result<ServiceModel, String>> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../../models/apigateway.json"), None).map_err(|e| e.to_string())
});

#[cfg(test)]
pub(crate) fn model() -> Result<&'static ServiceModel, AwsError> {
    MODEL.as_ref().map_err(|e| AwsError::internal(e.clone()))
}

/// The operations this server implements.
pub const SUPPORTED: &[&str] = &[
    "CreateRestApi",
    "GetRestApi",
    "GetRestApis",
    "UpdateRestApi",
    "DeleteRestApi",
    "ImportRestApi",
    "PutRestApi",
    "GetExport",
    "CreateResource",
    "GetResource",
    "GetResources",
    "UpdateResource",
    "DeleteResource",
    "PutMethod",
    "GetMethod",
    "UpdateMethod",
    "DeleteMethod",
    "PutMethodResponse",
    "GetMethodResponse",
    "UpdateMethodResponse",
    "DeleteMethodResponse",
    "PutIntegration",
    "GetIntegration",
    "UpdateIntegration",
    "DeleteIntegration",
    "PutIntegrationResponse",
    "GetIntegrationResponse",
    "UpdateIntegrationResponse",
    "DeleteIntegrationResponse",
    "CreateDeployment",
    "GetDeployment",
    "GetDeployments",
    "UpdateDeployment",
    "DeleteDeployment",
    "CreateStage",
    "GetStage",
    "GetStages",
    "UpdateStage",
    "DeleteStage",
    "FlushStageCache",
    "FlushStageAuthorizersCache",
    "CreateAuthorizer",
    "GetAuthorizer",
    "GetAuthorizers",
    "UpdateAuthorizer",
    "DeleteAuthorizer",
    "CreateModel",
    "GetModel",
    "GetModels",
    "UpdateModel",
    "DeleteModel",
    "GetModelTemplate",
    "CreateRequestValidator",
    "GetRequestValidator",
    "GetRequestValidators",
    "UpdateRequestValidator",
    "DeleteRequestValidator",
    "GetGatewayResponse",
    "GetGatewayResponses",
    "PutGatewayResponse",
    "UpdateGatewayResponse",
    "DeleteGatewayResponse",
    "CreateApiKey",
    "GetApiKey",
    "GetApiKeys",
    "UpdateApiKey",
    "DeleteApiKey",
    "ImportApiKeys",
    "CreateUsagePlan",
    "GetUsagePlan",
    "GetUsagePlans",
    "UpdateUsagePlan",
    "DeleteUsagePlan",
    "CreateUsagePlanKey",
    "GetUsagePlanKey",
    "GetUsagePlanKeys",
    "DeleteUsagePlanKey",
    "GetUsage",
    "CreateDomainName",
    "GetDomainName",
    "GetDomainNames",
    "UpdateDomainName",
    "DeleteDomainName",
    "CreateBasePathMapping",
    "GetBasePathMapping",
    "GetBasePathMappings",
    "UpdateBasePathMapping",
    "DeleteBasePathMapping",
    "GetTags",
    "TagResource",
    "UntagResource",
    "GetAccount",
    "UpdateAccount",
    "TestInvokeMethod",
];

/// The API Gateway service.
#[derive(Clone)]
pub struct ApiGateway {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    pub model: &'static ServiceModel,
    /// The data plane's caches and counters (deployed APIs, authorizer results, throttles).
    pub runtime: execute::Runtime,
    /// What integrations reach (functions, services, URLs), given by the binary.
    pub backends: std::sync::OnceLock<Arc<dyn Backends>>,
}

impl Inner {
    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }

    pub fn id(&self, len: usize) -> String {
        store::new_id(self.env.ids.as_ref(), len)
    }
}

impl ApiGateway {
    pub fn new(store: Store, env: Env) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                env,
                model,
                runtime: execute::Runtime::default(),
                backends: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Connects the integrations to the rest of Stratus (once, at start).
    pub fn set_backends(&self, backends: Arc<dyn Backends>) {
        let _ = self.inner.backends.set(backends);
    }

    /// Serves a request to a deployed stage (the execute-api door).
    pub async fn execute(&self, req: ExecuteRequest) -> HttpAnswer {
        execute::execute(&self.inner, req).await
    }

    /// The account and region of the API with this id, if there is one.
    pub async fn locate(&self, api_id: &str) -> Option<(String, String)> {
        execute::locate(&self.inner, api_id).await
    }

    /// Loads what the data plane keeps in memory (the custom domain names).
    pub async fn start(&self) -> Result<(), String> {
        domains::load_names(&self.inner).await.map_err(|e| e.message)
    }

    /// Whether `host` is one of the custom domain names.
    pub fn is_domain(&self, host: &str) -> bool {
        self.inner.runtime.domains.read().is_ok_and(|d| !d.is_empty() && d.contains(&host.to_ascii_lowercase()))
    }

    /// Where a custom domain name's requests go: `(api id, stage, remaining path)`.
    pub async fn map_domain(&self, host: &str, path: &str) -> Option<(String, String, String)> {
        domains::route(&self.inner, host, path).await
    }

    /// Forgets cached deployments and counters (after the store was wiped).
    pub fn reset(&self) {
        self.inner.runtime.clear();
    }
}

/// The `restApiId` of an input.
fn api_id(input: &Value) -> String {
    s(input, "restApiId").to_string()
}

fn s<'a>(input: &'a Value, name: &str) -> &'a str {
    input.get(name).and_then(Value::as_str).unwrap_or("")
}

impl Service for ApiGateway {
    fn model(&self) -> &ServiceModel {
        self.inner.model
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            match op.name.as_str() {
                "CreateRestApi" => restapis::create(i, ctx, input).await,
                "GetRestApi" => restapis::get(i, ctx, input).await,
                "GetRestApis" => restapis::list(i, ctx, input).await,
                "UpdateRestApi" => restapis::update(i, ctx, input).await,
                "DeleteRestApi" => restapis::delete(i, ctx, input).await,
                "ImportRestApi" => openapi::import(i, ctx, input).await,
                "PutRestApi" => openapi::put(i, ctx, input).await,
                "GetExport" => openapi::export(i, ctx, input).await,
                "CreateResource" => resources::create(i, ctx, input).await,
                "GetResource" => resources::get(i, ctx, input).await,
                "GetResources" => resources::list(i, ctx, input).await,
                "UpdateResource" => resources::update(i, ctx, input).await,
                "DeleteResource" => resources::delete(i, ctx, input).await,
                "PutMethod" => resources::put_method(i, ctx, input).await,
                "GetMethod" => resources::get_method(i, ctx, input).await,
                "UpdateMethod" => resources::update_method(i, ctx, input).await,
                "DeleteMethod" => resources::delete_method(i, ctx, input).await,
                "PutMethodResponse" => resources::put_method_response(i, ctx, input).await,
                "GetMethodResponse" => resources::get_method_response(i, ctx, input).await,
                "UpdateMethodResponse" => resources::update_method_response(i, ctx, input).await,
                "DeleteMethodResponse" => resources::delete_method_response(i, ctx, input).await,
                "PutIntegration" => resources::put_integration(i, ctx, input).await,
                "GetIntegration" => resources::get_integration(i, ctx, input).await,
                "UpdateIntegration" => resources::update_integration(i, ctx, input).await,
                "DeleteIntegration" => resources::delete_integration(i, ctx, input).await,
                "PutIntegrationResponse" => resources::put_integration_response(i, ctx, input).await,
                "GetIntegrationResponse" => resources::get_integration_response(i, ctx, input).await,
                "UpdateIntegrationResponse" => resources::update_integration_response(i, ctx, input).await,
                "DeleteIntegrationResponse" => resources::delete_integration_response(i, ctx, input).await,
                "CreateDeployment" => deployments::create(i, ctx, input).await,
                "GetDeployment" => deployments::get(i, ctx, input).await,
                "GetDeployments" => deployments::list(i, ctx, input).await,
                "UpdateDeployment" => deployments::update(i, ctx, input).await,
                "DeleteDeployment" => deployments::delete(i, ctx, input).await,
                "CreateStage" => deployments::create_stage(i, ctx, input).await,
                "GetStage" => deployments::get_stage(i, ctx, input).await,
                "GetStages" => deployments::list_stages(i, ctx, input).await,
                "UpdateStage" => deployments::update_stage(i, ctx, input).await,
                "DeleteStage" => deployments::delete_stage(i, ctx, input).await,
                "FlushStageCache" => deployments::flush(i, ctx, input, false).await,
                "FlushStageAuthorizersCache" => deployments::flush(i, ctx, input, true).await,
                "CreateAuthorizer" => authorizers::create(i, ctx, input).await,
                "GetAuthorizer" => authorizers::get(i, ctx, input).await,
                "GetAuthorizers" => authorizers::list(i, ctx, input).await,
                "UpdateAuthorizer" => authorizers::update(i, ctx, input).await,
                "DeleteAuthorizer" => authorizers::delete(i, ctx, input).await,
                "CreateModel" => models::create(i, ctx, input).await,
                "GetModel" => models::get(i, ctx, input).await,
                "GetModels" => models::list(i, ctx, input).await,
                "UpdateModel" => models::update(i, ctx, input).await,
                "DeleteModel" => models::delete(i, ctx, input).await,
                "GetModelTemplate" => models::template(i, ctx, input).await,
                "CreateRequestValidator" => models::create_validator(i, ctx, input).await,
                "GetRequestValidator" => models::get_validator(i, ctx, input).await,
                "GetRequestValidators" => models::list_validators(i, ctx, input).await,
                "UpdateRequestValidator" => models::update_validator(i, ctx, input).await,
                "DeleteRequestValidator" => models::delete_validator(i, ctx, input).await,
                "GetGatewayResponse" => responses::get(i, ctx, input).await,
                "GetGatewayResponses" => responses::list(i, ctx, input).await,
                "PutGatewayResponse" => responses::put(i, ctx, input).await,
                "UpdateGatewayResponse" => responses::update(i, ctx, input).await,
                "DeleteGatewayResponse" => responses::delete(i, ctx, input).await,
                "CreateApiKey" => keys::create_key(i, ctx, input).await,
                "GetApiKey" => keys::get_key(i, ctx, input).await,
                "GetApiKeys" => keys::list_keys(i, ctx, input).await,
                "UpdateApiKey" => keys::update_key(i, ctx, input).await,
                "DeleteApiKey" => keys::delete_key(i, ctx, input).await,
                "ImportApiKeys" => keys::import_keys(i, ctx, input).await,
                "CreateUsagePlan" => keys::create_plan(i, ctx, input).await,
                "GetUsagePlan" => keys::get_plan(i, ctx, input).await,
                "GetUsagePlans" => keys::list_plans(i, ctx, input).await,
                "UpdateUsagePlan" => keys::update_plan(i, ctx, input).await,
                "DeleteUsagePlan" => keys::delete_plan(i, ctx, input).await,
                "CreateUsagePlanKey" => keys::create_plan_key(i, ctx, input).await,
                "GetUsagePlanKey" => keys::get_plan_key(i, ctx, input).await,
                "GetUsagePlanKeys" => keys::list_plan_keys(i, ctx, input).await,
                "DeleteUsagePlanKey" => keys::delete_plan_key(i, ctx, input).await,
                "GetUsage" => keys::usage(i, ctx, input).await,
                "CreateDomainName" => domains::create(i, ctx, input).await,
                "GetDomainName" => domains::get(i, ctx, input).await,
                "GetDomainNames" => domains::list(i, ctx, input).await,
                "UpdateDomainName" => domains::update(i, ctx, input).await,
                "DeleteDomainName" => domains::delete(i, ctx, input).await,
                "CreateBasePathMapping" => domains::create_mapping(i, ctx, input).await,
                "GetBasePathMapping" => domains::get_mapping(i, ctx, input).await,
                "GetBasePathMappings" => domains::list_mappings(i, ctx, input).await,
                "UpdateBasePathMapping" => domains::update_mapping(i, ctx, input).await,
                "DeleteBasePathMapping" => domains::delete_mapping(i, ctx, input).await,
                "GetTags" => tags::get(i, ctx, input).await,
                "TagResource" => tags::tag(i, ctx, input).await,
                "UntagResource" => tags::untag(i, ctx, input).await,
                "GetAccount" => keys::account(i, ctx).await,
                "UpdateAccount" => keys::update_account(i, ctx, input).await,
                "TestInvokeMethod" => execute::test_invoke(i, ctx, input).await,
                other => Err(errors::unsupported(other)),
            }
        })
    }
}

/// A page of `items` after the `position` token, at most `limit` (default 25, as AWS).
pub(crate) fn page(items: Vec<Value>, input: &Value) -> Value {
    let limit = input.get("limit").and_then(Value::as_u64).filter(|l| *l > 0).unwrap_or(25).min(500) as usize;
    let start: usize = input.get("position").and_then(Value::as_str).and_then(|p| p.parse().ok()).unwrap_or(0);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(limit).collect();
    let mut out = serde_json::json!({"item": page});
    if start + limit < total {
        out["position"] = Value::String((start + limit).to_string());
    }
    out
}
