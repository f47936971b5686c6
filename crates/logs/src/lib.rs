//! Amazon CloudWatch Logs (JSON 1.1, `X-Amz-Target: Logs_20140328.<Op>`): log groups, log
//! streams, events, retention and tags, served by the shared protocol layer.
//!
//! Every operation is one storage transaction. Events are stored by stream and timestamp, so
//! GetLogEvents and FilterLogEvents are range scans; retention is applied when reading (events
//! past a group's retention are never returned) and by a background sweep that deletes them.
//!
//! Implemented: CreateLogGroup, DeleteLogGroup, DescribeLogGroups, CreateLogStream,
//! DeleteLogStream, DescribeLogStreams, PutLogEvents, GetLogEvents, FilterLogEvents (with filter
//! patterns, see [`pattern`]), PutRetentionPolicy, DeleteRetentionPolicy,
//! PutLogGroupDeletionProtection, TagLogGroup,
//! UntagLogGroup, ListTagsLogGroup, TagResource, UntagResource, ListTagsForResource.
//! The function runtime delivers log lines through [`Logs::append`].
//!
//! Logs Insights (StartQuery, GetQueryResults, StopQuery, DescribeQueries, query definitions,
//! GetLogRecord, GetLogGroupFields) is `insights/`; export tasks to S3 are `exports.rs`; data
//! protection and account policies (kept) are `policies.rs`; destinations are `destinations.rs`.
//!
//! Every other operation of the model (import tasks, destinations, deliveries, account, resource, data protection, index
//! and transformer policies, anomaly detectors, integrations, lookup tables, scheduled queries,
//! KMS association, ListLogGroups, live tail, …; see [`SUPPORTED`]) answers
//! `InvalidOperationException` ("The operation X is not supported by this server.").

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use serde_json::Value;
use stratus_core::{Env, RequestContext};
use stratus_proto::typed_output as out;
use stratus_proto::{AwsError, BoxFuture, Operation, Service, ServiceModel, ValidationFailure, Wire};
use stratus_storage::{ReadTxn, Store};
use tokio::sync::Notify;

mod anomalies;
mod deliveries;
mod destinations;
mod errors;
mod events;
mod exports;
mod filters;
mod group;
mod groups;
mod indexes;
mod insights;
mod integrations;
mod keys;
mod lookups;
pub mod pattern;
mod policies;
mod records;
mod scheduled;
mod streams;
mod subscriptions;
mod sweeper;
mod tail;
mod tokens;
mod transformers;
pub mod types;

static MODEL: LazyLock<Result<ServiceModel, String>> =
    LazyLock::new(|| ServiceModel::parse(include_str!("../../../models/logs.json"), None).map_err(|e| e.to_string()));

