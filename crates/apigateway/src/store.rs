//! What is stored, and under which keys. A REST API is one document ([`ApiDoc`]): its own
//! attributes and everything deployments snapshot (resources with their methods and
//! integrations, authorizers, models, request validators, gateway responses). A deployment
//! keeps a copy of that document as it was; stages, API keys, usage plans and domain names are
//! stored on their own. The parts keep AWS's shapes (the model's member names), so that the
//! operations answer them as they are and patch operations apply to them directly.
//!
//! Keys, under `apigw/`:
//! - `{account}/{region}/api/{id}` → [`ApiDoc`]; `id/{id}` → `{account}/{region}` (the
//!   execute-api door knows an API by its id alone)
//! - `{account}/{region}/deployment/{api}/{id}` → [`DeploymentDoc`]
//! - `{account}/{region}/stage/{api}/{name}` → the Stage
//! - `{account}/{region}/apikey/{id}` → the ApiKey; `keyvalue/{value}` → `{account}/{region}/{id}`
//! - `{account}/{region}/plan/{id}` → the UsagePlan; `{account}/{region}/plankey/{plan}/{key}`
//! - `{account}/{region}/domain/{name}` → the DomainName; `domain/{name}` →
//!   `{account}/{region}`; `{account}/{region}/mapping/{domain}/{base path}` → the mapping

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, StoreError};

use crate::errors;

pub const PREFIX: &str = "apigw/";

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

pub fn stage_key(account: &str, region: &str, api: &str, name: &str) -> String {
    format!("{}stage/{api}/{name}", scope(account, region))
}

/// A resource of the API (a path) with its methods, each carrying its method responses and
/// integration (with integration responses), as GetResource embeds them.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ResourceDoc {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_part: Option<String>,
    pub path: String,
    /// By HTTP method (`GET`, `ANY`): the Method shape.
    #[serde(default)]
    pub methods: BTreeMap<String, Value>,
}

impl ResourceDoc {
    /// The Resource shape.
    pub fn to_value(&self, embed_methods: bool) -> Value {
        let mut o = Map::new();
        o.insert("id".into(), Value::String(self.id.clone()));
        if let Some(p) = &self.parent_id {
            o.insert("parentId".into(), Value::String(p.clone()));
        }
        if let Some(p) = &self.path_part {
            o.insert("pathPart".into(), Value::String(p.clone()));
        }
        o.insert("path".into(), Value::String(self.path.clone()));
        if !self.methods.is_empty() {
            let methods: Map<String, Value> = self
                .methods
                .iter()
                .map(|(k, m)| (k.clone(), if embed_methods { m.clone() } else { Value::Object(Map::new()) }))
                .collect();
            o.insert("resourceMethods".into(), Value::Object(methods));
        }
        Value::Object(o)
    }
}

/// A REST API and everything a deployment takes a snapshot of.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ApiDoc {
    /// The RestApi shape (with `tags`).
    pub api: Value,
    pub resources: BTreeMap<String, ResourceDoc>,
    #[serde(default)]
    pub authorizers: BTreeMap<String, Value>,
    /// By name.
    #[serde(default)]
    pub models: BTreeMap<String, Value>,
    #[serde(default)]
    pub validators: BTreeMap<String, Value>,
    /// Customized gateway responses, by type.
    #[serde(default)]
    pub gateway_responses: BTreeMap<String, Value>,
}

impl ApiDoc {
    pub fn id(&self) -> &str {
        self.api.get("id").and_then(Value::as_str).unwrap_or("")
    }

    pub fn root_id(&self) -> &str {
        self.api.get("rootResourceId").and_then(Value::as_str).unwrap_or("")
    }

    pub fn resource(&self, account: &str, id: &str) -> Result<&ResourceDoc, AwsError> {
        self.resources.get(id).ok_or_else(|| errors::resource_not_found(account, id))
    }

    pub fn resource_mut(&mut self, account: &str, id: &str) -> Result<&mut ResourceDoc, AwsError> {
        self.resources.get_mut(id).ok_or_else(|| errors::resource_not_found(account, id))
    }

    pub fn resource_by_path(&self, path: &str) -> Option<&ResourceDoc> {
        self.resources.values().find(|r| r.path == path)
    }
}

/// A deployment: its Deployment shape and the API as it was deployed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentDoc {
    pub deployment: Value,
    pub snapshot: ApiDoc,
}

pub use stratus_storage::json::{delete_prefix, get as get_json, list as list_json, put as put_json};

pub fn store_err(e: StoreError) -> AwsError {
    AwsError::internal(format!("storage: {e}"))
}

pub fn load_api(r: &mut dyn ReadTxn, account: &str, region: &str, id: &str) -> Result<ApiDoc, AwsError> {
    get_json(r, &api_key(account, region, id))?.ok_or_else(|| errors::api_not_found(account, id))
}

/// An identifier as API Gateway makes them: `len` characters of `[a-z0-9]`.
pub fn new_id(ids: &dyn stratus_core::IdSource, len: usize) -> String {
    stratus_core::alnum_id(ids, len)
}

/// Epoch seconds, as the rest-json protocol carries timestamps.
pub fn timestamp(millis: u64) -> Value {
    Value::from(millis / 1000)
}
