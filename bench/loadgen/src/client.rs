//! One signed HTTP/1.1 keep-alive connection to an SQS JSON-protocol endpoint
//! (or to Lambda's Invoke REST path).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use stratus_sigv4::{SigningParams, sign};
use tokio::net::TcpStream;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where requests go and how they are signed.
#[derive(Debug)]
pub struct Target {
    pub addr: SocketAddr,
    /// `host:port`, used for the Host header.
    pub authority: HeaderValue,
    /// `http://host:port/`, the URI the signature covers.
    pub sign_uri: Uri,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub timeout: Duration,
}

/// The answer to one request: status and the whole body.
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    /// Lambda Invoke: the `X-Amz-Function-Error` header was present.
    pub function_error: bool,
}

/// A Lambda Invoke target: the request path and the URI its signature covers.
pub struct InvokePath {
    pub path: String,
    pub sign_uri: Uri,
}

impl InvokePath {
    /// `POST /2015-03-31/functions/{name}/invocations` (synchronous, `RequestResponse`).
    /// Names are restricted to what needs no percent-encoding.
    pub fn new(target: &Target, function: &str) -> Result<Self, BoxError> {
        let ok = !function.is_empty()
            && function.len() <= 170
            && function.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(format!("--function {function:?}: use a plain function name ([A-Za-z0-9_-])").into());
        }
        let path = format!("/2015-03-31/functions/{function}/invocations");
        let sign_uri = format!("http://{}{path}", target.authority.to_str()?).parse()?;
        Ok(Self { path, sign_uri })
    }
}

pub struct Conn {
    target: Arc<Target>,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Number of TCP connections opened (1 for a connection that was never
    /// dropped).
    pub connects: u64,
}

impl Conn {
    pub fn new(target: Arc<Target>) -> Self {
        Self { target, sender: None, connects: 0 }
    }

    async fn open(&mut self) -> Result<SendRequest<Full<Bytes>>, BoxError> {
        let stream = TcpStream::connect(self.target.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the peer closes or the sender is dropped; errors
            // surface on the next send_request.
            let _ = connection.await;
        });
        self.connects += 1;
        Ok(sender)
    }

    /// Builds, signs and sends one `AmazonSQS.<action>` JSON request and
    /// reads the whole response. Transport errors drop the connection; the
    /// next call reconnects.
    pub async fn call(&mut self, action: &str, body: Bytes) -> Result<Reply, BoxError> {
        let request = self.build_request(action, body)?;
        self.send(request).await
    }

    /// Builds, signs (service `lambda`) and sends one synchronous Invoke.
    pub async fn invoke(&mut self, path: &InvokePath, payload: Bytes) -> Result<Reply, BoxError> {
        let request = self.build_invoke(path, payload)?;
        self.send(request).await
    }

    async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, BoxError> {
        let timeout = self.target.timeout;
        match tokio::time::timeout(timeout, self.send_inner(request)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(format!("request timed out after {timeout:?}").into())
            }
        }
    }

    async fn send_inner(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, BoxError> {
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.open().await?,
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let keep_alive = !response
            .headers()
            .get(http::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = response.into_body().collect().await?.to_bytes();
        if keep_alive {
            self.sender = Some(sender);
        }
        Ok(Reply { status, body, function_error })
    }

    fn build_request(&self, action: &str, body: Bytes) -> Result<Request<Full<Bytes>>, BoxError> {
        let t = &*self.target;
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(HOST, t.authority.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.0"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        headers.insert("x-amz-target", HeaderValue::from_str(&format!("AmazonSQS.{action}"))?);
        let params = SigningParams {
            access_key: &t.access_key,
            secret_key: &t.secret_key,
            session_token: None,
            region: &t.region,
            service: "sqs",
            time: SystemTime::now(),
        };
        sign(&params, &Method::POST, &t.sign_uri, &mut headers, &body)
            .map_err(|e| -> BoxError { format!("SigV4 signing failed: {e:?}").into() })?;
        let mut request = Request::builder().method(Method::POST).uri("/").body(Full::new(body))?;
        *request.headers_mut() = headers;
        Ok(request)
    }

    fn build_invoke(&self, path: &InvokePath, payload: Bytes) -> Result<Request<Full<Bytes>>, BoxError> {
        let t = &*self.target;
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(HOST, t.authority.clone());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CONTENT_LENGTH, HeaderValue::from(payload.len()));
        let params = SigningParams {
            access_key: &t.access_key,
            secret_key: &t.secret_key,
            session_token: None,
            region: &t.region,
            service: "lambda",
            time: SystemTime::now(),
        };
        sign(&params, &Method::POST, &path.sign_uri, &mut headers, &payload)
            .map_err(|e| -> BoxError { format!("SigV4 signing failed: {e:?}").into() })?;
        let mut request = Request::builder().method(Method::POST).uri(path.path.as_str()).body(Full::new(payload))?;
        *request.headers_mut() = headers;
        Ok(request)
    }
}
