//! Subscription filter policies (`FilterPolicy`, `FilterPolicyScope`): parsing with SNS's
//! limits, and matching against a message's attributes or its JSON body.
//!
//! A policy is an object of keys whose values are arrays of conditions (OR), all keys must
//! match (AND), and `"$or": [policy, …]` adds alternatives at any level. Conditions: exact
//! strings and numbers, `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a
//! list, or `{"prefix"|"suffix": …}`), `numeric` comparisons and ranges, `exists`, `cidr`.
//! A value that is an array (a `String.Array` attribute, a JSON array in the body) matches when
//! any element does. Attribute-scope policies are flat; body-scope policies nest by JSON key.

use std::net::IpAddr;

use serde_json::{Map, Value};
use stratus_proto::AwsError;

use crate::errors::invalid_filter_policy;
use crate::types::MessageAttributes;

/// At most this many keys in a policy.
const MAX_KEYS: usize = 5;
/// At most this many combinations of values (the product of the arrays' lengths).
const MAX_COMBINATIONS: u64 = 150;
/// Numbers in a policy are within ±10^9.
const MAX_NUMBER: f64 = 1e9;

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    fields: Vec<(String, Field)>,
    /// Each group: at least one alternative must match.
    ors: Vec<Vec<Policy>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Field {
    Leaf(Vec<Cond>),
    Nested(Policy),
}

#[derive(Debug, Clone, PartialEq)]
enum Cond {
    Exact(String),
    Number(f64),
    Bool(bool),
    Null,
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Literal>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    Numeric(Vec<(NumOp, f64)>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum NumOp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Which part of a message a policy looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    MessageAttributes,
    MessageBody,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "MessageAttributes" => Some(Self::MessageAttributes),
            "MessageBody" => Some(Self::MessageBody),
            _ => None,
        }
    }
}

/// Parses and checks a policy as Subscribe / SetSubscriptionAttributes do.
pub fn parse(text: &str, scope: Scope) -> Result<Policy, AwsError> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| invalid_filter_policy(format!("failed to parse JSON. {e}")))?;
    let Value::Object(obj) = v else {
        return Err(invalid_filter_policy("Filter policy must be a JSON object"));
    };
    let policy = parse_object(&obj, scope)?;
    let mut keys = Vec::new();
    policy.leaf_keys("", &mut keys);
    keys.sort();
    keys.dedup();
    if keys.len() > MAX_KEYS {
        return Err(invalid_filter_policy(format!("Filter policy can not have more than {MAX_KEYS} keys")));
    }
    if policy.combinations() > MAX_COMBINATIONS {
        return Err(invalid_filter_policy("Filter policy is too complex"));
    }
    Ok(policy)
}

fn parse_object(obj: &Map<String, Value>, scope: Scope) -> Result<Policy, AwsError> {
    let mut p = Policy { fields: Vec::new(), ors: Vec::new() };
    for (k, v) in obj {
        if k == "$or" {
            let Value::Array(alts) = v else {
                return Err(invalid_filter_policy("$or must be an array of filter policies"));
            };
            if alts.len() < 2 {
                return Err(invalid_filter_policy("$or must have at least two filter policies"));
            }
            let mut group = Vec::with_capacity(alts.len());
            for a in alts {
                let Value::Object(o) = a else {
                    return Err(invalid_filter_policy("$or must be an array of filter policies"));
                };
                group.push(parse_object(o, scope)?);
            }
            p.ors.push(group);
            continue;
        }
        let field = match v {
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(invalid_filter_policy(format!("Empty arrays are not allowed (key {k})")));
                }
                Field::Leaf(items.iter().map(|i| parse_condition(k, i)).collect::<Result<_, _>>()?)
            }
            Value::Object(o) if scope == Scope::MessageBody => Field::Nested(parse_object(o, scope)?),
            Value::Object(_) => {
                return Err(invalid_filter_policy(
                    "Filter policy scope MessageAttributes does not support nested filter policy",
                ));
            }
            _ => return Err(invalid_filter_policy(format!("Match value must be an array (key {k})"))),
        };
        p.fields.push((k.clone(), field));
    }
    Ok(p)
}

