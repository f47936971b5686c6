//! Who may call a method: the API's resource policy and AWS_IAM (decided by IAM through
//! [`Backends::may_invoke`]), Lambda TOKEN and REQUEST authorizers (results cached by their
//! identity sources for the authorizer's TTL), and API keys with their usage plans' throttle
//! (token buckets) and quota (counted per plan, key and period, in memory).

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::{BackendError, Backends, Call, HttpAnswer, gateway_error};
use crate::store::{self, get_json};
use crate::{Inner, s};

pub use stratus_core::http::Caller;
use stratus_core::http::policy_decision;

/// What a Lambda authorizer decided, as kept in the cache.
#[derive(Clone)]
struct Decision {
    principal_id: Value,
    policy: Value,
    context: Map<String, Value>,
    usage_key: Option<String>,
}

struct Bucket {
    tokens: f64,
    at_ms: u64,
}

#[derive(Default)]
pub struct AuthState {
    decisions: Mutex<HashMap<String, (u64, Decision)>>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// By `plan/key/day number`: requests counted.
    usage: Mutex<HashMap<String, u64>>,
}

impl AuthState {
    pub fn clear(&self) {
        for m in [&self.decisions] {
            if let Ok(mut m) = m.lock() {
                m.clear();
            }
        }
        if let Ok(mut b) = self.buckets.lock() {
            b.clear();
        }
        if let Ok(mut u) = self.usage.lock() {
            u.clear();
        }
    }

    pub fn flush(&self, api: &str) {
        if let Ok(mut m) = self.decisions.lock() {
            m.retain(|k, _| !k.starts_with(&format!("{api}/")));
        }
    }

    pub fn used_on(&self, plan: &str, key: &str, day: i64) -> u64 {
        self.usage.lock().ok().and_then(|u| u.get(&format!("{plan}/{key}/{day}")).copied()).unwrap_or(0)
    }
}

fn denied(c: &Call<'_>, explicit: bool, who: &str) -> HttpAnswer {
    let message = format!(
        "User: {who} is not authorized to perform: execute-api:Invoke on resource: {}{}",
        c.method_arn(),
        if explicit { " with an explicit deny" } else { "" }
    );
    let mut a =
        gateway_error(Some(c.d), "ACCESS_DENIED", 403, "AccessDeniedException", Some(&message), &c.request_id, Some(c));
    // IAM's denials say `Message`.
    if a.body.starts_with(b"{\"message\":") {
        a.body = json!({"Message": message}).to_string().into_bytes();
    }
    a
}

pub async fn authorize(i: &Inner, c: &mut Call<'_>, backends: &dyn Backends) -> Result<(), HttpAnswer> {
    // Stored with its quotes escaped, as API Gateway answers it; `execute-api:/…` is shorthand
    // for this API's ARN.
    let policy = c.d.doc.api.get("policy").and_then(Value::as_str).map(|p| {
        let arn = format!("\"arn:aws:execute-api:{}:{}:{}/", c.d.region, c.d.account, c.api_id());
        p.replace("\\\"", "\"").replace("\"execute-api:/", &arn)
    });
    let auth_type = c.method.get("authorizationType").and_then(Value::as_str).unwrap_or("NONE").to_string();
    let signed = c.req.caller.clone();
    match auth_type.as_str() {
        "AWS_IAM" => {
            let caller = match signed {
                None => {
                    return Err(gateway_error(
                        Some(c.d),
                        "MISSING_AUTHENTICATION_TOKEN",
                        403,
                        "MissingAuthenticationTokenException",
                        Some("Missing Authentication Token"),
                        &c.request_id,
                        Some(c),
                    ));
                }
                Some(Err((kind, message))) => {
                    let (gr, status) = match kind.as_str() {
                        "ExpiredTokenException" => ("EXPIRED_TOKEN", 403),
                        "InvalidSignatureException" => ("INVALID_SIGNATURE", 403),
                        _ => ("ACCESS_DENIED", 403),
                    };
                    return Err(gateway_error(Some(c.d), gr, status, &kind, Some(&message), &c.request_id, Some(c)));
                }
                Some(Ok(caller)) => caller,
            };
            let arn = c.method_arn();
            if let Err(explicit) =
                backends.may_invoke(Some(&caller), policy.as_deref(), true, &arn, &c.req.source_ip).await
            {
                return Err(denied(c, explicit, &caller.arn));
            }
            c.caller = Some(caller);
        }
        "CUSTOM" => {
            lambda_authorizer(i, c, backends).await?;
            if let Some(p) = &policy {
                let arn = c.method_arn();
                if let Err(explicit) = backends.may_invoke(None, Some(p), false, &arn, &c.req.source_ip).await {
                    return Err(denied(c, explicit, "anonymous"));
                }
            }
        }
        _ => {
            if let Some(p) = &policy {
                let caller = signed.and_then(Result::ok);
                let arn = c.method_arn();
                if let Err(explicit) =
                    backends.may_invoke(caller.as_ref(), Some(p), false, &arn, &c.req.source_ip).await
                {
                    let who = caller.as_ref().map_or("anonymous".to_string(), |c| c.arn.clone());
                    return Err(denied(c, explicit, &who));
                }
            }
        }
    }
    if c.method.get("apiKeyRequired").and_then(Value::as_bool) == Some(true) {
        api_key(i, c).await?;
    }
    stage_throttle(i, c)?;
    Ok(())
}

