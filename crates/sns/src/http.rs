//! A small HTTP/1.1 client for HTTP/S subscriptions: one connection per request over a
//! tokio `TcpStream` with hyper's client connection. There is no TLS here, so `https`
//! endpoints fail (and are retried, then dead-lettered, like an unreachable endpoint).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// How long SNS waits for an endpoint to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// POSTs `body` to `url` and returns the status code.
pub async fn post(url: &str, headers: &[(&str, String)], body: String) -> Result<u16, String> {
    tokio::time::timeout(TIMEOUT, post_inner(url, headers, body))
        .await
        .map_err(|_| format!("no answer from {url} within {} s", TIMEOUT.as_secs()))?
}

/// (host:port, path and query) of an `http://` URL.
fn split(url: &str) -> Result<(String, String), String> {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") {
        return Err("https endpoints are not supported: this server has no TLS client".into());
    }
    let rest = url.get("http://".len()..).filter(|_| lower.starts_with("http://")).ok_or("not an http URL")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return Err("the URL has no host".into());
    }
    let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        && !authority.ends_with(']');
    let authority = if has_port { authority.to_string() } else { format!("{authority}:80") };
    Ok((authority, path))
}

async fn connect(authority: &str) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String> {
    let stream =
        tokio::net::TcpStream::connect(authority).await.map_err(|e| format!("cannot connect to {authority}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn post_inner(url: &str, headers: &[(&str, String)], body: String) -> Result<u16, String> {
    let (authority, path) = split(url)?;
    let mut sender = connect(&authority).await?;
    let host = authority.strip_suffix(":80").unwrap_or(&authority).to_string();
    let mut req = hyper::Request::post(path).header("host", host);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let req = req.body(Full::new(Bytes::from(body))).map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    // Read the answer so the endpoint sees a clean exchange.
    let _ = resp.into_body().collect().await;
    Ok(status)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(split("http://h:81/a?b=1").unwrap(), ("h:81".into(), "/a?b=1".into()));
        assert_eq!(split("http://h").unwrap(), ("h:80".into(), "/".into()));
        assert_eq!(split("HTTP://h?x").unwrap(), ("h:80".into(), "/?x".into()));
        assert!(split("https://h/").is_err());
        assert!(split("ftp://h/").is_err());
    }
}
