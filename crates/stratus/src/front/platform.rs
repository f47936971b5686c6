//! The platform door: `/_stratus/…`. Health, reset (administrators only), and the files services
//! serve there (a function's code package for GetFunction's `Code.Location`, SNS's signing
//! certificate for `SigningCertURL`).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::json;
use stratus_core::Env;
use stratus_iam::{AuthError, Authenticator};
use stratus_sigv4::Dialect;
use stratus_storage::Store;

use crate::gateway::{Body, FrontDoor, Head, Reply, auth_error, boxed, json_reply, plain_error};
use crate::services::{PlatformFiles, Services};

pub struct PlatformDoor {
    store: Store,
    auth: Arc<Authenticator>,
    env: Env,
    durable: bool,
    started: Instant,
    services: Vec<&'static str>,
    resets: Vec<Box<dyn Fn() + Send + Sync>>,
    files: Vec<Arc<dyn PlatformFiles>>,
    /// `git --version` (CodeCommit needs git), None when git is not installed.
    git: Option<String>,
    node: NodeInfo,
}

/// This node, for `/_stratus/health` and `/_stratus/cluster`.
pub struct NodeInfo {
    pub record: stratus_storage::nodes::NodeRecord,
    /// The store may be shared with other nodes (PostgreSQL): nodes keep records in it.
    pub shared: bool,
}

impl PlatformDoor {
    /// Takes the reset hooks and files out of the registrations.
    pub fn new(
        services: &mut Services,
        store: Store,
        auth: Arc<Authenticator>,
        env: Env,
        durable: bool,
        git: Option<String>,
        node: NodeInfo,
    ) -> Self {
        let names = services.names();
        let mut resets = Vec::new();
        let mut files = Vec::new();
        for r in &mut services.list {
            if let Some(f) = r.reset.take() {
                resets.push(f);
            }
            if let Some(f) = r.files.take() {
                files.push(f);
            }
        }
        PlatformDoor { store, auth, env, durable, started: Instant::now(), services: names, resets, files, git, node }
    }

    async fn handle(&self, parts: &Parts, body: &Bytes) -> Reply {
        let path = parts.uri.path();
        match (&parts.method, path) {
            (&Method::GET, "/_stratus/health") => json_reply(
                StatusCode::OK,
                json!({
                    "status": "ready",
                    "version": env!("CARGO_PKG_VERSION"),
                    "services": self.services,
                    "storage": self.store.backend_name(),
                    "durable": self.durable,
                    "uptimeSeconds": self.started.elapsed().as_secs(),
                    "git": self.git,
                    "node": self.node.record.id,
                }),
            ),
            (&Method::GET, "/_stratus/cluster") => self.cluster().await,
            (&Method::POST, "/_stratus/reset") => self.reset(parts, body).await,
            (&Method::GET, _) => self.file(path, parts.uri.query().unwrap_or_default()).await,
            _ => not_found("No such platform endpoint."),
        }
    }

    /// The live nodes: from their records where the store is shared, else this node alone.
    async fn cluster(&self) -> Reply {
        let now = self.env.clock.now_millis();
        let nodes = if self.node.shared {
            match stratus_storage::nodes::list(&self.store, now).await {
                Ok(n) => n,
                Err(e) => {
                    return plain_error(
                        Dialect::Json,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalFailure",
                        &e.to_string(),
                    );
                }
            }
        } else {
            vec![stratus_storage::nodes::NodeRecord { heartbeat: now, ..self.node.record.clone() }]
        };
        json_reply(StatusCode::OK, json!({"storage": self.store.backend_name(), "nodes": nodes}))
    }

    async fn file(&self, path: &str, query: &str) -> Reply {
        let rest = &path["/_stratus/".len()..];
        // `/_stratus/{prefix}/{name}`, or a file that is its prefix alone (`/_stratus/ca.pem`).
        let (prefix, name) = rest.split_once('/').unwrap_or((rest, ""));
        let Some(files) = self.files.iter().find(|f| f.prefix() == prefix) else {
            return not_found("No such platform endpoint.");
        };
        match files.get(name, query).await {
            Ok(Some((content_type, bytes))) => {
                let mut r = Response::new(Full::new(bytes));
                r.headers_mut().insert("content-type", HeaderValue::from_static(content_type));
                r
            }
            Ok(None) => not_found("No such file."),
            Err(e) => plain_error(Dialect::Json, StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", &e),
        }
    }

    async fn reset(&self, parts: &Parts, body: &Bytes) -> Reply {
        let info = match Authenticator::parse(&parts.method, &parts.uri, &parts.headers) {
            Ok(i) => i,
            Err(e) => return auth_error(Dialect::Json, &AuthError::SigV4(e)),
        };
        let who = self.auth.authenticate(
            info.as_ref(),
            &parts.method,
            &parts.uri,
            &parts.headers,
            || stratus_sigv4::sha256_hex(body),
            self.env.clock.now(),
        );
        match who {
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
                for f in &self.resets {
                    f();
                }
                tracing::info!("state reset");
                json_reply(StatusCode::OK, json!({"reset": true}))
            }
            Err(e) => plain_error(Dialect::Json, StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", &e.to_string()),
        }
    }
}

fn not_found(message: &str) -> Reply {
    plain_error(Dialect::Json, StatusCode::NOT_FOUND, "NotFound", message)
}

impl FrontDoor for PlatformDoor {
    fn claims(&self, head: &Head<'_>) -> bool {
        head.path().starts_with("/_stratus/")
    }

    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>> {
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            // Platform requests carry no body of use; a signature may still cover one.
            let body = match Limited::new(body, 1 << 20).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return plain_error(Dialect::Json, StatusCode::BAD_REQUEST, "IncompleteBody", "Body not read.")
                        .map(boxed);
                }
            };
            self.handle(&parts, &body).await.map(boxed)
        })
    }
}
