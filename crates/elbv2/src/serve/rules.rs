//! Listener rule conditions: whether a request matches a rule. Conditions of a rule must all
//! match; the values of one condition are alternatives. Path patterns are case-sensitive, host
//! headers, HTTP header values and query strings are not; `*` matches any run of characters and
//! `?` one character. Source IPs are CIDR blocks (IPv4 or IPv6).

use std::net::IpAddr;

use serde_json::Value;

/// What the conditions look at in a request.
pub struct Facts<'a> {
    pub method: &'a str,
    /// The path as sent, without the query.
    pub path: &'a str,
    /// The Host header without its port.
    pub host: &'a str,
    pub headers: &'a [(String, String)],
    /// Query parameters, decoded.
    pub query: &'a [(String, String)],
    pub source_ip: &'a str,
}

/// Whether `text` matches `pattern` (`*`: any run, `?`: one character).
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let norm = |s: &str| if ignore_case { s.to_lowercase() } else { s.to_string() };
    let (p, t): (Vec<char>, Vec<char>) = (norm(pattern).chars().collect(), norm(text).chars().collect());
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect()
}

/// The values of a condition: its `*Config.Values`, else the `Values` shorthand.
fn values<'a>(c: &'a Value, config: &str) -> Vec<&'a str> {
    let from_config = strings(c.get(config).and_then(|x| x.get("Values")));
    if from_config.is_empty() { strings(c.get("Values")) } else { from_config }
}

/// Whether `ip` lies in `cidr` (an address alone is a /32 or /128).
pub fn in_cidr(ip: &str, cidr: &str) -> bool {
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let (Ok(ip), Ok(net)) = (ip.parse::<IpAddr>(), net.parse::<IpAddr>()) else { return false };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            (u32::from(a) & mask) == (u32::from(n) & mask)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            (u128::from(a) & mask) == (u128::from(n) & mask)
        }
        (IpAddr::V4(a), IpAddr::V6(n)) => n.to_ipv4_mapped().is_some_and(|n4| {
            let bits = bits.unwrap_or(128).saturating_sub(96).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            (u32::from(a) & mask) == (u32::from(n4) & mask)
        }),
        (IpAddr::V6(a), IpAddr::V4(_)) => a.to_ipv4_mapped().is_some_and(|a4| in_cidr(&a4.to_string(), cidr)),
    }
}

/// Whether one condition matches.
pub fn condition_matches(c: &Value, f: &Facts<'_>) -> bool {
    match c.get("Field").and_then(Value::as_str).unwrap_or("") {
        "path-pattern" => values(c, "PathPatternConfig").iter().any(|p| wildcard(p, f.path, false)),
        "host-header" => values(c, "HostHeaderConfig").iter().any(|p| wildcard(p, f.host, true)),
        "http-request-method" => values(c, "HttpRequestMethodConfig").contains(&f.method),
        "source-ip" => values(c, "SourceIpConfig").iter().any(|cidr| in_cidr(f.source_ip, cidr)),
        "http-header" => {
            let Some(cfg) = c.get("HttpHeaderConfig") else { return false };
            let name = cfg.get("HttpHeaderName").and_then(Value::as_str).unwrap_or("");
            let wanted = strings(cfg.get("Values"));
            f.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .any(|(_, v)| wanted.iter().any(|p| wildcard(p, v, true)))
        }
        "query-string" => {
            let pairs = c.pointer("/QueryStringConfig/Values").and_then(Value::as_array);
            pairs.into_iter().flatten().any(|pair| {
                let key = pair.get("Key").and_then(Value::as_str);
                let value = pair.get("Value").and_then(Value::as_str).unwrap_or("");
                f.query.iter().any(|(k, v)| key.is_none_or(|key| wildcard(key, k, true)) && wildcard(value, v, true))
            })
        }
        _ => false,
    }
}

/// Whether every condition of a rule matches.
pub fn rule_matches(rule: &Value, f: &Facts<'_>) -> bool {
    rule.get("Conditions").and_then(Value::as_array).into_iter().flatten().all(|c| condition_matches(c, f))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn facts<'a>(path: &'a str, headers: &'a [(String, String)], query: &'a [(String, String)]) -> Facts<'a> {
        Facts { method: "GET", path, host: "api.example.com", headers, query, source_ip: "10.1.2.3" }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("/img/*", "/img/a/b.png", false));
        assert!(!wildcard("/img/*", "/IMG/a.png", false));
        assert!(wildcard("/a?c", "/abc", false));
        assert!(!wildcard("/a?c", "/abbc", false));
        assert!(wildcard("*.example.com", "API.Example.com", true));
        assert!(wildcard("*", "", false));
        assert!(!wildcard("", "x", false));
        assert!(wildcard("a*b*c", "aXbYbZc", false));
    }

    #[test]
    fn cidrs() {
        assert!(in_cidr("10.1.2.3", "10.0.0.0/8"));
        assert!(!in_cidr("11.1.2.3", "10.0.0.0/8"));
        assert!(in_cidr("127.0.0.1", "0.0.0.0/0"));
        assert!(in_cidr("::1", "::1/128"));
        assert!(!in_cidr("not an ip", "10.0.0.0/8"));
        assert!(!in_cidr("10.0.0.1", "garbage"));
    }

    #[test]
    fn conditions() {
        let h = vec![("User-Agent".to_string(), "Mozilla/5.0 (X11)".to_string())];
        let q = vec![("version".to_string(), "v1".to_string())];
        let f = facts("/api/users", &h, &q);
        let rule = json!({"Conditions": [
            {"Field": "path-pattern", "Values": ["/api/*"]},
            {"Field": "host-header", "HostHeaderConfig": {"Values": ["*.EXAMPLE.com"]}},
            {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "user-agent", "Values": ["*mozilla*"]}},
            {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "version", "Value": "V1"}]}},
            {"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["GET", "HEAD"]}},
            {"Field": "source-ip", "SourceIpConfig": {"Values": ["10.0.0.0/8"]}}
        ]});
        assert!(rule_matches(&rule, &f));
        let other = facts("/web", &h, &q);
        assert!(!rule_matches(&rule, &other));
        let any_key =
            json!({"Conditions": [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "v?"}]}}]});
        assert!(rule_matches(&any_key, &f));
        let post =
            json!({"Conditions": [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}]});
        assert!(!rule_matches(&post, &f));
    }
}
