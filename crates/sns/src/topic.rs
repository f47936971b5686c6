//! The topic and subscription records, their attributes and defaults, names and ARNs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stratus_proto::AwsError;
use stratus_storage::ReadTxn;

use crate::errors;
use crate::keys;
use crate::types::Attributes;

/// Topic attributes a client may set (CreateTopic, SetTopicAttributes).
const TOPIC_SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "DisplayName",
    "Policy",
    "SignatureVersion",
    "TracingConfig",
    "KmsMasterKeyId",
    "ContentBasedDeduplication",
    "FifoTopic",
    "ArchivePolicy",
    "FifoThroughputScope",
    "ApplicationSuccessFeedbackRoleArn",
    "ApplicationSuccessFeedbackSampleRate",
    "ApplicationFailureFeedbackRoleArn",
    "HTTPSuccessFeedbackRoleArn",
    "HTTPSuccessFeedbackSampleRate",
    "HTTPFailureFeedbackRoleArn",
    "LambdaSuccessFeedbackRoleArn",
    "LambdaSuccessFeedbackSampleRate",
    "LambdaFailureFeedbackRoleArn",
    "SQSSuccessFeedbackRoleArn",
    "SQSSuccessFeedbackSampleRate",
    "SQSFailureFeedbackRoleArn",
    "FirehoseSuccessFeedbackRoleArn",
    "FirehoseSuccessFeedbackSampleRate",
    "FirehoseFailureFeedbackRoleArn",
];

/// Subscription attributes a client may set (Subscribe, SetSubscriptionAttributes).
pub const SUBSCRIPTION_SETTABLE: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    pub name: String,
    pub account: String,
    pub region: String,
    pub fifo: bool,
    /// Client-set attributes only; the computed ones are added when read.
    pub attributes: Attributes,
    pub tags: BTreeMap<String, String>,
    /// Count for `SubscriptionsDeleted`.
    #[serde(default)]
    pub subscriptions_deleted: u64,
}

impl Topic {
    pub fn arn(&self) -> String {
        topic_arn(&self.region, &self.account, &self.name)
    }

