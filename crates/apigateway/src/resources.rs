//! Resources (paths), their methods and method responses, and each method's integration and
//! integration responses. All live in the API's document.

use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{self, bad_request, conflict};
use crate::restapis::{load, modify};
use crate::store::{ApiDoc, ResourceDoc};
use crate::{Inner, patch, s};

pub const HTTP_METHODS: &[&str] = &["ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// Whether a path part is one AWS takes: letters, digits, `._-:`, or `{name}` / `{name+}`.
fn valid_path_part(p: &str) -> bool {
    if p.is_empty() {
        return false;
    }
    if let Some(inner) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        let name = inner.strip_suffix('+').unwrap_or(inner);
        return !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    }
    p.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:@".contains(&b))
}

pub async fn create(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let parent = s(&input, "parentId").to_string();
    let part = s(&input, "pathPart").to_string();
    let id = i.id(6);
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let p = doc.resource(&account, &parent)?.clone();
        if !valid_path_part(&part) {
            return Err(bad_request(
                "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace.",
            ));
        }
        if p.path_part.as_deref().is_some_and(|pp| pp.ends_with("+}")) {
            return Err(bad_request(format!(
                "Cannot create a child of a resource with a greedy path variable: {}",
                p.path
            )));
        }
        let siblings = doc.resources.values().filter(|r| r.parent_id.as_deref() == Some(parent.as_str()));
        for sib in siblings {
            let same = sib.path_part.as_deref() == Some(part.as_str());
            let both_vars = sib.path_part.as_deref().is_some_and(|x| x.starts_with('{')) && part.starts_with('{');
            if same {
                return Err(conflict(format!("Another resource with the same parent already has this name: {part}")));
            }
            if both_vars {
                return Err(bad_request(format!(
                    "A sibling ({}) of this resource already has a variable path part -- only one is allowed",
                    sib.path_part.as_deref().unwrap_or("")
                )));
            }
        }
        let path = if p.path == "/" { format!("/{part}") } else { format!("{}/{part}", p.path) };
        let r = ResourceDoc { id: id.clone(), parent_id: Some(parent), path_part: Some(part), path, methods: Default::default() };
        let out = r.to_value(false);
        doc.resources.insert(id, r);
        Ok(out)
    })
    .await
}

pub async fn get(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    let embed = embeds(&input);
    Ok(doc.resource(&ctx.account, s(&input, "resourceId"))?.to_value(embed))
}

/// `embed=methods` asks for the methods in full.
fn embeds(input: &Value) -> bool {
    input.get("embed").and_then(Value::as_array).is_some_and(|e| e.iter().any(|x| x == "methods"))
}

pub async fn list(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    let embed = embeds(&input);
    let mut rs: Vec<&ResourceDoc> = doc.resources.values().collect();
    rs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(crate::page(rs.into_iter().map(|r| r.to_value(embed)).collect(), &input))
}

pub async fn update(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let id = s(&input, "resourceId").to_string();
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        doc.resource(&account, &id)?;
        for op in &ops {
            match (op.op.as_str(), op.path.as_deref()) {
                ("replace", Some("/pathPart")) => {
                    let part = op.value.clone().unwrap_or_default();
                    if !valid_path_part(&part) {
                        return Err(bad_request("Invalid path part"));
                    }
                    let r = doc.resource_mut(&account, &id)?;
                    r.path_part = Some(part);
                }
                ("replace", Some("/parentId")) => {
                    let parent = op.value.clone().unwrap_or_default();
                    doc.resource(&account, &parent)?;
                    doc.resource_mut(&account, &id)?.parent_id = Some(parent);
                }
                _ => return Err(patch::invalid_path(op)),
            }
        }
        recompute_paths(doc);
        Ok(doc.resource(&account, &id)?.to_value(false))
    })
    .await
}