/// The operations this server implements; every other operation of the model answers
/// `InvalidOperationException`.
pub const SUPPORTED: &[&str] = &[
    "CreateLogGroup",
    "DeleteLogGroup",
    "DescribeLogGroups",
    "CreateLogStream",
    "DeleteLogStream",
    "DescribeLogStreams",
    "PutLogEvents",
    "GetLogEvents",
    "FilterLogEvents",
    "PutRetentionPolicy",
    "DeleteRetentionPolicy",
    "PutLogGroupDeletionProtection",
    "TagLogGroup",
    "UntagLogGroup",
    "ListTagsLogGroup",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "PutSubscriptionFilter",
    "DescribeSubscriptionFilters",
    "DeleteSubscriptionFilter",
    "PutMetricFilter",
    "DescribeMetricFilters",
    "DeleteMetricFilter",
    "TestMetricFilter",
    "PutResourcePolicy",
    "DescribeResourcePolicies",
    "DeleteResourcePolicy",
    "StartQuery",
    "GetQueryResults",
    "StopQuery",
    "DescribeQueries",
    "PutQueryDefinition",
    "DescribeQueryDefinitions",
    "DeleteQueryDefinition",
    "GetLogRecord",
    "GetLogGroupFields",
    "CreateExportTask",
    "DescribeExportTasks",
    "CancelExportTask",
    "PutDestination",
    "PutDestinationPolicy",
    "DescribeDestinations",
    "DeleteDestination",
    "PutDataProtectionPolicy",
    "GetDataProtectionPolicy",
    "DeleteDataProtectionPolicy",
    "PutAccountPolicy",
    "DescribeAccountPolicies",
    "DeleteAccountPolicy",
    "ListLogGroups",
    "AssociateKmsKey",
    "DisassociateKmsKey",
    "PutDeliverySource",
    "GetDeliverySource",
    "DescribeDeliverySources",
    "DeleteDeliverySource",
    "PutDeliveryDestination",
    "GetDeliveryDestination",
    "DescribeDeliveryDestinations",
    "DeleteDeliveryDestination",
    "PutDeliveryDestinationPolicy",
    "GetDeliveryDestinationPolicy",
    "DeleteDeliveryDestinationPolicy",
    "CreateDelivery",
    "GetDelivery",
    "DescribeDeliveries",
    "DeleteDelivery",
    "UpdateDeliveryConfiguration",
    "DescribeConfigurationTemplates",
    "CreateLogAnomalyDetector",
    "GetLogAnomalyDetector",
    "ListLogAnomalyDetectors",
    "UpdateLogAnomalyDetector",
    "DeleteLogAnomalyDetector",
    "ListAnomalies",
    "UpdateAnomaly",
    "StartLiveTail",
    "ListLogGroupsForQuery",
    "PutIndexPolicy",
    "DescribeIndexPolicies",
    "DeleteIndexPolicy",
    "DescribeFieldIndexes",
    "CreateLookupTable",
    "GetLookupTable",
    "DescribeLookupTables",
    "UpdateLookupTable",
    "DeleteLookupTable",
    "CreateImportTask",
    "DescribeImportTasks",
    "DescribeImportTaskBatches",
    "CancelImportTask",
    "ListIntegrations",
    "GetIntegration",
    "DeleteIntegration",
    "PutIntegration",
    "AssociateSourceToS3TableIntegration",
    "DisassociateSourceFromS3TableIntegration",
    "ListSourcesForS3TableIntegration",
    "PutBearerTokenAuthentication",
    "PutTransformer",
    "GetTransformer",
    "DeleteTransformer",
    "TestTransformer",
    "CreateScheduledQuery",
    "GetScheduledQuery",
    "UpdateScheduledQuery",
    "DeleteScheduledQuery",
    "ListScheduledQueries",
    "GetScheduledQueryHistory",
    "GetLogFields",
    "GetLogObject",
    "ListAggregateLogGroupSummaries",
];

/// Whether a subscription filter's destination takes deliveries from a log group: a function
/// whose policy lets `logs.amazonaws.com` invoke it for the group (checked when the filter is
/// put, as AWS does; the binary answers, since only it sees Lambda).
pub trait Destinations: Send + Sync {
    fn allows<'a>(
        &'a self,
        destination: &'a str,
        group_arn: &'a str,
        account: &'a str,
    ) -> stratus_proto::BoxFuture<'a, bool>;
}

pub use exports::{Buckets, EXPORTS_TOPIC, ExportObject};

/// The outbox topic of subscription filter deliveries: `{"destination", "event", "principal",
/// "source", "source_account"}`.
pub const SUBSCRIPTIONS_TOPIC: &str = "logs-subscriptions";

/// The CloudWatch Logs service.
#[derive(Clone)]
pub struct Logs {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub store: Store,
    pub env: Env,
    model: &'static ServiceModel,
    closing: AtomicBool,
    closing_signal: Notify,
    /// Who says whether a subscription filter's destination takes deliveries.
    pub destinations: std::sync::OnceLock<Arc<dyn Destinations>>,
    /// Who says whether an export task's bucket exists.
    pub buckets: std::sync::OnceLock<Arc<dyn Buckets>>,
    /// Events just stored, for live tail sessions (`tail.rs`).
    pub tail: tokio::sync::broadcast::Sender<Arc<tail::Written>>,
}

impl Logs {
    pub fn new(store: Store, env: Env) -> Result<Self, String> {
        let model = MODEL.as_ref().map_err(Clone::clone)?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                env,
                model,
                closing: AtomicBool::new(false),
                closing_signal: Notify::new(),
                destinations: std::sync::OnceLock::new(),
                tail: tokio::sync::broadcast::channel(tail::CHANNEL).0,
                buckets: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Connects subscription filters' destination checks (once, at start).
    pub fn set_destinations(&self, d: Arc<dyn Destinations>) {
        let _ = self.inner.destinations.set(d);
    }

    /// Starts the background work: events past their group's retention are deleted.
    pub fn start(&self) {
        tokio::spawn(sweeper::run(self.inner.clone()));
        tokio::spawn(scheduled::run(self.inner.clone()));
    }

    /// Stops the background work.
    pub fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.closing_signal.notify_waiters();
    }

    /// Forgets in-memory state (after the store was wiped). The service keeps none.
    pub fn reset(&self) {}

