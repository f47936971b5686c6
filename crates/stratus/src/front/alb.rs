//! The Application Load Balancer door: requests whose Host is a load balancer's DNS name
//! (`{name}-{digits}.{region}.elb.localhost`, with or without a port) on the server's port,
//! and every request to a listener's own port on the bind host (served by [`ListenerPorts`]
//! when that port is free). It reads the body and hands the request to elbv2's data plane.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use stratus_elbv2::{AlbRequest, Elbv2, HttpAnswer};

use crate::gateway::{Body, FrontDoor, Head, Peer, boxed};

/// Largest request body read; Lambda targets take 1 MB (the data plane answers 413 above).
const MAX_BODY: usize = 16 << 20;

pub struct AlbDoor {
    pub elbv2: Elbv2,
}

/// HTTP/1.1 header names as most clients write them (`Content-Type`); HTTP/2's are lower case.
fn title_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

fn answer(a: HttpAnswer) -> Response<Body> {
    let mut r = Response::new(boxed(Full::new(Bytes::from(a.body))));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (k, v) in a.headers {
        if let (Ok(n), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            r.headers_mut().append(n, v);
        }
    }
    r
}

impl AlbDoor {
    /// Serves a request; `port` is the listener port it arrived on, if it came to one.
    pub async fn serve_request(&self, req: hyper::Request<Incoming>, port: Option<u16>) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let too_large = || answer(stratus_elbv2::serve::error_page(413));
        if let Some(len) = parts.headers.get("content-length").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && len > MAX_BODY as u64
        {
            return too_large();
        }
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return too_large(),
        };
        let http2 = parts.version == http::Version::HTTP_2;
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| {
                let name = if http2 { k.as_str().to_string() } else { title_case(k.as_str()) };
                v.to_str().ok().map(|v| (name, v.to_string()))
            })
            .collect();
        let host = parts
            .headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let source_ip =
            parts.extensions.get::<Peer>().map(|p| p.0.ip().to_string()).unwrap_or_else(|| "127.0.0.1".into());
        let req = AlbRequest {
            method: parts.method.as_str().to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            body,
            source_ip,
            host,
            port,
        };
        answer(self.elbv2.serve(req).await)
    }
}

impl FrontDoor for AlbDoor {
    fn claims(&self, head: &Head<'_>) -> bool {
        let host = head.host_name();
        host.ends_with(".elb.localhost") && self.elbv2.is_load_balancer_host(host)
    }

    fn serve(&self, req: hyper::Request<Incoming>) -> stratus_proto::BoxFuture<'_, Response<Body>> {
        Box::pin(self.serve_request(req, None))
    }
}

/// Serves each listener's own port on the bind host while a listener has it (and the port is
/// free): one accept task per port, started when a listener takes the port and stopped when
/// the last listener on it goes.
pub struct ListenerPorts {
    pub door: Arc<AlbDoor>,
    pub host: IpAddr,
    /// The server's own port (never taken again).
    pub main_port: u16,
}

impl ListenerPorts {
    pub fn spawn(self) {
        tokio::spawn(self.run());
    }

    async fn run(self) {
        let mut changes = self.door.elbv2.watch_ports();
        let mut running: HashMap<u16, tokio::task::JoinHandle<()>> = HashMap::new();
        loop {
            let wanted = self.door.elbv2.listener_ports();
            running.retain(|port, task| {
                let keep = wanted.contains(port) && !task.is_finished();
                if !keep {
                    task.abort();
                }
                keep
            });
            for port in wanted {
                if port == self.main_port || running.contains_key(&port) {
                    continue;
                }
                let addr = SocketAddr::new(self.host, port);
                match tokio::net::TcpListener::bind(addr).await {
                    Ok(listener) => {
                        tracing::info!(%addr, "serving load balancer listeners on their port");
                        running.insert(port, tokio::spawn(accept(listener, self.door.clone(), port)));
                    }
                    Err(e) => {
                        tracing::info!(%addr, error = %e, "listener port not free; served by Host name only");
                    }
                }
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }
}

async fn accept(listener: tokio::net::TcpListener, door: Arc<AlbDoor>, port: u16) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let door = door.clone();
        tokio::spawn(async move {
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
            let service = service_fn(move |mut req: hyper::Request<Incoming>| {
                let door = door.clone();
                req.extensions_mut().insert(Peer(peer));
                async move { Ok::<_, Infallible>(door.serve_request(req, Some(port)).await) }
            });
            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names() {
        assert_eq!(title_case("x-forwarded-for"), "X-Forwarded-For");
    }
}