/// Every resource's path from its parents' (after a move or rename).
fn recompute_paths(doc: &mut ApiDoc) {
    let snapshot: Vec<(String, Option<String>, Option<String>)> =
        doc.resources.values().map(|r| (r.id.clone(), r.parent_id.clone(), r.path_part.clone())).collect();
    let path_of = |id: &str| -> String {
        let mut parts = Vec::new();
        let mut cur = Some(id.to_string());
        let mut guard = 0;
        while let Some(c) = cur {
            guard += 1;
            if guard > 1000 {
                break;
            }
            let Some((_, parent, part)) = snapshot.iter().find(|(i, _, _)| *i == c) else { break };
            if let Some(p) = part {
                parts.push(p.clone());
            }
            cur = parent.clone();
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    };
    let paths: Vec<(String, String)> = snapshot.iter().map(|(id, _, _)| (id.clone(), path_of(id))).collect();
    for (id, p) in paths {
        if let Some(r) = doc.resources.get_mut(&id) {
            r.path = p;
        }
    }
}

pub async fn delete(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "resourceId").to_string();
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        doc.resource(&account, &id)?;
        if id == doc.root_id() {
            return Err(bad_request("Cannot delete root resource"));
        }
        // The resource and its descendants.
        let mut gone = vec![id];
        loop {
            let more: Vec<String> = doc
                .resources
                .values()
                .filter(|r| r.parent_id.as_ref().is_some_and(|p| gone.contains(p)) && !gone.contains(&r.id))
                .map(|r| r.id.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            gone.extend(more);
        }
        for g in gone {
            doc.resources.remove(&g);
        }
        Ok(Value::Object(Map::new()))
    })
    .await
}

fn http_method(input: &Value) -> Result<String, AwsError> {
    let m = s(input, "httpMethod");
    if HTTP_METHODS.contains(&m) {
        Ok(m.to_string())
    } else {
        Err(bad_request(format!("Invalid HttpMethod specified. Valid options are {}", HTTP_METHODS.join(","))))
    }
}

fn method_mut<'a>(doc: &'a mut ApiDoc, account: &str, resource: &str, method: &str) -> Result<&'a mut Value, AwsError> {
    doc.resource_mut(account, resource)?.methods.get_mut(method).ok_or_else(errors::method_not_found)
}

fn method<'a>(doc: &'a ApiDoc, account: &str, resource: &str, method: &str) -> Result<&'a Value, AwsError> {
    doc.resource(account, resource)?.methods.get(method).ok_or_else(errors::method_not_found)
}

const AUTH_TYPES: &[&str] = &["NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"];

fn check_method_refs(doc: &ApiDoc, m: &Value) -> Result<(), AwsError> {
    let auth = m.get("authorizationType").and_then(Value::as_str).unwrap_or("NONE");
    if !AUTH_TYPES.contains(&auth) {
        return Err(bad_request(format!(
            "Invalid authorization type specified. Authorization type must be one of [NONE, AWS_IAM, CUSTOM, COGNITO_USER_POOLS]: {auth}"
        )));
    }
    let authorizer = m.get("authorizerId").and_then(Value::as_str);
    if matches!(auth, "CUSTOM" | "COGNITO_USER_POOLS") {
        let Some(a) = authorizer else {
            return Err(bad_request(
                "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.",
            ));
        };
        if !doc.authorizers.contains_key(a) {
            return Err(bad_request(
                "Invalid authorizer ID specified. Setting the authorization type to CUSTOM or COGNITO_USER_POOLS requires a valid authorizer.",
            ));
        }
    }
    if let Some(v) = m.get("requestValidatorId").and_then(Value::as_str)
        && !doc.validators.contains_key(v)
    {
        return Err(bad_request("Invalid Request Validator identifier specified"));
    }
    if let Some(models) = m.get("requestModels").and_then(Value::as_object) {
        for name in models.values().filter_map(Value::as_str) {
            if !doc.models.contains_key(name) && name != "Empty" && name != "Error" {
                return Err(bad_request(format!("Invalid model identifier specified: {name}")));
            }
        }
    }
    Ok(())
}

