//! Template values: the dynamic types a template manipulates, Java-style rendering, comparison and
//! conversions from and to `serde_json::Value`.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use crate::Error;

/// A shared, mutable list (Java `ArrayList` semantics: copies of a `Value` alias the same list).
pub type List = Rc<RefCell<Vec<Value>>>;
/// A shared, mutable insertion-ordered map (Java `LinkedHashMap` semantics).
pub type Map = Rc<RefCell<OrderedMap>>;

/// Nesting depth past which rendering, comparing and converting nested values stops descending
/// (protects against self-containing lists and maps).
const NEST_LIMIT: usize = 200;

/// A host object exposed to templates (like `$input` or `$util`).
pub trait Object: Send + Sync {
    /// Property access `$obj.name`; `None` when the property does not exist.
    fn get(&self, name: &str) -> Option<Value>;
    /// Method call `$obj.name(args)`; `Ok(None)` when there is no such method.
    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, Error>;
    /// Text rendered for `$obj` itself; `None` renders the reference literally.
    fn render(&self) -> Option<String> {
        None
    }
}

/// A template value.
#[derive(Clone, Default)]
pub enum Value {
    /// Java `null`; also the result of unresolved references.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (Java `Integer`/`Long`).
    Int(i64),
    /// A floating point number (Java `Double`).
    Float(f64),
    /// A string.
    String(String),
    /// A list.
    List(List),
    /// An insertion-ordered map with string keys.
    Map(Map),
    /// A host object.
    Object(Arc<dyn Object>),
}

/// An insertion-ordered string-keyed map (small and linear, which suits templates).
#[derive(Clone, Default, Debug)]
pub struct OrderedMap {
    entries: Vec<(String, Value)>,
}

impl OrderedMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }
    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Inserts or replaces (keeping the original position); returns the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) -> Option<Value> {
        let key = key.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(std::mem::replace(v, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }
    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let idx = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(idx).1)
    }
    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
    /// Removes every entry.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl FromIterator<(String, Value)> for OrderedMap {
    fn from_iter<T: IntoIterator<Item = (String, Value)>>(iter: T) -> Self {
        let mut map = OrderedMap::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl Value {
    /// A new list value.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    /// A new map value from entries (later duplicates replace earlier ones).
    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(Rc::new(RefCell::new(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())))
    }

    /// Velocity 1.7 truthiness: `null` and `false` are false, everything else is true.
    pub fn is_truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Bool(false))
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The text Java's `toString()` gives (null renders as `null` here; the renderer handles
    /// top-level nulls itself).
    pub fn to_java_string(&self) -> String {
        let mut out = String::new();
        self.write_java(&mut out, 0);
        out
    }

    fn write_java(&self, out: &mut String, depth: usize) {
        if out.len() > crate::MAX_OUTPUT {
            return;
        }
        if depth > NEST_LIMIT {
            out.push_str("...");
            return;
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::String(s) => out.push_str(s),
            Value::List(list) => {
                out.push('[');
                if let Ok(items) = list.try_borrow() {
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        item.write_java(out, depth + 1);
                    }
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push('{');
                if let Ok(map) = map.try_borrow() {
                    for (i, (k, v)) in map.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(k);
                        out.push('=');
                        v.write_java(out, depth + 1);
                    }
                }
                out.push('}');
            }
            Value::Object(obj) => out.push_str(&obj.render().unwrap_or_default()),
        }
    }

    /// Java-style `equals`: numbers compare numerically, lists and maps structurally.
    pub fn java_equals(&self, other: &Value) -> bool {
        self.eq_depth(other, 0)
    }

    fn eq_depth(&self, other: &Value, depth: usize) -> bool {
        if depth > NEST_LIMIT {
            return false;
        }
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => self.as_f64() == other.as_f64(),
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(a), Value::List(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                match (a.try_borrow(), b.try_borrow()) {
                    (Ok(a), Ok(b)) => {
                        a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.eq_depth(y, depth + 1))
                    }
                    _ => false,
                }
            }
            (Value::Map(a), Value::Map(b)) => {
                if Rc::ptr_eq(a, b) {
                    return true;
                }
                match (a.try_borrow(), b.try_borrow()) {
                    (Ok(a), Ok(b)) => {
                        a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| v.eq_depth(w, depth + 1)))
                    }
                    _ => false,
                }
            }
            (Value::Object(a), Value::Object(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Converts to `serde_json::Value` (host objects become `null`; non-finite floats `null`).
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_depth(0)
    }

    fn to_json_depth(&self, depth: usize) -> serde_json::Value {
        use serde_json::Value as J;
        if depth > NEST_LIMIT {
            return J::Null;
        }
        match self {
            Value::Null | Value::Object(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::String(s) => J::String(s.clone()),
            Value::List(l) => match l.try_borrow() {
                Ok(items) => J::Array(items.iter().map(|v| v.to_json_depth(depth + 1)).collect()),
                Err(_) => J::Null,
            },
            Value::Map(m) => match m.try_borrow() {
                Ok(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json_depth(depth + 1))).collect()),
                Err(_) => J::Null,
            },
        }
    }

    /// A structural copy: lists and maps are copied (not aliased), recursively.
    pub fn deep_clone(&self) -> Value {
        self.deep_clone_depth(0)
    }

    fn deep_clone_depth(&self, depth: usize) -> Value {
        if depth > NEST_LIMIT {
            return Value::Null;
        }
        match self {
            Value::List(l) => match l.try_borrow() {
                Ok(items) => Value::list(items.iter().map(|v| v.deep_clone_depth(depth + 1)).collect()),
                Err(_) => Value::Null,
            },
            Value::Map(m) => match m.try_borrow() {
                Ok(map) => Value::map(map.iter().map(|(k, v)| (k.clone(), v.deep_clone_depth(depth + 1)))),
                Err(_) => Value::Null,
            },
            other => other.clone(),
        }
    }
}

/// Formats a double the way Java's `Double.toString` does for the usual cases.
pub(crate) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let abs = f.abs();
    if abs == 0.0 || (1e-3..1e7).contains(&abs) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
        format!("{mantissa}E{exp}")
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::List(_) => write!(f, "List({})", self.to_java_string()),
            Value::Map(_) => write!(f, "Map({})", self.to_java_string()),
            Value::Object(_) => write!(f, "Object"),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.java_equals(other)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_java_string())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::list(items)
    }
}

impl From<&serde_json::Value> for Value {
    fn from(json: &serde_json::Value) -> Self {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::String(s.clone()),
            J::Array(items) => Value::list(items.iter().map(Value::from).collect()),
            J::Object(map) => Value::map(map.iter().map(|(k, v)| (k.clone(), Value::from(v)))),
        }
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Self {
        Value::from(&json)
    }
}
