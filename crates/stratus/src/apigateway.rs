//! What API Gateway's integrations reach, connected in the binary (the only place that sees
//! every service): functions (with the permission check AWS makes), AWS service actions
//! (signed requests to this server, as the integration's role), URLs, IAM decisions for
//! execute-api, and CloudWatch Logs. HTTP APIs (`stratus_apigatewayv2::Backends`) reach
//! functions and URLs through the same connections and the same permission check.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use stratus_apigateway::{BackendError, Backends, Caller, HttpAnswer, Invoked, ServiceRequest};
use stratus_proto::BoxFuture;

use crate::delegation::{ServiceAccess, Source};

/// Why an invocation for API Gateway did not happen.
enum InvokeError {
    Denied(String),
    Missing(String),
    Throttled(String),
    Failed(String),
}

pub struct ApiBackends {
    pub lambda: stratus_lambda::Lambda,
    pub logs: stratus_logs::Logs,
    pub access: ServiceAccess,
    /// Enforce mode: execute-api:Invoke is decided by IAM.
    pub enforce: bool,
    /// `http://127.0.0.1:{port}`: AWS integrations call this server's own AWS APIs.
    pub endpoint: String,
    /// Verify and enforce modes: AWS integrations sign as their credentials role.
    pub identity: Option<stratus_iam_api::Identity>,
    /// Permissions found to let API Gateway invoke a function for a source ARN, and when:
    /// reused for [`GRANT_REUSE`] (as AWS's own permission checks are eventually consistent),
    /// so that a busy API does not read and evaluate the function's policy on every request.
    pub granted: std::sync::Mutex<std::collections::HashMap<(String, String), std::time::Instant>>,
}

/// How long a found permission is reused before the function's policy is read again.
const GRANT_REUSE: Duration = Duration::from_secs(1);

/// The JSON protocol services' `X-Amz-Target` prefixes and content types.
fn json_target(service: &str) -> Option<(&'static str, &'static str)> {
    match service {
        "dynamodb" => Some(("DynamoDB_20120810", "application/x-amz-json-1.0")),
        "kinesis" => Some(("Kinesis_20131202", "application/x-amz-json-1.1")),
        "logs" => Some(("Logs_20140328", "application/x-amz-json-1.1")),
        "sqs" => None,
        _ => None,
    }
}

impl ApiBackends {
    /// Invokes `function` for API Gateway (REST or HTTP APIs) after the permission check AWS
    /// makes: the function's policy must let `apigateway.amazonaws.com` in for `source_arn`.
    async fn invoke_checked(
        &self,
        function: &str,
        source_arn: &str,
        payload: Vec<u8>,
    ) -> Result<stratus_lambda::InvokeResponse, InvokeError> {
        let Some(arn) = stratus_core::Arn::parse(function) else {
            return Err(InvokeError::Missing(format!("{function} is not a function ARN")));
        };
        let (account, region) = (arn.account.to_string(), arn.region.to_string());
        let source_account = stratus_core::Arn::parse(source_arn).map(|a| a.account.to_string()).unwrap_or_default();
        let key = (function.to_string(), source_arn.to_string());
        let fresh =
            self.granted.lock().ok().and_then(|g| g.get(&key).copied()).is_some_and(|at| at.elapsed() < GRANT_REUSE);
        let allowed = fresh
            || self
                .access
                .policy_allows(
                    "apigateway.amazonaws.com",
                    "lambda:InvokeFunction",
                    function,
                    Source { arn: source_arn, account: &source_account },
                )
                .await;
        if allowed
            && !fresh
            && let Ok(mut g) = self.granted.lock()
        {
            if g.len() > 10_000 {
                g.clear();
            }
            g.insert(key, std::time::Instant::now());
        }
        if !allowed {
            return Err(InvokeError::Denied(format!(
                "Invalid permissions on Lambda function: {function} does not allow apigateway.amazonaws.com for {source_arn}"
            )));
        }
        match self.lambda.invoke_sync(&account, &region, function, payload).await {
            Ok(r) => Ok(r),
            Err(e) if e.code == "ResourceNotFoundException" => Err(InvokeError::Missing(e.message)),
            Err(e) if e.code == "TooManyRequestsException" => Err(InvokeError::Throttled(e.message)),
            Err(e) => Err(InvokeError::Failed(e.message)),
        }
    }

    async fn credentials(&self, req: &ServiceRequest) -> Result<(String, String, Option<String>), BackendError> {
        match (&self.identity, &req.credentials) {
            (None, _) => Ok((req.account.clone(), "stratus".into(), None)),
            (Some(identity), Some(role)) => {
                let (k, s, t, _) = identity
                    .credentials_for_service(role, "apigateway", "apigateway.amazonaws.com", &req.region)
                    .await
                    .map_err(|e| BackendError::Denied(e.message))?;
                Ok((k, s, Some(t)))
            }
            (Some(_), None) => Err(BackendError::Denied("AWS integrations need a credentials role".into())),
        }
    }
}

