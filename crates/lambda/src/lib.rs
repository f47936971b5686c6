//! AWS Lambda's API: functions, versions, aliases, reserved concurrency, resource policies,
//! tags and invocation. Running the code is the [`Executor`]'s job (the binary plugs in the
//! process runtime), so this crate knows no process and the runtime knows no AWS API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::typed_output as out;
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel};
use stratus_storage::{ReadTxn, Store};

mod errors;
mod esm;
pub mod executor;
pub mod filter;
mod functions;
mod invoke;
mod invokeconfig;
mod keys;
mod layers;
pub mod source;
mod streams;
pub mod types;
mod windows;

pub use executor::{ExecError, Executor, InvokeRequest, InvokeResponse};

/// The largest request body of the operations that upload code (CreateFunction,
/// UpdateFunctionCode, PublishLayerVersion): a 50 MB zip, base64 in JSON, as AWS counts it.
pub const MAX_CODE_REQUEST_BYTES: usize = 70_167_211;
pub use invoke::MAX_SYNC_PAYLOAD;
pub use source::{
    CodeSource, CodeUrls, QueueMessage, QueueSource, Roles, ShardInfo, StreamRead, StreamRecord, StreamSource,
    StreamStart,
};

static MODEL: LazyLock<Result<ServiceModel, String>> = LazyLock::new(|| {
    let mut model =
        ServiceModel::parse(include_str!("../../../models/lambda.json"), None).map_err(|e| e.to_string())?;
    // The model gave DeleteFunction an (empty) output and a 200 in 2025; the service
    // still answers 204 No Content, as SDKs built on the older model expect.
    if let Some(op) = model.operations.get_mut("DeleteFunction") {
        op.response_code = 204;
    }
    Ok(model)
});

/// The key prefix of every execution environment of a function.
pub fn env_key_prefix(account: &str, region: &str, name: &str) -> String {
    format!("{account}:{region}:{name}:")
}

/// The blob name a deployment package is stored under (served by the gateway as the
/// `Code.Location` of GetFunction).
pub fn code_blob_name(sha256_hex: &str) -> String {
    keys::code_blob(sha256_hex)
}

#[derive(Clone)]
pub struct Lambda {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    pub executor: Arc<dyn Executor>,
    model: &'static ServiceModel,
    code: invoke::CodeCache,
    closing: AtomicBool,
    /// Where event source mappings read from (set by the binary).
    queue_source: OnceLock<Arc<dyn QueueSource>>,
    /// The streams behind stream event source mappings (DynamoDB Streams, Kinesis).
    stream_source: OnceLock<Arc<dyn source::StreamSource>>,
    /// Where packages named by `S3Bucket`/`S3Key` are read from (set by the binary).
    code_source: OnceLock<Arc<dyn CodeSource>>,
    /// Where package downloads are pointed at (presigned by the binary when callers sign).
    code_urls: OnceLock<Arc<dyn source::CodeUrls>>,
    /// Checks execution roles on create and update (set by the binary in verify/enforce mode).
    roles: OnceLock<Arc<dyn source::Roles>>,
    pollers: esm::Pollers,
}

impl Inner {
    /// How package download URLs are made.
    pub(crate) fn code_urls(&self) -> Arc<dyn source::CodeUrls> {
        self.code_urls.get().cloned().unwrap_or_else(|| Arc::new(source::PlainCodeUrls))
    }

    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }

    pub fn closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ReadTxn) -> Result<T, AwsError> + Send + 'static,
    ) -> Result<T, AwsError> {
        self.store.read(f).await
    }
}

impl Lambda {
    pub fn new(store: Store, env: Env, executor: Arc<dyn Executor>) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                env,
                executor,
                model,
                code: invoke::CodeCache::default(),
                closing: AtomicBool::new(false),
                queue_source: OnceLock::new(),
                stream_source: OnceLock::new(),
                code_source: OnceLock::new(),
                code_urls: OnceLock::new(),
                roles: OnceLock::new(),
                pollers: esm::Pollers::default(),
            }),
        })
    }

    /// Gives event source mappings their queues (before [`Lambda::start`]).
    pub fn set_queue_source(&self, source: Arc<dyn QueueSource>) {
        let _ = self.inner.queue_source.set(source);
    }

    pub fn set_stream_source(&self, source: Arc<dyn source::StreamSource>) {
        let _ = self.inner.stream_source.set(source);
    }

    /// Lets functions and layers take their code from S3 (before serving requests).
    pub fn set_code_source(&self, source: Arc<dyn CodeSource>) {
        let _ = self.inner.code_source.set(source);
    }

    pub fn set_code_urls(&self, urls: Arc<dyn source::CodeUrls>) {
        let _ = self.inner.code_urls.set(urls);
    }

    /// Checks the execution role of created and updated functions (before serving requests).
    pub fn set_roles(&self, roles: Arc<dyn source::Roles>) {
        let _ = self.inner.roles.set(roles);
    }

    /// Starts delivering queued asynchronous invocations (also those left by a previous run)
    /// and the pollers of every event source mapping.
    pub fn start(&self) {
        tokio::spawn(invoke::run_async_queue(self.inner.clone()));
        let inner = self.inner.clone();
        tokio::spawn(async move { inner.pollers.start_all(&inner).await });
    }

    /// Queues an asynchronous invocation on behalf of another part of Stratus (a destination,
    /// a push trigger); it is delivered like an `Event` Invoke.
    pub async fn invoke_event(
        &self,
        account: &str,
        region: &str,
        function: &str,
        payload: Vec<u8>,
    ) -> Result<(), AwsError> {
        invoke::enqueue(&self.inner, account, region, function, payload).await
    }

    /// Invokes a function synchronously on behalf of another part of Stratus (an API's
    /// integration, a load balancer's target): `function` is a name or ARN in
    /// `account`/`region`.
    pub async fn invoke_sync(
        &self,
        account: &str,
        region: &str,
        function: &str,
        payload: Vec<u8>,
    ) -> Result<InvokeResponse, AwsError> {
        invoke::invoke_internal(&self.inner, account, region, function, payload).await
    }

    /// The function's resource policy (what AddPermission built) for the ARN's qualifier and its
    /// tags, for authorization; None when it does not exist.
    pub async fn access_internal(&self, function_arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
        functions::access(&self.inner, function_arn).await
    }

    /// Destination records waiting for delivery (outbox topic), for the binary's trigger engine.
    pub const DESTINATION_TOPIC: &'static str = invoke::DESTINATION_TOPIC;

    /// Forgets running pollers (after the store was wiped).
    pub fn reset(&self) {
        self.inner.pollers.stop_all();
    }

    pub fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
    }
}

