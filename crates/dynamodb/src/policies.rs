//! Resource-based policies of tables and streams (PutResourcePolicy, GetResourcePolicy,
//! DeleteResourcePolicy), with revision ids for optimistic concurrency, and what IAM's
//! authorizer reads of a table: its policy and tags.

use serde_json::{Value as Json, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::Inner;
use crate::errors::validation;
use crate::tables::{load, save};

/// The table an ARN names (a table, one of its indexes or its stream), and whether it names the
/// stream.
fn table_of(ctx: &RequestContext, arn: &str) -> Result<(RequestContext, String, bool), AwsError> {
    let a = stratus_core::Arn::parse(arn)
        .filter(|a| a.service == "dynamodb")
        .ok_or_else(|| validation(format!("Invalid ResourceArn provided as input {arn}")))?;
    let rest = a
        .resource
        .strip_prefix("table/")
        .ok_or_else(|| validation(format!("Invalid ResourceArn provided as input {arn}")))?;
    let name = rest.split('/').next().unwrap_or(rest).to_string();
    let mut c = ctx.clone();
    c.account = a.account.to_string();
    c.region = a.region.to_string();
    Ok((c, name, rest.contains("/stream/")))
}

fn not_found(arn: &str) -> AwsError {
    AwsError::new("ResourceNotFoundException", format!("Requested resource not found: {arn}"))
}

fn no_policy(arn: &str) -> AwsError {
    AwsError::new(
        "PolicyNotFoundException",
        format!("Resource-based policy not found for the provided ResourceArn: {arn}"),
    )
}

fn mismatch(expected: &str) -> AwsError {
    AwsError::new(
        "PolicyNotFoundException",
        format!("A policy with the expected revision ID {expected} doesn't exist for the specified resource"),
    )
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let arn = input.get("ResourceArn").and_then(Json::as_str).unwrap_or_default().to_string();
    let policy = input.get("Policy").and_then(Json::as_str).unwrap_or_default().to_string();
    if serde_json::from_str::<Json>(&policy).ok().filter(Json::is_object).is_none() {
        return Err(validation("Invalid policy document: the policy is not valid JSON"));
    }
    if policy.len() > 20 * 1024 {
        return Err(AwsError::new("LimitExceededException", "Policy size exceeds the maximum allowed size of 20 KB"));
    }
    let expected = input.get("ExpectedRevisionId").and_then(Json::as_str).map(str::to_string);
    let (ctx, name, stream) = table_of(ctx, &arn)?;
    let revision = i.now().to_string();
    let rev = revision.clone();
    i.store
        .write(move |t| {
            let mut table = load(t, &ctx, &name)?.ok_or_else(|| not_found(&arn))?;
            let slot = if stream { &mut table.stream_policy } else { &mut table.policy };
            if let Some(e) = &expected
                && slot.as_ref().map(|(_, r)| r) != Some(e)
            {
                return Err(mismatch(e));
            }
            *slot = Some((policy, rev));
            save(t, &table)
        })
        .await?;
    Ok(json!({"RevisionId": revision}))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let arn = input.get("ResourceArn").and_then(Json::as_str).unwrap_or_default().to_string();
    let (ctx, name, stream) = table_of(ctx, &arn)?;
    let a = arn.clone();
    let table = i.read(move |r| load(r, &ctx, &name)?.ok_or_else(|| not_found(&a))).await?;
    let slot = if stream { table.stream_policy } else { table.policy };
    let (policy, revision) = slot.ok_or_else(|| no_policy(&arn))?;
    Ok(json!({"Policy": policy, "RevisionId": revision}))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Json) -> Result<Json, AwsError> {
    let arn = input.get("ResourceArn").and_then(Json::as_str).unwrap_or_default().to_string();
    let expected = input.get("ExpectedRevisionId").and_then(Json::as_str).map(str::to_string);
    let (ctx, name, stream) = table_of(ctx, &arn)?;
    i.store
        .write(move |t| {
            let mut table = load(t, &ctx, &name)?.ok_or_else(|| not_found(&arn))?;
            let slot = if stream { &mut table.stream_policy } else { &mut table.policy };
            let (_, revision) = slot.take().ok_or_else(|| no_policy(&arn))?;
            if let Some(e) = &expected
                && *e != revision
            {
                return Err(mismatch(e));
            }
            save(t, &table)?;
            Ok::<_, AwsError>(json!({"RevisionId": revision}))
        })
        .await
}

/// The policy and tags of the table (or stream) an ARN names, for IAM's authorizer; None when
/// it does not exist.
pub async fn access(i: &Inner, arn: &str) -> Result<Option<stratus_core::ResourceAccess>, AwsError> {
    let ctx = RequestContext::internal("000000000000", "us-east-1", String::new());
    let Ok((ctx, name, stream)) = table_of(&ctx, arn) else { return Ok(None) };
    let table = i.read(move |r| load(r, &ctx, &name)).await?;
    Ok(table.map(|t| {
        let policy = if stream { t.stream_policy } else { t.policy }.map(|(p, _)| p);
        stratus_core::ResourceAccess { policy, tags: t.tags }
    }))
}
