//! The seam between the Lambda API and whatever runs function code (DESIGN.md §4: "an
//! invoker"). The binary implements it with the process runtime; tests can use a fake.

use std::collections::BTreeMap;
use std::sync::Arc;

use stratus_proto::BoxFuture;

use crate::types::FunctionConfiguration;

/// One invocation, with everything needed to start an environment for it.
pub struct InvokeRequest {
    /// Environments are reused only for the same key (function, version and code).
    pub key: String,
    pub account: String,
    pub region: String,
    pub config: FunctionConfiguration,
    pub code: Arc<Vec<u8>>,
    /// (layer version ARN, zip) in order.
    pub layers: Vec<(String, Arc<Vec<u8>>)>,
    pub request_id: String,
    pub payload: Vec<u8>,
    pub invoked_arn: String,
    pub reserved_concurrency: Option<u32>,
    pub client_context: Option<String>,
}

pub struct InvokeResponse {
    pub payload: Vec<u8>,
    /// `Unhandled` (or `Handled`) when the function failed.
    pub function_error: Option<String>,
    /// This invocation's log output (the caller sends the last 4 KB for `LogType: Tail`).
    pub log_tail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecError {
    /// No execution environment may be started: the concurrency limit is reached.
    Throttled,
    /// The runtime could not start the function (missing interpreter, bad package).
    Unavailable(String),
}

pub trait Executor: Send + Sync + 'static {
    /// Checks a deployment package before it is accepted.
    fn check_code(&self, zip: &[u8]) -> Result<(), String>;
    /// Checks that a runtime can run here.
    fn check_runtime(&self, runtime: &str) -> Result<(), String>;
    fn invoke(&self, req: InvokeRequest) -> BoxFuture<'_, Result<InvokeResponse, ExecError>>;
    /// Environments whose key starts with `prefix` must not be used again.
    fn retire(&self, prefix: &str);
}

/// Environment variables a function sees besides its own (AWS_REGION, names, …) are the
/// executor's business; this is what the API contributes.
pub fn function_env(config: &FunctionConfiguration) -> BTreeMap<String, String> {
    config.environment.as_ref().map(|e| e.variables.clone()).unwrap_or_default()
}
