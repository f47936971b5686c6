//! What a delivery carries: the outbox record of one (message, subscription) pair, and the
//! shapes SNS hands endpoints — the JSON envelope (SQS, HTTP/S), the Lambda event — with their
//! signatures over SNS's canonical strings.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::signing::Signer;
use crate::types::MessageAttributes;

pub const NOTIFICATION: &str = "Notification";
pub const SUBSCRIPTION_CONFIRMATION: &str = "SubscriptionConfirmation";
pub const UNSUBSCRIBE_CONFIRMATION: &str = "UnsubscribeConfirmation";

/// One delivery, as stored in the outbox (everything the delivery needs, so that it does not
/// depend on the subscription still existing when it runs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// `Notification` or `SubscriptionConfirmation`.
    pub kind: String,
    pub subscription_arn: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    #[serde(default)]
    pub raw: bool,
    pub message_id: String,
    pub message: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// ISO 8601 with milliseconds.
    pub timestamp: String,
    #[serde(default)]
    pub attributes: MessageAttributes,
    #[serde(default)]
    pub fifo: bool,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub dedup_id: Option<String>,
    #[serde(default)]
    pub sequence_number: Option<String>,
    pub signature_version: String,
    /// The HTTP/S healthy retry policy in force when published.
    #[serde(default)]
    pub retry_policy: Option<Value>,
    /// The subscription's dead-letter queue ARN.
    #[serde(default)]
    pub dead_letter_queue: Option<String>,
    /// Confirmation token (SubscriptionConfirmation).
    #[serde(default)]
    pub token: Option<String>,
}

/// URLs in messages point back at this server.
pub struct Urls<'a> {
    pub endpoint: &'a str,
}

impl Urls<'_> {
    pub fn signing_cert(&self, signer: &Signer) -> String {
        format!("{}/_stratus/sns/SimpleNotificationService-{}.pem", self.endpoint, signer.id)
    }

    pub fn unsubscribe(&self, subscription_arn: &str) -> String {
        format!("{}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}", self.endpoint)
    }

    pub fn subscribe(&self, topic_arn: &str, token: &str) -> String {
        format!("{}/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}", self.endpoint)
    }
}

/// The string SNS signs for a notification: each present field as `name\nvalue\n`, in order.
pub fn canonical_notification(d: &Delivery) -> String {
    let mut s = String::new();
    push(&mut s, "Message", &d.message);
    push(&mut s, "MessageId", &d.message_id);
    if let Some(subject) = &d.subject {
        push(&mut s, "Subject", subject);
    }
    push(&mut s, "Timestamp", &d.timestamp);
    push(&mut s, "TopicArn", &d.topic_arn);
    push(&mut s, "Type", &d.kind);
    s
}

/// The string SNS signs for a subscription confirmation.
pub fn canonical_confirmation(d: &Delivery, subscribe_url: &str) -> String {
    let mut s = String::new();
    push(&mut s, "Message", &d.message);
    push(&mut s, "MessageId", &d.message_id);
    push(&mut s, "SubscribeURL", subscribe_url);
    push(&mut s, "Timestamp", &d.timestamp);
    push(&mut s, "Token", d.token.as_deref().unwrap_or_default());
    push(&mut s, "TopicArn", &d.topic_arn);
    push(&mut s, "Type", &d.kind);
    s
}

fn push(s: &mut String, name: &str, value: &str) {
    s.push_str(name);
    s.push('\n');
    s.push_str(value);
    s.push('\n');
}

/// `{name: {Type, Value}}` as the envelope and the Lambda event show message attributes.
pub fn envelope_attributes(attrs: &MessageAttributes) -> Value {
    Value::Object(
        attrs
            .iter()
            .map(|(k, a)| {
                let v = a.string_value.clone().or_else(|| a.binary_value.clone()).unwrap_or_default();
                (k.clone(), json!({"Type": a.data_type, "Value": v}))
            })
            .collect(),
    )
}

/// A JSON object with its members in the given order (SNS's documents list them so).
fn ordered(members: &[(&str, Value)]) -> String {
    let body: Vec<String> = members.iter().map(|(k, v)| format!("{}:{}", Value::String((*k).to_string()), v)).collect();
    format!("{{{}}}", body.join(","))
}

/// The JSON document SQS and HTTP/S endpoints receive. FIFO topics' messages carry a
/// `SequenceNumber` and are not signed.
pub fn envelope(d: &Delivery, signer: &Signer, urls: &Urls<'_>) -> Result<String, String> {
    let s = |v: &str| Value::String(v.to_string());
    if d.kind == SUBSCRIPTION_CONFIRMATION || d.kind == UNSUBSCRIBE_CONFIRMATION {
        let subscribe_url = urls.subscribe(&d.topic_arn, d.token.as_deref().unwrap_or_default());
        let signature = signer.sign(&canonical_confirmation(d, &subscribe_url), &d.signature_version)?;
        return Ok(ordered(&[
            ("Type", s(&d.kind)),
            ("MessageId", s(&d.message_id)),
            ("Token", s(d.token.as_deref().unwrap_or_default())),
            ("TopicArn", s(&d.topic_arn)),
            ("Message", s(&d.message)),
            ("SubscribeURL", s(&subscribe_url)),
            ("Timestamp", s(&d.timestamp)),
            ("SignatureVersion", s(&d.signature_version)),
            ("Signature", s(&signature)),
            ("SigningCertURL", s(&urls.signing_cert(signer))),
        ]));
    }
    let mut m: Vec<(&str, Value)> = vec![("Type", s(&d.kind)), ("MessageId", s(&d.message_id))];
    if let Some(n) = &d.sequence_number {
        m.push(("SequenceNumber", s(n)));
    }
    m.push(("TopicArn", s(&d.topic_arn)));
    if let Some(subject) = &d.subject {
        m.push(("Subject", s(subject)));
    }
    m.push(("Message", s(&d.message)));
    m.push(("Timestamp", s(&d.timestamp)));
    if !d.fifo {
        let signature = signer.sign(&canonical_notification(d), &d.signature_version)?;
        m.push(("SignatureVersion", s(&d.signature_version)));
        m.push(("Signature", s(&signature)));
        m.push(("SigningCertURL", s(&urls.signing_cert(signer))));
    }
    m.push(("UnsubscribeURL", s(&urls.unsubscribe(&d.subscription_arn))));
    if !d.attributes.is_empty() {
        m.push(("MessageAttributes", envelope_attributes(&d.attributes)));
    }
    Ok(ordered(&m))
}

