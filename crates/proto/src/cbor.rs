//! The CBOR wire of the JSON protocols: an `awsJson1_1` request or response whose body is a CBOR
//! (RFC 8949) map of the same shape, under `Content-Type: application/x-amz-cbor-1.1` and the
//! same `X-Amz-Target`. The AWS SDK for Java (v1 and v2), and with it the Kinesis Client
//! Library, speaks it to Kinesis unless CBOR is switched off (`AWS_CBOR_DISABLE`,
//! `com.amazonaws.sdk.disableCbor`, `aws.cborEnabled=false`).
//!
//! A small codec of our own decodes any well-formed data item into [`Cbor`]: definite and
//! indefinite lengths (Jackson's CBOR generator, which the SDKs use, writes indefinite-length
//! maps), byte and text strings in chunks, tags, half, single and double floats, and the simple
//! values `false`, `true`, `null` and `undefined`. The operation's input shape then turns the item
//! into the JSON value the services already take from the JSON protocol: byte strings become
//! base64 strings (how JSON carries blobs) and timestamps epoch seconds. Outputs go the other way,
//! guided by the output shape; the encoder writes definite lengths only. The body is the
//! client's, so malformed input is an error and never a panic: a declared length is checked
//! against the bytes actually present before anything is allocated for it, and nesting is
//! limited to [`MAX_DEPTH`].
//!
//! Timestamps. RFC 8949's tag 1 counts seconds, but AWS's CBOR wire counts milliseconds:
//! - SDK for Java v1: its CBOR generator writes a `Date` as tag 1 followed by `Date.getTime()`,
//!   an integer count of epoch milliseconds; its CBOR date unmarshaller reads the number with
//!   Jackson's `getLongValue()` (which skips the tag) as milliseconds.
//! - SDK for Java v2: its CBOR generator writes tag 1 followed by `Instant.toEpochMilli()`, and
//!   the CBOR protocol factory makes `UNIX_TIMESTAMP_MILLIS` the default timestamp format of
//!   payload members. Responses are parsed in that format with `Long.parseLong` of the number's
//!   text, so an integer is required: a float (`1.603149588042E9`) fails with a
//!   `NumberFormatException` (localstack issue 3134, against an emulator that answered seconds).
//!   aws-sdk-java-v2 pull request 979 ("dates were being unmarshalled as epoch seconds for CBOR
//!   but it uses epoch millis on the wire") made v2 read real Kinesis responses that way, and
//!   issue 4661 records that the SDKs send milliseconds under tag 1, contrary to the RFC.
//!   localstack reads and writes Kinesis's CBOR timestamps as milliseconds (pull requests 11071
//!   and 11286).
//! - kinesalite does not decode CBOR; it only answers empty CBOR requests with canned
//!   indefinite-length maps holding `__type` alone, status 400.
//!
//! So a timestamp is written as tag 1 followed by an integer count of milliseconds, and a number
//! read as a timestamp (under tag 1, or bare in a timestamp member; integer or float) is taken as
//! milliseconds and handed on as epoch seconds, as the JSON protocol delivers them. Errors are a
//! map `{"__type": code, "message": …}` with the error's further fields, and the status the JSON
//! protocol would answer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::{Map, Number, Value};

use crate::error::AwsError;
use crate::model::{Operation, ServiceModel, Shape, ShapeKind};
use crate::{ApiRequest, Decoded, json, respond};

/// The content type of the wire, requests and responses alike.
pub const CONTENT_TYPE: &str = "application/x-amz-cbor-1.1";

/// How deeply arrays, maps and tags may nest in a decoded item.
pub const MAX_DEPTH: usize = 128;

/// RFC 8949's epoch-based date/time tag (milliseconds on AWS's wire, see the module docs).
const TAG_EPOCH: u64 = 1;

const FALSE: u8 = 0xf4;
const TRUE: u8 = 0xf5;
const NULL: u8 = 0xf6;
const UNDEFINED: u8 = 0xf7;
const BREAK: u8 = 0xff;