/// The stage's throttling for the method (`{path}/{METHOD}`, else `*/*`), when its method
/// settings have it: a token bucket per stage and method setting.
fn stage_throttle(i: &Inner, c: &Call<'_>) -> Result<(), HttpAnswer> {
    let Some(settings) = c.d.stage.get("methodSettings").and_then(Value::as_object) else { return Ok(()) };
    let own = format!("{}/{}", c.resource_path.trim_start_matches('/'), c.req.method);
    let (key, s) = match settings.get(&own) {
        Some(s) => (own, s),
        None => match settings.get("*/*") {
            Some(s) => ("*/*".to_string(), s),
            None => return Ok(()),
        },
    };
    let rate = s.get("throttlingRateLimit").and_then(Value::as_f64).unwrap_or(10_000.0);
    let burst = s.get("throttlingBurstLimit").and_then(Value::as_f64).unwrap_or(5_000.0);
    if take(i, &format!("{}/{}/{key}", c.api_id(), c.req.stage), rate, burst, c.now_ms) {
        Ok(())
    } else {
        Err(gateway_error(
            Some(c.d),
            "THROTTLED",
            429,
            "TooManyRequestsException",
            Some("Too Many Requests"),
            &c.request_id,
            Some(c),
        ))
    }
}

/// Takes a token from the bucket `key` (refilled at `rate` per second up to `burst`).
fn take(i: &Inner, key: &str, rate: f64, burst: f64, now: u64) -> bool {
    let burst = burst.max(0.0);
    let Ok(mut b) = i.runtime.auth.buckets.lock() else { return true };
    let bucket = b.entry(key.to_string()).or_insert(Bucket { tokens: burst, at_ms: now });
    let elapsed = now.saturating_sub(bucket.at_ms) as f64 / 1000.0;
    bucket.tokens = (bucket.tokens + elapsed * rate.max(0.0)).min(burst);
    bucket.at_ms = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        true
    } else {
        false
    }
}

/// The value an identity source names (`method.request.header.X`, `…querystring.X`,
/// `stageVariables.X`, `context.X`).
fn identity_value(c: &Call<'_>, source: &str) -> Option<String> {
    let source = source.trim();
    if let Some(h) = source.strip_prefix("method.request.header.") {
        return c.header(h).map(str::to_string);
    }
    if let Some(q) = source.strip_prefix("method.request.querystring.") {
        return c.query.iter().rev().find(|(k, _)| k == q).map(|(_, v)| v.clone());
    }
    if let Some(p) = source.strip_prefix("method.request.path.") {
        return c.path_params.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone());
    }
    if let Some(v) = source.strip_prefix("stageVariables.") {
        return c.stage_variables.iter().find(|(k, _)| k == v).map(|(_, v)| v.clone());
    }
    if let Some(path) = source.strip_prefix("context.") {
        let ctx = c.request_context();
        let mut cur = &ctx;
        for seg in path.split('.') {
            cur = cur.get(seg)?;
        }
        return cur.as_str().map(str::to_string).or_else(|| (!cur.is_null()).then(|| cur.to_string()));
    }
    None
}

