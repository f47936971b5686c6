//! Tags by resource ARN (`arn:aws:apigateway:{region}::/apis/{id}` and
//! `…/apis/{id}/stages/{name}`), kept in the Api and Stage themselves.

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{api_not_found, bad_request, stage_not_found};
use crate::store::{self, ApiDoc};
use crate::{Inner, s};

/// The API, and the stage if the ARN names one.
fn target(arn: &str) -> Result<(String, Option<String>, Option<String>), AwsError> {
    let invalid = || bad_request(format!("Invalid resource ARN: {arn}"));
    let a = stratus_core::Arn::parse(arn).ok_or_else(invalid)?;
    if a.service != "apigateway" {
        return Err(invalid());
    }
    let region = (!a.region.is_empty()).then(|| a.region.to_string());
    let parts: Vec<&str> = a.resource.trim_start_matches('/').split('/').collect();
    match parts[..] {
        ["apis", id] => Ok((id.to_string(), None, region)),
        ["apis", id, "stages", name] => Ok((id.to_string(), Some(name.to_string()), region)),
        _ => Err(invalid()),
    }
}

fn tags_of(v: &mut Value) -> &mut Map<String, Value> {
    if !v.get("tags").is_some_and(Value::is_object) {
        v["tags"] = json!({});
    }
    match v.get_mut("tags") {
        Some(Value::Object(m)) => m,
        _ => unreachable!("tags was just made an object"),
    }
}

async fn change(
    i: &Inner,
    ctx: &RequestContext,
    arn: &str,
    f: impl FnOnce(&mut Map<String, Value>) + Send + 'static,
) -> Result<(), AwsError> {
    let (api, stage, region) = target(arn)?;
    let account = ctx.account.clone();
    let region = region.unwrap_or_else(|| ctx.region.clone());
    i.store
        .write(move |t| {
            let key = store::api_key(&account, &region, &api);
            let mut doc: ApiDoc = store::get_json(t, &key)?.ok_or_else(|| api_not_found(&account, &api))?;
            match &stage {
                None => f(tags_of(&mut doc.api)),
                Some(name) => f(tags_of(doc.stages.get_mut(name).ok_or_else(|| stage_not_found(name))?)),
            }
            store::put_json(t, &key, &doc)
        })
        .await
}

pub async fn tag(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let tags = input.get("tags").and_then(Value::as_object).cloned().unwrap_or_default();
    change(i, ctx, s(&input, "resource-arn"), move |m| m.extend(tags)).await?;
    Ok(json!({}))
}

pub async fn untag(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let keys: Vec<String> = input
        .get("tagKeys")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    change(i, ctx, s(&input, "resource-arn"), move |m| {
        for k in &keys {
            m.remove(k);
        }
    })
    .await?;
    Ok(json!({}))
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (api, stage, region) = target(s(&input, "resource-arn"))?;
    let (account, region) = (ctx.account.clone(), region.unwrap_or_else(|| ctx.region.clone()));
    let mut doc: ApiDoc = i.store.read(move |r| store::load_api(r, &account, &region, &api)).await?;
    let tags = match &stage {
        None => tags_of(&mut doc.api).clone(),
        Some(name) => tags_of(doc.stages.get_mut(name).ok_or_else(|| stage_not_found(name))?).clone(),
    };
    Ok(json!({ "tags": tags }))
}