fn parse<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, AwsError> {
    stratus_proto::typed_input(input, "InvalidParameterValueException")
}

impl Service for Lambda {
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
                "CreateFunction" => out(functions::create(i, ctx, parse(input)?).await?),
                "GetFunction" => out(functions::get(i, ctx, parse(input)?).await?),
                "GetFunctionConfiguration" => out(functions::get_configuration(i, ctx, parse(input)?).await?),
                "ListFunctions" => out(functions::list(i, ctx, parse(input)?).await?),
                "DeleteFunction" => functions::delete(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "UpdateFunctionCode" => out(functions::update_code(i, ctx, parse(input)?).await?),
                "UpdateFunctionConfiguration" => out(functions::update_configuration(i, ctx, parse(input)?).await?),
                "PublishVersion" => out(functions::publish_version(i, ctx, parse(input)?).await?),
                "ListVersionsByFunction" => out(functions::list_versions(i, ctx, parse(input)?).await?),
                "CreateAlias" => out(functions::create_alias(i, ctx, parse(input)?).await?),
                "GetAlias" => out(functions::get_alias(i, ctx, parse(input)?).await?),
                "ListAliases" => out(functions::list_aliases(i, ctx, parse(input)?).await?),
                "UpdateAlias" => out(functions::update_alias(i, ctx, parse(input)?).await?),
                "DeleteAlias" => functions::delete_alias(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "PutFunctionConcurrency" => out(functions::put_concurrency(i, ctx, parse(input)?).await?),
                "GetFunctionConcurrency" => functions::get_concurrency(i, ctx, parse(input)?).await,
                "DeleteFunctionConcurrency" => {
                    functions::delete_concurrency(i, ctx, parse(input)?).await.map(|()| Value::Null)
                }
                "TagResource" => functions::tag(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "UntagResource" => functions::untag(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "ListTags" => out(functions::list_tags(i, ctx, parse(input)?).await?),
                "AddPermission" => functions::add_permission(i, ctx, parse(input)?).await,
                "RemovePermission" => functions::remove_permission(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "GetPolicy" => functions::get_policy(i, ctx, parse(input)?).await,
                "GetAccountSettings" => functions::account_settings(i, ctx).await,
                "Invoke" => invoke::invoke(i, ctx, parse(input)?).await,
                "PutFunctionEventInvokeConfig" => invokeconfig::put(i, ctx, parse(input)?, false).await,
                "UpdateFunctionEventInvokeConfig" => invokeconfig::put(i, ctx, parse(input)?, true).await,
                "GetFunctionEventInvokeConfig" => invokeconfig::get(i, ctx, parse(input)?).await,
                "DeleteFunctionEventInvokeConfig" => {
                    invokeconfig::delete(i, ctx, parse(input)?).await.map(|()| Value::Null)
                }
                "ListFunctionEventInvokeConfigs" => invokeconfig::list(i, ctx, parse(input)?).await,
                "CreateEventSourceMapping" => esm::create(i, ctx, parse(input)?).await,
                "GetEventSourceMapping" => esm::get(i, parse(input)?).await,
                "ListEventSourceMappings" => esm::list(i, ctx, parse(input)?).await,
                "UpdateEventSourceMapping" => esm::update(i, ctx, parse(input)?).await,
                "DeleteEventSourceMapping" => esm::delete(i, parse(input)?).await,
                "PublishLayerVersion" => layers::publish(i, ctx, parse(input)?).await,
                "GetLayerVersion" => layers::get(i, ctx, parse(input)?).await,
                "GetLayerVersionByArn" => layers::get_by_arn(i, ctx, parse(input)?).await,
                "DeleteLayerVersion" => layers::delete(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "ListLayerVersions" => layers::list_versions(i, ctx, parse(input)?).await,
                "ListLayers" => layers::list_layers(i, ctx, parse(input)?).await,
                other => Err(AwsError::new(
                    "UnknownOperationException",
                    format!("The operation {other} is not supported by this server yet."),
                )),
            }
        })
    }
}
