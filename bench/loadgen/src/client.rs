//! One signed HTTP/1.1 keep-alive connection to an SQS JSON-protocol endpoint.

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
        let timeout = self.target.timeout;
        match tokio::time::timeout(timeout, self.call_inner(action, body)).await {
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

    async fn call_inner(&mut self, action: &str, body: Bytes) -> Result<Reply, BoxError> {
        let request = self.build_request(action, body)?;
        let mut sender = match self.sender.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.open().await?,
        };
        sender.ready().await?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let keep_alive = !response
            .headers()
            .get(http::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = response.into_body().collect().await?.to_bytes();
        if keep_alive {
            self.sender = Some(sender);
        }
        Ok(Reply { status, body })
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
}
