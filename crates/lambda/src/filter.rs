//! Event filtering (FilterCriteria): the pattern language Lambda shares with EventBridge.
//! A pattern is a JSON object whose keys name fields of the event; leaves are arrays of
//! matchers, any of which may match (`"a": ["x", {"prefix": "y"}]`); all keys must match.
//! Matchers: literal strings, numbers, booleans and null; `prefix`, `suffix`,
//! `equals-ignore-case`, `wildcard`, `anything-but` (values, or a prefix/suffix), `numeric`
//! (comparisons, in pairs), `exists`; and `$or` over sub-patterns.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

/// Checks that a pattern is well formed (at creation, so that a bad one is refused).
pub fn check(pattern: &str) -> Result<Value, PatternError> {
    let v: Value =
        serde_json::from_str(pattern).map_err(|e| PatternError(format!("pattern is not valid JSON: {e}")))?;
    let Value::Object(obj) = &v else { return Err(PatternError("pattern must be a JSON object".into())) };
    check_object(obj)?;
    Ok(v)
}

fn check_object(obj: &Map<String, Value>) -> Result<(), PatternError> {
    for (k, v) in obj {
        match (k.as_str(), v) {
            ("$or", Value::Array(alts)) if alts.len() >= 2 => {
                for a in alts {
                    match a {
                        Value::Object(o) => check_object(o)?,
                        _ => return Err(PatternError("$or takes an array of objects".into())),
                    }
                }
            }
            (_, Value::Object(o)) => check_object(o)?,
            (_, Value::Array(ms)) => {
                if ms.is_empty() {
                    return Err(PatternError(format!("empty matcher list for {k}")));
                }
                for m in ms {
                    check_matcher(m)?;
                }
            }
            _ => return Err(PatternError(format!("value of {k} must be an object or an array"))),
        }
    }
    Ok(())
}

fn check_matcher(m: &Value) -> Result<(), PatternError> {
    let Value::Object(o) = m else { return Ok(()) };
    let [(op, arg)] = o.iter().collect::<Vec<_>>()[..] else {
        return Err(PatternError("a matcher object has exactly one operator".into()));
    };
    let ok = match op.as_str() {
        "prefix" | "suffix" => arg.is_string() || arg.get("equals-ignore-case").is_some_and(Value::is_string),
        "equals-ignore-case" | "wildcard" => arg.is_string(),
        "exists" => arg.is_boolean(),
        "anything-but" => {
            matches!(arg, Value::String(_) | Value::Number(_) | Value::Array(_))
                || arg.get("prefix").is_some_and(Value::is_string)
                || arg.get("suffix").is_some_and(Value::is_string)
                || arg.get("equals-ignore-case").is_some()
        }
        "numeric" => numeric_ok(arg),
        "cidr" => arg.is_string(),
        _ => false,
    };
    if ok { Ok(()) } else { Err(PatternError(format!("unsupported or malformed matcher {op}"))) }
}

fn numeric_ok(arg: &Value) -> bool {
    let Value::Array(a) = arg else { return false };
    !a.is_empty()
        && a.len() % 2 == 0
        && a.chunks(2).all(|c| matches!(c[0].as_str(), Some("<" | "<=" | "=" | ">" | ">=")) && c[1].is_number())
}

/// Whether `event` matches `pattern` (a pattern accepted by [`check`]).
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Value::Object(p) = pattern else { return false };
    p.iter().all(|(k, v)| match (k.as_str(), v) {
        ("$or", Value::Array(alts)) => alts.iter().any(|a| matches(a, event)),
        (_, Value::Object(_)) => event.get(k).is_some_and(|sub| matches(v, sub)),
        (_, Value::Array(ms)) => field_matches(ms, event.get(k)),
        _ => false,
    })
}

fn field_matches(matchers: &[Value], field: Option<&Value>) -> bool {
    matchers.iter().any(|m| match m {
        Value::Object(o) if o.contains_key("exists") => {
            let want = o.get("exists").and_then(Value::as_bool).unwrap_or(true);
            want == field.is_some_and(|f| !f.is_null() || want)
        }
        _ => match field {
            None => false,
            Some(Value::Array(items)) => items.iter().any(|it| one(m, it)),
            Some(v) => one(m, v),
        },
    })
}

