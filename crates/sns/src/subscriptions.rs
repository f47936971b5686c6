//! Subscription operations: Subscribe, ConfirmSubscription, Unsubscribe, the listings and
//! Get/SetSubscriptionAttributes. SQS and Lambda subscriptions are confirmed at once; HTTP/S
//! ones receive a `SubscriptionConfirmation` (through the delivery outbox) and stay pending
//! until ConfirmSubscription with its token or a GET of its `SubscribeURL`.

use stratus_core::RequestContext;
use stratus_proto::AwsError;
use stratus_storage::{ReadTxn, Txn};

use crate::Inner;
use crate::errors;
use crate::filter::{self, Scope};
use crate::keys;
use crate::message::{Delivery, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION};
use crate::topic::{
    self, SUBSCRIPTION_SETTABLE, Subscription, Topic, decode, encode, is_http, load_subscription, load_topic,
};
use crate::topics::{decode_token, encode_token, save};
use crate::types::*;

const PAGE: usize = 100;
/// Protocols SNS knows; the ones this server cannot deliver to are refused at Subscribe.
const KNOWN_PROTOCOLS: &[&str] =
    &["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"];

/// Checks a subscription's attributes as a whole (a filter policy depends on its scope).
pub fn check_attributes(protocol: &str, attrs: &Attributes) -> Result<(), AwsError> {
    for (name, value) in attrs {
        if !SUBSCRIPTION_SETTABLE.contains(&name.as_str()) {
            return Err(errors::invalid_parameter("AttributeName"));
        }
        match name.as_str() {
            "RawMessageDelivery" => {
                if value != "true" && value != "false" {
                    return Err(errors::invalid_parameter_reason(
                        "Attributes",
                        "RawMessageDelivery: Invalid value [{v}]. Must be true or false.".replace("{v}", value),
                    ));
                }
                if protocol == "lambda" && value == "true" {
                    return Err(errors::invalid_parameter_reason(
                        "Attributes",
                        "Delivery protocol [lambda] does not support raw message delivery.",
                    ));
                }
            }
            "FilterPolicyScope" if Scope::parse(value).is_none() => {
                return Err(errors::invalid_parameter_reason(
                    "Attributes",
                    "FilterPolicyScope: Invalid value [{v}]. Please use either MessageBody or MessageAttributes"
                        .replace("{v}", value),
                ));
            }
            "RedrivePolicy" => {
                let dlq = serde_json::from_str::<serde_json::Value>(value)
                    .ok()
                    .and_then(|v| v.get("deadLetterTargetArn").and_then(|a| a.as_str()).map(str::to_string));
                let is_queue = dlq.as_deref().and_then(stratus_core::Arn::parse).is_some_and(|a| a.service == "sqs");
                if !is_queue {
                    return Err(errors::invalid_parameter(
                        "RedrivePolicy: deadLetterTargetArn is not a valid SQS queue ARN",
                    ));
                }
            }
            "DeliveryPolicy" => {
                if !is_http(protocol) {
                    return Err(errors::invalid_parameter(format!(
                        "DeliveryPolicy: Delivery protocol [{protocol}] does not support delivery policy"
                    )));
                }
                topic::check_delivery_policy(value, false)?;
            }
            _ => {}
        }
    }
    if let Some(p) = attrs.get("FilterPolicy").filter(|p| !p.is_empty()) {
        let scope = attrs.get("FilterPolicyScope").and_then(|s| Scope::parse(s)).unwrap_or(Scope::MessageAttributes);
        filter::parse(p, scope)?;
    }
    Ok(())
}

