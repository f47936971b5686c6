//! Routes and integrations. HTTP APIs: routes `$default` or `METHOD /path` with `{var}` and a
//! final `{proxy+}`; integrations AWS_PROXY to Lambda with payload 2.0 or 1.0, HTTP_PROXY to a
//! URL. WebSocket APIs: routes `$connect`, `$disconnect`, `$default` or any value the route
//! selection expression can give; integrations AWS_PROXY and AWS to Lambda, HTTP_PROXY and HTTP
//! to a URL, and MOCK. A change to either redeploys the API's auto-deploying stages.

use serde_json::{Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::{bad_request, conflict, integration_not_found, route_not_found};
use crate::store::ApiDoc;
use crate::{Inner, apis, s};

const METHODS: &[&str] = &["ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Whether a route key is `$default` or `METHOD /path` with well-formed path variables.
pub fn valid_route_key(key: &str) -> bool {
    if key == "$default" {
        return true;
    }
    let Some((method, path)) = key.split_once(' ') else { return false };
    if !METHODS.contains(&method) || !path.starts_with('/') {
        return false;
    }
    if path == "/" {
        return true;
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    segments.iter().enumerate().all(|(n, seg)| {
        if seg.is_empty() {
            return false;
        }
        match seg.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
            Some(var) => {
                let (name, greedy) = match var.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (var, false),
                };
                !name.is_empty()
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                    && (!greedy || n == segments.len() - 1)
            }
            None => !seg.contains('{') && !seg.contains('}'),
        }
    })
}

/// A WebSocket route key: `$connect`, `$disconnect`, `$default` or a selection value.
fn valid_ws_route_key(key: &str) -> bool {
    !key.trim().is_empty()
        && key.len() <= 128
        && (!key.starts_with('$') || ["$connect", "$disconnect", "$default"].contains(&key))
}

fn check_route(doc: &ApiDoc, route: &Value, own_id: Option<&str>) -> Result<(), AwsError> {
    let key = s(route, "routeKey");
    let valid = if doc.is_websocket() { valid_ws_route_key(key) } else { valid_route_key(key) };
    if !valid {
        return Err(bad_request(format!("Unable to create route {key}. The route key is invalid.")));
    }
    if doc.routes.iter().any(|(id, r)| Some(id.as_str()) != own_id && s(r, "routeKey") == key) {
        return Err(conflict(format!("Unable to create route. A route with key {key} already exists.")));
    }
    if let Some(target) = route.get("target").and_then(Value::as_str) {
        let id = target.strip_prefix("integrations/").unwrap_or("");
        if !doc.integrations.contains_key(id) {
            return Err(bad_request(format!("Invalid target specified {target}")));
        }
    }
    if route.get("routeResponseSelectionExpression").is_some_and(|e| !e.is_null()) && !doc.is_websocket() {
        return Err(bad_request("RouteResponseSelectionExpression is supported only for WebSocket APIs."));
    }
    crate::authorizers::check_route(doc, route)
}

const ROUTE_FIELDS: &[&str] = &[
    "routeKey",
    "target",
    "apiKeyRequired",
    "authorizationType",
    "operationName",
    "requestParameters",
    "routeResponseSelectionExpression",
    "modelSelectionExpression",
    "requestModels",
    "authorizerId",
    "authorizationScopes",
];

/// A new Route from an input (checked against the API's routes and integrations).
pub fn new_route(i: &Inner, doc: &ApiDoc, input: &Value) -> Result<Value, AwsError> {
    let mut route = json!({
        "routeId": i.id(7),
        "apiKeyRequired": false,
        "authorizationType": "NONE",
    });
    for k in ROUTE_FIELDS {
        if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
            route[*k] = v.clone();
        }
    }
    check_route(doc, &route, None)?;
    Ok(route)
}

/// The Lambda function an AWS_PROXY integration URI names (an ARN or an invocation URI).
pub fn function_of(uri: &str) -> Option<&str> {
    let is_function = |a: &str| stratus_core::canonical_arn(a).starts_with("arn:aws:lambda:");
    if is_function(uri) {
        return Some(uri);
    }
    let rest = uri.split_once(":lambda:path/")?.1;
    let arn = rest.split_once("/functions/")?.1;
    let arn = arn.strip_suffix("/invocations").unwrap_or(arn);
    is_function(arn).then_some(arn)
}

