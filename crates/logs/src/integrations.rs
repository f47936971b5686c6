//! The operations whose other side is a service this server does not run, answered as AWS
//! answers when that side does not exist: import tasks (their only source is a CloudTrail Lake
//! event data store), OpenSearch Service integrations, and S3 Tables integrations. Listings are
//! empty and lookups are ResourceNotFoundException — nothing is pretended.

use serde_json::{Value, json};
use stratus_proto::AwsError;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn not_found(message: impl Into<String>) -> AwsError {
    AwsError::new("ResourceNotFoundException", message)
}

/// CreateImportTask: the event data store to import from does not exist here.
pub fn create_import_task(input: &Value) -> Result<Value, AwsError> {
    let source = s(input, "importSourceArn");
    if stratus_core::Arn::parse(source).is_none_or(|a| a.service != "cloudtrail") {
        return Err(crate::errors::invalid_parameter(format!(
            "Invalid importSourceArn {source}: imports come from CloudTrail Lake event data stores."
        )));
    }
    Err(not_found(format!(
        "The import source {source} does not exist: CloudTrail Lake event data stores are not served by this server."
    )))
}

pub fn describe_import_tasks(input: &Value) -> Result<Value, AwsError> {
    if let Some(id) = input.get("importId").and_then(Value::as_str) {
        return Err(not_found(format!("The import task {id} does not exist.")));
    }
    Ok(json!({ "imports": [] }))
}

/// DescribeImportTaskBatches and CancelImportTask: no import task exists.
pub fn import_task(input: &Value) -> Result<Value, AwsError> {
    Err(not_found(format!("The import task {} does not exist.", s(input, "importId"))))
}

pub fn list_integrations() -> Result<Value, AwsError> {
    Ok(json!({ "integrationSummaries": [] }))
}

/// GetIntegration and DeleteIntegration: no integration exists.
pub fn integration(input: &Value) -> Result<Value, AwsError> {
    Err(not_found(format!("The integration {} does not exist.", s(input, "integrationName"))))
}

/// PutIntegration: an OpenSearch Service collection and application cannot be made here.
pub fn put_integration(input: &Value) -> Result<Value, AwsError> {
    Err(AwsError::new(
        "ValidationException",
        format!(
            "The integration {} cannot be created: OpenSearch Service is not served by this server.",
            s(input, "integrationName")
        ),
    ))
}

/// The S3 Tables integration operations: the integration (an S3 table bucket) does not exist.
pub fn s3_table_integration(input: &Value) -> Result<Value, AwsError> {
    let named = [s(input, "integrationArn"), s(input, "identifier")].into_iter().find(|v| !v.is_empty()).unwrap_or("");
    Err(not_found(format!("The S3 Tables integration {named} does not exist: S3 Tables is not served by this server.")))
}

/// GetLogFields: data sources come from CloudWatch pipelines, which this server does not run.
pub fn log_fields(input: &Value) -> Result<Value, AwsError> {
    Err(not_found(format!(
        "The data source {} of type {} does not exist: CloudWatch pipelines are not served by this server.",
        s(input, "dataSourceName"),
        s(input, "dataSourceType")
    )))
}

/// GetLogObject: large log objects come from OpenTelemetry ingestion, which this server does
/// not serve, so no pointer names one.
pub fn log_object(input: &Value) -> Result<Value, AwsError> {
    Err(not_found(format!("The log object {} does not exist.", s(input, "logObjectPointer"))))
}

/// ListAggregateLogGroupSummaries: groups are summarized by their data sources, which only
/// CloudWatch pipelines and vended logs assign; no group here has one.
pub fn aggregate_summaries(input: &Value) -> Result<Value, AwsError> {
    if !matches!(s(input, "groupBy"), "DATA_SOURCE_NAME_TYPE_AND_FORMAT" | "DATA_SOURCE_NAME_AND_TYPE") {
        return Err(crate::errors::invalid_parameter(
            "groupBy is DATA_SOURCE_NAME_TYPE_AND_FORMAT or DATA_SOURCE_NAME_AND_TYPE.",
        ));
    }
    Ok(json!({ "aggregateLogGroupSummaries": [] }))
}