fn number(k: &str, v: &Value) -> Result<f64, AwsError> {
    let n = v.as_f64().ok_or_else(|| invalid_filter_policy(format!("Value of {k} must be numeric")))?;
    if !(-MAX_NUMBER..=MAX_NUMBER).contains(&n) {
        return Err(invalid_filter_policy(format!(
            "Numeric value {n} of {k} is outside the supported range of -1000000000 to 1000000000"
        )));
    }
    Ok(n)
}

fn string<'v>(k: &str, op: &str, v: &'v Value) -> Result<&'v str, AwsError> {
    v.as_str().ok_or_else(|| invalid_filter_policy(format!("{op} match pattern must be a string (key {k})")))
}

fn parse_condition(k: &str, v: &Value) -> Result<Cond, AwsError> {
    Ok(match v {
        Value::String(s) => Cond::Exact(s.clone()),
        Value::Number(_) => Cond::Number(number(k, v)?),
        Value::Bool(b) => Cond::Bool(*b),
        Value::Null => Cond::Null,
        Value::Array(_) => {
            return Err(invalid_filter_policy(format!(
                "Match value must be a string, number, true, false, or null (key {k})"
            )));
        }
        Value::Object(o) => {
            let mut it = o.iter();
            let (Some((op, arg)), None) = (it.next(), it.next()) else {
                return Err(invalid_filter_policy(format!("Match rule must have exactly one operator (key {k})")));
            };
            match op.as_str() {
                "prefix" => Cond::Prefix(string(k, op, arg)?.to_string()),
                "suffix" => Cond::Suffix(string(k, op, arg)?.to_string()),
                "equals-ignore-case" => Cond::EqualsIgnoreCase(string(k, op, arg)?.to_string()),
                "exists" => Cond::Exists(arg.as_bool().ok_or_else(|| {
                    invalid_filter_policy(format!("exists match pattern must be either true or false (key {k})"))
                })?),
                "cidr" => {
                    let s = string(k, op, arg)?;
                    let (ip, bits) = parse_cidr(s)
                        .ok_or_else(|| invalid_filter_policy(format!("Malformed CIDR, one '/' required (key {k})")))?;
                    Cond::Cidr(ip, bits)
                }
                "numeric" => parse_numeric(k, arg)?,
                "anything-but" => parse_anything_but(k, arg)?,
                other => return Err(invalid_filter_policy(format!("Unrecognized match type {other}"))),
            }
        }
    })
}

fn parse_anything_but(k: &str, arg: &Value) -> Result<Cond, AwsError> {
    let literal = |v: &Value| -> Result<Literal, AwsError> {
        match v {
            Value::String(s) => Ok(Literal::Str(s.clone())),
            Value::Number(_) => Ok(Literal::Num(number(k, v)?)),
            _ => Err(invalid_filter_policy(format!(
                "Value of anything-but must be an array or single string/number value (key {k})"
            ))),
        }
    };
    Ok(match arg {
        Value::Array(items) if items.is_empty() => {
            return Err(invalid_filter_policy(format!("Empty arrays are not allowed (key {k})")));
        }
        Value::Array(items) => Cond::AnythingBut(items.iter().map(literal).collect::<Result<_, _>>()?),
        Value::Object(o) if o.len() == 1 => match o.iter().next() {
            Some((op, v)) if op == "prefix" => Cond::AnythingButPrefix(string(k, op, v)?.to_string()),
            Some((op, v)) if op == "suffix" => Cond::AnythingButSuffix(string(k, op, v)?.to_string()),
            _ => return Err(invalid_filter_policy(format!("Unsupported anything-but pattern (key {k})"))),
        },
        other => Cond::AnythingBut(vec![literal(other)?]),
    })
}

fn parse_numeric(k: &str, arg: &Value) -> Result<Cond, AwsError> {
    let Value::Array(items) = arg else {
        return Err(invalid_filter_policy(format!("Value of numeric must be an array (key {k})")));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(invalid_filter_policy(format!("Value of numeric must have one or two comparisons (key {k})")));
    }
    let mut ops = Vec::new();
    for pair in items.chunks(2) {
        let op = match pair[0].as_str() {
            Some("=") => NumOp::Eq,
            Some("<") => NumOp::Lt,
            Some("<=") => NumOp::Le,
            Some(">") => NumOp::Gt,
            Some(">=") => NumOp::Ge,
            _ => return Err(invalid_filter_policy(format!("Unrecognized numeric range operator (key {k})"))),
        };
        ops.push((op, number(k, &pair[1])?));
    }
    if let [(a, lo), (b, hi)] = ops.as_slice() {
        // A range is a lower bound followed by an upper bound.
        if !matches!(a, NumOp::Gt | NumOp::Ge) || !matches!(b, NumOp::Lt | NumOp::Le) || lo >= hi {
            return Err(invalid_filter_policy(format!("Bad numeric range operator (key {k})")));
        }
    }
    Ok(Cond::Numeric(ops))
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    let ip: IpAddr = ip.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((ip, bits))
}

