//! Queues: their stored record, their attributes with AWS's defaults and validation, and the
//! URLs and ARNs that name them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stratus_core::{Arn, RequestContext, is_account_id};
use stratus_proto::AwsError;

use crate::errors::{
    invalid_attribute_name, invalid_attribute_value, invalid_attribute_value_reason, invalid_parameter,
};
use crate::types::Attributes;

pub const MAX_MESSAGE_SIZE: u64 = 1_048_576;

/// A queue as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueRecord {
    /// Unique for the life of the store; message keys are under it, so a queue created again
    /// with the same name never sees the old one's messages.
    pub id: u64,
    pub name: String,
    pub account: String,
    pub region: String,
    /// The settable attributes, as given (defaults are not stored).
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
    /// Seconds since the epoch.
    pub created: u64,
    pub last_modified: u64,
    /// When the last PurgeQueue started (milliseconds).
    #[serde(default)]
    pub last_purge: Option<u64>,
    /// The message count and (FIFO) group heads are kept for this queue (see `keys`); queues
    /// created before they existed are counted and received from by scanning.
    #[serde(default)]
    pub indexed: bool,
}

/// Settable attributes and their defaults.
const DEFAULTS: &[(&str, &str)] = &[
    ("DelaySeconds", "0"),
    ("MaximumMessageSize", "1048576"),
    ("MessageRetentionPeriod", "345600"),
    ("ReceiveMessageWaitTimeSeconds", "0"),
    ("VisibilityTimeout", "30"),
    ("SqsManagedSseEnabled", "true"),
];

const FIFO_DEFAULTS: &[(&str, &str)] =
    &[("ContentBasedDeduplication", "false"), ("DeduplicationScope", "queue"), ("FifoThroughputLimit", "perQueue")];

/// Attributes a client may set.
const SETTABLE: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Every attribute GetQueueAttributes knows, in the order `All` lists them.
pub const ALL_ATTRIBUTES: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
    "CreatedTimestamp",
    "DelaySeconds",
    "LastModifiedTimestamp",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "QueueArn",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

impl QueueRecord {
    pub fn is_fifo(&self) -> bool {
        self.attributes.get("FifoQueue").is_some_and(|v| v == "true")
    }

    pub fn arn(&self) -> String {
        format!(
            "arn:{partition}:sqs:{}:{}:{}",
            self.region,
            self.account,
            self.name,
            partition = stratus_core::partition(&self.region)
        )
    }

    /// An attribute's effective value (as set, or its default).
    pub fn attr(&self, name: &str) -> Option<String> {
        if let Some(v) = self.attributes.get(name) {
            return Some(v.clone());
        }
        let fifo_default = if self.is_fifo() { FIFO_DEFAULTS.iter().find(|(n, _)| *n == name) } else { None };
        fifo_default.or_else(|| DEFAULTS.iter().find(|(n, _)| *n == name)).map(|(_, v)| v.to_string())
    }

    fn num(&self, name: &str, default: u64) -> u64 {
        self.attr(name).and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    pub fn visibility_timeout(&self) -> u64 {
        self.num("VisibilityTimeout", 30)
    }
    pub fn delay_seconds(&self) -> u64 {
        self.num("DelaySeconds", 0)
    }
    pub fn max_message_size(&self) -> u64 {
        self.num("MaximumMessageSize", MAX_MESSAGE_SIZE)
    }
    pub fn retention_seconds(&self) -> u64 {
        self.num("MessageRetentionPeriod", 345_600)
    }
    pub fn receive_wait_seconds(&self) -> u64 {
        self.num("ReceiveMessageWaitTimeSeconds", 0)
    }
    pub fn content_based_dedup(&self) -> bool {
        self.attr("ContentBasedDeduplication").is_some_and(|v| v == "true")
    }
    pub fn dedup_per_group(&self) -> bool {
        self.attr("DeduplicationScope").is_some_and(|v| v == "messageGroup")
    }

    /// The dead-letter queue's ARN and the receive count that sends a message there.
    pub fn redrive(&self) -> Option<(String, u32)> {
        let v: Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        let arn = v.get("deadLetterTargetArn")?.as_str()?.to_string();
        let count = match v.get("maxReceiveCount")? {
            Value::String(s) => s.parse().ok()?,
            Value::Number(n) => n.as_u64()? as u32,
            _ => return None,
        };
        Some((arn, count))
    }

    /// Whether `source_arn` may use this queue as its dead-letter queue.
    pub fn allows_redrive_from(&self, source_arn: &str) -> bool {
        let Some(policy) = self.attributes.get("RedriveAllowPolicy") else { return true };
        let Ok(v) = serde_json::from_str::<Value>(policy) else { return true };
        match v.get("redrivePermission").and_then(Value::as_str) {
            Some("denyAll") => false,
            Some("byQueue") => v
                .get("sourceQueueArns")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(source_arn))),
            _ => true,
        }
    }
}

