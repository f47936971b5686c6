//! JSON Schema draft 4 validation of request bodies, as API Gateway does it for a REST API's Models.
//!
//! A method's request validator checks the body against the model's schema; on failure API Gateway answers
//! 400 `{"message": "Invalid request body"}` and puts the messages, joined as `[m1, m2]`, into
//! `$context.error.validationErrorString`. The messages follow the templates of the java-json-tools validator that
//! API Gateway uses, and the reporting order is modelled on it: keywords of one schema in alphabetical order, and the
//! members or elements of a container are only visited while no error has been reported yet.
//!
//! Deliberate choices: `integer` accepts `1.0` (strict draft 4 would not); a validation is bounded (nesting depth
//! 200, 10 million schema applications) and pure `$ref` loops are rejected when compiling, so no schema can hang or
//! overflow the stack.
//!
//! `$ref` may point into the same document (`#/definitions/x`) or to another model of the API
//! (`https://apigateway.amazonaws.com/restapis/{api}/models/{name}`). `pattern` uses a small ECMA-262 subset matcher
//! (see [`Regex`]); `format` is ignored, as draft 4 allows.
#![warn(clippy::unwrap_used)]

use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::Rc;

/// Nesting of schema applications during one validation (refs, combinators, instance depth).
const MAX_DEPTH: usize = 200;
/// Schema applications in one validation.
const MAX_STEPS: usize = 10_000_000;
/// Nesting of schemas and `$ref` chains while compiling.
const MAX_COMPILE_DEPTH: usize = 200;
const MODEL_REF_PREFIX: &str = "https://apigateway.amazonaws.com/restapis/";

/// A compiled draft-4 schema.
pub struct Schema {
    nodes: Vec<Node>,
    root: usize,
}

#[derive(Default)]
struct Node {
    reference: Option<usize>,
    types: Option<Vec<&'static str>>,
    enumeration: Option<Vec<String>>,
    enum_text: String,
    multiple_of: Option<Number>,
    maximum: Option<(Number, bool)>,
    minimum: Option<(Number, bool)>,
    max_length: Option<u64>,
    min_length: Option<u64>,
    pattern: Option<(String, Regex)>,
    items: Items,
    additional_items: Extra,
    max_items: Option<u64>,
    min_items: Option<u64>,
    unique_items: bool,
    max_properties: Option<u64>,
    min_properties: Option<u64>,
    required: Vec<String>,
    properties: HashMap<String, usize>,
    pattern_properties: Vec<(Regex, usize)>,
    additional_properties: Extra,
    dependencies: Vec<(String, Dependency)>,
    all_of: Vec<usize>,
    any_of: Vec<usize>,
    one_of: Vec<usize>,
    not: Option<usize>,
}

#[derive(Default)]
enum Items {
    #[default]
    Absent,
    One(usize),
    Each(Vec<usize>),
}

#[derive(Default)]
enum Extra {
    #[default]
    Allowed,
    Forbidden,
    Schema(usize),
}

struct Matched {
    all: usize,
    any: bool,
    one: usize,
    not: bool,
}

enum Dependency {
    Properties(Vec<String>),
    Schema(usize),
}

impl Schema {
    /// Compiles a draft-4 schema document. `models` is called with a model's name to resolve `$ref`s of the form
    /// `https://apigateway.amazonaws.com/restapis/{api}/models/{name}` (optionally followed by `#/pointer`); local
    /// refs `#/definitions/x`, `#/properties/a` resolve inside the document that contains them. Returns `Err` with a
    /// message for an invalid schema, an unresolvable `$ref`, a `$ref` loop or an unsupported `pattern`.
    pub fn compile(doc: &Value, models: &dyn Fn(&str) -> Option<Value>) -> Result<Schema, String> {
        let mut c = Compiler {
            models,
            docs: vec![Rc::new(doc.clone())],
            model_docs: HashMap::new(),
            nodes: Vec::new(),
            seen: HashMap::new(),
        };
        let root = c.compile(0, "", 0)?;
        for start in 0..c.nodes.len() {
            let mut at = start;
            for _ in 0..=c.nodes.len() {
                match c.nodes[at].reference {
                    Some(next) if next == start => return Err("$ref loop: a $ref resolves to itself".to_string()),
                    Some(next) => at = next,
                    None => break,
                }
            }
        }
        Ok(Schema { nodes: c.nodes, root })
    }

    /// Validates `instance`; returns the error messages (empty = valid) in API Gateway's wording, each without the
    /// surrounding brackets.
    pub fn validate(&self, instance: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let run = Run { nodes: &self.nodes, steps: Cell::new(0) };
        run.check(self.root, instance, &mut errors, 0);
        if run.steps.get() > MAX_STEPS {
            return vec![format!(
                "validation exceeds {MAX_STEPS} schema applications: schema too complex for this instance"
            )];
        }
        errors
    }
}

/// One validation: bounds the work, since combinators over recursive schemas can branch at every level.
struct Run<'a> {
    nodes: &'a [Node],
    steps: Cell<usize>,
}

