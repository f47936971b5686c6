//! The query protocol: form-encoded parameters in (`Action=…&Attribute.1.Name=…`), XML out.
//! Wire names come from the model's `locationName`s and `flattened` traits.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::error::{AwsError, ValidationFailure};
use crate::model::{Member, Operation, ServiceModel, Shape, ShapeKind};
use crate::xml::XmlWriter;

pub type Params = BTreeMap<String, String>;

/// Parses `application/x-www-form-urlencoded` data. Bytes that are not UTF-8 after decoding
/// are an error (AWS rejects them rather than guessing).
pub fn parse_form(raw: &[u8], into: &mut Params) -> Result<(), String> {
    let mut pairs = Vec::new();
    parse_form_multi(raw, &mut pairs)?;
    into.extend(pairs);
    Ok(())
}

/// Like [`parse_form`], keeping repeated keys (`?a=1&a=2`) in order.
pub fn parse_form_multi(raw: &[u8], into: &mut Vec<(String, String)>) -> Result<(), String> {
    for pair in raw.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        into.push((decode_component(k)?, decode_component(v)?));
    }
    Ok(())
}

fn decode_component(raw: &[u8]) -> Result<String, String> {
    let plus: Vec<u8> = raw.iter().map(|b| if *b == b'+' { b' ' } else { *b }).collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus).collect();
    String::from_utf8(bytes).map_err(|_| "The request contains bytes that are not valid UTF-8.".to_string())
}

/// Decodes the input of `op` from query parameters.
pub fn decode(model: &ServiceModel, op: &Operation, params: &Params) -> Result<Value, ValidationFailure> {
    let Some(shape) = op.input.as_deref().and_then(|s| model.shape(s)) else {
        return Ok(Value::Object(Map::new()));
    };
    Ok(decode_struct(model, shape, "", params)?.unwrap_or_else(|| Value::Object(Map::new())))
}

fn key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

fn decode_struct(
    model: &ServiceModel,
    shape: &Shape,
    prefix: &str,
    params: &Params,
) -> Result<Option<Value>, ValidationFailure> {
    let mut obj = Map::new();
    for (name, m) in &shape.members {
        let wire = model.wire_name(name, m);
        let mut v = decode_member(model, m, &key(prefix, wire), name, params)?;
        if v.is_none() && wire != name {
            // Some SDKs (Java v1 for SQS TagQueue) send the member name instead of the wire name.
            v = decode_member(model, &Member { location_name: None, ..m.clone() }, &key(prefix, name), name, params)?;
        }
        if let Some(v) = v {
            obj.insert(name.clone(), v);
        }
    }
    Ok(if obj.is_empty() && !prefix.is_empty() { None } else { Some(Value::Object(obj)) })
}

/// Indices `n` present as `{base}.{n}` or `{base}.{n}.…`, ascending.
fn indices(base: &str, params: &Params) -> BTreeSet<usize> {
    let start = format!("{base}.");
    let end = format!("{base}/");
    params
        .range(start.clone()..end)
        .filter_map(|(k, _)| k[start.len()..].split('.').next()?.parse::<usize>().ok())
        .collect()
}

fn decode_member(
    model: &ServiceModel,
    m: &Member,
    at: &str,
    member: &str,
    params: &Params,
) -> Result<Option<Value>, ValidationFailure> {
    let Some(shape) = model.shape(&m.shape) else { return Ok(None) };
    match shape.kind {
        ShapeKind::Structure => decode_struct(model, shape, at, params),
        ShapeKind::List => {
            let Some(item) = &shape.member else { return Ok(None) };
            let base = if shape.flattened || m.flattened {
                match &item.location_name {
                    Some(n) => match at.rfind('.') {
                        Some(i) => format!("{}.{n}", &at[..i]),
                        None => n.clone(),
                    },
                    None => at.to_string(),
                }
            } else {
                format!("{at}.{}", item.location_name.as_deref().unwrap_or("member"))
            };
            let idx = indices(&base, params);
            if idx.is_empty() {
                // `Name=` (empty) stands for an empty list in the query protocol.
                return Ok(params.get(at).filter(|v| v.is_empty()).map(|_| Value::Array(Vec::new())));
            }
            let mut items = Vec::with_capacity(idx.len());
            for i in idx {
                if let Some(v) = decode_member(model, item, &format!("{base}.{i}"), member, params)? {
                    items.push(v);
                }
            }
            Ok(Some(Value::Array(items)))
        }
        ShapeKind::Map => {
            let (Some(k), Some(v)) = (&shape.key, &shape.value) else { return Ok(None) };
            let base = if shape.flattened || m.flattened { at.to_string() } else { format!("{at}.entry") };
            let kname = k.location_name.as_deref().unwrap_or("key");
            let vname = v.location_name.as_deref().unwrap_or("value");
            let idx = indices(&base, params);
            if idx.is_empty() {
                return Ok(None);
            }
            let mut obj = Map::new();
            for i in idx {
                let Some(key) = params.get(&format!("{base}.{i}.{kname}")) else { continue };
                let val =
                    decode_member(model, v, &format!("{base}.{i}.{vname}"), member, params)?.unwrap_or(Value::Null);
                obj.insert(key.clone(), val);
            }
            Ok(Some(Value::Object(obj)))
        }
        _ => match params.get(at) {
            None => Ok(None),
            Some(raw) => scalar(shape, raw, at, member).map(Some),
        },
    }
}

