//! S3 Select's values: what a record's fields and expressions evaluate to. JSON structures keep
//! their members in document order (SELECT * writes them back as they were read).

use std::fmt::Write as _;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub enum V {
    /// A path that names nothing (PartiQL's MISSING).
    Missing,
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A timestamp: milliseconds since the epoch.
    Time(i64),
    List(Vec<V>),
    Struct(Vec<(String, V)>),
}

impl V {
    pub fn is_absent(&self) -> bool {
        matches!(self, V::Missing | V::Null)
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            V::Missing => "MISSING",
            V::Null => "NULL",
            V::Bool(_) => "BOOL",
            V::Int(_) => "INT",
            V::Float(_) => "FLOAT",
            V::Str(_) => "STRING",
            V::Time(_) => "TIMESTAMP",
            V::List(_) => "LIST",
            V::Struct(_) => "STRUCT",
        }
    }

    /// The number a value is, or a string holding one reads as (CSV fields are strings).
    pub fn number(&self) -> Option<Num> {
        match self {
            V::Int(n) => Some(Num::Int(*n)),
            V::Float(f) => Some(Num::Float(*f)),
            V::Str(s) => parse_number(s.trim()),
            _ => None,
        }
    }

    /// The text of a scalar as CSV output writes it (nested values as JSON).
    pub fn write_text(&self, out: &mut String) {
        match self {
            V::Missing | V::Null => {}
            V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            V::Int(n) => {
                let _ = write!(out, "{n}");
            }
            V::Float(f) => write_float(*f, out),
            V::Str(s) => out.push_str(s),
            V::Time(ms) => out.push_str(&super::eval::format_timestamp(*ms)),
            V::List(_) | V::Struct(_) => self.write_json(out),
        }
    }

    pub fn write_json(&self, out: &mut String) {
        match self {
            V::Missing | V::Null => out.push_str("null"),
            V::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            V::Int(n) => {
                let _ = write!(out, "{n}");
            }
            V::Float(f) if f.is_finite() => write_float(*f, out),
            V::Float(_) => out.push_str("null"),
            V::Str(s) => write_json_string(s, out),
            V::Time(ms) => write_json_string(&super::eval::format_timestamp(*ms), out),
            V::List(items) => {
                out.push('[');
                for (n, v) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            V::Struct(members) => write_json_object(members, out),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(n) => n as f64,
            Num::Float(f) => f,
        }
    }

    pub fn into_value(self) -> V {
        match self {
            Num::Int(n) => V::Int(n),
            Num::Float(f) => V::Float(f),
        }
    }
}

pub fn parse_number(s: &str) -> Option<Num> {
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return Some(Num::Int(n));
    }
    // Rust also reads "inf" and "NaN": numbers in data are digits.
    if !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')) {
        return None;
    }
    s.parse::<f64>().ok().map(Num::Float)
}

fn write_float(f: f64, out: &mut String) {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        let _ = write!(out, "{f:.1}");
    } else {
        let _ = write!(out, "{f}");
    }
}

/// A JSON object of `members` in their order; MISSING members are left out.
pub fn write_json_object(members: &[(String, V)], out: &mut String) {
    out.push('{');
    let mut first = true;
    for (k, v) in members {
        if matches!(v, V::Missing) {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_json_string(k, out);
        out.push(':');
        v.write_json(out);
    }
    out.push('}');
}

pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl<'de> Deserialize<'de> for V {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<V, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = V;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<V, E> {
        Ok(V::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<V, E> {
        Ok(V::Int(n))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<V, E> {
        Ok(i64::try_from(n).map_or(V::Float(n as f64), V::Int))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<V, E> {
        Ok(V::Float(f))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<V, E> {
        Ok(V::Str(s.to_string()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<V, E> {
        Ok(V::Str(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<V, E> {
        Ok(V::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<V, E> {
        Ok(V::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(V::List(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V, A::Error> {
        let mut members = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, V>()? {
            members.push((k, v));
        }
        Ok(V::Struct(members))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_member_order() {
        let v: V = serde_json::from_str(r#"{"z": 1, "a": [true, null, 2.5], "m": {"k": "v\n"}}"#).unwrap();
        let mut out = String::new();
        v.write_json(&mut out);
        assert_eq!(out, r#"{"z":1,"a":[true,null,2.5],"m":{"k":"v\n"}}"#);
    }

    #[test]
    fn numbers_in_strings() {
        assert_eq!(V::Str(" 42 ".into()).number(), Some(Num::Int(42)));
        assert_eq!(V::Str("1.5e1".into()).number(), Some(Num::Float(15.0)));
        assert_eq!(V::Str("inf".into()).number(), None);
        assert_eq!(V::Str("".into()).number(), None);
    }
}