fn num_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn one(m: &Value, v: &Value) -> bool {
    match m {
        Value::Object(o) => {
            let Some((op, arg)) = o.iter().next() else { return false };
            let s = v.as_str();
            match op.as_str() {
                "prefix" => match (arg.as_str(), arg.get("equals-ignore-case").and_then(Value::as_str), s) {
                    (Some(p), _, Some(s)) => s.starts_with(p),
                    (_, Some(p), Some(s)) => s.to_lowercase().starts_with(&p.to_lowercase()),
                    _ => false,
                },
                "suffix" => match (arg.as_str(), arg.get("equals-ignore-case").and_then(Value::as_str), s) {
                    (Some(p), _, Some(s)) => s.ends_with(p),
                    (_, Some(p), Some(s)) => s.to_lowercase().ends_with(&p.to_lowercase()),
                    _ => false,
                },
                "equals-ignore-case" => {
                    matches!((arg.as_str(), s), (Some(a), Some(s)) if a.eq_ignore_ascii_case(s) || a.to_lowercase() == s.to_lowercase())
                }
                "wildcard" => matches!((arg.as_str(), s), (Some(p), Some(s)) if wildcard(p, s)),
                "anything-but" => match arg {
                    Value::Array(vals) => !vals.iter().any(|x| num_eq(x, v)),
                    Value::Object(inner) => match inner.iter().next() {
                        Some((op, a)) => {
                            !one(&Value::Object(Map::from_iter([(op.clone(), a.clone())])), v) && s.is_some()
                        }
                        None => false,
                    },
                    other => !num_eq(other, v),
                },
                "numeric" => {
                    let (Some(x), Value::Array(ops)) = (v.as_f64(), arg) else { return false };
                    ops.chunks(2).all(|c| {
                        let y = c[1].as_f64().unwrap_or(f64::NAN);
                        match c[0].as_str() {
                            Some("<") => x < y,
                            Some("<=") => x <= y,
                            Some("=") => x == y,
                            Some(">") => x > y,
                            Some(">=") => x >= y,
                            _ => false,
                        }
                    })
                }
                "cidr" => matches!((arg.as_str(), s), (Some(net), Some(ip)) if in_cidr(net, ip)),
                _ => false,
            }
        }
        literal => num_eq(literal, v),
    }
}

/// `*` matches any run of characters.
fn wildcard(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || !s[first.len()..].ends_with(last) || s.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn in_cidr(net: &str, ip: &str) -> bool {
    let Some((base, bits)) = net.split_once('/') else { return net == ip };
    let (Ok(base), Ok(ip), Ok(bits)) =
        (base.parse::<std::net::Ipv4Addr>(), ip.parse::<std::net::Ipv4Addr>(), bits.parse::<u32>())
    else {
        return false;
    };
    if bits > 32 {
        return false;
    }
    let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
    u32::from(base) & mask == u32::from(ip) & mask
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn m(p: &str, e: Value) -> bool {
        matches(&check(p).unwrap(), &e)
    }

    #[test]
    fn table() {
        let ev = json!({"body": {"kind": "order", "n": 12, "tags": ["a", "b"], "ip": "10.0.0.7", "nil": null},
                        "attributes": {"SenderId": "x"}});
        let cases: &[(&str, bool)] = &[
            (r#"{"body": {"kind": ["order"]}}"#, true),
            (r#"{"body": {"kind": ["refund", "order"]}}"#, true),
            (r#"{"body": {"kind": ["refund"]}}"#, false),
            (r#"{"body": {"kind": [{"prefix": "or"}]}}"#, true),
            (r#"{"body": {"kind": [{"suffix": "der"}]}}"#, true),
            (r#"{"body": {"kind": [{"equals-ignore-case": "ORDER"}]}}"#, true),
            (r#"{"body": {"kind": [{"wildcard": "o*r"}]}}"#, true),
            (r#"{"body": {"kind": [{"wildcard": "x*"}]}}"#, false),
            (r#"{"body": {"kind": [{"anything-but": ["refund"]}]}}"#, true),
            (r#"{"body": {"kind": [{"anything-but": "order"}]}}"#, false),
            (r#"{"body": {"kind": [{"anything-but": {"prefix": "ord"}}]}}"#, false),
            (r#"{"body": {"n": [{"numeric": [">", 10, "<=", 12]}]}}"#, true),
            (r#"{"body": {"n": [{"numeric": ["<", 10]}]}}"#, false),
            (r#"{"body": {"n": [12]}}"#, true),
            (r#"{"body": {"tags": ["b"]}}"#, true),
            (r#"{"body": {"missing": [{"exists": false}]}}"#, true),
            (r#"{"body": {"kind": [{"exists": true}]}}"#, true),
            (r#"{"body": {"missing": [{"exists": true}]}}"#, false),
            (r#"{"body": {"nil": [null]}}"#, true),
            (r#"{"body": {"ip": [{"cidr": "10.0.0.0/24"}]}}"#, true),
            (r#"{"body": {"ip": [{"cidr": "10.0.1.0/24"}]}}"#, false),
            (r#"{"body": {"kind": ["order"]}, "attributes": {"SenderId": ["y"]}}"#, false),
            (r#"{"$or": [{"body": {"kind": ["refund"]}}, {"attributes": {"SenderId": ["x"]}}]}"#, true),
        ];
        for (p, want) in cases {
            assert_eq!(m(p, ev.clone()), *want, "{p}");
        }
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for p in
            ["[]", "{", r#"{"a": "x"}"#, r#"{"a": []}"#, r#"{"a": [{"bogus": 1}]}"#, r#"{"a": [{"numeric": [">"]}]}"#]
        {
            assert!(check(p).is_err(), "{p}");
        }
    }
}