pub async fn put_method(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let hm = http_method(&input)?;
    let resource = s(&input, "resourceId").to_string();
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        if doc.resource(&account, &resource)?.methods.contains_key(&hm) {
            return Err(conflict("Method already exists for this resource"));
        }
        let mut m = json!({
            "httpMethod": hm,
            "authorizationType": s(&input, "authorizationType"),
            "apiKeyRequired": input.get("apiKeyRequired").and_then(Value::as_bool).unwrap_or(false),
        });
        for k in [
            "authorizerId",
            "operationName",
            "requestParameters",
            "requestModels",
            "requestValidatorId",
            "authorizationScopes",
        ] {
            if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
                m[k] = v.clone();
            }
        }
        check_method_refs(doc, &m)?;
        doc.resource_mut(&account, &resource)?.methods.insert(hm, m.clone());
        Ok(m)
    })
    .await
}

pub async fn get_method(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    method(&doc, &ctx.account, s(&input, "resourceId"), s(&input, "httpMethod")).cloned()
}

const METHOD_PATCHABLE: &[&str] = &[
    "authorizationType",
    "authorizerId",
    "apiKeyRequired",
    "requestParameters",
    "requestModels",
    "operationName",
    "requestValidatorId",
    "authorizationScopes",
];

pub async fn update_method(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let (resource, hm) = (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string());
    let (account, model) = (ctx.account.clone(), i.model);
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let mut m = method(doc, &account, &resource, &hm)?.clone();
        patch::apply(model, "Method", &mut m, &ops, METHOD_PATCHABLE, &mut |_, _, _| Ok(false))?;
        check_method_refs(doc, &m)?;
        *method_mut(doc, &account, &resource, &hm)? = m.clone();
        Ok(m)
    })
    .await
}

pub async fn delete_method(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (resource, hm) = (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string());
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        doc.resource_mut(&account, &resource)?.methods.remove(&hm).ok_or_else(errors::method_not_found)?;
        Ok(Value::Object(Map::new()))
    })
    .await
}

fn status_code(input: &Value) -> Result<String, AwsError> {
    let c = s(input, "statusCode");
    if c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()) && ('1'..='5').contains(&c.chars().next().unwrap_or('0')) {
        Ok(c.to_string())
    } else {
        Err(bad_request("Invalid status code specified"))
    }
}

pub async fn put_method_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let code = status_code(&input)?;
    let (resource, hm) = (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string());
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let m = method_mut(doc, &account, &resource, &hm)?;
        let mut r = json!({"statusCode": code});
        for k in ["responseParameters", "responseModels"] {
            if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
                r[k] = v.clone();
            }
        }
        let responses = m.as_object_mut().map(|o| o.entry("methodResponses").or_insert_with(|| json!({})));
        if let Some(Value::Object(rs)) = responses {
            if rs.contains_key(&code) {
                return Err(conflict("Response already exists for this resource"));
            }
            rs.insert(code, r.clone());
        }
        Ok(r)
    })
    .await
}

fn method_response<'a>(m: &'a mut Value, code: &str) -> Result<&'a mut Value, AwsError> {
    m.get_mut("methodResponses").and_then(|r| r.get_mut(code)).ok_or_else(errors::response_not_found)
}

pub async fn get_method_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    let m = method(&doc, &ctx.account, s(&input, "resourceId"), s(&input, "httpMethod"))?;
    m.get("methodResponses")
        .and_then(|r| r.get(s(&input, "statusCode")))
        .cloned()
        .ok_or_else(errors::response_not_found)
}

pub async fn update_method_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let (resource, hm, code) =
        (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string(), s(&input, "statusCode").to_string());
    let (account, model) = (ctx.account.clone(), i.model);
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let r = method_response(method_mut(doc, &account, &resource, &hm)?, &code)?;
        patch::apply(model, "MethodResponse", r, &ops, &["responseParameters", "responseModels"], &mut |_, _, _| {
            Ok(false)
        })?;
        Ok(r.clone())
    })
    .await
}

