//! One signed HTTP/1.1 keep-alive connection to an AWS-compatible endpoint:
//! SQS (JSON protocol), Lambda Invoke, S3 (REST, path style), query-protocol
//! services such as SNS, DynamoDB and Kinesis (JSON 1.0 / 1.1). One builder per
//! request kind, all signed in one place.

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

/// An unsigned request sent again and again (`--workload http`).
pub struct PlainRequest {
    method: Method,
    path: String,
    host: HeaderValue,
    body: Bytes,
}

impl PlainRequest {
    pub fn new(method: &str, path: &str, host: &str, body: Option<String>) -> Result<Self, BoxError> {
        if !path.starts_with('/') {
            return Err(format!("--http-path {path:?} must start with /").into());
        }
        let _: Uri = path.parse().map_err(|e| format!("--http-path {path:?}: {e}"))?;
        Ok(Self {
            method: method.parse().map_err(|e| format!("--http-method {method:?}: {e}"))?,
            path: path.to_string(),
            host: HeaderValue::from_str(host).map_err(|e| format!("--http-host {host:?}: {e}"))?,
            body: Bytes::from(body.unwrap_or_default()),
        })
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

    /// One S3 request (service `s3`) on a path-style `path`
    /// (`/{bucket}` or `/{bucket}/{key}`, already URL-safe).
    pub async fn s3(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
        content_sha256: Option<&HeaderValue>,
    ) -> Result<Reply, BoxError> {
        let request = self.build_s3(method, path, body, content_sha256)?;
        self.send(request).await
    }

    /// One DynamoDB JSON 1.0 request (`X-Amz-Target: DynamoDB_20120810.<op>`).
    pub async fn dynamodb(&mut self, op: &str, body: Bytes) -> Result<Reply, BoxError> {
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.0"));
        headers.insert("x-amz-target", HeaderValue::from_str(&format!("DynamoDB_20120810.{op}"))?);
        let request = self.signed(Method::POST, "/", &self.target.sign_uri, "dynamodb", headers, body)?;
        self.send(request).await
    }

    /// One Kinesis JSON 1.1 request (`X-Amz-Target: Kinesis_20131202.<op>`).
    pub async fn kinesis(&mut self, op: &str, body: Bytes) -> Result<Reply, BoxError> {
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
        headers.insert("x-amz-target", HeaderValue::from_str(&format!("Kinesis_20131202.{op}"))?);
        let request = self.signed(Method::POST, "/", &self.target.sign_uri, "kinesis", headers, body)?;
        self.send(request).await
    }

    /// One unsigned request.
    pub async fn plain(&mut self, r: &PlainRequest) -> Result<Reply, BoxError> {
        let mut request =
            Request::builder().method(r.method.clone()).uri(r.path.as_str()).body(Full::new(r.body.clone()))?;
        let headers = request.headers_mut();
        headers.insert(HOST, r.host.clone());
        if !r.body.is_empty() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            headers.insert(CONTENT_LENGTH, HeaderValue::from(r.body.len()));
        }
        self.send(request).await
    }

    /// One query-protocol request (`POST /`, form body) signed for `service`.
    pub async fn query(&mut self, service: &str, body: Bytes) -> Result<Reply, BoxError> {
        let request = self.build_query(service, body)?;
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

    /// Adds `Host` (and `Content-Length` unless it is a body-less GET), signs
    /// for `service` over `sign_uri`, and builds the request for `path`. Every
    /// request kind below goes through here.
    fn signed(
        &self,
        method: Method,
        path: &str,
        sign_uri: &Uri,
        service: &str,
        mut headers: HeaderMap,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, BoxError> {
        let t = &*self.target;
        headers.insert(HOST, t.authority.clone());
        if !(body.is_empty() && method == Method::GET) {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        let params = SigningParams {
            access_key: &t.access_key,
            secret_key: &t.secret_key,
            session_token: None,
            region: &t.region,
            service,
            time: SystemTime::now(),
        };
        sign(&params, &method, sign_uri, &mut headers, &body)
            .map_err(|e| -> BoxError { format!("SigV4 signing failed: {e:?}").into() })?;
        let mut request = Request::builder().method(method).uri(path).body(Full::new(body))?;
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// SQS JSON protocol: `POST /` with `X-Amz-Target: AmazonSQS.<action>`.
    fn build_request(&self, action: &str, body: Bytes) -> Result<Request<Full<Bytes>>, BoxError> {
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.0"));
        headers.insert("x-amz-target", HeaderValue::from_str(&format!("AmazonSQS.{action}"))?);
        self.signed(Method::POST, "/", &self.target.sign_uri, "sqs", headers, body)
    }

    fn build_invoke(&self, path: &InvokePath, payload: Bytes) -> Result<Request<Full<Bytes>>, BoxError> {
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.signed(Method::POST, &path.path, &path.sign_uri, "lambda", headers, payload)
    }

    /// S3 REST, path style: `method /{bucket}[/{key}]`. `content_sha256` is the
    /// body's SHA-256 (hex) when the caller computed it once for a body it
    /// sends many times; else signing hashes the body.
    fn build_s3(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        content_sha256: Option<&HeaderValue>,
    ) -> Result<Request<Full<Bytes>>, BoxError> {
        let mut headers = HeaderMap::with_capacity(8);
        if !body.is_empty() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
        }
        if let Some(hash) = content_sha256 {
            headers.insert("x-amz-content-sha256", hash.clone());
        }
        let sign_uri: Uri = format!("http://{}{path}", self.target.authority.to_str()?).parse()?;
        self.signed(method, path, &sign_uri, "s3", headers, body)
    }

    /// Query protocol (SNS and friends): `POST /` with a form-encoded body.
    fn build_query(&self, service: &str, body: Bytes) -> Result<Request<Full<Bytes>>, BoxError> {
        let mut headers = HeaderMap::with_capacity(8);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        self.signed(Method::POST, "/", &self.target.sign_uri, service, headers, body)
    }
}