impl Run<'_> {
    fn passes(&self, id: usize, v: &Value, depth: usize) -> bool {
        let mut errors = Vec::new();
        self.check(id, v, &mut errors, depth + 1);
        errors.is_empty()
    }

    fn check(&self, id: usize, v: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > MAX_DEPTH {
            out.push(format!("schema nesting exceeds the maximum depth ({MAX_DEPTH}): $ref loop or instance too deep"));
            return;
        }
        self.steps.set(self.steps.get() + 1);
        if self.steps.get() > MAX_STEPS {
            out.push(format!(
                "validation exceeds {MAX_STEPS} schema applications: schema too complex for this instance"
            ));
            return;
        }
        let n = &self.nodes[id];
        if let Some(target) = n.reference {
            return self.check(target, v, out, depth); // pure $ref loops are rejected by `compile`
        }
        // Subschemas are applied here, so that the frames of the recursion stay small.
        let count = |list: &[usize]| list.iter().filter(|s| self.passes(**s, v, depth)).count();
        let any = n.any_of.iter().any(|s| self.passes(*s, v, depth));
        let matched = Matched {
            all: count(&n.all_of),
            any,
            one: count(&n.one_of),
            not: n.not.is_some_and(|s| self.passes(s, v, depth)),
        };
        let from_dependencies: Vec<Vec<String>> = (n.dependencies.iter())
            .map(|(name, dep)| match (dep, v) {
                (Dependency::Schema(s), Value::Object(o)) if o.contains_key(name) => {
                    let mut errors = Vec::new();
                    self.check(*s, v, &mut errors, depth + 1);
                    errors
                }
                _ => Vec::new(),
            })
            .collect();
        self.assertions(n, v, &matched, from_dependencies, out);
        // Like java-json-tools, members are only visited while the report is still clean.
        if !out.is_empty() {
            return;
        }
        self.members(n, v, out, depth);
    }

    /// The messages of this schema's own keywords, in alphabetical order of keywords as java-json-tools reports them.
    #[inline(never)]
    fn assertions(&self, n: &Node, v: &Value, matched: &Matched, deps: Vec<Vec<String>>, out: &mut Vec<String>) {
        let size = |x: usize| x as u64;
        if let (Value::Array(a), Items::Each(list), Extra::Forbidden) = (v, &n.items, &n.additional_items)
            && a.len() > list.len()
        {
            let (allowed, found) = (list.len(), a.len());
            out.push(format!("schema only allows {allowed} elements in array but instance has {found} elements"));
        }
        if let (Value::Object(o), Extra::Forbidden) = (v, &n.additional_properties) {
            let is_declared =
                |k: &String| n.properties.contains_key(k) || n.pattern_properties.iter().any(|(r, _)| r.is_match(k));
            let mut unwanted: Vec<&String> = o.keys().filter(|k| !is_declared(k)).collect();
            unwanted.sort();
            if !unwanted.is_empty() {
                out.push(format!(
                    "object instance has properties which are not allowed by the schema: {}",
                    json(&unwanted)
                ));
            }
        }
        if matched.all < n.all_of.len() {
            let (m, total) = (matched.all, n.all_of.len());
            out.push(format!("instance failed to match all required schemas (matched only {m} out of {total})"));
        }
        if !n.any_of.is_empty() && !matched.any {
            out.push(format!("instance failed to match at least one required schema among {}", n.any_of.len()));
        }
        for ((name, dep), errors) in n.dependencies.iter().zip(deps) {
            if let (Dependency::Properties(needed), Value::Object(o)) = (dep, v)
                && o.contains_key(name)
                && let lacking = missing(o, needed)
                && !lacking.is_empty()
            {
                let (needed, lacking) = (json(needed), json(&lacking));
                out.push(format!(
                    "property \"{name}\" of object has missing property dependencies (schema requires {needed}; missing: {lacking})"
                ));
            }
            out.extend(errors);
        }
        if let Some(values) = &n.enumeration
            && !values.contains(&canonical(v))
        {
            out.push(format!("instance value ({v}) not found in enum (possible values: {})", n.enum_text));
        }
        match v {
            Value::Array(a) => {
                let found = a.len();
                if let Some(max) = n.max_items.filter(|m| size(found) > *m) {
                    out.push(format!(
                        "array is too long: must have at most {max} elements but instance has {found} elements"
                    ));
                }
                if let Some(min) = n.min_items.filter(|m| size(found) < *m) {
                    out.push(format!(
                        "array is too short: must have at least {min} elements but instance has {found} elements"
                    ));
                }
            }
            Value::Object(o) => {
                let found = o.len();
                if let Some(max) = n.max_properties.filter(|m| size(found) > *m) {
                    out.push(format!(
                        "object has too many properties (found {found} but schema requires at most {max})"
                    ));
                }
                if let Some(min) = n.min_properties.filter(|m| size(found) < *m) {
                    out.push(format!(
                        "object has too few properties (found {found} but schema requires at least {min})"
                    ));
                }
            }
            Value::String(s) => {
                let chars = size(s.chars().count());
                if let Some(max) = n.max_length.filter(|m| chars > *m) {
                    out.push(format!("string \"{s}\" is too long (length: {chars}, maximum allowed: {max})"));
                }
                if let Some(min) = n.min_length.filter(|m| chars < *m) {
                    out.push(format!("string \"{s}\" is too short (length: {chars}, required minimum: {min})"));
                }
            }
            Value::Number(x) => {
                match n.maximum.as_ref().map(|(max, exclusive)| (max, exclusive, compare(x, max))) {
                    Some((max, _, Ordering::Greater)) => out.push(format!(
                        "numeric instance is greater than the required maximum (maximum: {max}, found: {x})"
                    )),
                    Some((max, true, Ordering::Equal)) => {
                        out.push(format!("numeric instance is not strictly lower than the required maximum {max}"))
                    }
                    _ => {}
                }
                match n.minimum.as_ref().map(|(min, exclusive)| (min, exclusive, compare(x, min))) {
                    Some((min, _, Ordering::Less)) => out.push(format!(
                        "numeric instance is lower than the required minimum (minimum: {min}, found: {x})"
                    )),
                    Some((min, true, Ordering::Equal)) => {
                        out.push(format!("numeric instance is not strictly greater than the required minimum {min}"))
                    }
                    _ => {}
                }
                if let Some(d) = n.multiple_of.as_ref().filter(|d| !is_multiple(x, d)) {
                    out.push(format!("remainder of division is not zero ({x} / {d})"));
                }
            }
            _ => {}
        }
        if matched.not {
            out.push("instance matched a schema which it should not have".to_string());
        }
        if !n.one_of.is_empty() && matched.one != 1 {
            let (m, total) = (matched.one, n.one_of.len());
            out.push(format!("instance failed to match exactly one schema (matched {m} out of {total})"));
        }
        if let (Value::String(s), Some((source, re))) = (v, &n.pattern)
            && !re.is_match(s)
        {
            out.push(format!("ECMA 262 regex \"{source}\" does not match input string \"{s}\""));
        }
        if let Value::Object(o) = v
            && let lacking = missing(o, &n.required)
            && !lacking.is_empty()
        {
            out.push(format!("object has missing required properties ({})", json(&lacking)));
        }
        if let Some(types) = n.types.as_ref().filter(|t| !t.iter().any(|t| type_matches(t, v))) {
            let mut allowed = types.clone();
            if allowed.contains(&"number") {
                allowed.push("integer");
            }
            allowed.sort_unstable();
            allowed.dedup();
            let (found, allowed) = (type_name(v), json(&allowed));
            out.push(format!("instance type ({found}) does not match any allowed primitive type (allowed: {allowed})"));
        }
        if let (Value::Array(a), true) = (v, n.unique_items) {
            let mut seen = HashSet::new();
            if !a.iter().all(|item| seen.insert(canonical(item))) {
                out.push("array must not contain duplicate elements".to_string());
            }
        }
    }

    fn members(&self, n: &Node, v: &Value, out: &mut Vec<String>, depth: usize) {
        match v {
            Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    let schema = match (&n.items, &n.additional_items) {
                        (Items::One(s), _) => Some(*s),
                        (Items::Each(list), Extra::Schema(extra)) => Some(list.get(i).copied().unwrap_or(*extra)),
                        (Items::Each(list), _) => list.get(i).copied(),
                        (Items::Absent, _) => None,
                    };
                    if let Some(s) = schema {
                        self.check(s, item, out, depth + 1);
                    }
                }
            }
            Value::Object(o) => {
                for (key, member) in o {
                    let mut matched = false;
                    if let Some(s) = n.properties.get(key) {
                        matched = true;
                        self.check(*s, member, out, depth + 1);
                    }
                    for (re, s) in &n.pattern_properties {
                        if re.is_match(key) {
                            matched = true;
                            self.check(*s, member, out, depth + 1);
                        }
                    }
                    if let (false, Extra::Schema(s)) = (matched, &n.additional_properties) {
                        self.check(*s, member, out, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
}

/// The names absent from `o`, sorted and deduplicated.
fn missing<'a>(o: &Map<String, Value>, names: &'a [String]) -> Vec<&'a String> {
    let mut missing: Vec<&String> = names.iter().filter(|p| !o.contains_key(*p)).collect();
    missing.sort();
    missing.dedup();
    missing
}

/// A JSON array of strings, compact, as java-json-tools prints lists.
fn json<S: AsRef<str>>(items: &[S]) -> String {
    Value::Array(items.iter().map(|s| Value::String(s.as_ref().to_string())).collect()).to_string()
}

fn is_integral(n: &Number) -> bool {
    n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if is_integral(n) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match (t, v) {
        ("number", Value::Number(_)) => true,
        _ => type_name(v) == t,
    }
}

fn compare(a: &Number, b: &Number) -> Ordering {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x.cmp(&y),
        (_, _, Some(x), Some(y)) => x.cmp(&y),
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            x.partial_cmp(&y).unwrap_or(Ordering::Equal)
        }
    }
}

