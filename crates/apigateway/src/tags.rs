//! Tags by resource ARN (`arn:aws:apigateway:{region}::/restapis/{id}`, `…/stages/{name}`,
//! `/apikeys/{id}`, `/usageplans/{id}`, `/domainnames/{name}`), kept in the resource itself.

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{bad_request, not_found};
use crate::store::{self, ApiDoc, get_json, put_json};
use crate::{Inner, s};

/// The store key of the tagged resource and whether it is an API document.
fn target(ctx: &RequestContext, arn: &str) -> Result<(String, bool), AwsError> {
    let invalid = || bad_request(format!("Invalid resource ARN: {arn}"));
    let a = stratus_core::Arn::parse(arn).ok_or_else(invalid)?;
    if a.service != "apigateway" {
        return Err(invalid());
    }
    let region = if a.region.is_empty() { ctx.region.as_str() } else { a.region };
    let parts: Vec<&str> = a.resource.trim_start_matches('/').split('/').collect();
    let account = ctx.account.as_str();
    Ok(match parts[..] {
        ["restapis", id] => (store::api_key(account, region, id), true),
        ["restapis", api, "stages", name] => (store::stage_key(account, region, api, name), false),
        ["apikeys", id] => (crate::keys::key_key(account, region, id), false),
        ["usageplans", id] => (crate::keys::plan_key(account, region, id), false),
        ["domainnames", name] => (format!("{}domain/{name}", store::scope(account, region)), false),
        _ => return Err(invalid()),
    })
}

fn missing(arn: &str) -> AwsError {
    not_found(format!("Invalid resource identifier specified: {arn}"))
}

async fn change(
    i: &Inner,
    ctx: &RequestContext,
    arn: &str,
    f: impl FnOnce(&mut Map<String, Value>) + Send + 'static,
) -> Result<(), AwsError> {
    let (key, is_api) = target(ctx, arn)?;
    let arn = arn.to_string();
    i.store
        .write(move |t| {
            if is_api {
                let mut doc: ApiDoc = get_json(t, &key)?.ok_or_else(|| missing(&arn))?;
                apply(&mut doc.api, f);
                put_json(t, &key, &doc)
            } else {
                let mut v: Value = get_json(t, &key)?.ok_or_else(|| missing(&arn))?;
                apply(&mut v, f);
                put_json(t, &key, &v)
            }
        })
        .await
}

fn apply(v: &mut Value, f: impl FnOnce(&mut Map<String, Value>)) {
    if let Some(o) = v.as_object_mut() {
        let tags = o.entry("tags").or_insert_with(|| json!({}));
        if let Value::Object(t) = tags {
            f(t);
        }
    }
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "resourceArn").to_string();
    let (key, is_api) = target(ctx, &arn)?;
    let tags = i
        .store
        .read(move |r| {
            let v = if is_api { get_json::<ApiDoc>(r, &key)?.map(|d| d.api) } else { get_json::<Value>(r, &key)? };
            let v = v.ok_or_else(|| missing(&arn))?;
            Ok::<_, AwsError>(v.get("tags").cloned().unwrap_or(json!({})))
        })
        .await?;
    Ok(json!({"tags": tags}))
}

pub async fn tag(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let tags = input.get("tags").and_then(Value::as_object).cloned().unwrap_or_default();
    change(i, ctx, s(&input, "resourceArn"), move |t| t.extend(tags)).await?;
    Ok(Value::Object(Map::new()))
}

pub async fn untag(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let keys: Vec<String> = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    change(i, ctx, s(&input, "resourceArn"), move |t| {
        for k in &keys {
            t.remove(k);
        }
    })
    .await?;
    Ok(Value::Object(Map::new()))
}
