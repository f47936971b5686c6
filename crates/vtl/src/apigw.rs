//! Amazon API Gateway (REST API) mapping-template variables: `$input`, `$util`, `$context` and
//! `$stageVariables`, plus reading back `$context.responseOverride` / `$context.requestOverride`.
//!
//! Behaviour chosen where the developer guide is silent:
//! * An empty (or all-whitespace) body is treated as `{}` (the documented passthrough template
//!   yields `"body-json" : {}` for bodiless requests). A body that is not JSON is treated as one
//!   JSON string, so `$input.path('$')` is the raw text (the form-data idiom
//!   `$input.path('$').split('&')` relies on that) and `$input.json('$')` is that text quoted.
//! * A JSONPath that selects nothing: `$input.path` gives `null` (the reference then renders
//!   literally unless quiet, `$!{...}`), `$input.json` gives the empty string. Paths with a
//!   wildcard, deep scan or slice always give a list (possibly empty), as Jayway JsonPath does.
//! * `$input.params(name)` gives the empty string for a missing parameter.

use std::sync::Arc;

use base64::Engine;

use crate::json::{Json, parse_tree, to_json_string};
use crate::{Context, Error, Object, Value};

/// Request parameters, each list in request order.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Path parameters.
    pub path: Vec<(String, String)>,
    /// Query-string parameters.
    pub querystring: Vec<(String, String)>,
    /// Headers.
    pub header: Vec<(String, String)>,
}

/// What a mapping template sees.
#[derive(Debug, Clone, Default)]
pub struct Variables {
    /// The payload (request or integration-response body).
    pub body: String,
    /// Request parameters for `$input.params`.
    pub params: Params,
    /// The `$context` object (should be a JSON object; anything else gives an empty map).
    pub context: serde_json::Value,
    /// Stage variables for `$stageVariables`.
    pub stage_variables: Vec<(String, String)>,
}

/// Overrides a template set through `$context.responseOverride` / `$context.requestOverride`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `$context.responseOverride.status`.
    pub status: Option<u16>,
    /// `$context.responseOverride.header.*`.
    pub headers: Vec<(String, String)>,
    /// `$context.requestOverride.header.*`.
    pub request_headers: Vec<(String, String)>,
    /// `$context.requestOverride.querystring.*`.
    pub request_querystring: Vec<(String, String)>,
    /// `$context.requestOverride.path.*`.
    pub request_path: Vec<(String, String)>,
}

fn pairs_map(pairs: &[(String, String)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))))
}

fn ensure_map(parent: &Value, key: &str) -> Value {
    let Value::Map(m) = parent else { return Value::Null };
    let Ok(mut m) = m.try_borrow_mut() else { return Value::Null };
    match m.get(key) {
        Some(v @ Value::Map(_)) => v.clone(),
        _ => {
            let v = Value::map(Vec::<(String, Value)>::new());
            m.insert(key, v.clone());
            v
        }
    }
}

impl Variables {
    /// Builds a rendering context holding `$input`, `$util`, `$context` and `$stageVariables`.
    pub fn into_context(self) -> Context {
        let root = if self.body.trim().is_empty() {
            Json::Obj(Vec::new())
        } else {
            parse_tree(&self.body).unwrap_or_else(|_| Json::Str(self.body.clone()))
        };
        let context = match Value::from(&self.context) {
            v @ Value::Map(_) => v,
            _ => Value::map(Vec::<(String, Value)>::new()),
        };
        let response = ensure_map(&context, "responseOverride");
        ensure_map(&response, "header");
        let request = ensure_map(&context, "requestOverride");
        for k in ["header", "querystring", "path"] {
            ensure_map(&request, k);
        }
        let mut ctx = Context::new();
        ctx.set("input", Value::Object(Arc::new(Input { body: self.body, root, params: self.params })));
        ctx.set("util", Value::Object(Arc::new(Util)));
        ctx.set("context", context);
        ctx.set("stageVariables", pairs_map(&self.stage_variables));
        ctx
    }
}

fn entries(map: &Value, key: &str) -> Vec<(String, String)> {
    let Value::Map(m) = map else { return Vec::new() };
    let Some(Value::Map(inner)) = m.try_borrow().ok().and_then(|m| m.get(key).cloned()) else { return Vec::new() };
    let Ok(inner) = inner.try_borrow() else { return Vec::new() };
    inner.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.to_java_string())).collect()
}