/// The event a Lambda subscription is invoked with.
pub fn lambda_event(d: &Delivery, signer: &Signer, urls: &Urls<'_>) -> Result<Value, String> {
    let signature = signer.sign(&canonical_notification(d), &d.signature_version)?;
    Ok(json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": d.subscription_arn,
        "Sns": {
            "Type": d.kind,
            "MessageId": d.message_id,
            "TopicArn": d.topic_arn,
            "Subject": d.subject,
            "Message": d.message,
            "Timestamp": d.timestamp,
            "SignatureVersion": d.signature_version,
            "Signature": signature,
            "SigningCertUrl": urls.signing_cert(signer),
            "UnsubscribeUrl": urls.unsubscribe(&d.subscription_arn),
            "MessageAttributes": envelope_attributes(&d.attributes),
        }
    }]}))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn delivery() -> Delivery {
        Delivery {
            kind: NOTIFICATION.into(),
            subscription_arn: "arn:aws:sns:us-east-1:000000000000:t:abc".into(),
            topic_arn: "arn:aws:sns:us-east-1:000000000000:t".into(),
            protocol: "sqs".into(),
            endpoint: "arn:aws:sqs:us-east-1:000000000000:q".into(),
            raw: false,
            message_id: "m-1".into(),
            message: "hello".into(),
            subject: None,
            timestamp: "2026-01-01T00:00:00.000Z".into(),
            attributes: Default::default(),
            fifo: false,
            group_id: None,
            dedup_id: None,
            sequence_number: None,
            signature_version: "1".into(),
            retry_policy: None,
            dead_letter_queue: None,
            token: None,
        }
    }

    #[test]
    fn canonical_strings() {
        let mut d = delivery();
        assert_eq!(
            canonical_notification(&d),
            "Message\nhello\nMessageId\nm-1\nTimestamp\n2026-01-01T00:00:00.000Z\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nNotification\n"
        );
        d.subject = Some("S".into());
        assert!(canonical_notification(&d).contains("MessageId\nm-1\nSubject\nS\nTimestamp\n"));
        d.kind = SUBSCRIPTION_CONFIRMATION.into();
        d.token = Some("tok".into());
        assert_eq!(
            canonical_confirmation(&d, "http://x/?a"),
            "Message\nhello\nMessageId\nm-1\nSubscribeURL\nhttp://x/?a\nTimestamp\n2026-01-01T00:00:00.000Z\nToken\ntok\nTopicArn\narn:aws:sns:us-east-1:000000000000:t\nType\nSubscriptionConfirmation\n"
        );
    }

    #[test]
    fn envelopes() {
        let signer = Signer::generate(1_800_000_000, [1; 16]).unwrap();
        let urls = Urls { endpoint: "http://127.0.0.1:4566" };
        let mut d = delivery();
        d.attributes.insert(
            "a".into(),
            crate::types::MessageAttributeValue {
                data_type: "String".into(),
                string_value: Some("v".into()),
                binary_value: None,
            },
        );
        let text = envelope(&d, &signer, &urls).unwrap();
        assert!(text.starts_with(r#"{"Type":"Notification","MessageId":"m-1","TopicArn""#));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["MessageAttributes"]["a"], json!({"Type": "String", "Value": "v"}));
        assert!(v.get("Subject").is_none());
        assert_eq!(
            v["SigningCertURL"],
            format!("http://127.0.0.1:4566/_stratus/sns/SimpleNotificationService-{}.pem", signer.id)
        );
        assert_eq!(
            v["UnsubscribeURL"],
            "http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:000000000000:t:abc"
        );
        d.fifo = true;
        d.sequence_number = Some("10000000000000000001".into());
        let v: Value = serde_json::from_str(&envelope(&d, &signer, &urls).unwrap()).unwrap();
        assert!(v.get("Signature").is_none());
        assert_eq!(v["SequenceNumber"], "10000000000000000001");
        d.fifo = false;
        let ev = lambda_event(&d, &signer, &urls).unwrap();
        let sns = &ev["Records"][0]["Sns"];
        assert_eq!(sns["Subject"], Value::Null);
        assert!(sns["SigningCertUrl"].as_str().unwrap().ends_with(".pem"));
        assert_eq!(ev["Records"][0]["EventSource"], "aws:sns");
    }
}