impl ApiBackends {
    /// Whether a caller may use the @connections API on this ARN: always unless enforcing.
    pub async fn may_manage(&self, caller: &Caller, arn: &str) -> bool {
        if !self.enforce {
            return true;
        }
        let Some(parsed) = stratus_core::Arn::parse(arn) else { return false };
        let who = caller.principal.downcast_ref::<stratus_iam::Identity>();
        let ctx = stratus_core::RequestContext {
            account: caller.account.clone(),
            region: parsed.region.to_string(),
            request_id: String::new(),
            access_key: Some(caller.access_key.clone()),
            host: String::new(),
            path: String::new(),
        };
        let asked = stratus_iam_api::OnResource {
            service: "execute-api",
            action: "execute-api:ManageConnections",
            resource: arn,
            policy: None,
            owner: Some(parsed.account),
        };
        let context = stratus_iam::policy::Context::new();
        self.access.authorizer.authorize_with_policy(who, &ctx, &asked, context).await.is_ok()
    }
}

impl Backends for ApiBackends {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invoked, BackendError>> {
        Box::pin(async move {
            match self.invoke_checked(function, source_arn, payload).await {
                Ok(r) => Ok(Invoked { payload: r.payload, function_error: r.function_error }),
                Err(InvokeError::Denied(m)) => Err(BackendError::Denied(m)),
                Err(InvokeError::Missing(m)) => Err(BackendError::Unreachable(m)),
                Err(InvokeError::Throttled(m) | InvokeError::Failed(m)) => Err(BackendError::Failed(m)),
            }
        })
    }

    fn aws(&self, req: ServiceRequest) -> BoxFuture<'_, Result<HttpAnswer, BackendError>> {
        Box::pin(async move {
            let (key, secret, token) = self.credentials(&req).await?;
            let url = format!("{}{}", self.endpoint, req.path_and_query);
            let uri: http::Uri = url.parse().map_err(|_| BackendError::Unreachable(format!("bad path {url}")))?;
            let mut headers = http::HeaderMap::new();
            for (k, v) in &req.headers {
                if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), http::HeaderValue::from_str(v)) {
                    headers.insert(n, v);
                }
            }
            if let (Some(action), Some((prefix, content_type))) = (&req.action, json_target(&req.service)) {
                if let Ok(v) = http::HeaderValue::from_str(&format!("{prefix}.{action}")) {
                    headers.insert("x-amz-target", v);
                }
                headers.insert("content-type", http::HeaderValue::from_static(content_type));
            }
            if req.action.is_some() && !headers.contains_key("content-type") && req.service != "s3" {
                headers.insert("content-type", http::HeaderValue::from_static("application/x-www-form-urlencoded"));
            }
            let method: http::Method = req.method.parse().unwrap_or(http::Method::POST);
            let params = stratus_sigv4::SigningParams {
                access_key: &key,
                secret_key: &secret,
                session_token: token.as_deref(),
                region: &req.region,
                service: &req.service,
                time: SystemTime::now(),
            };
            stratus_sigv4::sign(&params, &method, &uri, &mut headers, &req.body)
                .map_err(|e| BackendError::Unreachable(format!("cannot sign: {e:?}")))?;
            let pairs: Vec<(String, String)> = headers
                .iter()
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
                .collect();
            crate::http_client::send(req.method.as_str(), &url, pairs, req.body, Duration::from_secs(30)).await
        })
    }

    fn http<'a>(
        &'a self,
        method: &'a str,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<HttpAnswer, BackendError>> {
        Box::pin(crate::http_client::send(method, url, headers, body, Duration::from_secs(30)))
    }

    fn may_invoke<'a>(
        &'a self,
        caller: Option<&'a Caller>,
        policy: Option<&'a str>,
        iam: bool,
        method_arn: &'a str,
        source_ip: &'a str,
    ) -> BoxFuture<'a, Result<(), bool>> {
        Box::pin(async move {
            if !self.enforce {
                return Ok(());
            }
            let Some(arn) = stratus_core::Arn::parse(method_arn) else { return Err(false) };
            let who = caller.and_then(|c| c.principal.downcast_ref::<stratus_iam::Identity>());
            let ctx = stratus_core::RequestContext {
                account: caller.map_or_else(|| arn.account.to_string(), |c| c.account.clone()),
                region: arn.region.to_string(),
                request_id: String::new(),
                access_key: caller.map(|c| c.access_key.clone()),
                host: String::new(),
                path: String::new(),
            };
            let mut context = stratus_iam::policy::Context::new();
            context.insert("aws:SourceIp", source_ip.to_string());
            let asked = stratus_iam_api::OnResource {
                service: "execute-api",
                action: "execute-api:Invoke",
                resource: method_arn,
                policy,
                owner: Some(arn.account),
            };
            // Without AWS_IAM on the method, only the API's policy decides (anonymous callers).
            let who = if iam { who } else { who.filter(|_| policy.is_some()) };
            match self.access.authorizer.authorize_with_policy(who, &ctx, &asked, context).await {
                Ok(()) => Ok(()),
                Err(e) => Err(e.message.contains("explicit deny")),
            }
        })
    }

    fn log<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        group: &'a str,
        stream: &'a str,
        lines: Vec<String>,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let now =
                SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
            let events = lines.into_iter().map(|l| (now, l)).collect();
            if let Err(e) = self.logs.append(account, region, group, stream, events).await {
                tracing::debug!(%group, error = %e.message, "could not write an API Gateway log line");
            }
        })
    }
}

