//! AWS service integrations of HTTP APIs (`IntegrationSubtype`) for the services served here:
//! SQS-SendMessage, SQS-ReceiveMessage, SQS-DeleteMessage, SQS-PurgeQueue and
//! Kinesis-PutRecord. The integration's `requestParameters` name the action's parameters
//! (mapping values, see `mapping`); the action is called in the service's JSON protocol, as the
//! integration's credentials role (`Backends::aws`), and its answer is the route's.

use serde_json::{Map, Value};

use super::{Backends, Call, HttpAnswer, mapping, message};

/// A subtype: the service, its `X-Amz-Target`, the JSON protocol's content type, and the
/// parameters the subtype requires.
pub struct Subtype {
    pub name: &'static str,
    pub service: &'static str,
    pub target: &'static str,
    pub content_type: &'static str,
    pub required: &'static [&'static str],
}

const SQS_JSON: &str = "application/x-amz-json-1.0";
const KINESIS_JSON: &str = "application/x-amz-json-1.1";

pub const SUBTYPES: &[Subtype] = &[
    Subtype {
        name: "SQS-SendMessage",
        service: "sqs",
        target: "AmazonSQS.SendMessage",
        content_type: SQS_JSON,
        required: &["QueueUrl", "MessageBody"],
    },
    Subtype {
        name: "SQS-ReceiveMessage",
        service: "sqs",
        target: "AmazonSQS.ReceiveMessage",
        content_type: SQS_JSON,
        required: &["QueueUrl"],
    },
    Subtype {
        name: "SQS-DeleteMessage",
        service: "sqs",
        target: "AmazonSQS.DeleteMessage",
        content_type: SQS_JSON,
        required: &["QueueUrl", "ReceiptHandle"],
    },
    Subtype {
        name: "SQS-PurgeQueue",
        service: "sqs",
        target: "AmazonSQS.PurgeQueue",
        content_type: SQS_JSON,
        required: &["QueueUrl"],
    },
    Subtype {
        name: "Kinesis-PutRecord",
        service: "kinesis",
        target: "Kinesis_20131202.PutRecord",
        content_type: KINESIS_JSON,
        required: &["StreamName", "Data", "PartitionKey"],
    },
];

pub fn subtype(name: &str) -> Option<&'static Subtype> {
    SUBTYPES.iter().find(|s| s.name == name)
}

/// A call of an AWS action for an integration.
#[derive(Debug, Clone)]
pub struct ServiceCall {
    pub service: &'static str,
    pub target: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub account: String,
    pub region: String,
    /// The integration's credentials role, if any.
    pub credentials: Option<String>,
}

const INTEGERS: &[&str] = &["DelaySeconds", "MaxNumberOfMessages", "VisibilityTimeout", "WaitTimeSeconds"];
const LISTS: &[&str] = &["AttributeNames", "MessageAttributeNames", "MessageSystemAttributeNames"];
const OBJECTS: &[&str] = &["MessageAttributes", "MessageSystemAttributes"];

/// The action's input from the mapped parameters, with the JSON types the action takes.
fn typed(params: Map<String, Value>) -> Map<String, Value> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    params
        .into_iter()
        .filter(|(k, _)| k != "Region")
        .map(|(k, v)| {
            let text = v.as_str().unwrap_or_default().to_string();
            let value = if INTEGERS.contains(&k.as_str()) {
                text.trim().parse::<i64>().map(Value::from).unwrap_or(Value::String(text))
            } else if LISTS.contains(&k.as_str()) {
                serde_json::from_str::<Value>(&text).ok().filter(Value::is_array).unwrap_or_else(|| {
                    Value::Array(
                        text.split(',')
                            .map(str::trim)
                            .filter(|x| !x.is_empty())
                            .map(|x| Value::String(x.into()))
                            .collect(),
                    )
                })
            } else if OBJECTS.contains(&k.as_str()) {
                serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text))
            } else if k == "Data" {
                // Kinesis takes base64; text that is not base64 already is encoded.
                if b64.decode(text.as_bytes()).is_ok() { Value::String(text) } else { Value::String(b64.encode(text)) }
            } else {
                Value::String(text)
            };
            (k, value)
        })
        .collect()
}

pub(crate) async fn call(c: &Call<'_>, integration: &Value, name: &str, backends: &dyn Backends) -> HttpAnswer {
    let Some(sub) = subtype(name) else { return message(500, "Internal Server Error") };
    let params = mapping::service_parameters(integration, c);
    let region = params.get("Region").and_then(Value::as_str).filter(|r| !r.is_empty()).map(str::to_string);
    let body = Value::Object(typed(params)).to_string().into_bytes();
    let call = ServiceCall {
        service: sub.service,
        target: sub.target,
        content_type: sub.content_type,
        body,
        account: c.account.clone(),
        region: region.unwrap_or_else(|| c.region.clone()),
        credentials: integration.get("credentialsArn").and_then(Value::as_str).map(str::to_string),
    };
    match backends.aws(call).await {
        Ok(mut a) => {
            a.headers.retain(|(k, _)| k.eq_ignore_ascii_case("content-type"));
            a
        }
        Err(e) => {
            tracing::debug!(api = %c.req.api_id, error = ?e, "AWS service integration failed");
            message(500, "Internal Server Error")
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parameter_types() {
        let mut p = Map::new();
        for (k, v) in [
            ("QueueUrl", "http://q"),
            ("DelaySeconds", "5"),
            ("AttributeNames", "All, SentTimestamp"),
            ("MessageAttributes", r#"{"a": {"DataType": "String", "StringValue": "x"}}"#),
            ("Data", "hello"),
            ("Region", "eu-west-1"),
        ] {
            p.insert(k.into(), json!(v));
        }
        let t = typed(p);
        assert_eq!(t["DelaySeconds"], json!(5));
        assert_eq!(t["AttributeNames"], json!(["All", "SentTimestamp"]));
        assert_eq!(t["MessageAttributes"]["a"]["StringValue"], "x");
        assert_eq!(t["Data"], "aGVsbG8=");
        assert!(!t.contains_key("Region"));
        assert!(subtype("SQS-SendMessage").is_some() && subtype("SQS-ChangeMessageVisibility").is_none());
    }
}
