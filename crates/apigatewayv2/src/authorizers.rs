//! Authorizers: JWT (HTTP APIs: an issuer, audiences and the identity source holding the
//! token) and REQUEST (a Lambda function; HTTP APIs with payload format 1.0 or 2.0 and, with
//! 2.0, simple responses; WebSocket APIs on `$connect`), with a result TTL for caching. A route
//! names its authorizer by id; one that routes use cannot be deleted. Changes redeploy the
//! API's auto-deploying stages, since deployments carry the authorizers they were made with.

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{bad_request, conflict, not_found};
use crate::store::ApiDoc;
use crate::{Inner, apis, s};

const FIELDS: &[&str] = &[
    "name",
    "authorizerType",
    "identitySource",
    "jwtConfiguration",
    "authorizerUri",
    "authorizerPayloadFormatVersion",
    "enableSimpleResponses",
    "authorizerResultTtlInSeconds",
    "authorizerCredentialsArn",
    "identityValidationExpression",
];

pub fn authorizer_not_found(id: &str) -> AwsError {
    not_found(format!("Invalid Authorizer identifier specified {id}"), "Authorizer")
}

fn sources(a: &Value) -> Vec<&str> {
    a.get("identitySource")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Whether an identity source is one API Gateway reads for this kind of API.
fn valid_source(ws: bool, source: &str) -> bool {
    if ws {
        ["route.request.header.", "route.request.querystring.", "stageVariables.", "context."]
            .iter()
            .any(|p| source.strip_prefix(p).is_some_and(|n| !n.is_empty()))
    } else {
        ["$request.header.", "$request.querystring.", "$context.", "$stageVariables."]
            .iter()
            .any(|p| source.strip_prefix(p).is_some_and(|n| !n.is_empty()))
    }
}

fn check(doc: &ApiDoc, a: &Value) -> Result<(), AwsError> {
    let ws = doc.is_websocket();
    if s(a, "name").is_empty() {
        return Err(bad_request("Authorizer name is required"));
    }
    for src in sources(a) {
        if !valid_source(ws, src) {
            return Err(bad_request(format!("Invalid identity source {src}")));
        }
    }
    let ttl = a.get("authorizerResultTtlInSeconds").and_then(Value::as_i64).unwrap_or(0);
    if !(0..=3600).contains(&ttl) {
        return Err(bad_request("AuthorizerResultTtlInSeconds must be between 0 and 3600"));
    }
    match s(a, "authorizerType") {
        "JWT" if ws => Err(bad_request("JWT authorizers are supported only for HTTP APIs.")),
        "JWT" => {
            let issuer = a.pointer("/jwtConfiguration/issuer").and_then(Value::as_str).unwrap_or("");
            if issuer.is_empty() {
                return Err(bad_request("JwtConfiguration.Issuer is required for JWT authorizers"));
            }
            if sources(a).len() != 1 {
                return Err(bad_request("JWT authorizers take exactly one identity source"));
            }
            Ok(())
        }
        "REQUEST" => {
            if crate::parts::function_of(s(a, "authorizerUri")).is_none() {
                return Err(bad_request(format!("Invalid authorizer URI {}", s(a, "authorizerUri"))));
            }
            if ws {
                return Ok(());
            }
            match s(a, "authorizerPayloadFormatVersion") {
                "2.0" => Ok(()),
                "1.0" if a.get("enableSimpleResponses").and_then(Value::as_bool) == Some(true) => {
                    Err(bad_request("Simple responses are supported only with payload format version 2.0"))
                }
                "1.0" => Ok(()),
                "" => Err(bad_request("AuthorizerPayloadFormatVersion is required for REQUEST authorizers")),
                other => Err(bad_request(format!("Unsupported authorizer payload format version {other}"))),
            }
        }
        "" => Err(bad_request("AuthorizerType is required")),
        other => Err(bad_request(format!("Invalid authorizer type {other}"))),
    }
}

fn copy_fields(target: &mut Value, input: &Value) {
    for k in FIELDS {
        if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
            target[*k] = v.clone();
        }
    }
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    let id = i.id(6);
    apis::modify(i, ctx, &api, true, move |doc| {
        let mut a = json!({ "authorizerId": id });
        copy_fields(&mut a, &input);
        check(doc, &a)?;
        doc.authorizers.insert(id, a.clone());
        Ok(a)
    })
    .await
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    let id = s(&input, "authorizerId");
    doc.authorizers.get(id).cloned().ok_or_else(|| authorizer_not_found(id))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    crate::page(doc.authorizers.into_values().collect(), &input)
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        let id = s(&input, "authorizerId").to_string();
        let mut a = doc.authorizers.get(&id).cloned().ok_or_else(|| authorizer_not_found(&id))?;
        copy_fields(&mut a, &input);
        check(doc, &a)?;
        doc.authorizers.insert(id, a.clone());
        Ok(a)
    })
    .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let api = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &api, true, move |doc| {
        let id = s(&input, "authorizerId");
        if !doc.authorizers.contains_key(id) {
            return Err(authorizer_not_found(id));
        }
        if doc.routes.values().any(|r| s(r, "authorizerId") == id) {
            return Err(conflict(format!("Cannot delete authorizer {id}: routes use it.")));
        }
        doc.authorizers.remove(id);
        Ok(json!({}))
    })
    .await
}

/// A route's authorization as the API allows it: the type, and the authorizer it names.
pub fn check_route(doc: &ApiDoc, route: &Value) -> Result<(), AwsError> {
    let ws = doc.is_websocket();
    let kind = route.get("authorizationType").and_then(Value::as_str).unwrap_or("NONE");
    let authorizer = route.get("authorizerId").and_then(Value::as_str);
    let scopes = route.get("authorizationScopes").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if scopes && kind != "JWT" {
        return Err(bad_request("AuthorizationScopes are supported only for JWT authorizers"));
    }
    let of_type = |ty: &str| -> Result<(), AwsError> {
        let id = authorizer.ok_or_else(|| bad_request(format!("AuthorizerId is required for {kind} authorization")))?;
        let a = doc.authorizers.get(id).ok_or_else(|| authorizer_not_found(id))?;
        if s(a, "authorizerType") != ty {
            return Err(bad_request(format!("Authorizer {id} is not a {ty} authorizer")));
        }
        Ok(())
    };
    match kind {
        "NONE" | "AWS_IAM" => Ok(()),
        "JWT" if !ws => of_type("JWT"),
        "CUSTOM" if ws && s(route, "routeKey") != "$connect" => {
            Err(bad_request("Authorizers are supported only on the $connect route of WebSocket APIs"))
        }
        "CUSTOM" => of_type("REQUEST"),
        other => Err(bad_request(format!("Invalid authorization type {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sources() {
        assert!(valid_source(false, "$request.header.Authorization"));
        assert!(valid_source(false, "$request.querystring.token"));
        assert!(!valid_source(false, "route.request.header.Auth"));
        assert!(valid_source(true, "route.request.header.Auth"));
        assert!(!valid_source(true, "$request.header.Auth"));
        assert!(!valid_source(false, "$request.header."));
    }
}
