//! Routing a request to a route of the deployment: the most specific match first. Paths are
//! compared segment by segment — a literal beats a `{variable}`, which beats a greedy
//! `{proxy+}` — then a route of the request's own method beats `ANY`; `$default` takes what
//! no route matches.

use std::collections::BTreeMap;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(String),
    Var(String),
    Greedy(String),
}

impl Seg {
    fn rank(&self) -> u8 {
        match self {
            Seg::Literal(_) => 0,
            Seg::Var(_) => 1,
            Seg::Greedy(_) => 2,
        }
    }
}

fn parse(path: &str) -> Vec<Seg> {
    let p = path.strip_prefix('/').unwrap_or(path);
    if p.is_empty() {
        return Vec::new();
    }
    p.split('/')
        .map(|s| match s.strip_prefix('{').and_then(|v| v.strip_suffix('}')) {
            Some(v) => match v.strip_suffix('+') {
                Some(n) => Seg::Greedy(n.to_string()),
                None => Seg::Var(v.to_string()),
            },
            None => Seg::Literal(s.to_string()),
        })
        .collect()
}

/// How specific a route is (lower is more): its segments' kinds, then whether it is `ANY`.
type Specificity = (Vec<u8>, u8);

/// Path parameters, by name.
type Params = Vec<(String, String)>;

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The path parameters when `segments` match the request's path segments.
fn matches(segments: &[Seg], path: &[&str]) -> Option<Params> {
    let mut params = Vec::new();
    for (n, seg) in segments.iter().enumerate() {
        match seg {
            Seg::Greedy(name) => {
                let rest = path.get(n..).filter(|r| !r.is_empty())?;
                params.push((name.clone(), decode(&rest.join("/"))));
                return Some(params);
            }
            Seg::Literal(l) => {
                if path.get(n) != Some(&l.as_str()) {
                    return None;
                }
            }
            Seg::Var(name) => {
                let v = path.get(n).filter(|v| !v.is_empty())?;
                params.push((name.clone(), decode(v)));
            }
        }
    }
    (segments.len() == path.len()).then_some(params)
}

/// The route for `method` and `path` (the path after the stage, as sent) with its path
/// parameters (decoded).
pub fn find<'a>(routes: &'a BTreeMap<String, Value>, method: &str, path: &str) -> Option<(&'a Value, Params)> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let parts: Vec<&str> = if p.is_empty() { Vec::new() } else { p.split('/').collect() };
    let mut best: Option<(Specificity, &Value, Params)> = None;
    let mut default = None;
    for r in routes.values() {
        let key = r.get("routeKey").and_then(Value::as_str).unwrap_or("");
        if key == "$default" {
            default = Some(r);
            continue;
        }
        let Some((m, route_path)) = key.split_once(' ') else { continue };
        if m != "ANY" && !m.eq_ignore_ascii_case(method) {
            continue;
        }
        let segments = parse(route_path);
        let Some(params) = matches(&segments, &parts) else { continue };
        let score = (segments.iter().map(Seg::rank).collect::<Vec<u8>>(), u8::from(m == "ANY"));
        if best.as_ref().is_none_or(|(s, _, _)| score < *s) {
            best = Some((score, r, params));
        }
    }
    best.map(|(_, r, p)| (r, p)).or_else(|| default.map(|d| (d, Vec::new())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn table(keys: &[&str]) -> BTreeMap<String, Value> {
        keys.iter().enumerate().map(|(n, k)| (format!("r{n}"), json!({"routeKey": k}))).collect()
    }

    fn key(routes: &BTreeMap<String, Value>, method: &str, path: &str) -> Option<String> {
        find(routes, method, path).map(|(r, _)| r["routeKey"].as_str().unwrap().to_string())
    }

    #[test]
    fn most_specific_first() {
        let t = table(&[
            "$default",
            "ANY /{proxy+}",
            "GET /pets/{proxy+}",
            "GET /pets/{id}",
            "GET /pets/dog/1",
            "ANY /pets/{id}",
            "GET /",
        ]);
        assert_eq!(key(&t, "GET", "/pets/dog/1").unwrap(), "GET /pets/dog/1");
        assert_eq!(key(&t, "GET", "/pets/7").unwrap(), "GET /pets/{id}");
        assert_eq!(key(&t, "POST", "/pets/7").unwrap(), "ANY /pets/{id}");
        assert_eq!(key(&t, "GET", "/pets/a/b").unwrap(), "GET /pets/{proxy+}");
        assert_eq!(key(&t, "POST", "/pets/a/b").unwrap(), "ANY /{proxy+}");
        assert_eq!(key(&t, "GET", "/").unwrap(), "GET /");
        assert_eq!(key(&t, "POST", "/").unwrap(), "$default");
    }

    #[test]
    fn parameters_and_misses() {
        let t = table(&["GET /pets/{id}/toys/{toy}", "GET /files/{proxy+}"]);
        let (_, p) = find(&t, "GET", "/pets/a%20b/toys/x").unwrap();
        assert_eq!(p, vec![("id".to_string(), "a b".to_string()), ("toy".to_string(), "x".to_string())]);
        let (_, p) = find(&t, "GET", "/files/a/b/c.txt").unwrap();
        assert_eq!(p, vec![("proxy".to_string(), "a/b/c.txt".to_string())]);
        assert!(find(&t, "GET", "/files").is_none());
        assert!(find(&t, "GET", "/pets/1/toys").is_none());
        assert!(find(&t, "POST", "/pets/1/toys/2").is_none());
    }
}