/// A WebSocket API's integration: Lambda (proxy or with templates), a URL, or MOCK.
fn check_ws_integration(integration: &Value) -> Result<(), AwsError> {
    let uri = s(integration, "integrationUri");
    match s(integration, "integrationType") {
        "AWS_PROXY" | "AWS" => {
            if function_of(uri).is_none() {
                return Err(bad_request(format!(
                    "Invalid integration URI specified {uri}: this server's AWS integrations for WebSocket APIs invoke Lambda functions"
                )));
            }
            match s(integration, "payloadFormatVersion") {
                "1.0" | "" => Ok(()),
                other => Err(bad_request(format!("Unsupported payload format version {other} for WebSocket APIs"))),
            }
        }
        "HTTP_PROXY" | "HTTP" => {
            if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                return Err(bad_request(format!("Invalid integration URI specified {uri}")));
            }
            Ok(())
        }
        "MOCK" => Ok(()),
        "" => Err(bad_request("IntegrationType is required")),
        other => Err(bad_request(format!("Invalid integration type {other}"))),
    }
}

/// An AWS service integration: a subtype served here, with its required parameters.
fn check_service_integration(sub: &str, integration: &Value) -> Result<(), AwsError> {
    let Some(spec) = crate::execute::service::subtype(sub) else {
        let served: Vec<&str> = crate::execute::service::SUBTYPES.iter().map(|s| s.name).collect();
        return Err(bad_request(format!(
            "Integration subtype {sub} is not served by this server (served: {})",
            served.join(", ")
        )));
    };
    let params = integration.get("requestParameters").and_then(Value::as_object);
    for r in spec.required {
        if !params.is_some_and(|p| p.contains_key(*r)) {
            return Err(bad_request(format!("RequestParameters must contain {r} for integration subtype {sub}")));
        }
    }
    if s(integration, "payloadFormatVersion") != "1.0" {
        return Err(bad_request("AWS service integrations support only payload format version 1.0"));
    }
    Ok(())
}

/// `append:`, `overwrite:` or `remove:` a `header.{name}` or `querystring.{name}`, or
/// `overwrite:path` (request parameters of HTTP_PROXY integrations), `overwrite:statuscode`
/// (response parameters).
fn valid_mapping_key(key: &str, response: bool) -> bool {
    let Some((op, target)) = key.split_once(':') else { return false };
    let named = |prefix: &str| target.strip_prefix(prefix).is_some_and(|n| !n.is_empty());
    match op {
        "append" | "overwrite" | "remove" if named("header.") => true,
        "append" | "overwrite" | "remove" if !response && named("querystring.") => true,
        "overwrite" => (!response && target == "path") || (response && target == "statuscode"),
        _ => false,
    }
}

fn check_mappings(integration: &Value) -> Result<(), AwsError> {
    let service = integration.get("integrationSubtype").is_some();
    if !service && let Some(m) = integration.get("requestParameters").and_then(Value::as_object) {
        for k in m.keys() {
            if !valid_mapping_key(k, false) {
                return Err(bad_request(format!("Invalid mapping expression specified: {k}")));
            }
        }
    }
    if let Some(m) = integration.get("responseParameters").and_then(Value::as_object) {
        for (status, map) in m {
            if !status.parse::<u16>().is_ok_and(|c| (200..600).contains(&c)) {
                return Err(bad_request(format!("Invalid status code {status} in ResponseParameters")));
            }
            for k in map.as_object().map(|o| o.keys().collect::<Vec<_>>()).unwrap_or_default() {
                if !valid_mapping_key(k, true) {
                    return Err(bad_request(format!("Invalid mapping expression specified: {k}")));
                }
            }
        }
    }
    Ok(())
}

fn check_integration(ws: bool, integration: &Value) -> Result<(), AwsError> {
    if !ws {
        check_mappings(integration)?;
    }
    check_integration_type(ws, integration)
}

