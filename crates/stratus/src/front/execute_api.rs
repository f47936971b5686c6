//! The execute-api door: requests to deployed REST API stages, by host
//! (`{api}.execute-api.localhost:P/{stage}/…`, also `{api}.execute-api.{region}.amazonaws.com`
//! sent as the Host header), by path (`/_aws/execute-api/{api}/{stage}/…`, for clients that
//! cannot resolve `*.localhost`), and by custom domain name (through its base path mappings).
//! It reads the request, checks a SigV4 signature for `execute-api` if there is one, and
//! hands the rest to API Gateway's data plane: REST APIs first, then HTTP APIs (API Gateway v2,
//! whose ids are looked up when REST API Gateway does not know the id; their stage is the
//! path's first segment only when it names one of the API's stages, else `$default`).

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use stratus_apigateway::{ApiGateway, ExecuteRequest, HttpAnswer};
use stratus_iam::{AuthError, Authenticator};
use stratus_sigv4::Dialect;

use crate::gateway::{Body, FrontDoor, Head, Peer, boxed};

/// API Gateway's payload limit.
const MAX_BODY: usize = 10 << 20;

const PATH_PREFIX: &str = "/_aws/execute-api/";

pub struct ExecuteApiDoor {
    pub apigateway: ApiGateway,
    pub http_apis: stratus_apigatewayv2::ApiGatewayV2,
    pub auth: Arc<Authenticator>,
    pub env: stratus_core::Env,
}

/// The API id of an execute-api host name (`{id}.execute-api.…`).
fn api_of_host(host: &str) -> Option<&str> {
    let (id, rest) = host.split_once('.')?;
    (rest.starts_with("execute-api.") && !id.is_empty()).then_some(id)
}

/// `/{first}/{rest}` split into the first segment and the rest (with its leading slash).
fn first_segment(path: &str) -> (&str, String) {
    let p = path.strip_prefix('/').unwrap_or(path);
    match p.split_once('/') {
        Some((a, b)) => (a, format!("/{b}")),
        None => (p, "/".to_string()),
    }
}

/// HTTP/1.1 header names as most clients write them (`Content-Type`); HTTP/2's are lower case.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

fn answer(a: HttpAnswer) -> Response<Body> {
    let mut r = Response::new(boxed(Full::new(Bytes::from(a.body))));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in a.headers {
        if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            r.headers_mut().append(n, v);
        }
    }
    r
}

fn message(status: u16, error_type: &str, message: &str) -> Response<Body> {
    answer(HttpAnswer::new(
        status,
        vec![("Content-Type".into(), "application/json".into()), ("x-amzn-ErrorType".into(), error_type.into())],
        serde_json::json!({"message": message}).to_string().into_bytes(),
    ))
}

impl ExecuteApiDoor {
    async fn serve_request(&self, req: hyper::Request<Incoming>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let host = parts.headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let host_name = Head::of(&http::Request::from_parts(parts.clone(), ())).host_name().to_string();
        let raw_path = parts.uri.path().to_string();
        // An HTTP API (v2) by host or path: the path after the API id, stage included.
        let by_id = match raw_path.strip_prefix(PATH_PREFIX) {
            Some(rest) => {
                let with_slash = format!("/{rest}");
                let (api, rest) = first_segment(&with_slash);
                Some((api.to_string(), rest))
            }
            None => api_of_host(&host_name).map(|api| (api.to_string(), raw_path.clone())),
        };
        if let Some((api, path)) = by_id
            && self.apigateway.locate(&api).await.is_none()
            && self.http_apis.locate(&api).await.is_some()
        {
            return self.serve_http_api(parts, body, host, api, path).await;
        }
        let (api_id, stage, path, full_path) = if let Some(rest) = raw_path.strip_prefix(PATH_PREFIX) {
            let with_slash = format!("/{rest}");
            let (api, rest) = first_segment(&with_slash);
            let (stage, path) = first_segment(&rest);
            (api.to_string(), stage.to_string(), path, rest.clone())
        } else if let Some(api) = api_of_host(&host_name) {
            let (stage, path) = first_segment(&raw_path);
            (api.to_string(), stage.to_string(), path, raw_path.clone())
        } else {
            match self.apigateway.map_domain(&host_name, &raw_path).await {
                Some((api, stage, path)) => (api, stage, path, raw_path.clone()),
                None => return message(403, "ForbiddenException", "Forbidden"),
            }
        };
        if stage.is_empty() {
            return message(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
        }
        if let Some(len) = parts.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && len > MAX_BODY as u64
        {
            return message(413, "RequestTooLargeException", "Request Too Long");
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return message(413, "RequestTooLargeException", "Request Too Long"),
        };
        let http2 = parts.version == Version::HTTP_2;
        // The client's spelling of each name when the listener recorded it (HTTP/1.1), else
        // Title-Case; HTTP/2 names are lower case, as on AWS.
        let spelling = parts.extensions.get::<crate::header_case::RawNames>().and_then(|n| n.spelling(&parts.headers));
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| {
                let name = match (&spelling, http2) {
                    (_, true) => k.as_str().to_string(),
                    (Some(s), false) => s.get(k.as_str()).cloned().unwrap_or_else(|| title_case(k.as_str())),
                    (None, false) => title_case(k.as_str()),
                };
                v.to_str().ok().map(|v| (name, v.to_string()))
            })
            .collect();
        let caller = self.caller(&parts, &body);
        let source_ip =
            parts.extensions.get::<Peer>().map(|p| p.0.ip().to_string()).unwrap_or_else(|| "127.0.0.1".into());
        let req = ExecuteRequest {
            api_id,
            stage,
            path,
            full_path,
            method: parts.method.as_str().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body,
            source_ip,
            host,
            protocol: if http2 { "HTTP/2.0".into() } else { "HTTP/1.1".into() },
            secure: parts.extensions.get::<crate::gateway::Secure>().is_some(),
            caller,
        };
        answer(self.apigateway.execute(req).await)
    }