fn is_multiple(x: &Number, d: &Number) -> bool {
    if let (Some(a), Some(b)) = (x.as_i64(), d.as_i64()) {
        return b == 0 || a % b == 0;
    }
    let (a, b) = (x.as_f64().unwrap_or(0.0), d.as_f64().unwrap_or(1.0));
    let q = a / b;
    !q.is_finite() || (q - q.round()).abs() <= 1e-9 * q.abs().max(1.0)
}

/// A text form under which JSON-equal values (`1` and `1.0`, objects in any key order) are equal.
fn canonical(v: &Value) -> String {
    fn put(v: &Value, out: &mut String) {
        match v {
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => _ = write!(out, "{i}"),
                (_, Some(u), _) => _ = write!(out, "{u}"),
                (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => _ = write!(out, "{}", f as i64),
                _ => _ = write!(out, "{n}"),
            },
            Value::Array(a) => {
                out.push('[');
                for item in a {
                    put(item, out);
                    out.push(',');
                }
                out.push(']');
            }
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    _ = write!(out, "{}", Value::String(k.clone()));
                    out.push(':');
                    put(&o[k], out);
                    out.push(',');
                }
                out.push('}');
            }
            other => _ = write!(out, "{other}"),
        }
    }
    let mut out = String::new();
    put(v, &mut out);
    out
}

struct Compiler<'a> {
    models: &'a dyn Fn(&str) -> Option<Value>,
    docs: Vec<Rc<Value>>,
    model_docs: HashMap<String, usize>,
    nodes: Vec<Node>,
    seen: HashMap<(usize, String), usize>,
}

fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

