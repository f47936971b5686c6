//! The data plane: a request to a load balancer, from finding it to the answer.
//!
//! 1. The load balancer: by the listener port the request arrived on, or by its Host name
//!    (the `DNSName`, with or without a port); then the listener (the Host's port when a
//!    listener has it, else port 80, else the lowest port).
//! 2. The listener's rules in priority order, the default rule last (`rules`).
//! 3. The rule's action: fixed-response, redirect (placeholders `#{protocol}`, `#{host}`,
//!    `#{port}`, `#{path}`, `#{query}`), or forward — a weighted choice among target groups —
//!    to a Lambda function (`lambda`: the event, the answer) or to an IP target (round robin;
//!    the request proxied with `X-Forwarded-*`).
//!
//! What the load balancer answers itself are AWS's HTML error pages with `Server: awselb/2.0`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use serde_json::Value;
use stratus_proto::{AwsError, BoxFuture};

use crate::Inner;
use crate::store::{self, LbDoc, ListenerDoc, RuleDoc, TgDoc, str_of};

pub mod lambda;
pub mod rules;

/// A request for a load balancer, as the door read it.
#[derive(Debug, Clone)]
pub struct AlbRequest {
    pub method: String,
    /// The path as sent (undecoded), starting with `/`.
    pub path: String,
    /// The raw query string, if there was one.
    pub query: Option<String>,
    /// In the order and case the door has them.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    /// The Host header as sent.
    pub host: String,
    /// The listener port the request arrived on, when it came to a listener's own port.
    pub port: Option<u16>,
}

impl AlbRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The Host header without its port, lower case.
    pub fn host_name(&self) -> String {
        host_without_port(&self.host).to_ascii_lowercase()
    }

    fn host_port(&self) -> Option<u16> {
        let h = self.host.trim();
        if h.ends_with(']') {
            return None;
        }
        h.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
    }
}

/// `host[:port]` → `host` (IPv6 literals keep their brackets).
pub fn host_without_port(host: &str) -> &str {
    let h = host.trim();
    if h.starts_with('[') {
        return h.split_once(']').map(|(a, _)| &h[..a.len() + 1]).unwrap_or(h);
    }
    h.rsplit_once(':').filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit())).map(|(a, _)| a).unwrap_or(h)
}

pub use stratus_core::http::{HttpAnswer, Invoked};

/// Why a target could not be reached.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetError {
    /// The function's policy does not let `elasticloadbalancing.amazonaws.com` in.
    Denied(String),
    /// The function does not exist.
    NotFound(String),
    /// Anything else (connection refused, invocation failed).
    Failed(String),
}

/// What the load balancer reaches, implemented by the binary.
pub trait Targets: Send + Sync {
    /// Invokes `function` (an ARN) for the target group `source_arn`, when the function's
    /// policy lets `elasticloadbalancing.amazonaws.com` in for it.
    fn invoke<'a>(
        &'a self,
        function: &'a str,
        source_arn: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Invoked, TargetError>>;

    /// Whether `function` exists and its policy lets `elasticloadbalancing.amazonaws.com`
    /// invoke it for `source_arn` (RegisterTargets' check).
    fn may_invoke<'a>(&'a self, function: &'a str, source_arn: &'a str) -> BoxFuture<'a, Result<(), TargetError>>;

    /// An HTTP request to an IP target.
    fn http<'a>(
        &'a self,
        method: &'a str,
        url: &'a str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<HttpAnswer, TargetError>>;
}

/// The data plane's memory: host names and listener ports of the load balancers (so a door can
/// claim a request without awaiting), round-robin positions.
#[derive(Default)]
pub struct Runtime {
    /// Lower-case DNS name → `(account, region, lb name)`.
    pub(crate) hosts: RwLock<HashMap<String, (String, String, String)>>,
    /// Listener port → listener ARNs on it.
    pub(crate) ports: RwLock<HashMap<u16, Vec<String>>>,
    next: Mutex<HashMap<String, usize>>,
    /// Listeners with their rules and target groups as last read, until the next change.
    cache: Mutex<Cache>,
    /// Bumped on every change of `ports`.
    pub(crate) port_version: tokio::sync::watch::Sender<u64>,
    turn: AtomicUsize,
}

