//! Deployments (snapshots of the API) and the stages that serve them.

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{self, bad_request, conflict};
use crate::patch::{self, PatchOp};
use crate::store::{self, ApiDoc, DeploymentDoc};
use crate::{Inner, s};

/// Refuses to deploy an API without methods, or with a method without an integration.
fn check_deployable(doc: &ApiDoc) -> Result<(), AwsError> {
    let mut any = false;
    for r in doc.resources.values() {
        for m in r.methods.values() {
            any = true;
            if m.get("methodIntegration").is_none() {
                return Err(bad_request("No integration defined for method"));
            }
        }
    }
    if any { Ok(()) } else { Err(bad_request("The REST API doesn't contain any methods")) }
}

/// The `apiSummary` of a deployment: per path and method, its authorization.
fn summary(doc: &ApiDoc) -> Value {
    let mut out = Map::new();
    for r in doc.resources.values() {
        if r.methods.is_empty() {
            continue;
        }
        let methods: Map<String, Value> = r
            .methods
            .iter()
            .map(|(k, m)| {
                (
                    k.clone(),
                    json!({
                        "authorizationType": m.get("authorizationType").cloned().unwrap_or(json!("NONE")),
                        "apiKeyRequired": m.get("apiKeyRequired").cloned().unwrap_or(json!(false)),
                    }),
                )
            })
            .collect();
        out.insert(r.path.clone(), Value::Object(methods));
    }
    Value::Object(out)
}

fn new_stage(i: &Inner, name: &str, deployment: &str, input: &Value, description_key: &str) -> Value {
    let now = store::timestamp(i.now());
    let mut st = json!({
        "stageName": name,
        "deploymentId": deployment,
        "cacheClusterEnabled": false,
        "cacheClusterStatus": "NOT_AVAILABLE",
        "methodSettings": {},
        "tracingEnabled": false,
        "createdDate": now,
        "lastUpdatedDate": now,
    });
    if let Some(d) = input.get(description_key).and_then(Value::as_str) {
        st["description"] = Value::String(d.to_string());
    }
    for k in ["variables", "tags", "documentationVersion", "canarySettings"] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            st[k] = v.clone();
        }
    }
    if let Some(b) = input.get("cacheClusterEnabled").and_then(Value::as_bool) {
        st["cacheClusterEnabled"] = Value::Bool(b);
        if b {
            st["cacheClusterStatus"] = json!("AVAILABLE");
            st["cacheClusterSize"] = input.get("cacheClusterSize").cloned().unwrap_or(json!("0.5"));
        }
    }
    if let Some(b) = input.get("tracingEnabled").and_then(Value::as_bool) {
        st["tracingEnabled"] = Value::Bool(b);
    }
    st
}

