//! The one HTTP listener: platform endpoints under `/_stratus/`, then every AWS API request is
//! authenticated, matched to its service and handed to the protocol layer.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;
use stratus_core::{Env, RequestContext};
use stratus_iam::{AuthError, Authenticator, Principal};
use stratus_proto::{ApiRequest, Service, Wire};
use stratus_sigv4::{AuthInfo, Dialect};
use stratus_sqs::Sqs;
use stratus_storage::Store;

use crate::config::Config;

/// Largest request body accepted (Lambda's 6 MB synchronous payload fits, with room).
pub const MAX_BODY: usize = 16 << 20;

pub struct Gateway {
    pub cfg: Config,
    pub store: Store,
    pub env: Env,
    pub auth: Authenticator,
    pub sqs: Sqs,
    routes: Vec<Route>,
    started: Instant,
    /// Serves the SNS signing certificate.
    sns: Option<stratus_sns::Sns>,
    /// Called after a reset wiped the store (in-memory state of services and runtimes).
    on_reset: Vec<Box<dyn Fn() + Send + Sync>>,
    /// S3 (REST-XML, streaming bodies) is routed before any body is read.
    s3: Option<crate::s3::S3Front>,
}

/// How requests find a service: its SigV4 signing name and its `X-Amz-Target` prefix.
struct Route {
    signing_name: String,
    target_prefix: Option<String>,
    service: Arc<dyn Service>,
}

pub type Reply = Response<Full<Bytes>>;