fn check_integration_type(ws: bool, integration: &Value) -> Result<(), AwsError> {
    if ws {
        return check_ws_integration(integration);
    }
    let uri = s(integration, "integrationUri");
    match s(integration, "integrationType") {
        "AWS_PROXY" => {
            if let Some(sub) = integration.get("integrationSubtype").and_then(Value::as_str) {
                return check_service_integration(sub, integration);
            }
            if function_of(uri).is_none() {
                return Err(bad_request(format!("Invalid integration URI specified {uri}")));
            }
            match s(integration, "payloadFormatVersion") {
                "1.0" | "2.0" => Ok(()),
                "" => Err(bad_request(
                    "Payload format version must be specified for AWS_PROXY integrations (1.0 or 2.0).",
                )),
                other => Err(bad_request(format!("Unsupported payload format version {other}"))),
            }
        }
        "HTTP_PROXY" => {
            if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                return Err(bad_request(format!("Invalid integration URI specified {uri}")));
            }
            if s(integration, "integrationMethod").is_empty() {
                return Err(bad_request("Integration method must be specified for HTTP_PROXY integrations."));
            }
            if s(integration, "payloadFormatVersion") != "1.0" {
                return Err(bad_request("HTTP_PROXY integrations only support payload format version 1.0."));
            }
            Ok(())
        }
        "" => Err(bad_request("IntegrationType is required")),
        other => Err(bad_request(format!(
            "Integration type {other} is not served for HTTP APIs by this server (AWS_PROXY and HTTP_PROXY are)."
        ))),
    }
}

const INTEGRATION_FIELDS: &[&str] = &[
    "integrationType",
    "integrationUri",
    "integrationMethod",
    "integrationSubtype",
    "payloadFormatVersion",
    "timeoutInMillis",
    "description",
    "credentialsArn",
    "requestParameters",
    "connectionType",
    "requestTemplates",
    "templateSelectionExpression",
    "passthroughBehavior",
    "contentHandlingStrategy",
    "responseParameters",
];

/// A new Integration from an input, with AWS's defaults.
pub fn new_integration(i: &Inner, ws: bool, input: &Value) -> Result<Value, AwsError> {
    let ty = s(input, "integrationType");
    let mut integration = json!({
        "integrationId": i.id(7),
        "connectionType": "INTERNET",
        "timeoutInMillis": if ws { 29000 } else { 30000 },
    });
    match ty {
        "AWS_PROXY" | "AWS" if ws => {
            integration["integrationMethod"] = json!("POST");
            integration["payloadFormatVersion"] = json!("1.0");
        }
        "AWS_PROXY" if input.get("integrationSubtype").is_some() => {
            integration["payloadFormatVersion"] = json!("1.0");
        }
        "AWS_PROXY" => integration["integrationMethod"] = json!("POST"),
        "HTTP_PROXY" => integration["payloadFormatVersion"] = json!("1.0"),
        _ => {}
    }
    if ws && ty != "AWS_PROXY" && ty != "HTTP_PROXY" {
        integration["passthroughBehavior"] = json!("WHEN_NO_MATCH");
    }
    for k in INTEGRATION_FIELDS {
        if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
            integration[*k] = v.clone();
        }
    }
    check_integration(ws, &integration)?;
    Ok(integration)
}

pub async fn create_route(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    let doc = apis::load(i, ctx, &id).await?;
    let route = new_route(i, &doc, &input)?;
    let out = route.clone();
    apis::modify(i, ctx, &id, true, move |doc| {
        check_route(doc, &route, None)?;
        doc.routes.insert(s(&route, "routeId").to_string(), route);
        Ok(())
    })
    .await?;
    Ok(out)
}

pub async fn get_route(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    let id = s(&input, "routeId");
    doc.routes.get(id).cloned().ok_or_else(|| route_not_found(id))
}

pub async fn list_routes(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    crate::page(doc.routes.into_values().collect(), &input)
}

