//! Who may call a route of an HTTP API: `AWS_IAM` (a SigV4 signature, decided by IAM through
//! [`Backends::may_invoke`]), `JWT` (a token from the identity source, checked against the
//! authorizer's issuer and audiences and verified with the issuer's JWKS, fetched from its
//! OpenID configuration and kept for an hour; the route's scopes), and `CUSTOM` (a Lambda
//! REQUEST authorizer, payload 1.0 or 2.0, simple or IAM-policy answers, kept for the
//! authorizer's TTL by its identity values). Also the `$connect` authorizer of WebSocket APIs.
//!
//! Each answers the `requestContext.authorizer` the integration's event carries, or AWS's
//! refusal: 401 `{"message":"Unauthorized"}` (no or a bad identity), 403
//! `{"message":"Forbidden"}` (denied), 500 `{"message":"Internal Server Error"}` (the
//! authorizer failed).

use std::time::Duration;

use serde_json::{Map, Value, json};
use stratus_core::http::{Caller, policy_decision};
use stratus_iam::jwt::Jwt;

use super::{Backends, Call, HttpAnswer, message};
use crate::Inner;
use crate::store::DeploymentDoc;

/// How long an issuer's keys are kept.
const JWKS_TTL_MS: u64 = 3_600_000;
/// Keys at least this old are fetched again when a token's signature does not verify with them
/// (the issuer may have rotated its keys).
const JWKS_REFRESH_MS: u64 = 60_000;

/// Authorizer answers and issuer keys, in memory.
#[derive(Default)]
pub struct AuthCache {
    /// (authorizer, identity values) → (the function's answer, until).
    answers: std::collections::HashMap<String, (Value, u64)>,
    /// issuer → (JWKS, fetched at).
    jwks: std::collections::HashMap<String, (Value, u64)>,
}

fn unauthorized(challenge: Option<String>) -> HttpAnswer {
    let mut a = message(401, "Unauthorized");
    if let Some(c) = challenge {
        a.set_header("www-authenticate", c);
    }
    a
}

fn invalid_token(description: &str) -> HttpAnswer {
    unauthorized(Some(format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{description}\"")))
}

fn forbidden() -> HttpAnswer {
    message(403, "Forbidden")
}

/// The route's authorization, run before its integration: the `authorizer` member of the
/// event's `requestContext` (None for routes without authorization).
pub(crate) async fn authorize(
    i: &Inner,
    c: &Call<'_>,
    route: &Value,
    dep: &DeploymentDoc,
    backends: &dyn Backends,
    v2: bool,
) -> Result<Option<Value>, HttpAnswer> {
    match route.get("authorizationType").and_then(Value::as_str).unwrap_or("NONE") {
        "AWS_IAM" => iam(c, backends).await.map(Some),
        "JWT" => {
            let a = authorizer_of(route, dep)?;
            jwt(i, c, a, route, backends, v2).await.map(Some)
        }
        "CUSTOM" => {
            let a = authorizer_of(route, dep)?;
            lambda(i, c, a, backends).await.map(Some)
        }
        _ => Ok(None),
    }
}

fn authorizer_of<'d>(route: &Value, dep: &'d DeploymentDoc) -> Result<&'d Value, HttpAnswer> {
    let id = route.get("authorizerId").and_then(Value::as_str).unwrap_or("");
    dep.authorizers.get(id).ok_or_else(|| message(500, "Internal Server Error"))
}

fn caller_context(caller: &Caller) -> Value {
    json!({
        "accessKey": caller.access_key,
        "accountId": caller.account,
        "callerId": caller.user_id,
        "cognitoIdentity": null,
        "principalOrgId": null,
        "userArn": caller.arn,
        "userId": caller.user_id,
    })
}

async fn iam(c: &Call<'_>, backends: &dyn Backends) -> Result<Value, HttpAnswer> {
    match &c.req.caller {
        None => Err(forbidden()),
        Some(Err((_, text))) => Err(message(403, text)),
        Some(Ok(caller)) => {
            if backends.may_invoke(caller, &c.route_arn()).await {
                Ok(json!({ "iam": caller_context(caller) }))
            } else {
                Err(forbidden())
            }
        }
    }
}

/// The value of an identity source (`$request.header.X`, `$request.querystring.x`,
/// `$stageVariables.x`, `$context.x`) for this request.
fn identity_value(c: &Call<'_>, source: &str) -> Option<String> {
    if let Some(name) = source.strip_prefix("$request.header.") {
        let values: Vec<&str> =
            c.req.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str()).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("$request.querystring.") {
        let values: Vec<&str> = c.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
        return (!values.is_empty()).then(|| values.join(","));
    }
    if let Some(name) = source.strip_prefix("$stageVariables.") {
        return c.stage_variables.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    }
    let name = source.strip_prefix("$context.")?;
    match name {
        "stage" => Some(c.stage.clone()),
        "routeKey" => Some(c.route_key.clone()),
        "requestId" => Some(c.request_id.clone()),
        "apiId" => Some(c.req.api_id.clone()),
        "domainName" => Some(c.domain_name().to_string()),
        "identity.sourceIp" => Some(c.req.source_ip.clone()),
        _ => None,
    }
}

