//! Bucket notification configurations (validation as AWS does it) and the event records an
//! object change produces. Records go to the storage outbox (topic [`crate::EVENTS_TOPIC`]) in
//! the transaction that makes the change; the binary's trigger engine delivers them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::errors::invalid_argument;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum DestinationKind {
    Queue,
    Topic,
    Lambda,
}

/// One QueueConfiguration / TopicConfiguration / LambdaFunctionConfiguration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NotificationRule {
    pub kind: DestinationKind,
    pub id: String,
    pub arn: String,
    /// As configured, `s3:` prefix included (`s3:ObjectCreated:*`).
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// Event types a configuration may name (wildcards included).
const EVENT_TYPES: &[&str] = &[
    "s3:ReducedRedundancyLostObject",
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
];

/// Whether the configured event type `pattern` covers the event `name` (`ObjectCreated:Put`).
pub fn event_matches(pattern: &str, name: &str) -> bool {
    let Some(p) = pattern.strip_prefix("s3:") else { return false };
    match p.strip_suffix('*') {
        Some(family) => name.starts_with(family),
        None => p == name,
    }
}

/// Whether two configured event types can both match one event.
fn events_overlap(a: &str, b: &str) -> bool {
    let fam = |s: &str| s.strip_suffix('*').map(str::to_string);
    match (fam(a), fam(b)) {
        (Some(fa), _) => b.starts_with(&fa),
        (_, Some(fb)) => a.starts_with(&fb),
        _ => a == b,
    }
}

impl NotificationRule {
    pub fn matches(&self, event_name: &str, key: &str) -> bool {
        self.events.iter().any(|e| event_matches(e, event_name))
            && self.prefix.as_deref().is_none_or(|p| key.starts_with(p))
            && self.suffix.as_deref().is_none_or(|s| key.ends_with(s))
    }

    /// Two rules overlap when some event type and some key can match both (AWS refuses that).
    fn overlaps(&self, other: &NotificationRule) -> bool {
        let events = self.events.iter().any(|a| other.events.iter().any(|b| events_overlap(a, b)));
        let affix = |a: &Option<String>, b: &Option<String>, f: fn(&str, &str) -> bool| match (a, b) {
            (Some(x), Some(y)) => f(x, y) || f(y, x),
            _ => true,
        };
        events
            && affix(&self.prefix, &other.prefix, |x, y| x.starts_with(y))
            && affix(&self.suffix, &other.suffix, |x, y| x.ends_with(y))
    }
}

/// Validates a parsed configuration as S3 does (event names, filters, overlaps). Destinations
/// are checked separately (they need the other services).
pub fn validate(rules: &[NotificationRule]) -> Result<(), s3s::S3Error> {
    for r in rules {
        if r.events.is_empty() {
            return Err(invalid_argument("The event is not supported for notifications"));
        }
        for e in &r.events {
            if !EVENT_TYPES.contains(&e.as_str()) {
                return Err(invalid_argument("The event is not supported for notifications"));
            }
        }
    }
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            if a.overlaps(b) {
                return Err(invalid_argument(
                    "Configurations overlap. Configurations on the same bucket cannot share a common event type.",
                ));
            }
        }
    }
    let mut ids = std::collections::HashSet::new();
    for r in rules {
        if !ids.insert(r.id.as_str()) {
            return Err(invalid_argument("Duplicate notification configuration id"));
        }
    }
    Ok(())
}

/// Reads a configuration's key filter rules into (prefix, suffix).
pub fn filter_rules(rules: &[(String, String)]) -> Result<(Option<String>, Option<String>), s3s::S3Error> {
    let (mut prefix, mut suffix) = (None, None);
    for (name, value) in rules {
        let slot = match name.to_ascii_lowercase().as_str() {
            "prefix" => &mut prefix,
            "suffix" => &mut suffix,
            _ => {
                return Err(invalid_argument("filter rule name must be either prefix or suffix"));
            }
        };
        if slot.is_some() {
            return Err(invalid_argument(&format!(
                "Cannot specify more than one {} rule in a filter.",
                name.to_ascii_lowercase()
            )));
        }
        *slot = Some(value.clone());
    }
    Ok((prefix, suffix))
}