/// What requests read, kept between control-plane changes. A read that began before a change
/// is not kept (its generation is old), so nothing stale is cached.
#[derive(Default)]
struct Cache {
    generation: u64,
    loaded: HashMap<String, Arc<Loaded>>,
    groups: HashMap<String, Arc<TgDoc>>,
}

impl Runtime {
    /// Drops what the data plane keeps (after any control-plane change).
    pub(crate) fn changed(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.generation += 1;
            c.loaded.clear();
            c.groups.clear();
        }
    }

    fn generation(&self) -> u64 {
        self.cache.lock().map(|c| c.generation).unwrap_or(0)
    }

    pub fn clear(&self) {
        self.changed();
        if let Ok(mut h) = self.hosts.write() {
            h.clear();
        }
        if let Ok(mut p) = self.ports.write() {
            p.clear();
        }
        self.port_version.send_modify(|v| *v += 1);
    }

    pub(crate) fn add_host(&self, dns: &str, account: &str, region: &str, name: &str) {
        if let Ok(mut h) = self.hosts.write() {
            h.insert(dns.to_ascii_lowercase(), (account.into(), region.into(), name.into()));
        }
    }

    pub(crate) fn remove_host(&self, dns: &str) {
        if let Ok(mut h) = self.hosts.write() {
            h.remove(&dns.to_ascii_lowercase());
        }
    }

    pub(crate) fn add_port(&self, port: u16, listener_arn: &str) {
        if let Ok(mut p) = self.ports.write() {
            let v = p.entry(port).or_default();
            if !v.iter().any(|a| a == listener_arn) {
                v.push(listener_arn.to_string());
            }
        }
        self.port_version.send_modify(|v| *v += 1);
    }

    pub(crate) fn remove_port(&self, port: u16, listener_arn: &str) {
        if let Ok(mut p) = self.ports.write()
            && let Some(v) = p.get_mut(&port)
        {
            v.retain(|a| a != listener_arn);
            if v.is_empty() {
                p.remove(&port);
            }
        }
        self.port_version.send_modify(|v| *v += 1);
    }

    fn round_robin(&self, tg: &str, n: usize) -> usize {
        let Ok(mut m) = self.next.lock() else { return 0 };
        let slot = m.entry(tg.to_string()).or_insert(0);
        let i = *slot % n.max(1);
        *slot = slot.wrapping_add(1);
        i
    }

    /// A number in `0..total` for weighted choices.
    fn pick(&self, total: u64) -> u64 {
        let t = self.turn.fetch_add(1, Ordering::Relaxed) as u64;
        // Spread consecutive requests across the range (golden-ratio stride).
        t.wrapping_mul(0x9E37_79B9_7F4A_7C15) % total.max(1)
    }
}

/// An HTML error page as the load balancer writes it.
pub fn error_page(status: u16) -> HttpAnswer {
    let title = match status {
        400 => "400 Bad Request",
        403 => "403 Forbidden",
        404 => "404 Not Found",
        413 => "413 Request Entity Too Large",
        500 => "500 Internal Server Error",
        502 => "502 Bad Gateway",
        503 => "503 Service Temporarily Unavailable",
        504 => "504 Gateway Time-out",
        _ => "500 Internal Server Error",
    };
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    HttpAnswer {
        status,
        headers: vec![("Server".into(), "awselb/2.0".into()), ("Content-Type".into(), "text/html".into())],
        body: body.into_bytes(),
    }
}

/// Everything a request needs of one load balancer, read in one snapshot.
struct Loaded {
    listener: ListenerDoc,
    rules: Vec<RuleDoc>,
}

