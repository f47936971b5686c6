//! Fuzzes the rest-json protocol over the Lambda model: routing by method and URI template,
//! binding input members to labels, query string, headers, payload and JSON body, validating
//! the result, and the response encoder.
//!
//! Input layout, like an HTTP/1.1 request: the first line is `METHOD request-target`
//! (`GET /2015-03-31/functions/f?Qualifier=1`), then `name: value` header lines up to an empty
//! line, then the body. Header lines that are not valid headers are skipped.
//!
//! Run with `scripts/fuzz.sh 60 restjson_decode` from the repository root.
#![no_main]

use std::sync::LazyLock;

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, Uri};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use stratus_proto::model::ServiceModel;
use stratus_proto::validate::{Checks, validate};
use stratus_proto::{ApiRequest, Decoded, restjson};

static LAMBDA: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::parse(include_str!("../../models/lambda.json"), None).expect("models/lambda.json parses")
});

/// Splits `data` at the first `\n`.
fn line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    }
}

fuzz_target!(|data: &[u8]| {
    let model: &ServiceModel = &LAMBDA;
    let (request_line, mut rest) = line(data);
    let Some(space) = request_line.iter().position(|&b| b == b' ') else {
        return;
    };
    let (Ok(method), Ok(uri)) = (Method::from_bytes(&request_line[..space]), Uri::try_from(&request_line[space + 1..]))
    else {
        return;
    };

    let mut headers = HeaderMap::new();
    let body = loop {
        if rest.is_empty() {
            break rest;
        }
        let (header, after) = line(rest);
        rest = after;
        if header.is_empty() {
            break rest;
        }
        let Some(colon) = header.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = header.split_at(colon);
        let value = value[1..].strip_prefix(b" ").unwrap_or(&value[1..]);
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    };

    let req = ApiRequest { method: &method, uri: &uri, headers: &headers, body };
    match restjson::decode_request(model, &req) {
        Ok(Decoded::Ok(op, input)) => {
            if let Some(shape) = op.input.as_deref()
                && let Err(failure) = validate(model, shape, &input, Checks::default())
            {
                let _ = restjson::encode_error(model, &failure.to_validation_exception(), "rid");
            }
            // The decoded input, and the body as arbitrary JSON, as the operation's output:
            // status code, header and payload members must encode whatever they hold.
            let _ = restjson::encode_response(model, op, input, "rid");
            if let Ok(output) = serde_json::from_slice::<Value>(body) {
                let _ = restjson::encode_response(model, op, output, "rid");
            }
        }
        Ok(Decoded::Invalid(_, failure)) => {
            let _ = restjson::encode_error(model, &failure.to_validation_exception(), "rid");
        }
        Err(err) => {
            let _ = restjson::encode_error(model, &err, "rid");
        }
    }
});
