//! The JSON protocols (`awsJson1_0`, `awsJson1_1`): `X-Amz-Target: Prefix.Operation`, a JSON
//! object in, a JSON object out, errors as `{"__type": …, "message": …}`. Query-compatible
//! services (SQS) add the `x-amzn-query-error: Code;Sender` header their clients read.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Map, Value};

use crate::error::AwsError;
use crate::model::ServiceModel;
use crate::{ApiRequest, Decoded, respond};

pub fn decode_request<'m>(model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<Decoded<'m>, AwsError> {
    let target = req.header("x-amz-target").unwrap_or_default();
    let (prefix, name) = target.rsplit_once('.').unwrap_or(("", target));
    let op = match model.metadata.target_prefix.as_deref() {
        Some(p) if p == prefix => model.operation(name),
        _ => None,
    }
    .ok_or_else(|| AwsError::new("UnknownOperationException", format!("Unknown operation {target}")))?;
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

pub fn encode_error(model: &ServiceModel, err: &AwsError, request_id: &str) -> Response<Bytes> {
    let (query_code, status, sender) = model.error_info(&err.code);
    let status = err.status.unwrap_or(status);
    let sender = err.sender.unwrap_or(sender && status < 500);
    let mut body = serde_json::json!({
        "__type": format!("com.amazonaws.{}#{}", model.metadata.endpoint_prefix, err.code),
        "message": err.message,
    });
    if let Value::Object(obj) = &mut body {
        for (k, v) in &err.fields {
            obj.insert(k.clone(), crate::field_value(v));
        }
    }
    let mut r = respond(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        content_type(model),
        request_id,
        Bytes::from(body.to_string()),
    );
    if model.metadata.query_compatible
        && let Ok(v) = HeaderValue::from_str(&format!("{query_code};{}", if sender { "Sender" } else { "Receiver" }))
    {
        r.headers_mut().insert("x-amzn-query-error", v);
    }
    r
}