/// Checks a queue name (1–80 of `[A-Za-z0-9_-]`, plus `.fifo` for FIFO queues).
pub fn validate_name(name: &str, fifo: bool) -> Result<(), AwsError> {
    let base = if fifo { name.strip_suffix(".fifo") } else { Some(name) };
    let ok = name.len() <= 80
        && base
            .is_some_and(|b| !b.is_empty() && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    if !ok {
        if !fifo && name.ends_with(".fifo") {
            return Err(invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.",
            ));
        }
        return Err(invalid_parameter(if fifo {
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
        } else {
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        }));
    }
    Ok(())
}

fn int_in(name: &str, v: &str, min: u64, max: u64) -> Result<(), AwsError> {
    match v.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(()),
        _ => Err(invalid_attribute_value(name)),
    }
}

fn boolean(name: &str, v: &str) -> Result<(), AwsError> {
    match v {
        "true" | "false" => Ok(()),
        _ => Err(invalid_attribute_value(name)),
    }
}

/// Checks attributes given to CreateQueue (`creating`) or SetQueueAttributes, for a queue that
/// is (or will be) FIFO or not. Cross-queue checks (the dead-letter queue exists) are the
/// caller's.
pub fn validate_attributes(attrs: &Attributes, fifo: bool, creating: bool) -> Result<(), AwsError> {
    for (name, v) in attrs {
        if !SETTABLE.contains(&name.as_str()) {
            return Err(invalid_attribute_name(name));
        }
        match name.as_str() {
            "DelaySeconds" => int_in(name, v, 0, 900)?,
            "MaximumMessageSize" => int_in(name, v, 1024, MAX_MESSAGE_SIZE)?,
            "MessageRetentionPeriod" => int_in(name, v, 60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => int_in(name, v, 0, 20)?,
            "VisibilityTimeout" => int_in(name, v, 0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => int_in(name, v, 60, 86_400)?,
            "SqsManagedSseEnabled" => boolean(name, v)?,
            "KmsMasterKeyId" => {}
            "Policy" if !v.is_empty() && !serde_json::from_str::<Value>(v).is_ok_and(|p| p.is_object()) => {
                return Err(invalid_attribute_value_reason(name, "Policy is not a valid JSON document."));
            }
            "RedrivePolicy" if !v.is_empty() => validate_redrive_policy(v)?,
            "RedriveAllowPolicy" if !v.is_empty() => validate_redrive_allow_policy(v)?,
            "FifoQueue" => {
                // The queue type is fixed at creation: a standard queue does not know the
                // attribute, a FIFO queue accepts only its own value.
                if !creating && !fifo {
                    return Err(invalid_attribute_name(name));
                }
                boolean(name, v)?;
                if fifo != (v == "true") && (!creating || v == "true") {
                    return Err(invalid_attribute_value(name));
                }
            }
            "ContentBasedDeduplication" => {
                boolean(name, v)?;
                if !fifo {
                    return Err(invalid_attribute_name(name));
                }
            }
            "DeduplicationScope" => {
                if !fifo {
                    return Err(invalid_attribute_name(name));
                }
                if !matches!(v.as_str(), "messageGroup" | "queue") {
                    return Err(invalid_attribute_value(name));
                }
            }
            "FifoThroughputLimit" => {
                if !fifo {
                    return Err(invalid_attribute_name(name));
                }
                if !matches!(v.as_str(), "perQueue" | "perMessageGroupId") {
                    return Err(invalid_attribute_value(name));
                }
            }
            _ => {}
        }
    }
    if attrs.get("FifoThroughputLimit").is_some_and(|v| v == "perMessageGroupId")
        && attrs.get("DeduplicationScope").is_some_and(|v| v == "queue")
    {
        return Err(invalid_attribute_value_reason(
            "FifoThroughputLimit",
            "FifoThroughputLimit perMessageGroupId requires DeduplicationScope messageGroup.",
        ));
    }
    Ok(())
}

fn validate_redrive_policy(v: &str) -> Result<(), AwsError> {
    let bad =
        |reason: &str| invalid_parameter(format!("Value {v} for parameter RedrivePolicy is invalid. Reason: {reason}"));
    let p: Value = serde_json::from_str(v).map_err(|_| bad("Redrive policy is not a valid JSON map."))?;
    let obj = p.as_object().ok_or_else(|| bad("Redrive policy is not a valid JSON map."))?;
    for k in obj.keys() {
        if k != "deadLetterTargetArn" && k != "maxReceiveCount" {
            return Err(bad(&format!(
                "Only following attributes are supported:[deadLetterTargetArn, maxReceiveCount], found: {k}"
            )));
        }
    }
    let arn = obj
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Value deadLetterTargetArn is required."))?;
    if Arn::parse(arn).is_none_or(|a| a.service != "sqs") {
        return Err(bad(&format!("Invalid value for deadLetterTargetArn: {arn}")));
    }
    let count = match obj.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| bad("Value maxReceiveCount is required and must be an integer."))?;
    if !(1..=1000).contains(&count) {
        return Err(bad(&format!(
            "Value {count} for parameter maxReceiveCount is invalid. Reason: must be between 1 and 1000."
        )));
    }
    Ok(())
}

fn validate_redrive_allow_policy(v: &str) -> Result<(), AwsError> {
    let bad = |reason: &str| {
        invalid_parameter(format!("Value {v} for parameter RedriveAllowPolicy is invalid. Reason: {reason}"))
    };
    let p: Value = serde_json::from_str(v).map_err(|_| bad("Redrive allow policy is not a valid JSON map."))?;
    let perm = p
        .get("redrivePermission")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("Value redrivePermission is required."))?;
    let arns = p.get("sourceQueueArns");
    match perm {
        "allowAll" | "denyAll" => {
            if arns.is_some() {
                return Err(bad(&format!("Value sourceQueueArns is not allowed with redrivePermission {perm}.")));
            }
        }
        "byQueue" => {
            let list =
                arns.and_then(Value::as_array).ok_or_else(|| bad("Value sourceQueueArns is required for byQueue."))?;
            if list.is_empty() || list.len() > 10 {
                return Err(bad("Value sourceQueueArns must list 1 to 10 queues."));
            }
        }
        other => return Err(bad(&format!("Invalid value for redrivePermission: {other}"))),
    }
    Ok(())
}

