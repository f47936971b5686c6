//! RestApis: create (also as a clone of another), read, list, patch and delete.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::bad_request;
use crate::store::{self, ApiDoc, ResourceDoc};
use crate::{Inner, patch, s};

const PATCHABLE: &[&str] = &[
    "name",
    "description",
    "version",
    "policy",
    "binaryMediaTypes",
    "minimumCompressionSize",
    "apiKeySource",
    "disableExecuteApiEndpoint",
    "endpointConfiguration",
];

/// A new API document: its RestApi shape with AWS's defaults and a root resource.
pub fn new_doc(i: &Inner, input: &Value) -> Result<ApiDoc, AwsError> {
    let name = s(input, "name");
    if name.is_empty() {
        return Err(bad_request("Invalid REST API name specified"));
    }
    let id = i.id(10);
    let root = i.id(10);
    let mut api = json!({
        "id": id,
        "name": name,
        "createdDate": store::timestamp(i.now()),
        "apiKeySource": "HEADER",
        "endpointConfiguration": {"types": ["EDGE"], "ipAddressType": "ipv4"},
        "disableExecuteApiEndpoint": false,
        "rootResourceId": root,
    });
    for k in ["description", "version", "binaryMediaTypes", "minimumCompressionSize", "apiKeySource", "tags"] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            api[k] = v.clone();
        }
    }
    if let Some(t) = input.get("disableExecuteApiEndpoint").and_then(Value::as_bool) {
        api["disableExecuteApiEndpoint"] = Value::Bool(t);
    }
    if let Some(ec) = input.get("endpointConfiguration").filter(|v| v.is_object()) {
        let types = ec.get("types").cloned().unwrap_or(json!(["EDGE"]));
        let ip = if types.as_array().is_some_and(|t| t.iter().any(|x| x == "PRIVATE")) { "dualstack" } else { "ipv4" };
        let mut e = json!({"types": types, "ipAddressType": ec.get("ipAddressType").cloned().unwrap_or(json!(ip))});
        if let Some(v) = ec.get("vpcEndpointIds") {
            e["vpcEndpointIds"] = v.clone();
        }
        api["endpointConfiguration"] = e;
    }
    if let Some(p) = input.get("policy").and_then(Value::as_str) {
        serde_json::from_str::<Value>(p)
            .map_err(|_| bad_request("Invalid policy document. Please check the policy syntax and try again."))?;
        api["policy"] = Value::String(escape_policy(p));
    }
    let mut resources = BTreeMap::new();
    resources.insert(root.clone(), ResourceDoc { id: root, path: "/".into(), ..Default::default() });
    let models = crate::models::defaults(i).into_iter().collect();
    Ok(ApiDoc { api, resources, models, ..Default::default() })
}

/// API Gateway answers a policy with its quotes escaped and no whitespace between tokens.
fn escape_policy(p: &str) -> String {
    match serde_json::from_str::<Value>(p) {
        Ok(v) => v.to_string().replace('"', "\\\""),
        Err(_) => p.to_string(),
    }
}

/// Stores a new API (and the index by id).
pub async fn save_new(i: &Inner, ctx: &RequestContext, doc: ApiDoc) -> Result<(), AwsError> {
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.store
        .write(move |t| {
            let id = doc.id().to_string();
            store::put_json(t, &store::api_key(&account, &region, &id), &doc)?;
            t.put(store::api_index_key(&id).as_bytes(), format!("{account}/{region}").as_bytes())
                .map_err(store::store_err)
        })
        .await
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let mut doc = new_doc(i, &input)?;
    if let Some(from) = input.get("cloneFrom").and_then(Value::as_str) {
        let source = load(i, ctx, from).await?;
        let api = doc.api.clone();
        doc = clone_of(i, source, api);
    }
    let out = doc.api.clone();
    save_new(i, ctx, doc).await?;
    Ok(out)
}