/// The load balancer and listener for a request.
async fn load(i: &Inner, req: &AlbRequest) -> Result<Option<Arc<Loaded>>, AwsError> {
    let key = format!("{}|{:?}|{:?}", req.host_name(), req.port, req.host_port());
    if let Some(l) = i.runtime.cache.lock().ok().and_then(|c| c.loaded.get(&key).cloned()) {
        return Ok(Some(l));
    }
    let generation = i.runtime.generation();
    let loaded = read(i, req).await?.map(Arc::new);
    if let Some(l) = &loaded
        && let Ok(mut c) = i.runtime.cache.lock()
        && c.generation == generation
    {
        c.loaded.insert(key, l.clone());
    }
    Ok(loaded)
}

async fn read(i: &Inner, req: &AlbRequest) -> Result<Option<Loaded>, AwsError> {
    let by_port = req.port.and_then(|p| i.runtime.ports.read().ok().and_then(|m| m.get(&p).cloned()));
    let by_host = i.runtime.hosts.read().ok().and_then(|h| h.get(&req.host_name()).cloned());
    let wanted_port = req.port.or_else(|| req.host_port());
    i.store
        .read_short(move |r| {
            let (_lb, listeners) = if let Some(arns) = by_port {
                // A listener's own port: the listener there whose load balancer the Host names,
                // else the first one.
                let mut found = None;
                for arn in &arns {
                    let Some((account, region, ..)) = store::parse_listener_arn(arn) else { continue };
                    let Some(l) = store::load_listener(r, &account, &region, arn)? else { continue };
                    let lb_arn = str_of(&l.listener, "LoadBalancerArn").to_string();
                    let Some(lb) = store::load_lb(r, &account, &region, &lb_arn)? else { continue };
                    let host_matches =
                        by_host.as_ref().is_some_and(|(_, _, n)| n == str_of(&lb.lb, "LoadBalancerName"));
                    if found.is_none() || host_matches {
                        found = Some((lb, vec![l]));
                    }
                    if host_matches {
                        break;
                    }
                }
                match found {
                    Some(f) => f,
                    None => return Ok(None),
                }
            } else if let Some((account, region, name)) = by_host {
                let Some(lb): Option<LbDoc> = store::get_json(r, &store::lb_key(&account, &region, &name))? else {
                    return Ok(None);
                };
                let lb_arn = str_of(&lb.lb, "LoadBalancerArn").to_string();
                let Some((.., lb_id)) = store::parse_lb_arn(&lb_arn) else { return Ok(None) };
                let listeners: Vec<ListenerDoc> =
                    store::scan_json(r, &store::listeners_prefix(&account, &region, &lb_id))?;
                (lb, listeners)
            } else {
                return Ok(None);
            };
            let port_of = |l: &ListenerDoc| l.listener.get("Port").and_then(Value::as_u64).unwrap_or(0);
            let chosen = listeners
                .iter()
                .find(|l| wanted_port.is_some_and(|p| port_of(l) == u64::from(p)))
                .or_else(|| listeners.iter().find(|l| port_of(l) == 80))
                .or_else(|| listeners.iter().min_by_key(|l| port_of(l)))
                .cloned();
            let Some(listener) = chosen else {
                return Ok(Some(Loaded {
                    listener: ListenerDoc { listener: Value::Null, tags: Default::default() },
                    rules: vec![],
                }));
            };
            let Some((account, region, .., lid)) = store::parse_listener_arn(str_of(&listener.listener, "ListenerArn"))
            else {
                return Ok(None);
            };
            let mut rules: Vec<RuleDoc> = store::scan_json(r, &store::rules_prefix(&account, &region, &lid))?;
            rules.sort_by_key(|d| str_of(&d.rule, "Priority").parse::<u64>().unwrap_or(u64::MAX));
            Ok(Some(Loaded { listener, rules }))
        })
        .await
}

