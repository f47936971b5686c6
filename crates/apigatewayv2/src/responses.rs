//! WebSocket APIs' RouteResponses (a route with one is two-way: the integration's answer goes
//! back to the client) and IntegrationResponses (the templates that shape that answer). Only
//! `$default` route response keys exist on AWS; integration response keys are `$default` or a
//! `/regex/` over the integration's status. Both kinds are kept by their owner's id and share
//! one implementation ([`Kind`]).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{bad_request, conflict, integration_not_found, not_found, route_not_found};
use crate::store::ApiDoc;
use crate::{Inner, apis, s};

/// What differs between route responses and integration responses.
pub struct Kind {
    /// `RouteResponses`, as error messages name them.
    plural: &'static str,
    /// `route response`, as conflict messages name one.
    singular: &'static str,
    /// The owner's id member (`routeId`) and the response's id and key members.
    owner_field: &'static str,
    id_field: &'static str,
    key_field: &'static str,
    fields: &'static [&'static str],
    check_key: fn(&str) -> Result<(), AwsError>,
    owner_missing: fn(&str) -> AwsError,
    missing: fn(&str) -> AwsError,
    owner_exists: fn(&ApiDoc, &str) -> bool,
    all: fn(&mut ApiDoc) -> &mut BTreeMap<String, BTreeMap<String, Value>>,
}

pub const ROUTE: Kind = Kind {
    plural: "RouteResponses",
    singular: "route response",
    owner_field: "routeId",
    id_field: "routeResponseId",
    key_field: "routeResponseKey",
    fields: &["routeResponseKey", "modelSelectionExpression", "responseModels", "responseParameters"],
    check_key: check_route_response_key,
    owner_missing: route_not_found,
    missing: |id| not_found(format!("Invalid RouteResponse identifier specified {id}"), "RouteResponse"),
    owner_exists: |doc, id| doc.routes.contains_key(id),
    all: |doc| &mut doc.route_responses,
};

pub const INTEGRATION: Kind = Kind {
    plural: "IntegrationResponses",
    singular: "integration response",
    owner_field: "integrationId",
    id_field: "integrationResponseId",
    key_field: "integrationResponseKey",
    fields: &[
        "integrationResponseKey",
        "contentHandlingStrategy",
        "responseParameters",
        "responseTemplates",
        "templateSelectionExpression",
    ],
    check_key: check_integration_response_key,
    owner_missing: integration_not_found,
    missing: |id| not_found(format!("Invalid IntegrationResponse identifier specified {id}"), "IntegrationResponse"),
    owner_exists: |doc, id| doc.integrations.contains_key(id),
    all: |doc| &mut doc.integration_responses,
};

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

/// The responses of the owner an input names, after checking it exists.
fn responses_of<'a>(
    kind: &Kind,
    doc: &'a mut ApiDoc,
    input: &Value,
) -> Result<&'a mut BTreeMap<String, Value>, AwsError> {
    let owner = s(input, kind.owner_field);
    if !(kind.owner_exists)(doc, owner) {
        return Err((kind.owner_missing)(owner));
    }
    Ok((kind.all)(doc).entry(owner.to_string()).or_default())
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value, kind: &'static Kind) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    let id = i.id(6);
    apis::modify(i, ctx, &api, true, move |doc| {
        if !doc.is_websocket() {
            return Err(bad_request(format!("{} are supported only for WebSocket APIs.", kind.plural)));
        }
        let key = s(&input, kind.key_field).to_string();
        (kind.check_key)(&key)?;
        let all = responses_of(kind, doc, &input)?;
        if all.values().any(|r| s(r, kind.key_field) == key) {
            return Err(conflict(format!("Unable to create {0}. A {0} with key {key} already exists.", kind.singular)));
        }
        let mut r = json!({ kind.id_field: id });
        copy_fields(&mut r, &input, kind.fields);
        all.insert(id, r.clone());
        Ok(r)
    })
    .await
}

async fn read(
    i: &Inner,
    ctx: &RequestContext,
    input: &Value,
    kind: &Kind,
) -> Result<BTreeMap<String, Value>, AwsError> {
    let mut doc = apis::load(i, ctx, s(input, "apiId")).await?;
    Ok(responses_of(kind, &mut doc, input)?.clone())
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value, kind: &'static Kind) -> Result<Value, AwsError> {
    let id = s(&input, kind.id_field);
    read(i, ctx, &input, kind).await?.remove(id).ok_or_else(|| (kind.missing)(id))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value, kind: &'static Kind) -> Result<Value, AwsError> {
    let all = read(i, ctx, &input, kind).await?;
    crate::page(all.into_values().collect(), &input)
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value, kind: &'static Kind) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        if let Some(key) = input.get(kind.key_field).and_then(Value::as_str) {
            (kind.check_key)(key)?;
        }
        let all = responses_of(kind, doc, &input)?;
        let id = s(&input, kind.id_field);
        let r = all.get_mut(id).ok_or_else(|| (kind.missing)(id))?;
        copy_fields(r, &input, kind.fields);
        Ok(r.clone())
    })
    .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value, kind: &'static Kind) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        let all = responses_of(kind, doc, &input)?;
        let id = s(&input, kind.id_field);
        all.remove(id).ok_or_else(|| (kind.missing)(id))?;
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
