//! Publish and PublishBatch: checks, FIFO deduplication and sequence numbers, and the fan-out:
//! in the same transaction as the publish, one outbox record per matching subscription, so an
//! acknowledged message is delivered at least once, also across a crash.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::Txn;

use crate::Inner;
use crate::errors;
use crate::filter::{self, Scope};
use crate::keys;
use crate::message::{Delivery, NOTIFICATION};
use crate::recorded::{self, PUSH, SMS};
use crate::topic::{self, Subscription, Topic, decode, encode, load_topic};
use crate::types::*;
use crate::{mobile, sms};

/// Largest message (body plus attributes), 256 KiB.
pub const MAX_MESSAGE_BYTES: usize = 262_144;
/// FIFO deduplication interval.
const DEDUP_MILLIS: u64 = 5 * 60 * 1000;
const MAX_BATCH: usize = 10;

/// A message that passed the checks that need no stored state.
#[derive(Debug, Clone)]
pub struct Checked {
    pub message: String,
    /// Per protocol, with `MessageStructure=json`.
    pub per_protocol: Option<BTreeMap<String, String>>,
    pub subject: Option<String>,
    pub attributes: MessageAttributes,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct DedupEntry {
    at: u64,
    message_id: String,
    sequence_number: Option<String>,
}

/// Where a Publish goes: a topic, a platform endpoint or a phone number.
enum Target {
    Topic(String),
    Endpoint(String),
    Phone(String),
}

/// The target from TopicArn / TargetArn / PhoneNumber (exactly one of them).
fn target(topic_arn: Option<String>, target_arn: Option<String>, phone: Option<String>) -> Result<Target, AwsError> {
    match (topic_arn, target_arn, phone) {
        (None, None, Some(p)) => Ok(Target::Phone(sms::publish_target(&p)?)),
        (Some(_), Some(_), _) => Err(errors::invalid_parameter_reason(
            "TopicArn or TargetArn",
            "Only one of TopicArn or TargetArn may be specified",
        )),
        (Some(_), None, Some(_)) | (None, Some(_), Some(_)) => Err(errors::invalid_parameter_reason(
            "TopicArn or TargetArn or PhoneNumber",
            "Only one of TopicArn, TargetArn or PhoneNumber may be specified",
        )),
        (None, Some(a), None) if mobile::is_endpoint_arn(&a) => Ok(Target::Endpoint(a)),
        (Some(a), None, None) | (None, Some(a), None) => Ok(Target::Topic(a)),
        (None, None, None) => {
            Err(errors::invalid_parameter_reason("TopicArn or TargetArn", "no value for required parameter"))
        }
    }
}

/// The `AWS.` attributes SNS itself reads (SMS sender and type, push settings).
const RESERVED_PREFIXES: &[&str] = &["AWS.SNS.SMS.", "AWS.MM.SMS.", "AWS.SNS.MOBILE."];

fn check_attribute(name: &str, a: &MessageAttributeValue) -> Result<(), AwsError> {
    let bad_name = name.is_empty()
        || name.len() > 256
        || name.starts_with('.')
        || name.ends_with('.')
        || name.contains("..")
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        || (name.to_ascii_lowercase().starts_with("aws.") && !RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)))
        || name.to_ascii_lowercase().starts_with("amazon.");
    if bad_name {
        return Err(errors::invalid_parameter_value(format!("The message attribute name '{name}' is invalid.")));
    }
    let empty = |t: &str| {
        errors::invalid_parameter_value(format!(
            "The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{t}'."
        ))
    };
    let base = a.data_type.split('.').next().unwrap_or_default();
    let s = a.string_value.as_deref().unwrap_or_default();
    match base {
        _ if a.data_type == "String.Array" => {
            let ok = matches!(serde_json::from_str::<Value>(s), Ok(Value::Array(items))
                if items.iter().all(|i| !i.is_array() && !i.is_object()));
            if !ok {
                return Err(errors::invalid_parameter_value(format!(
                    "The message attribute '{name}' has an invalid message attribute value: String.Array must be a JSON array of strings, numbers, true, false or null."
                )));
            }
        }
        "String" if s.is_empty() => return Err(empty("String")),
        "Number" => {
            if s.is_empty() {
                return Err(empty("Number"));
            }
            if s.trim().parse::<f64>().map(|n| !n.is_finite()).unwrap_or(true) {
                return Err(errors::invalid_parameter_value(format!(
                    "Could not cast message attribute '{name}' value to number."
                )));
            }
        }
        "Binary" => {
            let b = a.binary_value.as_deref().unwrap_or_default();
            if b.is_empty() || B64.decode(b).map(|d| d.is_empty()).unwrap_or(true) {
                return Err(empty("Binary"));
            }
        }
        "String" => {}
        _ => {
            return Err(errors::invalid_parameter_value(format!(
                "The message attribute '{name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String."
            )));
        }
    }
    Ok(())
}

