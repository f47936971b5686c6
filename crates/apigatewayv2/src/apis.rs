//! Apis, HTTP and WebSocket: create (with quick create for HTTP APIs: `Target` and `RouteKey`
//! make an integration, a route and an auto-deploying `$default` stage), read, list, update,
//! delete, and the CORS configuration (HTTP APIs).

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::bad_request;
use crate::store::{self, ApiDoc};
use crate::{Inner, endpoint, parts, s, stages};

/// The Api shape as answered: the stored one and its endpoint.
pub fn answer(ctx: &RequestContext, doc: &ApiDoc) -> Value {
    let mut api = doc.api.clone();
    api["apiEndpoint"] = Value::String(endpoint(ctx, doc.id(), doc.is_websocket()));
    api
}

/// HTTP APIs route by `$request.method $request.path`; WebSocket APIs need an expression over
/// the message (`$request.body.action`, `${request.body.a.b}`).
fn check_route_selection(ws: bool, rse: Option<&str>) -> Result<(), AwsError> {
    match (ws, rse) {
        (false, None) => Ok(()),
        (false, Some("$request.method $request.path")) => Ok(()),
        (false, Some(other)) => {
            Err(bad_request(format!("Unsupported route selection expression for HTTP API: {other}")))
        }
        (true, None) => Err(bad_request("Route selection expression is required for WebSocket APIs.")),
        (true, Some(e)) if e.trim().is_empty() || e.len() > 512 => {
            Err(bad_request(format!("Invalid route selection expression {e}")))
        }
        (true, Some(_)) => Ok(()),
    }
}

fn check_cors(cors: &Value) -> Result<(), AwsError> {
    if !cors.is_object() {
        return Err(bad_request("Invalid CorsConfiguration"));
    }
    Ok(())
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ws = match s(&input, "protocolType") {
        "HTTP" => false,
        "WEBSOCKET" => true,
        other => return Err(bad_request(format!("Invalid protocol type {other}"))),
    };
    let id = i.id(10);
    let now = i.now();
    let mut api = json!({
        "apiId": id,
        "name": s(&input, "name"),
        "protocolType": if ws { "WEBSOCKET" } else { "HTTP" },
        "apiKeySelectionExpression": "$request.header.x-api-key",
        "routeSelectionExpression": "$request.method $request.path",
        "createdDate": store::timestamp(now),
        "disableExecuteApiEndpoint": false,
        "ipAddressType": "ipv4",
        "tags": {},
    });
    for k in
        ["description", "version", "tags", "ipAddressType", "disableExecuteApiEndpoint", "apiKeySelectionExpression"]
    {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            api[k] = v.clone();
        }
    }
    let rse = input.get("routeSelectionExpression").and_then(Value::as_str);
    check_route_selection(ws, rse)?;
    if let Some(rse) = rse {
        api["routeSelectionExpression"] = json!(rse);
    }
    if ws && (input.get("target").is_some() || input.get("routeKey").is_some()) {
        return Err(bad_request("Target and RouteKey (quick create) are supported only for HTTP APIs."));
    }
    if ws && input.get("corsConfiguration").is_some() {
        return Err(bad_request("CorsConfiguration is supported only for HTTP APIs."));
    }
    if let Some(cors) = input.get("corsConfiguration").filter(|v| !v.is_null()) {
        check_cors(cors)?;
        api["corsConfiguration"] = cors.clone();
    }
    let mut doc = ApiDoc { api, ..Default::default() };
    let target = s(&input, "target");
    let quick = !target.is_empty();
    if !quick && input.get("routeKey").is_some() {
        return Err(bad_request("RouteKey can only be specified with Target (quick create)"));
    }
    let deployment = if quick {
        let mut spec = if target.starts_with("arn:") {
            json!({"integrationType": "AWS_PROXY", "integrationUri": target, "payloadFormatVersion": "2.0"})
        } else {
            json!({"integrationType": "HTTP_PROXY", "integrationUri": target, "integrationMethod": "ANY",
                   "payloadFormatVersion": "1.0"})
        };
        if let Some(c) = input.get("credentialsArn").filter(|v| !v.is_null()) {
            spec["credentialsArn"] = c.clone();
        }
        let mut integration = parts::new_integration(i, false, &spec)?;
        integration["apiGatewayManaged"] = json!(true);
        let integration_id = s(&integration, "integrationId").to_string();
        doc.integrations.insert(integration_id.clone(), integration);
        let route_key = input.get("routeKey").and_then(Value::as_str).unwrap_or("$default");
        let mut route = parts::new_route(
            i,
            &doc,
            &json!({"routeKey": route_key, "target": format!("integrations/{integration_id}")}),
        )?;
        route["apiGatewayManaged"] = json!(true);
        doc.routes.insert(s(&route, "routeId").to_string(), route);
        let mut stage = stages::new_stage(now, &json!({"stageName": "$default", "autoDeploy": true}))?;
        stage["apiGatewayManaged"] = json!(true);
        doc.stages.insert("$default".into(), stage);
        Some((i.id(6), now))
    } else {
        None
    };
    let out = answer(ctx, &doc);
    let (account, region) = (ctx.account.clone(), ctx.region.clone());
    i.store
        .write(move |t| {
            if let Some((dep_id, now)) = deployment {
                stages::auto_deploy(t, &account, &region, &mut doc, &dep_id, now)?;
            }
            store::put_json(t, &store::api_key(&account, &region, &id), &doc)?;
            t.put(store::api_index_key(&id).as_bytes(), format!("{account}/{region}").as_bytes())
                .map_err(AwsError::from)
        })
        .await?;
    Ok(out)
}

