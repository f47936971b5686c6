//! The execute-api door: requests to deployed REST API stages, by host
//! (`{api}.execute-api.localhost:P/{stage}/…`, also `{api}.execute-api.{region}.amazonaws.com`
//! sent as the Host header), by path (`/_aws/execute-api/{api}/{stage}/…`, for clients that
//! cannot resolve `*.localhost`), and by custom domain name (through its base path mappings, or API Gateway v2's API mappings).
//! It reads the request, checks a SigV4 signature for `execute-api` if there is one, and
//! hands the rest to API Gateway's data plane: REST APIs first, then API Gateway v2's (whose ids
//! are looked up when REST API Gateway does not know the id): HTTP APIs (their stage is the
//! path's first segment only when it names one of the API's stages, else `$default`) and
//! WebSocket APIs (`/{stage}`: the handshake, then the socket is handed to `crate::websocket`;
//! `/{stage}/@connections/{id}`: the management API, signed for `execute-api`).
//!
//! Every API id seen here is made to resolve in function sandboxes
//! (`{id}.execute-api.localhost` in their hosts file), so that functions can call the API
//! back by the domain name their events carry.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
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
    /// IAM decisions for @connections calls (enforce mode).
    pub backends: Arc<crate::apigateway::ApiBackends>,
    /// Function sandboxes' host names.
    pub runtimes: Arc<stratus_runtime::Runtimes>,
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

/// Header names as the client wrote them (HTTP/1.1, when the listener recorded them), else
/// Title-Case; HTTP/2 names are lower case, as on AWS.
fn header_pairs(parts: &http::request::Parts) -> Vec<(String, String)> {
    let http2 = parts.version == Version::HTTP_2;
    let spelling = parts.extensions.get::<crate::header_case::RawNames>().and_then(|n| n.spelling(&parts.headers));
    parts
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
        .collect()
}