impl Compiler<'_> {
    fn compile(&mut self, doc: usize, ptr: &str, depth: usize) -> Result<usize, String> {
        if let Some(id) = self.seen.get(&(doc, ptr.to_string())) {
            return Ok(*id);
        }
        if depth > MAX_COMPILE_DEPTH {
            return Err(format!("invalid schema at \"{ptr}\": schemas or $refs nested too deeply"));
        }
        let document = Rc::clone(&self.docs[doc]);
        let value = document.pointer(ptr).ok_or_else(|| format!("$ref target \"#{ptr}\" does not exist"))?;
        let obj =
            value.as_object().ok_or_else(|| format!("invalid schema at \"{ptr}\": a schema must be an object"))?;
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.seen.insert((doc, ptr.to_string()), id);
        let node = self.build(doc, ptr, obj, depth)?;
        self.nodes[id] = node;
        Ok(id)
    }

    fn sub(&mut self, doc: usize, ptr: &str, tokens: &[&str], depth: usize) -> Result<usize, String> {
        let mut p = ptr.to_string();
        for t in tokens {
            p.push('/');
            p.push_str(&escape_token(t));
        }
        self.compile(doc, &p, depth + 1)
    }

    fn build(&mut self, doc: usize, ptr: &str, obj: &Map<String, Value>, depth: usize) -> Result<Node, String> {
        let bad = |kw: &str, what: &str| format!("invalid schema at \"{ptr}\": \"{kw}\" must be {what}");
        let mut n = Node::default();
        if let Some(defs) = obj.get("definitions") {
            let defs = defs.as_object().ok_or_else(|| bad("definitions", "an object"))?;
            for k in defs.keys() {
                self.sub(doc, ptr, &["definitions", k], depth)?;
            }
        }
        if let Some(r) = obj.get("$ref") {
            let r = r.as_str().ok_or_else(|| bad("$ref", "a string"))?;
            let (target_doc, target_ptr) = self.resolve(doc, r)?;
            n.reference = Some(self.compile(target_doc, &target_ptr, depth + 1)?);
            return Ok(n);
        }
        let count = |kw: &str| -> Result<Option<u64>, String> {
            let whole =
                |v: &Value| v.as_u64().or(v.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64));
            obj.get(kw).map(|v| whole(v).ok_or_else(|| bad(kw, "a non-negative integer"))).transpose()
        };
        let number = |kw: &str| -> Result<Option<Number>, String> {
            obj.get(kw).map(|v| v.as_number().cloned().ok_or_else(|| bad(kw, "a number"))).transpose()
        };
        let flag = |kw: &str| -> Result<bool, String> {
            obj.get(kw).map_or(Ok(false), |v| v.as_bool().ok_or_else(|| bad(kw, "a boolean")))
        };
        let strings = |kw: &str, v: &Value| -> Result<Vec<String>, String> {
            let list: Option<Vec<String>> =
                v.as_array().and_then(|a| a.iter().map(|s| s.as_str().map(str::to_string)).collect());
            list.ok_or_else(|| bad(kw, "an array of strings"))
        };
        if let Some(t) = obj.get("type") {
            let names: Vec<&Value> = match t {
                Value::Array(a) if !a.is_empty() => a.iter().collect(),
                Value::String(_) => vec![t],
                _ => return Err(bad("type", "a type name or a non-empty array of type names")),
            };
            const TYPES: [&str; 7] = ["array", "boolean", "integer", "null", "number", "object", "string"];
            let known = |name: &Value| TYPES.iter().find(|t| name.as_str() == Some(**t)).copied();
            let types = (names.into_iter())
                .map(|name| known(name).ok_or_else(|| bad("type", &format!("a known primitive type, not {name}"))))
                .collect::<Result<Vec<_>, _>>()?;
            n.types = Some(types);
        }
        if let Some(e) = obj.get("enum") {
            let values = e.as_array().filter(|a| !a.is_empty()).ok_or_else(|| bad("enum", "a non-empty array"))?;
            n.enumeration = Some(values.iter().map(canonical).collect());
            n.enum_text = e.to_string();
        }
        n.multiple_of = number("multipleOf")?;
        if n.multiple_of.as_ref().is_some_and(|d| d.as_f64().is_none_or(|f| f <= 0.0)) {
            return Err(bad("multipleOf", "a number greater than 0"));
        }
        for (kw, exclusive_kw, slot) in
            [("maximum", "exclusiveMaximum", &mut n.maximum), ("minimum", "exclusiveMinimum", &mut n.minimum)]
        {
            let exclusive = flag(exclusive_kw)?;
            *slot = number(kw)?.map(|limit| (limit, exclusive));
            if exclusive && slot.is_none() {
                return Err(format!("invalid schema at \"{ptr}\": \"{exclusive_kw}\" requires \"{kw}\""));
            }
        }
        n.max_length = count("maxLength")?;
        n.min_length = count("minLength")?;
        if let Some(p) = obj.get("pattern") {
            let p = p.as_str().ok_or_else(|| bad("pattern", "a string"))?;
            let re = Regex::new(p).map_err(|e| format!("invalid schema at \"{ptr}\": {e}"))?;
            n.pattern = Some((p.to_string(), re));
        }
        match obj.get("items") {
            None => {}
            Some(Value::Object(_)) => n.items = Items::One(self.sub(doc, ptr, &["items"], depth)?),
            Some(Value::Array(a)) => {
                let mut list = Vec::new();
                for i in 0..a.len() {
                    list.push(self.sub(doc, ptr, &["items", &i.to_string()], depth)?);
                }
                n.items = Items::Each(list);
            }
            Some(_) => return Err(bad("items", "a schema or an array of schemas")),
        }
        n.additional_items = self.extra(doc, ptr, obj, "additionalItems", depth)?;
        n.max_items = count("maxItems")?;
        n.min_items = count("minItems")?;
        n.unique_items = flag("uniqueItems")?;
        n.max_properties = count("maxProperties")?;
        n.min_properties = count("minProperties")?;
        if let Some(r) = obj.get("required") {
            n.required = strings("required", r)?;
        }
        if let Some(props) = obj.get("properties") {
            let props = props.as_object().ok_or_else(|| bad("properties", "an object"))?;
            for k in props.keys() {
                let id = self.sub(doc, ptr, &["properties", k], depth)?;
                n.properties.insert(k.clone(), id);
            }
        }
        if let Some(props) = obj.get("patternProperties") {
            let props = props.as_object().ok_or_else(|| bad("patternProperties", "an object"))?;
            for k in props.keys() {
                let re = Regex::new(k).map_err(|e| format!("invalid schema at \"{ptr}/patternProperties\": {e}"))?;
                n.pattern_properties.push((re, self.sub(doc, ptr, &["patternProperties", k], depth)?));
            }
        }
        n.additional_properties = self.extra(doc, ptr, obj, "additionalProperties", depth)?;
        if let Some(deps) = obj.get("dependencies") {
            let deps = deps.as_object().ok_or_else(|| bad("dependencies", "an object"))?;
            for (k, d) in deps {
                let dep = match d {
                    Value::Object(_) => Dependency::Schema(self.sub(doc, ptr, &["dependencies", k], depth)?),
                    _ => Dependency::Properties(strings("dependencies", d)?),
                };
                n.dependencies.push((k.clone(), dep));
            }
        }
        for (kw, slot) in [("allOf", &mut n.all_of), ("anyOf", &mut n.any_of), ("oneOf", &mut n.one_of)] {
            if let Some(list) = obj.get(kw) {
                let list = list.as_array().filter(|a| !a.is_empty()).ok_or_else(|| bad(kw, "a non-empty array"))?;
                for i in 0..list.len() {
                    slot.push(self.sub(doc, ptr, &[kw, &i.to_string()], depth)?);
                }
            }
        }
        if obj.contains_key("not") {
            n.not = Some(self.sub(doc, ptr, &["not"], depth)?);
        }
        Ok(n)
    }

    fn extra(
        &mut self,
        doc: usize,
        ptr: &str,
        obj: &Map<String, Value>,
        kw: &str,
        depth: usize,
    ) -> Result<Extra, String> {
        Ok(match obj.get(kw) {
            None | Some(Value::Bool(true)) => Extra::Allowed,
            Some(Value::Bool(false)) => Extra::Forbidden,
            Some(Value::Object(_)) => Extra::Schema(self.sub(doc, ptr, &[kw], depth)?),
            Some(_) => return Err(format!("invalid schema at \"{ptr}\": \"{kw}\" must be a boolean or a schema")),
        })
    }

    /// Resolves `$ref` text to (document index, JSON pointer).
    fn resolve(&mut self, doc: usize, r: &str) -> Result<(usize, String), String> {
        let (base, fragment) = r.split_once('#').unwrap_or((r, ""));
        let doc = if base.is_empty() {
            doc
        } else {
            let name = base
                .strip_prefix(MODEL_REF_PREFIX)
                .and_then(|rest| match rest.split('/').collect::<Vec<_>>()[..] {
                    [api, "models", name] if !api.is_empty() && !name.is_empty() => Some(name),
                    _ => None,
                })
                .ok_or_else(|| {
                    format!("unsupported $ref \"{r}\": only local refs and API Gateway model URLs resolve")
                })?;
            match self.model_docs.get(name) {
                Some(d) => *d,
                None => {
                    let model =
                        (self.models)(name).ok_or_else(|| format!("unresolvable $ref \"{r}\": no model \"{name}\""))?;
                    self.docs.push(Rc::new(model));
                    self.model_docs.insert(name.to_string(), self.docs.len() - 1);
                    self.docs.len() - 1
                }
            }
        };
        let ptr = percent_decode(fragment).ok_or_else(|| format!("invalid $ref \"{r}\": bad percent-encoding"))?;
        if !ptr.is_empty() && !ptr.starts_with('/') {
            return Err(format!("unsupported $ref \"{r}\": the fragment must be a JSON pointer"));
        }
        Ok((doc, ptr))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Matcher for the ECMA-262 subset used in schemas: literals, `.`, classes (`[a-z_-]`, `[^...]`), `\d \w \s \D \W
/// \S`, escapes (`\t \n \r \f \v \0 \xHH \uHHHH`, escaped punctuation), quantifiers `* + ? {n} {n,} {n,m}` (a lazy
/// `?` suffix is accepted: it does not change whether a string matches), anchors `^ $`, groups `( )` `(?: )`
/// and `|`. Like ECMA `RegExp.test`, it searches: the pattern may match anywhere unless anchored. Matching runs the
/// compiled program as a set of threads over the input (time linear in input × pattern, no recursion), so no pattern
/// can stall or overflow the stack. Anything else (backreferences, lookaround, `\b`, bare `{`) is an error.
pub struct Regex {
    prog: Vec<Inst>,
}

enum Inst {
    Char(char),
    Any,
    Set(Box<CharSet>),
    Split(usize, usize),
    Jmp(usize),
    Start,
    End,
    Match,
}

#[derive(Clone)]
struct CharSet {
    negated: bool,
    items: Vec<SetItem>,
}

/// A class member; the flag of the shorthand classes is "negated".
#[derive(Clone, Copy)]
enum SetItem {
    Range(char, char),
    Digit(bool),
    Word(bool),
    Space(bool),
}

#[derive(Clone)]
enum Ast {
    Char(char),
    Any,
    Set(CharSet),
    Start,
    End,
    Concat(Vec<Ast>),
    Alt(Vec<Ast>),
    Repeat(Box<Ast>, u32, Option<u32>),
}

enum Escape {
    Char(char),
    Set(SetItem),
}

const MAX_PROGRAM: usize = 20_000;
const MAX_GROUP_DEPTH: usize = 50;

fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

impl CharSet {
    fn contains(&self, c: char) -> bool {
        let hit = self.items.iter().any(|item| match *item {
            SetItem::Range(lo, hi) => lo <= c && c <= hi,
            SetItem::Digit(neg) => c.is_ascii_digit() != neg,
            SetItem::Word(neg) => (c.is_ascii_alphanumeric() || c == '_') != neg,
            SetItem::Space(neg) => is_space(c) != neg,
        });
        hit != self.negated
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn next(&mut self, what: &str) -> Result<char, String> {
        let c = self.peek().ok_or_else(|| format!("unexpected end of pattern in {what}"))?;
        self.pos += 1;
        Ok(c)
    }

    fn alternation(&mut self) -> Result<Ast, String> {
        let mut alts = vec![self.concat()?];
        while self.eat('|') {
            alts.push(self.concat()?);
        }
        Ok(if alts.len() == 1 { alts.swap_remove(0) } else { Ast::Alt(alts) })
    }

    fn concat(&mut self) -> Result<Ast, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek().filter(|c| *c != '|' && *c != ')') {
            self.pos += 1;
            let atom = match c {
                '^' => Ast::Start,
                '$' => Ast::End,
                '.' => Ast::Any,
                '(' => {
                    if self.eat('?') && !self.eat(':') {
                        return Err("unsupported group syntax \"(?\" (only \"(?:\" is supported)".to_string());
                    }
                    self.depth += 1;
                    if self.depth > MAX_GROUP_DEPTH {
                        return Err("groups nested too deeply".to_string());
                    }
                    let inner = self.alternation()?;
                    self.depth -= 1;
                    if !self.eat(')') {
                        return Err("missing \")\"".to_string());
                    }
                    inner
                }
                '[' => Ast::Set(self.class()?),
                '\\' => match self.escape(false)? {
                    Escape::Char(c) => Ast::Char(c),
                    Escape::Set(item) => Ast::Set(CharSet { negated: false, items: vec![item] }),
                },
                '*' | '+' | '?' | '{' => return Err(format!("nothing to repeat before \"{c}\"")),
                c => Ast::Char(c),
            };
            items.push(self.quantifier(atom)?);
        }
        Ok(if items.len() == 1 { items.swap_remove(0) } else { Ast::Concat(items) })
    }

    fn quantifier(&mut self, atom: Ast) -> Result<Ast, String> {
        let (min, max) = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                self.pos += 1;
                let min = self.number()?.ok_or("\"{\" must start a quantifier {n}, {n,} or {n,m}")?;
                let max = if self.eat(',') { self.number()? } else { Some(min) };
                if self.peek() != Some('}') {
                    return Err("unterminated quantifier {n,m}".to_string());
                }
                if max.is_some_and(|m| m < min) {
                    return Err("quantifier {n,m} with n > m".to_string());
                }
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.pos += 1;
        if matches!(atom, Ast::Start | Ast::End) {
            return Err("nothing to repeat (an anchor cannot be quantified)".to_string());
        }
        self.eat('?');
        if matches!(self.peek(), Some('*' | '+' | '?' | '{')) {
            return Err("nothing to repeat (quantifier after quantifier)".to_string());
        }
        Ok(Ast::Repeat(Box::new(atom), min, max))
    }

    fn number(&mut self) -> Result<Option<u32>, String> {
        let start = self.pos;
        let mut value: u32 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            value = value.checked_mul(10).and_then(|v| v.checked_add(d)).ok_or("quantifier bound too large")?;
            self.pos += 1;
        }
        Ok((self.pos > start).then_some(value))
    }

    fn escape(&mut self, in_class: bool) -> Result<Escape, String> {
        let c = self.next("an escape")?;
        let hex = |p: &mut Parser, len: usize| -> Result<Escape, String> {
            let digits: String = p.chars.get(p.pos..p.pos + len).map(|s| s.iter().collect()).unwrap_or_default();
            let code = u32::from_str_radix(&digits, 16).ok().filter(|_| digits.len() == len);
            p.pos += len;
            code.and_then(char::from_u32).map(Escape::Char).ok_or_else(|| format!("invalid \\{c} escape"))
        };
        Ok(match c {
            'd' | 'D' => Escape::Set(SetItem::Digit(c == 'D')),
            'w' | 'W' => Escape::Set(SetItem::Word(c == 'W')),
            's' | 'S' => Escape::Set(SetItem::Space(c == 'S')),
            't' => Escape::Char('\t'),
            'n' => Escape::Char('\n'),
            'r' => Escape::Char('\r'),
            'f' => Escape::Char('\u{c}'),
            'v' => Escape::Char('\u{b}'),
            'b' if in_class => Escape::Char('\u{8}'),
            '0' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => Escape::Char('\0'),
            'x' => return hex(self, 2),
            'u' => return hex(self, 4),
            c if c.is_ascii_alphanumeric() => return Err(format!("unsupported escape \\{c}")),
            c => Escape::Char(c),
        })
    }

    fn class(&mut self) -> Result<CharSet, String> {
        let negated = self.eat('^');
        let mut items = Vec::new();
        loop {
            let c = self.next("a character class")?;
            if c == ']' {
                return Ok(CharSet { negated, items });
            }
            let lo = if c == '\\' { self.escape(true)? } else { Escape::Char(c) };
            let lo = match lo {
                Escape::Set(item) => {
                    items.push(item);
                    continue;
                }
                Escape::Char(lo) => lo,
            };
            if self.peek() != Some('-') || matches!(self.chars.get(self.pos + 1), None | Some(']')) {
                items.push(SetItem::Range(lo, lo));
                continue;
            }
            self.pos += 1;
            let c = self.next("a character class")?;
            match if c == '\\' { self.escape(true)? } else { Escape::Char(c) } {
                Escape::Char(hi) if hi < lo => return Err(format!("range out of order in character class: {lo}-{hi}")),
                Escape::Char(hi) => items.push(SetItem::Range(lo, hi)),
                // `[a-\d]`: the dash is a literal (ECMA-262 Annex B).
                Escape::Set(item) => items.extend([SetItem::Range(lo, lo), SetItem::Range('-', '-'), item]),
            }
        }
    }
}

fn program_size(ast: &Ast) -> usize {
    match ast {
        Ast::Concat(items) => items.iter().map(program_size).fold(0, usize::saturating_add),
        Ast::Alt(items) => items.iter().map(|a| program_size(a).saturating_add(2)).fold(0, usize::saturating_add),
        Ast::Repeat(inner, min, max) => {
            let one = program_size(inner);
            let optional = match max {
                None => one.saturating_add(2),
                Some(max) => one.saturating_add(1).saturating_mul((max - min) as usize),
            };
            one.saturating_mul(*min as usize).saturating_add(optional)
        }
        _ => 1,
    }
}

fn emit(ast: &Ast, prog: &mut Vec<Inst>) {
    match ast {
        Ast::Char(c) => prog.push(Inst::Char(*c)),
        Ast::Any => prog.push(Inst::Any),
        Ast::Set(s) => prog.push(Inst::Set(Box::new(s.clone()))),
        Ast::Start => prog.push(Inst::Start),
        Ast::End => prog.push(Inst::End),
        Ast::Concat(items) => items.iter().for_each(|a| emit(a, prog)),
        Ast::Alt(items) => {
            let mut jumps = Vec::new();
            for (i, alt) in items.iter().enumerate() {
                if i + 1 == items.len() {
                    emit(alt, prog);
                } else {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(alt, prog);
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    prog[split] = Inst::Split(split + 1, prog.len());
                }
            }
            let end = prog.len();
            jumps.into_iter().for_each(|j| prog[j] = Inst::Jmp(end));
        }
        Ast::Repeat(inner, min, max) => {
            (0..*min).for_each(|_| emit(inner, prog));
            match max {
                None => {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(inner, prog);
                    prog.push(Inst::Jmp(split));
                    prog[split] = Inst::Split(split + 1, prog.len());
                }
                Some(max) => {
                    // Each optional copy may be skipped, jumping past all remaining copies.
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(0, 0));
                        emit(inner, prog);
                    }
                    let end = prog.len();
                    splits.into_iter().for_each(|s| prog[s] = Inst::Split(s + 1, end));
                }
            }
        }
    }
}