/// The object part of an event.
pub struct ObjectChange<'a> {
    pub event_name: &'a str,
    pub key: &'a str,
    pub size: Option<u64>,
    pub etag: Option<&'a str>,
    pub version_id: Option<&'a str>,
    pub sequencer: u64,
    /// The storage class a `LifecycleTransition` moved the object to.
    pub transition: Option<&'a str>,
}

/// Who caused the event and where.
pub struct EventSource<'a> {
    pub region: &'a str,
    pub bucket: &'a str,
    pub bucket_owner: &'a str,
    pub principal_id: &'a str,
    pub source_ip: &'a str,
    pub request_id: &'a str,
    pub host_id: &'a str,
    pub time: &'a str,
}

/// The `{"Records":[…]}` message of AWS's event message structure (version 2.1).
pub fn event_message(src: &EventSource<'_>, configuration_id: &str, change: &ObjectChange<'_>) -> Value {
    let mut object = json!({
        "key": encode_key(change.key),
        "sequencer": format!("{:016X}", change.sequencer),
    });
    if let Some(size) = change.size {
        object["size"] = json!(size);
    }
    if let Some(etag) = change.etag {
        object["eTag"] = json!(etag);
    }
    if let Some(v) = change.version_id {
        object["versionId"] = json!(v);
    }
    let mut record = json!({
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": src.region,
        "eventTime": src.time,
        "eventName": change.event_name,
        "userIdentity": {"principalId": src.principal_id},
        "requestParameters": {"sourceIPAddress": src.source_ip},
        "responseElements": {"x-amz-request-id": src.request_id, "x-amz-id-2": src.host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": src.bucket,
                "ownerIdentity": {"principalId": src.bucket_owner},
                "arn": format!("arn:{}:s3:::{}", stratus_core::partition(src.region), src.bucket),
            },
            "object": object,
        },
    });
    if let (Some(class), Some(o)) = (change.transition, record.as_object_mut()) {
        o.insert("lifecycleEventData".into(), json!({"transitionEventData": {"destinationStorageClass": class}}));
    }
    json!({"Records": [record]})
}

/// The message S3 sends to queues and topics when a configuration is saved.
pub fn test_event(bucket: &str, time: &str, request_id: &str, host_id: &str) -> Value {
    json!({
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": time,
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": host_id,
    })
}

/// The outbox record: where to deliver, and what.
pub fn outbox_record(destination: &str, bucket: &str, owner: &str, event: Value) -> Vec<u8> {
    json!({"destination": destination, "source": bucket_arn(bucket), "source_account": owner, "event": event})
        .to_string()
        .into_bytes()
}

