//! Gateway responses: what API Gateway answers itself (missing token, unauthorized, throttled,
//! integration failures …), customizable per API by type, falling back to the customized
//! `DEFAULT_4XX` / `DEFAULT_5XX`, then to AWS's defaults.

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{self, bad_request};
use crate::restapis::{load, modify};
use crate::store::ApiDoc;
use crate::{Inner, patch, s};

/// Every type with its default status (none for the two defaults).
pub const TYPES: &[(&str, Option<u16>)] = &[
    ("ACCESS_DENIED", Some(403)),
    ("API_CONFIGURATION_ERROR", Some(500)),
    ("AUTHORIZER_CONFIGURATION_ERROR", Some(500)),
    ("AUTHORIZER_FAILURE", Some(500)),
    ("BAD_REQUEST_BODY", Some(400)),
    ("BAD_REQUEST_PARAMETERS", Some(400)),
    ("DEFAULT_4XX", None),
    ("DEFAULT_5XX", None),
    ("EXPIRED_TOKEN", Some(403)),
    ("INTEGRATION_FAILURE", Some(504)),
    ("INTEGRATION_TIMEOUT", Some(504)),
    ("INVALID_API_KEY", Some(403)),
    ("INVALID_SIGNATURE", Some(403)),
    ("MISSING_AUTHENTICATION_TOKEN", Some(403)),
    ("QUOTA_EXCEEDED", Some(429)),
    ("REQUEST_TOO_LARGE", Some(413)),
    ("RESOURCE_NOT_FOUND", Some(404)),
    ("THROTTLED", Some(429)),
    ("UNAUTHORIZED", Some(401)),
    ("UNSUPPORTED_MEDIA_TYPE", Some(415)),
    ("WAF_FILTERED", Some(403)),
];

pub const DEFAULT_TEMPLATE: &str = "{\"message\":$context.error.messageString}";

pub fn default_status(t: &str) -> Option<u16> {
    TYPES.iter().find(|(n, _)| *n == t).and_then(|(_, s)| *s)
}

fn default_response(t: &str) -> Value {
    let mut v = json!({
        "responseType": t,
        "defaultResponse": true,
        "responseParameters": {},
        "responseTemplates": {"application/json": DEFAULT_TEMPLATE},
    });
    if let Some(code) = default_status(t) {
        v["statusCode"] = json!(code.to_string());
    }
    v
}

fn check_type(t: &str) -> Result<(), AwsError> {
    if TYPES.iter().any(|(n, _)| *n == t) {
        Ok(())
    } else {
        Err(bad_request(format!(
            "1 validation error detected: Value '{t}' at 'responseType' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            TYPES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )))
    }
}

/// The response of type `t` for this API: `(status, parameters, templates)`, falling back to
/// the customized default of its class and then AWS's default.
pub fn effective(doc: &ApiDoc, t: &str, status: u16) -> (u16, Map<String, Value>, Map<String, Value>) {
    let class = if status >= 500 { "DEFAULT_5XX" } else { "DEFAULT_4XX" };
    let custom = doc.gateway_responses.get(t).or_else(|| doc.gateway_responses.get(class));
    let code = doc
        .gateway_responses
        .get(t)
        .and_then(|r| r.get("statusCode"))
        .and_then(Value::as_str)
        .and_then(|c| c.parse().ok())
        .unwrap_or(status);
    let params =
        custom.and_then(|r| r.get("responseParameters")).and_then(Value::as_object).cloned().unwrap_or_default();
    let templates = custom
        .and_then(|r| r.get("responseTemplates"))
        .and_then(Value::as_object)
        .filter(|t| !t.is_empty())
        .cloned()
        .unwrap_or_else(|| {
            let mut m = Map::new();
            m.insert("application/json".into(), Value::String(DEFAULT_TEMPLATE.into()));
            m
        });
    (code, params, templates)
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let t = s(&input, "responseType");
    check_type(t)?;
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    Ok(doc.gateway_responses.get(t).cloned().unwrap_or_else(|| default_response(t)))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    let items: Vec<Value> = TYPES
        .iter()
        .map(|(t, _)| doc.gateway_responses.get(*t).cloned().unwrap_or_else(|| default_response(t)))
        .collect();
    Ok(crate::page(items, &input))
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let t = s(&input, "responseType").to_string();
    check_type(&t)?;
    let mut r = json!({"responseType": t, "defaultResponse": false, "responseParameters": {}, "responseTemplates": {}});
    for k in ["statusCode", "responseParameters", "responseTemplates"] {
        if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
            r[k] = v.clone();
        }
    }
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        doc.gateway_responses.insert(t, r.clone());
        Ok(r)
    })
    .await
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let t = s(&input, "responseType").to_string();
    check_type(&t)?;
    let ops = patch::ops(&input)?;
    let model = i.model;
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        let mut r = doc.gateway_responses.get(&t).cloned().unwrap_or_else(|| default_response(&t));
        let fields = ["statusCode", "responseParameters", "responseTemplates"];
        patch::apply(model, "GatewayResponse", &mut r, &ops, &fields, &mut |_, _, _| Ok(false))?;
        r["defaultResponse"] = json!(false);
        doc.gateway_responses.insert(t, r.clone());
        Ok(r)
    })
    .await
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let t = s(&input, "responseType").to_string();
    check_type(&t)?;
    modify(i, ctx, s(&input, "restApiId"), move |doc| {
        doc.gateway_responses
            .remove(&t)
            .ok_or_else(|| errors::not_found("Invalid Gateway Response identifier specified"))?;
        Ok(Value::Object(Map::new()))
    })
    .await
}