/// Serves one request.
pub(crate) async fn serve(i: &Inner, mut req: AlbRequest) -> HttpAnswer {
    let loaded = match load(i, &req).await {
        Ok(Some(l)) => l,
        // The load balancer was deleted between the claim and now.
        Ok(None) => return error_page(503),
        Err(e) => {
            tracing::warn!(error = %e, "load balancer lookup failed");
            return error_page(500);
        }
    };
    if loaded.listener.listener.is_null() {
        // No listener: nothing answers on the load balancer.
        return error_page(503);
    }
    let listener = &loaded.listener.listener;
    let port = listener.get("Port").and_then(Value::as_u64).unwrap_or(80);
    let protocol = str_of(listener, "Protocol").to_ascii_lowercase();
    let query_decoded: Vec<(String, String)> = lambda::raw_query_pairs(req.query.as_deref())
        .into_iter()
        .map(|(k, v)| (percent_decode(&k), percent_decode(&v)))
        .collect();
    let host_name = req.host_name();
    let facts = rules::Facts {
        method: &req.method,
        path: &req.path,
        host: &host_name,
        headers: &req.headers,
        query: &query_decoded,
        source_ip: &req.source_ip,
    };
    let Some(rule) = loaded.rules.iter().find(|r| rules::rule_matches(&r.rule, &facts)) else {
        return error_page(503);
    };
    let actions = rule.rule.get("Actions").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut actions = actions;
    actions.sort_by_key(|a| a.get("Order").and_then(Value::as_u64).unwrap_or(0));
    let Some(action) = actions.last() else { return error_page(503) };
    match str_of(action, "Type") {
        "fixed-response" => fixed_response(action),
        "redirect" => redirect(action, &req, &protocol, port),
        "forward" => {
            add_forwarded(&mut req, &protocol, port);
            forward(i, action, req).await
        }
        _ => error_page(500),
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut k = 0;
    while k < bytes.len() {
        match bytes[k] {
            b'%' if k + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[k + 1..k + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        k += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        k += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                k += 1;
            }
            b => {
                out.push(b);
                k += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fixed_response(action: &Value) -> HttpAnswer {
    let cfg = action.get("FixedResponseConfig").cloned().unwrap_or(Value::Null);
    let status = str_of(&cfg, "StatusCode").parse::<u16>().unwrap_or(200);
    let content_type = match str_of(&cfg, "ContentType") {
        "" => "text/plain; charset=utf-8".to_string(),
        ct => format!("{ct}; charset=utf-8"),
    };
    HttpAnswer {
        status,
        headers: vec![("Server".into(), "awselb/2.0".into()), ("Content-Type".into(), content_type)],
        body: str_of(&cfg, "MessageBody").as_bytes().to_vec(),
    }
}

/// The `Location` of a redirect: each component of the configuration with the request's
/// values in its placeholders (`#{path}` is the path without its leading `/`).
pub fn redirect_location(cfg: &Value, req: &AlbRequest, protocol: &str, port: u64) -> String {
    let path_in = req.path.strip_prefix('/').unwrap_or(&req.path);
    let query_in = req.query.as_deref().unwrap_or("");
    let host_in = host_without_port(&req.host);
    let fill = |s: &str| {
        s.replace("#{protocol}", protocol)
            .replace("#{host}", host_in)
            .replace("#{port}", &port.to_string())
            .replace("#{path}", path_in)
            .replace("#{query}", query_in)
    };
    let get = |name: &str, default: &str| match cfg.get(name).and_then(Value::as_str) {
        Some(v) => v.to_string(),
        None => default.to_string(),
    };
    let proto = fill(&get("Protocol", "#{protocol}")).to_ascii_lowercase();
    let host = fill(&get("Host", "#{host}"));
    let to_port = fill(&get("Port", "#{port}"));
    let path = fill(&get("Path", "/#{path}"));
    let query = fill(&get("Query", "#{query}"));
    let default_port = matches!((proto.as_str(), to_port.as_str()), ("http", "80") | ("https", "443"));
    let mut out = format!("{proto}://{host}");
    if !default_port && !to_port.is_empty() {
        out.push(':');
        out.push_str(&to_port);
    }
    if !path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&path);
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    out
}

fn redirect(action: &Value, req: &AlbRequest, protocol: &str, port: u64) -> HttpAnswer {
    let cfg = action.get("RedirectConfig").cloned().unwrap_or(Value::Null);
    let (status, title) = match str_of(&cfg, "StatusCode") {
        "HTTP_301" => (301, "301 Moved Permanently"),
        _ => (302, "302 Found"),
    };
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    );
    HttpAnswer {
        status,
        headers: vec![
            ("Server".into(), "awselb/2.0".into()),
            ("Content-Type".into(), "text/html".into()),
            ("Location".into(), redirect_location(&cfg, req, protocol, port)),
        ],
        body: body.into_bytes(),
    }
}

/// The headers the load balancer adds to what it forwards.
fn add_forwarded(req: &mut AlbRequest, protocol: &str, port: u64) {
    let xff = match req.header("x-forwarded-for") {
        Some(prev) => format!("{prev}, {}", req.source_ip),
        None => req.source_ip.clone(),
    };
    let trace = req.header("x-amzn-trace-id").map(str::to_string);
    req.headers.retain(|(k, _)| {
        !["x-forwarded-for", "x-forwarded-proto", "x-forwarded-port", "x-amzn-trace-id"]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
    });
    let trace = trace.unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut seed = [0u8; 12];
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let digest = <sha2::Sha256 as sha2::Digest>::digest(format!("{n}{}{}", req.path, req.source_ip).as_bytes());
        seed.copy_from_slice(&digest[..12]);
        format!("Root=1-{now:08x}-{}", hex::encode(seed))
    });
    req.headers.push(("X-Forwarded-For".into(), xff));
    req.headers.push(("X-Forwarded-Proto".into(), protocol.to_string()));
    req.headers.push(("X-Forwarded-Port".into(), port.to_string()));
    req.headers.push(("X-Amzn-Trace-Id".into(), trace));
}

/// A weighted choice among the forward action's target groups (weight 0 never chosen).
fn choose_group(i: &Inner, action: &Value) -> Option<String> {
    let groups: Vec<(String, u64)> = action
        .pointer("/ForwardConfig/TargetGroups")
        .and_then(Value::as_array)
        .map(|gs| {
            gs.iter()
                .map(|g| {
                    (str_of(g, "TargetGroupArn").to_string(), g.get("Weight").and_then(Value::as_u64).unwrap_or(1))
                })
                .collect()
        })
        .unwrap_or_default();
    if groups.is_empty() {
        return action.get("TargetGroupArn").and_then(Value::as_str).map(str::to_string);
    }
    let total: u64 = groups.iter().map(|(_, w)| w).sum();
    if total == 0 {
        return None;
    }
    let mut n = i.runtime.pick(total);
    for (arn, w) in groups {
        if n < w {
            return Some(arn);
        }
        n -= w;
    }
    None
}

async fn forward(i: &Inner, action: &Value, req: AlbRequest) -> HttpAnswer {
    let Some(tg_arn) = choose_group(i, action) else { return error_page(503) };
    let Some((account, region, _)) = store::parse_tg_arn(&tg_arn) else { return error_page(503) };
    let cached = i.runtime.cache.lock().ok().and_then(|c| c.groups.get(&tg_arn).cloned());
    let tg: Result<Option<Arc<TgDoc>>, AwsError> = match cached {
        Some(t) => Ok(Some(t)),
        None => {
            let generation = i.runtime.generation();
            let arn = tg_arn.clone();
            let read = i.store.read_short(move |r| store::load_tg(r, &account, &region, &arn)).await;
            let read = read.map(|t| t.map(Arc::new));
            if let Ok(Some(t)) = &read
                && let Ok(mut c) = i.runtime.cache.lock()
                && c.generation == generation
            {
                c.groups.insert(tg_arn.clone(), t.clone());
            }
            read
        }
    };
    let tg = match tg {
        Ok(Some(t)) => t,
        Ok(None) => return error_page(503),
        Err(_) => return error_page(500),
    };
    if tg.targets.is_empty() {
        return error_page(503);
    }
    let Some(targets) = i.targets.get() else { return error_page(502) };
    match str_of(&tg.tg, "TargetType") {
        "lambda" => {
            if req.body.len() > lambda::MAX_PAYLOAD {
                return error_page(413);
            }
            let multi = tg.attributes.get("lambda.multi_value_headers.enabled").is_some_and(|v| v == "true");
            let function = str_of(&tg.targets[0], "Id").to_string();
            let payload = match serde_json::to_vec(&lambda::event(&req, &tg_arn, multi)) {
                Ok(p) => p,
                Err(_) => return error_page(500),
            };
            match targets.invoke(&function, &tg_arn, payload).await {
                Ok(inv) if inv.function_error.is_none() => {
                    lambda::response(&inv.payload, multi).unwrap_or_else(|| error_page(502))
                }
                Ok(_) => error_page(502),
                Err(TargetError::Denied(m)) | Err(TargetError::NotFound(m)) | Err(TargetError::Failed(m)) => {
                    tracing::debug!(%function, reason = %m, "Lambda target failed");
                    error_page(502)
                }
            }
        }
        "ip" => {
            let n = tg.targets.len();
            let t = &tg.targets[i.runtime.round_robin(&tg_arn, n)];
            let port = t.get("Port").and_then(Value::as_u64).or_else(|| tg.tg.get("Port").and_then(Value::as_u64));
            let Some(port) = port else { return error_page(502) };
            let scheme = if str_of(&tg.tg, "Protocol") == "HTTPS" { "https" } else { "http" };
            let ip = str_of(t, "Id");
            let host = if ip.contains(':') { format!("[{ip}]") } else { ip.to_string() };
            let url = match &req.query {
                Some(q) => format!("{scheme}://{host}:{port}{}?{q}", req.path),
                None => format!("{scheme}://{host}:{port}{}", req.path),
            };
            let headers: Vec<(String, String)> =
                req.headers.iter().filter(|(k, _)| !is_hop_by_hop(k)).cloned().collect();
            match targets.http(&req.method, &url, headers, req.body.to_vec()).await {
                Ok(mut a) => {
                    a.headers.retain(|(k, _)| !is_hop_by_hop(k));
                    a
                }
                Err(e) => {
                    tracing::debug!(%url, error = ?e, "IP target failed");
                    error_page(502)
                }
            }
        }
        _ => error_page(503),
    }
}

fn is_hop_by_hop(name: &str) -> bool {
    [
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn req(path: &str, query: Option<&str>, host: &str) -> AlbRequest {
        AlbRequest {
            method: "GET".into(),
            path: path.into(),
            query: query.map(str::to_string),
            headers: vec![],
            body: Bytes::new(),
            source_ip: "127.0.0.1".into(),
            host: host.into(),
            port: None,
        }
    }

    #[test]
    fn redirects_fill_placeholders() {
        let r = req("/a/b", Some("x=1"), "lb-1.us-east-1.elb.localhost:4566");
        let to_https = json!({"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"});
        assert_eq!(redirect_location(&to_https, &r, "http", 80), "https://lb-1.us-east-1.elb.localhost/a/b?x=1");
        let custom = json!({"Host": "example.com", "Path": "/new/#{path}", "Query": "from=#{host}&#{query}", "StatusCode": "HTTP_302"});
        assert_eq!(
            redirect_location(&custom, &r, "http", 8080),
            "http://example.com:8080/new/a/b?from=lb-1.us-east-1.elb.localhost&x=1"
        );
        let plain = json!({"StatusCode": "HTTP_302"});
        assert_eq!(redirect_location(&plain, &req("/", None, "h"), "http", 80), "http://h/");
    }

    #[test]
    fn hosts_and_decoding() {
        assert_eq!(host_without_port("a.b:80"), "a.b");
        assert_eq!(host_without_port("a.b"), "a.b");
        assert_eq!(host_without_port("[::1]:80"), "[::1]");
        assert_eq!(percent_decode("a%20b+c%zz%"), "a b c%zz%");
        let page = error_page(502);
        assert_eq!(page.header("server"), Some("awselb/2.0"));
        assert!(String::from_utf8_lossy(&page.body).contains("<title>502 Bad Gateway</title>"));
    }
}