/// A CBOR data item.
#[derive(Debug, Clone, PartialEq)]
pub enum Cbor {
    /// Major types 0 and 1: -2^64 ..= 2^64 - 1.
    Integer(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    /// The entries in the order they came; keys may be of any type.
    Map(Vec<(Cbor, Cbor)>),
    /// A tagged item. The decoder keeps tag 1 (epoch time) and drops every other tag.
    Tag(u64, Box<Cbor>),
    Float(f64),
    Bool(bool),
    Null,
    Undefined,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    #[error("{message} at byte {offset}")]
    Malformed { offset: usize, message: &'static str },
    #[error("a map key is not a text string")]
    NonTextKey,
}

/// Decodes exactly one data item from `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Cbor, CborError> {
    let mut d = Decoder { buf: bytes, pos: 0 };
    let item = d.item(0)?;
    if d.pos != bytes.len() {
        return Err(d.error("trailing bytes after the data item"));
    }
    Ok(item)
}

/// Encodes an item, with definite lengths and the shortest heads.
pub fn encode(item: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    write_item(&mut out, item);
    out
}

/// The JSON value of `item`, read as `shape` (when the model has it): byte strings become
/// standard base64, epoch times (tag 1, or a number in a timestamp member) epoch seconds.
/// Members the shape does not name are converted the same way, without a shape.
pub fn to_json(model: &ServiceModel, shape: Option<&str>, item: Cbor) -> Result<Value, CborError> {
    convert(model, shape.and_then(|s| model.shape(s)), item)
}

/// The CBOR encoding of `value` written as `shape` (when the model has it): base64 strings in
/// blob members become byte strings, epoch seconds in timestamp members tag 1 and milliseconds.
pub fn encode_json(model: &ServiceModel, shape: Option<&str>, value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_json(&mut out, model, shape.and_then(|s| model.shape(s)), value);
    out
}

pub fn decode_request<'m>(model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<Decoded<'m>, AwsError> {
    let op = json::operation(model, req)?;
    if req.body.is_empty() {
        return Ok(Decoded::Ok(op, Value::Object(Map::new())));
    }
    let serialization = |e: CborError| {
        AwsError::new("SerializationException", format!("Could not parse the request body as CBOR: {e}"))
    };
    let item = decode(req.body).map_err(serialization)?;
    if !matches!(item, Cbor::Map(_)) {
        return Err(AwsError::new("SerializationException", "The request body must be a CBOR map."));
    }
    let input = to_json(model, op.input.as_deref(), item).map_err(serialization)?;
    Ok(Decoded::Ok(op, input))
}

pub fn encode_response(model: &ServiceModel, op: &Operation, output: &Value, request_id: &str) -> Response<Bytes> {
    let body = match output {
        Value::Null => vec![0xa0],
        v => encode_json(model, op.output.as_deref(), v),
    };
    respond(StatusCode::OK, CONTENT_TYPE, request_id, body.into())
}

pub fn encode_error(model: &ServiceModel, err: &AwsError, request_id: &str) -> Response<Bytes> {
    let (status, query_error) = json::error_status(model, err);
    let mut body = Map::new();
    body.insert("__type".into(), Value::String(err.code.clone()));
    body.insert("message".into(), Value::String(err.message.clone()));
    for (k, v) in &err.fields {
        body.insert(k.clone(), crate::field_value(v));
    }
    // The error's own shape, when the model has one, types its further fields.
    let shape = model.shape(&err.code).filter(|s| s.kind == ShapeKind::Structure).map(|s| s.name.as_str());
    let mut r = respond(status, CONTENT_TYPE, request_id, encode_json(model, shape, &Value::Object(body)).into());
    if let Some(v) = query_error {
        r.headers_mut().insert("x-amzn-query-error", v);
    }
    r
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    fn error(&self, message: &'static str) -> CborError {
        CborError::Malformed { offset: self.pos, message }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], CborError> {
        let slice = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or_else(|| self.error("unexpected end of input"))?;
        self.pos += slice.len();
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], CborError> {
        let slice = self.take(N as u64)?;
        <[u8; N]>::try_from(slice).map_err(|_| self.error("unexpected end of input"))
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let [b] = self.array()?;
        Ok(b)
    }

    /// A head's argument; `None` for an indefinite length (additional information 31).
    fn argument(&mut self, info: u8) -> Result<Option<u64>, CborError> {
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => u64::from(u16::from_be_bytes(self.array()?)),
            26 => u64::from(u32::from_be_bytes(self.array()?)),
            27 => u64::from_be_bytes(self.array()?),
            28..=30 => return Err(self.error("reserved additional information")),
            _ => return Ok(None),
        }))
    }

    fn definite(&mut self, info: u8) -> Result<u64, CborError> {
        self.argument(info)?.ok_or_else(|| self.error("indefinite length where none is allowed"))
    }

    /// A declared number of items, each at least `min_len` bytes long: refused when the rest of
    /// the input cannot hold them, so that no capacity is reserved for data that is not there.
    fn count(&self, n: u64, min_len: usize) -> Result<usize, CborError> {
        usize::try_from(n)
            .ok()
            .filter(|n| n.saturating_mul(min_len) <= self.remaining())
            .ok_or_else(|| self.error("declared length exceeds the input"))
    }

    /// Whether the break that ends an indefinite-length item comes next (consuming it).
    fn at_break(&mut self) -> Result<bool, CborError> {
        match self.buf.get(self.pos) {
            Some(&BREAK) => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err(self.error("unexpected end of input")),
        }
    }

    /// The content of a byte (`major` 2) or text (3) string, joining the chunks of an
    /// indefinite-length one. Each chunk of a text string is a text string of its own, so must be
    /// UTF-8 by itself.
    fn string(&mut self, major: u8, info: u8) -> Result<Vec<u8>, CborError> {
        if let Some(n) = self.argument(info)? {
            return Ok(self.take(n)?.to_vec());
        }
        let mut out = Vec::new();
        while !self.at_break()? {
            let head = self.byte()?;
            if head >> 5 != major {
                return Err(self.error("a string chunk of another type"));
            }
            let n = self.definite(head & 0x1f)?;
            let chunk = self.take(n)?;
            if major == 3 && std::str::from_utf8(chunk).is_err() {
                return Err(self.error("text string chunk is not UTF-8"));
            }
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    fn item(&mut self, depth: usize) -> Result<Cbor, CborError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let start = self.pos;
        let head = self.byte()?;
        let (major, info) = (head >> 5, head & 0x1f);
        Ok(match major {
            0 => Cbor::Integer(i128::from(self.definite(info)?)),
            1 => Cbor::Integer(-1 - i128::from(self.definite(info)?)),
            2 => Cbor::Bytes(self.string(major, info)?),
            3 => Cbor::Text(
                String::from_utf8(self.string(major, info)?)
                    .map_err(|_| CborError::Malformed { offset: start, message: "text string is not UTF-8" })?,
            ),
            4 => {
                let mut items = Vec::new();
                match self.argument(info)? {
                    Some(n) => {
                        let n = self.count(n, 1)?;
                        items.reserve_exact(n);
                        for _ in 0..n {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    None => {
                        while !self.at_break()? {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                }
                Cbor::Array(items)
            }
            5 => {
                let mut entries = Vec::new();
                match self.argument(info)? {
                    Some(n) => {
                        let n = self.count(n, 2)?;
                        entries.reserve_exact(n);
                        for _ in 0..n {
                            entries.push((self.item(depth + 1)?, self.item(depth + 1)?));
                        }
                    }
                    None => {
                        while !self.at_break()? {
                            entries.push((self.item(depth + 1)?, self.item(depth + 1)?));
                        }
                    }
                }
                Cbor::Map(entries)
            }
            6 => {
                let tag = self.definite(info)?;
                let inner = self.item(depth + 1)?;
                if tag == TAG_EPOCH { Cbor::Tag(tag, Box::new(inner)) } else { inner }
            }
            _ => match info {
                20 => Cbor::Bool(false),
                21 => Cbor::Bool(true),
                22 => Cbor::Null,
                23 => Cbor::Undefined,
                24 => {
                    let value = self.byte()?;
                    let message = if value < 32 { "simple value in two bytes" } else { "unsupported simple value" };
                    return Err(CborError::Malformed { offset: start, message });
                }
                25 => Cbor::Float(half_to_f64(u16::from_be_bytes(self.array()?))),
                26 => Cbor::Float(f64::from(f32::from_be_bytes(self.array()?))),
                27 => Cbor::Float(f64::from_be_bytes(self.array()?)),
                28..=30 => {
                    return Err(CborError::Malformed { offset: start, message: "reserved additional information" });
                }
                31 => {
                    return Err(CborError::Malformed {
                        offset: start,
                        message: "break outside an indefinite-length item",
                    });
                }
                _ => return Err(CborError::Malformed { offset: start, message: "unsupported simple value" }),
            },
        })
    }
}

/// An IEEE 754 half-precision float (RFC 8949 appendix D).
fn half_to_f64(half: u16) -> f64 {
    let exponent = i32::from((half >> 10) & 0x1f);
    let mantissa = f64::from(half & 0x3ff);
    let magnitude = match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (mantissa + 1024.0) * 2f64.powi(e - 25),
    };
    if half & 0x8000 == 0 { magnitude } else { -magnitude }
}

fn write_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let major = major << 5;
    if n < 24 {
        out.push(major | n as u8);
    } else if let Ok(n) = u8::try_from(n) {
        out.push(major | 24);
        out.push(n);
    } else if let Ok(n) = u16::try_from(n) {
        out.push(major | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(n) {
        out.push(major | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn write_int(out: &mut Vec<u8>, n: i128) {
    if let Ok(n) = u64::try_from(n) {
        write_head(out, 0, n);
    } else if let Ok(n) = u64::try_from(-1 - n) {
        write_head(out, 1, n);
    } else {
        write_float(out, n as f64);
    }
}

fn write_float(out: &mut Vec<u8>, f: f64) {
    out.push(0xfb);
    out.extend_from_slice(&f.to_be_bytes());
}

/// A byte (`major` 2) or text (3) string.
fn write_string(out: &mut Vec<u8>, major: u8, content: &[u8]) {
    write_head(out, major, content.len() as u64);
    out.extend_from_slice(content);
}

fn write_item(out: &mut Vec<u8>, item: &Cbor) {
    match item {
        Cbor::Integer(n) => write_int(out, *n),
        Cbor::Bytes(b) => write_string(out, 2, b),
        Cbor::Text(s) => write_string(out, 3, s.as_bytes()),
        Cbor::Array(items) => {
            write_head(out, 4, items.len() as u64);
            for i in items {
                write_item(out, i);
            }
        }
        Cbor::Map(entries) => {
            write_head(out, 5, entries.len() as u64);
            for (k, v) in entries {
                write_item(out, k);
                write_item(out, v);
            }
        }
        Cbor::Tag(tag, inner) => {
            write_head(out, 6, *tag);
            write_item(out, inner);
        }
        Cbor::Float(f) => write_float(out, *f),
        Cbor::Bool(b) => out.push(if *b { TRUE } else { FALSE }),
        Cbor::Null => out.push(NULL),
        Cbor::Undefined => out.push(UNDEFINED),
    }
}

/// The shape of a child of `shape`: a structure's member `key`, a list's member, a map's value.
fn child<'m>(model: &'m ServiceModel, shape: Option<&'m Shape>, key: Option<&str>) -> Option<&'m Shape> {
    let shape = shape?;
    let member = match (shape.kind, key) {
        (ShapeKind::Structure, Some(k)) => shape.members.get(k),
        (ShapeKind::List, None) => shape.member.as_ref(),
        (ShapeKind::Map, Some(_)) => shape.value.as_ref(),
        _ => None,
    }?;
    model.shape(&member.shape)
}

fn convert(model: &ServiceModel, shape: Option<&Shape>, item: Cbor) -> Result<Value, CborError> {
    let timestamp = shape.is_some_and(|s| s.kind == ShapeKind::Timestamp);
    // Tag 1 marks epoch time wherever it appears; other tags never leave the decoder.
    let (item, timestamp) = match item {
        Cbor::Tag(tag, inner) => (*inner, timestamp || tag == TAG_EPOCH),
        item => (item, timestamp),
    };
    Ok(match item {
        Cbor::Integer(ms) if timestamp && ms % 1000 == 0 => integer(ms / 1000),
        Cbor::Integer(ms) if timestamp => float(ms as f64 / 1000.0),
        Cbor::Float(ms) if timestamp => float(ms / 1000.0),
        Cbor::Integer(n) => integer(n),
        Cbor::Float(f) => float(f),
        Cbor::Bytes(b) => Value::String(STANDARD.encode(b)),
        Cbor::Text(s) => Value::String(s),
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Null | Cbor::Undefined => Value::Null,
        Cbor::Tag(..) => convert(model, shape, item)?,
        Cbor::Array(items) => {
            let member = child(model, shape, None);
            Value::Array(items.into_iter().map(|i| convert(model, member, i)).collect::<Result<_, _>>()?)
        }
        Cbor::Map(entries) => {
            let mut obj = Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else { return Err(CborError::NonTextKey) };
                let v = convert(model, child(model, shape, Some(&k)), v)?;
                obj.insert(k, v);
            }
            Value::Object(obj)
        }
    })
}

fn integer(n: i128) -> Value {
    i64::try_from(n).map(Value::from).or_else(|_| u64::try_from(n).map(Value::from)).unwrap_or_else(|_| float(n as f64))
}

/// A float as a JSON number; JSON has none for the non-finite ones, which the JSON protocols
/// spell as strings.
fn float(f: f64) -> Value {
    Number::from_f64(f).map(Value::Number).unwrap_or_else(|| {
        let name = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        };
        Value::String(name.into())
    })
}

/// Epoch seconds (a number, or a numeric string) as whole epoch milliseconds.
fn epoch_millis(v: &Value) -> Option<i64> {
    let seconds = match v {
        Value::Number(n) => match n.as_i64() {
            Some(s) => return s.checked_mul(1000),
            None => n.as_f64()?,
        },
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let millis = (seconds * 1000.0).round();
    millis.is_finite().then_some(millis as i64)
}

fn write_json(out: &mut Vec<u8>, model: &ServiceModel, shape: Option<&Shape>, value: &Value) {
    let kind = shape.map(|s| s.kind);
    if kind == Some(ShapeKind::Timestamp)
        && let Some(ms) = epoch_millis(value)
    {
        write_head(out, 6, TAG_EPOCH);
        write_int(out, i128::from(ms));
        return;
    }
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(b) => out.push(if *b { TRUE } else { FALSE }),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => write_head(out, 0, u),
            (_, Some(i)) => write_int(out, i128::from(i)),
            _ => write_float(out, n.as_f64().unwrap_or_default()),
        },
        Value::String(s) if kind == Some(ShapeKind::Blob) => match STANDARD.decode(s) {
            Ok(bytes) => write_string(out, 2, &bytes),
            Err(_) => write_string(out, 3, s.as_bytes()),
        },
        Value::String(s) => write_string(out, 3, s.as_bytes()),
        Value::Array(items) => {
            let member = child(model, shape, None);
            write_head(out, 4, items.len() as u64);
            for i in items {
                write_json(out, model, member, i);
            }
        }
        Value::Object(obj) => {
            write_head(out, 5, obj.len() as u64);
            for (k, v) in obj {
                write_string(out, 3, k.as_bytes());
                write_json(out, model, child(model, shape, Some(k)), v);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use http::{HeaderMap, Method, Uri};
    use serde_json::json;
    use stratus_core::RequestContext;

    use super::*;
    use crate::{BoxFuture, Service, Wire, detect_wire};

    const MODEL: &str = r#"{
        "metadata": {"protocol": "json", "apiVersion": "2013-12-02", "endpointPrefix": "kinesis",
                     "jsonVersion": "1.1", "targetPrefix": "Kinesis_20131202", "serviceId": "Kinesis"},
        "operations": {
            "Put": {"name": "Put", "http": {"method": "POST", "requestUri": "/"},
                    "input": {"shape": "PutInput"}, "output": {"shape": "PutOutput"}}
        },
        "shapes": {
            "PutInput": {"type": "structure", "required": ["Data"], "members": {
                "Data": {"shape": "Data"}, "At": {"shape": "Time"}, "Records": {"shape": "Records"},
                "Tags": {"shape": "Tags"}, "Count": {"shape": "Count"}, "Ratio": {"shape": "Ratio"},
                "Flag": {"shape": "Flag"}, "Name": {"shape": "Name"}}},
            "PutOutput": {"type": "structure", "members": {"Records": {"shape": "Records"}, "At": {"shape": "Time"}}},
            "Records": {"type": "list", "member": {"shape": "Record"}},
            "Record": {"type": "structure", "members": {"Data": {"shape": "Data"}, "Arrived": {"shape": "Time"}}},
            "Tags": {"type": "map", "key": {"shape": "Name"}, "value": {"shape": "Data"}},
            "Data": {"type": "blob", "max": 16},
            "Time": {"type": "timestamp"},
            "Count": {"type": "long"},
            "Ratio": {"type": "double"},
            "Flag": {"type": "boolean"},
            "Name": {"type": "string"},
            "Throttled": {"type": "structure", "exception": true, "members": {
                "message": {"shape": "Name"}, "RetryAt": {"shape": "Time"}}}
        }
    }"#;

    fn model() -> ServiceModel {
        ServiceModel::parse(MODEL, None).unwrap()
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn text(s: &str) -> Cbor {
        Cbor::Text(s.into())
    }

    fn cbor_map(entries: Vec<(&str, Cbor)>) -> Cbor {
        Cbor::Map(entries.into_iter().map(|(k, v)| (text(k), v)).collect())
    }

    /// `item` with every map's entries in key order, so that comparisons do not depend on the
    /// order in which the JSON map keeps its keys.
    fn sorted(item: Cbor) -> Cbor {
        match item {
            Cbor::Map(entries) => {
                let mut entries: Vec<_> = entries.into_iter().map(|(k, v)| (k, sorted(v))).collect();
                entries.sort_by_key(|(k, _)| format!("{k:?}"));
                Cbor::Map(entries)
            }
            Cbor::Array(items) => Cbor::Array(items.into_iter().map(sorted).collect()),
            Cbor::Tag(tag, inner) => Cbor::Tag(tag, Box::new(sorted(*inner))),
            item => item,
        }
    }

    fn request<'a>(headers: &'a HeaderMap, uri: &'a Uri, body: &'a [u8]) -> ApiRequest<'a> {
        ApiRequest { method: &Method::POST, uri, headers, body }
    }

    fn cbor_headers(target: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-amz-target", target.parse().unwrap());
        h.insert("content-type", CONTENT_TYPE.parse().unwrap());
        h
    }

    fn is_malformed(bytes: &[u8]) -> bool {
        matches!(decode(bytes), Err(CborError::Malformed { .. }))
    }

    #[test]
    fn round_trips_every_kind_of_item() {
        let item = Cbor::Array(vec![
            Cbor::Integer(0),
            Cbor::Integer(23),
            Cbor::Integer(24),
            Cbor::Integer(255),
            Cbor::Integer(256),
            Cbor::Integer(65_535),
            Cbor::Integer(65_536),
            Cbor::Integer(4_294_967_296),
            Cbor::Integer(i128::from(u64::MAX)),
            Cbor::Integer(-1),
            Cbor::Integer(-24),
            Cbor::Integer(-25),
            Cbor::Integer(-1 - i128::from(u64::MAX)),
            Cbor::Bytes(vec![0, 1, 2, 255]),
            Cbor::Bytes(vec![7; 300]),
            text(""),
            text("héllo ☃"),
            Cbor::Map(vec![(Cbor::Integer(1), text("int key")), (text("k"), Cbor::Array(vec![]))]),
            Cbor::Tag(1, Box::new(Cbor::Integer(1_700_000_000_123))),
            Cbor::Float(1.5),
            Cbor::Float(-0.1),
            Cbor::Float(f64::INFINITY),
            Cbor::Bool(true),
            Cbor::Bool(false),
            Cbor::Null,
            Cbor::Undefined,
        ]);
        assert_eq!(decode(&encode(&item)).unwrap(), item);
        let nan = decode(&encode(&Cbor::Float(f64::NAN))).unwrap();
        assert!(matches!(nan, Cbor::Float(f) if f.is_nan()));
    }

    #[test]
    fn encoder_writes_the_shortest_definite_heads() {
        assert_eq!(encode(&Cbor::Integer(23)), hex("17"));
        assert_eq!(encode(&Cbor::Integer(24)), hex("1818"));
        assert_eq!(encode(&Cbor::Integer(1000)), hex("1903e8"));
        assert_eq!(encode(&Cbor::Integer(1_000_000)), hex("1a000f4240"));
        assert_eq!(encode(&Cbor::Integer(1_000_000_000_000)), hex("1b000000e8d4a51000"));
        assert_eq!(encode(&Cbor::Integer(-1000)), hex("3903e7"));
        assert_eq!(encode(&text("IETF")), hex("6449455446"));
        assert_eq!(encode(&cbor_map(vec![("a", Cbor::Integer(1))])), hex("a1616101"));
        assert_eq!(encode(&Cbor::Tag(1, Box::new(Cbor::Integer(1_363_896_240)))), hex("c11a514b67b0"));
    }

    #[test]
    fn decodes_the_rfc_examples() {
        let cases: Vec<(&str, Cbor)> = vec![
            ("00", Cbor::Integer(0)),
            ("1bffffffffffffffff", Cbor::Integer(i128::from(u64::MAX))),
            ("3bffffffffffffffff", Cbor::Integer(-1 - i128::from(u64::MAX))),
            ("3903e7", Cbor::Integer(-1000)),
            ("f4", Cbor::Bool(false)),
            ("f5", Cbor::Bool(true)),
            ("f6", Cbor::Null),
            ("f7", Cbor::Undefined),
            ("4401020304", Cbor::Bytes(vec![1, 2, 3, 4])),
            ("62c3bc", text("ü")),
            ("83010203", Cbor::Array(vec![Cbor::Integer(1), Cbor::Integer(2), Cbor::Integer(3)])),
            // Tag 0 (a date string) and tag 23 (expected base16) are skipped; tag 1 is kept.
            ("c074323031332d30332d32315432303a30343a30305a", text("2013-03-21T20:04:00Z")),
            ("d74401020304", Cbor::Bytes(vec![1, 2, 3, 4])),
            ("c1fb41d452d9ec200000", Cbor::Tag(1, Box::new(Cbor::Float(1_363_896_240.5)))),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(&hex(bytes)).unwrap(), want, "{bytes}");
        }
    }

    #[test]
    fn decodes_every_float_width() {
        let cases = [
            ("f90000", 0.0),
            ("f93c00", 1.0),
            ("f93e00", 1.5),
            ("f97bff", 65504.0),
            ("f90001", 5.960_464_477_539_063e-8),
            ("f90400", 0.000_061_035_156_25),
            ("f9c400", -4.0),
            ("f97c00", f64::INFINITY),
            ("f9fc00", f64::NEG_INFINITY),
            ("fa47c35000", 100_000.0),
            ("fa7f7fffff", 3.402_823_466_385_288_6e38),
            ("fa7f800000", f64::INFINITY),
            ("fb3ff199999999999a", 1.1),
            ("fb7e37e43c8800759c", 1.0e300),
            ("fbc010666666666666", -4.1),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(&hex(bytes)).unwrap(), Cbor::Float(want), "{bytes}");
        }
        let Cbor::Float(negative_zero) = decode(&hex("f98000")).unwrap() else { panic!("not a float") };
        assert!(negative_zero == 0.0 && negative_zero.is_sign_negative());
        for nan in ["f97e00", "fa7fc00000", "fb7ff8000000000000"] {
            assert!(matches!(decode(&hex(nan)).unwrap(), Cbor::Float(f) if f.is_nan()), "{nan}");
        }
    }

    #[test]
    fn decodes_indefinite_lengths() {
        let cases: Vec<(&str, Cbor)> = vec![
            ("5f42010243030405ff", Cbor::Bytes(vec![1, 2, 3, 4, 5])),
            ("5fff", Cbor::Bytes(vec![])),
            ("7f657374726561646d696e67ff", text("streaming")),
            ("9fff", Cbor::Array(vec![])),
            (
                "9f018202039f0405ffff",
                Cbor::Array(vec![
                    Cbor::Integer(1),
                    Cbor::Array(vec![Cbor::Integer(2), Cbor::Integer(3)]),
                    Cbor::Array(vec![Cbor::Integer(4), Cbor::Integer(5)]),
                ]),
            ),
            (
                "bf61610161629f0203ffff",
                cbor_map(vec![("a", Cbor::Integer(1)), ("b", Cbor::Array(vec![Cbor::Integer(2), Cbor::Integer(3)]))]),
            ),
            ("bf6346756ef563416d7421ff", cbor_map(vec![("Fun", Cbor::Bool(true)), ("Amt", Cbor::Integer(-2))])),
        ];
        for (bytes, want) in cases {
            assert_eq!(decode(&hex(bytes)).unwrap(), want, "{bytes}");
        }
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let cases = [
            "",                  // nothing
            "19 03",             // truncated argument
            "62 61",             // text shorter than declared
            "82 01",             // array missing an item
            "a1 61 61",          // map missing a value
            "bf 61 61 01",       // indefinite map without its break
            "9f 01",             // indefinite array without its break
            "5f 41 00",          // chunked bytes without their break
            "5f 61 61 ff",       // a text chunk in a byte string
            "5f 5f ff ff",       // an indefinite chunk
            "1c",                // reserved additional information
            "3f",                // indefinite integer
            "df 00",             // indefinite tag
            "ff",                // a break on its own
            "82 01 ff",          // a break inside a definite array
            "f8 10",             // simple value in two bytes
            "f8 ff",             // unassigned simple value
            "f0",                // unassigned simple value
            "62 ff fe",          // text that is not UTF-8
            "7f 61 c3 61 bc ff", // a UTF-8 sequence split across text chunks
            "00 00",             // trailing bytes
            "f9 3c",             // truncated half float
            "fb 3f f1 99",       // truncated double
            "c1",                // tag without an item
        ];
        for bytes in cases {
            assert!(is_malformed(&hex(bytes)), "{bytes:?} decoded");
        }
    }

    #[test]
    fn huge_declared_lengths_are_refused_before_allocating() {
        for bytes in [
            "5b ffffffffffffffff 00",    // byte string of 2^64 - 1 bytes
            "7a ffffffff 61",            // text of 4 GiB
            "9b 000000ffffffffff 00",    // array of a trillion items
            "bb 7fffffffffffffff 00 00", // map of 2^63 - 1 entries
            "9a 00000003 00 00",         // three items declared, two present
            "a2 00 00 00",               // two entries declared, one and a half present
        ] {
            assert!(is_malformed(&hex(bytes)), "{bytes}");
        }
    }

    #[test]
    fn nesting_is_limited() {
        let nested = |open: u8, depth: usize| {
            let mut b = vec![open; depth];
            b.push(0);
            b
        };
        assert!(decode(&nested(0x81, MAX_DEPTH)).is_ok());
        for open in [0x81, 0x9f, 0xa1, 0xc1, 0xc2] {
            let bytes = nested(open, MAX_DEPTH + 1);
            // Maps need a key before each nested value: [a1 00 a1 00 … 00 00].
            let bytes = if open == 0xa1 { bytes.iter().flat_map(|&b| [b, 0]).collect() } else { bytes };
            assert!(is_malformed(&bytes), "{open:#x}");
        }
        assert!(is_malformed(&vec![0x9f; 100_000]));
    }

    #[test]
    fn random_bytes_never_panic() {
        // xorshift64*: deterministic, no dependency.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let m = model();
        let seed = encode_json(
            &m,
            Some("PutInput"),
            &json!({"Data": "AAEC", "At": 1.5, "Records": [{"Data": "AA==", "Arrived": 2}], "Tags": {"a": "AA=="}}),
        );
        for round in 0..30_000 {
            let bytes: Vec<u8> = if round % 2 == 0 {
                let len = (next() % 48) as usize;
                (0..len).map(|_| next() as u8).collect()
            } else {
                // Mutations of a valid body reach deeper than noise does.
                let mut b = seed.clone();
                for _ in 0..1 + next() % 4 {
                    let i = (next() as usize) % b.len();
                    b[i] = next() as u8;
                }
                b.truncate(b.len() - (next() as usize) % 4);
                b
            };
            if let Ok(item) = decode(&bytes) {
                let _ = to_json(&m, Some("PutInput"), item);
            }
        }
    }

    #[test]
    fn inputs_follow_the_shape() {
        let m = model();
        // What the SDK for Java writes: an indefinite-length map, blobs as byte strings, times as
        // tag 1 + milliseconds; here also a chunked string, a half float and an unknown member.
        let body = [
            hex("bf"),
            encode(&text("Data")),
            hex("43 000102"),
            encode(&text("At")),
            hex("c1 1b 0000018bcfe56800"), // 1700000000000 ms
            encode(&text("Records")),
            hex("9f"),
            encode(&cbor_map(vec![("Data", Cbor::Bytes(vec![255])), ("Arrived", Cbor::Integer(1_506_440_188_749))])),
            hex("ff"),
            encode(&text("Tags")),
            encode(&cbor_map(vec![("k", Cbor::Bytes(b"v".to_vec()))])),
            encode(&text("Count")),
            encode(&Cbor::Integer(-5)),
            encode(&text("Ratio")),
            hex("f9 3e00"),
            encode(&text("Flag")),
            hex("f5"),
            encode(&text("Name")),
            hex("7f 62 6869 61 21 ff"),
            encode(&text("Extra")),
            encode(&Cbor::Array(vec![Cbor::Bytes(vec![1]), Cbor::Tag(1, Box::new(Cbor::Integer(2500)))])),
            hex("ff"),
        ]
        .concat();
        let (headers, uri) = (cbor_headers("Kinesis_20131202.Put"), Uri::from_static("/"));
        let Ok(Decoded::Ok(op, input)) = decode_request(&m, &request(&headers, &uri, &body)) else { panic!("decode") };
        assert_eq!(op.name, "Put");
        assert_eq!(
            input,
            json!({
                "Data": "AAEC",
                "At": 1_700_000_000,
                "Records": [{"Data": "/w==", "Arrived": 1_506_440_188.749}],
                "Tags": {"k": "dg=="},
                "Count": -5,
                "Ratio": 1.5,
                "Flag": true,
                "Name": "hi!",
                "Extra": ["AQ==", 2.5],
            })
        );
        assert!(crate::validate::validate(&m, "PutInput", &input, crate::Checks::default()).is_ok());
    }

    #[test]
    fn bad_request_bodies_are_serialization_errors() {
        let m = model();
        let uri = Uri::from_static("/");
        let headers = cbor_headers("Kinesis_20131202.Put");
        for body in [hex("83 010203"), hex("bf 61"), hex("a1 01 02"), hex("a0 00")] {
            let r = decode_request(&m, &request(&headers, &uri, &body));
            assert!(matches!(r, Err(e) if e.code == "SerializationException"), "{body:?}");
        }
        let Ok(Decoded::Ok(_, empty)) = decode_request(&m, &request(&headers, &uri, b"")) else { panic!("empty") };
        assert_eq!(empty, json!({}));
        let headers = cbor_headers("Kinesis_20131202.Nope");
        let r = decode_request(&m, &request(&headers, &uri, &hex("a0")));
        assert!(matches!(r, Err(e) if e.code == "UnknownOperationException"));
    }

    #[test]
    fn outputs_follow_the_shape() {
        let m = model();
        let op = m.operation("Put").unwrap();
        let output = json!({
            "Records": [{"Data": "AAEC", "Arrived": 1_506_440_188.749}, {"Data": "not base64!", "Arrived": "12.5"}],
            "At": 1_700_000_000,
            "Other": {"Data": "AAEC"},
        });
        let r = encode_response(&m, op, &output, "rid");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(r.headers()["x-amzn-requestid"], "rid");
        let millis = |ms: i128| Cbor::Tag(1, Box::new(Cbor::Integer(ms)));
        assert_eq!(
            sorted(decode(r.body()).unwrap()),
            cbor_map(vec![
                ("At", millis(1_700_000_000_000)),
                ("Other", cbor_map(vec![("Data", text("AAEC"))])),
                (
                    "Records",
                    Cbor::Array(vec![
                        cbor_map(vec![("Arrived", millis(1_506_440_188_749)), ("Data", Cbor::Bytes(vec![0, 1, 2]))]),
                        cbor_map(vec![("Arrived", millis(12_500)), ("Data", text("not base64!"))]),
                    ]),
                ),
            ])
        );
        // And back: what the input side makes of it is the value the service gave.
        let back = to_json(&m, Some("PutOutput"), decode(r.body()).unwrap()).unwrap();
        assert_eq!(back["Records"][0], json!({"Data": "AAEC", "Arrived": 1_506_440_188.749}));
        assert_eq!(back["At"], json!(1_700_000_000));
        let r = encode_response(&m, op, &Value::Null, "rid");
        assert_eq!(r.body().as_ref(), hex("a0"));
    }

    #[test]
    fn errors_are_cbor_maps_with_the_json_status() {
        let m = model();
        let err = AwsError::new("Throttled", "Slow down").with_field("RetryAt", "1700000000");
        let r = encode_error(&m, &err, "rid");
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(
            sorted(decode(r.body()).unwrap()),
            cbor_map(vec![
                ("RetryAt", Cbor::Tag(1, Box::new(Cbor::Integer(1_700_000_000_000)))),
                ("__type", text("Throttled")),
                ("message", text("Slow down")),
            ])
        );
        let r = encode_error(&m, &AwsError::internal("boom"), "rid");
        assert_eq!(r.status(), 500);
        let body = to_json(&m, None, decode(r.body()).unwrap()).unwrap();
        assert_eq!(body, json!({"__type": "InternalFailure", "message": "boom"}));
    }

    #[test]
    fn the_wire_is_chosen_by_content_type_for_json_models() {
        let m = model();
        let uri = Uri::from_static("/");
        let mut headers = cbor_headers("Kinesis_20131202.Put");
        assert_eq!(detect_wire(&m, &request(&headers, &uri, b"")), Wire::Cbor);
        headers.insert("content-type", "Application/X-Amz-CBOR-1.1; charset=binary".parse().unwrap());
        assert_eq!(detect_wire(&m, &request(&headers, &uri, b"")), Wire::Cbor);
        headers.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
        assert_eq!(detect_wire(&m, &request(&headers, &uri, b"")), Wire::Json);
        let lambda = ServiceModel::parse(include_str!("../../../models/lambda.json"), None).unwrap();
        let headers = cbor_headers("Lambda.Invoke");
        assert_eq!(detect_wire(&lambda, &request(&headers, &uri, b"")), Wire::RestJson);
    }

    /// A service answering `Put` with its input's data and time as a record.
    struct Echo(ServiceModel);

    impl Service for Echo {
        fn model(&self) -> &ServiceModel {
            &self.0
        }

        fn call<'a>(
            &'a self,
            _ctx: &'a RequestContext,
            _op: &'a Operation,
            input: Value,
        ) -> BoxFuture<'a, Result<Value, AwsError>> {
            Box::pin(async move { Ok(json!({"Records": [{"Data": input["Data"], "Arrived": input["At"]}]})) })
        }
    }

    /// Runs a future that never waits (the echo service's dispatch).
    fn ready<T>(fut: impl Future<Output = T>) -> T {
        let mut fut = std::pin::pin!(fut);
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the future waited"),
        }
    }

    #[test]
    fn dispatch_speaks_cbor_end_to_end() {
        let svc = Echo(model());
        let ctx = RequestContext::internal("000000000000", "us-east-1", "rid".into());
        let (headers, uri) = (cbor_headers("Kinesis_20131202.Put"), Uri::from_static("/"));
        let body = encode(&cbor_map(vec![
            ("Data", Cbor::Bytes(b"hello".to_vec())),
            ("At", Cbor::Tag(1, Box::new(Cbor::Integer(1_700_000_000_250)))),
        ]));
        let r = ready(crate::dispatch(&svc, &ctx, &request(&headers, &uri, &body)));
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(
            sorted(decode(r.body()).unwrap()),
            cbor_map(vec![(
                "Records",
                Cbor::Array(vec![cbor_map(vec![
                    ("Arrived", Cbor::Tag(1, Box::new(Cbor::Integer(1_700_000_000_250)))),
                    ("Data", Cbor::Bytes(b"hello".to_vec())),
                ])])
            )])
        );
        // Invalid inputs are answered in CBOR too: a blob over its maximum length, a missing member.
        for body in [encode(&cbor_map(vec![("Data", Cbor::Bytes(vec![0; 17]))])), hex("a0")] {
            let r = ready(crate::dispatch(&svc, &ctx, &request(&headers, &uri, &body)));
            assert_eq!(r.status(), 400);
            assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
            let err = to_json(&svc.0, None, decode(r.body()).unwrap()).unwrap();
            assert_eq!(err["__type"], "ValidationException", "{err}");
        }
        let r = ready(crate::dispatch(&svc, &ctx, &request(&headers, &uri, &hex("ff"))));
        let err = to_json(&svc.0, None, decode(r.body()).unwrap()).unwrap();
        assert_eq!(err["__type"], "SerializationException");
    }

    #[test]
    fn kinesis_requests_as_the_java_sdk_sends_them() {
        let m = ServiceModel::parse(include_str!("../../../models/kinesis.json"), None).unwrap();
        let uri = Uri::from_static("/");
        let headers = cbor_headers("Kinesis_20131202.PutRecord");
        let body = [
            hex("bf"),
            encode(&text("StreamName")),
            encode(&text("s")),
            encode(&text("Data")),
            encode(&Cbor::Bytes(b"payload".to_vec())),
            encode(&text("PartitionKey")),
            encode(&text("pk")),
            hex("ff"),
        ]
        .concat();
        let Ok(Decoded::Ok(op, input)) = decode_request(&m, &request(&headers, &uri, &body)) else { panic!("decode") };
        assert_eq!(input, json!({"StreamName": "s", "Data": STANDARD.encode(b"payload"), "PartitionKey": "pk"}));
        assert!(crate::validate::validate(&m, op.input.as_deref().unwrap(), &input, crate::Checks::default()).is_ok());
        // GetShardIterator AT_TIMESTAMP: tag 1 over epoch milliseconds.
        let headers = cbor_headers("Kinesis_20131202.GetShardIterator");
        let body = encode(&cbor_map(vec![
            ("ShardId", text("shardId-000000000000")),
            ("ShardIteratorType", text("AT_TIMESTAMP")),
            ("Timestamp", Cbor::Tag(1, Box::new(Cbor::Integer(1_787_036_486_712)))),
        ]));
        let Ok(Decoded::Ok(_, input)) = decode_request(&m, &request(&headers, &uri, &body)) else { panic!("decode") };
        assert_eq!(input["Timestamp"], json!(1_787_036_486.712));
        // GetRecords: record data as byte strings, arrival times as integer milliseconds.
        let op = m.operation("GetRecords").unwrap();
        let output = json!({"Records": [{
            "SequenceNumber": "1", "PartitionKey": "pk", "Data": STANDARD.encode(b"payload"),
            "ApproximateArrivalTimestamp": 1_506_440_188.749,
        }], "MillisBehindLatest": 0});
        let Cbor::Map(out) = decode(encode_response(&m, op, &output, "rid").body()).unwrap() else { panic!("map") };
        let Some((_, Cbor::Array(records))) = out.iter().find(|(k, _)| *k == text("Records")) else {
            panic!("records")
        };
        let Some(Cbor::Map(record)) = records.first() else { panic!("record") };
        assert!(record.contains(&(text("Data"), Cbor::Bytes(b"payload".to_vec()))));
        assert!(record.contains(&(
            text("ApproximateArrivalTimestamp"),
            Cbor::Tag(1, Box::new(Cbor::Integer(1_506_440_188_749)))
        )));
    }
}
