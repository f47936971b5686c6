//! OpenAPI 3 and Swagger 2 documents (JSON or YAML) with API Gateway's `x-amazon-apigateway-*`
//! extensions: ImportRestApi, PutRestApi (merge or overwrite) and GetExport.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};
use stratus_core::RequestContext;
use stratus_proto::AwsError;

use crate::errors::bad_request;
use crate::resources::HTTP_METHODS;
use crate::restapis::{self, modify};
use crate::store::{self, ApiDoc, ResourceDoc};
use crate::{Inner, s};

const MODEL_URI: &str = "https://apigateway.amazonaws.com/restapis";

/// The document in a request's body.
fn parse_body(input: &Value) -> Result<Value, AwsError> {
    let raw = STANDARD.decode(s(input, "body")).map_err(|_| bad_request("Invalid body"))?;
    let text = String::from_utf8(raw).map_err(|_| bad_request("Invalid OpenAPI input: the body is not UTF-8"))?;
    let v: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => serde_yaml::from_str(&text).map_err(|e| bad_request(format!("Invalid OpenAPI input: {e}")))?,
    };
    if !v.is_object() || (v.get("swagger").is_none() && v.get("openapi").is_none()) {
        return Err(bad_request("Invalid OpenAPI input: the document names neither 'swagger' nor 'openapi'"));
    }
    Ok(v)
}

fn param(input: &Value, name: &str) -> Option<String> {
    input.get("parameters").and_then(|p| p.get(name)).and_then(Value::as_str).map(str::to_string)
}

/// The document's base path (Swagger `basePath`, OpenAPI 3 `servers[0].url`'s path).
fn base_path(spec: &Value) -> String {
    if let Some(b) = spec.get("basePath").and_then(Value::as_str) {
        return b.to_string();
    }
    let url = spec.pointer("/servers/0/url").and_then(Value::as_str).unwrap_or("");
    let default = spec.pointer("/servers/0/variables/basePath/default").and_then(Value::as_str).unwrap_or("");
    let url = url.replace("{basePath}", default.trim_start_matches('/'));
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url.as_str(),
    };
    path.to_string()
}

/// Everything an import builds, to put into an API document.
struct Built {
    doc: ApiDoc,
    warnings: Vec<String>,
}

fn upper(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_ascii_uppercase)
}

fn model_name(reference: &str) -> Option<String> {
    reference.rsplit('/').next().map(str::to_string)
}

/// Rewrites `#/definitions/X` and `#/components/schemas/X` references to API Gateway's model
/// URIs.
fn rewrite_refs(v: &mut Value, api: &str) {
    match v {
        Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                if k == "$ref"
                    && let Some(r) = val.as_str()
                    && (r.starts_with("#/definitions/") || r.starts_with("#/components/schemas/"))
                    && let Some(name) = model_name(r)
                {
                    *val = Value::String(format!("{MODEL_URI}/{api}/models/{name}"));
                } else {
                    rewrite_refs(val, api);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_refs(x, api)),
        _ => {}
    }
}

fn integration_of(x: &Value, resource_id: &str) -> Value {
    let mut integ = json!({
        "type": upper(x.get("type")).unwrap_or_else(|| "MOCK".into()),
        "passthroughBehavior": upper(x.get("passthroughBehavior")).unwrap_or_else(|| "WHEN_NO_MATCH".into()),
        "timeoutInMillis": x.get("timeoutInMillis").and_then(Value::as_i64).unwrap_or(29000),
        "cacheNamespace": x.get("cacheNamespace").and_then(Value::as_str).unwrap_or(resource_id),
        "cacheKeyParameters": x.get("cacheKeyParameters").cloned().unwrap_or(json!([])),
    });
    for k in [
        "uri",
        "credentials",
        "requestParameters",
        "requestTemplates",
        "contentHandling",
        "connectionId",
        "connectionType",
        "tlsConfig",
    ] {
        if let Some(v) = x.get(k).filter(|v| !v.is_null()) {
            integ[k] = v.clone();
        }
    }
    if let Some(m) = x.get("httpMethod").and_then(Value::as_str) {
        integ["httpMethod"] = json!(m.to_ascii_uppercase());
    }
    let mut responses = Map::new();
    for (pattern, r) in x.get("responses").and_then(Value::as_object).into_iter().flatten() {
        let code = match r.get("statusCode") {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => "200".to_string(),
        };
        let mut ir = json!({"statusCode": code});
        if pattern != "default" {
            ir["selectionPattern"] = json!(pattern);
        }
        for k in ["responseParameters", "responseTemplates", "contentHandling"] {
            if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
                ir[k] = v.clone();
            }
        }
        responses.insert(code, ir);
    }
    if !responses.is_empty() {
        integ["integrationResponses"] = Value::Object(responses);
    }
    integ
}

