//! What the HTTP data planes (API Gateway, its v2, load balancers) answer, what a function
//! invoked for them answered, who signed a request to them, and how a Lambda authorizer's
//! policy is read: shared so the binary hands them between services unchanged.

use std::any::Any;
use std::sync::Arc;

use serde_json::Value;

/// An HTTP response of a data plane.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        HttpAnswer { status, headers, body }
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Replaces every value of a header with one.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
    }
}

/// A function's answer to an invocation made for a data plane.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub payload: Vec<u8>,
    /// `Unhandled` / `Handled` when the function failed.
    pub function_error: Option<String>,
}

/// A SigV4 signer of an execute-api request, as IAM knows it.
#[derive(Clone)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    pub access_key: String,
    /// `AIDA…` or `AROA…:session`.
    pub user_id: String,
    /// The binary's own record of who this is (for IAM's evaluation).
    pub principal: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").field("arn", &self.arn).finish()
    }
}

/// An authorizer's policy for `arn`: Some(true) allowed, Some(false) explicitly denied, None
/// when nothing allows it.
pub fn policy_decision(policy: &Value, arn: &str) -> Option<bool> {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    };
    let list = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        }
    };
    let mut allowed = false;
    for st in statements {
        let actions = list(st.get("Action"));
        let acts = actions.iter().any(|a| glob(&a.to_ascii_lowercase(), "execute-api:invoke"));
        let res = list(st.get("Resource")).iter().any(|r| glob(r, arn));
        if !(acts && res) {
            continue;
        }
        match st.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Some(false),
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    allowed.then_some(true)
}

/// `*` and `?` wildcards, as IAM matches ARNs.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// A string member of a function's proxy answer: strings as they are, numbers and booleans
/// written out; anything else is malformed.
pub fn proxy_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A proxy answer's `statusCode` (a number or a numeric string, 100 to 599).
pub fn proxy_status(v: Option<&Value>) -> Option<u16> {
    let status = match v {
        Some(Value::Number(n)) => u16::try_from(n.as_u64()?).ok()?,
        Some(Value::String(s)) => s.trim().parse::<u16>().ok()?,
        _ => return None,
    };
    (100..=599).contains(&status).then_some(status)
}

/// A function's answer under the Lambda proxy contract of REST APIs (and HTTP APIs' payload
/// 1.0): `statusCode` (200 when absent), `multiValueHeaders` then `headers` (a pair given in
/// both kept once), `body` as sent and whether it is base64 (the caller decides what to do with
/// it). None when the answer is malformed: an unknown member, or a member of the wrong type.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub base64: bool,
}

const PROXY_KEYS: &[&str] = &["statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"];

impl ProxyResponse {
    pub fn parse(o: &serde_json::Map<String, Value>) -> Option<ProxyResponse> {
        if o.keys().any(|k| !PROXY_KEYS.contains(&k.as_str())) {
            return None;
        }
        let status = match o.get("statusCode") {
            None | Some(Value::Null) => 200,
            s => proxy_status(s)?,
        };
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut multi_names: Vec<String> = Vec::new();
        match o.get("multiValueHeaders") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, vs) in m {
                    let Value::Array(vs) = vs else { return None };
                    multi_names.push(k.to_ascii_lowercase());
                    for v in vs {
                        headers.push((k.clone(), proxy_text(v)?));
                    }
                }
            }
            Some(_) => return None,
        }
        match o.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let v = proxy_text(v)?;
                    // A pair given in both keeps only the multi-value list's values.
                    let repeated = multi_names.contains(&k.to_ascii_lowercase())
                        && headers.iter().any(|(hk, hv)| hk.eq_ignore_ascii_case(k) && *hv == v);
                    if !repeated {
                        headers.push((k.clone(), v));
                    }
                }
            }
            Some(_) => return None,
        }
        let base64 = match o.get("isBase64Encoded") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            Some(_) => return None,
        };
        let body = match o.get("body") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => s.clone().into_bytes(),
            Some(other) => other.to_string().into_bytes(),
        };
        Some(ProxyResponse { status, headers, body, base64 })
    }
}
