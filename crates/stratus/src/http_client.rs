//! A small HTTP/1.1 client for integrations that call URLs (API Gateway's HTTP and HTTP_PROXY
//! integrations, its AWS integrations through this server's own endpoint). Plain `http://`
//! only: this server holds no trust store for outside TLS endpoints.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use stratus_apigateway::{BackendError, HttpAnswer};

/// Largest response body read from an integration (API Gateway's payload limit is 10 MB).
const MAX_RESPONSE: usize = 10 << 20;

pub async fn send(
    method: &str,
    url: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<HttpAnswer, BackendError> {
    let uri: http::Uri =
        url.parse().map_err(|_| BackendError::Unreachable(format!("Invalid endpoint address: {url}")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(BackendError::Unreachable(format!(
                "{url}: https endpoints are not reachable from this server"
            )));
        }
        _ => return Err(BackendError::Unreachable(format!("Invalid endpoint address: {url}"))),
    }
    let host =
        uri.host().ok_or_else(|| BackendError::Unreachable(format!("Invalid endpoint address: {url}")))?.to_string();
    let port = uri.port_u16().unwrap_or(80);
    let call = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| BackendError::Unreachable(format!("{url}: {e}")))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| BackendError::Unreachable(format!("{url}: {e}")))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let mut b = http::Request::builder().method(method).uri(path);
        let mut has_host = false;
        for (k, v) in &headers {
            has_host |= k.eq_ignore_ascii_case("host");
            b = b.header(k.as_str(), v.as_str());
        }
        if !has_host {
            let authority = uri.authority().map(|a| a.as_str().to_string()).unwrap_or(host.clone());
            b = b.header("host", authority);
        }
        let req = b.body(Full::new(Bytes::from(body))).map_err(|e| BackendError::Unreachable(format!("{url}: {e}")))?;
        let resp = sender.send_request(req).await.map_err(|e| BackendError::Failed(format!("{url}: {e}")))?;
        let status = resp.status().as_u16();
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
            .collect();
        let body = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| BackendError::Failed(format!("{url}: {e}")))?
            .to_bytes();
        Ok(HttpAnswer::new(status, headers, body.to_vec()))
    };
    tokio::time::timeout(timeout, call).await.map_err(|_| BackendError::Failed(format!("{url}: timed out")))?
}