fn check_stage_name(name: &str) -> Result<(), AwsError> {
    if name.is_empty() || name.len() > 128 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(bad_request("Stage name only allows a-zA-Z0-9_"));
    }
    Ok(())
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "restApiId").to_string();
    let input_api = json!({"restApiId": api});
    let id = i.id(6);
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    let stage_name = input.get("stageName").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string);
    if let Some(n) = &stage_name {
        check_stage_name(n)?;
    }
    let now = store::timestamp(i.now());
    let stage = stage_name.as_ref().map(|n| new_stage(i, n, &id, &input, "stageDescription"));
    let out = i
        .store
        .write(move |t| {
            let doc = store::load_api(t, &account, &region, &api)?;
            check_deployable(&doc)?;
            let mut d = json!({"id": id, "createdDate": now, "apiSummary": summary(&doc)});
            if let Some(desc) = input.get("description").and_then(Value::as_str) {
                d["description"] = Value::String(desc.to_string());
            }
            store::put_json(
                t,
                &store::deployment_key(&account, &region, &api, &id),
                &DeploymentDoc { deployment: d.clone(), snapshot: doc },
            )?;
            if let (Some(name), Some(mut st)) = (stage_name, stage) {
                let key = store::stage_key(&account, &region, &api, &name);
                // An existing stage moves to the new deployment and keeps its settings.
                if let Some(mut old) = store::get_json::<Value>(t, &key)? {
                    old["deploymentId"] = Value::String(id.clone());
                    old["lastUpdatedDate"] = st["lastUpdatedDate"].clone();
                    if let Some(vars) = input.get("variables").and_then(Value::as_object) {
                        let o = old.as_object_mut().map(|o| o.entry("variables").or_insert_with(|| json!({})));
                        if let Some(Value::Object(ov)) = o {
                            for (k, v) in vars {
                                ov.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    st = old;
                }
                store::put_json(t, &key, &st)?;
            }
            d.as_object_mut().map(|o| o.remove("apiSummary"));
            Ok::<_, AwsError>(d)
        })
        .await?;
    i.runtime.forget_api(s(&input_api, "restApiId"));
    Ok(out)
}

async fn load_deployment(i: &Inner, ctx: &RequestContext, api: &str, id: &str) -> Result<DeploymentDoc, AwsError> {
    let (account, region, api, id) = (ctx.account.clone(), ctx.region.clone(), api.to_string(), id.to_string());
    i.store
        .read(move |r| {
            store::load_api(r, &account, &region, &api)?;
            store::get_json::<DeploymentDoc>(r, &store::deployment_key(&account, &region, &api, &id))?
                .ok_or_else(errors::deployment_not_found)
        })
        .await
}

fn with_summary(d: DeploymentDoc, input: &Value) -> Value {
    let mut v = d.deployment;
    let embed = input.get("embed").and_then(Value::as_array).is_some_and(|e| e.iter().any(|x| x == "apisummary"));
    if !embed {
        v.as_object_mut().map(|o| o.remove("apiSummary"));
    }
    v
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let d = load_deployment(i, ctx, s(&input, "restApiId"), s(&input, "deploymentId")).await?;
    Ok(with_summary(d, &input))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, api) = (ctx.account.clone(), ctx.region.clone(), s(&input, "restApiId").to_string());
    let docs: Vec<DeploymentDoc> = i
        .store
        .read(move |r| {
            store::load_api(r, &account, &region, &api)?;
            store::list_json(r, &format!("{}deployment/{api}/", store::scope(&account, &region)))
        })
        .await?;
    let mut items: Vec<Value> = docs.into_iter().map(|d| with_summary(d, &Value::Null)).collect();
    items.sort_by_key(|d| d.get("createdDate").and_then(Value::as_u64).unwrap_or(0));
    Ok(crate::page(items, &input))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let (account, region, api, id) = (
        ctx.account.clone(),
        ctx.region.clone(),
        s(&input, "restApiId").to_string(),
        s(&input, "deploymentId").to_string(),
    );
    let model = i.model;
    i.store
        .write(move |t| {
            store::load_api(t, &account, &region, &api)?;
            let key = store::deployment_key(&account, &region, &api, &id);
            let mut d: DeploymentDoc = store::get_json(t, &key)?.ok_or_else(errors::deployment_not_found)?;
            patch::apply(model, "Deployment", &mut d.deployment, &ops, &["description"], &mut |_, _, _| Ok(false))?;
            store::put_json(t, &key, &d)?;
            Ok(with_summary(d, &Value::Null))
        })
        .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, api, id) = (
        ctx.account.clone(),
        ctx.region.clone(),
        s(&input, "restApiId").to_string(),
        s(&input, "deploymentId").to_string(),
    );
    i.store
        .write(move |t| {
            store::load_api(t, &account, &region, &api)?;
            let key = store::deployment_key(&account, &region, &api, &id);
            if t.get(key.as_bytes()).map_err(store::store_err)?.is_none() {
                return Err(errors::deployment_not_found());
            }
            let stages: Vec<Value> = store::list_json(t, &format!("{}stage/{api}/", store::scope(&account, &region)))?;
            if stages.iter().any(|st| st.get("deploymentId").and_then(Value::as_str) == Some(id.as_str())) {
                return Err(bad_request("Active stages pointing to this deployment must be moved or deleted"));
            }
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            Ok(Value::Object(Map::new()))
        })
        .await
}

