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

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, StoreError, Txn};

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

pub fn deployments_prefix(account: &str, region: &str, api: &str) -> String {
    format!("{}deployment/{api}/", scope(account, region))
}

/// An HTTP API: its Api shape (with `tags`), routes and integrations by id, stages by name.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ApiDoc {
    pub api: Value,
    #[serde(default)]
    pub routes: BTreeMap<String, Value>,
    #[serde(default)]
    pub integrations: BTreeMap<String, Value>,
    #[serde(default)]
    pub stages: BTreeMap<String, Value>,
}

impl ApiDoc {
    pub fn id(&self) -> &str {
        self.api.get("apiId").and_then(Value::as_str).unwrap_or("")
    }
}

/// A deployment: its Deployment shape and the routes and integrations it serves.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct DeploymentDoc {
    pub deployment: Value,
    #[serde(default)]
    pub routes: BTreeMap<String, Value>,
    #[serde(default)]
    pub integrations: BTreeMap<String, Value>,
}

pub fn get_json<T: serde::de::DeserializeOwned>(r: &mut dyn ReadTxn, key: &str) -> Result<Option<T>, AwsError> {
    match r.get(key.as_bytes()).map_err(store_err)? {
        Some(b) => serde_json::from_slice(&b).map(Some).map_err(|e| AwsError::internal(format!("corrupt {key}: {e}"))),
        None => Ok(None),
    }
}

pub fn put_json<T: Serialize>(t: &mut dyn Txn, key: &str, v: &T) -> Result<(), AwsError> {
    let bytes = serde_json::to_vec(v).map_err(|e| AwsError::internal(e.to_string()))?;
    t.put(key.as_bytes(), &bytes).map_err(store_err)
}

/// Every value under `prefix`, in key order.
pub fn list_json<T: serde::de::DeserializeOwned>(r: &mut dyn ReadTxn, prefix: &str) -> Result<Vec<T>, AwsError> {
    let rows = stratus_storage::scan_prefix(r, prefix.as_bytes(), usize::MAX).map_err(store_err)?;
    rows.into_iter()
        .map(|(k, v)| {
            serde_json::from_slice(&v)
                .map_err(|e| AwsError::internal(format!("corrupt {}: {e}", String::from_utf8_lossy(&k))))
        })
        .collect()
}

pub fn delete_prefix(t: &mut dyn Txn, prefix: &str) -> Result<(), AwsError> {
    let end = stratus_storage::prefix_end(prefix.as_bytes());
    t.delete_range(prefix.as_bytes(), end.as_deref()).map_err(store_err)
}

pub fn store_err(e: StoreError) -> AwsError {
    AwsError::internal(format!("storage: {e}"))
}

pub fn load_api(r: &mut dyn ReadTxn, account: &str, region: &str, id: &str) -> Result<ApiDoc, AwsError> {
    get_json(r, &api_key(account, region, id))?.ok_or_else(|| errors::api_not_found(account, id))
}

/// An identifier as API Gateway makes them: `len` characters of `[a-z0-9]`.
pub fn new_id(ids: &dyn stratus_core::IdSource, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in ids.random_bytes() {
            if out.len() == len {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        }
    }
    out
}

/// The ISO 8601 timestamp API Gateway v2 answers (`2024-01-02T03:04:05Z`).
pub fn timestamp(millis: u64) -> Value {
    Value::String(stratus_core::time::iso8601_secs(millis / 1000))
}