/// Builds the API's resources, methods, models, authorizers, validators and gateway responses
/// from the document, onto `doc` (which has the API's own attributes and a root).
fn build(i: &Inner, spec: &Value, mut doc: ApiDoc, mode: &str) -> Result<Built, AwsError> {
    let mut warnings = Vec::new();
    let api_id = doc.id().to_string();
    let swagger = spec.get("swagger").is_some();
    // Models.
    let schemas = if swagger { spec.get("definitions") } else { spec.pointer("/components/schemas") };
    for (name, schema) in schemas.and_then(Value::as_object).into_iter().flatten() {
        let mut schema = schema.clone();
        rewrite_refs(&mut schema, &api_id);
        let existing = doc.models.get(name).and_then(|m| m.get("id")).cloned();
        doc.models.insert(
            name.clone(),
            json!({"id": existing.unwrap_or_else(|| json!(i.id(6))), "name": name, "contentType": "application/json", "schema": serde_json::to_string_pretty(&schema).unwrap_or_default()}),
        );
    }
    // Authorizers.
    let schemes = if swagger { spec.get("securityDefinitions") } else { spec.pointer("/components/securitySchemes") };
    let mut authorizer_ids: BTreeMap<String, (String, String)> = BTreeMap::new();
    for (name, scheme) in schemes.and_then(Value::as_object).into_iter().flatten() {
        let auth_type = scheme.get("x-amazon-apigateway-authtype").and_then(Value::as_str).unwrap_or("");
        let Some(x) = scheme.get("x-amazon-apigateway-authorizer") else {
            if auth_type == "awsSigv4" || name == "sigv4" {
                authorizer_ids.insert(name.clone(), (String::new(), "AWS_IAM".into()));
            } else if scheme.get("type").and_then(Value::as_str) == Some("apiKey")
                && scheme.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
            {
                authorizer_ids.insert(name.clone(), (String::new(), "API_KEY".into()));
            }
            continue;
        };
        let kind = upper(x.get("type")).unwrap_or_else(|| "TOKEN".into());
        let id = doc
            .authorizers
            .values()
            .find(|a| s(a, "name") == name)
            .map(|a| s(a, "id").to_string())
            .unwrap_or_else(|| i.id(6));
        let mut a = json!({"id": id, "name": name, "type": kind});
        if !auth_type.is_empty() {
            a["authType"] = json!(auth_type);
        }
        let identity = match x.get("identitySource").and_then(Value::as_str) {
            Some(src) => Some(src.to_string()),
            None if scheme.get("in").and_then(Value::as_str) == Some("header") => {
                scheme.get("name").and_then(Value::as_str).map(|n| format!("method.request.header.{n}"))
            }
            None => None,
        };
        if let Some(src) = identity {
            a["identitySource"] = json!(src);
        }
        for k in [
            "authorizerUri",
            "authorizerCredentials",
            "identityValidationExpression",
            "authorizerResultTtlInSeconds",
            "providerARNs",
        ] {
            if let Some(v) = x.get(k).filter(|v| !v.is_null()) {
                a[k] = v.clone();
            }
        }
        let method_auth = if kind == "COGNITO_USER_POOLS" { "COGNITO_USER_POOLS" } else { "CUSTOM" };
        authorizer_ids.insert(name.clone(), (id.clone(), method_auth.into()));
        doc.authorizers.insert(id, a);
    }
    // Request validators.
    let mut validator_ids: BTreeMap<String, String> = BTreeMap::new();
    for (name, v) in spec.get("x-amazon-apigateway-request-validators").and_then(Value::as_object).into_iter().flatten()
    {
        let id = doc
            .validators
            .values()
            .find(|x| s(x, "name") == name)
            .map(|x| s(x, "id").to_string())
            .unwrap_or_else(|| i.id(6));
        doc.validators.insert(
            id.clone(),
            json!({"id": id, "name": name,
                "validateRequestBody": v.get("validateRequestBody").and_then(Value::as_bool).unwrap_or(false),
                "validateRequestParameters": v.get("validateRequestParameters").and_then(Value::as_bool).unwrap_or(false)}),
        );
        validator_ids.insert(name.clone(), id);
    }
    let default_validator = spec
        .get("x-amazon-apigateway-request-validator")
        .and_then(Value::as_str)
        .and_then(|n| validator_ids.get(n))
        .cloned();
    // Gateway responses.
    for (t, r) in spec.get("x-amazon-apigateway-gateway-responses").and_then(Value::as_object).into_iter().flatten() {
        let mut gr =
            json!({"responseType": t, "defaultResponse": false, "responseParameters": {}, "responseTemplates": {}});
        for k in ["statusCode", "responseParameters", "responseTemplates"] {
            if let Some(v) = r.get(k).filter(|v| !v.is_null()) {
                gr[k] = if k == "statusCode" {
                    json!(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                } else {
                    v.clone()
                };
            }
        }
        doc.gateway_responses.insert(t.clone(), gr);
    }
    if let Some(types) = spec.get("x-amazon-apigateway-binary-media-types").and_then(Value::as_array) {
        let mut list: Vec<Value> = if mode == "merge" {
            doc.api.get("binaryMediaTypes").and_then(Value::as_array).cloned().unwrap_or_default()
        } else {
            Vec::new()
        };
        for t in types {
            if !list.contains(t) {
                list.push(t.clone());
            }
        }
        doc.api["binaryMediaTypes"] = Value::Array(list);
    }
    if let Some(src) = spec.get("x-amazon-apigateway-api-key-source").and_then(Value::as_str) {
        doc.api["apiKeySource"] = json!(src.to_ascii_uppercase());
    }
    if let Some(p) = spec.get("x-amazon-apigateway-policy").filter(|p| p.is_object()) {
        doc.api["policy"] = json!(p.to_string().replace('"', "\\\""));
    }
    if let Some(m) = spec.get("x-amazon-apigateway-minimum-compression-size").and_then(Value::as_i64) {
        doc.api["minimumCompressionSize"] = json!(m);
    }
    let global_security = spec.get("security").cloned();
    // Paths.
    let base = base_path(spec);
    let base_mode = "ignore";
    let _ = base_mode;
    for (raw_path, item) in spec.get("paths").and_then(Value::as_object).into_iter().flatten() {
        let path = raw_path.clone();
        let resource_id = ensure_path(i, &mut doc, &path)?;
        for (verb, op) in item.as_object().into_iter().flatten() {
            let method =
                if verb == "x-amazon-apigateway-any-method" { "ANY".to_string() } else { verb.to_ascii_uppercase() };
            if !HTTP_METHODS.contains(&method.as_str()) {
                continue;
            }
            let mut m = json!({"httpMethod": method, "authorizationType": "NONE", "apiKeyRequired": false});
            if let Some(n) = op.get("operationId").and_then(Value::as_str) {
                m["operationName"] = json!(n);
            }
            // Parameters (path-item level and operation level).
            let mut params = Map::new();
            let all_params = item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten());
            let mut body_model = None;
            for p in all_params {
                let (Some(name), Some(location)) =
                    (p.get("name").and_then(Value::as_str), p.get("in").and_then(Value::as_str))
                else {
                    continue;
                };
                let key = match location {
                    "header" => format!("method.request.header.{name}"),
                    "query" => format!("method.request.querystring.{name}"),
                    "path" => format!("method.request.path.{name}"),
                    "body" => {
                        body_model = p.pointer("/schema/$ref").and_then(Value::as_str).and_then(model_name);
                        continue;
                    }
                    _ => continue,
                };
                params.insert(key, json!(p.get("required").and_then(Value::as_bool).unwrap_or(false)));
            }
            if !params.is_empty() {
                m["requestParameters"] = Value::Object(params);
            }
            let body_ref = body_model.or_else(|| {
                op.pointer("/requestBody/content/application~1json/schema/$ref")
                    .and_then(Value::as_str)
                    .and_then(model_name)
            });
            if let Some(model) = body_ref {
                if doc.models.contains_key(&model) {
                    m["requestModels"] = json!({"application/json": model});
                } else {
                    warnings.push(format!("Unable to find model {model} referenced by {method} {path}"));
                }
            }
            let validator = op
                .get("x-amazon-apigateway-request-validator")
                .and_then(Value::as_str)
                .and_then(|n| validator_ids.get(n))
                .cloned()
                .or_else(|| default_validator.clone());
            if let Some(v) = validator {
                m["requestValidatorId"] = json!(v);
            }
            let security = op.get("security").cloned().or_else(|| global_security.clone());
            for req in security.as_ref().and_then(Value::as_array).into_iter().flatten() {
                for (scheme, scopes) in req.as_object().into_iter().flatten() {
                    match authorizer_ids.get(scheme) {
                        Some((_, kind)) if kind == "API_KEY" => m["apiKeyRequired"] = json!(true),
                        Some((id, kind)) if kind == "AWS_IAM" => {
                            let _ = id;
                            m["authorizationType"] = json!("AWS_IAM");
                        }
                        Some((id, kind)) => {
                            m["authorizationType"] = json!(kind);
                            m["authorizerId"] = json!(id);
                            if scopes.as_array().is_some_and(|a| !a.is_empty()) {
                                m["authorizationScopes"] = scopes.clone();
                            }
                        }
                        None => warnings.push(format!("Unknown security scheme {scheme} on {method} {path}")),
                    }
                }
            }
            // Method responses.
            let mut responses = Map::new();
            for (code, r) in op.get("responses").and_then(Value::as_object).into_iter().flatten() {
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    continue;
                }
                let mut mr = json!({"statusCode": code});
                let headers: Map<String, Value> = r
                    .get("headers")
                    .and_then(Value::as_object)
                    .map(|h| h.keys().map(|k| (format!("method.response.header.{k}"), json!(false))).collect())
                    .unwrap_or_default();
                if !headers.is_empty() {
                    mr["responseParameters"] = Value::Object(headers);
                }
                let model = r
                    .pointer("/schema/$ref")
                    .or_else(|| r.pointer("/content/application~1json/schema/$ref"))
                    .and_then(Value::as_str)
                    .and_then(model_name);
                if let Some(model) = model {
                    mr["responseModels"] = json!({"application/json": model});
                }
                responses.insert(code.clone(), mr);
            }
            if !responses.is_empty() {
                m["methodResponses"] = Value::Object(responses);
            }
            if let Some(x) = op.get("x-amazon-apigateway-integration") {
                let integ = integration_of(x, &resource_id);
                m["methodIntegration"] = integ;
            }
            if let Some(r) = doc.resources.get_mut(&resource_id) {
                r.methods.insert(method, m);
            }
        }
    }
    let _ = base;
    Ok(Built { doc, warnings })
}