pub async fn delete_method_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (resource, hm, code) =
        (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string(), s(&input, "statusCode").to_string());
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let m = method_mut(doc, &account, &resource, &hm)?;
        let removed = m.get_mut("methodResponses").and_then(Value::as_object_mut).and_then(|r| r.remove(&code));
        removed.ok_or_else(errors::response_not_found)?;
        Ok(Value::Object(Map::new()))
    })
    .await
}

const INTEGRATION_TYPES: &[&str] = &["HTTP", "AWS", "MOCK", "HTTP_PROXY", "AWS_PROXY"];

/// Checks an integration as PutIntegration and UpdateIntegration do.
fn check_integration(i: &Value) -> Result<(), AwsError> {
    let t = i.get("type").and_then(Value::as_str).unwrap_or("");
    if !INTEGRATION_TYPES.contains(&t) {
        return Err(bad_request(format!("Invalid integration type specified: {t}")));
    }
    if t == "MOCK" {
        return Ok(());
    }
    let hm = i.get("httpMethod").and_then(Value::as_str).unwrap_or("");
    if hm.is_empty() {
        return Err(bad_request("Enumeration value for HttpMethod must be non-empty"));
    }
    let uri = i.get("uri").and_then(Value::as_str).unwrap_or("");
    if uri.is_empty() {
        return Err(bad_request("Invalid HTTP endpoint specified for URI"));
    }
    match t {
        "HTTP" | "HTTP_PROXY" => {
            if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                return Err(bad_request("Invalid HTTP endpoint specified for URI"));
            }
        }
        _ => {
            let ok = stratus_core::canonical_arn(uri).starts_with("arn:aws:apigateway:")
                && uri.split(':').nth(5).is_some_and(|kind| kind.starts_with("action/") || kind.starts_with("path/"));
            if !ok {
                return Err(bad_request("AWS ARN for integration must contain path or action"));
            }
            if t == "AWS_PROXY" && !uri.contains(":lambda:path/") {
                return Err(bad_request(
                    "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations.",
                ));
            }
        }
    }
    Ok(())
}

pub async fn put_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (resource, hm) = (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string());
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let m = method_mut(doc, &account, &resource, &hm)?;
        let mut integ = json!({
            "type": s(&input, "type"),
            "passthroughBehavior": input.get("passthroughBehavior").and_then(Value::as_str).unwrap_or("WHEN_NO_MATCH"),
            "timeoutInMillis": input.get("timeoutInMillis").and_then(Value::as_i64).unwrap_or(29000),
            "cacheNamespace": input.get("cacheNamespace").and_then(Value::as_str).unwrap_or(&resource),
            "cacheKeyParameters": input.get("cacheKeyParameters").cloned().unwrap_or(json!([])),
        });
        if let Some(h) = input.get("integrationHttpMethod").and_then(Value::as_str) {
            integ["httpMethod"] = Value::String(h.to_string());
        }
        for k in [
            "uri",
            "credentials",
            "requestParameters",
            "requestTemplates",
            "contentHandling",
            "connectionId",
            "tlsConfig",
            "integrationTarget",
            "responseTransferMode",
        ] {
            if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
                integ[k] = v.clone();
            }
        }
        if integ["type"] != "MOCK" {
            integ["connectionType"] = input.get("connectionType").cloned().unwrap_or(json!("INTERNET"));
        }
        let timeout = integ["timeoutInMillis"].as_i64().unwrap_or(0);
        if !(50..=29000).contains(&timeout) {
            return Err(bad_request("Timeout should be between 50 ms and 29000 ms"));
        }
        check_integration(&integ)?;
        m["methodIntegration"] = integ.clone();
        Ok(integ)
    })
    .await
}

fn integration(m: &mut Value) -> Result<&mut Value, AwsError> {
    m.get_mut("methodIntegration").ok_or_else(errors::integration_not_found)
}