fn source_ip(parts: &http::request::Parts) -> String {
    parts.extensions.get::<Peer>().map(|p| p.0.ip().to_string()).unwrap_or_else(|| "127.0.0.1".into())
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
        if let Some((api, _)) = &by_id {
            self.runtimes.add_host_name(&format!("{api}.execute-api.localhost"));
        }
        // A custom domain name mapped to an API Gateway v2 API.
        if by_id.is_none()
            && let Some((api, stage, path)) = self.http_apis.map_domain(&host_name, &raw_path)
        {
            return match self.http_apis.is_websocket(&api).await {
                Some(true) => {
                    let path = if path == "/" { format!("/{stage}") } else { format!("/{stage}{path}") };
                    self.serve_websocket(parts, body, host, &host_name, api, path).await
                }
                Some(false) => self.serve_http_api(parts, body, host, api, path, Some(stage)).await,
                None => message(403, "ForbiddenException", "Forbidden"),
            };
        }
        if let Some((api, path)) = by_id
            && self.apigateway.locate(&api).await.is_none()
            && let Some(websocket) = self.http_apis.is_websocket(&api).await
        {
            if websocket {
                return self.serve_websocket(parts, body, host, &host_name, api, path).await;
            }
            return self.serve_http_api(parts, body, host, api, path, None).await;
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
        let headers = header_pairs(&parts);
        let caller = self.caller(&parts, &body);
        let source_ip = source_ip(&parts);
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
        stage: Option<String>,
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
        let source_ip = source_ip(&parts);
        let caller = self.caller(&parts, &body);
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
            caller,
            stage,
        };
        let a = self.http_apis.execute(req).await;
        answer(HttpAnswer::new(a.status, a.headers, a.body))
    }

    /// A request to a WebSocket API: `/{stage}` opens a connection, `/{stage}/@connections/{id}`
    /// manages one.
    async fn serve_websocket(
        &self,
        mut parts: http::request::Parts,
        body: Incoming,
        host: String,
        host_name: &str,
        api_id: String,
        path: String,
    ) -> Response<Body> {
        let (stage, rest) = first_segment(&path);
        let stage = stage.to_string();
        if let Some(connection) = rest.strip_prefix("/@connections/") {
            let connection = percent_encoding::percent_decode_str(connection).decode_utf8_lossy().into_owned();
            return self.serve_connections(parts, body, api_id, stage, connection).await;
        }
        if !crate::websocket::is_handshake(&parts) {
            return answer(HttpAnswer::new(
                426,
                vec![("Content-Type".into(), "application/json".into()), ("Upgrade".into(), "websocket".into())],
                br#"{"message":"Upgrade Required"}"#.to_vec(),
            ));
        }
        if stage.is_empty() || rest != "/" {
            return message(403, "ForbiddenException", "Forbidden");
        }
        let version = parts.headers.get("sec-websocket-version").and_then(|v| v.to_str().ok());
        let key = parts.headers.get("sec-websocket-key").and_then(|v| v.to_str().ok()).map(str::to_string);
        let Some(key) = key.filter(|_| version == Some("13")) else {
            let mut r = message(400, "BadRequestException", "Bad Request");
            r.headers_mut().insert("sec-websocket-version", HeaderValue::from_static("13"));
            return r;
        };
        let secure = parts.extensions.get::<crate::gateway::Secure>().is_some();
        let port = host.rsplit_once(':').map(|(_, p)| p.to_string()).filter(|p| p.parse::<u16>().is_ok());
        // The API's own host name, so that functions can reach @connections by it.
        let domain_name = if api_of_host(host_name).is_some() {
            host.clone()
        } else {
            match &port {
                Some(p) => format!("{api_id}.execute-api.localhost:{p}"),
                None => format!("{api_id}.execute-api.localhost"),
            }
        };
        let mut headers = header_pairs(&parts);
        let default_port = if secure { "443" } else { "80" };
        for (k, v) in [
            ("X-Forwarded-For", source_ip(&parts)),
            ("X-Forwarded-Port", port.clone().unwrap_or_else(|| default_port.to_string())),
            ("X-Forwarded-Proto", if secure { "https".to_string() } else { "http".to_string() }),
        ] {
            if !headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k)) {
                headers.push((k.to_string(), v));
            }
        }
        drop(body);
        let caller = self.caller(&parts, &Bytes::new());
        let hs = stratus_apigatewayv2::Handshake {
            api_id,
            stage,
            headers,
            query: parts.uri.query().map(str::to_string),
            source_ip: source_ip(&parts),
            domain_name,
            caller,
        };
        let session = match self.http_apis.ws_connect(hs).await {
            Ok(s) => s,
            Err(a) => return answer(a),
        };
        let id = session.connection_id.clone();
        let extra = session.headers.clone();
        let apis = self.http_apis.clone();
        let Some(on_upgrade) = parts.extensions.remove::<hyper::upgrade::OnUpgrade>() else {
            apis.ws_disconnect(&id, 1006, "Going away").await;
            return message(500, "InternalServerErrorException", "Internal server error");
        };
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => crate::websocket::run(TokioIo::new(upgraded), session, apis).await,
                Err(e) => {
                    tracing::debug!(error = %e, "a WebSocket handshake did not complete");
                    apis.ws_disconnect(&id, 1006, "Going away").await;
                }
            }
        });
        let mut r = Response::new(boxed(Full::new(Bytes::new())));
        *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let h = r.headers_mut();
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.insert("connection", HeaderValue::from_static("Upgrade"));
        if let Ok(v) = HeaderValue::from_str(&crate::websocket::accept_key(&key)) {
            h.insert("sec-websocket-accept", v);
        }
        for (k, v) in extra {
            if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
                h.insert(n, v);
            }
        }
        r
    }

    /// The @connections API: signed for `execute-api` unless the server is open; in enforce
    /// mode the caller needs `execute-api:ManageConnections` on
    /// `arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/@connections/{id}`.
    async fn serve_connections(
        &self,
        parts: http::request::Parts,
        body: Incoming,
        api_id: String,
        stage: String,
        connection_id: String,
    ) -> Response<Body> {
        let limit = stratus_apigatewayv2::websocket::MAX_MESSAGE + 1;
        let body = match Limited::new(body, limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return message(413, "PayloadTooLargeException", "Message too long"),
        };
        match self.caller(&parts, &body) {
            None if self.auth.mode() == stratus_iam::Mode::Open => {}
            None => return message(403, "ForbiddenException", "Missing Authentication Token"),
            Some(Err((code, text))) => return message(403, &code, &text),
            Some(Ok(caller)) => {
                let (account, region) = self.http_apis.locate(&api_id).await.unwrap_or_default();
                let arn = format!(
                    "arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{}/@connections/{connection_id}",
                    parts.method,
                    partition = stratus_core::partition(&region)
                );
                if !self.backends.may_manage(&caller, &arn).await {
                    return message(403, "ForbiddenException", "Forbidden");
                }
            }
        }
        let req = stratus_apigatewayv2::ManageRequest {
            api_id,
            stage,
            method: parts.method.as_str().to_string(),
            connection_id,
            body,
        };
        answer(self.http_apis.ws_manage(req).await)
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
            || self.http_apis.is_domain(head.host_name())
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