/// A scalar parameter (query string, header, URI label) as the shape's JSON value.
pub(crate) fn scalar(shape: &Shape, raw: &str, at: &str, member: &str) -> Result<Value, ValidationFailure> {
    let bad = |expected: &'static str| ValidationFailure::Type {
        path: at.to_string(),
        member: member.to_string(),
        expected,
        value: raw.to_string(),
    };
    Ok(match shape.kind {
        ShapeKind::Integer | ShapeKind::Long => Value::from(raw.trim().parse::<i64>().map_err(|_| bad("integer"))?),
        ShapeKind::Float | ShapeKind::Double => {
            let f = raw.trim().parse::<f64>().map_err(|_| bad("number"))?;
            serde_json::Number::from_f64(f).map(Value::Number).ok_or_else(|| bad("number"))?
        }
        ShapeKind::Boolean => match raw.to_ascii_lowercase().as_str() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("boolean")),
        },
        _ => Value::String(raw.to_string()),
    })
}

/// The XML response of `op` with `output`.
pub fn encode_response(model: &ServiceModel, op: &Operation, output: &Value, request_id: &str) -> String {
    let mut w = XmlWriter::new();
    w.decl();
    let root = format!("{}Response", op.name);
    w.open(&root, model.metadata.xml_namespace.as_deref());
    if let Some(shape) = op.output.as_deref().and_then(|s| model.shape(s)) {
        let wrapper = op.result_wrapper.clone().unwrap_or_else(|| format!("{}Result", op.name));
        w.open(&wrapper, None);
        write_members(&mut w, model, shape, output);
        w.close(&wrapper);
    }
    w.open("ResponseMetadata", None);
    w.element("RequestId", request_id);
    w.close("ResponseMetadata");
    w.close(&root);
    w.finish()
}

fn write_members(w: &mut XmlWriter, model: &ServiceModel, shape: &Shape, v: &Value) {
    let Value::Object(obj) = v else { return };
    for (name, m) in &shape.members {
        let Some(child) = obj.get(name).filter(|c| !c.is_null()) else { continue };
        let Some(child_shape) = model.shape(&m.shape) else { continue };
        let mut elem = model.wire_name(name, m).to_string();
        if child_shape.kind == ShapeKind::List
            && (child_shape.flattened || m.flattened)
            && let Some(n) = child_shape.member.as_ref().and_then(|i| i.location_name.clone())
        {
            elem = n;
        }
        write_value(w, model, child_shape, m.flattened, &elem, child);
    }
}

fn write_value(w: &mut XmlWriter, model: &ServiceModel, shape: &Shape, flattened: bool, name: &str, v: &Value) {
    match shape.kind {
        ShapeKind::Structure => {
            w.open(name, None);
            write_members(w, model, shape, v);
            w.close(name);
        }
        ShapeKind::List => {
            let Value::Array(items) = v else { return };
            let Some(item) = &shape.member else { return };
            let Some(item_shape) = model.shape(&item.shape) else { return };
            if shape.flattened || flattened {
                for it in items {
                    write_value(w, model, item_shape, false, name, it);
                }
            } else {
                w.open(name, None);
                let iname = item.location_name.as_deref().unwrap_or("member");
                for it in items {
                    write_value(w, model, item_shape, false, iname, it);
                }
                w.close(name);
            }
        }
        ShapeKind::Map => {
            let Value::Object(entries) = v else { return };
            let (Some(k), Some(val)) = (&shape.key, &shape.value) else { return };
            let Some(val_shape) = model.shape(&val.shape) else { return };
            let kname = k.location_name.as_deref().unwrap_or("key");
            let vname = val.location_name.as_deref().unwrap_or("value");
            let flat = shape.flattened || flattened;
            if !flat {
                w.open(name, None);
            }
            for (key, item) in entries {
                w.open(if flat { name } else { "entry" }, None);
                w.element(kname, key);
                write_value(w, model, val_shape, false, vname, item);
                w.close(if flat { name } else { "entry" });
            }
            if !flat {
                w.close(name);
            }
        }
        ShapeKind::Timestamp => {
            let text = match v {
                Value::Number(n) => stratus_core::time::iso8601_millis((n.as_f64().unwrap_or(0.0) * 1000.0) as u64),
                other => scalar_text(other),
            };
            w.element(name, &text);
        }
        _ => w.element(name, &scalar_text(v)),
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The XML error envelope of the query protocol.
pub fn encode_error(model: &ServiceModel, err: &AwsError, request_id: &str) -> (u16, String) {
    let (code, status, sender) = model.error_info(&err.code);
    let status = err.status.unwrap_or(status);
    let sender = err.sender.unwrap_or(sender && status < 500);
    let mut w = XmlWriter::new();
    w.decl();
    w.open("ErrorResponse", model.metadata.xml_namespace.as_deref());
    w.open("Error", None);
    w.element("Type", if sender { "Sender" } else { "Receiver" });
    w.element("Code", &code);
    w.element("Message", &err.message);
    w.empty("Detail");
    w.close("Error");
    w.element("RequestId", request_id);
    w.close("ErrorResponse");
    (status, w.finish())
}