/// Reads the overrides a template set, after [`crate::Template::render`].
pub fn overrides(ctx: &Context) -> Overrides {
    let Some(context) = ctx.get("context") else { return Overrides::default() };
    let get = |key: &str| match context {
        Value::Map(m) => m.try_borrow().ok().and_then(|m| m.get(key).cloned()).unwrap_or_default(),
        _ => Value::Null,
    };
    let response = get("responseOverride");
    let request = get("requestOverride");
    let status = match &response {
        Value::Map(m) => m.try_borrow().ok().and_then(|m| m.get("status").cloned()),
        _ => None,
    };
    let status = match status {
        Some(Value::Int(i)) => u16::try_from(i).ok(),
        Some(Value::Float(f)) if f.fract() == 0.0 && (0.0..=65535.0).contains(&f) => Some(f as u16),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Overrides {
        status,
        headers: entries(&response, "header"),
        request_headers: entries(&request, "header"),
        request_querystring: entries(&request, "querystring"),
        request_path: entries(&request, "path"),
    }
}

/// The `$input` object.
struct Input {
    body: String,
    root: Json,
    params: Params,
}

impl Input {
    fn param(&self, name: &str) -> String {
        let exact = |list: &[(String, String)]| list.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        exact(&self.params.path)
            .or_else(|| exact(&self.params.querystring))
            .or_else(|| self.params.header.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()))
            .unwrap_or_default()
    }
}

fn path_arg(name: &str, args: &[Value]) -> Result<String, Error> {
    match args.first() {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(Error::render(format!("$input.{name} needs a JSONPath string"))),
    }
}