/// The id of the resource at `path`, creating it and its parents.
fn ensure_path(i: &Inner, doc: &mut ApiDoc, path: &str) -> Result<String, AwsError> {
    let mut current = doc.root_id().to_string();
    let mut built = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        built.push('/');
        built.push_str(part);
        let existing = doc.resources.values().find(|r| r.path == built).map(|r| r.id.clone());
        current = match existing {
            Some(id) => id,
            None => {
                let id = i.id(6);
                doc.resources.insert(
                    id.clone(),
                    ResourceDoc {
                        id: id.clone(),
                        parent_id: Some(current.clone()),
                        path_part: Some(part.to_string()),
                        path: built.clone(),
                        methods: Default::default(),
                    },
                );
                id
            }
        };
    }
    Ok(current)
}

fn apply_info(doc: &mut ApiDoc, spec: &Value) {
    if let Some(t) = spec.pointer("/info/title").and_then(Value::as_str) {
        doc.api["name"] = json!(t);
    }
    if let Some(d) = spec.pointer("/info/description").and_then(Value::as_str) {
        doc.api["description"] = json!(d);
    }
    if let Some(v) = spec.pointer("/info/version") {
        doc.api["version"] = json!(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
    }
}

pub async fn import(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let spec = parse_body(&input)?;
    let name = spec.pointer("/info/title").and_then(Value::as_str).unwrap_or("").to_string();
    if name.is_empty() {
        return Err(bad_request("Invalid OpenAPI input: info.title is required"));
    }
    let mut create = json!({"name": name});
    if let Some(t) = param(&input, "endpointConfigurationTypes") {
        create["endpointConfiguration"] = json!({"types": [t]});
    }
    let mut doc = restapis::new_doc(i, &create)?;
    apply_info(&mut doc, &spec);
    let built = build(i, &spec, doc, "overwrite")?;
    if !built.warnings.is_empty() && input.get("failOnWarnings").and_then(Value::as_bool) == Some(true) {
        return Err(bad_request(format!("Warnings found during import:\n\t{}", built.warnings.join("\n\t"))));
    }
    let mut out = built.doc.api.clone();
    if !built.warnings.is_empty() {
        out["warnings"] = json!(built.warnings);
    }
    restapis::save_new(i, ctx, built.doc).await?;
    Ok(out)
}

pub async fn put(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let spec = parse_body(&input)?;
    let mode = input.get("mode").and_then(Value::as_str).unwrap_or("merge").to_string();
    let fail = input.get("failOnWarnings").and_then(Value::as_bool) == Some(true);
    let ids: Vec<String> = (0..64).map(|_| i.id(6)).collect();
    let _ = ids;
    let (store_ref, env) = (i.store.clone(), i.env.clone());
    let _ = (store_ref, env);
    let current = restapis::load(i, ctx, s(&input, "restApiId")).await?;
    let mut doc = current.clone();
    if mode == "overwrite" {
        let root = doc.root_id().to_string();
        doc.resources.retain(|id, _| *id == root);
        if let Some(r) = doc.resources.get_mut(&root) {
            r.methods.clear();
        }
        doc.authorizers.clear();
        doc.validators.clear();
        doc.gateway_responses.clear();
        doc.models.retain(|n, _| n == "Empty" || n == "Error");
    }
    apply_info(&mut doc, &spec);
    let built = build(i, &spec, doc, &mode)?;
    if !built.warnings.is_empty() && fail {
        return Err(bad_request(format!("Warnings found during import:\n\t{}", built.warnings.join("\n\t"))));
    }
    let new_doc = built.doc;
    let warnings = built.warnings;
    let out = modify(i, ctx, s(&input, "restApiId"), move |doc| {
        *doc = new_doc;
        let mut out = doc.api.clone();
        if out.get("tags").is_none() {
            out["tags"] = json!({});
        }
        if !warnings.is_empty() {
            out["warnings"] = json!(warnings);
        }
        Ok(out)
    })
    .await?;
    i.runtime.forget_api(s(&input, "restApiId"));
    Ok(out)
}

/// GetExport: the deployed API of a stage as `oas30` or `swagger`, JSON or YAML, with the
/// API Gateway extensions when asked.
pub async fn export(i: &Inner, ctx: &RequestContext, input: Value) -> Result<Value, AwsError> {
    let kind = s(&input, "exportType").to_string();
    if kind != "oas30" && kind != "swagger" {
        return Err(bad_request(format!("Invalid export type specified: {kind}")));
    }
    let stage = crate::deployments::load_stage(i, ctx, s(&input, "restApiId"), s(&input, "stageName")).await?;
    let (account, region, api) = (ctx.account.clone(), ctx.region.clone(), s(&input, "restApiId").to_string());
    let dep_key = store::deployment_key(&account, &region, &api, s(&stage, "deploymentId"));
    let dep: store::DeploymentDoc =
        i.store.read(move |r| store::get_json(r, &dep_key)).await?.ok_or_else(crate::errors::deployment_not_found)?;
    let extensions = param(&input, "extensions").unwrap_or_default();
    let with_integrations = extensions.contains("integrations") || extensions.contains("apigateway");
    let with_authorizers = extensions.contains("authorizers") || extensions.contains("apigateway");
    let doc = &dep.snapshot;
    let swagger = kind == "swagger";
    let mut paths = Map::new();
    let mut resources: Vec<&ResourceDoc> = doc.resources.values().filter(|r| !r.methods.is_empty()).collect();
    resources.sort_by(|a, b| a.path.cmp(&b.path));
    for r in resources {
        let mut item = Map::new();
        for (verb, m) in &r.methods {
            let key =
                if verb == "ANY" { "x-amazon-apigateway-any-method".to_string() } else { verb.to_ascii_lowercase() };
            let mut op = Map::new();
            if let Some(n) = m.get("operationName") {
                op.insert("operationId".into(), n.clone());
            }
            let mut parameters = Vec::new();
            for (p, required) in m.get("requestParameters").and_then(Value::as_object).into_iter().flatten() {
                let (location, name) = if let Some(n) = p.strip_prefix("method.request.header.") {
                    ("header", n)
                } else if let Some(n) = p.strip_prefix("method.request.querystring.") {
                    ("query", n)
                } else if let Some(n) = p.strip_prefix("method.request.path.") {
                    ("path", n)
                } else {
                    continue;
                };
                let mut param = json!({"name": name, "in": location, "required": location == "path" || required.as_bool() == Some(true)});
                if swagger {
                    param["type"] = json!("string");
                } else {
                    param["schema"] = json!({"type": "string"});
                }
                parameters.push(param);
            }
            if !parameters.is_empty() {
                op.insert("parameters".into(), Value::Array(parameters));
            }
            let mut responses = Map::new();
            for (code, mr) in m.get("methodResponses").and_then(Value::as_object).into_iter().flatten() {
                let mut resp = json!({"description": format!("{code} response")});
                if let Some(model) = mr.pointer("/responseModels/application~1json").and_then(Value::as_str) {
                    let reference = if swagger {
                        format!("#/definitions/{model}")
                    } else {
                        format!("#/components/schemas/{model}")
                    };
                    if swagger {
                        resp["schema"] = json!({"$ref": reference});
                    } else {
                        resp["content"] = json!({"application/json": {"schema": {"$ref": reference}}});
                    }
                }
                responses.insert(code.clone(), resp);
            }
            op.insert("responses".into(), Value::Object(responses));
            if let Some(id) = m.get("authorizerId").and_then(Value::as_str)
                && let Some(a) = doc.authorizers.get(id)
            {
                op.insert("security".into(), json!([{ s(a, "name"): [] }]));
            }
            if with_integrations && let Some(integ) = m.get("methodIntegration") {
                let mut x = integ.clone();
                if let Some(o) = x.as_object_mut() {
                    o.insert("type".into(), json!(s(integ, "type").to_ascii_lowercase()));
                    o.insert("passthroughBehavior".into(), json!(s(integ, "passthroughBehavior").to_ascii_lowercase()));
                    if let Some(Value::Object(rs)) = o.remove("integrationResponses") {
                        let mapped: Map<String, Value> = rs
                            .into_values()
                            .map(|mut r| {
                                let pattern =
                                    r.get("selectionPattern").and_then(Value::as_str).unwrap_or("default").to_string();
                                r.as_object_mut().map(|o| o.remove("selectionPattern"));
                                (pattern, r)
                            })
                            .collect();
                        o.insert("responses".into(), Value::Object(mapped));
                    }
                }
                op.insert("x-amazon-apigateway-integration".into(), x);
            }
            item.insert(key, Value::Object(op));
        }
        paths.insert(r.path.clone(), Value::Object(item));
    }
    let title = s(&doc.api, "name");
    let version = doc.api.get("version").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| {
        let secs = dep.deployment.get("createdDate").and_then(Value::as_u64).unwrap_or(0);
        stratus_core::time::iso8601_secs(secs)
    });
    let mut out = if swagger {
        json!({"swagger": "2.0", "info": {"version": version, "title": title}, "host": format!("{api}.execute-api.{region}.amazonaws.com"), "basePath": format!("/{}", s(&stage, "stageName")), "schemes": ["https"], "paths": paths})
    } else {
        json!({"openapi": "3.0.1", "info": {"title": title, "version": version}, "servers": [{"url": format!("https://{api}.execute-api.{region}.amazonaws.com/{{basePath}}"), "variables": {"basePath": {"default": s(&stage, "stageName")}}}], "paths": paths})
    };
    if let Some(d) = doc.api.get("description") {
        out["info"]["description"] = d.clone();
    }
    let models: Map<String, Value> = doc
        .models
        .iter()
        .filter_map(|(n, m)| {
            let mut schema: Value = serde_json::from_str(m.get("schema")?.as_str()?).ok()?;
            unrewrite_refs(&mut schema, swagger);
            Some((n.clone(), schema))
        })
        .collect();
    if swagger {
        out["definitions"] = Value::Object(models);
    } else {
        out["components"] = json!({"schemas": models});
    }
    if with_authorizers && !doc.authorizers.is_empty() {
        let defs: Map<String, Value> = doc
            .authorizers
            .values()
            .map(|a| {
                let header = s(a, "identitySource").strip_prefix("method.request.header.").unwrap_or("Authorization").to_string();
                let mut x = json!({"type": s(a, "type").to_ascii_lowercase()});
                for k in ["authorizerUri", "authorizerCredentials", "identitySource", "identityValidationExpression", "authorizerResultTtlInSeconds", "providerARNs"] {
                    if let Some(v) = a.get(k) {
                        x[k] = v.clone();
                    }
                }
                (s(a, "name").to_string(), json!({"type": "apiKey", "name": header, "in": "header", "x-amazon-apigateway-authtype": a.get("authType").cloned().unwrap_or(json!("custom")), "x-amazon-apigateway-authorizer": x}))
            })
            .collect();
        if swagger {
            out["securityDefinitions"] = Value::Object(defs);
        } else {
            out["components"]["securitySchemes"] = Value::Object(defs);
        }
    }
    if let Some(b) = doc.api.get("binaryMediaTypes").filter(|b| b.as_array().is_some_and(|a| !a.is_empty())) {
        out["x-amazon-apigateway-binary-media-types"] = b.clone();
    }
    let yaml = s(&input, "accepts").contains("yaml");
    let (body, content_type) = if yaml {
        (serde_yaml::to_string(&out).map_err(|e| AwsError::internal(e.to_string()))?, "application/yaml")
    } else {
        (serde_json::to_string_pretty(&out).map_err(|e| AwsError::internal(e.to_string()))?, "application/json")
    };
    let ext = if yaml { "yaml" } else { "json" };
    Ok(json!({
        "body": STANDARD.encode(body),
        "contentType": content_type,
        "contentDisposition": format!("attachment; filename=\"{kind}_{}.{ext}\"", chrono_free_stamp(&stage)),
    }))
}

fn chrono_free_stamp(stage: &Value) -> String {
    let secs = stage.get("lastUpdatedDate").and_then(Value::as_u64).unwrap_or(0);
    stratus_core::time::iso8601_secs(secs).replace([':', '-'], "").replace('T', "_").trim_end_matches('Z').to_string()
}

fn unrewrite_refs(v: &mut Value, swagger: bool) {
    match v {
        Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                if k == "$ref"
                    && let Some(r) = val.as_str()
                    && r.starts_with(MODEL_URI)
                    && let Some(name) = model_name(r)
                {
                    *val = Value::String(if swagger {
                        format!("#/definitions/{name}")
                    } else {
                        format!("#/components/schemas/{name}")
                    });
                } else {
                    unrewrite_refs(val, swagger);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| unrewrite_refs(x, swagger)),
        _ => {}
    }
}