pub fn bucket_arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// Object keys in events are URL-encoded as HTML forms do (space as `+`), `/` kept.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for &b in key.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(id: &str, events: &[&str], prefix: Option<&str>, suffix: Option<&str>) -> NotificationRule {
        NotificationRule {
            kind: DestinationKind::Queue,
            id: id.into(),
            arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            events: events.iter().map(|s| s.to_string()).collect(),
            prefix: prefix.map(str::to_string),
            suffix: suffix.map(str::to_string),
        }
    }

    #[test]
    fn wildcards_match_their_family() {
        assert!(event_matches("s3:ObjectCreated:*", "ObjectCreated:Put"));
        assert!(event_matches("s3:ObjectCreated:Put", "ObjectCreated:Put"));
        assert!(!event_matches("s3:ObjectCreated:Put", "ObjectCreated:Copy"));
        assert!(!event_matches("s3:ObjectRemoved:*", "ObjectCreated:Put"));
    }

    #[test]
    fn filters_by_prefix_and_suffix() {
        let r = rule("a", &["s3:ObjectCreated:*"], Some("images/"), Some(".jpg"));
        assert!(r.matches("ObjectCreated:Put", "images/cat.jpg"));
        assert!(!r.matches("ObjectCreated:Put", "images/cat.png"));
        assert!(!r.matches("ObjectCreated:Put", "docs/cat.jpg"));
        assert!(!r.matches("ObjectRemoved:Delete", "images/cat.jpg"));
    }

    #[test]
    fn overlapping_configurations_are_refused() {
        let a = rule("a", &["s3:ObjectCreated:*"], Some("images/"), None);
        let b = rule("b", &["s3:ObjectCreated:Put"], Some("images/2024/"), None);
        assert!(validate(&[a.clone(), b]).is_err());
        // Disjoint prefixes, or different event families, do not overlap.
        let c = rule("c", &["s3:ObjectCreated:Put"], Some("docs/"), None);
        let d = rule("d", &["s3:ObjectRemoved:*"], Some("images/"), None);
        assert!(validate(&[a.clone(), c, d]).is_ok());
        // Different suffixes with the same prefix are disjoint.
        let e = rule("e", &["s3:ObjectCreated:*"], Some("images/"), Some(".png"));
        let f = rule("f", &["s3:ObjectCreated:*"], Some("images/"), Some(".jpg"));
        assert!(validate(&[e, f]).is_ok());
    }

    #[test]
    fn unknown_events_are_invalid() {
        let e = validate(&[rule("a", &["s3:ObjectCreated:Nope"], None, None)]).unwrap_err();
        assert_eq!(e.code().as_str(), "InvalidArgument");
    }

    #[test]
    fn duplicate_filter_rules_are_invalid() {
        assert!(filter_rules(&[("Prefix".into(), "a".into()), ("prefix".into(), "b".into())]).is_err());
        assert!(filter_rules(&[("other".into(), "a".into())]).is_err());
        assert_eq!(
            filter_rules(&[("prefix".into(), "a/".into()), ("Suffix".into(), ".txt".into())]).unwrap(),
            (Some("a/".into()), Some(".txt".into()))
        );
    }

    #[test]
    fn records_have_aws_shape() {
        let src = EventSource {
            region: "us-east-1",
            bucket: "b",
            bucket_owner: "000000000000",
            principal_id: "AWS:test",
            source_ip: "127.0.0.1",
            request_id: "r",
            host_id: "h",
            time: "2024-01-01T00:00:00.000Z",
        };
        let change = ObjectChange {
            event_name: "ObjectCreated:Put",
            key: "my dir/a+b.txt",
            size: Some(5),
            etag: Some("abc"),
            version_id: None,
            sequencer: 10,
            transition: None,
        };
        let m = event_message(&src, "cfg", &change);
        let r = &m["Records"][0];
        assert_eq!(r["eventVersion"], "2.1");
        assert_eq!(r["eventSource"], "aws:s3");
        assert_eq!(r["eventName"], "ObjectCreated:Put");
        assert_eq!(r["s3"]["configurationId"], "cfg");
        assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::b");
        assert_eq!(r["s3"]["object"]["key"], "my+dir/a%2Bb.txt");
        assert_eq!(r["s3"]["object"]["size"], 5);
        assert_eq!(r["s3"]["object"]["eTag"], "abc");
        assert_eq!(r["s3"]["object"]["sequencer"], "000000000000000A");
        assert!(r["s3"]["object"].get("versionId").is_none());
        let del = ObjectChange { event_name: "ObjectRemoved:Delete", size: None, etag: None, ..change };
        let m = event_message(&src, "cfg", &del);
        assert!(m["Records"][0]["s3"]["object"].get("size").is_none());
        assert!(m["Records"][0]["s3"]["object"].get("eTag").is_none());
    }
}
