//! Fuzzes the query protocol: form parsing, decoding an operation's input from the parameters,
//! validating it, and the XML response encoder.
//!
//! Input layout: the whole input is an `application/x-www-form-urlencoded` body
//! (`Action=SendMessage&QueueUrl=…&MessageBody=…`). `Action` picks the operation in the first
//! query-protocol model that has it: SQS (query-compatible JSON model with its query-name
//! overlay), then IAM, STS and SNS.
//!
//! Besides the input shape, the parameters are also decoded against the operation's *output*
//! shape, so that the XML encoder sees structured values with lists, maps and flattened
//! members in the places it will write them, not only the members input and output share.
//!
//! Run with `scripts/fuzz.sh 60 query_decode` from the repository root.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use stratus_proto::model::ServiceModel;
use stratus_proto::query::{self, Params};
use stratus_proto::validate::{Checks, validate};

static MODELS: LazyLock<[ServiceModel; 4]> = LazyLock::new(|| {
    let parse = |json: &str, overlay: Option<&str>| ServiceModel::parse(json, overlay).expect("model parses");
    [
        parse(include_str!("../../models/sqs.json"), Some(include_str!("../../models/sqs-query-names.json"))),
        parse(include_str!("../../models/iam.json"), None),
        parse(include_str!("../../models/sts.json"), None),
        parse(include_str!("../../models/sns.json"), None),
    ]
});

fuzz_target!(|data: &[u8]| {
    let mut params = Params::new();
    if let Err(message) = query::parse_form(data, &mut params) {
        // Error bodies carry request text back to the client.
        let err = stratus_proto::AwsError::new("MalformedQueryString", message);
        let _ = query::encode_error(&MODELS[0], &err, "rid");
        return;
    }
    let Some(action) = params.get("Action") else {
        return;
    };
    let Some((model, op)) = MODELS.iter().find_map(|m| m.operation(action).map(|op| (m, op))) else {
        let err = stratus_proto::AwsError::new("InvalidAction", format!("The action {action} is not valid."));
        let _ = query::encode_error(&MODELS[0], &err, "rid");
        return;
    };

    match query::decode(model, op, &params) {
        Ok(input) => {
            if let Some(shape) = op.input.as_deref()
                && let Err(failure) = validate(model, shape, &input, Checks::default())
            {
                let _ = query::encode_error(model, &failure.to_query_style(), "rid");
                let _ = failure.to_validation_exception();
            }
            // The decoded input as the response value: XML encoding must not panic whatever
            // the value holds.
            let _ = query::encode_response(model, op, &input, "rid");
        }
        Err(failure) => {
            let _ = query::encode_error(model, &failure.to_query_style(), "rid");
        }
    }

    // The same parameters decoded against the output shape, then encoded as the response.
    let mut as_output = op.clone();
    as_output.input = op.output.clone();
    if let Ok(output) = query::decode(model, &as_output, &params) {
        let _ = query::encode_response(model, op, &output, "rid");
    }
});