/// Checks one message (Publish or a batch entry) against the topic's kind.
pub fn check(
    message: String,
    subject: Option<String>,
    structure: Option<String>,
    attributes: MessageAttributes,
    group_id: Option<String>,
    dedup_id: Option<String>,
    t: &Topic,
) -> Result<Checked, AwsError> {
    if message.is_empty() {
        return Err(errors::invalid_parameter("Empty message"));
    }
    let attr_bytes: usize = attributes
        .iter()
        .map(|(k, a)| {
            k.len()
                + a.data_type.len()
                + a.string_value.as_deref().unwrap_or_default().len()
                + a.binary_value.as_deref().map(|b| b.len() / 4 * 3).unwrap_or(0)
        })
        .sum();
    if message.len() + attr_bytes > MAX_MESSAGE_BYTES {
        return Err(errors::invalid_parameter("Message too long"));
    }
    if let Some(s) = &subject {
        let ok = !s.is_empty() && s.chars().count() <= 100 && s.chars().all(|c| !c.is_control() && c.is_ascii());
        if !ok {
            return Err(errors::invalid_parameter("Subject"));
        }
    }
    for (k, a) in &attributes {
        check_attribute(k, a)?;
    }
    let per_protocol = match structure.as_deref() {
        None => None,
        Some("json") => {
            let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(&message) else {
                return Err(errors::invalid_parameter("Message Structure - JSON message body failed to parse"));
            };
            if !obj.get("default").is_some_and(Value::is_string) {
                return Err(errors::invalid_parameter("Message Structure - No default entry in JSON message body"));
            }
            Some(obj.into_iter().filter_map(|(k, v)| Some((k, v.as_str()?.to_string()))).collect())
        }
        Some(_) => return Err(errors::invalid_parameter("MessageStructure")),
    };
    let id_ok = |v: &str| {
        !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b.is_ascii_punctuation())
    };
    let dedup_id = if t.fifo {
        let Some(g) = &group_id else {
            return Err(errors::invalid_parameter("The MessageGroupId parameter is required for FIFO topics"));
        };
        if !id_ok(g) {
            return Err(errors::invalid_parameter("MessageGroupId"));
        }
        match dedup_id {
            Some(d) if !id_ok(&d) => return Err(errors::invalid_parameter("MessageDeduplicationId")),
            Some(d) => Some(d),
            None if t.content_based_dedup() => Some(hex::encode(sha2::Sha256::digest(message.as_bytes()))),
            None => {
                return Err(errors::invalid_parameter(
                    "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        }
    } else {
        if dedup_id.is_some() {
            return Err(errors::invalid_parameter_reason(
                "MessageDeduplicationId",
                "The request includes MessageDeduplicationId parameter that is not valid for this topic type",
            ));
        }
        None
    };
    Ok(Checked { message, per_protocol, subject, attributes, group_id: if t.fifo { group_id } else { None }, dedup_id })
}

/// Whether a subscription takes a message, by its filter policy.
fn accepts(s: &Subscription, attributes: &MessageAttributes, body: &str) -> bool {
    let Some(p) = s.attributes.get("FilterPolicy").filter(|p| !p.is_empty()) else { return true };
    let scope = if s.filter_scope_body() { Scope::MessageBody } else { Scope::MessageAttributes };
    match filter::parse(p, scope) {
        Ok(policy) => match scope {
            Scope::MessageAttributes => policy.matches_attributes(attributes),
            Scope::MessageBody => policy.matches_body(body),
        },
        // Policies are checked when set; one that no longer parses takes nothing.
        Err(_) => false,
    }
}

/// Inside the publish transaction: deduplicates (FIFO), numbers, and writes one outbox record
/// per matching confirmed subscription. Returns (message id, sequence number).
fn fan_out(
    txn: &mut dyn Txn,
    t: &Topic,
    subs: &[Subscription],
    m: Checked,
    message_id: String,
    now: u64,
) -> Result<(String, Option<String>), AwsError> {
    let mut sequence_number = None;
    if t.fifo {
        let dedup_key = keys::dedup(&t.account, &t.region, &t.name, m.dedup_id.as_deref().unwrap_or_default());
        if let Some(b) = txn.get(&dedup_key)? {
            let e: DedupEntry = decode(&b)?;
            if now < e.at + DEDUP_MILLIS {
                return Ok((e.message_id, e.sequence_number));
            }
        }
        let n = stratus_storage::next_sequence(txn, &keys::sequence(&t.account, &t.region, &t.name))?;
        let seq = format!("{:020}", 10_000_000_000_000_000_000u64.saturating_add(n));
        let entry = DedupEntry { at: now, message_id: message_id.clone(), sequence_number: Some(seq.clone()) };
        txn.put(&dedup_key, &encode(&entry)?)?;
        sequence_number = Some(seq);
    }
    let timestamp = stratus_core::time::iso8601_millis(now);
    for s in subs.iter().filter(|s| s.confirmed) {
        let body = match &m.per_protocol {
            Some(map) => {
                // A message for a device is chosen by its platform (`GCM`, `APNS`, …).
                let key = match s.protocol.as_str() {
                    "application" => mobile::platform_of(&s.endpoint).unwrap_or_default(),
                    p => p.to_string(),
                };
                map.get(&key).or_else(|| map.get("default")).cloned().unwrap_or_default()
            }
            None => m.message.clone(),
        };
        if !accepts(s, &m.attributes, &body) {
            continue;
        }
        let d = Delivery {
            kind: NOTIFICATION.into(),
            subscription_arn: s.arn(),
            topic_arn: t.arn(),
            protocol: s.protocol.clone(),
            endpoint: s.endpoint.clone(),
            raw: s.raw(),
            message_id: message_id.clone(),
            message: body,
            subject: m.subject.clone(),
            timestamp: timestamp.clone(),
            attributes: m.attributes.clone(),
            fifo: t.fifo,
            group_id: m.group_id.clone(),
            dedup_id: m.dedup_id.clone(),
            sequence_number: sequence_number.clone(),
            signature_version: t.signature_version().to_string(),
            retry_policy: topic::is_http(&s.protocol).then(|| crate::delivery::http_retry_policy(t, s)),
            dead_letter_queue: s.dead_letter_queue(),
            token: None,
        };
        stratus_storage::outbox_push(txn, keys::DELIVERY_TOPIC, &encode(&d)?)?;
    }
    Ok((message_id, sequence_number))
}

/// Publish: to a topic, or straight to a device or a phone number in the caller's account and
/// region.
pub(crate) async fn publish_request(
    i: &Inner,
    ctx: &RequestContext,
    input: PublishInput,
) -> Result<PublishOutput, AwsError> {
    match target(input.topic_arn.clone(), input.target_arn.clone(), input.phone_number.clone())? {
        Target::Topic(_) => publish(i, input).await,
        Target::Endpoint(arn) => publish_direct(i, input, Direct::Endpoint(arn)).await,
        Target::Phone(phone) => {
            publish_direct(i, input, Direct::Phone { phone, account: ctx.account.clone(), region: ctx.region.clone() })
                .await
        }
    }
}

/// Publish to a topic (also on behalf of other parts of Stratus).
pub(crate) async fn publish(i: &Inner, input: PublishInput) -> Result<PublishOutput, AwsError> {
    let message_id = i.env.ids.uuid();
    let now = i.now();
    let Target::Topic(arn) = target(input.topic_arn, input.target_arn, None)? else {
        return Err(errors::invalid_parameter("TopicArn"));
    };
    let (message_id, sequence_number) = i
        .store
        .write_signalling(move |txn| {
            let t = load_topic(txn, &arn)?;
            let m = check(
                input.message,
                input.subject,
                input.message_structure,
                input.message_attributes,
                input.message_group_id,
                input.message_deduplication_id,
                &t,
            )?;
            let subs = topic::topic_subscriptions(txn, &t)?;
            fan_out(txn, &t, &subs, m, message_id, now)
        })
        .await?;
    Ok(PublishOutput { message_id, sequence_number })
}

enum Direct {
    Endpoint(String),
    Phone { phone: String, account: String, region: String },
}

/// Publish straight to a device (TargetArn of a platform endpoint) or a phone (PhoneNumber):
/// checked like a message to a standard topic, then recorded in the publish's transaction. A
/// number that opted out gets nothing, and the Publish still succeeds, as on AWS.
async fn publish_direct(i: &Inner, input: PublishInput, to: Direct) -> Result<PublishOutput, AwsError> {
    if input.message_group_id.is_some() || input.message_deduplication_id.is_some() {
        return Err(errors::invalid_parameter_reason(
            "MessageGroupId",
            "The request includes MessageGroupId parameter that is not valid for this topic type",
        ));
    }
    let standard = Topic {
        name: String::new(),
        account: String::new(),
        region: String::new(),
        fifo: false,
        attributes: Default::default(),
        tags: Default::default(),
        subscriptions_deleted: 0,
    };
    let m =
        check(input.message, input.subject, input.message_structure, input.message_attributes, None, None, &standard)?;
    let message_id = i.env.ids.uuid();
    let now = i.now();
    let id = message_id.clone();
    i.store
        .write(move |txn| {
            let (kind, destination, account, region, key) = match to {
                Direct::Endpoint(arn) => {
                    let e = mobile::publish_target(txn, &arn)?;
                    (PUSH, arn, e.account, e.region, e.platform)
                }
                Direct::Phone { phone, account, region } => {
                    if sms::opted_out(txn, &account, &region, &phone)? {
                        return Ok(());
                    }
                    (SMS, phone, account, region, "sms".to_string())
                }
            };
            let body = match &m.per_protocol {
                Some(map) => map.get(&key).or_else(|| map.get("default")).cloned().unwrap_or_default(),
                None => m.message.clone(),
            };
            recorded::record(
                txn,
                &recorded::Sent {
                    kind,
                    account: &account,
                    region: &region,
                    destination: &destination,
                    message_id: &id,
                    message: &body,
                    subject: m.subject.as_deref(),
                    attributes: &m.attributes,
                    topic_arn: None,
                    timestamp: &stratus_core::time::iso8601_millis(now),
                },
            )
        })
        .await?;
    Ok(PublishOutput { message_id, sequence_number: None })
}

fn valid_entry_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 80 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What fails a whole batch to a FIFO topic rather than one entry: an entry without a group,
/// without a deduplication id where the topic does not derive one, or a JSON structure
/// without its `default` message.
fn check_fifo_batch(t: &Topic, entries: &[PublishBatchRequestEntry]) -> Result<(), AwsError> {
    for e in entries {
        if e.message_group_id.is_none() {
            return Err(errors::invalid_parameter("The MessageGroupId parameter is required for FIFO topics"));
        }
        if e.message_deduplication_id.is_none() && !t.content_based_dedup() {
            return Err(errors::invalid_parameter(
                "The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
            ));
        }
        if e.message_structure.as_deref() == Some("json")
            && !serde_json::from_str::<Value>(&e.message).is_ok_and(|m| m.get("default").is_some_and(Value::is_string))
        {
            return Err(errors::invalid_parameter("Message Structure - No default entry in JSON message body"));
        }
    }
    Ok(())
}

pub(crate) async fn publish_batch(i: &Inner, input: PublishBatchInput) -> Result<PublishBatchOutput, AwsError> {
    let entries = input.publish_batch_request_entries;
    if entries.is_empty() {
        return Err(errors::empty_batch());
    }
    if entries.len() > MAX_BATCH {
        return Err(errors::too_many_entries());
    }
    let mut seen = HashSet::new();
    for e in &entries {
        if !seen.insert(e.id.as_str()) {
            return Err(errors::ids_not_distinct());
        }
        if !valid_entry_id(&e.id) {
            return Err(errors::invalid_batch_entry_id());
        }
    }
    let total: usize = entries.iter().map(|e| e.message.len()).sum();
    if total > MAX_MESSAGE_BYTES {
        return Err(AwsError::new(
            "BatchRequestTooLongException",
            "The length of all the messages put together is more than the limit.",
        ));
    }
    let ids: Vec<String> = entries.iter().map(|_| i.env.ids.uuid()).collect();
    let now = i.now();
    let model = i.model;
    let arn = input.topic_arn;
    i.store
        .write_signalling(move |txn| {
            let t = load_topic(txn, &arn)?;
            if t.fifo {
                check_fifo_batch(&t, &entries)?;
            }
            let subs = topic::topic_subscriptions(txn, &t)?;
            let mut out = PublishBatchOutput { successful: Vec::new(), failed: Vec::new() };
            for (e, message_id) in entries.into_iter().zip(ids) {
                let id = e.id.clone();
                let checked = check(
                    e.message,
                    e.subject,
                    e.message_structure,
                    e.message_attributes,
                    e.message_group_id,
                    e.message_deduplication_id,
                    &t,
                );
                match checked.and_then(|m| fan_out(txn, &t, &subs, m, message_id, now)) {
                    Ok((message_id, sequence_number)) => {
                        out.successful.push(PublishBatchResultEntry { id, message_id, sequence_number })
                    }
                    Err(err) if err.status.unwrap_or(400) < 500 => {
                        let (code, _, sender) = model.error_info(&err.code);
                        out.failed.push(BatchResultErrorEntry { id, code, message: err.message, sender_fault: sender });
                    }
                    Err(err) => return Err(err),
                }
            }
            Ok(out)
        })
        .await
}
