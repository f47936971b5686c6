//! The AWS service model (botocore's `service-2.json`, vendored under `models/`), read into the
//! shapes the codecs walk.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Json,
    Query,
    /// EC2's own query dialect: query-style requests with `queryName`s and flat lists, XML
    /// answers without a result wrapper, and its own error envelope.
    Ec2,
    RestJson,
    RestXml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Uri,
    Querystring,
    Header,
    /// A map bound to headers with a common prefix (`x-amz-meta-`).
    Headers,
    StatusCode,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub shape: String,
    pub location: Location,
    /// Wire name: the query/XML element name, or the header / query-string / URI label name.
    pub location_name: Option<String>,
    /// EC2 protocol: the request parameter name, when it is not the capitalized wire name.
    pub query_name: Option<String>,
    pub flattened: bool,
    pub json_value: bool,
}

#[derive(Debug, Clone)]
pub struct ErrorTrait {
    /// The code the query protocol (and query-compatible JSON) reports.
    pub code: Option<String>,
    pub http_status: u16,
    pub sender_fault: bool,
}

#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    pub members: BTreeMap<String, Member>,
    pub required: Vec<String>,
    pub member: Option<Member>,
    pub key: Option<Member>,
    pub value: Option<Member>,
    pub flattened: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub enum_values: Option<Vec<String>>,
    pub exception: bool,
    /// A union of events sent as an event stream (`SubscribeToShardEventStream`).
    pub event_stream: bool,
    pub error: Option<ErrorTrait>,
    pub timestamp_format: Option<String>,
    /// The member sent as the whole HTTP body (rest protocols).
    pub payload: Option<String>,
    /// Default wire name of members of this shape that do not name themselves.
    pub location_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub method: String,
    pub request_uri: String,
    pub response_code: u16,
    pub input: Option<String>,
    pub output: Option<String>,
    /// Query protocol: the element wrapping the output (`{Op}Result` when absent).
    pub result_wrapper: Option<String>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Metadata {
    pub protocol: Protocol,
    pub api_version: String,
    pub endpoint_prefix: String,
    pub signing_name: String,
    pub target_prefix: Option<String>,
    pub json_version: String,
    pub xml_namespace: Option<String>,
    /// The JSON service also answers (and reports errors as) its former query protocol.
    pub query_compatible: bool,
    pub service_id: String,
}