/// Keeps the type used for callers' identities in one place.
pub fn caller_of(p: &stratus_iam::Principal) -> Caller {
    Caller {
        account: p.account.clone(),
        arn: p.identity.caller_arn(&p.account),
        access_key: p.access_key.clone().unwrap_or_default(),
        user_id: p.identity.user_id(&p.account),
        principal: Arc::new(p.identity.clone()),
    }
}

/// HTTP APIs (API Gateway v2) reach functions and URLs through the same connections.
impl stratus_apigatewayv2::Backends for ApiBackends {
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<stratus_apigatewayv2::Invoked, stratus_apigatewayv2::BackendError>> {
        use stratus_apigatewayv2::BackendError as E;
        Box::pin(async move {
            match self.invoke_checked(function, source_arn, payload).await {
                Ok(r) => Ok(stratus_apigatewayv2::Invoked { payload: r.payload, function_error: r.function_error }),
                Err(InvokeError::Denied(m)) => Err(E::Denied(m)),
                Err(InvokeError::Missing(m)) => Err(E::Unreachable(m)),
                Err(InvokeError::Throttled(m)) => Err(E::Throttled(m)),
                Err(InvokeError::Failed(m)) => Err(E::Failed(m)),
            }
        })
    }

    fn http<'a>(
        &'a self,
        method: &'a str,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<stratus_apigatewayv2::HttpAnswer, stratus_apigatewayv2::BackendError>> {
        use stratus_apigatewayv2::BackendError as E;
        Box::pin(async move {
            match crate::http_client::send(method, url, headers, body, timeout).await {
                Ok(a) => Ok(stratus_apigatewayv2::HttpAnswer::new(a.status, a.headers, a.body)),
                Err(BackendError::Denied(m)) => Err(E::Denied(m)),
                Err(BackendError::Unreachable(m)) => Err(E::Unreachable(m)),
                Err(BackendError::Failed(m)) => Err(E::Failed(m)),
            }
        })
    }

    fn aws(
        &self,
        call: stratus_apigatewayv2::execute::service::ServiceCall,
    ) -> BoxFuture<'_, Result<stratus_apigatewayv2::HttpAnswer, stratus_apigatewayv2::BackendError>> {
        use stratus_apigatewayv2::BackendError as E;
        Box::pin(async move {
            let req = ServiceRequest {
                account: call.account,
                region: call.region,
                service: call.service.to_string(),
                action: None,
                method: "POST".into(),
                path_and_query: "/".into(),
                headers: vec![
                    ("x-amz-target".into(), call.target.to_string()),
                    ("content-type".into(), call.content_type.to_string()),
                ],
                body: call.body,
                credentials: call.credentials,
            };
            match Backends::aws(self, req).await {
                Ok(a) => Ok(a),
                Err(BackendError::Denied(m)) => Err(E::Denied(m)),
                Err(BackendError::Unreachable(m)) => Err(E::Unreachable(m)),
                Err(BackendError::Failed(m)) => Err(E::Failed(m)),
            }
        })
    }

    fn may_invoke<'a>(&'a self, caller: &'a Caller, route_arn: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move { Backends::may_invoke(self, Some(caller), None, true, route_arn, "").await.is_ok() })
    }

    fn log<'a>(
        &'a self,
        account: &'a str,
        region: &'a str,
        group: &'a str,
        stream: &'a str,
        lines: Vec<String>,
    ) -> BoxFuture<'a, ()> {
        Backends::log(self, account, region, group, stream, lines)
    }
}