/// The client's address, put into each request's extensions by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Region names as AWS spells them (`us-east-1`), so that they are safe in keys and ARNs.
pub fn valid_region(r: &str) -> bool {
    !r.is_empty() && r.len() <= 32 && r.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Gateway {
    pub fn new(
        cfg: Config,
        store: Store,
        env: Env,
        auth: Authenticator,
        sqs: Sqs,
        others: Vec<Arc<dyn Service>>,
    ) -> Self {
        let mut routes = Vec::new();
        let mut services: Vec<Arc<dyn Service>> = vec![Arc::new(sqs.clone())];
        services.extend(others);
        for service in services {
            let m = &service.model().metadata;
            routes.push(Route {
                signing_name: m.signing_name.clone(),
                target_prefix: m.target_prefix.clone(),
                service,
            });
        }
        Self { cfg, store, env, auth, sqs, routes, started: Instant::now(), sns: None, on_reset: Vec::new(), s3: None }
    }

    pub fn with_sns(mut self, sns: stratus_sns::Sns) -> Self {
        self.sns = Some(sns);
        self
    }

    /// Adds work to do after a reset.
    pub fn on_reset(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_reset.push(Box::new(f));
        self
    }

    /// Serves S3 through `front`.
    pub fn with_s3(mut self, front: crate::s3::S3Front) -> Self {
        self.s3 = Some(front);
        self
    }

    pub fn service_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.routes.iter().map(|r| r.signing_name.as_str()).collect();
        if self.s3.is_some() {
            names.push("s3");
        }
        names
    }

    pub async fn handle(self: Arc<Self>, req: hyper::Request<Incoming>) -> Response<crate::s3::Body> {
        if let Some(s3) = &self.s3
            && crate::s3::is_s3(&req)
        {
            return s3.handle(req).await;
        }
        self.handle_buffered(req).await.map(crate::s3::boxed)
    }

    async fn handle_buffered(self: Arc<Self>, req: hyper::Request<Incoming>) -> Reply {
        let (parts, body) = req.into_parts();
        let dialect = guess_dialect(&parts);
        if let Some(len) = parts.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && len > MAX_BODY as u64
        {
            return too_large(dialect);
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return too_large(dialect),
            Err(_) => {
                return plain_error(
                    dialect,
                    StatusCode::BAD_REQUEST,
                    "IncompleteBody",
                    "The request body could not be read.",
                );
            }
        };
        if parts.uri.path().starts_with("/_stratus/") {
            return self.platform(&parts, &body).await;
        }
        self.api(&parts, &body).await
    }

    async fn api(&self, parts: &Parts, body: &Bytes) -> Reply {
        let info = match Authenticator::parse(&parts.method, &parts.uri, &parts.headers) {
            Ok(i) => i,
            Err(e) => return auth_error(guess_dialect(parts), &AuthError::SigV4(e)),
        };
        let Some(route) = self.route(parts, info.as_ref()) else {
            return plain_error(
                guess_dialect(parts),
                StatusCode::BAD_REQUEST,
                "UnrecognizedService",
                "The request does not name a service this server provides.",
            );
        };
        let req = ApiRequest { method: &parts.method, uri: &parts.uri, headers: &parts.headers, body };
        let wire = stratus_proto::detect_wire(route.service.model(), &req);
        let dialect = if wire == Wire::Query { Dialect::Query } else { Dialect::Json };
        let principal = match self.link_principal(parts, info.as_ref(), route) {
            Some(p) => Ok(p),
            None => self.authenticate(parts, body, info.as_ref()),
        };
        let principal = match principal {
            Ok(p) => p,
            Err(e) => return auth_error(dialect, &e),
        };
        let region =
            principal.region.as_deref().filter(|r| valid_region(r)).unwrap_or(&self.cfg.default_region).to_string();
        let ctx = RequestContext {
            account: principal.account,
            region,
            request_id: self.env.ids.uuid(),
            access_key: principal.access_key,
            host: host_of(parts),
            path: parts.uri.path().to_string(),
        };
        let resp = stratus_proto::dispatch(route.service.as_ref(), &ctx, &req).await;
        tracing::debug!(service = %route.signing_name, status = resp.status().as_u16(), request_id = %ctx.request_id, "request");
        resp.map(Full::new)
    }

    /// The links SNS puts in its messages (`SubscribeURL`, `UnsubscribeURL`) work unsigned, as
    /// on AWS: an unsigned GET of ConfirmSubscription or Unsubscribe acts for the account and
    /// region of the ARN it names (its token or subscription ARN is the credential).
    fn link_principal(&self, parts: &Parts, info: Option<&AuthInfo>, route: &Route) -> Option<Principal> {
        if info.is_some() || parts.method != Method::GET || route.signing_name != "sns" {
            return None;
        }
        let query = parts.uri.query()?;
        let param =
            |name: &str| form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
        let arn = match param("Action")?.as_str() {
            "ConfirmSubscription" => param("TopicArn")?,
            "Unsubscribe" => param("SubscriptionArn")?,
            _ => return None,
        };
        let a = stratus_core::Arn::parse(&arn)?;
        Some(Principal {
            account: a.account.to_string(),
            access_key: None,
            region: Some(a.region.to_string()),
            service: Some("sns".into()),
            admin: false,
        })
    }

    fn authenticate(&self, parts: &Parts, body: &Bytes, info: Option<&AuthInfo>) -> Result<Principal, AuthError> {
        self.auth.authenticate(
            info,
            &parts.method,
            &parts.uri,
            &parts.headers,
            || stratus_sigv4::sha256_hex(body),
            self.env.clock.now(),
        )
    }

    fn route(&self, parts: &Parts, info: Option<&AuthInfo>) -> Option<&Route> {
        if let Some(target) = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
            let prefix = target.rsplit_once('.').map(|(p, _)| p).unwrap_or(target);
            return self.routes.iter().find(|r| r.target_prefix.as_deref() == Some(prefix));
        }
        if let Some(i) = info
            && let Some(r) = self.routes.iter().find(|r| r.signing_name == i.service)
        {
            return Some(r);
        }
        // Unsigned query requests: the service whose model has the action, or SQS's queue URLs.
        let action = parts.uri.query().and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("Action=")));
        self.routes
            .iter()
            .find(|r| action.is_some_and(|a| r.service.model().operation(a).is_some()))
            .or_else(|| self.routes.iter().find(|r| r.signing_name == "sqs"))
    }

    async fn platform(&self, parts: &Parts, body: &Bytes) -> Reply {
        match (&parts.method, parts.uri.path()) {
            (&Method::GET, "/_stratus/health") => json_reply(
                StatusCode::OK,
                json!({
                    "status": "ready",
                    "version": env!("CARGO_PKG_VERSION"),
                    "services": self.service_names(),
                    "storage": self.store.backend_name(),
                    "durable": self.cfg.data_dir.is_some(),
                    "uptimeSeconds": self.started.elapsed().as_secs(),
                }),
            ),
            (&Method::GET, path) if path.starts_with("/_stratus/lambda-code/") => {
                // The `Code.Location` of GetFunction: the deployment package, by its SHA-256.
                let sha = &path["/_stratus/lambda-code/".len()..];
                if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return plain_error(Dialect::Json, StatusCode::NOT_FOUND, "NotFound", "No such code package.");
                }
                match self.store.blobs().get(&stratus_lambda::code_blob_name(sha)) {
                    Ok(Some(zip)) => {
                        let mut r = Response::new(Full::new(Bytes::from(zip)));
                        r.headers_mut().insert("content-type", HeaderValue::from_static("application/zip"));
                        r
                    }
                    Ok(None) => plain_error(Dialect::Json, StatusCode::NOT_FOUND, "NotFound", "No such code package."),
                    Err(e) => {
                        plain_error(Dialect::Json, StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", &e.to_string())
                    }
                }
            }
            (&Method::GET, path) if path.starts_with("/_stratus/sns/") => {
                // SNS's `SigningCertURL`: the certificate that verifies message signatures.
                let sns = self.sns.as_ref();
                let file = sns.and_then(|s| s.certificate_file_name());
                match (file, sns.and_then(|s| s.certificate_pem())) {
                    (Some(f), Some(pem)) if path["/_stratus/sns/".len()..] == f => {
                        let mut r = Response::new(Full::new(Bytes::from(pem)));
                        r.headers_mut().insert("content-type", HeaderValue::from_static("application/x-pem-file"));
                        r
                    }
                    _ => plain_error(Dialect::Json, StatusCode::NOT_FOUND, "NotFound", "No such certificate."),
                }
            }
            (&Method::POST, "/_stratus/reset") => {
                let info = match Authenticator::parse(&parts.method, &parts.uri, &parts.headers) {
                    Ok(i) => i,
                    Err(e) => return auth_error(Dialect::Json, &AuthError::SigV4(e)),
                };
                match self.authenticate(parts, body, info.as_ref()) {
                    Ok(p) if p.admin => {}
                    Ok(_) => {
                        return plain_error(
                            Dialect::Json,
                            StatusCode::FORBIDDEN,
                            "AccessDenied",
                            "Only an administrator may reset the server.",
                        );
                    }
                    Err(e) => {
                        let (code, _, message) = e.aws_error(Dialect::Json);
                        return plain_error(Dialect::Json, StatusCode::FORBIDDEN, &code, &message);
                    }
                }
                match self.store.wipe().await {
                    Ok(()) => {
                        self.sqs.reset();
                        for f in &self.on_reset {
                            f();
                        }
                        tracing::info!("state reset");
                        json_reply(StatusCode::OK, json!({"reset": true}))
                    }
                    Err(e) => {
                        plain_error(Dialect::Json, StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", &e.to_string())
                    }
                }
            }
            _ => plain_error(Dialect::Json, StatusCode::NOT_FOUND, "NotFound", "No such platform endpoint."),
        }
    }
}