fn in_cidr(addr: &str, net: IpAddr, bits: u8) -> bool {
    let Ok(ip) = addr.parse::<IpAddr>() else { return false };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - u32::from(bits)) };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - u32::from(bits)) };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Numbers compare with five digits after the decimal point, as SNS documents.
fn num_eq(a: f64, b: f64) -> bool {
    (a * 1e5).round() == (b * 1e5).round()
}

impl Policy {
    fn leaf_keys(&self, prefix: &str, into: &mut Vec<String>) {
        for (k, f) in &self.fields {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match f {
                Field::Leaf(_) => into.push(path),
                Field::Nested(p) => p.leaf_keys(&path, into),
            }
        }
        for group in &self.ors {
            for p in group {
                p.leaf_keys(prefix, into);
            }
        }
    }

    fn combinations(&self) -> u64 {
        let mut total: u64 = 1;
        for (_, f) in &self.fields {
            let n = match f {
                Field::Leaf(conds) => conds.len() as u64,
                Field::Nested(p) => p.combinations(),
            };
            total = total.saturating_mul(n);
        }
        for group in &self.ors {
            total = total.saturating_mul(group.iter().map(Policy::combinations).fold(0u64, u64::saturating_add));
        }
        total
    }

    /// Whether a message with these attributes matches (attribute scope).
    pub fn matches_attributes(&self, attrs: &MessageAttributes) -> bool {
        self.matches_with(&|key: &str| {
            let a = attrs.get(key)?;
            let s = a.string_value.as_deref().unwrap_or_default();
            Some(match a.data_type.split('.').next().unwrap_or_default() {
                _ if a.data_type == "String.Array" => {
                    serde_json::from_str::<Value>(s).unwrap_or_else(|_| Value::String(s.to_string()))
                }
                "Number" => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::String(s.to_string())),
                "String" => Value::String(s.to_string()),
                // Binary attributes are present but never equal to anything in a policy.
                _ => Value::Object(Map::new()),
            })
        })
    }

    /// Whether a message body matches (body scope); a body that is not a JSON object matches
    /// nothing but a policy of only `exists: false` conditions.
    pub fn matches_body(&self, body: &str) -> bool {
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        self.matches_value(&v)
    }

    fn matches_value(&self, obj: &Value) -> bool {
        let fields_ok = self.fields.iter().all(|(k, f)| {
            let child = obj.get(k);
            match f {
                Field::Leaf(conds) => leaf_matches(conds, child),
                Field::Nested(p) => match child {
                    Some(Value::Array(items)) => items.iter().any(|i| p.matches_value(i)),
                    Some(c) => p.matches_value(c),
                    None => p.matches_value(&Value::Null),
                },
            }
        });
        fields_ok && self.ors.iter().all(|g| g.iter().any(|p| p.matches_value(obj)))
    }

    fn matches_with(&self, lookup: &dyn Fn(&str) -> Option<Value>) -> bool {
        let fields_ok = self.fields.iter().all(|(k, f)| match f {
            Field::Leaf(conds) => leaf_matches(conds, lookup(k).as_ref()),
            Field::Nested(_) => false,
        });
        fields_ok && self.ors.iter().all(|g| g.iter().any(|p| p.matches_with(lookup)))
    }
}

fn leaf_matches(conds: &[Cond], v: Option<&Value>) -> bool {
    conds.iter().any(|c| match (c, v) {
        (Cond::Exists(want), v) => *want == v.is_some(),
        (_, None) => false,
        // An array matches `anything-but` only when none of its elements is excluded (AWS's
        // documented String.Array semantics); every other condition needs one element.
        (
            c @ (Cond::AnythingBut(_) | Cond::AnythingButPrefix(_) | Cond::AnythingButSuffix(_)),
            Some(Value::Array(items)),
        ) => items.iter().all(|i| cond_matches(c, i)),
        (c, Some(Value::Array(items))) => items.iter().any(|i| cond_matches(c, i)),
        (c, Some(v)) => cond_matches(c, v),
    })
}

