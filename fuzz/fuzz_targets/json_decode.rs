//! Fuzzes the JSON protocol decoder (`awsJson1_0` / `awsJson1_1`) and the model validation of
//! what it decodes, plus the response encoders fed with arbitrary JSON values.
//!
//! Input layout: the first byte picks the model (even: SQS with its query-name overlay, odd:
//! DynamoDB); the rest is split at the first `\n`: the first line is the `X-Amz-Target` header
//! value (`AmazonSQS.SendMessage`, `DynamoDB_20120810.PutItem`), the remainder the body.
//!
//! Run with `scripts/fuzz.sh 60 json_decode` from the repository root.
#![no_main]

use std::sync::LazyLock;

use http::header::HeaderValue;
use http::{HeaderMap, Method, Uri};
use libfuzzer_sys::fuzz_target;
use stratus_proto::model::ServiceModel;
use stratus_proto::validate::{Checks, validate};
use stratus_proto::{ApiRequest, Decoded, json, query};

static SQS: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../models/sqs.json"), Some(include_str!("../../models/sqs-query-names.json")))
        .expect("models/sqs.json parses")
});

static DYNAMODB: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../models/dynamodb.json"), None).expect("models/dynamodb.json parses")
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let model: &ServiceModel = if selector % 2 == 0 { &SQS } else { &DYNAMODB };

    let (target, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(target) {
        headers.insert("x-amz-target", v);
    }
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.0"));
    let uri = Uri::from_static("/");
    let req = ApiRequest { method: &Method::POST, uri: &uri, headers: &headers, body };

    match json::decode_request(model, &req) {
        Ok(Decoded::Ok(op, input)) => {
            let checked = match op.input.as_deref() {
                Some(shape) => validate(model, shape, &input, Checks::default()),
                None => Ok(()),
            };
            // Without enum and range checks validation walks further into the value.
            if let Some(shape) = op.input.as_deref() {
                let _ = validate(model, shape, &input, Checks { enums: false, ranges: false });
            }
            if let Err(failure) = &checked {
                let _ = failure.to_validation_exception();
                let _ = failure.to_query_style();
            }
            // The decoded body, taken as the operation's output: the encoders must cope with
            // values of any type in any member (XML for the query protocol, JSON otherwise).
            let _ = query::encode_response(model, op, &input, "rid");
            let _ = json::encode_response(model, &input, "rid");
        }
        Ok(Decoded::Invalid(_, failure)) => {
            let _ = failure.to_validation_exception();
            let _ = failure.to_query_style();
        }
        Err(err) => {
            let _ = json::encode_error(model, &err, "rid");
            let _ = query::encode_error(model, &err, "rid");
        }
    }
});
