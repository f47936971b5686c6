//! OpenAPI 3.0 for HTTP APIs: ImportApi and ReimportApi (JSON or YAML, with API Gateway's
//! extensions) make an API's routes, integrations, authorizers and CORS configuration from a
//! document; ExportApi writes them back (`OAS30`, JSON or YAML, extensions optional).
//!
//! Read from a document: `info.title`/`version`/`description`; each path's operations (`get`,
//! …, `x-amazon-apigateway-any-method`; the path `/$default` is the `$default` route) as routes,
//! with `operationId` as the operation name and `security` as their authorization (a scheme's
//! scopes are the route's); `x-amazon-apigateway-integration` (`type` aws_proxy or http_proxy,
//! `uri`, `httpMethod`, `payloadFormatVersion`, `timeoutInMillis`, `connectionType`) per
//! operation, identical ones shared; `components.securitySchemes` with
//! `x-amazon-apigateway-authorizer` (`jwt` with `jwtConfiguration` and `identitySource`,
//! `request` with `authorizerUri`, `authorizerPayloadFormatVersion`, `enableSimpleResponses`,
//! `authorizerResultTtlInSeconds`), and `x-amazon-apigateway-cors`. What cannot be imported is
//! a warning; with `failOnWarnings` the import fails on the first.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::bad_request;
use crate::store::{self, ApiDoc};
use crate::{Inner, apis, s};

const METHODS: &[(&str, &str)] = &[
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

fn parse(body: &str) -> Result<Value, AwsError> {
    let v: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_str(body).map_err(|e| bad_request(format!("Invalid OpenAPI definition: {e}")))?,
    };
    match v.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.") => Ok(v),
        _ => Err(bad_request(
            "Invalid OpenAPI definition: HTTP APIs import OpenAPI 3.0 documents (an 'openapi: 3.x' field)",
        )),
    }
}

/// What a document describes, ready to become an API's parts.
struct Imported {
    routes: Vec<Value>,
    integrations: BTreeMap<String, Value>,
    authorizers: BTreeMap<String, Value>,
    cors: Option<Value>,
    warnings: Vec<String>,
}

fn integration_of(i: &Inner, x: &Value, warnings: &mut Vec<String>, at: &str) -> Option<Value> {
    let ty = s(x, "type").to_ascii_uppercase();
    let mut input = json!({
        "integrationType": ty,
        "integrationUri": x.get("uri").cloned().unwrap_or(Value::Null),
        "payloadFormatVersion": x.get("payloadFormatVersion").cloned().unwrap_or(json!(if ty == "AWS_PROXY" { "2.0" } else { "1.0" })),
    });
    if let Some(m) = x.get("httpMethod") {
        input["integrationMethod"] = m.clone();
    } else if ty == "HTTP_PROXY" {
        input["integrationMethod"] = json!("ANY");
    }
    for (from, to) in [
        ("timeoutInMillis", "timeoutInMillis"),
        ("connectionType", "connectionType"),
        ("credentials", "credentialsArn"),
        ("requestParameters", "requestParameters"),
    ] {
        if let Some(v) = x.get(from) {
            input[to] = v.clone();
        }
    }
    match crate::parts::new_integration(i, false, &input) {
        Ok(v) => Some(v),
        Err(e) => {
            warnings.push(format!("Unable to create integration for {at}: {}", e.message));
            None
        }
    }
}

fn authorizer_of(i: &Inner, name: &str, scheme: &Value, warnings: &mut Vec<String>) -> Option<Value> {
    let Some(x) = scheme.get("x-amazon-apigateway-authorizer") else {
        warnings.push(format!("Security scheme {name} has no x-amazon-apigateway-authorizer and is ignored"));
        return None;
    };
    let sources = |v: Option<&Value>| -> Value {
        match v {
            Some(Value::String(s)) => json!(s.split(',').map(str::trim).filter(|x| !x.is_empty()).collect::<Vec<_>>()),
            Some(Value::Array(a)) => Value::Array(a.clone()),
            _ => json!([]),
        }
    };
    let mut a = json!({
        "authorizerId": i.id(6),
        "name": name,
        "identitySource": sources(x.get("identitySource")),
    });
    match s(x, "type").to_ascii_lowercase().as_str() {
        "jwt" => {
            a["authorizerType"] = json!("JWT");
            a["jwtConfiguration"] = x.get("jwtConfiguration").cloned().unwrap_or_else(|| json!({}));
        }
        "request" => {
            a["authorizerType"] = json!("REQUEST");
            for k in [
                "authorizerUri",
                "authorizerPayloadFormatVersion",
                "enableSimpleResponses",
                "authorizerResultTtlInSeconds",
                "authorizerCredentialsArn",
            ] {
                if let Some(v) = x.get(k) {
                    a[k] = v.clone();
                }
            }
        }
        other => {
            warnings.push(format!("Authorizer type {other} of {name} is not supported"));
            return None;
        }
    }
    Some(a)
}