pub async fn load(i: &Inner, ctx: &RequestContext, id: &str) -> Result<ApiDoc, AwsError> {
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), id.to_string());
    i.store.read(move |r| store::load_api(r, &account, &region, &id)).await
}

/// Changes an API in one transaction; `redeploy` makes a deployment for its auto-deploying
/// stages afterwards. Answers what `f` answers.
pub async fn modify<T: Send + 'static>(
    i: &Inner,
    ctx: &RequestContext,
    id: &str,
    redeploy: bool,
    f: impl FnOnce(&mut ApiDoc) -> Result<T, AwsError> + Send + 'static,
) -> Result<T, AwsError> {
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), id.to_string());
    let (dep_id, now) = (i.id(6), i.now());
    i.store
        .write(move |t| {
            let key = store::api_key(&account, &region, &id);
            let mut doc: ApiDoc =
                store::get_json(t, &key)?.ok_or_else(|| crate::errors::api_not_found(&account, &id))?;
            let out = f(&mut doc)?;
            if redeploy {
                stages::auto_deploy(t, &account, &region, &mut doc, &dep_id, now)?;
            }
            store::put_json(t, &key, &doc)?;
            Ok(out)
        })
        .await
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "apiId")).await?;
    Ok(answer(ctx, &doc))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let prefix = format!("{}api/", store::scope(&ctx.account, &ctx.region));
    let docs: Vec<ApiDoc> = i.store.read(move |r| store::list_json(r, &prefix)).await?;
    let mut items: Vec<Value> = docs.iter().map(|d| answer(ctx, d)).collect();
    items.sort_by(|a, b| s(a, "createdDate").cmp(s(b, "createdDate")).then(s(a, "apiId").cmp(s(b, "apiId"))));
    crate::page(items, &input)
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    if let Some(cors) = input.get("corsConfiguration").filter(|v| !v.is_null()) {
        check_cors(cors)?;
    }
    if input.get("target").is_some() || input.get("routeKey").is_some() {
        return Err(bad_request("Target and RouteKey are only taken by CreateApi (quick create) on this server"));
    }
    let id = s(&input, "apiId").to_string();
    let doc = modify(i, ctx, &id, false, move |doc| {
        let ws = doc.is_websocket();
        if let Some(rse) = input.get("routeSelectionExpression").and_then(Value::as_str) {
            check_route_selection(ws, Some(rse))?;
            doc.api["routeSelectionExpression"] = json!(rse);
        }
        if ws && input.get("corsConfiguration").is_some_and(|c| !c.is_null()) {
            return Err(bad_request("CorsConfiguration is supported only for HTTP APIs."));
        }
        for k in [
            "name",
            "description",
            "version",
            "disableExecuteApiEndpoint",
            "ipAddressType",
            "corsConfiguration",
            "apiKeySelectionExpression",
        ] {
            if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
                doc.api[k] = v.clone();
            }
        }
        Ok(doc.clone())
    })
    .await?;
    Ok(answer(ctx, &doc))
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (account, region, id) = (ctx.account.clone(), ctx.region.clone(), s(&input, "apiId").to_string());
    i.store
        .write(move |t| {
            let key = store::api_key(&account, &region, &id);
            if t.get(key.as_bytes()).map_err(AwsError::from)?.is_none() {
                return Err(crate::errors::api_not_found(&account, &id));
            }
            t.delete(key.as_bytes()).map_err(AwsError::from)?;
            t.delete(store::api_index_key(&id).as_bytes()).map_err(AwsError::from)?;
            store::delete_prefix(t, &store::deployments_prefix(&account, &region, &id))
        })
        .await?;
    Ok(json!({}))
}

pub async fn delete_cors(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    modify(i, ctx, &id, false, |doc| {
        if let Some(o) = doc.api.as_object_mut() {
            o.remove("corsConfiguration");
        }
        Ok(())
    })
    .await?;
    Ok(json!({}))
}
