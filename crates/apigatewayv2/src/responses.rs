//! WebSocket APIs' RouteResponses (a route with one is two-way: the integration's answer goes
//! back to the client) and IntegrationResponses (the templates that shape that answer). Only
//! `$default` route response keys exist on AWS; integration response keys are `$default` or a
//! `/regex/` over the integration's status.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{bad_request, conflict, integration_not_found, not_found, route_not_found};
use crate::store::ApiDoc;
use crate::{Inner, apis, s};

const ROUTE_RESPONSE_FIELDS: &[&str] =
    &["routeResponseKey", "modelSelectionExpression", "responseModels", "responseParameters"];

const INTEGRATION_RESPONSE_FIELDS: &[&str] = &[
    "integrationResponseKey",
    "contentHandlingStrategy",
    "responseParameters",
    "responseTemplates",
    "templateSelectionExpression",
];

fn websocket_only(doc: &ApiDoc, what: &str) -> Result<(), AwsError> {
    if doc.is_websocket() { Ok(()) } else { Err(bad_request(format!("{what} are supported only for WebSocket APIs."))) }
}

fn copy_fields(target: &mut Value, input: &Value, fields: &[&str]) {
    for k in fields {
        if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
            target[*k] = v.clone();
        }
    }
}

fn check_route_response_key(key: &str) -> Result<(), AwsError> {
    if key == "$default" {
        Ok(())
    } else {
        Err(bad_request(format!("Invalid route response key {key}: only $default is supported")))
    }
}

fn check_integration_response_key(key: &str) -> Result<(), AwsError> {
    let regex = key.len() >= 2 && key.starts_with('/') && key.ends_with('/');
    if key == "$default" || regex {
        Ok(())
    } else {
        Err(bad_request(format!("Invalid integration response key {key}: use $default or /regex/")))
    }
}

fn route_response_not_found(id: &str) -> AwsError {
    not_found(format!("Invalid RouteResponse identifier specified {id}"), "RouteResponse")
}

fn integration_response_not_found(id: &str) -> AwsError {
    not_found(format!("Invalid IntegrationResponse identifier specified {id}"), "IntegrationResponse")
}

/// The responses of one route (or integration) of a loaded API, after checking it exists.
fn of<'a>(
    map: &'a mut BTreeMap<String, BTreeMap<String, Value>>,
    exists: bool,
    owner: &str,
    missing: fn(&str) -> AwsError,
) -> Result<&'a mut BTreeMap<String, Value>, AwsError> {
    if !exists {
        return Err(missing(owner));
    }
    Ok(map.entry(owner.to_string()).or_default())
}

pub async fn create_route_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    let id = i.id(6);
    apis::modify(i, ctx, &api, true, move |doc| {
        websocket_only(doc, "RouteResponses")?;
        let route = s(&input, "routeId").to_string();
        let key = s(&input, "routeResponseKey").to_string();
        check_route_response_key(&key)?;
        let exists = doc.routes.contains_key(&route);
        let all = of(&mut doc.route_responses, exists, &route, route_not_found)?;
        if all.values().any(|r| s(r, "routeResponseKey") == key) {
            return Err(conflict(format!(
                "Unable to create route response. A route response with key {key} already exists."
            )));
        }
        let mut rr = json!({ "routeResponseId": id });
        copy_fields(&mut rr, &input, ROUTE_RESPONSE_FIELDS);
        all.insert(id, rr.clone());
        Ok(rr)
    })
    .await
}

async fn route_responses(i: &Inner, ctx: &RequestContext, input: &Value) -> Result<BTreeMap<String, Value>, AwsError> {
    let mut doc = apis::load(i, ctx, s(input, "apiId")).await?;
    let route = s(input, "routeId");
    let exists = doc.routes.contains_key(route);
    Ok(of(&mut doc.route_responses, exists, route, route_not_found)?.clone())
}

pub async fn get_route_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "routeResponseId");
    route_responses(i, ctx, &input).await?.remove(id).ok_or_else(|| route_response_not_found(id))
}

