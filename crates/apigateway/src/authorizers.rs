//! Authorizers: Lambda TOKEN and REQUEST authorizers (run by `execute::auth`), and Cognito
//! user pool authorizers, which answer AWS's error for a pool that does not exist (there are
//! no user pools here).

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{self, bad_request};
use crate::restapis::{load, modify};
use crate::{Inner, patch, s};

fn not_found() -> AwsError {
    errors::not_found("Invalid Authorizer identifier specified")
}

fn check(a: &Value) -> Result<(), AwsError> {
    let t = a.get("type").and_then(Value::as_str).unwrap_or("");
    match t {
        "TOKEN" | "REQUEST" => {
            let uri = a.get("authorizerUri").and_then(Value::as_str).unwrap_or("");
            if !stratus_core::canonical_arn(uri).starts_with("arn:aws:apigateway:") || !uri.contains(":lambda:path/") {
                return Err(bad_request(format!(
                    "Invalid Authorizer URI: {uri}. Authorizer URI should be a valid API Gateway ARN that represents a Lambda function invocation."
                )));
            }
            if t == "TOKEN" && a.get("identitySource").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(bad_request("Identity Source is required for TOKEN authorizers."));
            }
        }
        "COGNITO_USER_POOLS" => {
            let arns = a.get("providerARNs").and_then(Value::as_array).cloned().unwrap_or_default();
            let Some(first) = arns.first().and_then(Value::as_str) else {
                return Err(bad_request("ProviderARNs need to be specified for COGNITO_USER_POOLS authorizers."));
            };
            // No Cognito user pool exists on this server.
            return Err(bad_request(format!(
                "Invalid Cognito user pool provider ARN: {first}. User pool does not exist."
            )));
        }
        _ => return Err(bad_request(format!("Invalid authorizer type: {t}"))),
    }
    if let Some(ttl) = a.get("authorizerResultTtlInSeconds").and_then(Value::as_i64)
        && !(0..=3600).contains(&ttl)
    {
        return Err(bad_request("Invalid value for authorizerResultTtlInSeconds. Must be between 0 and 3600"));
    }
    Ok(())
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = i.id(6);
    let mut a = json!({"id": id, "name": s(&input, "name"), "type": s(&input, "type")});
    for k in [
        "providerARNs",
        "authType",
        "authorizerUri",
        "authorizerCredentials",
        "identitySource",
        "identityValidationExpression",
        "authorizerResultTtlInSeconds",
    ] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            a[k] = v.clone();
        }
    }
    if a.get("authorizerResultTtlInSeconds").is_none() {
        a["authorizerResultTtlInSeconds"] = json!(300);
    }
    if a["type"] == "REQUEST" && a.get("identitySource").is_none() && a["authorizerResultTtlInSeconds"] != 0 {
        return Err(bad_request(
            "Identity Source is required when the authorizer result is cached (authorizerResultTtlInSeconds > 0).",
        ));
    }
    check(&a)?;
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        doc.authorizers.insert(id, a.clone());
        Ok(a)
    })
    .await
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    doc.authorizers.get(s(&input, "authorizerId")).cloned().ok_or_else(not_found)
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    Ok(crate::page(doc.authorizers.into_values().collect(), &input))
}

const PATCHABLE: &[&str] = &[
    "name",
    "type",
    "providerARNs",
    "authType",
    "authorizerUri",
    "authorizerCredentials",
    "identitySource",
    "identityValidationExpression",
    "authorizerResultTtlInSeconds",
];

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let id = s(&input, "authorizerId").to_string();
    let model = i.model;
    let out = modify(i, ctx, s(&input, "restApiId"), move |doc| {
        let a = doc.authorizers.get_mut(&id).ok_or_else(not_found)?;
        let mut changed = a.clone();
        patch::apply(model, "Authorizer", &mut changed, &ops, PATCHABLE, &mut |_, _, _| Ok(false))?;
        check(&changed)?;
        *a = changed.clone();
        Ok(changed)
    })
    .await?;
    i.runtime.flush_authorizers(s(&input, "restApiId"));
    Ok(out)
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "authorizerId").to_string();
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        let used = doc
            .resources
            .values()
            .flat_map(|r| r.methods.values())
            .any(|m| m.get("authorizerId").and_then(Value::as_str) == Some(id.as_str()));
        if !doc.authorizers.contains_key(&id) {
            return Err(not_found());
        }
        if used {
            return Err(errors::conflict("Cannot delete authorizer because it is still in use by a method"));
        }
        doc.authorizers.remove(&id);
        Ok(Value::Object(Map::new()))
    })
    .await
}
