//! A small JSON reader and writer over [`Value`] that keeps object keys in document order
//! (`serde_json` without `preserve_order` sorts them, which would reorder template output).

use crate::{Error, Value};

const MAX_JSON_DEPTH: usize = 128;

/// Parses JSON text into a [`Value`], keeping object key order. Integers that fit `i64` become
/// `Value::Int`, other numbers `Value::Float`.
pub fn parse_json(text: &str) -> Result<Value, Error> {
    parse_tree(text).map(|t| t.to_value())
}

/// A parsed JSON document that, unlike [`Value`], is `Send + Sync` (host objects keep these).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// Converts to a fresh (unshared) template value.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::Int(*i),
            Json::Float(f) => Value::Float(*f),
            Json::Str(s) => Value::String(s.clone()),
            Json::Arr(items) => Value::list(items.iter().map(Json::to_value).collect()),
            Json::Obj(entries) => Value::map(entries.iter().map(|(k, v)| (k.clone(), v.to_value()))),
        }
    }
}

/// Parses JSON text into a [`Json`] tree (duplicate keys: the last one wins).
pub(crate) fn parse_tree(text: &str) -> Result<Json, Error> {
    let mut p = JsonParser { s: text.as_bytes(), pos: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos != p.s.len() {
        return Err(p.err("trailing characters after JSON value"));
    }
    Ok(v)
}

fn obj(entries: Vec<(String, Json)>) -> Json {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::with_capacity(entries.len());
    let mut out: Vec<(String, Json)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        match seen.get(&k) {
            Some(&i) => {
                if let Some(slot) = out.get_mut(i) {
                    slot.1 = v;
                }
            }
            None => {
                seen.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    Json::Obj(out)
}

struct JsonParser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl JsonParser<'_> {
    fn err(&self, msg: &str) -> Error {
        Error::render(format!("invalid JSON at byte {}: {msg}", self.pos))
    }
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }
    fn value(&mut self, depth: usize) -> Result<Json, Error> {
        if depth > MAX_JSON_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(obj(entries));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected object key"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(self.err("expected ':'"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    entries.push((key, v));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(obj(entries));
                        }
                        _ => return Err(self.err("expected ',' or '}'")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(self.err("expected ',' or ']'")),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') if self.eat("true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Json::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("unexpected character")),
        }
    }
    fn number(&mut self) -> Result<Json, Error> {
        let start = self.pos;
        let mut is_float = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => is_float = true,
                _ => break,
            }
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).map_err(|_| self.err("bad number"))?;
        if !is_float && let Ok(i) = text.parse::<i64>() {
            return Ok(Json::Int(i));
        }
        match text.parse::<f64>() {
            Ok(f) if text != "-" => Ok(Json::Float(f)),
            _ => Err(self.err("bad number")),
        }
    }
    fn hex4(&mut self) -> Result<u32, Error> {
        let digits = self.s.get(self.pos..self.pos + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| self.err("bad \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }
    fn string(&mut self) -> Result<String, Error> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or_else(|| self.err("unterminated escape"))?;
                    self.pos += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            if (0xD800..0xDC00).contains(&hi) && self.eat("\\u") {
                                let lo = self.hex4()?;
                                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff);
                                char::from_u32(code).unwrap_or('\u{fffd}')
                            } else {
                                char::from_u32(hi).unwrap_or('\u{fffd}')
                            }
                        }
                        _ => return Err(self.err("bad escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(self.err("control character in string")),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"))
    }
}

/// Serializes a [`Value`] as compact JSON, keeping map order. Host objects and non-finite floats
/// are written as `null`; floats use Java's formatting (`25.0`).
pub fn to_json_string(value: &Value) -> String {
    let mut out = String::new();
    write_json(value, &mut out, 0);
    out
}

fn write_json(value: &Value, out: &mut String, depth: usize) {
    if out.len() > crate::MAX_OUTPUT {
        return;
    }
    if depth > MAX_JSON_DEPTH {
        out.push_str("null");
        return;
    }
    match value {
        Value::Null | Value::Object(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_finite() => out.push_str(&crate::value::java_double(*f)),
        Value::Float(_) => out.push_str("null"),
        Value::String(s) => write_json_string(s, out),
        Value::List(list) => {
            out.push('[');
            if let Ok(items) = list.try_borrow() {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json(item, out, depth + 1);
                }
            }
            out.push(']');
        }
        Value::Map(map) => {
            out.push('{');
            if let Ok(map) = map.try_borrow() {
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_json_string(k, out);
                    out.push(':');
                    write_json(v, out, depth + 1);
                }
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}