pub async fn create_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let name = s(&input, "stageName").to_string();
    check_stage_name(&name)?;
    let (account, region, api) = (ctx.account.clone(), ctx.region.clone(), s(&input, "restApiId").to_string());
    let deployment = s(&input, "deploymentId").to_string();
    let st = new_stage(i, &name, &deployment, &input, "description");
    let out = i
        .store
        .write(move |t| {
            store::load_api(t, &account, &region, &api)?;
            if t.get(store::deployment_key(&account, &region, &api, &deployment).as_bytes())
                .map_err(store::store_err)?
                .is_none()
            {
                return Err(errors::deployment_not_found());
            }
            let key = store::stage_key(&account, &region, &api, &name);
            if t.get(key.as_bytes()).map_err(store::store_err)?.is_some() {
                return Err(conflict("Stage already exists"));
            }
            store::put_json(t, &key, &st)?;
            Ok(st)
        })
        .await?;
    i.runtime.forget_api(s(&input, "restApiId"));
    Ok(out)
}

pub async fn load_stage(i: &Inner, ctx: &RequestContext, api: &str, name: &str) -> Result<Value, AwsError> {
    let (account, region, api, name) = (ctx.account.clone(), ctx.region.clone(), api.to_string(), name.to_string());
    i.store
        .read(move |r| {
            store::load_api(r, &account, &region, &api)?;
            store::get_json(r, &store::stage_key(&account, &region, &api, &name))?.ok_or_else(errors::stage_not_found)
        })
        .await
}

pub async fn get_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    load_stage(i, ctx, s(&input, "restApiId"), s(&input, "stageName")).await
}

pub async fn list_stages(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, api) = (ctx.account.clone(), ctx.region.clone(), s(&input, "restApiId").to_string());
    let want = input.get("deploymentId").and_then(Value::as_str).map(str::to_string);
    let stages: Vec<Value> = i
        .store
        .read(move |r| {
            store::load_api(r, &account, &region, &api)?;
            store::list_json(r, &format!("{}stage/{api}/", store::scope(&account, &region)))
        })
        .await?;
    let item: Vec<Value> = stages
        .into_iter()
        .filter(|st| want.as_deref().is_none_or(|d| st.get("deploymentId").and_then(Value::as_str) == Some(d)))
        .collect();
    Ok(json!({"item": item}))
}

/// `/{resource path}/{METHOD}/{area}/{setting}` of a stage's method settings, by AWS's names.
fn method_setting(op: &PatchOp, stage: &mut Value) -> Result<bool, AwsError> {
    let raw = op.path.as_deref().unwrap_or("");
    let parts: Vec<&str> = raw.trim_start_matches('/').split('/').collect();
    let [resource, method, area, setting] = parts[..] else { return Ok(false) };
    let field = match (area, setting) {
        ("logging", "loglevel") => "loggingLevel",
        ("logging", "dataTrace") => "dataTraceEnabled",
        ("metrics", "enabled") => "metricsEnabled",
        ("throttling", "burstLimit") => "throttlingBurstLimit",
        ("throttling", "rateLimit") => "throttlingRateLimit",
        ("caching", "enabled") => "cachingEnabled",
        ("caching", "ttlInSeconds") => "cacheTtlInSeconds",
        ("caching", "dataEncrypted") => "cacheDataEncrypted",
        ("caching", "requireAuthorizationForCacheControl") => "requireAuthorizationForCacheControl",
        ("caching", "unauthorizedCacheControlHeaderStrategy") => "unauthorizedCacheControlHeaderStrategy",
        _ => return Err(patch::invalid_path(op)),
    };
    // `~1pets` is the resource path `/pets`; its setting is kept as `pets/GET`.
    let resource = resource.replace("~1", "/").replace("~0", "~");
    let resource = if resource == "*" { "*" } else { resource.trim_start_matches('/') };
    let key = format!("{resource}/{method}");
    let raw_value = op.value.clone().unwrap_or_default();
    let bad = || bad_request(format!("Invalid value '{raw_value}' for {area}/{setting}"));
    let value = match field {
        "loggingLevel" => {
            if !["OFF", "ERROR", "INFO"].contains(&raw_value.as_str()) {
                return Err(bad_request("Invalid logging level value. Valid options are ERROR, INFO, OFF"));
            }
            json!(raw_value)
        }
        "unauthorizedCacheControlHeaderStrategy" => json!(raw_value),
        "throttlingRateLimit" => json!(raw_value.parse::<f64>().map_err(|_| bad())?),
        "throttlingBurstLimit" | "cacheTtlInSeconds" => json!(raw_value.parse::<i64>().map_err(|_| bad())?),
        _ => json!(raw_value.parse::<bool>().map_err(|_| bad())?),
    };
    let settings = stage.as_object_mut().map(|o| o.entry("methodSettings").or_insert_with(|| json!({})));
    let Some(Value::Object(settings)) = settings else { return Ok(true) };
    if op.op == "remove" {
        if settings.remove(&key).is_none() {
            return Err(bad_request(format!(
                "Cannot remove method setting {key} because there is no method setting for this method "
            )));
        }
        return Ok(true);
    }
    let entry = settings.entry(key).or_insert_with(|| {
        json!({
            "metricsEnabled": false,
            "dataTraceEnabled": false,
            "throttlingBurstLimit": 5000,
            "throttlingRateLimit": 10000.0,
            "cachingEnabled": false,
            "cacheTtlInSeconds": 300,
            "cacheDataEncrypted": false,
            "requireAuthorizationForCacheControl": true,
            "unauthorizedCacheControlHeaderStrategy": "SUCCEED_WITH_RESPONSE_HEADER",
        })
    });
    entry[field] = value;
    Ok(true)
}

