//! Asynchronous invocation settings (FunctionEventInvokeConfig): how many retries, how old an
//! event may get, and where records of successes and failures go.

use serde::Deserialize;
use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::invalid;
use crate::functions::{FunctionName, function_arn, must_load, parse_function_name, resolve_config, save};
use crate::types::EventInvokeConfig;

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

/// Records are sent with the function's execution role, so it must be allowed to send them
/// (AWS checks this when the destination is configured).
async fn check_role(roles: &dyn crate::source::Roles, role: &str, function: &str, dest: &str) -> Result<(), AwsError> {
    let action = match stratus_core::Arn::parse(dest).map(|a| a.service) {
        Some("sqs") => "sqs:SendMessage",
        Some("sns") => "sns:Publish",
        Some("lambda") => "lambda:InvokeFunction",
        _ => "events:PutEvents",
    };
    roles.may(role, function, action, dest).await.map_err(|_| {
        let call = action.split_once(':').map_or(action, |(_, a)| a);
        invalid(format!("The function's execution role does not have permissions to call {call} on {dest}"))
    })
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
    if let Some(roles) = i.roles.get() {
        let g = f.clone();
        let role = i
            .read(move |r| {
                let rec = must_load(r, &g)?;
                resolve_config(r, &g, &rec).map(|(c, _)| c.role)
            })
            .await?;
        for d in on_success.iter().chain(on_failure.iter()) {
            check_role(roles.as_ref(), &role, &f.name, d).await?;
        }
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