fn check_endpoint(protocol: &str, endpoint: Option<&str>, t: &Topic) -> Result<String, AwsError> {
    if !KNOWN_PROTOCOLS.contains(&protocol) {
        return Err(errors::invalid_parameter(format!("Amazon SNS does not support this protocol string: {protocol}")));
    }
    if !matches!(protocol, "sqs" | "lambda" | "http" | "https" | "sms" | "application") {
        return Err(errors::invalid_parameter_reason(
            "Protocol",
            format!("this server delivers to sqs, lambda, http, https, sms and application endpoints, not {protocol}"),
        ));
    }
    if t.fifo && protocol != "sqs" {
        return Err(errors::invalid_parameter(format!("Invalid protocol type: {protocol} for a FIFO topic")));
    }
    let endpoint = endpoint.filter(|e| !e.is_empty()).ok_or_else(|| errors::invalid_parameter("Endpoint"))?;
    match protocol {
        "sqs" => {
            let arn = stratus_core::Arn::parse(endpoint).filter(|a| a.service == "sqs" && !a.resource.is_empty());
            let Some(arn) = arn else { return Err(errors::invalid_parameter("SQS endpoint ARN")) };
            if !t.fifo && arn.resource.ends_with(".fifo") {
                // AWS repeats the prefix in this one.
                return Err(errors::invalid_parameter(
                    "Invalid parameter: Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics",
                ));
            }
        }
        "sms" => {
            if !crate::sms::valid_phone(endpoint) {
                return Err(AwsError::new("InvalidParameterException", format!("Invalid SMS endpoint: {endpoint}")));
            }
        }
        "application" => {
            if !crate::mobile::is_endpoint_arn(endpoint) {
                return Err(errors::invalid_parameter_reason(
                    "Endpoint",
                    format!("Endpoint does not exist for endpoint arn{endpoint}"),
                ));
            }
        }
        "lambda" => {
            let ok = stratus_core::Arn::parse(endpoint)
                .is_some_and(|a| a.service == "lambda" && a.resource.starts_with("function:"));
            if !ok {
                return Err(errors::invalid_parameter("Lambda endpoint ARN"));
            }
        }
        _ => {
            if !endpoint.to_ascii_lowercase().starts_with(&format!("{protocol}://")) {
                return Err(errors::invalid_parameter("Endpoint must match the specified protocol"));
            }
        }
    }
    Ok(endpoint.to_string())
}

/// A SubscriptionConfirmation or UnsubscribeConfirmation for an HTTP/S subscription: signed
/// like a notification, carrying the token that confirms (or restores) it.
fn control_message(
    kind: &str,
    t: &Topic,
    s: &Subscription,
    message_id: String,
    message: String,
    timestamp: String,
    token: String,
) -> Delivery {
    Delivery {
        kind: kind.into(),
        subscription_arn: s.arn(),
        topic_arn: t.arn(),
        protocol: s.protocol.clone(),
        endpoint: s.endpoint.clone(),
        raw: false,
        message_id,
        message,
        subject: None,
        timestamp,
        attributes: Default::default(),
        fifo: false,
        group_id: None,
        dedup_id: None,
        sequence_number: None,
        signature_version: t.signature_version().to_string(),
        retry_policy: Some(crate::delivery::http_retry_policy(t, s)),
        dead_letter_queue: None,
        token: Some(token),
    }
}

pub(crate) async fn subscribe(i: &Inner, input: SubscribeInput) -> Result<SubscriptionArnOutput, AwsError> {
    let protocol = input.protocol.to_ascii_lowercase();
    // Subscribe names the attribute map in its filter policy errors:
    // "Invalid parameter: Attributes Reason: FilterPolicy: …".
    check_attributes(&protocol, &input.attributes).map_err(|mut e| {
        if let Some(rest) = e.message.strip_prefix("Invalid parameter: FilterPolicy: ") {
            e.message = format!("Invalid parameter: Attributes Reason: FilterPolicy: {rest}");
        }
        e
    })?;
    let id = i.env.ids.uuid();
    let token: String = (0..4).map(|_| hex::encode(i.env.ids.random_bytes())).collect();
    let message_id = i.env.ids.uuid();
    let now = i.now();
    let timestamp = stratus_core::time::iso8601_millis(now);
    let ret_arn = input.return_subscription_arn;
    let (confirmed, arn) = i
        .store
        .write_signalling(move |txn| {
            let t = load_topic(txn, &input.topic_arn)?;
            let endpoint = check_endpoint(&protocol, input.endpoint.as_deref(), &t)?;
            if protocol == "application" && crate::mobile::load_endpoint(txn, &endpoint)?.is_none() {
                return Err(errors::invalid_parameter_reason(
                    "Endpoint",
                    format!("Endpoint does not exist for endpoint arn{endpoint}"),
                ));
            }
            // Subscribing the same endpoint again answers the existing subscription.
            for s in topic::topic_subscriptions(txn, &t)? {
                if s.protocol == protocol && s.endpoint == endpoint {
                    let same = input.attributes.iter().all(|(k, v)| s.attributes.get(k) == Some(v));
                    if !same {
                        return Err(errors::invalid_parameter_reason(
                            "Attributes",
                            "Subscription already exists with different attributes",
                        ));
                    }
                    return Ok((s.confirmed, s.arn()));
                }
            }
            let http = is_http(&protocol);
            let attributes = input.attributes.into_iter().filter(|(_, v)| !v.is_empty()).collect();
            let s = Subscription {
                id,
                account: t.account.clone(),
                region: t.region.clone(),
                topic: t.name.clone(),
                protocol: protocol.clone(),
                endpoint: endpoint.clone(),
                confirmed: !http,
                token: http.then(|| token.clone()),
                attributes,
                token_made: http.then_some(now),
            };
            txn.put(&keys::subscription(&s.account, &s.region, &s.topic, &s.id), &encode(&s)?)?;
            if http {
                let message = format!(
                    "You have chosen to subscribe to the topic {}.\nTo confirm the subscription, visit the SubscribeURL included in this message.",
                    t.arn()
                );
                let d = control_message(SUBSCRIPTION_CONFIRMATION, &t, &s, message_id, message, timestamp, token);
                stratus_storage::outbox_push(txn, keys::DELIVERY_TOPIC, &encode(&d)?)?;
            }
            Ok((s.confirmed, s.arn()))
        })
        .await?;
    Ok(SubscriptionArnOutput {
        subscription_arn: if confirmed || ret_arn { arn } else { "pending confirmation".into() },
    })
}