impl Object for Input {
    fn get(&self, name: &str) -> Option<Value> {
        match name {
            "body" => Some(Value::String(self.body.clone())),
            _ => None,
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, Error> {
        Ok(Some(match (name, args.len()) {
            ("getBody", 0) => Value::String(self.body.clone()),
            ("json", 1) => {
                let path = path_arg(name, args)?;
                match select(&self.root, &path)? {
                    Some(v) => Value::String(to_json_string(&v)),
                    None => Value::String(String::new()),
                }
            }
            ("path", 1) => select(&self.root, &path_arg(name, args)?)?.unwrap_or_default(),
            ("params", 0) => Value::map([
                ("path", pairs_map(&self.params.path)),
                ("querystring", pairs_map(&self.params.querystring)),
                ("header", pairs_map(&self.params.header)),
            ]),
            ("params", 1) => match &args[0] {
                Value::Null => Value::String(String::new()),
                v => Value::String(self.param(&v.to_java_string())),
            },
            _ => return Ok(None),
        }))
    }
}

/// The `$util` object.
struct Util;

impl Object for Util {
    fn get(&self, _name: &str) -> Option<Value> {
        None
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, Error> {
        let [arg] = args else { return Ok(None) };
        let s = match arg {
            Value::Null => return Ok(Some(Value::Null)),
            v => v.to_java_string(),
        };
        Ok(Some(match name {
            "escapeJavaScript" => Value::String(escape_javascript(&s)),
            "parseJson" => crate::parse_json(&s)?,
            "urlEncode" => Value::String(url_encode(&s)),
            "urlDecode" => Value::String(url_decode(&s)),
            "base64Encode" => Value::String(base64::engine::general_purpose::STANDARD.encode(s.as_bytes())),
            "base64Decode" => {
                let engine = base64::engine::GeneralPurpose::new(
                    &base64::alphabet::STANDARD,
                    base64::engine::GeneralPurposeConfig::new()
                        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
                );
                let bytes = engine.decode(s.trim()).map_err(|e| Error::render(format!("base64Decode: {e}")))?;
                Value::String(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => return Ok(None),
        }))
    }
}

/// Java `StringEscapeUtils.escapeJavaScript` (Commons Lang 2), as `$util.escapeJavaScript` uses.
pub fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for unit in s.encode_utf16() {
        match unit {
            0x22 => out.push_str("\\\""),
            0x27 => out.push_str("\\'"),
            0x5c => out.push_str("\\\\"),
            0x2f => out.push_str("\\/"),
            0x08 => out.push_str("\\b"),
            0x09 => out.push_str("\\t"),
            0x0a => out.push_str("\\n"),
            0x0c => out.push_str("\\f"),
            0x0d => out.push_str("\\r"),
            u if !(0x20..=0x7f).contains(&u) => out.push_str(&format!("\\u{u:04X}")),
            u => out.push(char::from(u as u8)),
        }
    }
    out
}

/// Java `URLEncoder.encode(s, "UTF-8")`: space becomes `+`; `*`, `-`, `.`, `_` and ASCII
/// alphanumerics stay; every other byte is `%XX` (uppercase).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(char::from(b)),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Java `URLDecoder.decode(s, "UTF-8")`: `+` becomes a space, `%XX` sequences are decoded
/// (malformed sequences are kept as they are; invalid UTF-8 becomes U+FFFD).
pub fn url_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus).decode_utf8_lossy().into_owned()
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Names(Vec<String>),
    Wild,
    Indexes(Vec<i64>),
    Slice(Option<i64>, Option<i64>),
    Deep(Box<Seg>),
    Length,
}

fn jp_err(path: &str, msg: &str) -> Error {
    Error::render(format!("unsupported JSONPath {path:?}: {msg}"))
}

/// Parses the JSONPath subset; see [`select`].
fn parse_path(path: &str) -> Result<Vec<Seg>, Error> {
    let trimmed = path.trim();
    let owned;
    let p = if trimmed.starts_with('$') {
        trimmed
    } else {
        owned = format!("$.{trimmed}");
        owned.as_str()
    };
    let chars: Vec<char> = p.chars().collect();
    let mut i = 1;
    let mut segs = Vec::new();
    let name_end = |mut j: usize| {
        while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
            j += 1;
        }
        j
    };
    while i < chars.len() {
        let deep = chars[i] == '.' && chars.get(i + 1) == Some(&'.');
        let seg = if chars[i] == '.' {
            i += if deep { 2 } else { 1 };
            if chars.get(i) == Some(&'[') {
                let (seg, next) = bracket(&chars, i, p)?;
                i = next;
                seg
            } else {
                let end = name_end(i);
                let name: String = chars[i..end].iter().collect();
                i = end;
                match name.as_str() {
                    "" => return Err(jp_err(p, "empty property name")),
                    "*" => Seg::Wild,
                    "length()" | "size()" if i == chars.len() && !deep => Seg::Length,
                    _ => Seg::Names(vec![name]),
                }
            }
        } else if chars[i] == '[' {
            let (seg, next) = bracket(&chars, i, p)?;
            i = next;
            seg
        } else {
            return Err(jp_err(p, "expected '.' or '['"));
        };
        segs.push(if deep { Seg::Deep(Box::new(seg)) } else { seg });
    }
    Ok(segs)
}

fn bracket(chars: &[char], start: usize, p: &str) -> Result<(Seg, usize), Error> {
    let mut i = start + 1;
    let mut names = Vec::new();
    if matches!(chars.get(i), Some('\'' | '"')) {
        loop {
            let q = chars.get(i).copied().ok_or_else(|| jp_err(p, "unterminated ["))?;
            if q != '\'' && q != '"' {
                return Err(jp_err(p, "expected a quoted name"));
            }
            let mut name = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(jp_err(p, "unterminated name")),
                    Some('\\') => {
                        if let Some(c) = chars.get(i + 1) {
                            name.push(*c);
                        }
                        i += 2;
                    }
                    Some(c) if *c == q => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        name.push(*c);
                        i += 1;
                    }
                }
            }
            names.push(name);
            while chars.get(i) == Some(&' ') {
                i += 1;
            }
            match chars.get(i) {
                Some(',') => {
                    i += 1;
                    while chars.get(i) == Some(&' ') {
                        i += 1;
                    }
                }
                Some(']') => return Ok((Seg::Names(names), i + 1)),
                _ => return Err(jp_err(p, "expected ']'")),
            }
        }
    }
    let close = (i..chars.len()).find(|&j| chars[j] == ']').ok_or_else(|| jp_err(p, "unterminated ["))?;
    let inner: String = chars[i..close].iter().collect::<String>().trim().to_string();
    let num = |s: &str| -> Result<Option<i64>, Error> {
        let s = s.trim();
        if s.is_empty() { Ok(None) } else { s.parse().map(Some).map_err(|_| jp_err(p, "bad index")) }
    };
    let seg = if inner == "*" {
        Seg::Wild
    } else if let Some((a, b)) = inner.split_once(':') {
        Seg::Slice(num(a)?, num(b)?)
    } else if inner.starts_with('?') || inner.starts_with('(') {
        return Err(jp_err(p, "filters and script expressions are not supported"));
    } else {
        let mut idx = Vec::new();
        for part in inner.split(',') {
            idx.push(num(part)?.ok_or_else(|| jp_err(p, "empty index"))?);
        }
        Seg::Indexes(idx)
    };
    Ok((seg, close + 1))
}