fn unauthorized(c: &Call<'_>) -> HttpAnswer {
    gateway_error(Some(c.d), "UNAUTHORIZED", 401, "UnauthorizedException", Some("Unauthorized"), &c.request_id, Some(c))
}

fn authorizer_error(c: &Call<'_>) -> HttpAnswer {
    gateway_error(
        Some(c.d),
        "AUTHORIZER_CONFIGURATION_ERROR",
        500,
        "AuthorizerConfigurationException",
        None,
        &c.request_id,
        Some(c),
    )
}

/// The function ARN inside an authorizer or integration URI
/// (`arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations`).
pub fn function_of(uri: &str) -> Option<String> {
    let rest = uri.split_once(":lambda:path/")?.1;
    let rest = rest.trim_start_matches('/');
    let f = rest.strip_prefix("2015-03-31/functions/")?;
    let f = f.strip_suffix("/invocations").unwrap_or(f);
    Some(percent_encoding::percent_decode_str(f).decode_utf8_lossy().into_owned())
}

async fn lambda_authorizer(i: &Inner, c: &mut Call<'_>, backends: &dyn Backends) -> Result<(), HttpAnswer> {
    let id = c.method.get("authorizerId").and_then(Value::as_str).unwrap_or("");
    let Some(a) = c.d.doc.authorizers.get(id).cloned() else { return Err(authorizer_error(c)) };
    let kind = s(&a, "type").to_string();
    let ttl = a.get("authorizerResultTtlInSeconds").and_then(Value::as_u64).unwrap_or(300);
    let sources: Vec<String> =
        s(&a, "identitySource").split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
    let mut values = Vec::new();
    for src in &sources {
        match identity_value(c, src) {
            Some(v) if !v.is_empty() => values.push(v),
            _ => return Err(unauthorized(c)),
        }
    }
    if kind == "TOKEN"
        && let Some(expr) = a.get("identityValidationExpression").and_then(Value::as_str).filter(|e| !e.is_empty())
    {
        let ok = regex::Regex::new(&format!("^(?:{expr})$"))
            .map(|r| r.is_match(values.first().map_or("", String::as_str)))
            .unwrap_or(false);
        if !ok {
            return Err(unauthorized(c));
        }
    }
    let cache_key = format!("{}/{}/{id}/{}", c.api_id(), c.req.stage, values.join("\u{1}"));
    let now = c.now_ms;
    let cached = if ttl > 0 && !values.is_empty() {
        i.runtime
            .auth
            .decisions
            .lock()
            .ok()
            .and_then(|m| m.get(&cache_key).filter(|(exp, _)| *exp > now).map(|(_, d)| d.clone()))
    } else {
        None
    };
    let started = std::time::Instant::now();
    let decision = match cached {
        Some(d) => d,
        None => {
            let event = if kind == "TOKEN" {
                json!({"type": "TOKEN", "methodArn": c.method_arn(), "authorizationToken": values.first().cloned().unwrap_or_default()})
            } else {
                let mut e = super::event::proxy_event(c);
                if let Some(o) = e.as_object_mut() {
                    o.remove("body");
                    o.remove("isBase64Encoded");
                    o.insert("type".into(), json!("REQUEST"));
                    o.insert("methodArn".into(), json!(c.method_arn()));
                }
                e
            };
            let Some(function) = function_of(s(&a, "authorizerUri")) else { return Err(authorizer_error(c)) };
            let source_arn = format!(
                "arn:{partition}:execute-api:{}:{}:{}/authorizers/{id}",
                c.d.region,
                c.d.account,
                c.api_id(),
                partition = stratus_core::partition(&c.d.region)
            );
            let out = match backends.invoke(&function, &source_arn, event.to_string().into_bytes()).await {
                Ok(o) => o,
                Err(BackendError::Denied(m) | BackendError::Unreachable(m) | BackendError::Failed(m)) => {
                    tracing::debug!(authorizer = %id, error = %m, "the authorizer could not be invoked");
                    return Err(authorizer_error(c));
                }
            };
            let v: Value = serde_json::from_slice(&out.payload).unwrap_or(Value::Null);
            if out.function_error.is_some() {
                return Err(if v.get("errorMessage").and_then(Value::as_str) == Some("Unauthorized") {
                    unauthorized(c)
                } else {
                    authorizer_error(c)
                });
            }
            let Some(policy) = v.get("policyDocument").filter(|p| p.is_object()).cloned() else {
                return Err(authorizer_error(c));
            };
            let Some(principal_id) = v.get("principalId").filter(|p| p.is_string() || p.is_number()).cloned() else {
                return Err(authorizer_error(c));
            };
            let mut context = Map::new();
            if let Some(ctx) = v.get("context").and_then(Value::as_object) {
                for (k, val) in ctx {
                    match val {
                        Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                            context.insert(k.clone(), val.clone());
                        }
                        Value::Null => {}
                        _ => return Err(authorizer_error(c)),
                    }
                }
            }
            let d = Decision {
                principal_id,
                policy,
                context,
                usage_key: v.get("usageIdentifierKey").and_then(Value::as_str).map(str::to_string),
            };
            if ttl > 0
                && !values.is_empty()
                && let Ok(mut m) = i.runtime.auth.decisions.lock()
            {
                if m.len() > 10_000 {
                    m.clear();
                }
                m.insert(cache_key, (now + ttl * 1000, d.clone()));
            }
            d
        }
    };
    match policy_decision(&decision.policy, &c.method_arn()) {
        Some(true) => {}
        Some(false) => return Err(authorizer_denied(c, true)),
        None => return Err(authorizer_denied(c, false)),
    }
    let mut obj = Map::new();
    obj.insert("principalId".into(), decision.principal_id.clone());
    obj.insert("integrationLatency".into(), json!(started.elapsed().as_millis() as u64));
    for (k, v) in &decision.context {
        obj.insert(k.clone(), v.clone());
    }
    c.authorizer = Some(Value::Object(obj));
    if let Some(k) = decision.usage_key {
        c.api_key = Some((String::new(), k));
    }
    Ok(())
}