pub(crate) async fn confirm(i: &Inner, input: ConfirmSubscriptionInput) -> Result<SubscriptionArnOutput, AwsError> {
    let now = i.now();
    let fresh = move |s: &Subscription| s.token_made.is_none_or(|made| now < made + topic::TOKEN_MILLIS);
    let arn = i
        .store
        .write(move |txn| {
            let t = load_topic(txn, &input.topic_arn)?;
            // The token of an UnsubscribeConfirmation restores the subscription it ended.
            let gone = keys::unsubscribed(&t.account, &t.region, &t.name, &input.token);
            if let Some(b) = txn.get(&gone)? {
                let mut s: Subscription = decode(&b)?;
                txn.delete(&gone)?;
                if !fresh(&s) {
                    return Err(errors::invalid_parameter("Token"));
                }
                s.confirmed = true;
                s.token = None;
                s.token_made = None;
                txn.put(&keys::subscription(&s.account, &s.region, &s.topic, &s.id), &encode(&s)?)?;
                return Ok(s.arn());
            }
            let found = topic::topic_subscriptions(txn, &t)?
                .into_iter()
                .find(|s| s.token.as_deref() == Some(input.token.as_str()));
            let Some(mut s) = found.filter(|s| s.confirmed || fresh(s)) else {
                return Err(errors::invalid_parameter("Token"));
            };
            if !s.confirmed {
                s.confirmed = true;
                txn.put(&keys::subscription(&s.account, &s.region, &s.topic, &s.id), &encode(&s)?)?;
            }
            Ok(s.arn())
        })
        .await?;
    Ok(SubscriptionArnOutput { subscription_arn: arn })
}

/// Unsubscribe. An HTTP/S endpoint is told with an UnsubscribeConfirmation, whose token
/// (through ConfirmSubscription or its SubscribeURL) restores the subscription for three days.
pub(crate) async fn unsubscribe(i: &Inner, input: SubscriptionArnInput) -> Result<(), AwsError> {
    let Some((account, region, topic_name, id)) = topic::parse_subscription_arn(&input.subscription_arn) else {
        return Err(errors::invalid_parameter("SubscriptionArn"));
    };
    let token: String = (0..4).map(|_| hex::encode(i.env.ids.random_bytes())).collect();
    let message_id = i.env.ids.uuid();
    let now = i.now();
    i.store
        .write_signalling(move |txn| {
            let key = keys::subscription(&account, &region, &topic_name, &id);
            let Some(b) = txn.get(&key)? else {
                return Err(errors::subscription_not_found());
            };
            txn.delete(&key)?;
            let s: Subscription = decode(&b)?;
            if let Some(mut t) = topic::load_topic_parts(txn, &account, &region, &topic_name)? {
                t.subscriptions_deleted += 1;
                save(txn, &t)?;
                if is_http(&s.protocol) && s.confirmed {
                    let kept = Subscription { token: Some(token.clone()), token_made: Some(now), ..s.clone() };
                    txn.put(&keys::unsubscribed(&account, &region, &topic_name, &token), &encode(&kept)?)?;
                    let message = format!(
                        "You have chosen to deactivate subscription {}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.",
                        s.arn()
                    );
                    let timestamp = stratus_core::time::iso8601_millis(now);
                    let d = control_message(UNSUBSCRIBE_CONFIRMATION, &t, &s, message_id, message, timestamp, token);
                    stratus_storage::outbox_push(txn, keys::DELIVERY_TOPIC, &encode(&d)?)?;
                }
            }
            Ok(())
        })
        .await
}