impl Regex {
    /// Compiles `pattern`; unsupported or invalid syntax is an error naming the pattern.
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let fail = |e: String| format!("invalid ECMA 262 regex \"{pattern}\": {e}");
        let mut parser = Parser { chars: pattern.chars().collect(), pos: 0, depth: 0 };
        let ast = parser.alternation().map_err(fail)?;
        if parser.pos < parser.chars.len() {
            return Err(fail("unmatched \")\"".to_string()));
        }
        if program_size(&ast) > MAX_PROGRAM {
            return Err(fail("pattern too large once repetitions are expanded".to_string()));
        }
        let mut prog = Vec::new();
        emit(&ast, &mut prog);
        prog.push(Inst::Match);
        Ok(Regex { prog })
    }

    /// Whether the pattern matches somewhere in `text` (ECMA `RegExp.prototype.test`).
    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let mut current = Threads::new(self.prog.len());
        let mut next = Threads::new(self.prog.len());
        let mut stack = Vec::new();
        for pos in 0..=chars.len() {
            self.add(&mut current, 0, pos, chars.len(), &mut stack);
            for i in 0..current.list.len() {
                let pc = current.list[i];
                let c = chars.get(pos);
                let advance = match &self.prog[pc] {
                    Inst::Match => return true,
                    Inst::Char(want) => c == Some(want),
                    Inst::Any => c.is_some_and(|c| !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')),
                    Inst::Set(set) => c.is_some_and(|c| set.contains(*c)),
                    _ => false,
                };
                if advance {
                    self.add(&mut next, pc + 1, pos + 1, chars.len(), &mut stack);
                }
            }
            std::mem::swap(&mut current, &mut next);
            next.clear();
        }
        false
    }

    /// Adds the thread at `pc` and everything reachable from it without consuming input.
    fn add(&self, threads: &mut Threads, pc: usize, pos: usize, len: usize, stack: &mut Vec<usize>) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if std::mem::replace(&mut threads.seen[pc], true) {
                continue;
            }
            threads.list.push(pc);
            match self.prog[pc] {
                Inst::Jmp(to) => stack.push(to),
                Inst::Split(a, b) => stack.extend([b, a]),
                Inst::Start if pos == 0 => stack.push(pc + 1),
                Inst::End if pos == len => stack.push(pc + 1),
                _ => {}
            }
        }
    }
}