    /// Delivers log lines (e.g. a function's output): creates the group and the stream when
    /// missing and stores the events, in one transaction. `events` are (timestamp in
    /// milliseconds, message); they are stored in timestamp order whatever order they come in,
    /// and none is rejected for its age, as a runtime's own log delivery is not a client batch.
    pub async fn append(
        &self,
        account: &str,
        region: &str,
        group: &str,
        stream: &str,
        events: Vec<(u64, String)>,
    ) -> Result<(), AwsError> {
        let append = Append {
            account: account.into(),
            region: region.into(),
            group: group.into(),
            stream: stream.into(),
            events,
        };
        events::append(&self.inner, vec![append]).await
    }

    /// Appends to several streams in one transaction (groups and streams created as needed).
    pub async fn append_many(&self, appends: Vec<Append>) -> Result<(), AwsError> {
        events::append(&self.inner, appends).await
    }

    /// Runs one retention sweep now (tests; the background task runs it periodically).
    pub async fn sweep_expired(&self) -> Result<usize, AwsError> {
        sweeper::sweep(&self.inner).await
    }
}

/// Events for one stream, for [`Logs::append_many`].
pub struct Append {
    pub account: String,
    pub region: String,
    pub group: String,
    pub stream: String,
    /// (milliseconds since the epoch, message)
    pub events: Vec<(u64, String)>,
}

impl Inner {
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

fn parse<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, AwsError> {
    stratus_proto::typed_input(input, "SerializationException")
}

/// Members whose model pattern the protocol layer does not check, and their patterns.
const PATTERNS: &[(&str, &str)] = &[
    ("logGroupName", group::GROUP_NAME_PATTERN),
    ("logGroupNamePrefix", group::GROUP_NAME_PATTERN),
    ("logStreamName", group::STREAM_NAME_PATTERN),
    ("logStreamNamePrefix", group::STREAM_NAME_PATTERN),
    ("logGroupIdentifier", group::IDENTIFIER_PATTERN),
];

fn check_patterns(op: &str, input: &Value) -> Result<(), AwsError> {
    for (member, pattern) in PATTERNS {
        if let Some(v) = input.get(member).and_then(Value::as_str) {
            group::check_pattern(member, v, pattern)?;
        }
    }
    // ListLogGroups' patterns may also hold `^` and `|` (checked there).
    let extra = if op == "ListLogGroups" { "^|" } else { "" };
    if let Some(v) = input.get("logGroupNamePattern").and_then(Value::as_str)
        && !v.chars().all(|c| c.is_ascii_alphanumeric() || ".-_/#".contains(c) || extra.contains(c))
    {
        return Err(errors::constraint(
            "logGroupNamePattern",
            v,
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]*",
        ));
    }
    Ok(())
}

impl Service for Logs {
    fn model(&self) -> &ServiceModel {
        self.inner.model
    }

    fn streams_events(&self, op: &Operation) -> bool {
        op.name == "StartLiveTail"
    }

    fn call_events<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Box<dyn stratus_proto::eventstream::EventSource>, AwsError>> {
        Box::pin(async move {
            match op.name.as_str() {
                "StartLiveTail" => tail::start(&self.inner, ctx, input).await,
                other => Err(errors::unsupported_operation(other)),
            }
        })
    }