/// The stored form of a valid RedrivePolicy: the target ARN and the count as a number, as
/// AWS returns it.
pub fn normalize_redrive_policy(v: &str) -> String {
    let Ok(p) = serde_json::from_str::<Value>(v) else { return v.to_string() };
    let arn = p.get("deadLetterTargetArn").and_then(Value::as_str).unwrap_or_default();
    let count = match p.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": count}).to_string()
}

/// The URL a client uses for a queue: on loopback `http://localhost:{port}/{account}/{name}`
/// (DESIGN.md §3), otherwise the host the client reached us at.
pub fn queue_url(ctx: &RequestContext, account: &str, name: &str) -> String {
    let host = ctx.host.as_str();
    let (hostname, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || p.chars().all(|c| c.is_ascii_digit()) => (h, Some(p)),
        _ => (host, None),
    };
    let loopback =
        hostname == "localhost" || hostname.starts_with("127.") || hostname == "[::1]" || hostname.is_empty();
    let authority = match (loopback, port) {
        (true, Some(p)) => format!("localhost:{p}"),
        (true, None) => "localhost".to_string(),
        (false, _) => host.to_string(),
    };
    format!("http://{authority}/{account}/{name}")
}

/// The (account, queue name) a queue URL names. Any host is accepted: the path decides.
pub fn parse_queue_url(url: &str, ctx: &RequestContext) -> Option<(String, String)> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = match rest.find('/') {
        Some(i) if url.contains("://") => &rest[i + 1..],
        _ if url.contains("://") => return None,
        _ => rest.trim_start_matches('/'),
    };
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
    let mut parts = path.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(acct), Some(name), None) if is_account_id(acct) && !name.is_empty() => {
            Some((acct.to_string(), name.to_string()))
        }
        (Some(name), None, None) if !name.is_empty() && !url.contains("://") => {
            Some((ctx.account.clone(), name.to_string()))
        }
        _ => None,
    }
}