struct Threads {
    seen: Vec<bool>,
    list: Vec<usize>,
}

impl Threads {
    fn new(size: usize) -> Threads {
        Threads { seen: vec![false; size], list: Vec::new() }
    }

    fn clear(&mut self) {
        self.list.drain(..).for_each(|pc| self.seen[pc] = false);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_models(_: &str) -> Option<Value> {
        None
    }

    /// One case a line: `schema ~> instance ~> expected message ~> ...` (no message = valid).
    fn check_table(table: &str) {
        for line in table.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split(" ~> ").collect();
            let schema: Value = serde_json::from_str(parts[0]).unwrap_or_else(|e| panic!("{line}: {e}"));
            let instance: Value = serde_json::from_str(parts[1]).unwrap_or_else(|e| panic!("{line}: {e}"));
            let compiled = Schema::compile(&schema, &no_models).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(compiled.validate(&instance), parts[2..], "{line}");
        }
    }

    #[test]
    fn type_keyword() {
        check_table(
            r#"
            {"type": "integer"} ~> 3
            {"type": "integer"} ~> 1.0
            {"type": "integer"} ~> "3" ~> instance type (string) does not match any allowed primitive type (allowed: ["integer"])
            {"type": "integer"} ~> 1.5 ~> instance type (number) does not match any allowed primitive type (allowed: ["integer"])
            {"type": "number"} ~> 2
            {"type": "number"} ~> "x" ~> instance type (string) does not match any allowed primitive type (allowed: ["integer","number"])
            {"type": ["string", "null"]} ~> null
            {"type": ["string", "null"]} ~> true ~> instance type (boolean) does not match any allowed primitive type (allowed: ["null","string"])
            {"type": "object"} ~> {}
            {"type": "array"} ~> []
            {"type": "boolean"} ~> false
            {"type": "object"} ~> [1] ~> instance type (array) does not match any allowed primitive type (allowed: ["object"])
            "#,
        );
    }

    #[test]
    fn enum_and_numbers() {
        check_table(
            r#"
            {"enum": ["a", 1, {"k": [1]}]} ~> "a"
            {"enum": ["a", 1, {"k": [1]}]} ~> 1.0
            {"enum": ["a", 1, {"k": [1]}]} ~> {"k": [1.0]}
            {"enum": ["RED", "BLUE"]} ~> "AZURE" ~> instance value ("AZURE") not found in enum (possible values: ["RED","BLUE"])
            {"enum": ["false"]} ~> false ~> instance value (false) not found in enum (possible values: ["false"])
            {"maximum": 100} ~> 100
            {"maximum": 100} ~> 1000 ~> numeric instance is greater than the required maximum (maximum: 100, found: 1000)
            {"maximum": 100, "exclusiveMaximum": true} ~> 100 ~> numeric instance is not strictly lower than the required maximum 100
            {"maximum": 100, "exclusiveMaximum": true} ~> 99.9
            {"minimum": 1.5} ~> 2
            {"minimum": 1.5} ~> 1 ~> numeric instance is lower than the required minimum (minimum: 1.5, found: 1)
            {"minimum": 0, "exclusiveMinimum": true} ~> 0 ~> numeric instance is not strictly greater than the required minimum 0
            {"minimum": 0, "exclusiveMinimum": true} ~> 0.001
            {"minimum": -1} ~> 18446744073709551615
            {"multipleOf": 3} ~> 9
            {"multipleOf": 0.1} ~> 0.3
            {"multipleOf": 0.01} ~> 19.99
            {"multipleOf": 3} ~> 10 ~> remainder of division is not zero (10 / 3)
            {"multipleOf": 0.5} ~> 0.7 ~> remainder of division is not zero (0.7 / 0.5)
            {"maximum": 5, "multipleOf": 2} ~> "not a number"
            "#,
        );
    }

    #[test]
    fn strings() {
        check_table(
            r#"
            {"maxLength": 3} ~> "héé"
            {"maxLength": 3} ~> "abcd" ~> string "abcd" is too long (length: 4, maximum allowed: 3)
            {"minLength": 2} ~> "😀😀"
            {"minLength": 2} ~> "x" ~> string "x" is too short (length: 1, required minimum: 2)
            {"pattern": "^[a-z]+$"} ~> "abc"
            {"pattern": "^[a-z]+$"} ~> "abc1" ~> ECMA 262 regex "^[a-z]+$" does not match input string "abc1"
            {"pattern": "b"} ~> "abc"
            {"format": "email", "minLength": 0} ~> "not an email"
            {"pattern": "^x$", "maxLength": 0} ~> 5
            "#,
        );
    }

    #[test]
    fn arrays() {
        check_table(
            r#"
            {"items": {"type": "integer"}} ~> [1, 2]
            {"items": {"type": "integer"}} ~> [1, "2"] ~> instance type (string) does not match any allowed primitive type (allowed: ["integer"])
            {"items": [{"type": "string"}], "additionalItems": false} ~> ["a"]
            {"items": [{"type": "string"}], "additionalItems": false} ~> ["a", 1] ~> schema only allows 1 elements in array but instance has 2 elements
            {"items": [{"type": "string"}], "additionalItems": {"type": "integer"}} ~> ["a", 1, 2]
            {"items": [{"type": "string"}], "additionalItems": {"type": "integer"}} ~> ["a", true] ~> instance type (boolean) does not match any allowed primitive type (allowed: ["integer"])
            {"additionalItems": false} ~> [1, 2, 3]
            {"maxItems": 1} ~> [1, 2] ~> array is too long: must have at most 1 elements but instance has 2 elements
            {"minItems": 2} ~> [1] ~> array is too short: must have at least 2 elements but instance has 1 elements
            {"minItems": 2, "maxItems": 2} ~> [1, 2]
            {"uniqueItems": true} ~> [1, "1", [1], {"a": 1}, null, false]
            {"uniqueItems": true} ~> [1, 1.0] ~> array must not contain duplicate elements
            {"uniqueItems": true} ~> [{"a": 1, "b": 2}, {"b": 2, "a": 1}] ~> array must not contain duplicate elements
            {"uniqueItems": false} ~> [1, 1]
            "#,
        );
    }

