//! Amazon DynamoDB (JSON 1.0, `X-Amz-Target: DynamoDB_20120810.<Op>`): tables with global and
//! local secondary indexes, items and the expression language, Query and Scan, batches and
//! transactions, on the Stratus storage interface.
//!
//! Every operation is one storage transaction, so conditional writes, batches and transactions
//! are atomic and serializable; index entries and the table's counts change in the write's own
//! transaction. Items are keyed by an order-preserving encoding of their key ([`keys`]), so a
//! Query is one range scan.
//!
//! - [`value`]: attribute values in DynamoDB's JSON with exact 38-digit numbers ([`number`]).
//! - [`expr`]: the expression language, parsed once per request and evaluated against items.
//! - `tables`, `items`, `query`, `batch`: the operations; `capacity`: consumed capacity.
//!
//! Operations of the model not listed in [`SUPPORTED`] answer `UnknownOperationException`.

use std::sync::{Arc, LazyLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel};
use stratus_storage::{ReadTxn, Store};

mod backups;
mod batch;
mod capacity;
mod errors;
pub mod expr;
mod items;
mod keys;
mod legacy;
pub mod number;
pub mod partiql;
mod policies;
mod query;
mod statements;
pub mod streams;
mod table;
mod tables;
mod ttl;
pub mod value;

pub use streams::DynamoDbStreams;

static MODEL: LazyLock<Result<ServiceModel, String>> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../../models/dynamodb.json"), None).map_err(|e| e.to_string())
});

/// The operations this server implements.
pub const SUPPORTED: &[&str] = &[
    "CreateTable",
    "DescribeTable",
    "ListTables",
    "UpdateTable",
    "DeleteTable",
    "TagResource",
    "UntagResource",
    "ListTagsOfResource",
    "UpdateTimeToLive",
    "DescribeTimeToLive",
    "DescribeContinuousBackups",
    "UpdateContinuousBackups",
    "DescribeLimits",
    "DescribeEndpoints",
    "PutItem",
    "GetItem",
    "DeleteItem",
    "UpdateItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
    "CreateBackup",
    "DescribeBackup",
    "ListBackups",
    "DeleteBackup",
    "RestoreTableFromBackup",
    "ExecuteStatement",
    "BatchExecuteStatement",
    "ExecuteTransaction",
    "PutResourcePolicy",
    "GetResourcePolicy",
    "DeleteResourcePolicy",
];

/// The DynamoDB service.
#[derive(Clone)]
pub struct DynamoDb {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    model: &'static ServiceModel,
    /// TransactWriteItems' client request tokens of the last ten minutes.
    pub tokens: batch::Tokens,
    /// Bumped after every committed item change, so stream readers wake at once.
    pub streams_changed: Arc<streams::Changes>,
}

impl Inner {
    pub fn now(&self) -> u64 {
        self.env.clock.now_millis()
    }

    /// A write that may change items: once committed, stream readers are told.
    pub async fn write_items<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn stratus_storage::Txn) -> Result<T, AwsError> + Send + 'static,
    ) -> Result<T, AwsError> {
        let r = self.store.write(f).await;
        if r.is_ok() {
            self.streams_changed.bump();
        }
        r
    }

    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ReadTxn) -> Result<T, AwsError> + Send + 'static,
    ) -> Result<T, AwsError> {
        self.store.read(f).await
    }
}

impl DynamoDb {
    pub fn new(store: Store, env: Env) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                env,
                model,
                tokens: Default::default(),
                streams_changed: Default::default(),
            }),
        })
    }

    /// The DynamoDB Streams API over this service's tables.
    pub fn streams(&self) -> Result<streams::DynamoDbStreams, String> {
        streams::DynamoDbStreams::new(self.inner.clone())
    }

    /// Starts the background work: expired items (time to live) are deleted, and stream
    /// records past their 24 hours dropped.
    pub fn start(&self) {
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let mut rounds: u64 = 0;
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(ttl::SWEEP_SECS)).await;
                if let Err(e) = ttl::sweep(&inner).await {
                    tracing::warn!(error = %e, "could not delete expired items");
                }
                rounds += 1;
                if rounds.is_multiple_of(15)
                    && let Err(e) = streams::sweep(&inner).await
                {
                    tracing::warn!(error = %e, "could not drop expired stream records");
                }
            }
        });
    }

    /// Runs one time-to-live sweep now; returns the items deleted (tests).
    pub async fn sweep_expired(&self) -> Result<usize, AwsError> {
        ttl::sweep(&self.inner).await
    }

    /// The resource policy and tags of a table or stream, for authorization; None when it does
    /// not exist.
    pub async fn access_internal(&self, arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
        policies::access(&self.inner, arn).await
    }

    /// Forgets in-memory state (after the store was wiped).
    pub fn reset(&self) {
        if let Ok(mut t) = self.inner.tokens.lock() {
            t.clear();
        }
    }
}

fn none(r: Result<(), AwsError>) -> Result<Value, AwsError> {
    r.map(|()| Value::Object(Default::default()))
}

impl Service for DynamoDb {
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
                "CreateTable" => tables::create(i, ctx, input).await,
                "DescribeTable" => tables::describe(i, ctx, input).await,
                "ListTables" => tables::list(i, ctx, input).await,
                "UpdateTable" => tables::update(i, ctx, input).await,
                "DeleteTable" => tables::delete(i, ctx, input).await,
                "TagResource" => none(tables::tag(i, ctx, input, true).await),
                "UntagResource" => none(tables::tag(i, ctx, input, false).await),
                "ListTagsOfResource" => tables::list_tags(i, ctx, input).await,
                "UpdateTimeToLive" => tables::update_ttl(i, ctx, input).await,
                "DescribeTimeToLive" => tables::describe_ttl(i, ctx, input).await,
                "DescribeContinuousBackups" => tables::describe_backups(i, ctx, input).await,
                "UpdateContinuousBackups" => tables::update_backups(i, ctx, input).await,
                "DescribeLimits" => Ok(tables::describe_limits()),
                "DescribeEndpoints" => Ok(tables::describe_endpoints(ctx)),
                "PutItem" => items::put(i, ctx, input).await,
                "GetItem" => items::get_item(i, ctx, input).await,
                "DeleteItem" => items::delete(i, ctx, input).await,
                "UpdateItem" => items::update(i, ctx, input).await,
                "Query" => query::query(i, ctx, input).await,
                "Scan" => query::scan(i, ctx, input).await,
                "BatchGetItem" => batch::batch_get(i, ctx, input).await,
                "BatchWriteItem" => batch::batch_write(i, ctx, input).await,
                "TransactGetItems" => batch::transact_get(i, ctx, input).await,
                "TransactWriteItems" => batch::transact_write(i, ctx, input).await,
                "CreateBackup" => backups::create(i, ctx, input).await,
                "DescribeBackup" => backups::describe(i, input).await,
                "ListBackups" => backups::list(i, ctx, input).await,
                "DeleteBackup" => backups::delete(i, input).await,
                "RestoreTableFromBackup" => backups::restore(i, ctx, input).await,
                "ExecuteStatement" => statements::execute(i, ctx, input).await,
                "BatchExecuteStatement" => statements::batch_execute(i, ctx, input).await,
                "ExecuteTransaction" => statements::execute_transaction(i, ctx, input).await,
                "PutResourcePolicy" => policies::put(i, ctx, input).await,
                "GetResourcePolicy" => policies::get(i, ctx, input).await,
                "DeleteResourcePolicy" => policies::delete(i, ctx, input).await,
                other => Err(errors::unsupported(other)),
            }
        })
    }
}