fn read(i: &Inner, doc: &Value) -> Imported {
    let mut out = Imported {
        routes: Vec::new(),
        integrations: BTreeMap::new(),
        authorizers: BTreeMap::new(),
        cors: None,
        warnings: Vec::new(),
    };
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    if let Some(schemes) = doc.pointer("/components/securitySchemes").and_then(Value::as_object) {
        for (name, scheme) in schemes {
            if let Some(a) = authorizer_of(i, name, scheme, &mut out.warnings) {
                by_name.insert(name.clone(), s(&a, "authorizerId").to_string());
                out.authorizers.insert(s(&a, "authorizerId").to_string(), a);
            }
        }
    }
    // Integrations with the same definition are one integration.
    let mut shared: Vec<(Value, String)> = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object).cloned().unwrap_or_default();
    for (path, item) in &paths {
        let Some(item) = item.as_object() else { continue };
        for (key, op) in item {
            let Some((_, method)) = METHODS.iter().find(|(k, _)| k == key) else {
                if key != "parameters" && !key.starts_with("x-") {
                    out.warnings.push(format!("Unsupported operation {key} on {path}"));
                }
                continue;
            };
            let route_key = if path == "/$default" { "$default".to_string() } else { format!("{method} {path}") };
            if !crate::parts::valid_route_key(&route_key) {
                out.warnings.push(format!("Invalid route {route_key}"));
                continue;
            }
            let mut route = json!({
                "routeId": i.id(7),
                "routeKey": route_key,
                "apiKeyRequired": false,
                "authorizationType": "NONE",
            });
            if let Some(id) = op.get("operationId") {
                route["operationName"] = id.clone();
            }
            if let Some(x) = op.get("x-amazon-apigateway-integration") {
                let existing = shared.iter().find(|(def, _)| def == x).map(|(_, id)| id.clone());
                let id = match existing {
                    Some(id) => Some(id),
                    None => integration_of(i, x, &mut out.warnings, &route_key).map(|integration| {
                        let id = s(&integration, "integrationId").to_string();
                        out.integrations.insert(id.clone(), integration);
                        shared.push((x.clone(), id.clone()));
                        id
                    }),
                };
                if let Some(id) = id {
                    route["target"] = json!(format!("integrations/{id}"));
                }
            }
            let security = op.get("security").or_else(|| doc.get("security"));
            if let Some(first) = security.and_then(Value::as_array).and_then(|l| l.first()).and_then(Value::as_object)
                && let Some((name, scopes)) = first.iter().next()
            {
                match by_name.get(name).and_then(|id| out.authorizers.get(id)) {
                    Some(a) => {
                        route["authorizerId"] = json!(s(a, "authorizerId"));
                        route["authorizationType"] =
                            json!(if s(a, "authorizerType") == "JWT" { "JWT" } else { "CUSTOM" });
                        if s(a, "authorizerType") == "JWT"
                            && let Some(list) = scopes.as_array().filter(|l| !l.is_empty())
                        {
                            route["authorizationScopes"] = Value::Array(list.clone());
                        }
                    }
                    None if name == "sigv4" || name.eq_ignore_ascii_case("aws_iam") => {
                        route["authorizationType"] = json!("AWS_IAM");
                    }
                    None => out.warnings.push(format!("Security scheme {name} of {route_key} is not defined")),
                }
            }
            out.routes.push(route);
        }
    }
    if let Some(c) = doc.get("x-amazon-apigateway-cors").and_then(Value::as_object) {
        let mut cors = Map::new();
        for k in ["allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials"] {
            if let Some(v) = c.get(k) {
                cors.insert(k.to_string(), v.clone());
            }
        }
        out.cors = Some(Value::Object(cors));
    }
    out
}