fn entry(s: &Subscription) -> SubscriptionEntry {
    SubscriptionEntry {
        subscription_arn: s.listed_arn(),
        owner: s.account.clone(),
        protocol: s.protocol.clone(),
        endpoint: s.endpoint.clone(),
        topic_arn: s.topic_arn(),
    }
}

/// One page of subscriptions under `base`, after the key suffix `after`.
fn page(r: &mut dyn ReadTxn, base: &[u8], after: Option<&str>) -> Result<ListSubscriptionsOutput, AwsError> {
    let start = stratus_storage::listing_start(base, "", after);
    let end = stratus_storage::prefix_end(base);
    let rows = r.scan(&start, end.as_deref(), PAGE + 1)?;
    let more = rows.len() > PAGE;
    let rows = &rows[..rows.len().min(PAGE)];
    let subs: Vec<Subscription> = rows.iter().map(|(_, v)| decode(v)).collect::<Result<_, _>>()?;
    let next_token = if more {
        rows.last().and_then(|(k, _)| std::str::from_utf8(&k[base.len()..]).ok()).map(encode_token)
    } else {
        None
    };
    Ok(ListSubscriptionsOutput { subscriptions: subs.iter().map(entry).collect(), next_token })
}

pub(crate) async fn list(
    i: &Inner,
    ctx: &RequestContext,
    input: ListInput,
) -> Result<ListSubscriptionsOutput, AwsError> {
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    let base = keys::subscriptions(&ctx.account, &ctx.region);
    i.read(move |r| page(r, &base, after.as_deref())).await
}

pub(crate) async fn list_by_topic(
    i: &Inner,
    input: ListSubscriptionsByTopicInput,
) -> Result<ListSubscriptionsOutput, AwsError> {
    let after = input.next_token.as_deref().map(decode_token).transpose()?;
    i.read(move |r| {
        let t = load_topic(r, &input.topic_arn)?;
        page(r, &keys::topic_subscriptions(&t.account, &t.region, &t.name), after.as_deref())
    })
    .await
}

pub(crate) async fn get_attributes(i: &Inner, input: SubscriptionArnInput) -> Result<AttributesOutput, AwsError> {
    if topic::parse_subscription_arn(&input.subscription_arn).is_none() {
        return Err(errors::invalid_parameter("SubscriptionArn"));
    }
    i.read(move |r| {
        let s = load_subscription(r, &input.subscription_arn)?.ok_or_else(errors::subscription_not_found)?;
        let t = topic::load_topic_parts(r, &s.account, &s.region, &s.topic)?;
        Ok(AttributesOutput { attributes: s.all_attributes(t.as_ref()) })
    })
    .await
}

pub(crate) async fn set_attributes(i: &Inner, input: SetSubscriptionAttributesInput) -> Result<(), AwsError> {
    if topic::parse_subscription_arn(&input.subscription_arn).is_none() {
        return Err(errors::invalid_parameter("SubscriptionArn"));
    }
    if !SUBSCRIPTION_SETTABLE.contains(&input.attribute_name.as_str()) {
        return Err(errors::invalid_parameter("AttributeName"));
    }
    i.store
        .write(move |txn: &mut dyn Txn| {
            let mut s = load_subscription(txn, &input.subscription_arn)?.ok_or_else(errors::subscription_not_found)?;
            let value = input.attribute_value.unwrap_or_default();
            let mut attrs = s.attributes.clone();
            if value.is_empty() {
                attrs.remove(&input.attribute_name);
            } else {
                attrs.insert(input.attribute_name, value);
            }
            check_attributes(&s.protocol, &attrs)?;
            s.attributes = attrs;
            txn.put(&keys::subscription(&s.account, &s.region, &s.topic, &s.id), &encode(&s)?)?;
            Ok(())
        })
        .await
}
