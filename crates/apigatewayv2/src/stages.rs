//! Stages (`$default` and named, AutoDeploy, stage variables) and deployments (a copy of the
//! routes and integrations that a stage serves).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::Txn;

use crate::errors::{bad_request, conflict, deployment_not_found, stage_not_found};
use crate::store::{self, ApiDoc, DeploymentDoc};
use crate::{Inner, apis, s};

const STAGE_FIELDS: &[&str] = &[
    "autoDeploy",
    "description",
    "stageVariables",
    "defaultRouteSettings",
    "routeSettings",
    "accessLogSettings",
    "deploymentId",
    "tags",
];

fn valid_stage_name(name: &str) -> bool {
    name == "$default"
        || (!name.is_empty()
            && name.len() <= 128
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
}

/// A new Stage from an input, with AWS's defaults.
pub fn new_stage(now: u64, input: &Value) -> Result<Value, AwsError> {
    let name = s(input, "stageName");
    if !valid_stage_name(name) {
        return Err(bad_request(format!("Stage name {name} is invalid: use $default or [A-Za-z0-9_-]")));
    }
    let mut stage = json!({
        "stageName": name,
        "autoDeploy": false,
        "createdDate": store::timestamp(now),
        "lastUpdatedDate": store::timestamp(now),
        "defaultRouteSettings": {"detailedMetricsEnabled": false},
        "routeSettings": {},
        "stageVariables": {},
        "tags": {},
    });
    for k in STAGE_FIELDS {
        if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
            stage[*k] = v.clone();
        }
    }
    Ok(stage)
}

fn deployed_message(id: &str) -> Value {
    Value::String(format!("Successfully deployed stage with deployment ID '{id}'"))
}

/// When the API has auto-deploying stages: a deployment of its routes and integrations as
/// they are now, which those stages then serve.
pub fn auto_deploy(
    t: &mut dyn Txn,
    account: &str,
    region: &str,
    doc: &mut ApiDoc,
    deployment_id: &str,
    now: u64,
) -> Result<(), AwsError> {
    let auto: Vec<String> = doc
        .stages
        .iter()
        .filter(|(_, st)| st.get("autoDeploy").and_then(Value::as_bool) == Some(true))
        .map(|(n, _)| n.clone())
        .collect();
    if auto.is_empty() {
        return Ok(());
    }
    let dep = DeploymentDoc::of(
        json!({
            "deploymentId": deployment_id,
            "deploymentStatus": "DEPLOYED",
            "createdDate": store::timestamp(now),
            "autoDeployed": true,
        }),
        doc,
    );
    store::put_json(t, &store::deployment_key(account, region, doc.id(), deployment_id), &dep)?;
    for name in auto {
        if let Some(st) = doc.stages.get_mut(&name) {
            st["deploymentId"] = json!(deployment_id);
            st["lastDeploymentStatusMessage"] = deployed_message(deployment_id);
            st["lastUpdatedDate"] = store::timestamp(now);
        }
    }
    Ok(())
}

pub async fn create_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let stage = new_stage(i.now(), &input)?;
    let id = s(&input, "apiId").to_string();
    let auto = stage.get("autoDeploy").and_then(Value::as_bool) == Some(true);
    if let Some(dep) = stage.get("deploymentId").and_then(Value::as_str)
        && !deployment_exists(i, ctx, &id, dep).await?
    {
        return Err(deployment_not_found(dep));
    }
    apis::modify(i, ctx, &id, auto, move |doc| {
        let name = s(&stage, "stageName").to_string();
        if doc.stages.contains_key(&name) {
            return Err(conflict(format!("Stage {name} already exists")));
        }
        doc.stages.insert(name.clone(), stage);
        Ok(())
    })
    .await?;
    let doc = apis::load(i, ctx, &id).await?;
    doc.stages.get(s(&input, "stageName")).cloned().ok_or_else(|| stage_not_found(s(&input, "stageName")))
}

pub async fn get_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    let name = s(&input, "stageName");
    doc.stages.get(name).cloned().ok_or_else(|| stage_not_found(name))
}

pub async fn list_stages(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    crate::page(doc.stages.into_values().collect(), &input)
}

/// Whether a deployment exists (read before the write that names it).
async fn deployment_exists(i: &Inner, ctx: &RequestContext, api: &str, id: &str) -> Result<bool, AwsError> {
    let key = store::deployment_key(&ctx.account, &ctx.region, api, id);
    i.store.read(move |r| r.get(key.as_bytes()).map(|v| v.is_some()).map_err(AwsError::from)).await
}

pub async fn update_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    if let Some(dep) = input.get("deploymentId").and_then(Value::as_str)
        && !deployment_exists(i, ctx, &id, dep).await?
    {
        return Err(deployment_not_found(dep));
    }
    let now = i.now();
    let turns_on = input.get("autoDeploy").and_then(Value::as_bool) == Some(true);
    let name = s(&input, "stageName").to_string();
    apis::modify(i, ctx, &id, turns_on, move |doc| {
        let name = s(&input, "stageName").to_string();
        let stage = doc.stages.get_mut(&name).ok_or_else(|| stage_not_found(&name))?;
        for k in STAGE_FIELDS {
            if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
                stage[*k] = v.clone();
            }
        }
        stage["lastUpdatedDate"] = store::timestamp(now);
        Ok(())
    })
    .await?;
    get_stage(i, ctx, json!({"apiId": id, "stageName": name})).await
}