/// The (account, region, name) of a queue ARN.
pub fn parse_queue_arn(arn: &str) -> Option<(String, String, String)> {
    let a = Arn::parse(arn)?;
    (a.service == "sqs" && !a.resource.is_empty())
        .then(|| (a.account.to_string(), a.region.to_string(), a.resource.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ctx(host: &str) -> RequestContext {
        RequestContext {
            account: "000000000000".into(),
            region: "us-east-1".into(),
            request_id: "r".into(),
            access_key: None,
            host: host.into(),
            path: "/".into(),
        }
    }

    #[test]
    fn urls_round_trip() {
        let c = ctx("127.0.0.1:4566");
        let url = queue_url(&c, "000000000000", "q1");
        assert_eq!(url, "http://localhost:4566/000000000000/q1");
        assert_eq!(parse_queue_url(&url, &c), Some(("000000000000".into(), "q1".into())));
        assert_eq!(
            parse_queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/x.fifo", &c),
            Some(("123456789012".into(), "x.fifo".into()))
        );
        assert_eq!(parse_queue_url("http://localhost:4566/", &c), None);
        assert_eq!(parse_queue_url("http://localhost:4566/abc/q", &c), None);
        assert_eq!(queue_url(&ctx("sqs.example.com:9000"), "1", "q"), "http://sqs.example.com:9000/1/q");
    }

    #[test]
    fn names() {
        assert!(validate_name("good-Name_1", false).is_ok());
        assert!(validate_name("bad name", false).is_err());
        assert!(validate_name(&"a".repeat(81), false).is_err());
        assert!(validate_name("x.fifo", true).is_ok());
        assert!(validate_name("x", true).is_err());
        assert!(validate_name(".fifo", true).is_err());
    }

    #[test]
    fn attribute_ranges() {
        let one = |k: &str, v: &str| {
            let mut a = Attributes::new();
            a.insert(k.into(), v.into());
            a
        };
        assert!(validate_attributes(&one("VisibilityTimeout", "43200"), false, true).is_ok());
        assert!(validate_attributes(&one("VisibilityTimeout", "43201"), false, true).is_err());
        assert!(validate_attributes(&one("MaximumMessageSize", "1048576"), false, true).is_ok());
        assert!(validate_attributes(&one("MaximumMessageSize", "1048577"), false, true).is_err());
        assert!(validate_attributes(&one("ContentBasedDeduplication", "true"), false, true).is_err());
        assert!(validate_attributes(&one("ContentBasedDeduplication", "true"), true, true).is_ok());
        assert!(validate_attributes(&one("Bogus", "1"), false, true).is_err());
        assert!(
            validate_attributes(
                &one(
                    "RedrivePolicy",
                    r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:d","maxReceiveCount":"3"}"#
                ),
                false,
                true
            )
            .is_ok()
        );
        assert!(validate_attributes(&one("RedrivePolicy", r#"{"maxReceiveCount":3}"#), false, true).is_err());
        assert!(
            validate_attributes(&one("RedriveAllowPolicy", r#"{"redrivePermission":"byQueue"}"#), false, true).is_err()
        );
    }
}