pub async fn list_route_responses(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let all = route_responses(i, ctx, &input).await?;
    crate::page(all.into_values().collect(), &input)
}

pub async fn update_route_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        let route = s(&input, "routeId").to_string();
        let exists = doc.routes.contains_key(&route);
        let all = of(&mut doc.route_responses, exists, &route, route_not_found)?;
        let id = s(&input, "routeResponseId");
        let rr = all.get_mut(id).ok_or_else(|| route_response_not_found(id))?;
        if let Some(key) = input.get("routeResponseKey").and_then(Value::as_str) {
            check_route_response_key(key)?;
        }
        copy_fields(rr, &input, ROUTE_RESPONSE_FIELDS);
        Ok(rr.clone())
    })
    .await
}

pub async fn delete_route_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        let route = s(&input, "routeId").to_string();
        let exists = doc.routes.contains_key(&route);
        let all = of(&mut doc.route_responses, exists, &route, route_not_found)?;
        let id = s(&input, "routeResponseId");
        all.remove(id).ok_or_else(|| route_response_not_found(id))?;
        Ok(json!({}))
    })
    .await
}

pub async fn create_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    let id = i.id(6);
    apis::modify(i, ctx, &api, true, move |doc| {
        websocket_only(doc, "IntegrationResponses")?;
        let integration = s(&input, "integrationId").to_string();
        let key = s(&input, "integrationResponseKey").to_string();
        check_integration_response_key(&key)?;
        let exists = doc.integrations.contains_key(&integration);
        let all = of(&mut doc.integration_responses, exists, &integration, integration_not_found)?;
        if all.values().any(|r| s(r, "integrationResponseKey") == key) {
            return Err(conflict(format!(
                "Unable to create integration response. An integration response with key {key} already exists."
            )));
        }
        let mut ir = json!({ "integrationResponseId": id });
        copy_fields(&mut ir, &input, INTEGRATION_RESPONSE_FIELDS);
        all.insert(id, ir.clone());
        Ok(ir)
    })
    .await
}

async fn integration_responses(
    i: &Inner,
    ctx: &RequestContext,
    input: &Value,
) -> Result<BTreeMap<String, Value>, AwsError> {
    let mut doc = apis::load(i, ctx, s(input, "apiId")).await?;
    let integration = s(input, "integrationId");
    let exists = doc.integrations.contains_key(integration);
    Ok(of(&mut doc.integration_responses, exists, integration, integration_not_found)?.clone())
}

pub async fn get_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "integrationResponseId");
    integration_responses(i, ctx, &input).await?.remove(id).ok_or_else(|| integration_response_not_found(id))
}

pub async fn list_integration_responses(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let all = integration_responses(i, ctx, &input).await?;
    crate::page(all.into_values().collect(), &input)
}

pub async fn update_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        let integration = s(&input, "integrationId").to_string();
        let exists = doc.integrations.contains_key(&integration);
        let all = of(&mut doc.integration_responses, exists, &integration, integration_not_found)?;
        let id = s(&input, "integrationResponseId");
        let ir = all.get_mut(id).ok_or_else(|| integration_response_not_found(id))?;
        if let Some(key) = input.get("integrationResponseKey").and_then(Value::as_str) {
            check_integration_response_key(key)?;
        }
        copy_fields(ir, &input, INTEGRATION_RESPONSE_FIELDS);
        Ok(ir.clone())
    })
    .await
}

pub async fn delete_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        let integration = s(&input, "integrationId").to_string();
        let exists = doc.integrations.contains_key(&integration);
        let all = of(&mut doc.integration_responses, exists, &integration, integration_not_found)?;
        let id = s(&input, "integrationResponseId");
        all.remove(id).ok_or_else(|| integration_response_not_found(id))?;
        Ok(json!({}))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_keys() {
        assert!(check_route_response_key("$default").is_ok());
        assert!(check_route_response_key("other").is_err());
        assert!(check_integration_response_key("$default").is_ok());
        assert!(check_integration_response_key("/4\\d\\d/").is_ok());
        assert!(check_integration_response_key("/").is_err());
        assert!(check_integration_response_key("200").is_err());
    }
}