pub async fn delete_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &id, false, move |doc| {
        let name = s(&input, "stageName");
        doc.stages.remove(name).ok_or_else(|| stage_not_found(name))?;
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn create_deployment(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, api) = (ctx.account.clone(), ctx.region.clone(), s(&input, "apiId").to_string());
    let (dep_id, now) = (i.id(6), i.now());
    let mut deployment = json!({
        "deploymentId": dep_id,
        "deploymentStatus": "DEPLOYED",
        "createdDate": store::timestamp(now),
        "autoDeployed": false,
    });
    if let Some(d) = input.get("description").filter(|v| !v.is_null()) {
        deployment["description"] = d.clone();
    }
    let out = deployment.clone();
    i.store
        .write(move |t| {
            let key = store::api_key(&account, &region, &api);
            let mut doc: ApiDoc =
                store::get_json(t, &key)?.ok_or_else(|| crate::errors::api_not_found(&account, &api))?;
            if let Some(name) = input.get("stageName").and_then(Value::as_str) {
                let stage = doc.stages.get_mut(name).ok_or_else(|| stage_not_found(name))?;
                if stage.get("autoDeploy").and_then(Value::as_bool) == Some(true) {
                    return Err(bad_request(format!(
                        "Stage {name} has AutoDeploy enabled: it is deployed on every change"
                    )));
                }
                stage["deploymentId"] = json!(dep_id);
                stage["lastDeploymentStatusMessage"] = deployed_message(&dep_id);
                stage["lastUpdatedDate"] = store::timestamp(now);
            }
            let dep = DeploymentDoc::of(deployment, &doc);
            store::put_json(t, &store::deployment_key(&account, &region, &api, &dep_id), &dep)?;
            store::put_json(t, &key, &doc)
        })
        .await?;
    Ok(out)
}

async fn load_deployment(i: &Inner, ctx: &RequestContext, input: &Value) -> Result<DeploymentDoc, AwsError> {
    let api = s(input, "apiId").to_string();
    apis::load(i, ctx, &api).await?;
    let id = s(input, "deploymentId").to_string();
    let key = store::deployment_key(&ctx.account, &ctx.region, &api, &id);
    let found: Option<DeploymentDoc> = i.store.read(move |r| store::get_json(r, &key)).await?;
    found.ok_or_else(|| deployment_not_found(&id))
}

pub async fn get_deployment(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    Ok(load_deployment(i, ctx, &input).await?.deployment)
}

pub async fn list_deployments(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::load(i, ctx, &api).await?;
    let prefix = store::deployments_prefix(&ctx.account, &ctx.region, &api);
    let docs: Vec<DeploymentDoc> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    let mut items: Vec<Value> = docs.into_iter().map(|d| d.deployment).collect();
    items.sort_by(|a, b| s(a, "createdDate").cmp(s(b, "createdDate")));
    crate::page(items, &input)
}

pub async fn update_deployment(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let mut dep = load_deployment(i, ctx, &input).await?;
    if let Some(d) = input.get("description").filter(|v| !v.is_null()) {
        dep.deployment["description"] = d.clone();
    }
    let key = store::deployment_key(&ctx.account, &ctx.region, s(&input, "apiId"), s(&input, "deploymentId"));
    let out = dep.deployment.clone();
    i.store.write(move |t| store::put_json(t, &key, &dep)).await?;
    Ok(out)
}

pub async fn delete_deployment(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    load_deployment(i, ctx, &input).await?;
    let id = s(&input, "deploymentId").to_string();
    if doc.stages.values().any(|st| s(st, "deploymentId") == id) {
        return Err(bad_request(format!("Active stages pointing to this deployment must be moved or deleted: {id}")));
    }
    let key = store::deployment_key(&ctx.account, &ctx.region, s(&input, "apiId"), &id);
    i.store.write(move |t| t.delete(key.as_bytes()).map_err(AwsError::from)).await?;
    Ok(json!({}))
}

/// DeleteRouteSettings: a route's own settings (throttling) removed from a stage.
pub async fn delete_route_settings(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, false, move |doc| {
        let name = s(&input, "stageName");
        let stage = doc.stages.get_mut(name).ok_or_else(|| stage_not_found(name))?;
        let key = s(&input, "routeKey");
        let removed = stage.get_mut("routeSettings").and_then(Value::as_object_mut).and_then(|m| m.remove(key));
        if removed.is_none() {
            return Err(crate::errors::not_found(format!("Unable to find route settings for {key}"), "RouteSettings"));
        }
        Ok(json!({}))
    })
    .await
}

/// DeleteAccessLogSettings: a stage stops writing access logs.
pub async fn delete_access_log_settings(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, false, move |doc| {
        let name = s(&input, "stageName");
        let stage = doc.stages.get_mut(name).ok_or_else(|| stage_not_found(name))?;
        if let Some(o) = stage.as_object_mut() {
            o.remove("accessLogSettings");
        }
        Ok(json!({}))
    })
    .await
}