#[derive(Debug, Clone)]
pub struct ServiceModel {
    pub metadata: Metadata,
    pub operations: HashMap<String, Operation>,
    pub shapes: HashMap<String, Shape>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("model: {0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawModel {
    metadata: RawMetadata,
    operations: HashMap<String, RawOperation>,
    shapes: HashMap<String, RawShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    protocol: String,
    api_version: String,
    endpoint_prefix: String,
    signing_name: Option<String>,
    target_prefix: Option<String>,
    json_version: Option<String>,
    xml_namespace: Option<Value>,
    aws_query_compatible: Option<Value>,
    service_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOperation {
    name: String,
    http: RawHttp,
    input: Option<RawRef>,
    output: Option<RawRef>,
    #[serde(default)]
    errors: Vec<RawRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHttp {
    method: String,
    request_uri: String,
    response_code: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawRef {
    shape: String,
    location: Option<String>,
    location_name: Option<String>,
    query_name: Option<String>,
    result_wrapper: Option<String>,
    #[serde(default)]
    flattened: bool,
    #[serde(default)]
    json_value: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: HashMap<String, RawRef>,
    #[serde(default)]
    required: Vec<String>,
    member: Option<RawRef>,
    key: Option<RawRef>,
    value: Option<RawRef>,
    #[serde(default)]
    flattened: bool,
    min: Option<f64>,
    max: Option<f64>,
    #[serde(rename = "enum")]
    enum_values: Option<Vec<String>>,
    #[serde(default)]
    exception: bool,
    #[serde(default)]
    eventstream: bool,
    error: Option<RawError>,
    timestamp_format: Option<String>,
    payload: Option<String>,
    location_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawError {
    code: Option<String>,
    http_status_code: Option<u16>,
    #[serde(default)]
    sender_fault: bool,
}

fn member(r: RawRef) -> Result<Member, ModelError> {
    let location = match r.location.as_deref() {
        None => Location::Body,
        Some("uri") => Location::Uri,
        Some("querystring") => Location::Querystring,
        Some("header") => Location::Header,
        Some("headers") => Location::Headers,
        Some("statusCode") => Location::StatusCode,
        Some(other) => return Err(ModelError::Invalid(format!("unknown location {other}"))),
    };
    Ok(Member {
        shape: r.shape,
        location,
        location_name: r.location_name,
        query_name: r.query_name,
        flattened: r.flattened,
        json_value: r.json_value,
    })
}

impl ServiceModel {
    /// Reads a model; `overlay` adds wire facts the current model lost (see
    /// `models/sqs-query-names.json`).
    pub fn parse(json: &str, overlay: Option<&str>) -> Result<Self, ModelError> {
        let raw: RawModel = serde_json::from_str(json)?;
        let protocol = match raw.metadata.protocol.as_str() {
            "json" => Protocol::Json,
            "query" => Protocol::Query,
            "ec2" => Protocol::Ec2,
            "rest-json" => Protocol::RestJson,
            "rest-xml" => Protocol::RestXml,
            other => return Err(ModelError::Invalid(format!("unsupported protocol {other}"))),
        };
        let mut metadata = Metadata {
            protocol,
            signing_name: raw.metadata.signing_name.unwrap_or_else(|| raw.metadata.endpoint_prefix.clone()),
            api_version: raw.metadata.api_version,
            endpoint_prefix: raw.metadata.endpoint_prefix,
            target_prefix: raw.metadata.target_prefix,
            json_version: raw.metadata.json_version.unwrap_or_else(|| "1.1".into()),
            xml_namespace: raw.metadata.xml_namespace.and_then(|v| match v {
                Value::String(s) => Some(s),
                Value::Object(o) => o.get("uri").and_then(|u| u.as_str()).map(str::to_string),
                _ => None,
            }),
            query_compatible: raw.metadata.aws_query_compatible.is_some(),
            service_id: raw.metadata.service_id,
        };
        let mut operations = HashMap::new();
        for (name, op) in raw.operations {
            let (input, output) = (op.input, op.output);
            operations.insert(
                name,
                Operation {
                    name: op.name,
                    method: op.http.method,
                    request_uri: op.http.request_uri,
                    response_code: op.http.response_code.unwrap_or(200),
                    input: input.map(|i| i.shape),
                    result_wrapper: output.as_ref().and_then(|o| o.result_wrapper.clone()),
                    output: output.map(|o| o.shape),
                    errors: op.errors.into_iter().map(|e| e.shape).collect(),
                },
            );
        }
        let mut shapes = HashMap::new();
        for (name, s) in raw.shapes {
            let kind = match s.kind.as_str() {
                "structure" => ShapeKind::Structure,
                "list" => ShapeKind::List,
                "map" => ShapeKind::Map,
                "string" => ShapeKind::String,
                "integer" => ShapeKind::Integer,
                "long" => ShapeKind::Long,
                "float" => ShapeKind::Float,
                "double" => ShapeKind::Double,
                "boolean" => ShapeKind::Boolean,
                "timestamp" => ShapeKind::Timestamp,
                "blob" => ShapeKind::Blob,
                other => return Err(ModelError::Invalid(format!("shape {name}: unknown type {other}"))),
            };
            let members = s.members.into_iter().map(|(k, v)| Ok((k, member(v)?))).collect::<Result<_, ModelError>>()?;
            shapes.insert(
                name.clone(),
                Shape {
                    name,
                    kind,
                    members,
                    required: s.required,
                    member: s.member.map(member).transpose()?,
                    key: s.key.map(member).transpose()?,
                    value: s.value.map(member).transpose()?,
                    flattened: s.flattened,
                    min: s.min,
                    max: s.max,
                    enum_values: s.enum_values,
                    exception: s.exception,
                    event_stream: s.eventstream,
                    error: s.error.map(|e| ErrorTrait {
                        code: e.code,
                        http_status: e.http_status_code.unwrap_or(400),
                        sender_fault: e.sender_fault,
                    }),
                    timestamp_format: s.timestamp_format,
                    payload: s.payload,
                    location_name: s.location_name,
                },
            );
        }
        let mut model = ServiceModel { metadata: metadata.clone(), operations, shapes };
        if let Some(overlay) = overlay {
            model.apply_overlay(serde_json::from_str(overlay)?, &mut metadata)?;
            model.metadata = metadata;
        }
        Ok(model)
    }

    fn apply_overlay(&mut self, overlay: Value, metadata: &mut Metadata) -> Result<(), ModelError> {
        if let Some(ns) = overlay.get("xmlNamespace").and_then(Value::as_str) {
            metadata.xml_namespace = Some(ns.to_string());
        }
        let empty = serde_json::Map::new();
        for (name, facts) in overlay.get("shapes").and_then(Value::as_object).unwrap_or(&empty) {
            let Some(shape) = self.shapes.get_mut(name) else { continue };
            let Some(facts) = facts.as_object() else { continue };
            for (k, v) in facts {
                match (k.as_str(), v) {
                    ("flattened", Value::Bool(b)) => shape.flattened = *b,
                    ("locationName", Value::String(wire)) => shape.location_name = Some(wire.clone()),
                    (which, Value::String(wire)) => {
                        let slot = match (shape.kind, which) {
                            (ShapeKind::List, "member") => shape.member.as_mut(),
                            (ShapeKind::Map, "key") => shape.key.as_mut(),
                            (ShapeKind::Map, "value") => shape.value.as_mut(),
                            (ShapeKind::Structure, m) => shape.members.get_mut(m),
                            _ => None,
                        };
                        if let Some(m) = slot {
                            m.location_name = Some(wire.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
        for (name, e) in overlay.get("errors").and_then(Value::as_object).unwrap_or(&empty) {
            if let Some(shape) = self.shapes.get_mut(name) {
                shape.error = Some(ErrorTrait {
                    code: e.get("code").and_then(Value::as_str).map(str::to_string),
                    http_status: e.get("httpStatusCode").and_then(Value::as_u64).map(|s| s as u16).unwrap_or(400),
                    sender_fault: e.get("senderFault").and_then(Value::as_bool).unwrap_or(true),
                });
            }
        }
        Ok(())
    }

    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// The output member that is an event stream, when the operation's output is one
    /// (`EventStream` of SubscribeToShard).
    pub fn event_stream_member(&self, op: &Operation) -> Option<&str> {
        let out = self.shape(op.output.as_deref()?)?;
        out.members
            .iter()
            .find(|(_, m)| self.shape(&m.shape).is_some_and(|s| s.event_stream))
            .map(|(name, _)| name.as_str())
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// The wire name of structure member `name` (query protocol, XML): the member's own
    /// `locationName`, else its shape's, else the member name.
    pub fn wire_name<'a>(&'a self, name: &'a str, m: &'a Member) -> &'a str {
        m.location_name
            .as_deref()
            .or_else(|| self.shapes.get(&m.shape).and_then(|s| s.location_name.as_deref()))
            .unwrap_or(name)
    }

    /// The code an error shape reports in the query protocol (its own name when the model gives
    /// none), its HTTP status and whether the sender is at fault.
    pub fn error_info(&self, code: &str) -> (String, u16, bool) {
        match self.shapes.get(code).and_then(|s| s.error.as_ref()) {
            Some(e) => (e.code.clone().unwrap_or_else(|| code.to_string()), e.http_status, e.sender_fault),
            None => (code.to_string(), 400, true),
        }
    }
}