    /// A request to an HTTP API (API Gateway v2).
    async fn serve_http_api(
        &self,
        parts: http::request::Parts,
        body: Incoming,
        host: String,
        api_id: String,
        path: String,
    ) -> Response<Body> {
        if let Some(len) = parts.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && len > MAX_BODY as u64
        {
            return message(413, "RequestTooLargeException", "Request Too Long");
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return message(413, "RequestTooLargeException", "Request Too Long"),
        };
        let http2 = parts.version == Version::HTTP_2;
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let source_ip =
            parts.extensions.get::<Peer>().map(|p| p.0.ip().to_string()).unwrap_or_else(|| "127.0.0.1".into());
        let req = stratus_apigatewayv2::HttpRequest {
            api_id,
            path,
            method: parts.method.as_str().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body,
            source_ip,
            host,
            protocol: if http2 { "HTTP/2.0".into() } else { "HTTP/1.1".into() },
        };
        let a = self.http_apis.execute(req).await;
        answer(HttpAnswer::new(a.status, a.headers, a.body))
    }

    /// Who signed the request for `execute-api`, when it is signed.
    fn caller(
        &self,
        parts: &http::request::Parts,
        body: &Bytes,
    ) -> Option<Result<stratus_apigateway::Caller, (String, String)>> {
        let info = match Authenticator::parse(&parts.method, &parts.uri, &parts.headers) {
            Ok(Some(i)) => i,
            Ok(None) => return None,
            Err(e) => {
                let (code, _, message) = AuthError::SigV4(e).aws_error(Dialect::Json);
                return Some(Err((code, message)));
            }
        };
        let result = self.auth.authenticate(
            Some(&info),
            &parts.method,
            &parts.uri,
            &parts.headers,
            || stratus_sigv4::sha256_hex(body),
            self.env.clock.now(),
        );
        Some(match result {
            Ok(p) => Ok(crate::apigateway::caller_of(&p)),
            Err(e) => {
                let (code, _, message) = e.aws_error(Dialect::Json);
                Err((code, message))
            }
        })
    }
}

impl FrontDoor for ExecuteApiDoor {
    fn claims(&self, head: &Head<'_>) -> bool {
        head.path().starts_with(PATH_PREFIX)
            || api_of_host(head.host_name()).is_some()
            || self.apigateway.is_domain(head.host_name())
    }

    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>> {
        Box::pin(self.serve_request(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_paths_and_header_names() {
        assert_eq!(api_of_host("abc123.execute-api.localhost"), Some("abc123"));
        assert_eq!(api_of_host("abc123.execute-api.us-east-1.amazonaws.com"), Some("abc123"));
        assert_eq!(api_of_host("bucket.s3.localhost"), None);
        assert_eq!(first_segment("/prod/pets/1"), ("prod", "/pets/1".to_string()));
        assert_eq!(first_segment("/prod"), ("prod", "/".to_string()));
        assert_eq!(first_segment("/prod/"), ("prod", "/".to_string()));
        assert_eq!(title_case("x-custom-header"), "X-Custom-Header");
        assert_eq!(title_case("accept"), "Accept");
    }
}