/// Replaces the API's parts with the document's.
fn apply(doc: &mut ApiDoc, spec: &Value, imported: Imported) {
    if let Some(title) = spec.pointer("/info/title") {
        doc.api["name"] = title.clone();
    }
    for (from, to) in [("/info/version", "version"), ("/info/description", "description")] {
        if let Some(v) = spec.pointer(from) {
            doc.api[to] = v.clone();
        }
    }
    doc.routes = imported.routes.into_iter().map(|r| (s(&r, "routeId").to_string(), r)).collect();
    doc.integrations = imported.integrations;
    doc.authorizers = imported.authorizers;
    match imported.cors {
        Some(c) => doc.api["corsConfiguration"] = c,
        None => {
            if let Some(o) = doc.api.as_object_mut() {
                o.remove("corsConfiguration");
            }
        }
    }
}

fn check_warnings(input: &Value, warnings: &[String]) -> Result<(), AwsError> {
    let fail = matches!(input.get("failOnWarnings"), Some(Value::Bool(true)))
        || input.get("failOnWarnings").and_then(Value::as_str) == Some("true");
    match warnings.first() {
        Some(w) if fail => Err(bad_request(format!("Warnings found during import: {w}"))),
        _ => Ok(()),
    }
}

fn answer_with_warnings(ctx: &RequestContext, doc: &ApiDoc, warnings: Vec<String>) -> Value {
    let mut out = apis::answer(ctx, doc);
    if !warnings.is_empty() {
        out["warnings"] = json!(warnings);
    }
    out
}

/// ImportApi: a new HTTP API from a document.
pub async fn import(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let spec = parse(s(&input, "body"))?;
    let name = spec.pointer("/info/title").and_then(Value::as_str).unwrap_or("").to_string();
    if name.is_empty() {
        return Err(bad_request("Invalid OpenAPI definition: info.title is required"));
    }
    let imported = read(i, &spec);
    check_warnings(&input, &imported.warnings)?;
    let warnings = imported.warnings.clone();
    let created = apis::create(i, ctx, json!({"name": name, "protocolType": "HTTP"})).await?;
    let id = s(&created, "apiId").to_string();
    let doc = apis::modify(i, ctx, &id, true, move |doc| {
        apply(doc, &spec, imported);
        Ok(doc.clone())
    })
    .await?;
    Ok(answer_with_warnings(ctx, &doc, warnings))
}

/// ReimportApi: the API's routes, integrations, authorizers and CORS replaced by a document's.
pub async fn reimport(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let spec = parse(s(&input, "body"))?;
    let imported = read(i, &spec);
    check_warnings(&input, &imported.warnings)?;
    let warnings = imported.warnings.clone();
    let id = s(&input, "apiId").to_string();
    let doc = apis::modify(i, ctx, &id, true, move |doc| {
        if doc.is_websocket() {
            return Err(bad_request("Import is supported only for HTTP APIs"));
        }
        apply(doc, &spec, imported);
        Ok(doc.clone())
    })
    .await?;
    Ok(answer_with_warnings(ctx, &doc, warnings))
}

fn integration_extension(x: &Value) -> Value {
    let mut out = json!({
        "type": s(x, "integrationType").to_ascii_lowercase(),
        "uri": x.get("integrationUri").cloned().unwrap_or(Value::Null),
        "payloadFormatVersion": x.get("payloadFormatVersion").cloned().unwrap_or(json!("1.0")),
        "connectionType": x.get("connectionType").cloned().unwrap_or(json!("INTERNET")),
    });
    if let Some(m) = x.get("integrationMethod") {
        out["httpMethod"] = m.clone();
    }
    if let Some(t) = x.get("timeoutInMillis") {
        out["timeoutInMillis"] = t.clone();
    }
    if let Some(c) = x.get("credentialsArn") {
        out["credentials"] = c.clone();
    }
    out
}