fn sources(a: &Value) -> Vec<String> {
    a.get("identitySource")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// A claim as the event carries it: strings as they are, lists as `[a b]`, the rest as JSON.
fn claim_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(claim_text).collect();
            format!("[{}]", items.join(" "))
        }
        other => other.to_string(),
    }
}

fn token_scopes(claims: &Value) -> Vec<String> {
    let from = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let mut out = from(&claims["scope"]);
    out.extend(from(&claims["scp"]));
    out
}

/// The issuer's JWKS: `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
async fn fetch_jwks(issuer: &str, backends: &dyn Backends) -> Option<Value> {
    let get = |url: String| async move {
        let a = backends.http("GET", &url, Vec::new(), Vec::new(), Duration::from_secs(5)).await.ok()?;
        if a.status != 200 {
            return None;
        }
        serde_json::from_slice::<Value>(&a.body).ok()
    };
    let config = get(format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'))).await?;
    let uri = config.get("jwks_uri").and_then(Value::as_str)?.to_string();
    get(uri).await
}

async fn jwks(i: &Inner, issuer: &str, backends: &dyn Backends, fresher_than: Option<u64>) -> Option<Value> {
    let now = i.now();
    let cached = i.auth.lock().ok().and_then(|c| c.jwks.get(issuer).cloned());
    if let Some((keys, at)) = &cached {
        let young = now.saturating_sub(*at) < JWKS_TTL_MS;
        if young && fresher_than.is_none_or(|age| now.saturating_sub(*at) < age) {
            return Some(keys.clone());
        }
    }
    let fetched = fetch_jwks(issuer, backends).await;
    match fetched {
        Some(keys) => {
            if let Ok(mut c) = i.auth.lock() {
                c.jwks.insert(issuer.to_string(), (keys.clone(), now));
            }
            Some(keys)
        }
        None => cached.map(|(k, _)| k),
    }
}

async fn jwt(
    i: &Inner,
    c: &Call<'_>,
    a: &Value,
    route: &Value,
    backends: &dyn Backends,
    v2: bool,
) -> Result<Value, HttpAnswer> {
    let source = sources(a).into_iter().next().unwrap_or_default();
    let Some(raw) = identity_value(c, &source) else { return Err(unauthorized(Some("Bearer".into()))) };
    let token = match raw.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => raw[7..].trim().to_string(),
        _ => raw.trim().to_string(),
    };
    let Some(t) = Jwt::decode(&token) else { return Err(invalid_token("the token is malformed")) };
    let issuer = a.pointer("/jwtConfiguration/issuer").and_then(Value::as_str).unwrap_or("");
    if t.claims["iss"].as_str() != Some(issuer) {
        return Err(invalid_token("the token has an invalid issuer"));
    }
    let allowed: Vec<&str> = a
        .pointer("/jwtConfiguration/audience")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut audiences = t.audiences();
    if let Some(client) = t.claims["client_id"].as_str() {
        audiences.push(client.to_string());
    }
    if !audiences.iter().any(|x| allowed.contains(&x.as_str())) {
        return Err(invalid_token("the token does not have a valid audience"));
    }
    let now_s = i.now() / 1000;
    match t.claims["exp"].as_u64() {
        Some(exp) if exp > now_s => {}
        _ => return Err(invalid_token("the token has expired")),
    }
    if t.claims["nbf"].as_u64().is_some_and(|nbf| nbf > now_s + 60) {
        return Err(invalid_token("the token is not valid yet"));
    }
    let Some(keys) = jwks(i, issuer, backends, None).await else {
        return Err(invalid_token("the signing keys of the issuer cannot be read"));
    };
    let mut verified = t.verify(&keys).map_err(|e| invalid_token(&e))?;
    if !verified && let Some(newer) = jwks(i, issuer, backends, Some(JWKS_REFRESH_MS)).await {
        verified = t.verify(&newer).unwrap_or(false);
    }
    if !verified {
        return Err(invalid_token("the token signature is invalid"));
    }
    let scopes = token_scopes(&t.claims);
    let wanted: Vec<&str> = route
        .get("authorizationScopes")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !wanted.is_empty() && !wanted.iter().any(|w| scopes.iter().any(|s| s == w)) {
        let mut a = forbidden();
        a.set_header("www-authenticate", "Bearer scope=\"\" error=\"insufficient_scope\"".into());
        return Err(a);
    }
    let claims: Map<String, Value> = t
        .claims
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), Value::String(claim_text(v)))).collect())
        .unwrap_or_default();
    let scopes = if scopes.is_empty() { Value::Null } else { json!(scopes) };
    let jwt = json!({ "claims": claims, "scopes": scopes });
    Ok(if v2 { json!({ "jwt": jwt }) } else { jwt })
}