fn apply<'a>(seg: &Seg, node: &'a Json, out: &mut Vec<Json>, refs: &mut Vec<&'a Json>) {
    match (seg, node) {
        (Seg::Names(names), Json::Obj(entries)) => {
            for n in names {
                if let Some((_, v)) = entries.iter().find(|(k, _)| k == n) {
                    refs.push(v);
                }
            }
        }
        (Seg::Wild, Json::Obj(entries)) => refs.extend(entries.iter().map(|(_, v)| v)),
        (Seg::Wild, Json::Arr(items)) => refs.extend(items.iter()),
        (Seg::Indexes(idx), Json::Arr(items)) => {
            let len = items.len() as i64;
            for &i in idx {
                let i = if i < 0 { len + i } else { i };
                if let Some(v) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
                    refs.push(v);
                }
            }
        }
        (Seg::Slice(a, b), Json::Arr(items)) => {
            let len = items.len() as i64;
            let norm = |x: i64| if x < 0 { (len + x).max(0) } else { x.min(len) };
            let (from, to) = (norm(a.unwrap_or(0)), norm(b.unwrap_or(len)));
            if from < to {
                refs.extend(items[from as usize..to as usize].iter());
            }
        }
        (Seg::Length, Json::Arr(items)) => out.push(Json::Int(items.len() as i64)),
        (Seg::Length, Json::Obj(entries)) => out.push(Json::Int(entries.len() as i64)),
        (Seg::Length, Json::Str(s)) => out.push(Json::Int(s.chars().count() as i64)),
        (Seg::Deep(inner), node) => {
            let mut stack = vec![node];
            while let Some(n) = stack.pop() {
                apply(inner, n, out, refs);
                match n {
                    Json::Obj(entries) => stack.extend(entries.iter().rev().map(|(_, v)| v)),
                    Json::Arr(items) => stack.extend(items.iter().rev()),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Evaluates a Jayway-style JSONPath against a document.
///
/// Supported: `$`, `.name`, `['name']` / `["name"]` (also `['a','b']`), `[n]` (negative counts
/// from the end), `[n,m]`, `[a:b]` slices, `.*` / `[*]`, deep scan `..name` / `..*` / `..[n]`,
/// and a trailing `.length()`. A path not starting with `$` gets `$.` prepended. Filters
/// (`[?(...)]`) are an error. A definite path gives its single value or `None`; a path with a
/// wildcard, deep scan, slice or several names/indexes gives a list of every match.
fn select(root: &Json, path: &str) -> Result<Option<Value>, Error> {
    let segs = parse_path(path)?;
    let definite = segs.iter().all(|s| match s {
        Seg::Names(n) => n.len() == 1,
        Seg::Indexes(i) => i.len() == 1,
        Seg::Length => true,
        _ => false,
    });
    let mut current: Vec<&Json> = vec![root];
    let mut produced: Vec<Json> = Vec::new();
    for seg in &segs {
        let mut next = Vec::new();
        produced.clear();
        for node in &current {
            apply(seg, node, &mut produced, &mut next);
        }
        current = next;
    }
    let mut values: Vec<Value> = current.iter().map(|j| j.to_value()).collect();
    values.extend(produced.iter().map(Json::to_value));
    if definite { Ok(values.into_iter().next()) } else { Ok(Some(Value::list(values))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonpath_subset() {
        let doc =
            parse_tree(r#"{"a":{"b":[1,2,{"c":3}]},"x y":true,"pets":[{"t":"dog"},{"t":"cat"}]}"#).expect("valid json");
        let s = |p: &str| select(&doc, p).expect("path ok").map(|v| to_json_string(&v));
        assert_eq!(s("$.a.b[0]").as_deref(), Some("1"));
        assert_eq!(s("$.a.b[-1].c").as_deref(), Some("3"));
        assert_eq!(s("$['x y']").as_deref(), Some("true"));
        assert_eq!(s("$.pets[*].t").as_deref(), Some(r#"["dog","cat"]"#));
        assert_eq!(s("$..t").as_deref(), Some(r#"["dog","cat"]"#));
        assert_eq!(s("$..c").as_deref(), Some("[3]"));
        assert_eq!(s("$.a.b.length()").as_deref(), Some("3"));
        assert_eq!(s("$.a.b[0:2]").as_deref(), Some("[1,2]"));
        assert_eq!(s("a.b[1]").as_deref(), Some("2"));
        assert_eq!(s("$.missing"), None);
        assert_eq!(s("$.pets[*].missing").as_deref(), Some("[]"));
        assert!(select(&doc, "$.pets[?(@.t == 'dog')]").is_err());
    }
}