const STAGE_PATCHABLE: &[&str] = &[
    "description",
    "deploymentId",
    "variables",
    "cacheClusterEnabled",
    "cacheClusterSize",
    "tracingEnabled",
    "accessLogSettings",
    "clientCertificateId",
    "documentationVersion",
    "canarySettings",
    "webAclArn",
];

pub async fn update_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let (account, region, api, name) = (
        ctx.account.clone(),
        ctx.region.clone(),
        s(&input, "restApiId").to_string(),
        s(&input, "stageName").to_string(),
    );
    let model = i.model;
    let now = store::timestamp(i.now());
    let out = i
        .store
        .write(move |t| {
            store::load_api(t, &account, &region, &api)?;
            let key = store::stage_key(&account, &region, &api, &name);
            let mut st: Value = store::get_json(t, &key)?.ok_or_else(errors::stage_not_found)?;
            patch::apply(model, "Stage", &mut st, &ops, STAGE_PATCHABLE, &mut |op, _, st| method_setting(op, st))?;
            if let Some(d) = st.get("deploymentId").and_then(Value::as_str)
                && t.get(store::deployment_key(&account, &region, &api, d).as_bytes())
                    .map_err(store::store_err)?
                    .is_none()
            {
                return Err(errors::deployment_not_found());
            }
            if st.get("cacheClusterEnabled").and_then(Value::as_bool) == Some(true) {
                st["cacheClusterStatus"] = json!("AVAILABLE");
                if st.get("cacheClusterSize").is_none() {
                    st["cacheClusterSize"] = json!("0.5");
                }
            } else {
                st["cacheClusterStatus"] = json!("NOT_AVAILABLE");
            }
            st["lastUpdatedDate"] = now;
            store::put_json(t, &key, &st)?;
            Ok::<_, AwsError>(st)
        })
        .await?;
    i.runtime.forget_api(s(&input, "restApiId"));
    Ok(out)
}

pub async fn delete_stage(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, api, name) = (
        ctx.account.clone(),
        ctx.region.clone(),
        s(&input, "restApiId").to_string(),
        s(&input, "stageName").to_string(),
    );
    i.store
        .write(move |t| {
            store::load_api(t, &account, &region, &api)?;
            let key = store::stage_key(&account, &region, &api, &name);
            if t.get(key.as_bytes()).map_err(store::store_err)?.is_none() {
                return Err(errors::stage_not_found());
            }
            t.delete(key.as_bytes()).map_err(store::store_err)?;
            Ok::<_, AwsError>(())
        })
        .await?;
    i.runtime.forget_api(s(&input, "restApiId"));
    Ok(Value::Object(Map::new()))
}

pub async fn flush(i: &Inner, ctx: &RequestContext, input: Value, authorizers: bool) -> Result<Value, AwsError> {
    load_stage(i, ctx, s(&input, "restApiId"), s(&input, "stageName")).await?;
    if authorizers {
        i.runtime.flush_authorizers(s(&input, "restApiId"));
    }
    Ok(Value::Object(Map::new()))
}