    pub fn content_based_dedup(&self) -> bool {
        self.attributes.get("ContentBasedDeduplication").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn signature_version(&self) -> &str {
        self.attributes.get("SignatureVersion").map(String::as_str).unwrap_or("1")
    }

    /// GetTopicAttributes: the stored ones plus the computed ones.
    pub fn all_attributes(&self, confirmed: usize, pending: usize) -> Attributes {
        let arn = self.arn();
        let mut a = Attributes::new();
        a.insert("TopicArn".into(), arn.clone());
        a.insert("Owner".into(), self.account.clone());
        a.insert("Policy".into(), default_policy(&arn, &self.account));
        a.insert("DisplayName".into(), String::new());
        a.insert("SubscriptionsConfirmed".into(), confirmed.to_string());
        a.insert("SubscriptionsPending".into(), pending.to_string());
        a.insert("SubscriptionsDeleted".into(), self.subscriptions_deleted.to_string());
        a.insert("EffectiveDeliveryPolicy".into(), self.effective_delivery_policy());
        if self.fifo {
            a.insert("FifoTopic".into(), "true".into());
            a.insert("ContentBasedDeduplication".into(), "false".into());
        }
        for (k, v) in &self.attributes {
            if k == "FifoTopic" {
                continue;
            }
            a.insert(k.clone(), v.clone());
        }
        a
    }

    /// The topic's `DeliveryPolicy` over SNS's defaults, as `EffectiveDeliveryPolicy` shows it.
    pub fn effective_delivery_policy(&self) -> String {
        let mut eff = default_delivery_policy();
        if let Some(Ok(Value::Object(set))) = self.attributes.get("DeliveryPolicy").map(|p| serde_json::from_str(p)) {
            merge(&mut eff, &Value::Object(set));
        }
        eff.to_string()
    }

    /// The healthy retry policy HTTP deliveries of this topic use when the subscription sets none.
    pub fn http_retry_policy(&self) -> Value {
        let eff: Value = serde_json::from_str(&self.effective_delivery_policy()).unwrap_or(Value::Null);
        eff["http"]["defaultHealthyRetryPolicy"].clone()
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// SNS's default HTTP delivery policy: three retries 20 seconds apart.
pub fn default_delivery_policy() -> Value {
    json!({"http": {
        "defaultHealthyRetryPolicy": {
            "minDelayTarget": 20, "maxDelayTarget": 20, "numRetries": 3, "numMaxDelayRetries": 0,
            "numNoDelayRetries": 0, "numMinDelayRetries": 0, "backoffFunction": "linear"
        },
        "disableSubscriptionOverrides": false,
        "defaultRequestPolicy": {"headerContentType": "text/plain; charset=UTF-8"}
    }})
}

/// The access policy AWS gives a new topic: the owner account may do everything.
pub fn default_policy(arn: &str, account: &str) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": [
                "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"
            ],
            "Resource": arn,
            "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

pub fn topic_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:sns:{region}:{account}:{name}", partition = stratus_core::partition(region))
}

/// A topic ARN's (account, region, name).
pub fn parse_topic_arn(arn: &str) -> Option<(String, String, String)> {
    let a = stratus_core::Arn::parse(arn)?;
    if a.service != "sns" || a.resource.is_empty() || a.resource.contains(':') || !valid_name(a.resource, true) {
        return None;
    }
    Some((a.account.to_string(), a.region.to_string(), a.resource.to_string()))
}

/// A subscription ARN's (account, region, topic name, id).
pub fn parse_subscription_arn(arn: &str) -> Option<(String, String, String, String)> {
    let a = stratus_core::Arn::parse(arn)?;
    let (topic, id) = a.resource.split_once(':')?;
    if a.service != "sns" || !valid_name(topic, true) || id.is_empty() || id.contains([':', '/']) {
        return None;
    }
    Some((a.account.to_string(), a.region.to_string(), topic.to_string(), id.to_string()))
}

/// Topic names: 1–256 of `[A-Za-z0-9_-]`, FIFO names ending in `.fifo`.
pub fn valid_name(name: &str, allow_fifo: bool) -> bool {
    let base = match name.strip_suffix(".fifo") {
        Some(b) if allow_fifo => b,
        _ => name,
    };
    !base.is_empty() && name.len() <= 256 && base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn topic_attribute_known(name: &str) -> bool {
    TOPIC_SETTABLE.contains(&name)
}

/// Checks one topic attribute a client sets; `fifo` is the topic's kind.
pub fn check_topic_attribute(name: &str, value: &str, fifo: bool) -> Result<(), AwsError> {
    if !TOPIC_SETTABLE.contains(&name) {
        return Err(errors::invalid_parameter("AttributeName"));
    }
    let bad = |reason: &str| Err(errors::invalid_parameter_reason("Attributes", reason));
    match name {
        "SignatureVersion" if value != "1" && value != "2" => {
            bad("SignatureVersion: Invalid value [{value}]. Valid values are: 1, 2".replace("{value}", value).as_str())
        }
        "TracingConfig" if value != "PassThrough" && value != "Active" => {
            bad("TracingConfig: Invalid value. Valid values are: PassThrough, Active")
        }
        "ContentBasedDeduplication" if !fifo => bad("Content based deduplication can only be set for FIFO topics"),
        "ContentBasedDeduplication" if value != "true" && value != "false" => {
            bad("ContentBasedDeduplication: Invalid value. Valid values are: true, false")
        }
        "Policy" if serde_json::from_str::<Value>(value).map(|v| !v.is_object()).unwrap_or(true) => {
            bad("Policy: failed to parse JSON")
        }
        "DeliveryPolicy" => check_delivery_policy(value, true),
        _ => Ok(()),
    }
}

/// A `DeliveryPolicy`: JSON whose retry numbers are in AWS's bounds. A topic's policy nests it
/// under `http`; a subscription's policy is the inner object.
pub fn check_delivery_policy(value: &str, topic: bool) -> Result<(), AwsError> {
    let bad = |reason: &str| Err(errors::invalid_parameter(format!("DeliveryPolicy: {reason}")));
    let Ok(Value::Object(p)) = serde_json::from_str::<Value>(value) else {
        return bad("failed to parse JSON");
    };
    let healthy = if topic {
        p.get("http").and_then(|h| h.get("defaultHealthyRetryPolicy"))
    } else {
        p.get("healthyRetryPolicy")
    };
    if let Some(h) = healthy {
        let n = |k: &str| h.get(k).map(|v| v.as_i64().ok_or(()));
        for k in ["numRetries", "numNoDelayRetries", "numMinDelayRetries", "numMaxDelayRetries"] {
            match n(k) {
                Some(Err(())) => return bad(&format!("{k} must be an integer")),
                Some(Ok(v)) if !(0..=100).contains(&v) => return bad(&format!("{k} must be in [0, 100]")),
                _ => {}
            }
        }
        let min = match n("minDelayTarget") {
            Some(Ok(v)) => v,
            Some(Err(())) => return bad("minDelayTarget must be an integer"),
            None => 20,
        };
        let max = match n("maxDelayTarget") {
            Some(Ok(v)) => v,
            Some(Err(())) => return bad("maxDelayTarget must be an integer"),
            None => 20,
        };
        if min < 1 || max > 3600 || min > max {
            return bad("minDelayTarget must be at least 1 and at most maxDelayTarget, which is at most 3600");
        }
        if let Some(f) = h.get("backoffFunction")
            && !matches!(f.as_str(), Some("linear" | "arithmetic" | "geometric" | "exponential"))
        {
            return bad("backoffFunction must be one of linear, arithmetic, geometric, exponential");
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub account: String,
    pub region: String,
    pub topic: String,
    pub protocol: String,
    pub endpoint: String,
    pub confirmed: bool,
    /// The confirmation token (HTTP/S), until confirmed.
    #[serde(default)]
    pub token: Option<String>,
    pub attributes: Attributes,
    /// When the token was made (milliseconds): tokens work for three days.
    #[serde(default)]
    pub token_made: Option<u64>,
}

/// How long a confirmation token works.
pub const TOKEN_MILLIS: u64 = 3 * 24 * 3600 * 1000;

impl Subscription {
    pub fn arn(&self) -> String {
        format!(
            "arn:{partition}:sns:{}:{}:{}:{}",
            self.region,
            self.account,
            self.topic,
            self.id,
            partition = stratus_core::partition(&self.region)
        )
    }

    pub fn topic_arn(&self) -> String {
        topic_arn(&self.region, &self.account, &self.topic)
    }

    /// The ARN as listings show it: `PendingConfirmation` until confirmed.
    pub fn listed_arn(&self) -> String {
        if self.confirmed { self.arn() } else { "PendingConfirmation".into() }
    }

    pub fn raw(&self) -> bool {
        self.attributes.get("RawMessageDelivery").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    pub fn filter_scope_body(&self) -> bool {
        self.attributes.get("FilterPolicyScope").is_some_and(|v| v == "MessageBody")
    }

    /// The dead-letter queue of the `RedrivePolicy`, if any.
    pub fn dead_letter_queue(&self) -> Option<String> {
        let p: Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        p.get("deadLetterTargetArn")?.as_str().map(str::to_string)
    }

    pub fn all_attributes(&self, topic: Option<&Topic>) -> Attributes {
        let mut a = Attributes::new();
        a.insert("SubscriptionArn".into(), self.arn());
        a.insert("TopicArn".into(), self.topic_arn());
        a.insert("Owner".into(), self.account.clone());
        a.insert("Protocol".into(), self.protocol.clone());
        a.insert("Endpoint".into(), self.endpoint.clone());
        a.insert("PendingConfirmation".into(), (!self.confirmed).to_string());
        a.insert("ConfirmationWasAuthenticated".into(), (self.confirmed && !is_http(&self.protocol)).to_string());
        a.insert("RawMessageDelivery".into(), self.raw().to_string());
        let eff = match topic {
            Some(t) => t.effective_delivery_policy(),
            None => default_delivery_policy().to_string(),
        };
        a.insert("EffectiveDeliveryPolicy".into(), eff);
        for (k, v) in &self.attributes {
            a.insert(k.clone(), v.clone());
        }
        if a.contains_key("FilterPolicy") && !a.contains_key("FilterPolicyScope") {
            a.insert("FilterPolicyScope".into(), "MessageAttributes".into());
        }
        a
    }
}

pub fn is_http(protocol: &str) -> bool {
    protocol == "http" || protocol == "https"
}

/// Loads a topic by ARN (NotFound when absent or the ARN is not a topic's).
pub fn load_topic(r: &mut dyn ReadTxn, arn: &str) -> Result<Topic, AwsError> {
    let (account, region, name) = parse_topic_arn(arn).ok_or_else(errors::topic_not_found)?;
    load_topic_parts(r, &account, &region, &name)?.ok_or_else(errors::topic_not_found)
}

pub fn load_topic_parts(
    r: &mut dyn ReadTxn,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<Topic>, AwsError> {
    match r.get(&keys::topic(account, region, name))? {
        Some(b) => Ok(Some(decode(&b)?)),
        None => Ok(None),
    }
}

pub fn load_subscription(r: &mut dyn ReadTxn, arn: &str) -> Result<Option<Subscription>, AwsError> {
    let Some((account, region, topic, id)) = parse_subscription_arn(arn) else { return Ok(None) };
    match r.get(&keys::subscription(&account, &region, &topic, &id))? {
        Some(b) => Ok(Some(decode(&b)?)),
        None => Ok(None),
    }
}

/// Every subscription of a topic.
pub fn topic_subscriptions(r: &mut dyn ReadTxn, t: &Topic) -> Result<Vec<Subscription>, AwsError> {
    let prefix = keys::topic_subscriptions(&t.account, &t.region, &t.name);
    stratus_storage::scan_prefix(r, &prefix, usize::MAX)?.iter().map(|(_, v)| decode(v)).collect()
}

pub fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T, AwsError> {
    serde_json::from_slice(b).map_err(|e| AwsError::internal(format!("corrupt SNS record: {e}")))
}

pub fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, AwsError> {
    serde_json::to_vec(v).map_err(|e| AwsError::internal(e.to_string()))
}
