//! The one HTTP listener's request handling (DESIGN.md §3): each request's front door is chosen
//! once, from its head, by asking the doors in order whether the request is theirs; the door
//! then has the whole request, body still unread. One module per door under `front/`:
//!
//! | door | claims |
//! | --- | --- |
//! | [`front::platform`] | `/_stratus/…` |
//! | [`front::execute_api`] (a service's own door) | `{api}.execute-api.…` hosts, `/_aws/execute-api/…`, custom domain names |
//! | [`front::aws`] | AWS API requests: signed for a service other than S3, `X-Amz-Target`, `Action=`, form posts, or a path that a served REST model's URI templates claim |
//! | [`front::s3`] | everything else: S3's virtual hosts, S3-signed and unsigned object requests |

use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use serde_json::json;
use stratus_iam::AuthError;
use stratus_sigv4::Dialect;

use crate::front;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A reply body that is either buffered (most doors) or streamed (S3).
pub type Body = UnsyncBoxBody<Bytes, BoxError>;
/// A buffered reply.
pub type Reply = Response<Full<Bytes>>;

pub fn boxed(b: Full<Bytes>) -> Body {
    use http_body_util::BodyExt;
    b.map_err(|never| match never {}).boxed_unsync()
}

/// The client's address, put into each request's extensions by the listener.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Put into a request's extensions when its connection is TLS.
#[derive(Debug, Clone, Copy)]
pub struct Secure;

/// What the doors look at to claim a request, read once from its head.
pub struct Head<'a> {
    pub method: &'a http::Method,
    pub uri: &'a http::Uri,
    pub headers: &'a http::HeaderMap,
    /// The SigV4 (or SigV2) signature's access key, region and service, not yet checked.
    pub signed: Option<Signed>,
}

impl<'a> Head<'a> {
    pub fn of<B>(req: &'a http::Request<B>) -> Self {
        Head { method: req.method(), uri: req.uri(), headers: req.headers(), signed: signed(req.uri(), req.headers()) }
    }

    pub fn path(&self) -> &str {
        self.uri.path()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Host header without its port.
    pub fn host_name(&self) -> &str {
        let host = self.header("host").unwrap_or("");
        host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h)
    }

    pub fn signed_service(&self) -> Option<&str> {
        self.signed.as_ref().and_then(|s| s.service.as_deref())
    }
}

/// The access key and (SigV4) region and service a request is signed with, without checking.
#[derive(Debug, Clone)]
pub struct Signed {
    pub access_key: String,
    pub region: Option<String>,
    pub service: Option<String>,
}

fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Reads the signature's scope from the `Authorization` header or a presigned query.
pub fn signed(uri: &http::Uri, headers: &http::HeaderMap) -> Option<Signed> {
    let scope = |cred: &str| {
        let mut it = cred.split('/');
        let key = it.next()?.to_string();
        let _date = it.next()?;
        let region = it.next()?.to_string();
        let service = it.next()?.to_string();
        Some(Signed { access_key: key, region: Some(region), service: Some(service) })
    };
    if let Some(a) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        if let Some(rest) = a.strip_prefix("AWS4-HMAC-SHA256") {
            let cred = rest.split(',').find_map(|p| p.trim().strip_prefix("Credential="))?;
            return scope(cred);
        }
        if let Some(rest) = a.strip_prefix("AWS ") {
            let key = rest.split(':').next()?.to_string();
            return Some(Signed { access_key: key, region: None, service: Some("s3".into()) });
        }
    }
    let q = uri.query()?;
    if let Some(cred) = query_param(q, "X-Amz-Credential") {
        return scope(&cred);
    }
    query_param(q, "AWSAccessKeyId").map(|key| Signed { access_key: key, region: None, service: Some("s3".into()) })
}

/// A front door: claims requests by their head and serves them.
pub trait FrontDoor: Send + Sync {
    fn claims(&self, head: &Head<'_>) -> bool;
    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>>;
}

pub struct Gateway {
    /// Asked in order; the last one takes whatever the others left.
    doors: Vec<Arc<dyn FrontDoor>>,
}

impl Gateway {
    pub fn new(doors: Vec<Arc<dyn FrontDoor>>) -> Self {
        Self { doors }
    }

    pub async fn handle(&self, req: hyper::Request<Incoming>) -> Response<Body> {
        let head = Head::of(&req);
        let door = self.doors.iter().find(|d| d.claims(&head)).cloned();
        match door {
            Some(d) => d.serve(req).await,
            None => front::unclaimed(&head).map(boxed),
        }
    }
}

pub fn host_of(parts: &Parts) -> String {
    parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// Before the service is known: form posts and `?Action=` requests speak XML, others JSON.
pub fn guess_dialect(parts: &Parts) -> Dialect {
    let form = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let action = parts.uri.query().is_some_and(|q| q.contains("Action="));
    if (form || action) && !parts.headers.contains_key("x-amz-target") { Dialect::Query } else { Dialect::Json }
}

pub fn json_reply(status: StatusCode, v: serde_json::Value) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
    r
}

pub fn plain_error(dialect: Dialect, status: StatusCode, code: &str, message: &str) -> Reply {
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

pub fn auth_error(dialect: Dialect, e: &AuthError) -> Reply {
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
