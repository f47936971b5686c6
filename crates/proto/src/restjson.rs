//! The rest-json protocol (Lambda, API Gateway, …): operations chosen by method and URI
//! template, input members bound to the path, query string, headers and JSON body.

use bytes::Bytes;
use http::{Response, StatusCode};
use serde_json::Value;

use crate::error::AwsError;
use crate::model::{Operation, ServiceModel};
use crate::{ApiRequest, Decoded, respond};

pub fn decode_request<'m>(_model: &'m ServiceModel, req: &ApiRequest<'_>) -> Result<Decoded<'m>, AwsError> {
    Err(AwsError::new("UnknownOperationException", format!("No operation matches {} {}", req.method, req.uri.path()))
        .with_status(404))
}

pub fn encode_response(_model: &ServiceModel, op: &Operation, output: Value, request_id: &str) -> Response<Bytes> {
    let status = StatusCode::from_u16(op.response_code).unwrap_or(StatusCode::OK);
    respond(status, "application/json", request_id, Bytes::from(output.to_string()))
}

pub fn encode_error(model: &ServiceModel, err: &AwsError, request_id: &str) -> Response<Bytes> {
    let (_, status, _) = model.error_info(&err.code);
    let status = err.status.unwrap_or(status);
    let body = serde_json::json!({ "message": err.message, "Type": if status < 500 { "User" } else { "Service" } });
    let mut r = respond(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        "application/json",
        request_id,
        Bytes::from(body.to_string()),
    );
    if let Ok(v) = http::HeaderValue::from_str(&err.code) {
        r.headers_mut().insert("x-amzn-errortype", v);
    }
    r
}