fn cond_matches(c: &Cond, v: &Value) -> bool {
    match c {
        Cond::Exact(s) => v.as_str() == Some(s),
        Cond::Number(n) => v.as_f64().is_some_and(|x| v.is_number() && num_eq(x, *n)),
        Cond::Bool(b) => v.as_bool() == Some(*b),
        Cond::Null => v.is_null(),
        Cond::Prefix(p) => v.as_str().is_some_and(|s| s.starts_with(p.as_str())),
        Cond::Suffix(p) => v.as_str().is_some_and(|s| s.ends_with(p.as_str())),
        Cond::EqualsIgnoreCase(p) => v.as_str().is_some_and(|s| s.to_lowercase() == p.to_lowercase()),
        Cond::AnythingBut(list) => match v {
            Value::String(s) => !list.iter().any(|l| matches!(l, Literal::Str(x) if x == s)),
            Value::Number(_) => {
                let x = v.as_f64().unwrap_or(f64::NAN);
                !list.iter().any(|l| matches!(l, Literal::Num(n) if num_eq(*n, x)))
            }
            _ => false,
        },
        Cond::AnythingButPrefix(p) => v.as_str().is_some_and(|s| !s.starts_with(p.as_str())),
        Cond::AnythingButSuffix(p) => v.as_str().is_some_and(|s| !s.ends_with(p.as_str())),
        Cond::Numeric(ops) => match v {
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                ops.iter().all(|(op, b)| match op {
                    NumOp::Eq => num_eq(x, *b),
                    NumOp::Lt => x < *b,
                    NumOp::Le => x <= *b,
                    NumOp::Gt => x > *b,
                    NumOp::Ge => x >= *b,
                })
            }
            _ => false,
        },
        Cond::Exists(want) => *want,
        Cond::Cidr(net, bits) => v.as_str().is_some_and(|s| in_cidr(s, *net, *bits)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::types::MessageAttributeValue;

    fn attrs(list: &[(&str, &str, &str)]) -> MessageAttributes {
        list.iter()
            .map(|(k, t, v)| {
                (
                    k.to_string(),
                    MessageAttributeValue {
                        data_type: t.to_string(),
                        string_value: Some(v.to_string()),
                        binary_value: None,
                    },
                )
            })
            .collect()
    }

    fn m(policy: &str, a: &[(&str, &str, &str)]) -> bool {
        parse(policy, Scope::MessageAttributes).unwrap().matches_attributes(&attrs(a))
    }

    fn b(policy: &str, body: &str) -> bool {
        parse(policy, Scope::MessageBody).unwrap().matches_body(body)
    }

    #[test]
    fn attribute_operators() {
        assert!(m(r#"{"c":["red","blue"]}"#, &[("c", "String", "blue")]));
        assert!(!m(r#"{"c":["red"]}"#, &[("c", "String", "Red")]));
        assert!(!m(r#"{"c":["red"]}"#, &[]));
        assert!(m(r#"{"c":[{"prefix":"re"}]}"#, &[("c", "String", "red")]));
        assert!(m(r#"{"c":[{"suffix":"ed"}]}"#, &[("c", "String", "red")]));
        assert!(m(r#"{"c":[{"equals-ignore-case":"RED"}]}"#, &[("c", "String", "red")]));
        assert!(m(r#"{"c":[{"anything-but":["red","blue"]}]}"#, &[("c", "String", "green")]));
        assert!(!m(r#"{"c":[{"anything-but":"red"}]}"#, &[("c", "String", "red")]));
        assert!(!m(r#"{"c":[{"anything-but":"red"}]}"#, &[]));
        assert!(!m(r#"{"c":[{"anything-but":"red"}]}"#, &[("c", "String.Array", r#"["green","red"]"#)]));
        assert!(m(r#"{"c":[{"anything-but":"red"}]}"#, &[("c", "String.Array", r#"["green","blue"]"#)]));
        assert!(m(r#"{"c":[{"anything-but":{"prefix":"re"}}]}"#, &[("c", "String", "blue")]));
        assert!(!m(r#"{"c":[{"anything-but":{"prefix":"re"}}]}"#, &[("c", "String", "red")]));
        assert!(m(r#"{"p":[{"numeric":[">",0,"<=",10]}]}"#, &[("p", "Number", "10")]));
        assert!(!m(r#"{"p":[{"numeric":[">",0,"<=",10]}]}"#, &[("p", "Number", "10.5")]));
        assert!(!m(r#"{"p":[{"numeric":[">",0]}]}"#, &[("p", "String", "5")]));
        assert!(m(r#"{"p":[5]}"#, &[("p", "Number", "5.0")]));
        assert!(m(r#"{"c":[{"exists":false}]}"#, &[]));
        assert!(!m(r#"{"c":[{"exists":true}]}"#, &[]));
        assert!(m(r#"{"c":[{"exists":true}]}"#, &[("c", "Binary", "")]));
        assert!(m(r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", "String", "10.0.0.255")]));
        assert!(!m(r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, &[("ip", "String", "10.0.1.1")]));
        assert!(m(r#"{"c":["b"]}"#, &[("c", "String.Array", r#"["a","b"]"#)]));
        assert!(m(r#"{"n":[2]}"#, &[("n", "String.Array", r#"[1,2]"#)]));
        assert!(m(r#"{"a":["x"],"$or":[{"b":["1"]},{"c":["2"]}]}"#, &[("a", "String", "x"), ("c", "String", "2")]));
        assert!(!m(r#"{"a":["x"],"$or":[{"b":["1"]},{"c":["2"]}]}"#, &[("a", "String", "x")]));
    }

    #[test]
    fn body_scope() {
        let body = r#"{"order":{"status":"paid","total":42,"tags":["a","b"]},"ip":"192.168.1.7"}"#;
        assert!(b(r#"{"order":{"status":["paid"]}}"#, body));
        assert!(b(r#"{"order":{"total":[{"numeric":[">=",40]}],"tags":["b"]}}"#, body));
        assert!(!b(r#"{"order":{"status":["open"]}}"#, body));
        assert!(b(r#"{"order":{"missing":[{"exists":false}]}}"#, body));
        assert!(b(r#"{"ip":[{"cidr":"192.168.0.0/16"}]}"#, body));
        assert!(!b(r#"{"order":{"status":["paid"]}}"#, "not json"));
    }

    #[test]
    fn validation() {
        let bad = |p: &str, scope| parse(p, scope).unwrap_err().message;
        assert!(bad("[]", Scope::MessageAttributes).contains("FilterPolicy"));
        assert!(bad("{", Scope::MessageAttributes).starts_with("Invalid parameter: FilterPolicy:"));
        assert!(bad(r#"{"a":{"b":["c"]}}"#, Scope::MessageAttributes).contains("nested"));
        assert!(
            bad(r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#, Scope::MessageAttributes)
                .contains("5 keys")
        );
        let big: Vec<String> = (0..151).map(|i| format!("\"{i}\"")).collect();
        assert!(bad(&format!(r#"{{"a":[{}]}}"#, big.join(",")), Scope::MessageAttributes).contains("too complex"));
        // 13 × 12 = 156 combinations; 12 × 12 = 144 is allowed.
        let vals = |n: usize| (0..n).map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(",");
        let (v12, v13) = (vals(12), vals(13));
        assert!(bad(&format!(r#"{{"a":[{v13}],"b":[{v12}]}}"#), Scope::MessageAttributes).contains("too complex"));
        assert!(parse(&format!(r#"{{"a":[{v12}],"b":[{v12}]}}"#), Scope::MessageAttributes).is_ok());
        assert!(bad(r#"{"a":[{"numeric":["<",5,">",1]}]}"#, Scope::MessageAttributes).contains("numeric"));
        assert!(bad(r#"{"a":[{"bogus":1}]}"#, Scope::MessageAttributes).contains("Unrecognized match type bogus"));
        assert!(bad(r#"{"a":[]}"#, Scope::MessageAttributes).contains("Empty arrays"));
        assert!(bad(r#"{"a":[2000000000]}"#, Scope::MessageAttributes).contains("range"));
        assert!(parse(r#"{"a":{"b":["c"]}}"#, Scope::MessageBody).is_ok());
    }
}