    #[test]
    fn objects() {
        check_table(
            r#"
            {"required": ["name"]} ~> {"name": 1}
            {"required": ["name"]} ~> "not an object"
            {"required": ["name", "id"]} ~> {} ~> object has missing required properties (["id","name"])
            {"properties": {"a": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": false} ~> {"a": 1, "x-y": 2}
            {"properties": {"a": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": false} ~> {"a": 1, "zz": 2, "b": 3} ~> object instance has properties which are not allowed by the schema: ["b","zz"]
            {"additionalProperties": {"type": "integer"}, "properties": {"s": {"type": "string"}}} ~> {"s": "x", "n": 1}
            {"additionalProperties": {"type": "integer"}} ~> {"n": "1"} ~> instance type (string) does not match any allowed primitive type (allowed: ["integer"])
            {"patternProperties": {"^n": {"type": "integer"}}} ~> {"n1": "x", "m": "x"} ~> instance type (string) does not match any allowed primitive type (allowed: ["integer"])
            {"properties": {"n1": {"minimum": 0}}, "patternProperties": {"^n": {"type": "integer"}}} ~> {"n1": -1.5} ~> numeric instance is lower than the required minimum (minimum: 0, found: -1.5) ~> instance type (number) does not match any allowed primitive type (allowed: ["integer"])
            {"maxProperties": 1} ~> {"a": 1, "b": 2} ~> object has too many properties (found 2 but schema requires at most 1)
            {"minProperties": 1} ~> {} ~> object has too few properties (found 0 but schema requires at least 1)
            {"dependencies": {"card": ["billing"]}} ~> {"card": 1, "billing": 2}
            {"dependencies": {"card": ["billing"]}} ~> {"other": 1}
            {"dependencies": {"card": ["zip", "billing"]}} ~> {"card": 1, "zip": 1} ~> property "card" of object has missing property dependencies (schema requires ["zip","billing"]; missing: ["billing"])
            {"dependencies": {"card": {"required": ["billing"]}}} ~> {"card": 1, "billing": 2}
            {"dependencies": {"card": {"required": ["billing"]}}} ~> {"card": 1} ~> object has missing required properties (["billing"])
            "#,
        );
    }

    #[test]
    fn combinators() {
        check_table(
            r#"
            {"allOf": [{"type": "integer"}, {"minimum": 2}]} ~> 3
            {"allOf": [{"type": "integer"}, {"minimum": 2}]} ~> 1 ~> instance failed to match all required schemas (matched only 1 out of 2)
            {"anyOf": [{"type": "string"}, {"type": "null"}]} ~> null
            {"anyOf": [{"type": "string"}, {"type": "null"}]} ~> 1 ~> instance failed to match at least one required schema among 2
            {"oneOf": [{"type": "integer"}, {"minimum": 2}]} ~> 1
            {"oneOf": [{"type": "integer"}, {"minimum": 2}]} ~> 2.5
            {"oneOf": [{"type": "integer"}, {"minimum": 2}]} ~> 3 ~> instance failed to match exactly one schema (matched 2 out of 2)
            {"oneOf": [{"type": "integer"}, {"minimum": 2}]} ~> 1.5 ~> instance failed to match exactly one schema (matched 0 out of 2)
            {"not": {"type": "string"}} ~> 1
            {"not": {"type": "string"}} ~> "s" ~> instance matched a schema which it should not have
            "#,
        );
    }

    #[test]
    fn reporting_order_and_descent() {
        // Keywords alphabetically; members are visited only while nothing was reported, but siblings all are.
        check_table(
            r#"
            {"type": "object", "required": ["a", "b"], "maxProperties": 1, "properties": {"a": {"type": "string"}}} ~> {"a": 1, "c": 2} ~> object has too many properties (found 2 but schema requires at most 1) ~> object has missing required properties (["b"])
            {"properties": {"a": {"type": "string"}, "b": {"type": "string"}}} ~> {"a": 1, "b": true} ~> instance type (integer) does not match any allowed primitive type (allowed: ["string"]) ~> instance type (boolean) does not match any allowed primitive type (allowed: ["string"])
            {"properties": {"a": {"type": "string"}, "b": {"items": {"type": "string"}}}} ~> {"a": 1, "b": [1]} ~> instance type (integer) does not match any allowed primitive type (allowed: ["string"])
            "#,
        );
    }

    #[test]
    fn refs_local_and_models() {
        let models = |name: &str| match name {
            "Address" => Some(
                json!({"type": "object", "required": ["city"], "properties": {"zip": {"$ref": "#/definitions/zip"}},
                "definitions": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}),
            ),
            "Tag" => Some(json!({"type": "string", "maxLength": 3})),
            _ => None,
        };
        let schema = json!({
            "type": "object",
            "properties": {
                "home": {"$ref": "https://apigateway.amazonaws.com/restapis/abc123/models/Address"},
                "tags": {"type": "array", "items": {"$ref": "https://apigateway.amazonaws.com/restapis/abc123/models/Tag"}},
                "id": {"$ref": "#/definitions/id"},
                "copy": {"$ref": "#/properties/id"},
                "esc": {"$ref": "#/definitions/a~1b%20c"}
            },
            "definitions": {"id": {"type": "integer"}, "a/b c": {"type": "null"}}
        });
        let s = Schema::compile(&schema, &models).unwrap();
        let valid = json!({"home": {"city": "x", "zip": "12345"}, "tags": ["a"], "id": 1, "copy": 2, "esc": null});
        assert!(s.validate(&valid).is_empty());
        assert_eq!(s.validate(&json!({"home": {}})), [r#"object has missing required properties (["city"])"#]);
        let zip = s.validate(&json!({"home": {"city": "x", "zip": "1234"}}));
        assert_eq!(zip, [r#"ECMA 262 regex "^[0-9]{5}$" does not match input string "1234""#]);
        let tag = s.validate(&json!({"tags": ["long"]}));
        assert_eq!(tag, [r#"string "long" is too long (length: 4, maximum allowed: 3)"#]);
        assert_eq!(s.validate(&json!({"copy": "x"})).len(), 1);
        let missing = json!({"$ref": "https://apigateway.amazonaws.com/restapis/abc123/models/Nope"});
        assert!(Schema::compile(&missing, &models).err().unwrap().contains("Nope"));
        for bad in ["#/definitions/none", "http://json-schema.org/draft-04/schema#", "other.json", "#foo", "#/a%zz"] {
            assert!(Schema::compile(&json!({"$ref": bad}), &models).is_err(), "{bad}");
        }
    }

    #[test]
    fn cyclic_refs() {
        let tree = json!({
            "definitions": {"node": {"type": "object", "required": ["v"],
                "properties": {"v": {"type": "integer"}, "kids": {"items": {"$ref": "#/definitions/node"}}}}},
            "$ref": "#/definitions/node"
        });
        let s = Schema::compile(&tree, &no_models).unwrap();
        assert!(s.validate(&json!({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]})).is_empty());
        let missing = s.validate(&json!({"v": 1, "kids": [{"v": 2, "kids": [{}]}]}));
        assert_eq!(missing, [r#"object has missing required properties (["v"])"#]);
        // Mutual recursion between two models.
        let models = |name: &str| match name {
            "A" => Some(json!({"properties": {"b": {"$ref": "https://apigateway.amazonaws.com/restapis/x/models/B"}}})),
            "B" => Some(json!({"properties": {"a": {"$ref": "https://apigateway.amazonaws.com/restapis/x/models/A"}},
                "maxProperties": 1})),
            _ => None,
        };
        let s =
            Schema::compile(&json!({"$ref": "https://apigateway.amazonaws.com/restapis/x/models/A"}), &models).unwrap();
        assert!(s.validate(&json!({"b": {"a": {"b": {}}}})).is_empty());
        assert_eq!(s.validate(&json!({"b": {"a": {}, "z": 1}})).len(), 1);
        // Pure $ref loops are schema errors; loops through combinators stop at the depth limit.
        let a_b = json!({"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}});
        for looped in [json!({"$ref": "#"}), a_b] {
            assert!(Schema::compile(&looped, &no_models).err().unwrap().contains("loop"));
        }
        for looped in
            [json!({"allOf": [{"$ref": "#"}]}), json!({"anyOf": [{"$ref": "#"}]}), json!({"oneOf": [{"$ref": "#"}]})]
        {
            assert!(Schema::compile(&looped, &no_models).unwrap().validate(&json!(1))[0].contains("failed to match"));
        }
        assert!(Schema::compile(&json!({"not": {"$ref": "#"}}), &no_models).unwrap().validate(&json!(1)).len() <= 1);
        let branching = json!({"oneOf": [{"items": {"$ref": "#"}}, {"items": {"$ref": "#"}, "minItems": 0}]});
        let errors =
            Schema::compile(&branching, &no_models).unwrap().validate(&(0..60).fold(json!(1), |v, _| json!([v])));
        assert_eq!(errors, ["validation exceeds 10000000 schema applications: schema too complex for this instance"]);
        let s = Schema::compile(&json!({"items": {"$ref": "#"}}), &no_models).unwrap();
        assert!(s.validate(&(0..150).fold(json!(1), |v, _| json!([v]))).is_empty());
        assert!(s.validate(&(0..300).fold(json!(1), |v, _| json!([v])))[0].contains("maximum depth"));
    }

    #[test]
    fn invalid_schemas() {
        let bad = r##"[] | {"type": "any"} | {"type": []} | {"type": 5} | {"enum": []} | {"multipleOf": 0}
            | {"maximum": "1"} | {"exclusiveMaximum": true} | {"minimum": 1, "exclusiveMinimum": "yes"} | {"maxLength": -1}
            | {"minItems": 1.5} | {"pattern": "("} | {"pattern": 3} | {"items": 1} | {"items": [1]} | {"additionalItems": "no"}
            | {"required": "a"} | {"required": [1]} | {"properties": {"a": 1}} | {"patternProperties": {"[": {}}}
            | {"additionalProperties": 0} | {"dependencies": {"a": "b"}} | {"allOf": []} | {"anyOf": {}} | {"oneOf": [true]}
            | {"not": []} | {"definitions": {"x": 1}} | {"$ref": 1} | {"properties": {"a": {"$ref": "#/nowhere"}}}"##;
        for schema in bad.split(" | ") {
            let schema: Value = serde_json::from_str(schema.trim()).unwrap();
            assert!(Schema::compile(&schema, &no_models).is_err(), "accepted {schema}");
        }
        let e = Schema::compile(&json!({"properties": {"a/b": {"minLength": "x"}}}), &no_models).err().unwrap();
        assert_eq!(e, r#"invalid schema at "/properties/a~1b": "minLength" must be a non-negative integer"#);
        assert!(Schema::compile(&json!({"unknownKeyword": 1, "title": "t", "minLength": 2.0}), &no_models).is_ok());
    }

    #[test]
    fn regex_matching() {
        // pattern, input, whether it matches
        let cases: &[(&str, &str, bool)] = &[
            ("abc", "xabcx", true),
            ("^abc$", "xabc", false),
            ("^a.c$", "a-c", true),
            ("^a.c$", "a\nc", false),
            ("^[a-z0-9_-]+$", "ab_-9", true),
            ("^[a-z0-9_-]+$", "ab C", false),
            ("^[^0-9]*$", "abc", true),
            ("^[^0-9]*$", "ab1", false),
            (r"^\d{3}-\d{4}$", "555-1234", true),
            (r"^\d{3}-\d{4}$", "55-1234", false),
            (r"^\w+\s\W\S$", "a_1 !x", true),
            (r"^\D+$", "a1", false),
            ("^a{2,}$", "aaa", true),
            ("^a{2,}$", "a", false),
            ("^a{1,2}b$", "aab", true),
            ("^a{1,2}b$", "aaab", false),
            ("^(ab)+$", "abab", true),
            ("^(?:ab)*c?$", "ababc", true),
            ("^(cat|dog)s?$", "dogs", true),
            ("^(cat|dog)s?$", "cow", false),
            ("^a|b$", "ax", true),
            ("^(a*)*$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", false),
            (r"^\.\$\(\)\[\]\\$", r".$()[]\", true),
            (r"^\u00e9\x41\t$", "éA\t", true),
            (r"^[\d.]+$", "1.5", true),
            (r"^[\w-]+$", "a-b", true),
            ("^[a-]$", "-", true),
            ("^a+?b*?$", "aab", true),
            ("", "anything", true),
            ("^$", "", true),
            ("^[é-ü]$", "ö", true),
            ("^[]$", "a", false),
            ("a}", "a}", true),
        ];
        for (pattern, input, expected) in cases {
            let re = Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(re.is_match(input), *expected, "{pattern} on {input:?}");
        }
        let bad =
            r"( ) a) [a *a a** a{2 {1} a{3,1} ^* \1 \b (?=a) (?<n>a) \ \q \u12 [z-a] a{99999999999} (a{1000}){1000}";
        for pattern in bad.split(' ') {
            assert!(Regex::new(pattern).is_err(), "accepted {pattern}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let alphabet: Vec<char> = r"ab.^$|()[]{}-,*+?\dDwWsS0123:=!<>u x".chars().collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        for _ in 0..4000 {
            let pattern: String = (0..next() % 12).map(|_| alphabet[next() % alphabet.len()]).collect();
            if let Ok(re) = Regex::new(&pattern) {
                ["", "ab", "a{1}", "x1 -", "aaaaaaaaaaaaaaaaaaaaab"].iter().for_each(|input| _ = re.is_match(input));
            }
            let schema = json!({"pattern": pattern, "patternProperties": {pattern.clone(): {}}});
            if let Ok(s) = Schema::compile(&schema, &no_models) {
                s.validate(&json!({"ab": "ab"}));
            }
        }
        let values = [json!(null), json!(true), json!(-1), json!(1e308), json!("s"), json!([]), json!({}), json!([{}])];
        let keywords = "type enum multipleOf maximum exclusiveMaximum minimum exclusiveMinimum maxLength minLength pattern \
            items additionalItems maxItems minItems uniqueItems maxProperties minProperties required properties \
            patternProperties additionalProperties dependencies allOf anyOf oneOf not definitions $ref";
        for kw in keywords.split_whitespace() {
            for v in values.iter().chain([&json!(u64::MAX), &json!([[]]), &json!({"a": []})]) {
                if let Ok(s) = Schema::compile(&json!({kw: v, "maximum": 1}), &no_models) {
                    values.iter().for_each(|i| _ = s.validate(i));
                }
            }
        }
    }
}