pub async fn update_route(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &id, true, move |doc| {
        let rid = s(&input, "routeId").to_string();
        let mut route = doc.routes.get(&rid).cloned().ok_or_else(|| route_not_found(&rid))?;
        for k in ROUTE_FIELDS {
            if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
                route[*k] = v.clone();
            }
        }
        check_route(doc, &route, Some(&rid))?;
        doc.routes.insert(rid, route.clone());
        Ok(route)
    })
    .await
}

pub async fn delete_route(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &id, true, move |doc| {
        let rid = s(&input, "routeId");
        doc.routes.remove(rid).ok_or_else(|| route_not_found(rid))?;
        doc.route_responses.remove(rid);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

pub async fn create_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    let ws = apis::load(i, ctx, &id).await?.is_websocket();
    let integration = new_integration(i, ws, &input)?;
    let out = integration.clone();
    apis::modify(i, ctx, &id, true, move |doc| {
        doc.integrations.insert(s(&integration, "integrationId").to_string(), integration);
        Ok(())
    })
    .await?;
    Ok(out)
}

pub async fn get_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    let id = s(&input, "integrationId");
    doc.integrations.get(id).cloned().ok_or_else(|| integration_not_found(id))
}

pub async fn list_integrations(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    crate::page(doc.integrations.into_values().collect(), &input)
}

pub async fn update_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &id, true, move |doc| {
        let iid = s(&input, "integrationId").to_string();
        let mut integration = doc.integrations.get(&iid).cloned().ok_or_else(|| integration_not_found(&iid))?;
        for k in INTEGRATION_FIELDS {
            if let Some(v) = input.get(*k).filter(|v| !v.is_null()) {
                integration[*k] = v.clone();
            }
        }
        check_integration(doc.is_websocket(), &integration)?;
        doc.integrations.insert(iid, integration.clone());
        Ok(integration)
    })
    .await
}

pub async fn delete_integration(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let id = s(&input, "apiId").to_string();
    apis::modify(i, ctx, &id, true, move |doc| {
        let iid = s(&input, "integrationId").to_string();
        if !doc.integrations.contains_key(&iid) {
            return Err(integration_not_found(&iid));
        }
        let target = format!("integrations/{iid}");
        if doc.routes.values().any(|r| s(r, "target") == target) {
            return Err(conflict(format!(
                "Unable to delete integration {iid}: it is the target of a route. Remove the route's target first."
            )));
        }
        doc.integrations.remove(&iid);
        doc.integration_responses.remove(&iid);
        Ok(())
    })
    .await?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys() {
        for ok in ["$default", "GET /", "GET /pets", "ANY /pets/{id}", "POST /a/{b}/c/{proxy+}", "GET /{proxy+}"] {
            assert!(valid_route_key(ok), "{ok}");
        }
        for bad in
            ["", "GET", "get /pets", "GET pets", "GET /pets/", "GET /{proxy+}/x", "GET /{}", "FETCH /a", "GET //a"]
        {
            assert!(!valid_route_key(bad), "{bad}");
        }
        for ok in ["$connect", "$disconnect", "$default", "sendmessage", "chat room"] {
            assert!(valid_ws_route_key(ok), "{ok}");
        }
        for bad in ["", " ", "$other"] {
            assert!(!valid_ws_route_key(bad), "{bad}");
        }
    }

    #[test]
    fn mapping_keys() {
        for ok in ["append:header.x-a", "overwrite:querystring.q", "remove:header.h", "overwrite:path"] {
            assert!(valid_mapping_key(ok, false), "{ok}");
        }
        assert!(valid_mapping_key("overwrite:statuscode", true));
        for bad in ["header.x", "append:path", "overwrite:statuscode", "insert:header.x", "append:header."] {
            assert!(!valid_mapping_key(bad, false), "{bad}");
        }
    }

    #[test]
    fn function_uris() {
        let arn = "arn:aws:lambda:us-east-1:000000000000:function:f";
        assert_eq!(function_of(arn), Some(arn));
        let uri = format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations");
        assert_eq!(function_of(&uri), Some(arn));
        assert_eq!(function_of("https://example.com"), None);
    }
}