/// ExportApi: the API (or the deployment a stage serves) as an OpenAPI 3.0 document.
pub async fn export(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    if !s(&input, "specification").eq_ignore_ascii_case("OAS30") {
        return Err(bad_request(format!("Unsupported specification {}: OAS30 is", s(&input, "specification"))));
    }
    let output = s(&input, "outputType").to_ascii_uppercase();
    if output != "JSON" && output != "YAML" {
        return Err(bad_request(format!("Invalid output type {}: JSON or YAML", s(&input, "outputType"))));
    }
    let extensions = !matches!(input.get("includeExtensions"), Some(Value::Bool(false)))
        && input.get("includeExtensions").and_then(Value::as_str) != Some("false");
    let doc = apis::load(i, ctx, s(&input, "apiId")).await?;
    if doc.is_websocket() {
        return Err(bad_request("Export is supported only for HTTP APIs"));
    }
    let (routes, integrations, authorizers) = match input.get("stageName").and_then(Value::as_str) {
        Some(stage) => {
            let st = doc.stages.get(stage).ok_or_else(|| crate::errors::stage_not_found(stage))?;
            let dep_id = s(st, "deploymentId").to_string();
            let key = store::deployment_key(&ctx.account, &ctx.region, doc.id(), &dep_id);
            let dep: store::DeploymentDoc = i
                .store
                .read(move |r| store::get_json(r, &key))
                .await?
                .ok_or_else(|| crate::errors::deployment_not_found(&dep_id))?;
            (dep.routes, dep.integrations, dep.authorizers)
        }
        None => (doc.routes.clone(), doc.integrations.clone(), doc.authorizers.clone()),
    };
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for r in routes.values() {
        let key = s(r, "routeKey");
        let (method, path) = match key.split_once(' ') {
            Some((m, p)) => (m, p.to_string()),
            None => ("ANY", "/$default".to_string()),
        };
        let op_key =
            METHODS.iter().find(|(_, m)| *m == method).map(|(k, _)| *k).unwrap_or("x-amazon-apigateway-any-method");
        let mut op = Map::new();
        if let Some(n) = r.get("operationName") {
            op.insert("operationId".into(), n.clone());
        }
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|v| v.strip_suffix('}')))
            .map(|v| json!({"name": v.trim_end_matches('+'), "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        op.insert("responses".into(), json!({"default": {"description": format!("Default response for {key}")}}));
        if let Some(a) = r.get("authorizerId").and_then(Value::as_str).and_then(|id| authorizers.get(id)) {
            let scopes = r.get("authorizationScopes").cloned().unwrap_or_else(|| json!([]));
            op.insert("security".into(), json!([{ s(a, "name"): scopes }]));
        } else if s(r, "authorizationType") == "AWS_IAM" {
            op.insert("security".into(), json!([{"sigv4": []}]));
        }
        if extensions
            && let Some(x) = r
                .get("target")
                .and_then(Value::as_str)
                .and_then(|t| t.strip_prefix("integrations/"))
                .and_then(|id| integrations.get(id))
        {
            op.insert("x-amazon-apigateway-integration".into(), integration_extension(x));
        }
        paths.entry(path).or_default().insert(op_key.to_string(), Value::Object(op));
    }
    let mut out = json!({
        "openapi": "3.0.1",
        "info": {
            "title": doc.api.get("name").cloned().unwrap_or(Value::Null),
            "version": doc.api.get("version").cloned().unwrap_or_else(|| json!(store::timestamp(i.now()))),
        },
        "paths": paths,
    });
    if let Some(d) = doc.api.get("description") {
        out["info"]["description"] = d.clone();
    }
    if extensions {
        let mut schemes = Map::new();
        for a in authorizers.values() {
            let mut x = json!({"type": s(a, "authorizerType").to_ascii_lowercase(), "identitySource": a.get("identitySource").map(|v| match v {
                Value::Array(l) => json!(l.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
                other => other.clone(),
            }).unwrap_or(Value::Null)});
            for k in [
                "jwtConfiguration",
                "authorizerUri",
                "authorizerPayloadFormatVersion",
                "enableSimpleResponses",
                "authorizerResultTtlInSeconds",
            ] {
                if let Some(v) = a.get(k) {
                    x[k] = v.clone();
                }
            }
            let scheme = if s(a, "authorizerType") == "JWT" {
                json!({"type": "oauth2", "flows": {}, "x-amazon-apigateway-authorizer": x})
            } else {
                json!({"type": "apiKey", "name": "Unused", "in": "header", "x-amazon-apigateway-authorizer": x})
            };
            schemes.insert(s(a, "name").to_string(), scheme);
        }
        if routes.values().any(|r| s(r, "authorizationType") == "AWS_IAM") {
            schemes.insert("sigv4".into(), json!({"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "awsSigv4"}));
        }
        if !schemes.is_empty() {
            out["components"] = json!({ "securitySchemes": schemes });
        }
        if let Some(c) = doc.api.get("corsConfiguration") {
            out["x-amazon-apigateway-cors"] = c.clone();
        }
        out["x-amazon-apigateway-importexport-version"] = json!("1.0");
    }
    let text = if output == "YAML" {
        serde_yaml::to_string(&out).map_err(|e| AwsError::internal(e.to_string()))?
    } else {
        serde_json::to_string(&out).map_err(|e| AwsError::internal(e.to_string()))?
    };
    Ok(json!({ "body": STANDARD.encode(text) }))
}