fn host_of(parts: &Parts) -> String {
    parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// Before the service is known: form posts and `?Action=` requests speak XML, others JSON.
fn guess_dialect(parts: &Parts) -> Dialect {
    let form = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let action = parts.uri.query().is_some_and(|q| q.contains("Action="));
    if (form || action) && !parts.headers.contains_key("x-amz-target") { Dialect::Query } else { Dialect::Json }
}

fn json_reply(status: StatusCode, v: serde_json::Value) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn plain_error(dialect: Dialect, status: StatusCode, code: &str, message: &str) -> Reply {
    match dialect {
        Dialect::Json => {
            let mut r = json_reply(status, json!({"__type": code, "message": message}));
            if let Ok(v) = HeaderValue::from_str(code) {
                r.headers_mut().insert("x-amzn-errortype", v);
            }
            r
        }
        _ => {
            let mut w = stratus_proto::xml::XmlWriter::new();
            w.decl();
            w.open("ErrorResponse", None);
            w.open("Error", None);
            w.element("Type", if status.is_server_error() { "Receiver" } else { "Sender" });
            w.element("Code", code);
            w.element("Message", message);
            w.close("Error");
            w.close("ErrorResponse");
            let mut r = Response::new(Full::new(Bytes::from(w.finish())));
            *r.status_mut() = status;
            r.headers_mut().insert("content-type", HeaderValue::from_static("text/xml"));
            r
        }
    }
}

fn too_large(dialect: Dialect) -> Reply {
    plain_error(
        dialect,
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Request body is larger than the {MAX_BODY} bytes this server accepts."),
    )
}

fn auth_error(dialect: Dialect, e: &AuthError) -> Reply {
    let (code, status, message) = e.aws_error(dialect);
    let mut r = plain_error(dialect, StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN), &code, &message);
    if dialect == Dialect::Json
        && let Ok(v) = HeaderValue::from_str(&format!("{code};Sender"))
    {
        // Query-compatible JSON clients (SQS) read the code from here.
        r.headers_mut().insert("x-amzn-query-error", v);
    }
    r
}
