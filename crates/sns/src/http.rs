//! A small HTTP/1.1 client for HTTP/S subscriptions: one connection per request over a
//! tokio `TcpStream` with hyper's client connection, wrapped in TLS (rustls) for `https`
//! endpoints. HTTPS trusts the roots the server was given (the system's CAs and Stratus's own
//! local CA); a certificate they do not vouch for fails like an unreachable endpoint (retried,
//! then dead-lettered).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// How long SNS waits for an endpoint to answer.
const TIMEOUT: Duration = Duration::from_secs(15);

/// The TLS client for `https` endpoints, trusting the certificates of `roots_pem` (PEM, any
/// number of certificates).
pub fn tls_connector(roots_pem: &str) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem.as_bytes()) {
        let cert = cert.map_err(|e| format!("a trusted certificate: {e}"))?;
        // A system bundle may hold certificates rustls cannot use; skip those.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err("no trusted certificates".into());
    }
    // ring, as the server side uses: no cmake in the build.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// POSTs `body` to `url` and returns the status code; `https` URLs go through `tls`.
pub async fn post(
    url: &str,
    headers: &[(&str, String)],
    body: String,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<u16, String> {
    tokio::time::timeout(TIMEOUT, post_inner(url, headers, body, tls))
        .await
        .map_err(|_| format!("no answer from {url} within {} s", TIMEOUT.as_secs()))?
}

/// A parsed endpoint URL.
#[derive(Debug, PartialEq)]
struct Target {
    https: bool,
    /// `host:port`, the port filled in.
    authority: String,
    /// The host alone (brackets of an IPv6 address removed), for TLS's server name.
    host: String,
    /// What the Host header says: the authority without the scheme's default port.
    host_header: String,
    /// Path and query.
    path: String,
}

fn split(url: &str) -> Result<Target, String> {
    let lower = url.to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, &url["https://".len()..])
    } else if lower.starts_with("http://") {
        (false, &url["http://".len()..])
    } else {
        return Err("not an http or https URL".into());
    };
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
    let host_only = if has_port { authority.rsplit_once(':').map_or(authority, |(h, _)| h) } else { authority };
    let host = host_only.trim_start_matches('[').trim_end_matches(']').to_string();
    let default_port = if https { 443 } else { 80 };
    let authority = if has_port { authority.to_string() } else { format!("{authority}:{default_port}") };
    let host_header = authority.strip_suffix(&format!(":{default_port}")).unwrap_or(&authority).to_string();
    Ok(Target { https, authority, host, host_header, path })
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn handshake<S>(io: S) -> Result<Sender, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn connect(t: &Target, tls: Option<&tokio_rustls::TlsConnector>) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(&t.authority)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", t.authority))?;
    let _ = stream.set_nodelay(true);
    if !t.https {
        return handshake(stream).await;
    }
    let tls = tls.ok_or("https endpoints need trusted certificates, and none were configured")?;
    let name = rustls::pki_types::ServerName::try_from(t.host.clone())
        .map_err(|e| format!("{} is not a valid TLS server name: {e}", t.host))?;
    let stream = tls.connect(name, stream).await.map_err(|e| format!("TLS with {}: {e}", t.authority))?;
    handshake(stream).await
}

async fn post_inner(
    url: &str,
    headers: &[(&str, String)],
    body: String,
    tls: Option<&tokio_rustls::TlsConnector>,
) -> Result<u16, String> {
    let target = split(url)?;
    let mut sender = connect(&target, tls).await?;
    let mut req = hyper::Request::post(target.path).header("host", target.host_header);
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
        let parts = |u: &str| {
            let t = split(u).unwrap();
            (t.https, t.authority, t.host, t.host_header, t.path)
        };
        assert_eq!(parts("http://h:81/a?b=1"), (false, "h:81".into(), "h".into(), "h:81".into(), "/a?b=1".into()));
        assert_eq!(parts("http://h"), (false, "h:80".into(), "h".into(), "h".into(), "/".into()));
        assert_eq!(parts("HTTP://h?x"), (false, "h:80".into(), "h".into(), "h".into(), "/?x".into()));
        assert_eq!(parts("https://h/p"), (true, "h:443".into(), "h".into(), "h".into(), "/p".into()));
        assert_eq!(parts("https://u@h:8443"), (true, "h:8443".into(), "h".into(), "h:8443".into(), "/".into()));
        assert_eq!(parts("https://[::1]:9/"), (true, "[::1]:9".into(), "::1".into(), "[::1]:9".into(), "/".into()));
        assert!(split("ftp://h/").is_err());
        assert!(split("http:///x").is_err());
    }

    #[test]
    fn trusts_only_given_certificates() {
        assert!(tls_connector("").is_err());
        assert!(tls_connector("not a certificate").is_err());
    }
}
