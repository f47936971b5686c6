//! Asynchronous invocation settings (FunctionEventInvokeConfig): how many retries, how old an
//! event may get, and where records of successes and failures go.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::invalid;
use crate::functions::{FunctionName, function_arn, must_load, parse_function_name, resolve_config, save};

/// The settings of one qualifier, as stored in the function record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EventInvokeConfig {
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_seconds: Option<u32>,
    pub on_success: Option<String>,
    pub on_failure: Option<String>,
    pub last_modified_ms: u64,
}

impl EventInvokeConfig {
    pub fn retries(&self) -> u32 {
        self.maximum_retry_attempts.unwrap_or(2)
    }

    pub fn max_age_ms(&self) -> u64 {
        u64::from(self.maximum_event_age_seconds.unwrap_or(21_600)) * 1000
    }

    fn render(&self, arn: &str) -> Value {
        let mut dest = serde_json::Map::new();
        if let Some(d) = &self.on_success {
            dest.insert("OnSuccess".into(), json!({"Destination": d}));
        }
        if let Some(d) = &self.on_failure {
            dest.insert("OnFailure".into(), json!({"Destination": d}));
        }
        let mut v = json!({
            "FunctionArn": arn,
            "LastModified": self.last_modified_ms as f64 / 1000.0,
            "DestinationConfig": Value::Object(dest),
        });
        if let Some(o) = v.as_object_mut() {
            if let Some(n) = self.maximum_retry_attempts {
                o.insert("MaximumRetryAttempts".into(), json!(n));
            }
            if let Some(n) = self.maximum_event_age_seconds {
                o.insert("MaximumEventAgeInSeconds".into(), json!(n));
            }
        }
        v
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutInput {
    pub function_name: String,
    pub qualifier: Option<String>,
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_event_age_in_seconds: Option<u32>,
    pub destination_config: Option<DestinationConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    pub on_success: Option<Destination>,
    pub on_failure: Option<Destination>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Destination {
    pub destination: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RefInput {
    pub function_name: String,
    pub qualifier: Option<String>,
}

/// Destinations may be SQS queues, SNS topics, Lambda functions or EventBridge buses.
fn check_destination(arn: &str) -> Result<(), AwsError> {
    let ok = stratus_core::Arn::parse(arn).is_some_and(|a| matches!(a.service, "sqs" | "sns" | "lambda" | "events"));
    if !ok {
        return Err(invalid(format!(
            "The provided destination config DestinationConfig is invalid: {arn} is not a supported destination."
        )));
    }
    Ok(())
}

fn key(f: &FunctionName) -> String {
    f.qualifier.clone().unwrap_or_else(|| "$LATEST".into())
}

fn qualified_arn(f: &FunctionName) -> String {
    format!("{}:{}", function_arn(&f.account, &f.region, &f.name), key(f))
}

fn target(ctx: &RequestContext, name: &str, qualifier: Option<String>) -> Result<FunctionName, AwsError> {
    let mut f = parse_function_name(name, ctx)?;
    if qualifier.is_some() {
        f.qualifier = qualifier;
    }
    Ok(f)
}

/// Put replaces the settings; update (`merge`) changes only what is given.
pub(crate) async fn put(i: &Inner, ctx: &RequestContext, input: PutInput, merge: bool) -> Result<Value, AwsError> {
    let f = target(ctx, &input.function_name, input.qualifier.clone())?;
    let dest = input.destination_config.unwrap_or_default();
    let on_success = dest.on_success.and_then(|d| d.destination);
    let on_failure = dest.on_failure.and_then(|d| d.destination);
    for d in on_success.iter().chain(on_failure.iter()) {
        check_destination(d)?;
    }
    let now = i.now();
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            resolve_config(t, &f, &rec)?;
            let k = key(&f);
            let mut cfg = if merge {
                rec.event_invoke_configs.get(&k).cloned().ok_or_else(|| missing(&f))?
            } else {
                EventInvokeConfig::default()
            };
            if input.maximum_retry_attempts.is_some() || !merge {
                cfg.maximum_retry_attempts = input.maximum_retry_attempts;
            }
            if input.maximum_event_age_in_seconds.is_some() || !merge {
                cfg.maximum_event_age_seconds = input.maximum_event_age_in_seconds;
            }
            if on_success.is_some() || !merge {
                cfg.on_success = on_success;
            }
            if on_failure.is_some() || !merge {
                cfg.on_failure = on_failure;
            }
            cfg.last_modified_ms = now;
            let out = cfg.render(&qualified_arn(&f));
            rec.event_invoke_configs.insert(k, cfg);
            save(t, &f, &rec)?;
            Ok(out)
        })
        .await
}

fn missing(f: &FunctionName) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("The function {} doesn't have an EventInvokeConfig", qualified_arn(f)),
    )
}

pub(crate) async fn get(i: &Inner, ctx: &RequestContext, input: RefInput) -> Result<Value, AwsError> {
    let f = target(ctx, &input.function_name, input.qualifier)?;
    i.read(move |r| {
        let rec = must_load(r, &f)?;
        Ok(rec.event_invoke_configs.get(&key(&f)).ok_or_else(|| missing(&f))?.render(&qualified_arn(&f)))
    })
    .await
}

pub(crate) async fn delete(i: &Inner, ctx: &RequestContext, input: RefInput) -> Result<(), AwsError> {
    let f = target(ctx, &input.function_name, input.qualifier)?;
    i.store
        .write(move |t| {
            let mut rec = must_load(t, &f)?;
            rec.event_invoke_configs.remove(&key(&f)).ok_or_else(|| missing(&f))?;
            save(t, &f, &rec)
        })
        .await
}

pub(crate) async fn list(i: &Inner, ctx: &RequestContext, input: RefInput) -> Result<Value, AwsError> {
    let f = target(ctx, &input.function_name, None)?;
    i.read(move |r| {
        let rec = must_load(r, &f)?;
        let base = function_arn(&f.account, &f.region, &f.name);
        let items: Vec<Value> =
            rec.event_invoke_configs.iter().map(|(q, c)| c.render(&format!("{base}:{q}"))).collect();
        Ok(json!({"FunctionEventInvokeConfigs": items}))
    })
    .await
}
