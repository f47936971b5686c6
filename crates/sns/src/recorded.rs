//! Messages that would have left for a phone or a device (SMS, mobile push): no carrier or push
//! service is reachable from a local server, so each is recorded in the store instead, in
//! publish order, and read back through the platform endpoint `/_stratus/sns/messages` so that
//! tests can assert what would have been sent.
//!
//! - `sns/rec/{sequence}` → one recorded message (JSON); the newest [`KEPT`] are kept.

use serde_json::{Map, Value, json};
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn, scan_prefix};

use crate::types::MessageAttributes;

const PREFIX: &[u8] = b"sns/rec/";
const SEQUENCE: &str = "sns/rec-seq";
/// How many recorded messages are kept (the oldest go first).
pub const KEPT: u64 = 10_000;

pub const SMS: &str = "sms";
pub const PUSH: &str = "push";

/// What was sent and where.
pub struct Sent<'a> {
    /// `sms` or `push`.
    pub kind: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    /// The phone number (SMS) or endpoint ARN (push).
    pub destination: &'a str,
    pub message_id: &'a str,
    pub message: &'a str,
    pub subject: Option<&'a str>,
    pub attributes: &'a MessageAttributes,
    pub topic_arn: Option<&'a str>,
    /// When it was published (ISO 8601 with milliseconds).
    pub timestamp: &'a str,
}

fn key(seq: u64) -> Vec<u8> {
    let mut k = PREFIX.to_vec();
    k.extend_from_slice(format!("{seq:020}").as_bytes());
    k
}

/// Records a message (in the caller's transaction).
pub fn record(t: &mut dyn Txn, m: &Sent<'_>) -> Result<(), AwsError> {
    let seq = stratus_storage::next_sequence(t, SEQUENCE)?;
    let mut v = json!({
        "kind": m.kind,
        "messageId": m.message_id,
        "account": m.account,
        "region": m.region,
        "message": m.message,
        "timestamp": m.timestamp,
    });
    if let Some(o) = v.as_object_mut() {
        o.insert(if m.kind == "sms" { "phoneNumber" } else { "endpointArn" }.into(), json!(m.destination));
        if let Some(s) = m.subject {
            o.insert("subject".into(), json!(s));
        }
        if !m.attributes.is_empty() {
            o.insert("messageAttributes".into(), serde_json::to_value(m.attributes).unwrap_or_default());
        }
        if let Some(a) = m.topic_arn {
            o.insert("topicArn".into(), json!(a));
        }
    }
    t.put(&key(seq), v.to_string().as_bytes())?;
    if seq > KEPT {
        t.delete(&key(seq - KEPT))?;
    }
    Ok(())
}

/// The recorded messages, oldest first, keeping those whose members equal every `(name,
/// value)` of `filters` (`phoneNumber`, `endpointArn`, `account`, `region`, `kind`).
pub fn read(r: &mut dyn ReadTxn, filters: &[(String, String)]) -> Result<Vec<Value>, AwsError> {
    let mut out = Vec::new();
    for (_, v) in scan_prefix(r, PREFIX, usize::MAX)? {
        let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(&v) else { continue };
        let keep = filters.iter().all(|(k, want)| m.get(k).and_then(Value::as_str) == Some(want.as_str()));
        if keep {
            out.push(Value::Object(m));
        }
    }
    Ok(out)
}

/// The JSON document the platform endpoint answers.
pub fn document(messages: Vec<Value>) -> Value {
    let mut m = Map::new();
    m.insert("messages".into(), Value::Array(messages));
    Value::Object(m)
}