    fn call<'a>(
        &'a self,
        ctx: &'a RequestContext,
        op: &'a Operation,
        input: Value,
    ) -> BoxFuture<'a, Result<Value, AwsError>> {
        Box::pin(async move {
            let i = &self.inner;
            let name = op.name.as_str();
            if !SUPPORTED.contains(&name) {
                return Err(errors::unsupported_operation(name));
            }
            check_patterns(name, &input)?;
            match name {
                "CreateLogGroup" => groups::create(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "DeleteLogGroup" => groups::delete(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "DescribeLogGroups" => out(groups::describe(i, ctx, parse(input)?).await?),
                "PutRetentionPolicy" => groups::put_retention(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "DeleteRetentionPolicy" => groups::delete_retention(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "PutLogGroupDeletionProtection" => {
                    groups::put_deletion_protection(i, ctx, parse(input)?).await.map(|()| Value::Null)
                }
                "TagLogGroup" => groups::tag_log_group(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "UntagLogGroup" => groups::untag_log_group(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "ListTagsLogGroup" => out(groups::list_tags_log_group(i, ctx, parse(input)?).await?),
                "TagResource" => groups::tag_resource(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "UntagResource" => groups::untag_resource(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "ListTagsForResource" => out(groups::list_tags_for_resource(i, ctx, parse(input)?).await?),
                "CreateLogStream" => streams::create(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "DeleteLogStream" => streams::delete(i, ctx, parse(input)?).await.map(|()| Value::Null),
                "DescribeLogStreams" => out(streams::describe(i, ctx, parse(input)?).await?),
                "PutLogEvents" => out(events::put(i, ctx, parse(input)?).await?),
                "PutSubscriptionFilter" => subscriptions::put(i, ctx, input).await,
                "DescribeSubscriptionFilters" => subscriptions::describe(i, ctx, input).await,
                "DeleteSubscriptionFilter" => subscriptions::delete(i, ctx, input).await,
                "PutMetricFilter" => filters::put_metric_filter(i, ctx, input).await,
                "DescribeMetricFilters" => filters::describe_metric_filters(i, ctx, input).await,
                "DeleteMetricFilter" => filters::delete_metric_filter(i, ctx, input).await,
                "TestMetricFilter" => filters::test_metric_filter(input).await,
                "PutResourcePolicy" => filters::put_resource_policy(i, ctx, input).await,
                "DescribeResourcePolicies" => filters::describe_resource_policies(i, ctx, input).await,
                "DeleteResourcePolicy" => filters::delete_resource_policy(i, ctx, input).await,
                "PutDestination" => destinations::put(i, ctx, input).await,
                "PutDestinationPolicy" => destinations::put_policy(i, ctx, input).await,
                "DescribeDestinations" => destinations::describe(i, ctx, input).await,
                "DeleteDestination" => destinations::delete(i, ctx, input).await,
                "PutDataProtectionPolicy" => policies::put_data_protection(i, ctx, input).await,
                "GetDataProtectionPolicy" => policies::get_data_protection(i, ctx, input).await,
                "DeleteDataProtectionPolicy" => policies::delete_data_protection(i, ctx, input).await,
                "PutAccountPolicy" => policies::put_account_policy(i, ctx, input).await,
                "DescribeAccountPolicies" => policies::describe_account_policies(i, ctx, input).await,
                "DeleteAccountPolicy" => policies::delete_account_policy(i, ctx, input).await,
                "CreateExportTask" => exports::create(i, ctx, input).await,
                "DescribeExportTasks" => exports::describe(i, ctx, input).await,
                "CancelExportTask" => exports::cancel(i, ctx, input).await,
                "StartQuery" => insights::start(i, ctx, input).await,
                "GetQueryResults" => insights::results(i, ctx, input).await,
                "StopQuery" => insights::stop(i, ctx, input).await,
                "DescribeQueries" => insights::describe(i, ctx, input).await,
                "PutQueryDefinition" => insights::put_definition(i, ctx, input).await,
                "DescribeQueryDefinitions" => insights::describe_definitions(i, ctx, input).await,
                "DeleteQueryDefinition" => insights::delete_definition(i, ctx, input).await,
                "GetLogRecord" => insights::get_record(i, ctx, input).await,
                "GetLogGroupFields" => insights::group_fields(i, ctx, input).await,
                "ListLogGroups" => groups::list(i, ctx, input).await,
                "AssociateKmsKey" => groups::set_kms_key(i, ctx, input, true).await,
                "DisassociateKmsKey" => groups::set_kms_key(i, ctx, input, false).await,
                "PutDeliverySource" => deliveries::put_source(i, ctx, input).await,
                "GetDeliverySource" => deliveries::get_source(i, ctx, input).await,
                "DescribeDeliverySources" => deliveries::describe_sources(i, ctx, input).await,
                "DeleteDeliverySource" => deliveries::delete_source(i, ctx, input).await,
                "PutDeliveryDestination" => deliveries::put_destination(i, ctx, input).await,
                "GetDeliveryDestination" => deliveries::get_destination(i, ctx, input).await,
                "DescribeDeliveryDestinations" => deliveries::describe_destinations(i, ctx, input).await,
                "DeleteDeliveryDestination" => deliveries::delete_destination(i, ctx, input).await,
                "PutDeliveryDestinationPolicy" => deliveries::put_destination_policy(i, ctx, input).await,
                "GetDeliveryDestinationPolicy" => deliveries::get_destination_policy(i, ctx, input).await,
                "DeleteDeliveryDestinationPolicy" => deliveries::delete_destination_policy(i, ctx, input).await,
                "CreateDelivery" => deliveries::create_delivery(i, ctx, input).await,
                "GetDelivery" => deliveries::get_delivery(i, ctx, input).await,
                "DescribeDeliveries" => deliveries::describe_deliveries(i, ctx, input).await,
                "DeleteDelivery" => deliveries::delete_delivery(i, ctx, input).await,
                "UpdateDeliveryConfiguration" => deliveries::update_delivery_configuration(i, ctx, input).await,
                "DescribeConfigurationTemplates" => deliveries::describe_configuration_templates(input).await,
                "CreateLogAnomalyDetector" => anomalies::create(i, ctx, input).await,
                "GetLogAnomalyDetector" => anomalies::get(i, ctx, input).await,
                "ListLogAnomalyDetectors" => anomalies::list(i, ctx, input).await,
                "UpdateLogAnomalyDetector" => anomalies::update(i, ctx, input).await,
                "DeleteLogAnomalyDetector" => anomalies::delete(i, ctx, input).await,
                "ListAnomalies" => anomalies::list_anomalies(i, ctx, input).await,
                "UpdateAnomaly" => anomalies::update_anomaly(i, ctx, input).await,
                "ListLogGroupsForQuery" => insights::groups_of(i, ctx, input).await,
                "PutIndexPolicy" => indexes::put(i, ctx, input).await,
                "DescribeIndexPolicies" => indexes::describe(i, ctx, input).await,
                "DeleteIndexPolicy" => indexes::delete(i, ctx, input).await,
                "DescribeFieldIndexes" => indexes::field_indexes(i, ctx, input).await,
                "CreateLookupTable" => lookups::create(i, ctx, input).await,
                "GetLookupTable" => lookups::get(i, ctx, input).await,
                "DescribeLookupTables" => lookups::describe(i, ctx, input).await,
                "UpdateLookupTable" => lookups::update(i, ctx, input).await,
                "DeleteLookupTable" => lookups::delete(i, ctx, input).await,
                "CreateImportTask" => integrations::create_import_task(&input),
                "DescribeImportTasks" => integrations::describe_import_tasks(&input),
                "DescribeImportTaskBatches" | "CancelImportTask" => integrations::import_task(&input),
                "ListIntegrations" => integrations::list_integrations(),
                "GetIntegration" | "DeleteIntegration" => integrations::integration(&input),
                "PutIntegration" => integrations::put_integration(&input),
                "AssociateSourceToS3TableIntegration"
                | "DisassociateSourceFromS3TableIntegration"
                | "ListSourcesForS3TableIntegration" => integrations::s3_table_integration(&input),
                "PutBearerTokenAuthentication" => groups::put_bearer_token(i, ctx, input).await,
                "PutTransformer" => transformers::put(i, ctx, input).await,
                "GetTransformer" => transformers::get(i, ctx, input).await,
                "DeleteTransformer" => transformers::delete(i, ctx, input).await,
                "TestTransformer" => transformers::test(input).await,
                "CreateScheduledQuery" => scheduled::create(i, ctx, input).await,
                "GetScheduledQuery" => scheduled::get(i, ctx, input).await,
                "UpdateScheduledQuery" => scheduled::update(i, ctx, input).await,
                "DeleteScheduledQuery" => scheduled::delete(i, ctx, input).await,
                "ListScheduledQueries" => scheduled::list(i, ctx, input).await,
                "GetScheduledQueryHistory" => scheduled::history(i, ctx, input).await,
                "GetLogFields" => integrations::log_fields(&input),
                "GetLogObject" => integrations::log_object(&input),
                "ListAggregateLogGroupSummaries" => integrations::aggregate_summaries(&input),
                "GetLogEvents" => out(events::get(i, ctx, parse(input)?).await?),
                "FilterLogEvents" => out(events::filter(i, ctx, parse(input)?).await?),
                other => Err(errors::unsupported_operation(other)),
            }
        })
    }

    fn validation_error(&self, op: &Operation, failure: &ValidationFailure, _wire: Wire) -> AwsError {
        // The newer operations (deliveries among them) answer ValidationException, as their
        // models say; the older ones InvalidParameterException.
        if op.errors.iter().any(|e| e == "ValidationException")
            && !op.errors.iter().any(|e| e == "InvalidParameterException")
        {
            return failure.to_validation_exception();
        }
        match failure {
            // What AWS answers for over-long names (recorded against AWS).
            ValidationFailure::Length { member, len, max: Some(max), .. }
                if (member == "logGroupName" || member == "logStreamName") && (*len as f64) > *max =>
            {
                errors::invalid_parameter(
                    "Invalid LogGroup or LogStream, both must have length less than or equal to 512.",
                )
            }
            other => {
                let e = other.to_validation_exception();
                if e.code == "ValidationException" { errors::invalid_parameter(e.message) } else { e }
            }
        }
    }
}
