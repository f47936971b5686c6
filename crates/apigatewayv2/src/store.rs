//! What is stored, and under which keys. An HTTP API is one document ([`ApiDoc`]): the Api
//! with its routes, integrations and stages. A deployment keeps a copy of the routes and
//! integrations as they were ([`DeploymentDoc`]); a stage serves the deployment it names.
//!
//! Every part keeps AWS's JSON as it travels on the wire (the model's `locationName`s:
//! `apiId`, `routeKey`, `corsConfiguration.allowOrigins`), so operations answer what is stored
//! and nested shapes need no renaming. Inputs are brought to those names once, in `lib.rs`.
//!
//! Keys, under `apigwv2/`:
//! - `{account}/{region}/api/{id}` → [`ApiDoc`]; `id/{id}` → `{account}/{region}` (the
//!   execute-api door knows an API by its id alone)
//! - `{account}/{region}/deployment/{api}/{id}` → [`DeploymentDoc`]
//! - `connection/{id}` → a WebSocket connection's API, stage and node (the node that holds its
//!   socket answers @connections calls for it)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stratus_proto::AwsError;
use stratus_storage::ReadTxn;

use crate::errors;

pub const PREFIX: &str = "apigwv2/";

pub fn scope(account: &str, region: &str) -> String {
    format!("{PREFIX}{account}/{region}/")
}

pub fn api_key(account: &str, region: &str, id: &str) -> String {
    format!("{}api/{id}", scope(account, region))
}

pub fn api_index_key(id: &str) -> String {
    format!("{PREFIX}id/{id}")
}

pub fn deployment_key(account: &str, region: &str, api: &str, id: &str) -> String {
    format!("{}deployment/{api}/{id}", scope(account, region))
}

pub fn connection_key(id: &str) -> String {
    format!("{PREFIX}connection/{id}")
}

pub const CONNECTIONS_PREFIX: &str = "apigwv2/connection/";

pub fn deployments_prefix(account: &str, region: &str, api: &str) -> String {
    format!("{}deployment/{api}/", scope(account, region))
}

/// An API: its Api shape (with `tags`), routes, integrations and authorizers by id, stages by
/// name.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ApiDoc {
    pub api: Value,
    #[serde(default)]
    pub routes: BTreeMap<String, Value>,
    #[serde(default)]
    pub integrations: BTreeMap<String, Value>,
    #[serde(default)]
    pub stages: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorizers: BTreeMap<String, Value>,
    /// WebSocket APIs: each route's RouteResponses by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub route_responses: BTreeMap<String, BTreeMap<String, Value>>,
    /// WebSocket APIs: each integration's IntegrationResponses by id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub integration_responses: BTreeMap<String, BTreeMap<String, Value>>,
}

impl ApiDoc {
    pub fn id(&self) -> &str {
        self.api.get("apiId").and_then(Value::as_str).unwrap_or("")
    }

    pub fn is_websocket(&self) -> bool {
        self.api.get("protocolType").and_then(Value::as_str) == Some("WEBSOCKET")
    }
}

/// A deployment: its Deployment shape and the routes and integrations it serves (with their
/// responses, for WebSocket APIs).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DeploymentDoc {
    pub deployment: Value,
    #[serde(default)]
    pub routes: BTreeMap<String, Value>,
    #[serde(default)]
    pub integrations: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorizers: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub route_responses: BTreeMap<String, BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub integration_responses: BTreeMap<String, BTreeMap<String, Value>>,
}

impl DeploymentDoc {
    /// A deployment of the API's routes and integrations as they are now.
    pub fn of(deployment: Value, doc: &ApiDoc) -> DeploymentDoc {
        DeploymentDoc {
            deployment,
            routes: doc.routes.clone(),
            integrations: doc.integrations.clone(),
            authorizers: doc.authorizers.clone(),
            route_responses: doc.route_responses.clone(),
            integration_responses: doc.integration_responses.clone(),
        }
    }
}

pub use stratus_storage::json::{delete_prefix, get as get_json, list as list_json, put as put_json};

pub fn load_api(r: &mut dyn ReadTxn, account: &str, region: &str, id: &str) -> Result<ApiDoc, AwsError> {
    get_json(r, &api_key(account, region, id))?.ok_or_else(|| errors::api_not_found(account, id))
}

/// The ISO 8601 timestamp API Gateway v2 answers (`2024-01-02T03:04:05Z`).
pub fn timestamp(millis: u64) -> Value {
    Value::String(stratus_core::time::iso8601_secs(millis / 1000))
}