/// A copy of `source` under new ids, with `api` as its RestApi shape.
fn clone_of(i: &Inner, source: ApiDoc, mut api: Value) -> ApiDoc {
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for id in source.resources.keys() {
        ids.insert(id.clone(), i.id(10));
    }
    let mut resources = BTreeMap::new();
    for (old, mut r) in source.resources {
        let new = ids.get(&old).cloned().unwrap_or_default();
        r.id = new.clone();
        r.parent_id = r.parent_id.and_then(|p| ids.get(&p).cloned());
        if r.path == "/" {
            api["rootResourceId"] = Value::String(new.clone());
        }
        resources.insert(new, r);
    }
    for k in ["binaryMediaTypes", "minimumCompressionSize", "policy", "description"] {
        if api.get(k).is_none()
            && let Some(v) = source.api.get(k)
        {
            api[k] = v.clone();
        }
    }
    ApiDoc {
        api,
        resources,
        authorizers: source.authorizers,
        models: source.models,
        validators: source.validators,
        gateway_responses: source.gateway_responses,
    }
}

pub async fn load(i: &Inner, ctx: &RequestContext, id: &str) -> Result<ApiDoc, AwsError> {
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), id.to_string());
    i.store.read(move |r| store::load_api(r, &account, &region, &id)).await
}

/// Reads the API, lets `f` change it, and stores it, in one transaction; returns what `f` did.
pub async fn modify<T: Send + 'static>(
    i: &Inner,
    ctx: &RequestContext,
    id: &str,
    f: impl FnOnce(&mut ApiDoc) -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), id.to_string());
    i.store
        .write(move |t| {
            let mut doc = store::load_api(t, &account, &region, &id)?;
            let out = f(&mut doc)?;
            store::put_json(t, &store::api_key(&account, &region, &id), &doc)?;
            Ok(out)
        })
        .await
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    Ok(load(i, ctx, s(&input, "restApiId")).await?.api)
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("{}api/", store::scope(&ctx.account, &ctx.region));
    let docs: Vec<ApiDoc> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    let mut apis: Vec<Value> = docs.into_iter().map(|d| d.api).collect();
    apis.sort_by_key(|a| a.get("createdDate").and_then(Value::as_u64).unwrap_or(0));
    Ok(crate::page(apis, &input))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let model = i.model;
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        patch::apply(model, "RestApi", &mut doc.api, &ops, PATCHABLE, &mut |op, segs, api| {
            // `replace /endpointConfiguration/types/EDGE` with the new type.
            if segs.first().map(String::as_str) == Some("endpointConfiguration")
                && segs.get(1).map(String::as_str) == Some("types")
                && op.op == "replace"
            {
                let new = op.value.clone().unwrap_or_default();
                if !["EDGE", "REGIONAL", "PRIVATE"].contains(&new.as_str()) {
                    return Err(bad_request(format!("Invalid endpoint type: {new}")));
                }
                api["endpointConfiguration"]["types"] = json!([new]);
                return Ok(true);
            }
            if segs.first().map(String::as_str) == Some("policy") && op.op == "replace" {
                let p = op.value.clone().unwrap_or_default();
                serde_json::from_str::<Value>(&p).map_err(|_| {
                    bad_request("Invalid policy document. Please check the policy syntax and try again.")
                })?;
                api["policy"] = Value::String(escape_policy(&p));
                return Ok(true);
            }
            Ok(false)
        })?;
        if doc.api.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(bad_request("Invalid REST API name specified"));
        }
        Ok(doc.api.clone())
    })
    .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "restApiId").to_string();
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.store
        .write(move |t| {
            store::load_api(t, &account, &region, &id)?;
            t.delete(store::api_key(&account, &region, &id).as_bytes()).map_err(store::store_err)?;
            t.delete(store::api_index_key(&id).as_bytes()).map_err(store::store_err)?;
            let scope = store::scope(&account, &region);
            store::delete_prefix(t, &format!("{scope}deployment/{id}/"))?;
            store::delete_prefix(t, &format!("{scope}stage/{id}/"))?;
            Ok::<_, AwsError>(())
        })
        .await?;
    i.runtime.forget_api(s(&input, "restApiId"));
    Ok(Value::Object(Map::new()))
}
