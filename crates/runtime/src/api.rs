//! The Lambda Runtime API (2018-06-01) one execution environment talks to, on its own port.
//!
//! `GET /runtime/invocation/next` blocks until the environment is given an event; the runtime
//! answers it with `POST /runtime/invocation/{id}/response` or `/error`, or reports a failed
//! start with `POST /runtime/init/error`. Statuses and error bodies follow AWS's
//! implementation (the runtime interface emulator): 202 `{"status":"OK"}`, 400
//! `InvalidRequestID`, 403 `InvalidStateTransition`, 413 `RequestEntityTooLarge`.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::JoinSet;

use crate::logs::{self, EnvLog};

/// Lambda's limit for a synchronous response, as its runtime API states it.
pub(crate) const MAX_RESPONSE: usize = 6_291_556;
/// Bodies the runtime may post besides a response (errors): same limit.
const MAX_ERROR_BODY: usize = MAX_RESPONSE;
/// Open connections one environment may hold to its API.
const MAX_CONNECTIONS: usize = 64;

/// An event waiting for the runtime's `/next`.
pub(crate) struct Pending {
    pub request_id: String,
    pub payload: Bytes,
    pub invoked_function_arn: String,
    pub trace_id: String,
    pub client_context: Option<String>,
    pub cognito_identity: Option<String>,
    pub timeout: Duration,
    /// START is logged by `/next` before the event leaves, so it precedes the function's output.
    pub start_line: String,
    pub delivered: oneshot::Sender<Instant>,
    pub reply: oneshot::Sender<Reply>,
}

/// How the runtime answered an event.
#[derive(Debug)]
pub(crate) enum Reply {
    Response(Bytes),
    Error {
        error_type: String,
        payload: Bytes,
    },
    TooLarge,
    /// The response body could not be read to its end.
    Truncated,
}

#[derive(Debug, Clone)]
pub(crate) struct InitError {
    pub error_type: String,
    pub payload: Bytes,
}

enum Slot {
    /// Before the first `/next`.
    Init,
    /// Waiting for, or between, events.
    Ready,
    /// The event with this id is out; its answer goes to `reply`.
    Busy { request_id: String, reply: oneshot::Sender<Reply> },
}

/// What the environment's API shares with the invoking side.
pub(crate) struct ApiState {
    queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    slot: Mutex<Slot>,
    init_error: OnceLock<InitError>,
    pub init_error_posted: Notify,
    /// The first `/next`: initialization is over.
    pub ready_at: OnceLock<Instant>,
    log: Arc<EnvLog>,
}

impl ApiState {
    pub(crate) fn new(queue: mpsc::Receiver<Pending>, log: Arc<EnvLog>) -> ApiState {
        ApiState {
            queue: tokio::sync::Mutex::new(queue),
            slot: Mutex::new(Slot::Init),
            init_error: OnceLock::new(),
            init_error_posted: Notify::new(),
            ready_at: OnceLock::new(),
            log,
        }
    }

    pub(crate) fn init_error(&self) -> Option<InitError> {
        self.init_error.get().cloned()
    }
}

/// Serves the API until the task is aborted (which drops every connection with it).
pub(crate) async fn serve(listener: TcpListener, state: Arc<ApiState>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                if conns.len() >= MAX_CONNECTIONS {
                    // A runtime needs one or two; more is a leak or an attack on the server.
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                conns.spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .header_read_timeout(None)
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

type Resp = Response<Full<Bytes>>;

fn json(status: StatusCode, body: serde_json::Value) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Resp {
    json(status, serde_json::json!({ "errorMessage": message, "errorType": error_type }))
}

fn accepted() -> Resp {
    json(StatusCode::ACCEPTED, serde_json::json!({ "status": "OK" }))
}

fn invalid_request_id() -> Resp {
    error(StatusCode::BAD_REQUEST, "InvalidRequestID", "Invalid request ID")
}

fn invalid_transition(from: &str, to: &str) -> Resp {
    error(
        StatusCode::FORBIDDEN,
        "InvalidStateTransition",
        &format!("State transition from {from} to {to} failed for runtime. Error: State transition is not allowed"),
    )
}

fn not_found() -> Resp {
    let mut r = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

async fn handle(state: Arc<ApiState>, req: Request<Incoming>) -> Result<Resp, Infallible> {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else { return Ok(not_found()) };
    let segments: Vec<&str> = rest.split('/').collect();
    let resp = match (req.method(), segments.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next(&state).await,
        (&Method::POST, ["invocation", id, "response"]) => response(&state, id, req).await,
        (&Method::POST, ["invocation", id, "error"]) => invocation_error(&state, id, req).await,
        (&Method::POST, ["init", "error"]) => init_error(&state, req).await,
        (_, ["invocation", "next"] | ["invocation", _, "response" | "error"] | ["init", "error"]) => {
            let mut r = Response::new(Full::new(Bytes::from_static(b"405 method not allowed\n")));
            *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            r
        }
        _ => not_found(),
    };
    Ok(resp)
}

async fn next(state: &ApiState) -> Resp {
    let _ = state.ready_at.set(Instant::now());
    if let Ok(mut slot) = state.slot.lock() {
        match &*slot {
            Slot::Busy { .. } => return invalid_transition("InvocationNext", "InvocationNext"),
            Slot::Init => *slot = Slot::Ready,
            Slot::Ready => {}
        }
    }
    let mut queue = state.queue.lock().await;
    let Some(p) = queue.recv().await else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Internal Server Error");
    };
    drop(queue);
    state.log.begin_tail();
    state.log.line(p.start_line).await;
    let deadline_ms = logs::now_ms().saturating_add(u64::try_from(p.timeout.as_millis()).unwrap_or(u64::MAX));
    if let Ok(mut slot) = state.slot.lock() {
        *slot = Slot::Busy { request_id: p.request_id.clone(), reply: p.reply };
    }
    let _ = p.delivered.send(Instant::now());
    let mut r = Response::new(Full::new(p.payload));
    let h = r.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &p.request_id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &p.invoked_function_arn);
    set("lambda-runtime-trace-id", &p.trace_id);
    if let Some(c) = &p.client_context {
        set("lambda-runtime-client-context", c);
    }
    if let Some(c) = &p.cognito_identity {
        set("lambda-runtime-cognito-identity", c);
    }
    r
}

/// Takes the answer channel of the event `id` if it is the one out.
fn claim(state: &ApiState, id: &str, to: &str) -> Result<oneshot::Sender<Reply>, Box<Resp>> {
    let Ok(mut slot) = state.slot.lock() else { return Err(Box::new(invalid_request_id())) };
    match std::mem::replace(&mut *slot, Slot::Ready) {
        Slot::Busy { request_id, reply } if request_id == id => Ok(reply),
        Slot::Busy { request_id, reply } => {
            *slot = Slot::Busy { request_id, reply };
            Err(Box::new(invalid_request_id()))
        }
        Slot::Init => {
            *slot = Slot::Init;
            Err(Box::new(invalid_transition("Initializing", to)))
        }
        Slot::Ready => Err(Box::new(invalid_request_id())),
    }
}

enum BodyError {
    TooLarge,
    Truncated,
}

/// Reads a body of at most `limit` bytes (chunked or not); stops reading at the limit.
async fn read_limited(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    let mut body = body;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Truncated)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

fn too_large() -> Resp {
    let mut r = error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."),
    );
    // The rest of the body is not read: the connection cannot be reused.
    r.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    r
}