fn authorizer_denied(c: &Call<'_>, explicit: bool) -> HttpAnswer {
    let message = if explicit {
        "User is not authorized to access this resource with an explicit deny"
    } else {
        "User is not authorized to access this resource"
    };
    let mut a =
        gateway_error(Some(c.d), "ACCESS_DENIED", 403, "AccessDeniedException", Some(message), &c.request_id, Some(c));
    if a.body.starts_with(b"{\"message\":") {
        a.body = json!({"Message": message}).to_string().into_bytes();
    }
    a
}

fn invalid_key(c: &Call<'_>) -> HttpAnswer {
    gateway_error(Some(c.d), "INVALID_API_KEY", 403, "ForbiddenException", Some("Forbidden"), &c.request_id, Some(c))
}

/// The API key of the request (header or authorizer), enabled, in a usage plan of this stage,
/// within that plan's throttle and quota.
async fn api_key(i: &Inner, c: &mut Call<'_>) -> Result<(), HttpAnswer> {
    let from_authorizer = c.d.doc.api.get("apiKeySource").and_then(Value::as_str) == Some("AUTHORIZER");
    let value = if from_authorizer {
        c.api_key.as_ref().map(|(_, v)| v.clone())
    } else {
        c.header("x-api-key").map(str::to_string)
    };
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Err(invalid_key(c)) };
    let (account, region, api, stage) =
        (c.d.account.clone(), c.d.region.clone(), c.api_id().to_string(), c.req.stage.clone());
    let found = i
        .store
        .read_short(move |r| {
            let Some(owner) = r.get(crate::keys::key_value_key(&value).as_bytes()).map_err(store::store_err)? else {
                return Ok(None);
            };
            let owner = String::from_utf8_lossy(&owner).into_owned();
            let mut it = owner.splitn(3, '/');
            let (Some(ka), Some(kr), Some(id)) = (it.next(), it.next(), it.next()) else { return Ok(None) };
            if ka != account || kr != region {
                return Ok(None);
            }
            let Some(key) = get_json::<Value>(r, &crate::keys::key_key(&account, &region, id))? else {
                return Ok(None);
            };
            let plans: Vec<Value> = store::list_json(r, &format!("{}plan/", store::scope(&account, &region)))?;
            for p in plans {
                let covers = p
                    .get("apiStages")
                    .and_then(Value::as_array)
                    .is_some_and(|st| st.iter().any(|x| s(x, "apiId") == api && s(x, "stage") == stage));
                if covers
                    && r.get(crate::keys::plan_key_key(&account, &region, s(&p, "id"), id).as_bytes())
                        .map_err(store::store_err)?
                        .is_some()
                {
                    return Ok::<_, stratus_proto::AwsError>(Some((key, Some(p))));
                }
            }
            Ok(Some((key, None)))
        })
        .await
        .ok()
        .flatten();
    let Some((key, Some(plan))) = found else { return Err(invalid_key(c)) };
    if key.get("enabled").and_then(Value::as_bool) != Some(true) {
        return Err(invalid_key(c));
    }
    let key_id = s(&key, "id").to_string();
    let plan_id = s(&plan, "id").to_string();
    c.api_key = Some((key_id.clone(), s(&key, "value").to_string()));
    let now = c.now_ms;
    if let Some(t) = plan.get("throttle") {
        let rate = t.get("rateLimit").and_then(Value::as_f64).unwrap_or(f64::MAX);
        let burst = t.get("burstLimit").and_then(Value::as_f64).unwrap_or(rate).max(1.0);
        if !take(i, &format!("{plan_id}/{key_id}"), rate, burst, now) {
            return Err(gateway_error(
                Some(c.d),
                "THROTTLED",
                429,
                "TooManyRequestsException",
                Some("Too Many Requests"),
                &c.request_id,
                Some(c),
            ));
        }
    }
    let day = (now / 86_400_000) as i64;
    if let Ok(mut u) = i.runtime.auth.usage.lock() {
        if let Some(q) = plan.get("quota") {
            let limit = q.get("limit").and_then(Value::as_u64).unwrap_or(u64::MAX);
            let days = match s(q, "period") {
                "WEEK" => 7,
                "MONTH" => 30,
                _ => 1,
            };
            let first = day - (day.rem_euclid(days));
            let used: u64 =
                (first..=day).map(|d| u.get(&format!("{plan_id}/{key_id}/{d}")).copied().unwrap_or(0)).sum();
            if used >= limit {
                return Err(gateway_error(
                    Some(c.d),
                    "QUOTA_EXCEEDED",
                    429,
                    "LimitExceededException",
                    Some("Limit Exceeded"),
                    &c.request_id,
                    Some(c),
                ));
            }
        }
        *u.entry(format!("{plan_id}/{key_id}/{day}")).or_insert(0) += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stratus_core::http::glob;

    #[test]
    fn policies_allow_deny_and_wildcards() {
        let arn = "arn:aws:execute-api:us-east-1:000000000000:abc/prod/GET/pets/1";
        let allow = json!({"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:000000000000:abc/*/GET/*"}]});
        assert_eq!(policy_decision(&allow, arn), Some(true));
        let other = json!({"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:000000000000:abc/*/POST/*"}]});
        assert_eq!(policy_decision(&other, arn), None);
        let deny = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": ["execute-api:Invoke"], "Resource": [arn]}]});
        assert_eq!(policy_decision(&deny, arn), Some(false));
        assert!(glob("a*c?e", "abbbcde"));
        assert!(!glob("a*c", "abd"));
    }

    #[test]
    fn function_arns_from_uris() {
        let uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:auth/invocations";
        assert_eq!(function_of(uri).as_deref(), Some("arn:aws:lambda:us-east-1:000000000000:function:auth"));
        assert_eq!(function_of("arn:aws:apigateway:us-east-1:sqs:path/x"), None);
    }
}