/// Runs a Lambda authorizer (or reuses its answer within the TTL) and reads its answer.
async fn lambda(i: &Inner, c: &Call<'_>, a: &Value, backends: &dyn Backends) -> Result<Value, HttpAnswer> {
    let version = a.get("authorizerPayloadFormatVersion").and_then(Value::as_str).unwrap_or("2.0");
    let simple = version == "2.0" && a.get("enableSimpleResponses").and_then(Value::as_bool) == Some(true);
    let names = sources(a);
    let mut values = Vec::with_capacity(names.len());
    for n in &names {
        match identity_value(c, n) {
            Some(v) => values.push(v),
            None => return Err(unauthorized(None)),
        }
    }
    let id = a.get("authorizerId").and_then(Value::as_str).unwrap_or("");
    let ttl = a.get("authorizerResultTtlInSeconds").and_then(Value::as_u64).unwrap_or(0);
    let cache_key =
        (!names.is_empty() && ttl > 0).then(|| format!("{}/{id}\u{1}{}", c.req.api_id, values.join("\u{1}")));
    let now = i.now();
    let cached = cache_key
        .as_ref()
        .and_then(|k| i.auth.lock().ok().and_then(|m| m.answers.get(k).cloned()))
        .filter(|(_, until)| *until > now)
        .map(|(v, _)| v);
    let answer = match cached {
        Some(v) => v,
        None => {
            let event = authorizer_event(c, version, &values);
            let Some(function) = a.get("authorizerUri").and_then(Value::as_str).and_then(crate::parts::function_of)
            else {
                return Err(message(500, "Internal Server Error"));
            };
            let source_arn = format!(
                "arn:{partition}:execute-api:{}:{}:{}/authorizers/{id}",
                c.region,
                c.account,
                c.req.api_id,
                partition = stratus_core::partition(&c.region)
            );
            let invoked = backends.invoke(function, &source_arn, event.to_string().into_bytes()).await;
            let answer = match invoked {
                Ok(r) if r.function_error.is_none() => serde_json::from_slice::<Value>(&r.payload).ok(),
                _ => None,
            };
            let Some(answer) = answer else { return Err(message(500, "Internal Server Error")) };
            if let Some(k) = cache_key
                && let Ok(mut m) = i.auth.lock()
            {
                if m.answers.len() > 10_000 {
                    m.answers.clear();
                }
                m.answers.insert(k, (answer.clone(), now + ttl * 1000));
            }
            answer
        }
    };
    let context = answer.get("context").filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({}));
    let allowed = if simple {
        match answer.get("isAuthorized").and_then(Value::as_bool) {
            Some(b) => b,
            None => return Err(message(500, "Internal Server Error")),
        }
    } else {
        let Some(policy) = answer.get("policyDocument") else { return Err(message(500, "Internal Server Error")) };
        policy_decision(policy, &c.route_arn()) == Some(true)
    };
    if !allowed {
        return Err(forbidden());
    }
    let mut lambda = context;
    if !simple && let Some(p) = answer.get("principalId") {
        lambda["principalId"] = p.clone();
    }
    Ok(json!({ "lambda": lambda }))
}

/// The REQUEST authorizer's event (payload 2.0 or 1.0): the request as the integration would
/// see it, with the route ARN and the identity values.
fn authorizer_event(c: &Call<'_>, version: &str, values: &[String]) -> Value {
    let mut e = if version == "1.0" { super::event::event_v1(c) } else { super::event::event_v2(c) };
    if let Some(o) = e.as_object_mut() {
        o.remove("body");
        o.remove("isBase64Encoded");
        o.insert("type".into(), json!("REQUEST"));
        if version == "1.0" {
            o.insert("methodArn".into(), json!(c.route_arn()));
            o.insert("identitySource".into(), json!(values.join(",")));
            o.insert("authorizationToken".into(), json!(values.join(",")));
        } else {
            o.insert("routeArn".into(), json!(c.route_arn()));
            o.insert("identitySource".into(), json!(values));
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_and_scopes() {
        assert_eq!(claim_text(&json!("a")), "a");
        assert_eq!(claim_text(&json!(["x", "y"])), "[x y]");
        assert_eq!(claim_text(&json!(12)), "12");
        assert_eq!(token_scopes(&json!({"scope": "read write"})), vec!["read", "write"]);
        assert_eq!(token_scopes(&json!({"scp": ["admin"]})), vec!["admin"]);
        assert!(token_scopes(&json!({})).is_empty());
    }
}
