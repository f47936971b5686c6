//! Log anomaly detectors (Create/Get/List/Update/DeleteLogAnomalyDetector) and their anomalies
//! (ListAnomalies, UpdateAnomaly). Detectors are kept as configured; finding anomalies takes
//! AWS's trained models, which this server does not have, so a detector stays in training and
//! reports none — what a new detector on AWS reports too.
//!
//! - `logs/ad/{account}/{region}/{uuid}` → detector (JSON, as answered)

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::scan_prefix;

use crate::Inner;
use crate::errors::invalid_parameter;
use crate::group::{GroupRef, load_group};

const FREQUENCIES: &[&str] = &["ONE_MIN", "FIVE_MIN", "TEN_MIN", "FIFTEEN_MIN", "THIRTY_MIN", "ONE_HOUR"];
/// Where a running detector stays: it never finishes training here.
const RUNNING: &str = "TRAINING";

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn not_found() -> AwsError {
    AwsError::new("ResourceNotFoundException", "The specified anomaly detector does not exist.")
}

/// The store key of a detector ARN of this account and region.
fn key_of(ctx: &RequestContext, arn: &str) -> Result<Vec<u8>, AwsError> {
    let id = stratus_core::Arn::parse(arn)
        .filter(|a| a.service == "logs" && a.account == ctx.account && a.region == ctx.region)
        .and_then(|a| a.resource.strip_prefix("anomaly-detector:").map(str::to_string))
        .ok_or_else(not_found)?;
    Ok(format!("logs/ad/{}/{}/{id}", ctx.account, ctx.region).into_bytes())
}

fn check_frequency(input: &Value) -> Result<(), AwsError> {
    match input.get("evaluationFrequency").and_then(Value::as_str) {
        Some(f) if !FREQUENCIES.contains(&f) => Err(invalid_parameter(format!(
            "Invalid evaluationFrequency {f}: one of ONE_MIN, FIVE_MIN, TEN_MIN, FIFTEEN_MIN, THIRTY_MIN, ONE_HOUR"
        ))),
        _ => Ok(()),
    }
}

fn check_visibility(input: &Value) -> Result<(), AwsError> {
    match input.get("anomalyVisibilityTime").and_then(Value::as_i64) {
        Some(d) if !(7..=90).contains(&d) => {
            Err(invalid_parameter("anomalyVisibilityTime must be between 7 and 90 days."))
        }
        _ => Ok(()),
    }
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let groups: Vec<String> = input
        .get("logGroupArnList")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if groups.len() != 1 {
        return Err(invalid_parameter("logGroupArnList must name exactly one log group."));
    }
    check_frequency(&input)?;
    check_visibility(&input)?;
    let id = i.env.ids.uuid();
    let arn = format!(
        "arn:{partition}:logs:{}:{}:anomaly-detector:{id}",
        ctx.region,
        ctx.account,
        partition = stratus_core::partition(&ctx.region)
    );
    let now = i.now();
    let mut d = json!({
        "anomalyDetectorArn": arn,
        "detectorName": input.get("detectorName").cloned().unwrap_or_else(|| json!(id)),
        "logGroupArnList": groups,
        "evaluationFrequency": input.get("evaluationFrequency").cloned().unwrap_or_else(|| json!("FIVE_MIN")),
        "anomalyDetectorStatus": RUNNING,
        "creationTimeStamp": now,
        "lastModifiedTimeStamp": now,
        "anomalyVisibilityTime": input.get("anomalyVisibilityTime").cloned().unwrap_or_else(|| json!(21)),
    });
    for field in ["filterPattern", "kmsKeyId"] {
        if let Some(v) = input.get(field) {
            d[field] = v.clone();
        }
    }
    let group = GroupRef::from_arn(&groups[0])
        .ok_or_else(|| invalid_parameter(format!("Invalid log group ARN: {}", groups[0])))?;
    let k = key_of(ctx, &arn)?;
    i.store
        .write(move |t| {
            if load_group(t, &group.account, &group.region, &group.name)?.is_none() {
                return Err(crate::errors::group_not_found());
            }
            t.put(&k, d.to_string().as_bytes())?;
            Ok(())
        })
        .await?;
    Ok(json!({ "anomalyDetectorArn": arn }))
}

async fn load(i: &Inner, ctx: &RequestContext, arn: &str) -> Result<(Vec<u8>, Value), AwsError> {
    let k = key_of(ctx, arn)?;
    let k2 = k.clone();
    let d = i.read(move |r| Ok(r.get(&k2)?.and_then(|b| serde_json::from_slice::<Value>(&b).ok()))).await?;
    Ok((k, d.ok_or_else(not_found)?))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    Ok(load(i, ctx, s(&input, "anomalyDetectorArn")).await?.1)
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("logs/ad/{}/{}/", ctx.account, ctx.region).into_bytes();
    let rows = i.read(move |r| Ok(scan_prefix(r, &prefix, usize::MAX)?)).await?;
    let group = s(&input, "filterLogGroupArn").trim_end_matches(":*").to_string();
    let all: Vec<Value> = rows
        .iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Value>(v).ok())
        .filter(|d| {
            group.is_empty()
                || d["logGroupArnList"].as_array().is_some_and(|l| {
                    l.iter().any(|g| g.as_str().map(|g| g.trim_end_matches(":*")) == Some(group.as_str()))
                })
        })
        .collect();
    crate::records::page(&all, &input, &crate::records::DESCRIBE, "anomalyDetectorArn", "anomalyDetectors")
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    check_frequency(&input)?;
    check_visibility(&input)?;
    let k = key_of(ctx, s(&input, "anomalyDetectorArn"))?;
    let now = i.now();
    i.store
        .write(move |t| {
            let mut d: Value = t.get(&k)?.and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(not_found)?;
            for field in ["evaluationFrequency", "filterPattern", "anomalyVisibilityTime"] {
                if let Some(v) = input.get(field) {
                    d[field] = v.clone();
                }
            }
            if let Some(enabled) = input.get("enabled").and_then(Value::as_bool) {
                d["anomalyDetectorStatus"] = json!(if enabled { RUNNING } else { "PAUSED" });
            }
            d["lastModifiedTimeStamp"] = json!(now);
            t.put(&k, d.to_string().as_bytes())?;
            Ok(Value::Null)
        })
        .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let k = key_of(ctx, s(&input, "anomalyDetectorArn"))?;
    crate::records::delete_existing(i, k, not_found).await
}

/// ListAnomalies: detectors here find none; a detector that does not exist is not found.
pub async fn list_anomalies(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    if let Some(arn) = input.get("anomalyDetectorArn").and_then(Value::as_str) {
        load(i, ctx, arn).await?;
    }
    Ok(json!({ "anomalies": [] }))
}

/// UpdateAnomaly: the detector must exist, and no anomaly does.
pub async fn update_anomaly(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    load(i, ctx, s(&input, "anomalyDetectorArn")).await?;
    match input.get("anomalyId").and_then(Value::as_str) {
        Some(id) => Err(AwsError::new("ResourceNotFoundException", format!("The anomaly {id} does not exist."))),
        None if input.get("patternId").is_some() => {
            Err(AwsError::new("ResourceNotFoundException", "The specified pattern does not exist."))
        }
        None => Err(invalid_parameter("Either anomalyId or patternId is required.")),
    }
}