async fn response(state: &ApiState, id: &str, req: Request<Incoming>) -> Resp {
    let reply = match claim(state, id, "InvocationResponse") {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    match read_limited(req.into_body(), MAX_RESPONSE).await {
        Ok(body) => {
            let _ = reply.send(Reply::Response(body));
            accepted()
        }
        Err(BodyError::TooLarge) => {
            let _ = reply.send(Reply::TooLarge);
            too_large()
        }
        Err(BodyError::Truncated) => {
            let _ = reply.send(Reply::Truncated);
            error(StatusCode::BAD_REQUEST, "TruncatedHTTPRequest", "HTTP request detected as truncated")
        }
    }
}

fn error_type_header(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The error payload the invoker gets: the runtime's JSON as it posted it; otherwise (no body,
/// not JSON) one made from the error type header, as Lambda does.
pub(crate) fn error_payload(header: Option<&str>, body: &[u8]) -> (String, Bytes) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let body_type = parsed
        .as_ref()
        .and_then(|v| v.get("errorType"))
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let error_type = header.map(str::to_string).or(body_type).unwrap_or_else(|| "Unhandled".into());
    match parsed {
        Some(v) if v.is_object() => (error_type, Bytes::copy_from_slice(body)),
        _ => {
            let text = String::from_utf8_lossy(body);
            let v = serde_json::json!({ "errorMessage": text.trim(), "errorType": error_type });
            (error_type, Bytes::from(v.to_string()))
        }
    }
}

async fn invocation_error(state: &ApiState, id: &str, req: Request<Incoming>) -> Resp {
    let reply = match claim(state, id, "InvocationErrorResponse") {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    let header = error_type_header(&req);
    match read_limited(req.into_body(), MAX_ERROR_BODY).await {
        Ok(body) => {
            let (error_type, payload) = error_payload(header.as_deref(), &body);
            let _ = reply.send(Reply::Error { error_type, payload });
            accepted()
        }
        Err(BodyError::TooLarge) => {
            let _ = reply.send(Reply::TooLarge);
            too_large()
        }
        Err(BodyError::Truncated) => {
            let _ = reply.send(Reply::Truncated);
            error(StatusCode::BAD_REQUEST, "TruncatedHTTPRequest", "HTTP request detected as truncated")
        }
    }
}

async fn init_error(state: &ApiState, req: Request<Incoming>) -> Resp {
    let initializing = state.slot.lock().map(|s| matches!(*s, Slot::Init)).unwrap_or(false);
    if !initializing {
        return invalid_transition("Ready", "InitError");
    }
    let header = error_type_header(&req);
    let body = match read_limited(req.into_body(), MAX_ERROR_BODY).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Truncated) => Bytes::new(),
    };
    let (error_type, payload) = error_payload(header.as_deref(), &body);
    let _ = state.init_error.set(InitError { error_type, payload });
    state.init_error_posted.notify_one();
    accepted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_payloads_fall_back_to_the_header() {
        let (t, p) = error_payload(Some("MyError"), br#"{"errorMessage":"boom","errorType":"X"}"#);
        assert_eq!(t, "MyError");
        assert_eq!(&p[..], br#"{"errorMessage":"boom","errorType":"X"}"#);
        let (t, _) = error_payload(None, br#"{"errorMessage":"boom","errorType":"X"}"#);
        assert_eq!(t, "X");
        let (t, p) = error_payload(None, b"not json");
        assert_eq!(t, "Unhandled");
        let v: serde_json::Value = serde_json::from_slice(&p).unwrap_or_default();
        assert_eq!(v["errorMessage"], "not json");
        assert_eq!(v["errorType"], "Unhandled");
    }
}