pub async fn get_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    let m = method(&doc, &ctx.account, s(&input, "resourceId"), s(&input, "httpMethod"))?;
    m.get("methodIntegration").cloned().ok_or_else(errors::integration_not_found)
}

const INTEGRATION_PATCHABLE: &[&str] = &[
    "uri",
    "httpMethod",
    "type",
    "credentials",
    "requestParameters",
    "requestTemplates",
    "passthroughBehavior",
    "timeoutInMillis",
    "contentHandling",
    "cacheKeyParameters",
    "cacheNamespace",
    "connectionType",
    "connectionId",
    "tlsConfig",
];

pub async fn update_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let (resource, hm) = (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string());
    let (account, model) = (ctx.account.clone(), i.model);
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let integ = integration(method_mut(doc, &account, &resource, &hm)?)?;
        let mut changed = integ.clone();
        patch::apply(model, "Integration", &mut changed, &ops, INTEGRATION_PATCHABLE, &mut |_, _, _| Ok(false))?;
        check_integration(&changed)?;
        *integ = changed.clone();
        Ok(changed)
    })
    .await
}

pub async fn delete_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (resource, hm) = (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string());
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let m = method_mut(doc, &account, &resource, &hm)?;
        m.as_object_mut().and_then(|o| o.remove("methodIntegration")).ok_or_else(errors::integration_not_found)?;
        Ok(Value::Object(Map::new()))
    })
    .await
}

pub async fn put_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let code = status_code(&input)?;
    let (resource, hm) = (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string());
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let integ = integration(method_mut(doc, &account, &resource, &hm)?)?;
        let mut r = json!({"statusCode": code});
        for k in ["selectionPattern", "responseParameters", "responseTemplates", "contentHandling"] {
            if let Some(v) = input.get(k).filter(|v| !v.is_null()) {
                r[k] = v.clone();
            }
        }
        if let Some(o) = integ.as_object_mut() {
            let rs = o.entry("integrationResponses").or_insert_with(|| json!({}));
            rs[&code] = r.clone();
        }
        Ok(r)
    })
    .await
}

fn integration_response<'a>(integ: &'a mut Value, code: &str) -> Result<&'a mut Value, AwsError> {
    integ.get_mut("integrationResponses").and_then(|r| r.get_mut(code)).ok_or_else(errors::response_not_found)
}

pub async fn get_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = load(i, ctx, s(&input, "restApiId")).await?;
    let m = method(&doc, &ctx.account, s(&input, "resourceId"), s(&input, "httpMethod"))?;
    let integ = m.get("methodIntegration").ok_or_else(errors::integration_not_found)?;
    integ
        .get("integrationResponses")
        .and_then(|r| r.get(s(&input, "statusCode")))
        .cloned()
        .ok_or_else(errors::response_not_found)
}

pub async fn update_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let ops = patch::ops(&input)?;
    let (resource, hm, code) =
        (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string(), s(&input, "statusCode").to_string());
    let (account, model) = (ctx.account.clone(), i.model);
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let integ = integration(method_mut(doc, &account, &resource, &hm)?)?;
        let r = integration_response(integ, &code)?;
        let fields = ["selectionPattern", "responseParameters", "responseTemplates", "contentHandling"];
        patch::apply(model, "IntegrationResponse", r, &ops, &fields, &mut |_, _, _| Ok(false))?;
        Ok(r.clone())
    })
    .await
}

pub async fn delete_integration_response(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let (resource, hm, code) =
        (s(&input, "resourceId").to_string(), s(&input, "httpMethod").to_string(), s(&input, "statusCode").to_string());
    let account = ctx.account.clone();
    modify(i, ctx, &crate::api_id(&input), move |doc| {
        let integ = integration(method_mut(doc, &account, &resource, &hm)?)?;
        let removed =
            integ.get_mut("integrationResponses").and_then(Value::as_object_mut).and_then(|r| r.remove(&code));
        removed.ok_or_else(errors::response_not_found)?;
        Ok(Value::Object(Map::new()))
    })
    .await
}
