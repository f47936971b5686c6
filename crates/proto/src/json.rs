//! The JSON protocols (`awsJson1_0`, `awsJson1_1`): `X-Amz-Target: Prefix.Operation`, a JSON
//! object in, a JSON object out, errors as `{"__type": …, "message": …}`. Query-compatible
//! services (SQS) add the `x-amzn-query-error: Code;Sender` header their clients read.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

use crate::error::AwsError;
use crate::model::{Operation, ServiceModel};
use crate::{ApiRequest, Decoded, respond};

/// The operation `X-Amz-Target` names (shared with the CBOR wire).
pub(crate) fn operation<'m>(model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<&'m Operation, AwsError> {
    let target = req.header("x-amz-target").unwrap_or_default();
    let (prefix, name) = target.rsplit_once('.').unwrap_or(("", target));
    match model.metadata.target_prefix.as_deref() {
        Some(p) if p == prefix => model.operation(name),
        _ => None,
    }
    .ok_or_else(|| AwsError::new("UnknownOperationException", format!("Unknown operation {target}")))
}

pub fn decode_request<'m>(model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<Decoded<'m>, AwsError> {
    let op = operation(model, req)?;
    let input = if req.body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        let v: Value = serde_json::from_slice(req.body).map_err(|e| {
            AwsError::new("SerializationException", format!("Could not parse the request body as JSON: {e}"))
        })?;
        if !v.is_object() {
            return Err(AwsError::new("SerializationException", "The request body must be a JSON object."));
        }
        v
    };
    Ok(Decoded::Ok(op, input))
}

pub fn content_type(model: &ServiceModel) -> &'static str {
    if model.metadata.json_version == "1.0" { "application/x-amz-json-1.0" } else { "application/x-amz-json-1.1" }
}

pub fn encode_response(model: &ServiceModel, output: &Value, request_id: &str) -> Response<Bytes> {
    let body = match output {
        Value::Null => b"{}".to_vec(),
        v => serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()),
    };
    respond(StatusCode::OK, content_type(model), request_id, body.into())
}

/// The HTTP status of `err` and, for a query-compatible service, the `x-amzn-query-error`
/// header its clients read (shared with the CBOR wire).
pub(crate) fn error_status(model: &ServiceModel, err: &AwsError) -> (StatusCode, Option<HeaderValue>) {
    let (query_code, status, sender) = model.error_info(&err.code);
    let status = err.status.unwrap_or(status);
    let sender = err.sender.unwrap_or(sender && status < 500);
    let query_error = model
        .metadata
        .query_compatible
        .then(|| HeaderValue::from_str(&format!("{query_code};{}", if sender { "Sender" } else { "Receiver" })).ok())
        .flatten();
    (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), query_error)
}

pub fn encode_error(model: &ServiceModel, err: &AwsError, request_id: &str) -> Response<Bytes> {
    let (status, query_error) = error_status(model, err);
    let mut body = serde_json::json!({
        "__type": format!("com.amazonaws.{}#{}", model.metadata.endpoint_prefix, err.code),
        "message": err.message,
    });
    if let Value::Object(obj) = &mut body {
        for (k, v) in &err.fields {
            obj.insert(k.clone(), crate::field_value(v));
        }
    }
    let mut r = respond(status, content_type(model), request_id, Bytes::from(body.to_string()));
    if let Some(v) = query_error {
        r.headers_mut().insert("x-amzn-query-error", v);
    }
    r
}
